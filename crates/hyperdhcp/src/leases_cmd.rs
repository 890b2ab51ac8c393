//! `hyperdhcp leases list`: print the stored leases as a table or as JSON.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use hyperdhcp_config::Config;
use hyperdhcp_engine::{Lease, UnixTime};
use hyperdhcp_store::{LeaseStore, SqliteStore};
use serde::Serialize;

use crate::cli::{LeasesListArgs, StoreSource};

/// Last second humantime can print (9999-12-31T23:59:59Z); later times, such as the store's
/// "never", are shown as this.
const MAX_PRINTABLE_TIME: UnixTime = 253_402_300_799;

/// Placeholder for an absent value in the table.
pub(crate) const NONE_CELL: &str = "-";

/// Reads the store named by `--store` (or the config's `[store] path`) read-only and prints it.
pub fn list(args: &LeasesListArgs) -> anyhow::Result<()> {
    let path = args.source.path()?;
    let mut store = SqliteStore::open_read_only(&path)?;
    let mut leases = store.load_all()?;
    // The store already returns address order; sorting here keeps the output contract local.
    leases.sort_unstable_by_key(|l| l.ip);

    let stdout = io::stdout().lock();
    let mut out = io::BufWriter::new(stdout);
    let written = if args.json {
        write_json(&mut out, &leases).and_then(|()| out.flush())
    } else {
        write_table(&mut out, &leases).and_then(|()| out.flush())
    };
    match written {
        // `hyperdhcp leases list | head` is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

impl StoreSource {
    /// `--store PATH`, else `[store] path` of the `--config FILE`.
    pub(crate) fn path(&self) -> anyhow::Result<PathBuf> {
        match (&self.store, &self.config) {
            (Some(store), _) => Ok(store.clone()),
            (None, Some(config)) => {
                let config = Config::load(config).map_err(|e| {
                    crate::serve::config_error(
                        &format!("invalid configuration {}", config.display()),
                        e,
                    )
                })?;
                Ok(config.store.path)
            }
            // clap enforces one of the two; keep a clear message anyway.
            (None, None) => anyhow::bail!("give --store PATH or --config FILE"),
        }
    }
}

/// One lease as printed by `--json`.
#[derive(Debug, Serialize)]
struct LeaseJson<'a> {
    ip: String,
    mac: String,
    client_id: Option<String>,
    hostname: Option<&'a str>,
    /// The client's option 81 name (RFC 4702), for DNS updates.
    fqdn: Option<&'a str>,
    /// Option 81 flags octet (RFC 4702 §2.1: S = 1, O = 2, E = 4, N = 8).
    fqdn_flags: Option<u8>,
    state: &'static str,
    starts: String,
    ends: String,
}

impl<'a> From<&'a Lease> for LeaseJson<'a> {
    fn from(l: &'a Lease) -> Self {
        Self {
            ip: l.ip.to_string(),
            mac: l.hwaddr.to_string(),
            client_id: l.client_id.as_deref().map(hex),
            hostname: l.hostname.as_deref(),
            fqdn: l.fqdn.as_ref().map(|f| &*f.name),
            fqdn_flags: l.fqdn.as_ref().map(|f| f.flags),
            state: l.state.as_str(),
            starts: rfc3339(l.starts),
            ends: rfc3339(l.ends),
        }
    }
}

/// Writes a pretty JSON array of [`LeaseJson`] objects and a final newline.
fn write_json(out: &mut impl Write, leases: &[Lease]) -> io::Result<()> {
    let rows: Vec<LeaseJson<'_>> = leases.iter().map(LeaseJson::from).collect();
    serde_json::to_writer_pretty(&mut *out, &rows)?;
    writeln!(out)
}

/// Column headings of the table.
const HEADINGS: [&str; 7] = [
    "IP",
    "MAC",
    "CLIENT-ID",
    "HOSTNAME",
    "STATE",
    "STARTS",
    "ENDS",
];

/// Writes an aligned table with a heading line; absent values show as `-`.
fn write_table(out: &mut impl Write, leases: &[Lease]) -> io::Result<()> {
    write_rows(
        out,
        &HEADINGS,
        leases
            .iter()
            .map(|l| {
                [
                    l.ip.to_string(),
                    l.hwaddr.to_string(),
                    l.client_id.as_deref().map_or_else(|| NONE_CELL.into(), hex),
                    l.hostname.as_deref().unwrap_or(NONE_CELL).to_string(),
                    l.state.as_str().to_string(),
                    rfc3339(l.starts),
                    rfc3339(l.ends),
                ]
            })
            .collect(),
    )
}

/// Writes an aligned table: `headings`, then `rows`, columns two spaces apart.
pub(crate) fn write_rows<const N: usize>(
    out: &mut impl Write,
    headings: &[&str; N],
    rows: Vec<[String; N]>,
) -> io::Result<()> {
    let mut widths = headings.map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let heading = headings.map(String::from);
    for row in std::iter::once(&heading).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < row.len() {
                line.extend(std::iter::repeat_n(
                    ' ',
                    w.saturating_sub(cell.chars().count()),
                ));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Bytes as colon-separated lower-case hex octets (`01:02:0a`), the config file's notation.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Unix seconds as RFC 3339 UTC (`2023-11-14T22:13:20Z`), clamped to the year 9999.
pub(crate) fn rfc3339(t: UnixTime) -> String {
    let t = t.min(MAX_PRINTABLE_TIME);
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(t)).to_string()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hyperdhcp_engine::{HwAddr, LeaseFqdn, LeaseState};

    use super::*;

    fn sample() -> Vec<Lease> {
        vec![
            Lease {
                ip: Ipv4Addr::new(198, 18, 0, 10),
                hwaddr: HwAddr::ethernet([0x02, 0, 0, 0, 0, 0xaa]),
                client_id: Some(vec![0x01, 0x02, 0x00, 0xff].into_boxed_slice()),
                hostname: Some("alpha".into()),
                fqdn: Some(Box::new(LeaseFqdn {
                    flags: 0x01,
                    name: "alpha.lab.test".into(),
                })),
                state: LeaseState::Bound,
                starts: 1_700_000_000,
                ends: 1_700_003_600,
            },
            Lease {
                ip: Ipv4Addr::new(198, 18, 0, 11),
                hwaddr: HwAddr::ethernet([0x02, 0, 0, 0, 0, 0xbb]),
                client_id: None,
                hostname: None,
                fqdn: None,
                state: LeaseState::Declined,
                starts: 0,
                ends: UnixTime::MAX,
            },
        ]
    }

    #[test]
    fn times_are_rfc3339_utc_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(UnixTime::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(MAX_PRINTABLE_TIME + 1), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn hex_is_colon_separated_lower_case() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x01, 0xab, 0x00]), "01:ab:00");
    }

    #[test]
    fn json_has_every_field_with_nulls_for_absent_values() {
        let mut buf = Vec::new();
        write_json(&mut buf, &sample()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {
                    "ip": "198.18.0.10",
                    "mac": "02:00:00:00:00:aa",
                    "client_id": "01:02:00:ff",
                    "hostname": "alpha",
                    "fqdn": "alpha.lab.test",
                    "fqdn_flags": 1,
                    "state": "bound",
                    "starts": "2023-11-14T22:13:20Z",
                    "ends": "2023-11-14T23:13:20Z"
                },
                {
                    "ip": "198.18.0.11",
                    "mac": "02:00:00:00:00:bb",
                    "client_id": null,
                    "hostname": null,
                    "fqdn": null,
                    "fqdn_flags": null,
                    "state": "declined",
                    "starts": "1970-01-01T00:00:00Z",
                    "ends": "9999-12-31T23:59:59Z"
                }
            ])
        );
    }

    #[test]
    fn empty_json_is_an_empty_array() {
        let mut buf = Vec::new();
        write_json(&mut buf, &[]).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), "[]\n");
    }

    #[test]
    fn table_is_aligned_with_heading() {
        let mut buf = Vec::new();
        write_table(&mut buf, &sample()).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("IP "), "{text}");
        // Every column starts at the same offset on every line.
        let col = |line: &str, word: &str| line.find(word).unwrap();
        assert_eq!(col(lines[0], "MAC"), col(lines[1], "02:00"));
        assert_eq!(col(lines[0], "STATE"), col(lines[1], "bound"));
        assert_eq!(col(lines[0], "STATE"), col(lines[2], "declined"));
        assert!(
            lines[2].contains(" -  "),
            "absent values show as '-': {text}"
        );
        assert!(lines[1].ends_with("2023-11-14T23:13:20Z"), "{text}");
    }
}
