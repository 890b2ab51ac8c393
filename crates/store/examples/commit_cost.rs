//! CPU cost of the committer's work per lease, without the network: commits BATCHES batches of
//! BATCH new leases, each with the history the server writes for a DORA (an offer and its ACK,
//! merged into one row), the way the server's committer does, and prints the time per lease.
//! Put STORE on a tmpfs (/dev/shm) to see SQLite's CPU alone, on the real disk to add fsync.
//! Environment: NOHIST=1 commits the leases without history rows; SQL="..." runs extra SQL on
//! the fresh store first (e.g. `DROP INDEX history_hwaddr_time`, to price one index).
//!
//! Usage: `cargo run --release -p hyperdhcp-store --example commit_cost -- STORE [BATCH]
//! [BATCHES]` (STORE must not exist; default 300 leases per batch, 500 batches).

use std::error::Error;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hyperdhcp_engine::{HwAddr, Lease, LeaseChange, LeaseState};
use hyperdhcp_store::{HistoryEvent, HistoryKind, LeaseStore, RelayInfo, SqliteStore};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [store, rest @ ..] = args.as_slice() else {
        return Err("usage: commit_cost STORE [BATCH] [BATCHES]".into());
    };
    let path = PathBuf::from(store);
    if path.exists() {
        return Err(format!("{} exists; give a new path", path.display()).into());
    }
    let batch: u32 = rest.first().map_or(Ok(300), |s| s.parse())?;
    let batches: u32 = rest.get(1).map_or(Ok(500), |s| s.parse())?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut db = SqliteStore::open(&path)?;
    if let Ok(sql) = std::env::var("SQL") {
        rusqlite::Connection::open(&path)?.execute_batch(&sql)?;
    }
    let first = u32::from(Ipv4Addr::new(198, 18, 1, 0));
    let relay = RelayInfo {
        giaddr: Some(Ipv4Addr::new(198, 18, 0, 2)),
        ..RelayInfo::default()
    };
    let started = Instant::now();
    for b in 0..batches {
        let mut changes = Vec::with_capacity(batch as usize);
        let mut history = Vec::with_capacity(2 * batch as usize);
        for i in b * batch..(b + 1) * batch {
            let [_, x, y, z] = i.to_be_bytes();
            let lease = Lease {
                ip: Ipv4Addr::from(first + i),
                hwaddr: HwAddr::ethernet([0x02, 0x00, 0x00, x, y, z]),
                client_id: None,
                hostname: None,
                fqdn: None,
                state: LeaseState::Bound,
                starts: now,
                ends: now + 3600,
            };
            for kind in [HistoryKind::Offer, HistoryKind::Ack] {
                history.push(HistoryEvent {
                    time: now,
                    kind,
                    ip: lease.ip,
                    hwaddr: lease.hwaddr,
                    client_id: None,
                    hostname: None,
                    ends: Some(lease.ends),
                    relay: relay.clone(),
                });
            }
            changes.push(LeaseChange::Upsert(lease));
        }
        if std::env::var_os("NOHIST").is_some() {
            history.clear();
        }
        db.commit_with_history(&changes, &history)?;
    }
    let secs = started.elapsed().as_secs_f64();
    let n = f64::from(batch) * f64::from(batches);
    println!(
        "{n} leases in {batches} commits of {batch}: {secs:.3} s, {:.2} µs per lease",
        secs * 1e6 / n
    );
    // Then renew them all once, oldest first (the generator's order), in batches of BATCH.
    let started = Instant::now();
    for b in 0..batches {
        let mut changes = Vec::with_capacity(batch as usize);
        let mut history = Vec::with_capacity(batch as usize);
        for i in b * batch..(b + 1) * batch {
            let [_, x, y, z] = i.to_be_bytes();
            let lease = Lease {
                ip: Ipv4Addr::from(first + i),
                hwaddr: HwAddr::ethernet([0x02, 0x00, 0x00, x, y, z]),
                client_id: None,
                hostname: None,
                fqdn: None,
                state: LeaseState::Bound,
                starts: now + 1,
                ends: now + 3601,
            };
            history.push(HistoryEvent {
                time: now + 1,
                kind: HistoryKind::Renew,
                ip: lease.ip,
                hwaddr: lease.hwaddr,
                client_id: None,
                hostname: None,
                ends: Some(lease.ends),
                relay: relay.clone(),
            });
            changes.push(LeaseChange::Upsert(lease));
        }
        if std::env::var_os("NOHIST").is_some() {
            history.clear();
        }
        db.commit_with_history(&changes, &history)?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{n} renewals in {batches} commits of {batch}: {secs:.3} s, {:.2} µs per renewal",
        secs * 1e6 / n
    );
    Ok(())
}
