//! The observability HTTP listener: `/metrics` (OpenMetrics text), `/healthz` (the process
//! answers) and `/readyz` (store loaded, sockets open). HTTP/1.1 only, on the binary's runtime.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::registry::Registry;

use hyperdhcp_control::Telemetry;

use crate::metrics::{registry, render};

/// Path of the metrics exposition.
pub const METRICS_PATH: &str = "/metrics";
/// Path of the liveness probe.
pub const HEALTH_PATH: &str = "/healthz";
/// Path of the readiness probe.
pub const READY_PATH: &str = "/readyz";
/// Content type of the OpenMetrics text format prometheus-client writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves connections from `listener` until the runtime stops.
pub async fn serve(listener: tokio::net::TcpListener, telemetry: Arc<Telemetry>) {
    let registry = Arc::new(registry(&telemetry));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "metrics accept failed");
                continue;
            }
        };
        let (registry, telemetry) = (Arc::clone(&registry), Arc::clone(&telemetry));
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let reply = respond(&req, &registry, &telemetry);
                async move { Ok::<_, Infallible>(reply) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "metrics connection ended with an error");
            }
        });
    }
}

fn respond(
    req: &Request<Incoming>,
    registry: &Registry,
    telemetry: &Telemetry,
) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *r.status_mut() = status;
        r
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
    }
    match req.uri().path() {
        METRICS_PATH => {
            let mut r = Response::new(Full::new(Bytes::from(render(registry))));
            if let Ok(v) = hyper::header::HeaderValue::from_str(OPENMETRICS) {
                r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
            }
            r
        }
        HEALTH_PATH => text(StatusCode::OK, "ok\n"),
        READY_PATH if telemetry.ready.load(Ordering::Relaxed) => text(StatusCode::OK, "ready\n"),
        READY_PATH => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}
