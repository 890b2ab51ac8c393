//! The one place the server reads the wall clock; the engine gets `now` from here.

use std::time::{SystemTime, UNIX_EPOCH};

use hyperdhcp_engine::UnixTime;

/// Current Unix time in whole seconds (0 if the clock is before 1970).
pub fn now() -> UnixTime {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_after_2020() {
        assert!(super::now() > 1_577_836_800);
    }
}
