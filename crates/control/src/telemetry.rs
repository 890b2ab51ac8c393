//! What the serving loop writes and readers (the metrics exposition, the API) read: latency
//! and batch-size histograms, the per-pool lease snapshot, readiness, and the counters of the
//! event bus and hooks. All lock-free: the loop never waits for a reader.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::counters::Counters;

/// Upper bounds (seconds) of the store commit and request latency histograms.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Upper bounds of the commit batch size histogram (lease changes per commit).
pub const BATCH_SIZE_BUCKETS: [f64; 12] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

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

// === EventStats ===

/// Counters shared by the bus, the dispatcher and the hooks; read by the metrics endpoint.
#[derive(Debug, Default)]
pub struct EventStats {
    /// Events accepted onto the bus.
    pub published: AtomicU64,
    /// Events dropped because the bus was full (or the hook runtime is gone).
    pub dropped_bus: AtomicU64,
    /// Event deliveries dropped because one hook's own queue was full.
    pub dropped_hook: AtomicU64,
    /// Script runs that finished with status 0.
    pub script_ok: AtomicU64,
    /// Script runs that failed (non-zero exit, could not start, timed out).
    pub script_failures: AtomicU64,
    /// Script runs killed at their timeout (also counted in `script_failures`).
    pub script_timeouts: AtomicU64,
    /// Webhook deliveries answered with 2xx.
    pub webhook_ok: AtomicU64,
    /// Webhook deliveries given up after the last retry (or refused with 4xx).
    pub webhook_failures: AtomicU64,
    /// Webhook attempts retried.
    pub webhook_retries: AtomicU64,
}

impl EventStats {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
