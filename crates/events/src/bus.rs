//! The bounded bus between the serving thread and the hook runtime: `try_send` only, so the
//! serving loop never waits; a full queue drops the event, counts it and warns (rate-limited).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::event::{Event, EventKind, EventMask};
pub use hyperdhcp_control::EventStats;

/// Shortest gap between two "event queue full" warnings.
pub const DROP_WARN_INTERVAL: Duration = Duration::from_secs(10);

/// The serving thread's end of the bus.
#[derive(Debug)]
pub struct EventSender {
    tx: mpsc::Sender<Event>,
    /// Kinds some hook wants; events of other kinds are never built.
    mask: EventMask,
    stats: Arc<EventStats>,
    /// Earliest time the next "queue full" warning may be logged.
    next_warn: Option<Instant>,
}

/// The hook runtime's end of the bus.
#[derive(Debug)]
pub struct EventReceiver {
    /// Events in arrival order.
    pub rx: mpsc::Receiver<Event>,
}

/// A bus holding at most `capacity` events, for hooks wanting the kinds in `mask`.
pub fn bus(
    capacity: usize,
    mask: EventMask,
    stats: Arc<EventStats>,
) -> (EventSender, EventReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        EventSender {
            tx,
            mask,
            stats,
            next_warn: None,
        },
        EventReceiver { rx },
    )
}

impl EventSender {
    /// True when some hook wants events of `kind` (check before building one).
    pub fn wants(&self, kind: EventKind) -> bool {
        self.mask & kind.bit() != 0
    }

    /// Shared counters.
    pub fn stats(&self) -> &Arc<EventStats> {
        &self.stats
    }

    /// Queues `event` without waiting; a full (or closed) queue drops it, counts it and
    /// logs a warning at most every [`DROP_WARN_INTERVAL`].
    pub fn publish(&mut self, event: Event) {
        match self.tx.try_send(event) {
            Ok(()) => EventStats::bump(&self.stats.published),
            Err(e) => {
                EventStats::bump(&self.stats.dropped_bus);
                let now = Instant::now();
                if self.next_warn.is_none_or(|t| now >= t) {
                    let why = match e {
                        mpsc::error::TrySendError::Full(_) => "event queue full (hooks too slow)",
                        mpsc::error::TrySendError::Closed(_) => "hook runtime stopped",
                    };
                    tracing::warn!(
                        dropped_total = EventStats::get(&self.stats.dropped_bus),
                        "dropping events: {why}; raise events.queue or speed up the hooks"
                    );
                    self.next_warn = Some(now + DROP_WARN_INTERVAL);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::sample;

    #[test]
    fn full_bus_drops_and_counts_without_blocking() {
        let stats = Arc::new(EventStats::default());
        let (mut tx, mut rx) = bus(2, EventKind::LeaseAck.bit(), Arc::clone(&stats));
        assert!(tx.wants(EventKind::LeaseAck));
        assert!(!tx.wants(EventKind::LeaseOffer));
        for _ in 0..5 {
            tx.publish(sample());
        }
        assert_eq!(EventStats::get(&stats.published), 2);
        assert_eq!(EventStats::get(&stats.dropped_bus), 3);
        assert!(rx.rx.try_recv().is_ok());
        tx.publish(sample());
        assert_eq!(EventStats::get(&stats.published), 3);
        drop(rx);
        tx.publish(sample());
        assert_eq!(EventStats::get(&stats.dropped_bus), 4);
    }
}
