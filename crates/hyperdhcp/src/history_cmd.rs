//! `hyperdhcp leases history`: who had an address (optionally at a given time), or which
//! addresses a MAC had, from the store's lease history.

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hyperdhcp_engine::UnixTime;
use hyperdhcp_store::{HistoryEvent, HistoryKind, SqliteStore};
use serde::Serialize;

use crate::cli::LeasesHistoryArgs;
use crate::leases_cmd::{NONE_CELL, hex, rfc3339, write_rows};

/// Column headings of the table.
const HEADINGS: [&str; 10] = [
    "TIME",
    "EVENT",
    "IP",
    "MAC",
    "CLIENT-ID",
    "HOSTNAME",
    "ENDS",
    "GIADDR",
    "CIRCUIT-ID",
    "REMOTE-ID",
];

/// Reads the history read-only and prints the rows asked for.
pub fn run(args: &LeasesHistoryArgs) -> anyhow::Result<()> {
    let path = args.source.path()?;
    let store = SqliteStore::open_read_only(&path)?;
    let mut rows = match (&args.ip, &args.mac) {
        (Some(ip), _) => store.history_for_ip(*ip)?,
        (None, Some(mac)) => store.history_for_hwaddr(mac)?,
        (None, None) => anyhow::bail!("give --ip ADDRESS or --mac MAC"),
    };
    if let Some(at) = &args.at {
        let t = parse_time(at)?;
        rows = holder_at(&rows, t).into_iter().cloned().collect();
        if rows.is_empty() && !args.json {
            println!("no lease at {}", rfc3339(t));
            return Ok(());
        }
    }
    let stdout = io::stdout().lock();
    let mut out = io::BufWriter::new(stdout);
    let written = if args.json {
        let json: Vec<EventJson> = rows.iter().map(EventJson::from).collect();
        serde_json::to_writer_pretty(&mut out, &json)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out))
            .and_then(|()| out.flush())
    } else {
        write_rows(&mut out, &HEADINGS, rows.iter().map(cells).collect()).and_then(|()| out.flush())
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

/// `--at`: RFC 3339 (`2026-11-26T01:00:00Z`), or Unix seconds, or `now`.
fn parse_time(s: &str) -> anyhow::Result<UnixTime> {
    if s == "now" {
        return Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()));
    }
    if let Ok(secs) = s.parse::<UnixTime>() {
        return Ok(secs);
    }
    let t = humantime::parse_rfc3339_weak(s)
        .with_context(|| format!("--at {s:?}: expected RFC 3339 time or Unix seconds"))?;
    Ok(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

/// The rows (oldest first, of ONE address) that show who held it at `t`: the last
/// ack/renew at or before `t`, when no release, decline or expiry of it followed before `t`
/// and it had not ended by `t`.
fn holder_at(rows: &[HistoryEvent], t: UnixTime) -> Option<&HistoryEvent> {
    let before: Vec<&HistoryEvent> = rows.iter().filter(|r| r.time <= t).collect();
    let last_bind = before
        .iter()
        .rposition(|r| matches!(r.kind, HistoryKind::Ack | HistoryKind::Renew))?;
    let bind = before.get(last_bind)?;
    let ended = before.iter().skip(last_bind + 1).any(|r| {
        r.ip == bind.ip
            && matches!(
                r.kind,
                HistoryKind::Release | HistoryKind::Decline | HistoryKind::Expire
            )
    });
    let expired = bind.ends.is_some_and(|e| e < t);
    (!ended && !expired).then_some(*bind)
}

/// Printable text when every byte is visible ASCII, else colon-separated hex.
fn text_or_hex(b: &[u8]) -> String {
    if !b.is_empty() && b.iter().all(|c| c.is_ascii_graphic()) {
        String::from_utf8_lossy(b).into_owned()
    } else {
        hex(b)
    }
}

/// One table row.
fn cells(e: &HistoryEvent) -> [String; 10] {
    let opt = |v: Option<String>| v.unwrap_or_else(|| NONE_CELL.to_string());
    [
        rfc3339(e.time),
        e.kind.as_str().to_string(),
        e.ip.to_string(),
        e.hwaddr.to_string(),
        opt(e.client_id.as_deref().map(hex)),
        opt(e.hostname.as_deref().map(str::to_string)),
        opt(e.ends.map(rfc3339)),
        opt(e.relay.giaddr.map(|a| a.to_string())),
        opt(e.relay.circuit_id.as_deref().map(text_or_hex)),
        opt(e.relay.remote_id.as_deref().map(text_or_hex)),
    ]
}

/// One row as printed by `--json`.
#[derive(Debug, Serialize)]
struct EventJson {
    time: String,
    event: &'static str,
    ip: Ipv4Addr,
    mac: String,
    client_id: Option<String>,
    hostname: Option<String>,
    ends: Option<String>,
    giaddr: Option<Ipv4Addr>,
    circuit_id: Option<String>,
    remote_id: Option<String>,
}

impl From<&HistoryEvent> for EventJson {
    fn from(e: &HistoryEvent) -> Self {
        Self {
            time: rfc3339(e.time),
            event: e.kind.as_str(),
            ip: e.ip,
            mac: e.hwaddr.to_string(),
            client_id: e.client_id.as_deref().map(hex),
            hostname: e.hostname.as_deref().map(str::to_string),
            ends: e.ends.map(rfc3339),
            giaddr: e.relay.giaddr,
            circuit_id: e.relay.circuit_id.as_deref().map(text_or_hex),
            remote_id: e.relay.remote_id.as_deref().map(text_or_hex),
        }
    }
}

#[cfg(test)]
mod tests {
    use hyperdhcp_engine::HwAddr;
    use hyperdhcp_store::RelayInfo;

    use super::*;

    fn ev(time: UnixTime, kind: HistoryKind, mac: u8, ends: UnixTime) -> HistoryEvent {
        HistoryEvent {
            time,
            kind,
            ip: Ipv4Addr::new(198, 18, 0, 10),
            hwaddr: HwAddr::ethernet([2, 0, 0, 0, 0, mac]),
            client_id: None,
            hostname: None,
            ends: Some(ends),
            relay: RelayInfo::default(),
        }
    }

    #[test]
    fn holder_at_follows_binds_releases_and_expiry() {
        let rows = vec![
            ev(100, HistoryKind::Offer, 1, 130),
            ev(101, HistoryKind::Ack, 1, 200),
            ev(150, HistoryKind::Renew, 1, 250),
            ev(160, HistoryKind::Release, 1, 160),
            ev(300, HistoryKind::Ack, 2, 400),
        ];
        let mac = |t| holder_at(&rows, t).map(|e| e.hwaddr.as_bytes()[5]);
        assert_eq!(mac(50), None, "before anything");
        assert_eq!(mac(100), None, "an offer is not a lease");
        assert_eq!(mac(120), Some(1));
        assert_eq!(mac(155), Some(1));
        assert_eq!(mac(200), None, "released");
        assert_eq!(mac(350), Some(2));
        assert_eq!(mac(500), None, "ran out");
    }

    #[test]
    fn times_and_ids_parse_and_print() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_time("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
        assert!(parse_time("yesterday").is_err());
        assert_eq!(text_or_hex(b"eth0"), "eth0");
        assert_eq!(text_or_hex(&[0, 1]), "00:01");
    }
}
