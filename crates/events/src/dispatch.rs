//! The hook side of the bus: one dispatcher task fans each event out to the hooks whose
//! patterns match, through one bounded queue per hook (a slow hook fills only its own queue);
//! scripts share a pool of `events.script_workers` slots, each webhook has its own.

use std::sync::Arc;

use hyperdhcp_config::{EventsConfig, HooksConfig};
use tokio::sync::{Semaphore, mpsc};

use crate::bus::{EventReceiver, EventStats};
use crate::event::{Event, EventMask, mask_for};
use crate::script::{ScriptError, run_script};
use crate::webhook::Webhook;

/// Deliveries in flight per webhook.
pub const WEBHOOK_CONCURRENCY: usize = 4;

/// Every kind some configured hook wants (the serving loop builds no other events).
pub fn hooks_mask(hooks: &HooksConfig) -> EventMask {
    let scripts = hooks.scripts.iter().map(|h| mask_for(&h.events));
    let webhooks = hooks.webhooks.iter().map(|h| mask_for(&h.events));
    scripts.chain(webhooks).fold(0, |m, k| m | k)
}

/// One hook's queue as the dispatcher sees it.
struct Route {
    mask: EventMask,
    tx: mpsc::Sender<Arc<Event>>,
}

/// Runs until the bus's sender is dropped: starts one worker task per hook and fans events
/// out to them. Call inside a tokio runtime.
pub async fn dispatch(
    mut bus: EventReceiver,
    hooks: HooksConfig,
    events: EventsConfig,
    stats: Arc<EventStats>,
) {
    let scripts = Arc::new(Semaphore::new(events.script_workers.max(1)));
    let client = reqwest::Client::builder().build().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "webhook client with default settings");
        reqwest::Client::new()
    });
    let mut routes = Vec::new();
    for hook in hooks.scripts {
        let (tx, mut rx) = mpsc::channel::<Arc<Event>>(events.queue.max(1));
        routes.push(Route {
            mask: mask_for(&hook.events),
            tx,
        });
        let pool = Arc::clone(&scripts);
        let stats = Arc::clone(&stats);
        let hook = Arc::new(hook);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Ok(permit) = Arc::clone(&pool).acquire_owned().await else {
                    return;
                };
                let (hook, stats) = (Arc::clone(&hook), Arc::clone(&stats));
                tokio::spawn(async move {
                    let _slot = permit;
                    match run_script(&hook, &event).await {
                        Ok(()) => EventStats::bump(&stats.script_ok),
                        Err(e) => {
                            EventStats::bump(&stats.script_failures);
                            if matches!(e, ScriptError::Timeout { .. }) {
                                EventStats::bump(&stats.script_timeouts);
                            }
                            tracing::warn!(event = event.kind.as_str(), ip = %event.ip, error = %e, "script hook failed");
                        }
                    }
                });
            }
        });
    }
    for hook in hooks.webhooks {
        let (tx, mut rx) = mpsc::channel::<Arc<Event>>(events.queue.max(1));
        routes.push(Route {
            mask: mask_for(&hook.events),
            tx,
        });
        let slots = Arc::new(Semaphore::new(WEBHOOK_CONCURRENCY));
        let stats = Arc::clone(&stats);
        let hook = Arc::new(Webhook::new(hook, client.clone()));
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                    return;
                };
                let (hook, stats) = (Arc::clone(&hook), Arc::clone(&stats));
                tokio::spawn(async move {
                    let _slot = permit;
                    let retried = || EventStats::bump(&stats.webhook_retries);
                    match hook.deliver(&event, retried).await {
                        Ok(()) => EventStats::bump(&stats.webhook_ok),
                        Err(e) => {
                            EventStats::bump(&stats.webhook_failures);
                            tracing::warn!(event = event.kind.as_str(), ip = %event.ip, error = %e, "webhook failed");
                        }
                    }
                });
            }
        });
    }
    while let Some(event) = bus.rx.recv().await {
        let event = Arc::new(event);
        for route in &routes {
            if route.mask & event.kind.bit() != 0 && route.tx.try_send(Arc::clone(&event)).is_err()
            {
                EventStats::bump(&stats.dropped_hook);
            }
        }
    }
}
