//! The one place the server reads the wall clock; the engine gets `now` from here.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hyperdhcp_engine::UnixTime;

/// Current Unix time in whole seconds (0 if the clock is before 1970).
pub fn now() -> UnixTime {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds on a monotonic clock since its first use in this process (probe deadlines).
pub fn mono_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_after_2020() {
        assert!(super::now() > 1_577_836_800);
    }
}
