//! Lease and conflict events and what reacts to them, kept away from the DHCP path.
//!
//! Data flow: the serving thread turns engine decisions into [`Event`]s (only kinds some hook
//! wants, see [`EventSender::wants`]) and [`EventSender::publish`]es them onto a bounded bus —
//! `try_send`, never waiting; a full bus drops and counts ([`EventStats`]). On the hook runtime
//! (a tokio runtime on its own thread, owned by the server) [`dispatch`] fans each event out to
//! the matching hooks, each with its own bounded queue: [`script`] hooks run a program per
//! event (shared worker pool, timeout kills the process group, `HYPERDHCP_*` environment, JSON
//! on stdin, stderr to the log) and [`webhook`]s POST JSON (pooled client, HMAC signature,
//! retries with exponential backoff, Slack/Teams templates). Nothing here can stall or fail
//! the serving loop.

#![forbid(unsafe_code)]

pub mod bus;
pub mod dispatch;
pub mod event;
pub mod script;
pub mod webhook;

pub use bus::{EventReceiver, EventSender, EventStats, bus};
pub use dispatch::{dispatch, hooks_mask};
pub use event::{Event, EventKind, EventMask};
