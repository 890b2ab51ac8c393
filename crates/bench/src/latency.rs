//! Latency samples in microseconds and the percentiles reported from them.

use serde::Serialize;

/// Collects round-trip times of one kind of exchange (e.g. DISCOVER→OFFER).
///
/// Samples are kept exactly (4 bytes each) and sorted once at the end: a ten-second run at
/// 100,000 exchanges/s is 4 MB, cheaper and simpler than a histogram with its rounding.
#[derive(Debug, Default, Clone)]
pub struct LatencyRecorder {
    /// Microsecond samples in arrival order.
    samples_us: Vec<u32>,
}

impl LatencyRecorder {
    /// Records one sample (saturating at `u32::MAX` µs, about 71 minutes).
    pub fn record_us(&mut self, us: u64) {
        self.samples_us.push(u32::try_from(us).unwrap_or(u32::MAX));
    }

    /// Number of samples recorded.
    pub fn len(&self) -> usize {
        self.samples_us.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.samples_us.is_empty()
    }

    /// Sorts the samples and computes the summary.
    pub fn summary(&mut self) -> LatencySummary {
        self.samples_us.sort_unstable();
        let s = &self.samples_us;
        let ms = |us: Option<u32>| us.map_or(0.0, |v| f64::from(v) / 1000.0);
        let mean = if s.is_empty() {
            0.0
        } else {
            s.iter().map(|&v| f64::from(v)).sum::<f64>() / s.len() as f64 / 1000.0
        };
        LatencySummary {
            count: s.len() as u64,
            p50_ms: ms(percentile(s, 50.0)),
            p90_ms: ms(percentile(s, 90.0)),
            p99_ms: ms(percentile(s, 99.0)),
            max_ms: ms(s.last().copied()),
            mean_ms: mean,
        }
    }
}

/// Percentiles of one kind of exchange, in milliseconds (0 when there were no samples).
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
    /// Arithmetic mean.
    pub mean_ms: f64,
}

/// Nearest-rank percentile of `sorted` (ascending): the smallest sample such that at least
/// `p` percent of the samples are less than or equal to it. `None` for an empty slice.
pub fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize; // 1-based
    let idx = rank.clamp(1, n) - 1;
    sorted.get(idx).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 90.0), Some(90));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 99.0), Some(7));
        // 10 samples: p99 is the largest, p50 the 5th.
        let w = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000];
        assert_eq!(percentile(&w, 50.0), Some(50));
        assert_eq!(percentile(&w, 99.0), Some(1000));
    }

    #[test]
    fn summary_sorts_and_converts_to_ms() {
        let mut r = LatencyRecorder::default();
        for us in [3000u64, 1000, 2000, 4000] {
            r.record_us(us);
        }
        let s = r.summary();
        assert_eq!(s.count, 4);
        assert_eq!(s.p50_ms, 2.0);
        assert_eq!(s.p99_ms, 4.0);
        assert_eq!(s.max_ms, 4.0);
        assert_eq!(s.mean_ms, 2.5);
    }

    #[test]
    fn empty_summary_is_zero() {
        assert_eq!(
            LatencyRecorder::default().summary(),
            LatencySummary::default()
        );
    }

    #[test]
    fn huge_sample_saturates() {
        let mut r = LatencyRecorder::default();
        r.record_us(u64::MAX);
        assert_eq!(r.summary().count, 1);
    }
}
