//! The process's one async runtime: a thread running a small tokio runtime for the event
//! dispatcher, the script and webhook hooks and the metrics/health HTTP listener, so none of
//! it runs on (or can block) the serving thread.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyperdhcp_config::Config;
use hyperdhcp_control::Telemetry;
use hyperdhcp_events::{EventSender, bus, dispatch, hooks_mask};
use tokio::sync::oneshot;

/// Worker threads of the hook runtime: one can wait on a slow hook while the other answers
/// a scrape.
pub const RUNTIME_WORKERS: usize = 2;
/// How long shutdown waits for running hook tasks before dropping them (killing scripts).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The running hook runtime; dropping it stops the runtime (running scripts are killed).
#[derive(Debug, Default)]
pub struct Observer {
    thread: Option<JoinHandle<()>>,
    stop: Option<oneshot::Sender<()>>,
}

/// Starts the hook runtime for `config`: the bus and dispatcher when hooks are configured,
/// the HTTP listener when `metrics.enabled`. Returns the serving thread's end of the bus.
/// Failures (listener address in use, no threads) are logged: DHCP serves without them.
pub fn start(config: &Config, telemetry: &Arc<Telemetry>) -> (Observer, Option<EventSender>) {
    let listener = if config.metrics.enabled {
        match std::net::TcpListener::bind(config.metrics.listen)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
        {
            Ok(l) => {
                tracing::info!(listen = %config.metrics.listen, "serving /metrics, /healthz, /readyz");
                Some(l)
            }
            Err(e) => {
                tracing::error!(listen = %config.metrics.listen, error = %e, "cannot open the metrics listener; serving DHCP without it");
                None
            }
        }
    } else {
        None
    };
    let (sender, receiver) = if config.hooks.is_empty() {
        (None, None)
    } else {
        let (tx, rx) = bus(
            config.events.queue,
            hooks_mask(&config.hooks),
            Arc::clone(&telemetry.events),
        );
        (Some(tx), Some(rx))
    };
    if listener.is_none() && receiver.is_none() {
        return (Observer::default(), None);
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let hooks = config.hooks.clone();
    let events = config.events.clone();
    let telemetry = Arc::clone(telemetry);
    let spawned = std::thread::Builder::new()
        .name("hyperdhcp-hooks".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(RUNTIME_WORKERS)
                .thread_name("hyperdhcp-hooks")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the hook runtime; hooks and metrics are off");
                    return;
                }
            };
            rt.block_on(async move {
                if let Some(rx) = receiver {
                    let stats = Arc::clone(&telemetry.events);
                    tokio::spawn(dispatch(rx, hooks, events, stats));
                }
                if let Some(l) = listener {
                    match tokio::net::TcpListener::from_std(l) {
                        Ok(l) => {
                            tokio::spawn(hyperdhcp_api::serve(l, telemetry));
                        }
                        Err(e) => tracing::error!(error = %e, "metrics listener unusable"),
                    }
                }
                let _ = stopped.await;
            });
            rt.shutdown_timeout(SHUTDOWN_GRACE);
        });
    match spawned {
        Ok(thread) => (
            Observer {
                thread: Some(thread),
                stop: Some(stop),
            },
            sender,
        ),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the hook thread; hooks and metrics are off");
            (Observer::default(), None)
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
