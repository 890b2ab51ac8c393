//! Fixed-rate pacing: how many sends are due at a point in time, and when the next one is.
//!
//! The schedule is absolute (send `k` is due at `k / rate` seconds after the start), so a late
//! wake-up is caught up in one batch instead of drifting the offered rate down.

use std::time::Duration;

/// Nanoseconds per second.
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Paces one kind of send at `rate` per second; `rate == 0` means "never" for this pacer
/// (the generator handles "as fast as possible" with an in-flight window instead).
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    /// Target sends per second.
    rate: u64,
    /// Sends issued so far.
    issued: u64,
}

impl Pacer {
    /// A pacer at `rate` per second.
    pub fn new(rate: u64) -> Self {
        Self { rate, issued: 0 }
    }

    /// Sends due by `elapsed` since the start that were not issued yet. The first send is due
    /// at time zero.
    pub fn due(&self, elapsed: Duration) -> u64 {
        if self.rate == 0 {
            return 0;
        }
        let allowed = (u128::from(self.rate) * elapsed.as_nanos() / NANOS_PER_SEC) + 1;
        u64::try_from(allowed)
            .unwrap_or(u64::MAX)
            .saturating_sub(self.issued)
    }

    /// Marks `n` sends as issued.
    pub fn issue(&mut self, n: u64) {
        self.issued += n;
    }

    /// Sends issued so far.
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// Offset from the start at which the next (not yet issued) send is due; `None` when the
    /// rate is zero.
    pub fn next_due(&self) -> Option<Duration> {
        if self.rate == 0 {
            return None;
        }
        // Rounded up, so that waking at this instant finds the send due.
        let rate = u128::from(self.rate);
        let nanos = (u128::from(self.issued) * NANOS_PER_SEC).div_ceil(rate);
        Some(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_send_is_due_immediately() {
        let p = Pacer::new(1000);
        assert_eq!(p.due(Duration::ZERO), 1);
        assert_eq!(p.next_due(), Some(Duration::ZERO));
    }

    #[test]
    fn absolute_schedule_catches_up() {
        let mut p = Pacer::new(1000);
        p.issue(1);
        assert_eq!(p.due(Duration::from_micros(999)), 0);
        assert_eq!(p.due(Duration::from_millis(1)), 1);
        // A 10 ms stall: 10 sends are owed at once.
        assert_eq!(p.due(Duration::from_millis(10)), 10);
        p.issue(10);
        assert_eq!(p.issued(), 11);
        assert_eq!(p.next_due(), Some(Duration::from_millis(11)));
    }

    #[test]
    fn one_second_sends_rate_plus_the_one_at_zero() {
        let p = Pacer::new(25_000);
        assert_eq!(p.due(Duration::from_secs(1)), 25_001);
        assert_eq!(p.due(Duration::from_millis(500)), 12_501);
    }

    #[test]
    fn zero_rate_never_sends() {
        let p = Pacer::new(0);
        assert_eq!(p.due(Duration::from_secs(100)), 0);
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn odd_rates_space_evenly() {
        let mut p = Pacer::new(3);
        p.issue(1);
        assert_eq!(p.next_due(), Some(Duration::from_nanos(333_333_334)));
        assert_eq!(p.due(Duration::from_nanos(333_333_332)), 0);
        assert_eq!(p.due(Duration::from_nanos(333_333_334)), 1);
        let at = p.next_due().unwrap_or_default();
        assert_eq!(p.due(at), 1, "waking at next_due finds the send due");
    }
}
