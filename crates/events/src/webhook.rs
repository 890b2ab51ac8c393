//! Webhooks: POST of the event (or a Slack/Teams payload) with `X-Hyperdhcp-Event`, an optional
//! HMAC-SHA256 signature, a per-attempt timeout and bounded exponential-backoff retries.

use std::time::Duration;

use hmac::{Hmac, Mac};
use hyperdhcp_config::{WebhookConfig, WebhookTemplate, redact_url};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::event::Event;

/// Header naming the event (`lease.ack`).
pub const EVENT_HEADER: &str = "X-Hyperdhcp-Event";
/// Header carrying `sha256=<hex HMAC of the body>` when the webhook has a secret.
pub const SIGNATURE_HEADER: &str = "X-Hyperdhcp-Signature";
/// Prefix of the signature header value.
pub const SIGNATURE_PREFIX: &str = "sha256=";
/// Wait before the first retry; doubles per attempt.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest wait between two attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Why a delivery failed. Messages never contain the URL's userinfo or query, nor the secret.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The request could not be sent or timed out.
    #[error("POST {url} failed: {source}")]
    Send {
        /// The URL, redacted.
        url: String,
        /// Cause, with its URL stripped.
        #[source]
        source: reqwest::Error,
    },
    /// The receiver answered with a non-2xx status.
    #[error("POST {url} answered {status}")]
    Status {
        /// The URL, redacted.
        url: String,
        /// HTTP status.
        status: u16,
    },
}

impl WebhookError {
    /// Whether another attempt may succeed: transport errors, 408, 429 and 5xx.
    pub fn retryable(&self) -> bool {
        match self {
            WebhookError::Send { .. } => true,
            WebhookError::Status { status, .. } => {
                *status == 408 || *status == 429 || *status >= 500
            }
        }
    }
}

/// Wait before retry number `retry` (0 = the first retry): base × 2^retry, capped.
pub fn backoff(retry: u32) -> Duration {
    BACKOFF_BASE
        .checked_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
        .unwrap_or(BACKOFF_MAX)
        .min(BACKOFF_MAX)
}

/// `sha256=<lower-case hex HMAC-SHA256 of body under key>`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length (RFC 2104 §2), so this never fails.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + digest.len() * 2);
    out.push_str(SIGNATURE_PREFIX);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// One line describing the event, for chat templates.
fn summary(event: &Event) -> String {
    let mut s = format!("{} {}", event.kind.as_str(), event.ip);
    let mac = event.mac();
    if !mac.is_empty() {
        s.push_str(&format!(" for {mac}"));
    }
    if let Some(h) = &event.hostname {
        s.push_str(&format!(" ({h})"));
    }
    if let Some(net) = event.subnet {
        s.push_str(&format!(" in {net}"));
    }
    s
}

/// The request body for `template`.
pub fn render(template: WebhookTemplate, event: &Event) -> Value {
    match template {
        WebhookTemplate::Json => event.to_json(),
        WebhookTemplate::Slack => json!({ "text": format!("hyperdhcp: {}", summary(event)) }),
        WebhookTemplate::Teams => json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": summary(event),
            "title": format!("hyperdhcp {}", event.kind.as_str()),
            "text": summary(event),
        }),
    }
}

/// A configured webhook sharing the runtime's pooled HTTP client.
#[derive(Clone, Debug)]
pub struct Webhook {
    config: WebhookConfig,
    client: reqwest::Client,
}

impl Webhook {
    /// A webhook posting with `client` (one pooled client for all webhooks).
    pub fn new(config: WebhookConfig, client: reqwest::Client) -> Self {
        Self { config, client }
    }

    /// The URL with its secrets redacted, for logs.
    pub fn display_url(&self) -> String {
        redact_url(&self.config.url)
    }

    /// Delivers `event`, retrying retryable failures up to `retries` times with
    /// [`backoff`]; `on_retry` is called before each retry.
    pub async fn deliver(
        &self,
        event: &Event,
        mut on_retry: impl FnMut(),
    ) -> Result<(), WebhookError> {
        let body = serde_json::to_vec(&render(self.config.template, event)).unwrap_or_default();
        let mut retry = 0;
        loop {
            match self.attempt(event, &body).await {
                Ok(()) => return Ok(()),
                Err(e) if e.retryable() && retry < self.config.retries => {
                    tracing::debug!(error = %e, retry, "webhook attempt failed, retrying");
                    on_retry();
                    tokio::time::sleep(backoff(retry)).await;
                    retry += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn attempt(&self, event: &Event, body: &[u8]) -> Result<(), WebhookError> {
        let mut request = self
            .client
            .post(&self.config.url)
            .timeout(Duration::from_secs(self.config.timeout))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_HEADER, event.kind.as_str());
        if let Some(secret) = &self.config.secret {
            request = request.header(SIGNATURE_HEADER, signature(secret.as_bytes(), body));
        }
        let response =
            request
                .body(body.to_vec())
                .send()
                .await
                .map_err(|e| WebhookError::Send {
                    url: self.display_url(),
                    source: e.without_url(),
                })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(WebhookError::Status {
                url: self.display_url(),
                status: status.as_u16(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::sample;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let got: Vec<_> = (0..8).map(backoff).collect();
        assert_eq!(got[0], Duration::from_millis(500));
        assert_eq!(got[1], Duration::from_secs(1));
        assert_eq!(got[2], Duration::from_secs(2));
        assert_eq!(got[5], Duration::from_secs(16));
        assert_eq!(got[6], BACKOFF_MAX);
        assert_eq!(backoff(40), BACKOFF_MAX);
    }

    #[test]
    fn templates_render() {
        let e = sample();
        assert_eq!(render(WebhookTemplate::Json, &e), e.to_json());
        let slack = render(WebhookTemplate::Slack, &e);
        let text = slack["text"].as_str().expect("text");
        assert!(
            text.contains("lease.ack 198.18.1.10 for 02:00:00:00:00:aa"),
            "{text}"
        );
        let teams = render(WebhookTemplate::Teams, &e);
        assert_eq!(teams["@type"], "MessageCard");
        assert_eq!(teams["title"], "hyperdhcp lease.ack");
    }

    #[test]
    fn retry_classification() {
        let status = |s| WebhookError::Status {
            url: String::new(),
            status: s,
        };
        assert!(status(500).retryable());
        assert!(status(429).retryable());
        assert!(!status(404).retryable());
        assert!(!status(401).retryable());
    }

    #[test]
    fn errors_hide_url_secrets() {
        let hook = Webhook::new(
            WebhookConfig {
                url: "http://user:pw@127.0.0.1:1/x?token=s3cr3t".into(),
                events: vec!["*".into()],
                secret: Some("k3y".into()),
                template: WebhookTemplate::Json,
                timeout: 1,
                retries: 0,
            },
            reqwest::Client::new(),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let e = rt
            .block_on(hook.deliver(&sample(), || {}))
            .expect_err("nothing listens on port 1");
        let mut shown = e.to_string();
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = src {
            shown.push_str(&format!(": {s}"));
            src = s.source();
        }
        shown.push_str(&format!("{e:?}{hook:?}"));
        for secret in ["s3cr3t", "pw@", "k3y"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
