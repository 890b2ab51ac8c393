//! The runtime shell around the sans-I/O engine: sockets, the serving loop, signals.
//!
//! Data flow (one thread): per configured interface a UDP socket on `0.0.0.0:67` bound to that
//! device ([`socket`]) → `poll` → `recvmmsg` into preallocated buffers ([`sys`]) →
//! `hyperdhcp_wire::Message::parse` → `Engine::handle` → a [`batch::Batch`] collecting replies
//! and lease changes → `sendmmsg` of the replies that need no commit (OFFER, NAK) → the batch
//! goes to the committer thread ([`commit`]) for ONE `LeaseStore::commit` → back in the loop,
//! `sendmmsg` of its ACKs, only after the commit returned (an ACK never leaves before its lease
//! is durable; if the commit fails, the batch's ACKs are dropped and counted). Commits are
//! pipelined: while batch N is fsynced the loop keeps reading and deciding batch N+1, which is
//! committed as one transaction as soon as N is back (one commit in flight, in order), so one
//! fsync covers whatever arrived during the previous one. Every
//! second `Engine::expire` adds its changes to the next commit. SIGTERM/SIGINT finish the batch
//! in hand and return; SIGHUP re-reads the config file ([`server::Server`]). Counters live in
//! [`counters::Counters`]; the clock is read only in [`clock`].
//!
//! Hooks and metrics ([`observe`]) run on a separate thread with a small tokio runtime: the
//! loop's [`emit::Emitter`] turns decisions into events (lease changes only after their commit)
//! and `try_send`s them onto the bounded bus of `hyperdhcp-events`; [`metrics`] reads the
//! loop's atomics at scrape time and [`http`] serves `/metrics`, `/healthz`, `/readyz`.
//!
//! Conflict detection (issue 5, [`probing`] over [`probe`]): an OFFER of a dynamic address is
//! parked while an ARP probe (local links) or ICMP echo (relayed) runs on sockets opened once at
//! start-up; the loop polls their descriptors with the DHCP sockets and goes on serving. A
//! timeout releases the OFFER; an answer records a conflict in the engine (persisted through
//! the committer thread) and the DISCOVER is handled again. SIGHUP also re-reads the store's
//! conflict records (so `hyperdhcp conflicts clear` applies without a restart).
//!
//! Interface set changes on reload: sockets are opened for added interfaces and closed for
//! removed ones; if a new socket cannot be opened, the whole reload is refused and the old
//! config stays. `store.path` changes need a restart.

#![deny(unsafe_code)]

pub mod batch;
pub mod clock;
pub mod commit;
pub mod counters;
mod dropwarn;
pub mod emit;
pub mod history;
pub mod http;
pub mod logfmt;
pub mod metrics;
pub mod observe;
pub mod overload;
pub mod probe;
pub mod probing;
pub mod ratelimit;
pub mod server;
pub mod socket;
pub mod sys;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use hyperdhcp_config::Config;
use hyperdhcp_store::{SqliteStore, StoreError};

pub use counters::{Counters, DropReason};
pub use server::{Control, Server};

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
    /// Installing the SIGTERM/SIGINT/SIGHUP handlers failed.
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] io::Error),
    /// The committer thread (or its wake-up socket pair) could not be created.
    #[error("cannot start the lease committer thread: {0}")]
    Committer(#[source] io::Error),
    /// poll() on the sockets failed.
    #[error("poll on the DHCP sockets failed: {0}")]
    Poll(#[source] io::Error),
}

/// Runs the DHCP server until SIGTERM or SIGINT: opens the SQLite store at
/// `config.store.path`, loads the leases, opens the sockets and serves. `config_path` is
/// re-read on SIGHUP (ignored when `None`). Returns `Ok(())` after a clean shutdown: the batch
/// in hand is committed and answered first. A second SIGTERM/SIGINT during shutdown exits
/// the process at once.
pub fn serve(config: Config, config_path: Option<PathBuf>) -> Result<(), ServerError> {
    let path = config.store.path.clone();
    let store = SqliteStore::open(&path).map_err(|source| ServerError::StoreOpen {
        path,
        source: Box::new(source),
    })?;
    let control = Control::default();
    let ids = install_signals(&control).map_err(ServerError::Signals)?;
    // Hooks and metrics first, so /healthz answers (and /readyz says "not ready") while the
    // leases load. Hook changes on SIGHUP need a restart.
    let telemetry = Arc::new(metrics::Telemetry::new(
        Arc::new(Counters::default()),
        Arc::new(hyperdhcp_events::EventStats::default()),
    ));
    let (observer, events) = observe::start(&config, &telemetry);
    let result = Server::start(config, config_path, Box::new(store)).and_then(|mut server| {
        server.attach(Arc::clone(&telemetry), events);
        telemetry
            .ready
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let result = server.run(&control);
        telemetry
            .ready
            .store(false, std::sync::atomic::Ordering::Relaxed);
        result
    });
    drop(observer);
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    result
}

/// SIGTERM/SIGINT set `shutdown` (a second one while it is set exits with status 1); SIGHUP
/// sets `reload`.
fn install_signals(control: &Control) -> io::Result<Vec<signal_hook::SigId>> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::flag;
    let mut ids = Vec::new();
    for sig in [SIGTERM, SIGINT] {
        // Order matters: the conditional exit must see the flag as it was before this signal.
        ids.push(flag::register_conditional_shutdown(
            sig,
            1,
            Arc::clone(&control.shutdown),
        )?);
        ids.push(flag::register(sig, Arc::clone(&control.shutdown))?);
    }
    ids.push(flag::register(SIGHUP, Arc::clone(&control.reload))?);
    Ok(ids)
}
