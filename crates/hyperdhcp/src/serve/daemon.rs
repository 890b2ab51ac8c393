//! Composes the daemon: opens the store, creates the doors of the serving loop, starts the
//! async runtime (hooks, metrics listener), installs the signals, runs the loop on this thread
//! and, on SIGHUP, reloads the configuration on a thread of its own, off the loop.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use anyhow::Context;
use hyperdhcp_config::Config;
use hyperdhcp_control::{Command, CommandQueue, CommandSender, Counters, Reply, Telemetry};
use hyperdhcp_events::EventStats;
use hyperdhcp_server::{Doors, Server, ServerError};
use hyperdhcp_store::SqliteStore;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use super::runtime;

/// Commands the serving loop's queue holds; a sender finding it full is refused at once.
const COMMAND_QUEUE_CAPACITY: usize = 64;

/// Runs the DHCP server until SIGTERM or SIGINT: opens the SQLite store at
/// `config.store.path`, loads the leases, opens the sockets and serves. `config_path` is
/// re-read on SIGHUP (ignored when `None`). Returns after a clean shutdown: the batch in hand
/// is committed and answered first. A second SIGTERM/SIGINT during shutdown exits the process
/// at once.
pub fn serve(config: Config, config_path: Option<PathBuf>) -> anyhow::Result<()> {
    let store_path = config.store.path.clone();
    let store = SqliteStore::open(&store_path).map_err(|source| ServerError::StoreOpen {
        path: store_path.clone(),
        source: Box::new(source),
    })?;
    let shutdown = Arc::new(AtomicBool::new(false));
    let ids = install_shutdown(&shutdown).context("cannot install signal handlers")?;
    let (commands, queue) =
        CommandQueue::bounded(COMMAND_QUEUE_CAPACITY).context("cannot create the command queue")?;
    let reloader = Reloader::start(config_path, store_path, commands)
        .context("cannot start the reload thread")?;
    // Hooks and metrics first, so /healthz answers (and /readyz says "not ready") while the
    // leases load. Hook changes on SIGHUP need a restart.
    let telemetry = Arc::new(Telemetry::new(
        Arc::new(Counters::default()),
        Arc::new(EventStats::default()),
    ));
    let (observer, events) = runtime::start(&config, &telemetry);
    let doors = Doors {
        commands: queue,
        telemetry: Arc::clone(&telemetry),
        events,
    };
    let result = Server::start(config, Box::new(store), doors).and_then(|mut server| {
        telemetry.ready.store(true, Ordering::Relaxed);
        let result = server.run(&shutdown);
        telemetry.ready.store(false, Ordering::Relaxed);
        result
    });
    reloader.stop();
    drop(observer);
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    Ok(result?)
}

/// SIGTERM/SIGINT set `shutdown`; a second one while it is set exits with status 1.
fn install_shutdown(shutdown: &Arc<AtomicBool>) -> std::io::Result<Vec<signal_hook::SigId>> {
    use signal_hook::flag;
    let mut ids = Vec::new();
    for sig in [SIGTERM, SIGINT] {
        // Order matters: the conditional exit must see the flag as it was before this signal.
        ids.push(flag::register_conditional_shutdown(
            sig,
            1,
            Arc::clone(shutdown),
        )?);
        ids.push(flag::register(sig, Arc::clone(shutdown))?);
    }
    Ok(ids)
}

// === reload ===

/// The SIGHUP thread: reads and validates the configuration file and the store's conflict
/// records, then hands both to the serving loop as one [`Command::Reload`].
struct Reloader {
    handle: Handle,
    thread: JoinHandle<()>,
}

impl Reloader {
    fn start(
        config_path: Option<PathBuf>,
        store_path: PathBuf,
        commands: CommandSender,
    ) -> std::io::Result<Self> {
        let mut signals = Signals::new([SIGHUP])?;
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("hyperdhcp-reload".into())
            .spawn(move || {
                for _ in signals.forever() {
                    reload(config_path.as_ref(), &store_path, &commands);
                }
            })?;
        Ok(Self { handle, thread })
    }

    /// Ends the thread (after a reload in progress) and restores SIGHUP's handling.
    fn stop(self) {
        self.handle.close();
        let _ = self.thread.join();
    }
}

/// One SIGHUP: a broken file or a refused reload keeps the old configuration and logs why.
fn reload(config_path: Option<&PathBuf>, store_path: &Path, commands: &CommandSender) {
    let Some(path) = config_path else {
        tracing::warn!("SIGHUP ignored: the server was started without a config file path");
        return;
    };
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            // One log line: the errors joined with "; " (Display puts one per line).
            let list = errors.0.iter().map(ToString::to_string).collect::<Vec<_>>();
            tracing::error!("reload failed, keeping the old config: {}", list.join("; "));
            return;
        }
    };
    // Re-read here, not on the loop, so `hyperdhcp conflicts clear` applies on SIGHUP.
    let conflicts = match SqliteStore::open_read_only(store_path).and_then(|mut s| {
        use hyperdhcp_store::LeaseStore;
        s.load_conflicts()
    }) {
        Ok(records) => Some(records),
        Err(e) => {
            tracing::warn!(error = %e, "keeping the conflict records in memory");
            None
        }
    };
    let (reply, answer) = Reply::channel();
    let command = Command::Reload {
        config: Arc::new(config),
        conflicts,
        reply,
    };
    if let Err(e) = commands.send(command) {
        tracing::error!("reload failed, keeping the old config: {e}");
        return;
    }
    // The loop logs the outcome; waiting keeps reloads in order.
    if let Ok(Ok(())) = answer.blocking_recv() {
        tracing::debug!(path = %path.display(), "reload applied");
    }
}
