//! Configuration: the strict TOML file format (unknown keys are errors) and the validated
//! runtime [`Config`] the engine and server run on. Every error carries its key path
//! (`subnet[0].pool[1].end`) so `hyperdhcp check-config` can point at it.
//!
//! CONTRACT for other helpers: the pub types and fields below are fixed; the parsing and
//! validation behind `Config::from_toml_str` lives in the submodules: `raw` reads the TOML
//! into serde structs table by table, `validate` checks them and builds the runtime types,
//! `values` parses durations, hex, DNS names and custom option values.
//! The file format is documented key by key in docs/configuration.md.

mod conflict;
mod hooks;
mod raw;
mod validate;
mod values;

pub use conflict::{
    ConflictDetectionConfig, DEFAULT_HOLD_TIME, DEFAULT_MAX_CONFLICT_COUNT, DEFAULT_PARALLEL_COUNT,
    DEFAULT_PROBE_CACHE_TTL, DEFAULT_PROBE_TIMEOUT_MS, MAX_PARALLEL_COUNT, MAX_PROBE_TIMEOUT_MS,
    ProbeMethod, ProbeStrategy,
};
pub use hooks::{EVENT_NAMES, event_pattern_matches};

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;

use hyperdhcp_wire::HwAddr;

/// Default `server.offer_timeout`, seconds.
pub const DEFAULT_OFFER_TIMEOUT: u64 = 30;
/// Default `server.decline_hold`, seconds (24h).
pub const DEFAULT_DECLINE_HOLD: u64 = 24 * 3_600;
/// Default `server.receive_buffer`, bytes (4 MiB).
pub const DEFAULT_RECEIVE_BUFFER: usize = 4 * 1024 * 1024;
/// Smallest accepted `server.receive_buffer`, bytes.
pub const MIN_RECEIVE_BUFFER: usize = 4_096;
/// Largest accepted `server.receive_buffer`, bytes (`SO_RCVBUF` takes a C int).
pub const MAX_RECEIVE_BUFFER: usize = i32::MAX as usize;
/// Default `server.log_level`.
pub const DEFAULT_LOG_LEVEL: &str = "info";
/// Default `store.path`.
pub const DEFAULT_STORE_PATH: &str = "/var/lib/hyperdhcp/leases.db";
/// Default `store.history_retention`, seconds (30 days).
pub const DEFAULT_HISTORY_RETENTION: u64 = 30 * 24 * 3_600;
/// Default `subnet.lease_time`, seconds (1h).
pub const DEFAULT_LEASE_TIME: u64 = 3_600;
/// Shortest accepted `subnet.lease_time`, seconds.
pub const MIN_LEASE_TIME: u64 = 10;
/// Longest accepted `subnet.lease_time`, seconds: option 51 is 32 bits and 0xffffffff means
/// "infinite" (RFC 2131 §3.3), which is not supported.
pub const MAX_LEASE_TIME: u64 = u32::MAX as u64 - 1;

/// The whole validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `[server]`: listening and protocol timers.
    pub server: ServerConfig,
    /// `[store]`: where leases are kept.
    pub store: StoreConfig,
    /// `[[subnet]]`, in file order (selection tries them in this order).
    pub subnets: Vec<SubnetConfig>,
    /// `[[hooks.script]]` and `[[hooks.webhook]]`: what runs on lease events.
    pub hooks: HooksConfig,
    /// `[events]`: the event bus feeding the hooks.
    pub events: EventsConfig,
    /// `[metrics]`: the Prometheus/health HTTP listener.
    pub metrics: MetricsConfig,
    /// `[conflict_detection]`: probes before OFFER and the conflict table.
    pub conflict_detection: ConflictDetectionConfig,
    /// `[[class]]`, in file order (at most [`MAX_CLASSES`]); later classes' options override
    /// earlier ones'.
    pub classes: Vec<ClassConfig>,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable `key=value` lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[server]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// Interface names to listen on (`interfaces`).
    pub interfaces: Vec<String>,
    /// Server identifier (option 54) override; default is the receiving interface's address.
    pub server_id: Option<Ipv4Addr>,
    /// How long an OFFER holds its address, seconds (`offer_timeout`, default 30s).
    pub offer_timeout: u64,
    /// How long a DECLINEd address is quarantined, seconds (`decline_hold`, default 24h).
    pub decline_hold: u64,
    /// Socket receive buffer, bytes (`receive_buffer`, default 4 MiB).
    pub receive_buffer: usize,
    /// Send replies to one destination (a relay agent) as UDP GSO groups (`udp_gso`, default
    /// true); the server falls back to one send per reply when the kernel refuses GSO.
    pub udp_gso: bool,
    /// `log_format`: "text" (default) or "json".
    pub log_format: LogFormat,
    /// `log_level`: a tracing filter directive, default "info".
    pub log_level: String,
    /// `[server.rate_limit]`: token buckets checked before the engine (RFC 5765 §3).
    pub rate_limit: RateLimitConfig,
}

/// A rate such as `"10/s"` or `"600/m"`: `per_sec` tokens per second, bursts of `burst`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Sustained requests per second.
    pub per_sec: f64,
    /// Bucket size: requests allowed at once (the per-second amount, at least 1).
    pub burst: f64,
}

/// `[server.rate_limit]`; every limit is off unless set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RateLimitConfig {
    /// `per_mac`: requests per client hardware address.
    pub per_mac: Option<Rate>,
    /// `per_link`: requests per relay (giaddr) or, for local clients, per interface.
    pub per_link: Option<Rate>,
    /// `global`: all requests together.
    pub global: Option<Rate>,
}

/// `[store]`.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreConfig {
    /// SQLite database file (`path`).
    pub path: PathBuf,
    /// How long lease history rows are kept, seconds (`history_retention`, default 30 days;
    /// 0 keeps no history).
    pub history_retention: u64,
}

/// Default `events.queue`: events buffered between the serving loop and the hooks.
pub const DEFAULT_EVENT_QUEUE: usize = 4_096;
/// Default `events.script_workers`: scripts running at once.
pub const DEFAULT_SCRIPT_WORKERS: usize = 4;
/// Default `hooks.script.timeout`, seconds.
pub const DEFAULT_SCRIPT_TIMEOUT: u64 = 10;
/// Default `hooks.webhook.timeout`, seconds.
pub const DEFAULT_WEBHOOK_TIMEOUT: u64 = 5;
/// Default `hooks.webhook.retries`: attempts after the first.
pub const DEFAULT_WEBHOOK_RETRIES: u32 = 3;
/// Largest accepted `hooks.webhook.retries`.
pub const MAX_WEBHOOK_RETRIES: u32 = 10;
/// Port of the default `metrics.listen` (127.0.0.1:9167).
pub const DEFAULT_METRICS_PORT: u16 = 9167;

/// `[[hooks.script]]` and `[[hooks.webhook]]`, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HooksConfig {
    /// `[[hooks.script]]`.
    pub scripts: Vec<ScriptHookConfig>,
    /// `[[hooks.webhook]]`.
    pub webhooks: Vec<WebhookConfig>,
}

impl HooksConfig {
    /// True when no hook is configured (the serving loop then builds no events at all).
    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty() && self.webhooks.is_empty()
    }
}

/// `[[hooks.script]]`: a program run once per matching event.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptHookConfig {
    /// Program to run (`command`, absolute path; not run through a shell).
    pub command: PathBuf,
    /// Arguments (`args`).
    pub args: Vec<String>,
    /// Event patterns (`events`, e.g. `["lease.*", "conflict.detected"]`).
    pub events: Vec<String>,
    /// Seconds before the script's process group is killed (`timeout`, default 10s).
    pub timeout: u64,
}

/// Payload shape of a webhook (`template`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookTemplate {
    /// The event JSON itself (default).
    Json,
    /// A Slack incoming-webhook message (`{"text": ...}`).
    Slack,
    /// A Microsoft Teams message card.
    Teams,
}

impl WebhookTemplate {
    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookTemplate::Json => "json",
            WebhookTemplate::Slack => "slack",
            WebhookTemplate::Teams => "teams",
        }
    }
}

/// `[[hooks.webhook]]`: an HTTP POST per matching event. `Debug` hides the secret and the
/// URL's userinfo and query (tokens often live there).
#[derive(Clone, PartialEq)]
pub struct WebhookConfig {
    /// Target URL (`url`, http or https).
    pub url: String,
    /// Event patterns (`events`).
    pub events: Vec<String>,
    /// HMAC-SHA256 key (`secret`); when set, the body is signed in `X-Hyperdhcp-Signature`.
    pub secret: Option<String>,
    /// Payload shape (`template`, default json).
    pub template: WebhookTemplate,
    /// Seconds per attempt (`timeout`, default 5s).
    pub timeout: u64,
    /// Attempts after the first failed one (`retries`, default 3), with exponential backoff.
    pub retries: u32,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redact_url(&self.url))
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("template", &self.template)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

/// `url` with any userinfo and query string replaced by `<redacted>`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let rest = match rest.split_once('@') {
        // Only an '@' before the path is userinfo.
        Some((user, host)) if !user.contains('/') => format!("<redacted>@{host}"),
        _ => rest.to_owned(),
    };
    let rest = match rest.split_once('?') {
        Some((path, _)) => format!("{path}?<redacted>"),
        None => rest,
    };
    match scheme {
        Some(s) => format!("{s}://{rest}"),
        None => rest,
    }
}

/// `[events]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsConfig {
    /// Events buffered between the serving loop and the hooks (`queue`, default 4096); when
    /// full, new events are dropped and counted.
    pub queue: usize,
    /// Scripts running at once (`script_workers`, default 4).
    pub script_workers: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            queue: DEFAULT_EVENT_QUEUE,
            script_workers: DEFAULT_SCRIPT_WORKERS,
        }
    }
}

/// `[metrics]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Serve `/metrics`, `/healthz`, `/readyz` (`enabled`, default true).
    pub enabled: bool,
    /// Listening address (`listen`, default 127.0.0.1:9167).
    pub listen: std::net::SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: std::net::SocketAddr::from((
                std::net::Ipv4Addr::LOCALHOST,
                DEFAULT_METRICS_PORT,
            )),
        }
    }
}

/// `[[subnet]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SubnetConfig {
    /// The network (`cidr`).
    pub cidr: Ipv4Net,
    /// Interface this subnet is served on (`interface`); default: the interface holding an
    /// address inside `cidr`.
    pub interface: Option<String>,
    /// Lease time, seconds (`lease_time`, default 1h).
    pub lease_time: u64,
    /// T1, seconds (`renewal_time`, default lease_time / 2; RFC 2131 §4.4.5).
    pub renewal_time: u64,
    /// T2, seconds (`rebinding_time`, default lease_time * 7 / 8; RFC 2131 §4.4.5).
    pub rebinding_time: u64,
    /// `[[subnet.pool]]`: dynamic ranges, disjoint, inside `cidr`.
    pub pools: Vec<PoolConfig>,
    /// `[[subnet.reservation]]`.
    pub reservations: Vec<ReservationConfig>,
    /// Options sent to every client of this subnet (includes 1 subnet mask and 28 broadcast
    /// address derived from `cidr` unless configured).
    pub options: DhcpOptions,
    /// `always_send`: option codes sent even when the client did not request them (besides
    /// the basic ones: 1, 3, 6, 12, 15, 28).
    pub always_send: Vec<u8>,
    /// `shared_network`: subnets with the same name share one link; when the selected one is
    /// exhausted the next (in file order) is tried.
    pub shared_network: Option<String>,
}

impl Config {
    /// Subnet `si` and the other subnets of its shared network, in file order with `si` first.
    pub fn shared_with(&self, si: usize) -> impl Iterator<Item = usize> + '_ {
        let name = self
            .subnets
            .get(si)
            .and_then(|s| s.shared_network.as_deref());
        std::iter::once(si).chain(
            self.subnets
                .iter()
                .enumerate()
                .filter(move |(j, s)| {
                    *j != si && name.is_some() && s.shared_network.as_deref() == name
                })
                .map(|(j, _)| j),
        )
    }
}

/// Most `[[class]]` tables (matched classes are kept as a 64-bit set per request).
pub const MAX_CLASSES: usize = 64;

/// `[[class]]`: a set of clients recognised by what they send, with its own options.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassConfig {
    /// `name`, unique; what `pool.classes` and `explain` use.
    pub name: String,
    /// `match`: every given condition must hold.
    pub matcher: ClassMatch,
    /// `next_server`: siaddr of replies (RFC 2131 §2: the next server in the boot process,
    /// e.g. the TFTP server of PXE clients).
    pub next_server: Option<Ipv4Addr>,
    /// `boot_file`: the `file` header field, and option 67 (RFC 2132 §9.5).
    pub boot_file: Option<String>,
    /// Options for clients of this class (`tftp_server_name` → 66, `boot_file` → 67, the
    /// usual option keys, `[[class.option]]`).
    pub options: DhcpOptions,
    /// `always_send`: option codes sent even when the client did not request them.
    pub always_send: Vec<u8>,
}

/// `class.match`: conditions on the request; text conditions are globs (`*`, `?`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassMatch {
    /// `vendor_class`: option 60 (RFC 2132 §9.13).
    pub vendor_class: Option<String>,
    /// `user_class`: option 77 (RFC 3004), the whole value or any one class in it.
    pub user_class: Option<String>,
    /// `mac_prefix`: leading octets of chaddr (`"02:00:00"`).
    pub mac_prefix: Option<Vec<u8>>,
    /// `circuit_id`: option 82 sub-option 1 (RFC 3046).
    pub circuit_id: Option<String>,
    /// `remote_id`: option 82 sub-option 2.
    pub remote_id: Option<String>,
    /// `subscriber_id`: option 82 sub-option 6 (RFC 3993).
    pub subscriber_id: Option<String>,
    /// `hostname`: option 12.
    pub hostname: Option<String>,
    /// `client_arch`: option 93 (RFC 4578 §2.1), e.g. 0 BIOS, 7 and 9 x64 UEFI.
    pub client_arch: Option<u16>,
}

/// `[[subnet.pool]]`: an inclusive address range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// First address (`start`).
    pub start: Ipv4Addr,
    /// Last address (`end`), inclusive.
    pub end: Ipv4Addr,
    /// `bootp`: BOOTP clients (RFC 951, no option 53) may get addresses from this pool, with
    /// infinite leases.
    pub bootp: bool,
    /// `classes`: when not empty, only clients matching one of these `[[class]]` names get
    /// addresses from this pool.
    pub classes: Vec<String>,
}

/// `[[subnet.reservation]]`: a fixed address for one client, by MAC or client-id.
#[derive(Clone, Debug, PartialEq)]
pub struct ReservationConfig {
    /// Match on chaddr (`mac`).
    pub mac: Option<HwAddr>,
    /// Match on option 61 (`client_id`, hex octets `01:02:..`).
    pub client_id: Option<Box<[u8]>>,
    /// Match on the relay agent's circuit-id (option 82 sub-option 1, RFC 3046), as text
    /// (`circuit_id`), e.g. the relay's interface name.
    pub circuit_id: Option<Box<[u8]>>,
    /// Match on the relay agent's remote-id (option 82 sub-option 2), as text (`remote_id`).
    pub remote_id: Option<Box<[u8]>>,
    /// Match on the relay agent's subscriber-id (option 82 sub-option 6, RFC 3993), as text
    /// (`subscriber_id`).
    pub subscriber_id: Option<Box<[u8]>>,
    /// The reserved address (`ip`), inside or outside pools but inside the subnet.
    pub ip: Ipv4Addr,
    /// Host name sent as option 12 (`hostname`).
    pub hostname: Option<String>,
    /// Options overriding the subnet's for this client.
    pub options: DhcpOptions,
}

/// Option values already encoded for the wire, at most one per code, sorted by code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DhcpOptions {
    entries: Vec<(u8, Box<[u8]>)>,
}

impl DhcpOptions {
    /// Sets (or replaces) option `code`.
    pub fn set(&mut self, code: u8, value: impl Into<Box<[u8]>>) {
        let value = value.into();
        match self.entries.binary_search_by_key(&code, |(c, _)| *c) {
            Ok(i) => self.entries[i].1 = value,
            Err(i) => self.entries.insert(i, (code, value)),
        }
    }

    /// The encoded value of option `code`.
    pub fn get(&self, code: u8) -> Option<&[u8]> {
        self.entries
            .binary_search_by_key(&code, |(c, _)| *c)
            .ok()
            .map(|i| &*self.entries[i].1)
    }

    /// All options, sorted by code.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &[u8])> {
        self.entries.iter().map(|(c, v)| (*c, &**v))
    }

    /// True when no option is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One validation problem, with the key path it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Key path such as `subnet[0].pool[1].end` (empty for whole-file errors).
    pub path: String,
    /// What is wrong, naming the offending values.
    pub message: String,
}

/// `path: message`, or just the message for whole-file errors (empty path).
impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a config file (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Parses and validates a TOML document, reporting every error found: all syntax errors
    /// (with line and column) or else every unknown key, ill-typed value and failed rule.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigErrors> {
        let mut report = raw::Report::new(text);
        let config = raw::read_document(&mut report, text)
            .and_then(|doc| validate::validate(&mut report, doc));
        match config {
            Some(config) => Ok(config),
            None => {
                let mut errors = report.into_errors();
                if errors.is_empty() {
                    // Unreachable by construction; never hand back an empty error list.
                    errors.push(ConfigError {
                        path: String::new(),
                        message: "invalid configuration".to_owned(),
                    });
                }
                Err(ConfigErrors(errors))
            }
        }
    }

    /// Reads and validates a config file; I/O errors come back as a single `ConfigError`.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                path: String::new(),
                message: format!("cannot read {}: {e}", path.display()),
            }])
        })?;
        Self::from_toml_str(&text)
    }
}

#[cfg(test)]
mod tests;
