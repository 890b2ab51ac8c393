//! The sans-I/O DHCPv4 engine: owns the validated configuration, the lease table, the pools'
//! free lists and the reservations, and turns one parsed request plus the current time into a
//! [`Decision`] (an optional reply and the lease changes that must be made durable before that
//! reply is sent). No sockets, no disk, no clock reads: the server shell feeds it
//! `hyperdhcp_wire::Message`s and `now`, commits `Decision::changes` through the store, then
//! sends `Decision::reply`.

#![forbid(unsafe_code)]

pub mod config;
pub mod decision;
pub mod engine;
pub mod lease;

pub use config::{Config, ConfigError, ConfigErrors};
pub use decision::{Decision, IgnoreReason, Outcome, Reply, ReplyDest, RequestContext};
pub use engine::Engine;
pub use lease::{HwAddr, Lease, LeaseChange, LeaseState, UnixTime};
