//! The sans-I/O DHCPv4 engine: holds the validated configuration, owns the lease table, the pools'
//! free lists and the reservations, and turns one parsed request plus the current time into a
//! [`Decision`] (an optional reply and the lease changes that must be made durable before that
//! reply is sent). No sockets, no disk, no clock reads: the server shell feeds it
//! `hyperdhcp_wire::Message`s and `now`, commits `Decision::changes` through the store, then
//! sends `Decision::reply`.
//!
//! The validated configuration it runs on comes from `hyperdhcp-config`.
//!
//! Map: [`lease`] (records), [`decision`] (what a
//! request produces), [`engine`] (dispatch + shared allocation rules), [`classes`] (client classes), [`explain`]
//! (why a request gets what it gets). Internals: `table`
//! (leases and offers indexed by IP and client), `pool` (bitmap + reuse-queue allocator,
//! reservations), `select` (subnet and server-id choice), `reply` (encoding and RFC 2131 §4.1
//! addressing), `conflict` (addresses found in use, held back from allocation), and one module
//! per message: `discover`, `request`, `decline`, `release`,
//! `inform`.

#![forbid(unsafe_code)]

pub mod classes;
pub mod conflict;
pub mod decision;
pub mod engine;
pub mod explain;
pub mod lease;

mod bootp;
mod decline;
mod discover;
mod inform;
mod pool;
mod release;
mod reply;
mod request;
mod select;
mod table;

pub use conflict::{Conflict, ConflictChange, ConflictEventKind, ConflictMethod};
pub use decision::{Decision, IgnoreReason, Outcome, Reply, ReplyDest, RequestContext};
pub use engine::Engine;
pub use explain::{ExplainedOption, Explanation};
pub use lease::{HwAddr, Lease, LeaseChange, LeaseFqdn, LeaseState, UnixTime};
