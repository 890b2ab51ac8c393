//! Load generator behind `hyperdhcp bench`: simulates many DHCP clients doing full DORA
//! (DISCOVER → OFFER → REQUEST → ACK), optionally renewals and releases, at a fixed rate or
//! as fast as a window of in-flight exchanges allows, and reports rates, loss and latency.
//!
//! Data flow: [`BenchArgs`] (clap) → [`run`] opens one UDP socket (relay mode: LOCAL:67 with
//! giaddr = LOCAL like perfdhcp; broadcast mode: 0.0.0.0:68 bound to an interface) → the
//! generator loop builds requests with `hyperdhcp_wire::MessageBuilder`, sends them in batches
//! with `sendmmsg`, receives replies with `recvmmsg`, parses them with
//! `hyperdhcp_wire::Message`, matches them to clients by xid → [`BenchReport`], printed for
//! humans or as JSON.
//!
//! Modules: `args` (options), `ident` (MACs and xids), `pacing` (rate schedule), `latency`
//! (percentiles), `report` (results), `generator` (the loop), `sys` (the only unsafe code:
//! batched socket syscalls).
#![deny(unsafe_code)]

mod args;
mod generator;
pub mod ident;
pub mod latency;
pub mod pacing;
mod report;
pub mod sys;

use std::path::PathBuf;

pub use args::{BenchArgs, DEFAULT_TIMEOUT_MS, Mode};
pub use generator::run;
pub use latency::LatencySummary;
pub use report::BenchReport;

/// Why a benchmark run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The options do not describe a runnable test.
    #[error("invalid bench options: {0}")]
    InvalidArgs(String),
    /// A socket call failed.
    #[error("bench socket: {what}: {source}")]
    Socket {
        /// Which call.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The ACK log could not be opened or written.
    #[error("ack log {}: {source}", path.display())]
    AckLog {
        /// The log file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
