//! `hyperdhcp conflicts list` / `hyperdhcp conflicts clear IP`: the store's conflict table.

use std::io::{self, Write};

use anyhow::Context;
use hyperdhcp_engine::Conflict;
use hyperdhcp_store::{LeaseStore, SqliteStore};
use serde::Serialize;

use crate::cli::{ConflictsClearArgs, ConflictsListArgs};
use crate::leases_cmd::{rfc3339, write_rows};

/// `conflicts list`: read-only, works while the server runs.
pub fn list(args: &ConflictsListArgs) -> anyhow::Result<()> {
    let path = args.source.path()?;
    let mut store = SqliteStore::open_read_only(&path)?;
    let conflicts = store.load_conflicts()?;
    let mut out = io::stdout().lock();
    let written = if args.json {
        write_json(&mut out, &conflicts).and_then(|()| out.flush())
    } else {
        write_table(&mut out, &conflicts).and_then(|()| out.flush())
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

/// `conflicts clear IP`: deletes the record; a running server applies it on SIGHUP.
pub fn clear(args: &ConflictsClearArgs) -> anyhow::Result<()> {
    let path = args.source.path()?;
    // Refuse to create a store: open read-only first to prove it exists.
    drop(SqliteStore::open_read_only(&path)?);
    let mut store = SqliteStore::open(&path)?;
    if store.remove_conflict(args.ip)? {
        println!(
            "cleared conflict record of {} (send SIGHUP to a running server to apply it)",
            args.ip
        );
        Ok(())
    } else {
        anyhow::bail!("no conflict record for {} in {}", args.ip, path.display())
    }
}

/// One record as printed by `--json`.
#[derive(Debug, Serialize)]
struct ConflictRow {
    ip: String,
    method: &'static str,
    mac: Option<String>,
    count: u32,
    permanent: bool,
    first_seen: String,
    last_seen: String,
}

impl From<&Conflict> for ConflictRow {
    fn from(c: &Conflict) -> Self {
        Self {
            ip: c.ip.to_string(),
            method: c.method.as_str(),
            mac: c.mac.map(|_| c.mac_display()),
            count: c.count,
            permanent: c.permanent,
            first_seen: rfc3339(c.first_seen),
            last_seen: rfc3339(c.last_seen),
        }
    }
}

fn write_json(out: &mut impl Write, conflicts: &[Conflict]) -> io::Result<()> {
    let rows: Vec<ConflictRow> = conflicts.iter().map(ConflictRow::from).collect();
    serde_json::to_writer_pretty(&mut *out, &rows)?;
    writeln!(out)
}

fn write_table(out: &mut impl Write, conflicts: &[Conflict]) -> io::Result<()> {
    if conflicts.is_empty() {
        return writeln!(out, "no conflicts");
    }
    let rows = conflicts
        .iter()
        .map(|c| {
            [
                c.ip.to_string(),
                c.method.as_str().to_string(),
                c.mac_display(),
                c.count.to_string(),
                if c.permanent {
                    "permanent"
                } else {
                    "temporary"
                }
                .to_string(),
                rfc3339(c.first_seen),
                rfc3339(c.last_seen),
            ]
        })
        .collect();
    write_rows(
        out,
        &["IP", "METHOD", "MAC", "COUNT", "STATUS", "FIRST", "LAST"],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hyperdhcp_engine::ConflictMethod;

    use super::*;

    fn sample() -> Vec<Conflict> {
        vec![Conflict {
            ip: Ipv4Addr::new(198, 18, 0, 10),
            first_seen: 1_700_000_000,
            last_seen: 1_700_000_060,
            method: ConflictMethod::Arp,
            mac: Some([2, 0, 0, 0, 0, 0x99]),
            count: 2,
            permanent: false,
        }]
    }

    #[test]
    fn json_and_table_show_ip_method_and_mac() {
        let mut buf = Vec::new();
        write_json(&mut buf, &sample()).expect("json");
        let v: serde_json::Value = serde_json::from_slice(&buf).expect("parse");
        assert_eq!(v[0]["ip"], "198.18.0.10");
        assert_eq!(v[0]["method"], "arp");
        assert_eq!(v[0]["mac"], "02:00:00:00:00:99");
        assert_eq!(v[0]["last_seen"], "2023-11-14T22:14:20Z");
        let mut buf = Vec::new();
        write_table(&mut buf, &sample()).expect("table");
        let text = String::from_utf8(buf).expect("utf8");
        assert!(text.contains("198.18.0.10  arp"), "{text}");
        assert!(text.contains("02:00:00:00:00:99"), "{text}");
    }
}
