//! `[[hooks.script]]`, `[[hooks.webhook]]`, `[events]` and `[metrics]`: read and validated here,
//! run by the `hyperdhcp-events` crate and the server's metrics listener.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use super::raw::{RawDuration, Report, index_path, key_path, read_array, read_leaf, read_table};
use super::values::{DURATION_HINT, parse_duration};
use super::{
    DEFAULT_SCRIPT_TIMEOUT, DEFAULT_WEBHOOK_RETRIES, DEFAULT_WEBHOOK_TIMEOUT, EventsConfig,
    HooksConfig, MAX_WEBHOOK_RETRIES, MetricsConfig, ScriptHookConfig, WebhookConfig,
    WebhookTemplate, redact_url,
};

/// Every event name a hook pattern can match. The events crate checks that its event kinds
/// are exactly these.
pub const EVENT_NAMES: &[&str] = &[
    "lease.offer",
    "lease.ack",
    "lease.renew",
    "lease.release",
    "lease.decline",
    "lease.expire",
    "conflict.detected",
    "conflict.resolved",
];

/// Largest accepted `events.queue`.
const MAX_EVENT_QUEUE: i64 = 1 << 20;
/// Largest accepted `events.script_workers`.
const MAX_SCRIPT_WORKERS: i64 = 256;
/// Longest accepted hook timeout, seconds.
const MAX_HOOK_TIMEOUT: u64 = 3_600;
/// Keys of `[hooks]` holding arrays of tables.
const HOOKS_NESTED: &[&str] = &["script", "webhook"];
/// Template names accepted by `hooks.webhook.template`.
const TEMPLATES: [WebhookTemplate; 3] = [
    WebhookTemplate::Json,
    WebhookTemplate::Slack,
    WebhookTemplate::Teams,
];

/// True when `pattern` (`*`, `lease.*`, or an exact name) matches the event `name`.
pub fn event_pattern_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

// === raw tables ===

/// `[hooks]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHooks {
    /// `[[hooks.script]]`.
    #[serde(skip)]
    pub script: Vec<Option<RawScriptHook>>,
    /// `[[hooks.webhook]]`.
    #[serde(skip)]
    pub webhook: Vec<Option<RawWebhook>>,
}

/// `[[hooks.script]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScriptHook {
    pub command: Option<String>,
    pub args: Option<Vec<String>>,
    pub events: Option<Vec<String>>,
    pub timeout: Option<RawDuration>,
}

/// `[[hooks.webhook]]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub secret: Option<String>,
    pub template: Option<String>,
    pub timeout: Option<RawDuration>,
    pub retries: Option<i64>,
}

/// Hides the secret and URL tokens even in debug output.
impl std::fmt::Debug for RawWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawWebhook")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// `[events]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvents {
    pub queue: Option<i64>,
    pub script_workers: Option<i64>,
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub enabled: Option<bool>,
    pub listen: Option<String>,
}

/// Reads `[hooks]` and its arrays of tables.
pub(super) fn read_hooks(
    report: &mut Report<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Option<RawHooks> {
    let mut hooks: RawHooks = read_table(report, value, "hooks", HOOKS_NESTED)?;
    let table = value.get_ref().as_table()?;
    if let Some(v) = table.get("script") {
        hooks.script = read_array(report, v, "hooks.script", read_leaf);
    }
    if let Some(v) = table.get("webhook") {
        hooks.webhook = read_array(report, v, "hooks.webhook", read_leaf);
    }
    Some(hooks)
}

// === validation ===

/// Validates `[hooks]`; invalid hooks are reported and left out.
pub(super) fn validate_hooks(report: &mut Report<'_>, raw: Option<RawHooks>) -> HooksConfig {
    let mut out = HooksConfig::default();
    let Some(raw) = raw else {
        return out;
    };
    for (i, hook) in raw.script.iter().enumerate() {
        if let Some(hook) = hook
            && let Some(h) = script(report, &index_path("hooks.script", i), hook)
        {
            out.scripts.push(h);
        }
    }
    for (i, hook) in raw.webhook.iter().enumerate() {
        if let Some(hook) = hook
            && let Some(h) = webhook(report, &index_path("hooks.webhook", i), hook)
        {
            out.webhooks.push(h);
        }
    }
    out
}

fn script(report: &mut Report<'_>, path: &str, raw: &RawScriptHook) -> Option<ScriptHookConfig> {
    let before = report.count();
    let command = match raw.command.as_deref() {
        Some(c) if c.starts_with('/') => Some(PathBuf::from(c)),
        Some(c) => {
            report.error(
                &key_path(path, "command"),
                format!("{c:?} is not an absolute path"),
            );
            None
        }
        None => {
            missing(report, &key_path(path, "command"));
            None
        }
    };
    let events = patterns(report, path, raw.events.as_deref());
    let timeout = timeout(report, path, raw.timeout.as_ref(), DEFAULT_SCRIPT_TIMEOUT);
    (report.count() == before).then(|| ScriptHookConfig {
        command: command.unwrap_or_default(),
        args: raw.args.clone().unwrap_or_default(),
        events,
        timeout,
    })
}

fn webhook(report: &mut Report<'_>, path: &str, raw: &RawWebhook) -> Option<WebhookConfig> {
    let before = report.count();
    let url_path = key_path(path, "url");
    match raw.url.as_deref() {
        None => missing(report, &url_path),
        Some(url) => {
            let host = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"));
            if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) {
                // Never echo the URL whole: it may carry a token.
                report.error(
                    &url_path,
                    format!(
                        "{} is not an http:// or https:// URL with a host",
                        redact_url(url)
                    ),
                );
            }
        }
    }
    if raw.secret.as_deref().is_some_and(str::is_empty) {
        report.error(&key_path(path, "secret"), "must not be empty");
    }
    let template = match raw.template.as_deref() {
        None => WebhookTemplate::Json,
        Some(name) => match TEMPLATES.iter().find(|t| t.as_str() == name) {
            Some(t) => *t,
            None => {
                report.error(
                    &key_path(path, "template"),
                    format!("unknown template {name:?}; expected one of: json, slack, teams"),
                );
                WebhookTemplate::Json
            }
        },
    };
    let retries = match raw.retries {
        None => DEFAULT_WEBHOOK_RETRIES,
        Some(n) => match u32::try_from(n) {
            Ok(n) if n <= MAX_WEBHOOK_RETRIES => n,
            _ => {
                report.error(
                    &key_path(path, "retries"),
                    format!("{n} is out of range 0..={MAX_WEBHOOK_RETRIES}"),
                );
                0
            }
        },
    };
    let events = patterns(report, path, raw.events.as_deref());
    let timeout = timeout(report, path, raw.timeout.as_ref(), DEFAULT_WEBHOOK_TIMEOUT);
    (report.count() == before).then(|| WebhookConfig {
        url: raw.url.clone().unwrap_or_default(),
        events,
        secret: raw.secret.clone(),
        template,
        timeout,
        retries,
    })
}

/// `events`: required, non-empty, every pattern matching at least one known event.
fn patterns(report: &mut Report<'_>, path: &str, raw: Option<&[String]>) -> Vec<String> {
    let path = key_path(path, "events");
    let Some(list) = raw else {
        missing(report, &path);
        return Vec::new();
    };
    if list.is_empty() {
        report.error(&path, "at least one event pattern is required");
    }
    for (i, p) in list.iter().enumerate() {
        if !EVENT_NAMES.iter().any(|n| event_pattern_matches(p, n)) {
            report.error(
                &index_path(&path, i),
                format!(
                    "{p:?} matches no event; events are: {}",
                    EVENT_NAMES.join(", ")
                ),
            );
        }
    }
    list.to_vec()
}

/// `timeout`: a duration from 1 second to an hour.
fn timeout(report: &mut Report<'_>, path: &str, raw: Option<&RawDuration>, default: u64) -> u64 {
    let path = key_path(path, "timeout");
    let Some(raw) = raw else {
        return default;
    };
    let parsed = match raw {
        RawDuration::Seconds(n) => u64::try_from(*n).ok(),
        RawDuration::Text(t) => parse_duration(t),
    };
    match parsed {
        Some(s) if (1..=MAX_HOOK_TIMEOUT).contains(&s) => s,
        Some(s) => {
            report.error(
                &path,
                format!("{s}s is out of range 1s..={MAX_HOOK_TIMEOUT}s"),
            );
            default
        }
        None => {
            report.error(&path, format!("invalid duration: {DURATION_HINT}"));
            default
        }
    }
}

/// Validates `[events]`.
pub(super) fn validate_events(report: &mut Report<'_>, raw: Option<RawEvents>) -> EventsConfig {
    let mut out = EventsConfig::default();
    let Some(raw) = raw else {
        return out;
    };
    if let Some(n) = raw.queue {
        match usize::try_from(n) {
            Ok(q) if (1..=MAX_EVENT_QUEUE).contains(&n) => out.queue = q,
            _ => report.error(
                "events.queue",
                format!("{n} is out of range 1..={MAX_EVENT_QUEUE}"),
            ),
        }
    }
    if let Some(n) = raw.script_workers {
        match usize::try_from(n) {
            Ok(w) if (1..=MAX_SCRIPT_WORKERS).contains(&n) => out.script_workers = w,
            _ => report.error(
                "events.script_workers",
                format!("{n} is out of range 1..={MAX_SCRIPT_WORKERS}"),
            ),
        }
    }
    out
}

/// Validates `[metrics]`.
pub(super) fn validate_metrics(report: &mut Report<'_>, raw: Option<RawMetrics>) -> MetricsConfig {
    let mut out = MetricsConfig::default();
    let Some(raw) = raw else {
        return out;
    };
    if let Some(enabled) = raw.enabled {
        out.enabled = enabled;
    }
    if let Some(listen) = raw.listen {
        match listen.parse::<SocketAddr>() {
            Ok(a) => out.listen = a,
            Err(_) => report.error(
                "metrics.listen",
                format!("{listen:?} is not an address:port such as \"127.0.0.1:9167\""),
            ),
        }
    }
    out
}

/// Reports `path` as missing unless something there was already reported.
fn missing(report: &mut Report<'_>, path: &str) {
    if !report.has_error_at(path) {
        report.error(path, "required key is missing");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    const BASE: &str = r#"
[server]
interfaces = ["srv0"]
[[subnet]]
cidr = "198.18.0.0/16"
[[subnet.pool]]
start = "198.18.1.10"
end = "198.18.1.20"
"#;

    fn parse(extra: &str) -> Result<Config, Vec<String>> {
        Config::from_toml_str(&format!("{BASE}{extra}"))
            .map_err(|e| e.0.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn patterns_match_prefixes_and_exact_names() {
        assert!(event_pattern_matches("lease.*", "lease.ack"));
        assert!(event_pattern_matches("*", "conflict.detected"));
        assert!(event_pattern_matches("lease.ack", "lease.ack"));
        assert!(!event_pattern_matches("lease.ack", "lease.renew"));
        assert!(!event_pattern_matches("lease.*", "conflict.detected"));
    }

    #[test]
    fn defaults_without_sections() {
        let c = parse("").expect("valid");
        assert!(c.hooks.is_empty());
        assert_eq!(c.events, EventsConfig::default());
        assert_eq!(c.metrics, MetricsConfig::default());
        assert_eq!(c.metrics.listen.to_string(), "127.0.0.1:9167");
    }

    #[test]
    fn full_hooks_parse() {
        let c = parse(
            r#"
[events]
queue = 16
script_workers = 2
[metrics]
enabled = false
listen = "127.0.0.1:9999"
[[hooks.script]]
command = "/usr/local/bin/on-lease"
args = ["-v"]
events = ["lease.*"]
timeout = "2s"
[[hooks.webhook]]
url = "https://hooks.example.invalid/x?token=abc"
events = ["lease.ack", "conflict.*"]
secret = "k3y"
template = "slack"
retries = 2
"#,
        )
        .expect("valid");
        assert_eq!(c.events.queue, 16);
        assert_eq!(c.events.script_workers, 2);
        assert!(!c.metrics.enabled);
        let s = &c.hooks.scripts[0];
        assert_eq!(s.timeout, 2);
        assert_eq!(s.args, vec!["-v".to_owned()]);
        let w = &c.hooks.webhooks[0];
        assert_eq!(w.template, WebhookTemplate::Slack);
        assert_eq!(w.retries, 2);
        assert_eq!(w.timeout, DEFAULT_WEBHOOK_TIMEOUT);
        let debug = format!("{c:?}");
        assert!(!debug.contains("k3y"), "{debug}");
        assert!(!debug.contains("token=abc"), "{debug}");
    }

    #[test]
    fn bad_hooks_are_reported_with_paths_and_no_secrets() {
        let errors = parse(
            r#"
[events]
queue = 0
[metrics]
listen = "nowhere"
[[hooks.script]]
command = "relative.sh"
events = ["lease.bogus"]
timeout = "0s"
[[hooks.webhook]]
url = "ftp://user:pw@example.invalid/?token=t0k"
events = []
template = "discord"
retries = 99
colour = "red"
"#,
        )
        .expect_err("invalid");
        let all = errors.join("\n");
        for path in [
            "events.queue",
            "metrics.listen",
            "hooks.script[0].command",
            "hooks.script[0].events[0]",
            "hooks.script[0].timeout",
            "hooks.webhook[0].url",
            "hooks.webhook[0].events",
            "hooks.webhook[0].template",
            "hooks.webhook[0].retries",
            "hooks.webhook[0].colour",
        ] {
            assert!(
                errors.iter().any(|e| e.starts_with(&format!("{path}:"))),
                "{path} missing in:\n{all}"
            );
        }
        assert!(!all.contains("t0k") && !all.contains(":pw@"), "{all}");
    }

    #[test]
    fn redact_url_hides_userinfo_and_query() {
        assert_eq!(
            redact_url("https://u:p@h.invalid/a?t=1"),
            "https://<redacted>@h.invalid/a?<redacted>"
        );
        assert_eq!(redact_url("http://h.invalid/a"), "http://h.invalid/a");
        assert_eq!(redact_url("http://h.invalid/a@b"), "http://h.invalid/a@b");
    }
}
