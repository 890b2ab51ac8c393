//! The per-pool lease count behind the metrics' pool snapshot, taken a slice of the lease
//! table at a time on the serving thread and published through [`Telemetry::pools`].
//!
//! [`Telemetry::pools`]: hyperdhcp_control::Telemetry::pools

use std::sync::Arc;

use hyperdhcp_config::Config;
use hyperdhcp_control::PoolStat;
use hyperdhcp_engine::{Engine, LeaseState};

/// Pool label of leases outside every pool (reservations).
pub(crate) const NO_POOL: &str = "none";

/// Leases one [`PoolWalk::step`] looks at: about 1–2 ms of the serving thread, so a pool
/// snapshot of a million leases is spread over ~16 loop turns instead of stalling the loop for
/// the 20–26 ms a single walk took (measured with 1,000,000 leases, docs/benchmarks.md).
pub const POOL_WALK_STEP: usize = 65_536;

/// A per-pool count of offered/bound leases, taken a slice of the lease table at a time
/// between batches (see [`POOL_WALK_STEP`]). The result is what [`Engine::leases`] would count
/// if the table did not change meanwhile; a lease added, removed or changed during the walk may
/// be counted as it was or as it is (a gauge refreshed every few seconds, not an audit).
#[derive(Debug)]
pub struct PoolWalk {
    /// The configuration the walk started with (a reload restarts the walk).
    config: Arc<Config>,
    stats: Vec<PoolStat>,
    /// Index in `stats` of each subnet's first pool entry.
    offsets: Vec<usize>,
    /// Next durable record to look at.
    next: usize,
}

impl PoolWalk {
    /// A walk over `config`'s pools, nothing counted yet.
    pub fn new(config: Arc<Config>) -> Self {
        let mut stats = Vec::new();
        let mut offsets = Vec::with_capacity(config.subnets.len());
        for s in &config.subnets {
            offsets.push(stats.len());
            let subnet = s.cidr.to_string();
            for p in &s.pools {
                stats.push(PoolStat {
                    subnet: subnet.clone(),
                    pool: format!("{}-{}", p.start, p.end),
                    size: u64::from(u32::from(p.end).saturating_sub(u32::from(p.start))) + 1,
                    active: 0,
                });
            }
            stats.push(PoolStat {
                subnet,
                pool: NO_POOL.to_owned(),
                size: 0,
                active: 0,
            });
        }
        Self {
            config,
            stats,
            offsets,
            next: 0,
        }
    }

    /// True when the walk was started on `config`.
    pub fn is_on(&self, config: &Arc<Config>) -> bool {
        Arc::ptr_eq(&self.config, config)
    }

    /// Counts up to `budget` more durable records of `engine`; after the last one also the
    /// outstanding offers, and then returns the finished counts.
    pub fn step(&mut self, engine: &Engine, budget: usize) -> Option<Vec<PoolStat>> {
        let slots = engine.durable_leases();
        let end = self.next.saturating_add(budget).min(slots.len());
        for lease in slots.get(self.next..end).unwrap_or(&[]) {
            // An outstanding offer shadows the record it replaces: counted with the offers.
            if lease.state == LeaseState::Bound && !engine.has_offer(lease.ip) {
                self.count(lease.ip);
            }
        }
        self.next = end;
        if end < slots.len() {
            return None;
        }
        for offer in engine.offers() {
            if offer.state == LeaseState::Offered {
                self.count(offer.ip);
            }
        }
        Some(std::mem::take(&mut self.stats))
    }

    /// Adds one active lease at `ip` to its pool (or its subnet's `none` entry).
    fn count(&mut self, ip: std::net::Ipv4Addr) {
        let config = &self.config;
        let Some(si) = config.subnets.iter().position(|s| s.cidr.contains(&ip)) else {
            return;
        };
        let (Some(subnet), Some(base)) = (config.subnets.get(si), self.offsets.get(si)) else {
            return;
        };
        let k = subnet
            .pools
            .iter()
            .position(|p| p.start <= ip && ip <= p.end)
            .unwrap_or(subnet.pools.len());
        if let Some(stat) = self.stats.get_mut(base + k) {
            stat.active += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole table in one step: the reference a sliced walk must match.
    fn pool_stats(engine: &Engine) -> Vec<PoolStat> {
        let mut walk = PoolWalk::new(Arc::clone(engine.config()));
        loop {
            if let Some(stats) = walk.step(engine, usize::MAX) {
                return stats;
            }
        }
    }

    /// A walk in many small slices counts exactly what a single pass counts: bound records
    /// per pool, those outside every pool under `none`, nothing for released/expired ones.
    #[test]
    fn pool_walk_in_slices_counts_like_one_pass() {
        use hyperdhcp_engine::{HwAddr, Lease, LeaseState};
        use std::net::Ipv4Addr;
        let text = "[server]\ninterfaces = [\"srv0\"]\n[[subnet]]\ncidr = \"198.18.0.0/16\"\n\
            [[subnet.pool]]\nstart = \"198.18.1.10\"\nend = \"198.18.1.20\"\n\
            [[subnet.pool]]\nstart = \"198.18.2.10\"\nend = \"198.18.2.20\"\n";
        let config = Arc::new(Config::from_toml_str(text).expect("config"));
        let lease = |ip: [u8; 4], state: LeaseState, n: u8| Lease {
            ip: Ipv4Addr::from(ip),
            hwaddr: HwAddr::ethernet([2, 0, 0, 0, 0, n]),
            client_id: None,
            hostname: None,
            fqdn: None,
            state,
            starts: 900,
            ends: 4_500,
        };
        let leases = vec![
            lease([198, 18, 1, 10], LeaseState::Bound, 1),
            lease([198, 18, 1, 11], LeaseState::Bound, 2),
            lease([198, 18, 1, 12], LeaseState::Released, 3),
            lease([198, 18, 2, 10], LeaseState::Bound, 4),
            lease([198, 18, 1, 13], LeaseState::Bound, 5),
            lease([198, 18, 5, 5], LeaseState::Bound, 6),
            lease([198, 18, 2, 11], LeaseState::Expired, 7),
        ];
        let engine = Engine::new(Arc::clone(&config), leases, 1_000);
        let mut walk = PoolWalk::new(Arc::clone(&config));
        let mut steps = 1;
        let stats = loop {
            if let Some(stats) = walk.step(&engine, 2) {
                break stats;
            }
            steps += 1;
        };
        assert_eq!(steps, 4);
        let active: Vec<(&str, u64, u64)> = stats
            .iter()
            .map(|s| (s.pool.as_str(), s.size, s.active))
            .collect();
        assert_eq!(
            active,
            vec![
                ("198.18.1.10-198.18.1.20", 11, 3),
                ("198.18.2.10-198.18.2.20", 11, 1),
                (NO_POOL, 0, 1),
            ]
        );
        assert_eq!(pool_stats(&engine), stats);
    }
}
