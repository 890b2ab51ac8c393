//! The doors of the serving loop: the only ways other crates (the binary's reload thread, the
//! metrics/health listener, later the API, HA and DDNS) reach it, none of which can make the
//! loop wait.
//!
//! Map:
//! * [`command`] — in: the bounded [`CommandQueue`] of [`Command`]s (reload, clear a
//!   conflict), each with a [`Reply`]; a full queue refuses at once.
//! * [`counters`] — out: the loop's lock-free packet [`Counters`] (received, sent, dropped by
//!   [`DropReason`], probes).
//! * [`telemetry`] — out: [`Telemetry`], what the loop publishes for readers: latency
//!   histograms, the per-pool snapshot, readiness, and the event bus's [`EventStats`].
//!
//! The loop writes these with relaxed atomics or an `ArcSwap`; readers never lock anything the
//! loop holds.

#![forbid(unsafe_code)]

pub mod command;
pub mod counters;
pub mod telemetry;

pub use command::{Command, CommandQueue, CommandSender, Reply, ReplyReceiver, SendError};
pub use counters::{Counters, DropReason, MESSAGE_TYPE_SLOTS, ProbeResult};
pub use telemetry::{
    AtomicHistogram, BATCH_SIZE_BUCKETS, EventStats, LATENCY_BUCKETS, PoolStat, Telemetry,
};
