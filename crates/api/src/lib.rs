//! The HTTP side of hyperdhcp: today the observability listener (`/metrics` in OpenMetrics
//! text, `/healthz`, `/readyz`); the REST control plane joins it here.
//!
//! It reads only what the serving loop publishes through `hyperdhcp-control` (counters,
//! histograms, the pool snapshot, readiness) and runs on the binary's tokio runtime, so a
//! scrape never touches the serving thread.
//!
//! Map: [`http`] (the listener and its routes), [`metrics`] (the Prometheus collector and
//! the text rendering).

#![forbid(unsafe_code)]

pub mod http;
pub mod metrics;

pub use http::{HEALTH_PATH, METRICS_PATH, READY_PATH, serve};
