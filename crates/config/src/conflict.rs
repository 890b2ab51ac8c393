//! `[conflict_detection]`: probing offered addresses (ARP / ICMP) and the conflict table.

use serde::Deserialize;

use super::raw::{RawDuration, Report};
use super::values::{DURATION_HINT, parse_duration};

/// Default `conflict_detection.hold_time`, seconds: how long a conflicting address is skipped.
pub const DEFAULT_HOLD_TIME: u64 = 3_600;
/// Default `conflict_detection.max_conflict_count`: conflicts before an address is held
/// permanently (until cleared by an operator).
pub const DEFAULT_MAX_CONFLICT_COUNT: u32 = 3;

/// Default `conflict_detection.timeout`, milliseconds.
pub const DEFAULT_PROBE_TIMEOUT_MS: u64 = 500;
/// Longest accepted `conflict_detection.timeout`, milliseconds (a parked DISCOVER must be
/// answered well before the client retransmits).
pub const MAX_PROBE_TIMEOUT_MS: u64 = 10_000;
/// Default `conflict_detection.cache_ttl`, seconds.
pub const DEFAULT_PROBE_CACHE_TTL: u64 = 10;
/// Default `conflict_detection.parallel_count`.
pub const DEFAULT_PARALLEL_COUNT: usize = 4;
/// Largest accepted `conflict_detection.parallel_count`.
pub const MAX_PARALLEL_COUNT: usize = 64;
/// Path of the table in the file.
const PATH: &str = "conflict_detection";

/// Which probe to send (`method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeMethod {
    /// ARP on directly attached subnets, ICMP echo for relayed ones (default).
    Auto,
    /// ARP only (relayed requests are not probed).
    Arp,
    /// ICMP echo only.
    Icmp,
}

/// How many candidates are probed at once (`strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeStrategy {
    /// One candidate at a time; the next only after a conflict (default).
    Sequential,
    /// `parallel_count` candidates at once; the first found free wins.
    Parallel,
}

/// `[conflict_detection]`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictDetectionConfig {
    /// Probe before offering (`enabled`, default true).
    pub enabled: bool,
    /// `method` (default auto).
    pub method: ProbeMethod,
    /// Probe timeout in milliseconds (`timeout`, default "500ms").
    pub timeout_ms: u64,
    /// `strategy` (default sequential).
    pub strategy: ProbeStrategy,
    /// Candidates probed at once with the parallel strategy (`parallel_count`, default 4).
    pub parallel_count: usize,
    /// Seconds an address found free is not probed again (`cache_ttl`, default 10s; 0 = no
    /// cache).
    pub cache_ttl: u64,
    /// Seconds a conflicting address is held back (`hold_time`, default 1h).
    pub hold_time: u64,
    /// Conflicts after which an address is held until cleared (`max_conflict_count`,
    /// default 3; 0 = never permanent).
    pub max_conflict_count: u32,
    /// Probe reserved addresses too (`probe_reservations`, default false).
    pub probe_reservations: bool,
    /// Send a gratuitous ARP after an ACK on a local subnet (`gratuitous_arp`, default false).
    pub gratuitous_arp: bool,
}

impl Default for ConflictDetectionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            method: ProbeMethod::Auto,
            timeout_ms: DEFAULT_PROBE_TIMEOUT_MS,
            strategy: ProbeStrategy::Sequential,
            parallel_count: DEFAULT_PARALLEL_COUNT,
            cache_ttl: DEFAULT_PROBE_CACHE_TTL,
            hold_time: DEFAULT_HOLD_TIME,
            max_conflict_count: DEFAULT_MAX_CONFLICT_COUNT,
            probe_reservations: false,
            gratuitous_arp: false,
        }
    }
}

/// `[conflict_detection]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConflictDetection {
    pub enabled: Option<bool>,
    pub method: Option<String>,
    pub timeout: Option<RawDuration>,
    pub strategy: Option<String>,
    pub parallel_count: Option<i64>,
    pub cache_ttl: Option<RawDuration>,
    pub hold_time: Option<RawDuration>,
    pub max_conflict_count: Option<i64>,
    pub probe_reservations: Option<bool>,
    pub gratuitous_arp: Option<bool>,
}

/// Parses a probe timeout: `"500ms"`, `"1s"`, or an integer number of milliseconds.
fn parse_millis(raw: &RawDuration) -> Option<u64> {
    match raw {
        RawDuration::Seconds(n) => u64::try_from(*n).ok(),
        RawDuration::Text(t) => {
            if let Some(ms) = t.strip_suffix("ms") {
                return ms.parse().ok();
            }
            parse_duration(t)?.checked_mul(1_000)
        }
    }
}

/// Validates `[conflict_detection]` (absent: defaults).
pub(super) fn validate_conflict_detection(
    report: &mut Report<'_>,
    raw: Option<RawConflictDetection>,
) -> ConflictDetectionConfig {
    let mut c = ConflictDetectionConfig::default();
    let Some(raw) = raw else {
        return c;
    };
    let key = |k: &str| format!("{PATH}.{k}");
    c.enabled = raw.enabled.unwrap_or(c.enabled);
    c.probe_reservations = raw.probe_reservations.unwrap_or(c.probe_reservations);
    c.gratuitous_arp = raw.gratuitous_arp.unwrap_or(c.gratuitous_arp);
    match raw.method.as_deref() {
        None | Some("auto") => {}
        Some("arp") => c.method = ProbeMethod::Arp,
        Some("icmp") => c.method = ProbeMethod::Icmp,
        Some(other) => report.error(
            &key("method"),
            format!("unknown method {other:?}: expected \"auto\", \"arp\" or \"icmp\""),
        ),
    }
    match raw.strategy.as_deref() {
        None | Some("sequential") => {}
        Some("parallel") => c.strategy = ProbeStrategy::Parallel,
        Some(other) => report.error(
            &key("strategy"),
            format!("unknown strategy {other:?}: expected \"sequential\" or \"parallel\""),
        ),
    }
    if let Some(t) = &raw.timeout {
        match parse_millis(t) {
            Some(ms) if (1..=MAX_PROBE_TIMEOUT_MS).contains(&ms) => c.timeout_ms = ms,
            _ => report.error(
                &key("timeout"),
                format!(
                    "invalid probe timeout: expected \"1ms\" to \"{}s\" (e.g. \"500ms\")",
                    MAX_PROBE_TIMEOUT_MS / 1_000
                ),
            ),
        }
    }
    if let Some(n) = raw.parallel_count {
        match usize::try_from(n) {
            Ok(n) if (1..=MAX_PARALLEL_COUNT).contains(&n) => c.parallel_count = n,
            _ => report.error(
                &key("parallel_count"),
                format!("{n} is out of range: expected 1 to {MAX_PARALLEL_COUNT}"),
            ),
        }
    }
    for (name, raw, slot) in [
        ("cache_ttl", &raw.cache_ttl, &mut c.cache_ttl),
        ("hold_time", &raw.hold_time, &mut c.hold_time),
    ] {
        if let Some(d) = raw {
            let parsed = match d {
                RawDuration::Seconds(n) => u64::try_from(*n).ok(),
                RawDuration::Text(t) => parse_duration(t),
            };
            match parsed {
                Some(s) => *slot = s,
                None => report.error(&key(name), format!("invalid duration: {DURATION_HINT}")),
            }
        }
    }
    if let Some(n) = raw.max_conflict_count {
        match u32::try_from(n) {
            Ok(n) => c.max_conflict_count = n,
            Err(_) => report.error(
                &key("max_conflict_count"),
                format!("{n} is out of range: expected 0 or more"),
            ),
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_parse() {
        assert_eq!(parse_millis(&RawDuration::Text("500ms".into())), Some(500));
        assert_eq!(parse_millis(&RawDuration::Text("2s".into())), Some(2_000));
        assert_eq!(parse_millis(&RawDuration::Seconds(250)), Some(250));
        assert_eq!(parse_millis(&RawDuration::Text("x".into())), None);
    }
}
