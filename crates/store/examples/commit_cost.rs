//! CPU cost of the committer's work per lease, without the network: commits BATCHES batches of
//! BATCH new leases, each with the history the server writes for a DORA (an offer and its ACK,
//! merged into one row), the way the server's committer does, then renews every lease once
//! (a `renew` row each), and prints the time per lease and per renewal. Put STORE on a tmpfs
//! (/dev/shm) to see SQLite's CPU alone, on the real disk to add fsync.
//! Environment: NOHIST=1 commits without history rows; SQL="..." runs extra SQL on the fresh
//! store first (e.g. `DROP INDEX history_ip_time`, to price one index).
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
    let relay = RelayInfo {
        giaddr: Some(Ipv4Addr::new(198, 18, 0, 2)),
        ..RelayInfo::default()
    };
    let keep_history = std::env::var_os("NOHIST").is_none();
    let n = f64::from(batch) * f64::from(batches);
    // First every lease is new (an offer and its ACK per lease, as a DORA writes), then each is
    // renewed once, oldest first (the generator's order).
    for (what, time, kinds) in [
        ("leases", now, &[HistoryKind::Offer, HistoryKind::Ack][..]),
        ("renewals", now + 1, &[HistoryKind::Renew][..]),
    ] {
        let started = Instant::now();
        for b in 0..batches {
            let mut changes = Vec::with_capacity(batch as usize);
            let mut history = Vec::with_capacity(kinds.len() * batch as usize);
            for i in b * batch..(b + 1) * batch {
                let lease = bound_lease(i, time);
                if keep_history {
                    history.extend(kinds.iter().map(|&kind| HistoryEvent {
                        time,
                        kind,
                        ip: lease.ip,
                        hwaddr: lease.hwaddr,
                        client_id: None,
                        hostname: None,
                        ends: Some(lease.ends),
                        relay: relay.clone(),
                    }));
                }
                changes.push(LeaseChange::Upsert(lease));
            }
            db.commit_with_history(&changes, &history)?;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{n} {what} in {batches} commits of {batch}: {secs:.3} s, {:.2} µs each",
            secs * 1e6 / n
        );
    }
    Ok(())
}

/// Client `i`'s lease (address 198.18.1.0 + i), bound from `time` for an hour.
fn bound_lease(i: u32, time: u64) -> Lease {
    let [_, x, y, z] = i.to_be_bytes();
    Lease {
        ip: Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 1, 0)) + i),
        hwaddr: HwAddr::ethernet([0x02, 0x00, 0x00, x, y, z]),
        client_id: None,
        hostname: None,
        fqdn: None,
        state: LeaseState::Bound,
        starts: time,
        ends: time + 3600,
    }
}
