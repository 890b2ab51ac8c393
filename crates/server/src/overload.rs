//! Overload shedding: under more load than the server can answer, finish what is started.
//!
//! When requests arrive faster than the serving loop can answer them, the socket's receive
//! queue fills and the kernel drops whatever arrives next, DISCOVERs and REQUESTs alike. A
//! dropped REQUEST throws away the work already spent on its DISCOVER (and the address held
//! for its OFFER), so the share of completed exchanges falls as the offered load rises: at
//! about twice its capacity the server completed only two thirds of what it could
//! (docs/benchmarks.md). While a socket's queue is more than half full, the loop therefore
//! drops DISCOVERs after parsing them (counted as `overload_shed`) and keeps answering
//! everything else: REQUESTs of exchanges already offered, renewals, releases, declines,
//! INFORMs. A client whose DISCOVER was shed retransmits it (RFC 2131 §4.1: with a randomized
//! exponential backoff, starting around 4 s), by when the queue has drained. Shedding stops
//! once the queue is below an eighth of the buffer; the gap between the two marks keeps it from
//! switching on and off with every batch.

/// Least queue, in bytes, that counts as overload whatever the buffer size: with a very small
/// `server.receive_buffer` a handful of waiting requests is not yet a reason to drop any.
pub const MIN_SHED_QUEUE: u32 = 64 * 1024;

/// The next shedding state of a socket whose receive queue holds `queued` bytes of a `limit`
/// (both in the kernel's accounting, from `SO_MEMINFO`): on above one half (and at least
/// [`MIN_SHED_QUEUE`]), off below one eighth, unchanged in between.
pub fn next_state(shedding: bool, queued: u32, limit: u32) -> bool {
    let queued = u64::from(queued);
    let limit = u64::from(limit);
    if limit == 0 {
        return false;
    }
    if queued * 2 > limit && queued >= u64::from(MIN_SHED_QUEUE) {
        true
    } else if queued * 8 < limit {
        false
    } else {
        shedding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_on_above_half_and_off_below_an_eighth() {
        let limit = 8_000_000;
        assert!(!next_state(false, 3_000_000, limit));
        assert!(next_state(false, 4_000_001, limit));
        // Between the marks the state holds, either way.
        assert!(next_state(true, 2_000_000, limit));
        assert!(!next_state(false, 2_000_000, limit));
        assert!(next_state(true, 1_000_000, limit));
        assert!(!next_state(true, 999_999, limit));
        // A socket without a limit (or an unreadable one) never sheds.
        assert!(!next_state(true, 10, 0));
        // A tiny buffer does not shed for a few waiting requests.
        assert!(!next_state(false, 6_000, 8_192));
        assert!(next_state(false, MIN_SHED_QUEUE, MIN_SHED_QUEUE + 1));
    }
}
