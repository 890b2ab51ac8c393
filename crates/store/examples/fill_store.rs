//! Fills a lease store with COUNT bound leases for benchmarks (`bench/million.sh`): addresses
//! FIRST_IP, FIRST_IP+1, ...; MACs `02:fe:xx:xx:xx:xx` (the counter), so they never collide with
//! the generator's `02:SEED:...` clients; each lease bound from now for LEASE_SECS.
//!
//! Usage: `cargo run --release -p hyperdhcp-store --example fill_store -- STORE COUNT FIRST_IP
//! [LEASE_SECS]`. Writes directly through [`SqliteStore`] in transactions of [`CHUNK`] leases;
//! no packet is sent.

use std::error::Error;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hyperdhcp_engine::{HwAddr, Lease, LeaseChange, LeaseState};
use hyperdhcp_store::{LeaseStore, SqliteStore};

/// Leases per transaction.
const CHUNK: u32 = 100_000;
/// Default lease length: 30 days, so nothing expires during a benchmark.
const DEFAULT_LEASE_SECS: u64 = 30 * 86_400;
/// Second MAC octet of the filler's clients (the generator uses `--mac-seed`, default 0).
const MAC_TAG: u8 = 0xfe;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [store, count, first, rest @ ..] = args.as_slice() else {
        return Err("usage: fill_store STORE COUNT FIRST_IP [LEASE_SECS]".into());
    };
    let path = PathBuf::from(store);
    let count: u32 = count.parse()?;
    let first = u32::from(first.parse::<Ipv4Addr>()?);
    let lease_secs: u64 = match rest.first() {
        Some(s) => s.parse()?,
        None => DEFAULT_LEASE_SECS,
    };
    first
        .checked_add(count)
        .ok_or("FIRST_IP + COUNT overflows the IPv4 space")?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let started = Instant::now();
    let mut db = SqliteStore::open(&path)?;
    let mut done = 0u32;
    while done < count {
        let n = CHUNK.min(count - done);
        let changes: Vec<LeaseChange> = (done..done + n)
            .map(|i| {
                let [a, b, c, d] = i.to_be_bytes();
                LeaseChange::Upsert(Lease {
                    ip: Ipv4Addr::from(first + i),
                    hwaddr: HwAddr::ethernet([0x02, MAC_TAG, a, b, c, d]),
                    client_id: None,
                    hostname: None,
                    fqdn: None,
                    state: LeaseState::Bound,
                    starts: now,
                    ends: now + lease_secs,
                })
            })
            .collect();
        db.commit(&changes)?;
        done += n;
    }
    println!(
        "wrote {count} bound leases from {} to {} in {:.2} s",
        Ipv4Addr::from(first),
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
