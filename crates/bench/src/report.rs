//! The result of one run: counters, rates, loss and latency percentiles, printed for humans or
//! as one JSON object.

use serde::Serialize;

use crate::latency::LatencySummary;

/// Everything one run measured. Rates are over the send phase (`duration_s`), the time during
/// which new exchanges were started.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BenchReport {
    /// "relay" or "broadcast".
    pub mode: String,
    /// Server address the generator targeted.
    pub server: String,
    /// Requested DORA starts per second (0 = as fast as possible).
    pub rate_target: u64,
    /// Distinct simulated clients.
    pub clients: u32,
    /// Clients bound by the `--warmup-clients` phase before the measured run (0 without one).
    pub warmup_bound: u64,
    /// Seconds during which new exchanges were started.
    pub duration_s: f64,
    /// Seconds from the first send to the end of the late-reply wait.
    pub elapsed_s: f64,
    /// DORA exchanges started (DISCOVERs sent).
    pub sent: u64,
    /// DORA exchanges completed (ACK to our REQUEST).
    pub completed: u64,
    /// DISCOVERs started per second over the send phase.
    pub offered_per_s: f64,
    /// Completed DORA exchanges (leases) per second over the send phase.
    pub achieved_per_s: f64,
    /// `(sent - completed) / sent`, in percent.
    pub loss_pct: f64,
    /// Full DORA latency (DISCOVER sent → ACK received) median, ms.
    pub p50_ms: f64,
    /// Full DORA latency 90th percentile, ms.
    pub p90_ms: f64,
    /// Full DORA latency 99th percentile, ms.
    pub p99_ms: f64,
    /// Full DORA latency maximum, ms.
    pub max_ms: f64,
    /// OFFERs received for our DISCOVERs.
    pub offers: u64,
    /// REQUESTs (SELECTING) sent.
    pub requests: u64,
    /// NAKs received (any state).
    pub naks: u64,
    /// DISCOVERs without an OFFER within the timeout.
    pub lost_discovers: u64,
    /// SELECTING REQUESTs without an ACK/NAK within the timeout.
    pub lost_requests: u64,
    /// Times a client's turn came while its previous exchange was still in flight (skipped).
    pub busy_skips: u64,
    /// DISCOVER → OFFER latency.
    pub discover_offer: LatencySummary,
    /// REQUEST → ACK latency (SELECTING).
    pub request_ack: LatencySummary,
    /// DISCOVER → ACK latency (the top-level p50/p99 repeat this).
    pub dora: LatencySummary,
    /// RENEWING REQUESTs sent.
    pub renews_sent: u64,
    /// RENEWING REQUESTs acknowledged.
    pub renews_acked: u64,
    /// RENEWING REQUESTs unanswered within the timeout.
    pub renews_lost: u64,
    /// Acknowledged renewals per second over the send phase.
    pub renew_per_s: f64,
    /// REQUEST (RENEWING) → ACK latency.
    pub renew_ack: LatencySummary,
    /// RELEASEs sent.
    pub releases_sent: u64,
    /// Datagrams sent in total.
    pub packets_sent: u64,
    /// Datagrams received in total.
    pub packets_received: u64,
    /// Datagrams the kernel refused to send (counted, not retried).
    pub send_errors: u64,
    /// Received datagrams that did not parse as DHCP.
    pub parse_errors: u64,
    /// Parsed replies matching no exchange in flight (late, duplicate or foreign).
    pub unmatched: u64,
    /// Lines written to the ACK log.
    pub ack_log_lines: u64,
}

/// Percent of `part` in `whole`; 0 when `whole` is 0.
pub fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// `count / seconds`; 0 for a zero-length interval.
pub fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

impl BenchReport {
    /// Fills the derived fields (rates, loss, top-level percentiles) from the counters.
    pub fn finalize(&mut self) {
        self.offered_per_s = per_second(self.sent, self.duration_s);
        self.achieved_per_s = per_second(self.completed, self.duration_s);
        self.renew_per_s = per_second(self.renews_acked, self.duration_s);
        self.loss_pct = pct(self.sent.saturating_sub(self.completed), self.sent);
        self.p50_ms = self.dora.p50_ms;
        self.p90_ms = self.dora.p90_ms;
        self.p99_ms = self.dora.p99_ms;
        self.max_ms = self.dora.max_ms;
    }

    /// One JSON object (single line).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report as aligned text, for a terminal.
    pub fn human(&self) -> String {
        let lat = |name: &str, s: &LatencySummary| {
            format!(
                "  {name:<16} n={:<9} p50 {:>8.3} ms  p90 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms\n",
                s.count, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
            )
        };
        let target = if self.rate_target == 0 {
            "max".to_string()
        } else {
            format!("{}/s", self.rate_target)
        };
        let mut out = format!(
            "hyperdhcp bench: {} mode → {} , target {target}, {} clients\n\
             \x20 duration        {:.2} s (total {:.2} s)\n\
             \x20 DORA            sent {}  completed {}  loss {:.3} %\n\
             \x20 rate            offered {:.1}/s  achieved {:.1} leases/s\n\
             \x20 detail          offers {}  requests {}  naks {}  lost discovers {}  lost requests {}  busy skips {}\n",
            self.mode,
            self.server,
            self.clients,
            self.duration_s,
            self.elapsed_s,
            self.sent,
            self.completed,
            self.loss_pct,
            self.offered_per_s,
            self.achieved_per_s,
            self.offers,
            self.requests,
            self.naks,
            self.lost_discovers,
            self.lost_requests,
            self.busy_skips,
        );
        out += &lat("DISCOVER→OFFER", &self.discover_offer);
        out += &lat("REQUEST→ACK", &self.request_ack);
        out += &lat("DISCOVER→ACK", &self.dora);
        if self.renews_sent > 0 {
            out += &format!(
                "  renewals        sent {}  acked {}  lost {}  {:.1}/s\n",
                self.renews_sent, self.renews_acked, self.renews_lost, self.renew_per_s
            );
            out += &lat("RENEW→ACK", &self.renew_ack);
        }
        if self.releases_sent > 0 {
            out += &format!("  releases        sent {}\n", self.releases_sent);
        }
        out += &format!(
            "  packets         sent {}  received {}  send errors {}  parse errors {}  unmatched {}\n",
            self.packets_sent,
            self.packets_received,
            self.send_errors,
            self.parse_errors,
            self.unmatched
        );
        out
    }

    /// Prints [`BenchReport::human`] to stdout.
    pub fn print_human(&self) {
        print!("{}", self.human());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalize_computes_rates_and_loss() {
        let mut r = BenchReport {
            sent: 1000,
            completed: 990,
            duration_s: 2.0,
            renews_acked: 50,
            ..Default::default()
        };
        r.dora.p50_ms = 1.5;
        r.dora.p99_ms = 9.0;
        r.finalize();
        assert_eq!(r.offered_per_s, 500.0);
        assert_eq!(r.achieved_per_s, 495.0);
        assert_eq!(r.renew_per_s, 25.0);
        assert!((r.loss_pct - 1.0).abs() < 1e-9);
        assert_eq!(r.p50_ms, 1.5);
        assert_eq!(r.p99_ms, 9.0);
    }

    #[test]
    fn zero_guards() {
        assert_eq!(pct(5, 0), 0.0);
        assert_eq!(per_second(5, 0.0), 0.0);
        let mut r = BenchReport::default();
        r.finalize();
        assert_eq!(r.loss_pct, 0.0);
    }

    #[test]
    fn json_has_the_documented_fields() {
        let mut r = BenchReport {
            sent: 10,
            completed: 9,
            duration_s: 1.0,
            ..Default::default()
        };
        r.finalize();
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap_or_default();
        for key in [
            "achieved_per_s",
            "loss_pct",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
            "sent",
            "completed",
            "offered_per_s",
            "discover_offer",
            "request_ack",
            "renew_ack",
            "renews_acked",
        ] {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
        assert_eq!(v["sent"], 10);
        assert_eq!(v["completed"], 9);
        assert_eq!(v["achieved_per_s"], 9.0);
        assert_eq!(v["discover_offer"]["p99_ms"], 0.0);
        assert!(!r.to_json().contains('\n'));
    }

    #[test]
    fn human_mentions_renewals_only_when_sent() {
        let mut r = BenchReport::default();
        assert!(!r.human().contains("renewals"));
        r.renews_sent = 1;
        assert!(r.human().contains("renewals"));
    }
}
