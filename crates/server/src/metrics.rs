//! Prometheus metrics: a collector that reads the serving loop's atomics ([`Counters`], the
//! histograms and the pool snapshot in [`Telemetry`], the hooks' [`EventStats`]) at scrape
//! time, so nothing is counted twice and the serving thread never takes a lock for a scrape.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyperdhcp_config::Config;
use hyperdhcp_engine::{Engine, IgnoreReason, LeaseState};
use hyperdhcp_events::EventStats;
use hyperdhcp_wire::MessageType;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::counters::Counters;

/// Upper bounds (seconds) of the store commit and request latency histograms.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Upper bounds of the commit batch size histogram (lease changes per commit).
pub const BATCH_SIZE_BUCKETS: [f64; 12] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];
/// Label value for a datagram without a valid message type.
const UNKNOWN_TYPE: &str = "unknown";
/// Drop reason label for datagrams the kernel discarded (full socket receive buffer).
pub const KERNEL_DROP_REASON: &str = "kernel_receive_buffer";
/// Pool label of leases outside every pool (reservations).
const NO_POOL: &str = "none";

// === AtomicHistogram ===

/// A fixed-bucket histogram the serving thread updates with relaxed atomics (no lock).
#[derive(Debug)]
pub struct AtomicHistogram {
    bounds: &'static [f64],
    /// Per-bucket (not cumulative) counts; the last slot is +Inf.
    counts: Vec<AtomicU64>,
    /// Sum of observations, f64 bits.
    sum: AtomicU64,
}

impl AtomicHistogram {
    /// An empty histogram over `bounds` (ascending upper bounds).
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// Records `n` observations of `value`.
    pub fn observe_n(&self, value: f64, n: u64) {
        if n == 0 {
            return;
        }
        let i = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(n, Ordering::Relaxed);
        }
        let add = value * n as f64;
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + add).to_bits())
            });
    }

    /// Records one observation.
    pub fn observe(&self, value: f64) {
        self.observe_n(value, 1);
    }

    /// Records one duration in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// (sum, count, per-bucket counts with +Inf as `f64::MAX`).
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets: Vec<(f64, u64)> = self
            .bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::MAX))
            .zip(self.counts.iter().map(|c| c.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, c)| c).sum();
        (
            f64::from_bits(self.sum.load(Ordering::Relaxed)),
            count,
            buckets,
        )
    }
}

// === pool snapshot ===

/// Leases and size of one pool (or of a subnet's addresses outside its pools).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolStat {
    /// Subnet label (`198.18.0.0/16`).
    pub subnet: String,
    /// Pool label (`198.18.1.10-198.18.1.20`, or `none` for reservations outside pools).
    pub pool: String,
    /// Addresses in the pool (0 for `none`).
    pub size: u64,
    /// Offered or bound leases in it.
    pub active: u64,
}

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

// === Telemetry ===

/// What the serving loop publishes for the metrics endpoint, besides [`Counters`].
#[derive(Debug)]
pub struct Telemetry {
    /// Packet counters (the serving loop's own).
    pub counters: Arc<Counters>,
    /// Hook and bus counters.
    pub events: Arc<EventStats>,
    /// Store loaded and sockets open (`/readyz`).
    pub ready: AtomicBool,
    /// Seconds per store commit.
    pub commit_latency: AtomicHistogram,
    /// Lease changes per commit.
    pub commit_batch: AtomicHistogram,
    /// Seconds from reading a request's batch to sending its reply.
    pub request_latency: AtomicHistogram,
    /// Latest per-pool snapshot.
    pub pools: ArcSwap<Vec<PoolStat>>,
}

impl Telemetry {
    /// Empty telemetry over `counters` and `events`.
    pub fn new(counters: Arc<Counters>, events: Arc<EventStats>) -> Self {
        Self {
            counters,
            events,
            ready: AtomicBool::new(false),
            commit_latency: AtomicHistogram::new(&LATENCY_BUCKETS),
            commit_batch: AtomicHistogram::new(&BATCH_SIZE_BUCKETS),
            request_latency: AtomicHistogram::new(&LATENCY_BUCKETS),
            pools: ArcSwap::from_pointee(Vec::new()),
        }
    }

    /// A registry whose only collector reads this telemetry.
    pub fn registry(self: &Arc<Self>) -> Registry {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(TelemetryCollector(Arc::clone(self))));
        registry
    }
}

/// Reads [`Telemetry`] on every scrape.
#[derive(Debug)]
struct TelemetryCollector(Arc<Telemetry>);

/// Writes one counter family: one sample per (labels, value).
fn counter_family<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Vec<(&'static str, &'a str)>, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in samples {
        if labels.is_empty() {
            // A family without labels has exactly one sample.
            return ConstCounter::new(value).encode(family);
        }
        ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Writes one gauge family.
fn gauge_family<'a, V: prometheus_client::encoding::EncodeGaugeValue + Copy>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Vec<(&'static str, &'a str)>, V)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in samples {
        let metric: MetricEncoder<'_> = family.encode_family(&labels)?;
        ConstGauge::new(value).encode(metric)?;
    }
    Ok(())
}

fn histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    h: &AtomicHistogram,
) -> Result<(), std::fmt::Error> {
    let (sum, count, buckets) = h.snapshot();
    let mut m = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    m.encode_histogram::<prometheus_client::encoding::NoLabelSet>(sum, count, &buckets, None)
}

/// Lower-case message type name for labels.
fn type_label(mt: Option<MessageType>) -> &'static str {
    match mt {
        None => UNKNOWN_TYPE,
        Some(MessageType::Discover) => "discover",
        Some(MessageType::Offer) => "offer",
        Some(MessageType::Request) => "request",
        Some(MessageType::Decline) => "decline",
        Some(MessageType::Ack) => "ack",
        Some(MessageType::Nak) => "nak",
        Some(MessageType::Release) => "release",
        Some(MessageType::Inform) => "inform",
    }
}

impl Collector for TelemetryCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let t = &self.0;
        let c = &t.counters;
        let types = std::iter::once(None).chain(MessageType::ALL.map(Some));
        counter_family(
            &mut e,
            "hyperdhcp_packets_received",
            "DHCP datagrams received, by message type",
            types
                .clone()
                .map(|mt| (vec![("type", type_label(mt))], c.received(mt))),
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_packets_sent",
            "DHCP replies sent, by message type",
            MessageType::ALL
                .iter()
                .map(|mt| (vec![("type", type_label(Some(*mt)))], c.sent(*mt))),
        )?;
        let drops: Vec<_> = c
            .drops()
            .chain(std::iter::once((KERNEL_DROP_REASON, c.kernel_drops())))
            .collect();
        counter_family(
            &mut e,
            "hyperdhcp_drops",
            "Requests dropped or left unanswered, by reason",
            drops.iter().map(|(r, n)| (vec![("reason", *r)], *n)),
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_allocation_failures",
            "DISCOVERs left unanswered because every pool of the subnet was in use",
            [(vec![], c.ignored(IgnoreReason::PoolExhausted))],
        )?;
        let (commits, failed) = c.commits();
        counter_family(
            &mut e,
            "hyperdhcp_store_commits",
            "Store commits, by result",
            [
                (vec![("result", "ok")], commits.saturating_sub(failed)),
                (vec![("result", "error")], failed),
            ],
        )?;
        histogram(
            &mut e,
            "hyperdhcp_store_commit_duration_seconds",
            "Duration of one store commit (one fsync per batch)",
            &t.commit_latency,
        )?;
        histogram(
            &mut e,
            "hyperdhcp_store_commit_batch_size",
            "Lease changes per store commit",
            &t.commit_batch,
        )?;
        histogram(
            &mut e,
            "hyperdhcp_request_duration_seconds",
            "From reading a request's batch to sending its reply",
            &t.request_latency,
        )?;
        let pools = t.pools.load();
        gauge_family(
            &mut e,
            "hyperdhcp_leases_active",
            "Offered or bound leases, by subnet and pool",
            pools.iter().map(|p| {
                (
                    vec![("subnet", p.subnet.as_str()), ("pool", p.pool.as_str())],
                    p.active as i64,
                )
            }),
        )?;
        let sized = || pools.iter().filter(|p| p.size > 0);
        gauge_family(
            &mut e,
            "hyperdhcp_pool_size",
            "Addresses in the pool",
            sized().map(|p| {
                (
                    vec![("subnet", p.subnet.as_str()), ("pool", p.pool.as_str())],
                    p.size as i64,
                )
            }),
        )?;
        gauge_family(
            &mut e,
            "hyperdhcp_pool_utilization",
            "Fraction of the pool's addresses offered or bound (0..1)",
            sized().map(|p| {
                (
                    vec![("subnet", p.subnet.as_str()), ("pool", p.pool.as_str())],
                    p.active as f64 / p.size as f64,
                )
            }),
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_probe_results",
            "Conflict probes by method (arp, icmp) and result: free = no answer before the timeout, conflict = answered, cache_hit = recently found free (not sent), skipped = could not be sent",
            t.counters
                .probe_results()
                .map(|(m, r, n)| (vec![("method", m), ("result", r)], n)),
        )?;
        let ev = &t.events;
        let get = EventStats::get;
        counter_family(
            &mut e,
            "hyperdhcp_events_published",
            "Events queued for the hooks",
            [(vec![], get(&ev.published))],
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_events_dropped",
            "Events dropped: bus = the serving loop's queue was full, hook = one hook's queue was full",
            [
                (vec![("stage", "bus")], get(&ev.dropped_bus)),
                (vec![("stage", "hook")], get(&ev.dropped_hook)),
            ],
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_hook_runs",
            "Hook runs and deliveries, by kind and result",
            [
                (
                    vec![("kind", "script"), ("result", "ok")],
                    get(&ev.script_ok),
                ),
                (
                    vec![("kind", "script"), ("result", "failure")],
                    get(&ev.script_failures),
                ),
                (
                    vec![("kind", "webhook"), ("result", "ok")],
                    get(&ev.webhook_ok),
                ),
                (
                    vec![("kind", "webhook"), ("result", "failure")],
                    get(&ev.webhook_failures),
                ),
            ],
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_hook_failures",
            "Failed hook runs (scripts: non-zero exit, timeout, start failure; webhooks: after the last retry)",
            [
                (vec![("kind", "script")], get(&ev.script_failures)),
                (vec![("kind", "webhook")], get(&ev.webhook_failures)),
            ],
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_hook_timeouts",
            "Scripts killed at their timeout",
            [(vec![("kind", "script")], get(&ev.script_timeouts))],
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_webhook_retries",
            "Webhook attempts retried after a failure",
            [(vec![], get(&ev.webhook_retries))],
        )?;
        Ok(())
    }
}

/// The registry's text exposition.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, registry).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counters::ProbeResult;
    use hyperdhcp_engine::ConflictMethod;

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

    #[test]
    fn histogram_buckets_sum_and_count() {
        let h = AtomicHistogram::new(&BATCH_SIZE_BUCKETS);
        h.observe(1.0);
        h.observe_n(3.0, 2);
        h.observe(1e9);
        let (sum, count, buckets) = h.snapshot();
        assert_eq!(count, 4);
        assert!((sum - (1.0 + 6.0 + 1e9)).abs() < 1e-3);
        assert_eq!(buckets[0], (1.0, 1));
        assert_eq!(buckets[2], (4.0, 2));
        assert_eq!(buckets.last(), Some(&(f64::MAX, 1)));
    }

    #[test]
    fn exposition_mirrors_counters() {
        let counters = Arc::new(Counters::default());
        counters.count_received(Some(MessageType::Discover));
        counters.count_received(Some(MessageType::Discover));
        counters.count_sent(MessageType::Offer);
        counters.count_ignored(IgnoreReason::PoolExhausted);
        counters.set_kernel_drops(7);
        counters.count_probe(ConflictMethod::Arp, ProbeResult::Conflict);
        let events = Arc::new(EventStats::default());
        EventStats::bump(&events.dropped_bus);
        let t = Arc::new(Telemetry::new(counters, events));
        t.commit_latency.observe(0.002);
        t.pools.store(Arc::new(vec![PoolStat {
            subnet: "198.18.0.0/16".into(),
            pool: "198.18.1.10-198.18.1.19".into(),
            size: 10,
            active: 5,
        }]));
        let text = render(&t.registry());
        for line in [
            "hyperdhcp_packets_received_total{type=\"discover\"} 2",
            "hyperdhcp_packets_sent_total{type=\"offer\"} 1",
            "hyperdhcp_drops_total{reason=\"pool_exhausted\"} 1",
            "hyperdhcp_drops_total{reason=\"kernel_receive_buffer\"} 7",
            "hyperdhcp_allocation_failures_total 1",
            "hyperdhcp_events_dropped_total{stage=\"bus\"} 1",
            "hyperdhcp_store_commit_duration_seconds_count 1",
            "hyperdhcp_leases_active{subnet=\"198.18.0.0/16\",pool=\"198.18.1.10-198.18.1.19\"} 5",
            "hyperdhcp_pool_utilization{subnet=\"198.18.0.0/16\",pool=\"198.18.1.10-198.18.1.19\"} 0.5",
            "hyperdhcp_probe_results_total{method=\"arp\",result=\"conflict\"} 1",
            "hyperdhcp_probe_results_total{method=\"icmp\",result=\"free\"} 0",
        ] {
            assert!(text.contains(line), "missing {line} in:\n{text}");
        }
    }
}
