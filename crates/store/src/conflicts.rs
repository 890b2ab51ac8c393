//! The `conflicts` table: addresses found in use (probes, DECLINE), one row per address.
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS conflicts (
//!     ip INTEGER PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
//!     method TEXT NOT NULL, mac BLOB, count INTEGER NOT NULL, permanent INTEGER NOT NULL
//! );
//! ```
//!
//! Created on open by a writer (no schema version bump: older files simply gain the table);
//! a reader of a file without the table sees no conflicts.

use std::net::Ipv4Addr;

use hyperdhcp_engine::{Conflict, ConflictChange, ConflictMethod};
use rusqlite::{Connection, OptionalExtension, params};

/// Creates the table when missing.
pub(crate) const CREATE_CONFLICTS: &str = "CREATE TABLE IF NOT EXISTS conflicts (
    ip         INTEGER PRIMARY KEY,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    method     TEXT    NOT NULL,
    mac        BLOB,
    count      INTEGER NOT NULL,
    permanent  INTEGER NOT NULL
);";

/// Insert or replace one record.
const UPSERT: &str =
    "INSERT INTO conflicts (ip, first_seen, last_seen, method, mac, count, permanent)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
    ON CONFLICT(ip) DO UPDATE SET first_seen = excluded.first_seen,
        last_seen = excluded.last_seen, method = excluded.method, mac = excluded.mac,
        count = excluded.count, permanent = excluded.permanent";

/// Every record, by address.
const SELECT: &str =
    "SELECT ip, first_seen, last_seen, method, mac, count, permanent FROM conflicts ORDER BY ip";

/// True when the table exists (read-only opens of files written before it existed).
pub(crate) fn table_exists(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'conflicts'",
        [],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

/// Applies changes in order (upsert, or delete when `removed`) in the caller's transaction.
pub(crate) fn apply(conn: &Connection, changes: &[ConflictChange]) -> rusqlite::Result<()> {
    for ch in changes {
        let c = &ch.conflict;
        if ch.removed {
            conn.prepare_cached("DELETE FROM conflicts WHERE ip = ?1")?
                .execute([u32::from(c.ip)])?;
        } else {
            conn.prepare_cached(UPSERT)?.execute(params![
                u32::from(c.ip),
                i64::try_from(c.first_seen).unwrap_or(i64::MAX),
                i64::try_from(c.last_seen).unwrap_or(i64::MAX),
                c.method.as_str(),
                c.mac.map(|m| m.to_vec()),
                c.count,
                c.permanent,
            ])?;
        }
    }
    Ok(())
}

/// Deletes the record of `ip`; true when there was one.
pub(crate) fn remove(conn: &Connection, ip: Ipv4Addr) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM conflicts WHERE ip = ?1", [u32::from(ip)])? > 0)
}

/// Every record; rows that do not decode are reported as `Err((ip, reason))`.
pub(crate) fn load(conn: &Connection) -> rusqlite::Result<Result<Vec<Conflict>, (i64, String)>> {
    let mut stmt = conn.prepare(SELECT)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let raw_ip: i64 = row.get(0)?;
        let bad = |reason: String| Ok(Err((raw_ip, reason)));
        let Ok(ip) = u32::try_from(raw_ip) else {
            return bad("address out of range".into());
        };
        let method: String = row.get(3)?;
        let Ok(method) = method.parse::<ConflictMethod>() else {
            return bad(format!("unknown method {method:?}"));
        };
        let mac: Option<Vec<u8>> = row.get(4)?;
        let mac = match mac.map(<[u8; 6]>::try_from) {
            None => None,
            Some(Ok(m)) => Some(m),
            Some(Err(_)) => return bad("mac is not 6 bytes".into()),
        };
        let first: i64 = row.get(1)?;
        let last: i64 = row.get(2)?;
        let count: i64 = row.get(5)?;
        out.push(Conflict {
            ip: Ipv4Addr::from(ip),
            first_seen: u64::try_from(first).unwrap_or(0),
            last_seen: u64::try_from(last).unwrap_or(0),
            method,
            mac,
            count: u32::try_from(count).unwrap_or(u32::MAX),
            permanent: row.get(6)?,
        });
    }
    Ok(Ok(out))
}

#[cfg(test)]
mod tests {
    use hyperdhcp_engine::ConflictEventKind;

    use super::*;
    use crate::{LeaseStore, SqliteStore};

    fn change(ip: Ipv4Addr, count: u32, removed: bool) -> ConflictChange {
        ConflictChange {
            kind: ConflictEventKind::Detected,
            conflict: Conflict {
                ip,
                first_seen: 10,
                last_seen: 20,
                method: ConflictMethod::Arp,
                mac: Some([2, 0, 0, 0, 0, 0x99]),
                count,
                permanent: count >= 3,
            },
            removed,
        }
    }

    #[test]
    fn conflicts_round_trip_update_clear_and_read_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leases.db");
        let a = Ipv4Addr::new(198, 18, 0, 10);
        let b = Ipv4Addr::new(198, 18, 0, 11);
        let mut store = SqliteStore::open(&path).expect("open");
        store
            .commit_conflicts(&[
                change(a, 1, false),
                change(b, 1, false),
                change(a, 3, false),
            ])
            .expect("commit");
        let got = store.load_conflicts().expect("load");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], change(a, 3, false).conflict);
        let mut reader = SqliteStore::open_read_only(&path).expect("reader");
        assert_eq!(reader.load_conflicts().expect("read").len(), 2);
        assert!(store.remove_conflict(b).expect("clear"));
        assert!(!store.remove_conflict(b).expect("clear again"));
        store
            .commit_conflicts(&[change(a, 3, true)])
            .expect("remove");
        assert!(store.load_conflicts().expect("load").is_empty());
    }
}
