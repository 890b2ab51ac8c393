//! The runtime shell around the sans-I/O engine: sockets, the serving loop, the commit
//! pipeline, conflict probes. A plain thread: no async runtime, no HTTP; the binary starts it
//! and reaches it only through the doors of `hyperdhcp-control` ([`Doors`]).
//!
//! Data flow (one thread): per configured interface a UDP socket on `0.0.0.0:67` bound to that
//! device (`socket`) → `poll` → `recvmmsg` into preallocated buffers ([`sys`]) →
//! `hyperdhcp_wire::Message::parse` → `Engine::handle` → a `batch::Batch` collecting replies
//! and lease changes → `sendmmsg` of the replies that need no commit (OFFER, NAK) → the batch
//! goes to the committer thread (`commit`) for ONE `LeaseStore::commit` → back in the loop,
//! `sendmmsg` of its ACKs, only after the commit returned (an ACK never leaves before its lease
//! is durable; if the commit fails, the batch's ACKs are dropped and counted). Commits are
//! pipelined: while batch N is fsynced the loop keeps reading and deciding batch N+1, which is
//! committed as one transaction as soon as N is back (one commit in flight, in order), so one
//! fsync covers whatever arrived during the previous one. Every second `Engine::expire` adds
//! its changes to the next commit. The shutdown flag finishes the batch in hand and returns.
//! The clock is read only in `clock`.
//!
//! Doors ([`Doors`]): commands come in through a bounded queue drained once per turn (a
//! reload brings a configuration already validated off the loop); the loop's `emit::Emitter`
//! turns decisions into events (lease changes only after their commit) and `try_send`s them
//! onto the bounded bus of `hyperdhcp-events`; counters, histograms and the pool snapshot
//! (`poolwalk`) go to `hyperdhcp_control::Telemetry`, which the metrics listener reads.
//!
//! Conflict detection (`probing` over `probe`): an OFFER of a dynamic address is parked while
//! an ARP probe (local links) or ICMP echo (relayed) runs on sockets opened once at start-up;
//! the loop polls their descriptors with the DHCP sockets and goes on serving. A timeout
//! releases the OFFER; an answer records a conflict in the engine (persisted through the
//! committer thread) and the DISCOVER is handled again. A reload can bring the store's
//! conflict records with it (so `hyperdhcp conflicts clear` applies without a restart).
//!
//! Interface set changes on reload: sockets are opened for added interfaces and closed for
//! removed ones; if a new socket cannot be opened, the whole reload is refused and the old
//! config stays. `store.path` changes need a restart.

#![deny(unsafe_code)]

mod batch;
mod clock;
mod commit;
mod dropwarn;
mod emit;
mod history;
mod logfmt;
mod overload;
mod poolwalk;
mod probe;
mod probing;
mod ratelimit;
mod server;
mod socket;
pub mod sys;

use std::io;
use std::path::PathBuf;

use hyperdhcp_store::StoreError;

pub use server::{Doors, Server};

/// Why the server could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The lease database could not be opened.
    #[error("cannot open the {source}")]
    StoreOpen {
        /// Database path.
        path: PathBuf,
        /// Cause (its message names the path). Boxed: StoreError is large.
        #[source]
        source: Box<StoreError>,
    },
    /// Reading the leases back failed.
    #[error("cannot load leases from the {source}")]
    StoreLoad {
        /// Database path.
        path: PathBuf,
        /// Cause (its message names the path). Boxed: StoreError is large.
        #[source]
        source: Box<StoreError>,
    },
    /// `server.interfaces` is empty.
    #[error("no interfaces to listen on: set server.interfaces")]
    NoInterfaces,
    /// A configured interface does not exist in this network namespace.
    #[error("interface {interface} does not exist")]
    NoSuchInterface {
        /// The configured name.
        interface: String,
    },
    /// Setting up the socket of an interface failed.
    #[error("interface {interface}: cannot {what}: {source}")]
    Socket {
        /// The interface.
        interface: String,
        /// The step that failed.
        what: &'static str,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// getifaddrs failed.
    #[error("cannot read interface addresses: {0}")]
    InterfaceAddrs(#[source] io::Error),
    /// The committer thread (or its wake-up socket pair) could not be created.
    #[error("cannot start the lease committer thread: {0}")]
    Committer(#[source] io::Error),
    /// poll() on the sockets failed.
    #[error("poll on the DHCP sockets failed: {0}")]
    Poll(#[source] io::Error),
}
