//! Rate-limited warning for datagrams the server itself dropped (malformed, rate-limited,
//! withheld after a failed commit, …): each drop is counted at once and logged at debug; this
//! turns the counters into at most one warning line per interval, so an operator sees a flood
//! without the log becoming one.

use hyperdhcp_engine::UnixTime;

use hyperdhcp_control::{Counters, DropReason};

/// Remembers what the last warning covered and when the next one may be logged.
#[derive(Debug)]
pub(crate) struct DropWarner {
    /// Per-reason totals already reported, in `DropReason::ALL` order.
    reported: [u64; DropReason::ALL.len()],
    /// Earliest time of the next warning.
    next_warn: UnixTime,
    /// Minimum seconds between two warnings.
    interval: UnixTime,
}

impl DropWarner {
    /// A warner that logs at most once per `interval` seconds.
    pub(crate) fn new(interval: UnixTime) -> Self {
        Self {
            reported: [0; DropReason::ALL.len()],
            next_warn: 0,
            interval,
        }
    }

    /// When drops grew since the last warning and the interval has passed: the summary
    /// (`reason=count` pairs of the new drops, and their total) to log now.
    pub(crate) fn check(&mut self, counters: &Counters, now: UnixTime) -> Option<(u64, String)> {
        if now < self.next_warn {
            return None;
        }
        let mut total = 0;
        let mut summary = String::new();
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            let n = counters.dropped(*reason);
            let new = n.saturating_sub(self.reported[i]);
            self.reported[i] = n;
            if new > 0 {
                if !summary.is_empty() {
                    summary.push(' ');
                }
                summary.push_str(reason.as_str());
                summary.push('=');
                summary.push_str(&new.to_string());
                total += new;
            }
        }
        if total == 0 {
            return None;
        }
        self.next_warn = now + self.interval;
        Some((total, summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_once_per_interval_with_the_new_drops_only() {
        let c = Counters::default();
        let mut w = DropWarner::new(10);
        assert_eq!(w.check(&c, 100), None, "nothing dropped, nothing said");
        c.count_dropped(DropReason::TooShort);
        c.count_dropped(DropReason::TooShort);
        c.count_dropped(DropReason::RateLimited);
        let (total, line) = w.check(&c, 100).unwrap();
        assert_eq!(total, 3);
        assert_eq!(line, "too_short=2 rate_limited=1");
        c.count_dropped(DropReason::BadCookie);
        assert_eq!(w.check(&c, 105), None, "within the interval");
        c.count_dropped(DropReason::BadCookie);
        assert_eq!(w.check(&c, 110), Some((2, "bad_cookie=2".to_string())));
        assert_eq!(w.check(&c, 200), None, "no new drops");
    }
}
