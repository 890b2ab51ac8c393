//! Semantic checks: turns the raw tables into the validated [`Config`], reporting every problem
//! with its key path and the values involved, then checks across subnets (overlaps, duplicate
//! reservations).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use hyperdhcp_wire::code;
use ipnet::Ipv4Net;

use super::raw::{
    OptionKeys, RawClass, RawClassMatch, RawDocument, RawDuration, RawOption, RawPool,
    RawReservation, RawRoute, RawServer, RawStore, RawSubnet, Report, index_path, key_path,
};
use super::values::{
    DURATION_HINT, MAX_OPTION_LEN, OPTION_TYPES, OptionType, check_dns_name, format_duration,
    parse_duration, parse_hex,
};
use super::{ClassConfig, ClassMatch, MAX_CLASSES, Rate, RateLimitConfig};
use super::{
    Config, DEFAULT_DECLINE_HOLD, DEFAULT_HISTORY_RETENTION, DEFAULT_LEASE_TIME, DEFAULT_LOG_LEVEL,
    DEFAULT_OFFER_TIMEOUT, DEFAULT_RECEIVE_BUFFER, DEFAULT_STORE_PATH, DhcpOptions, LogFormat,
    MAX_LEASE_TIME, MAX_RECEIVE_BUFFER, MIN_LEASE_TIME, MIN_RECEIVE_BUFFER, PoolConfig,
    ReservationConfig, ServerConfig, StoreConfig, SubnetConfig,
};
use hyperdhcp_wire::HwAddr;

/// Longest Linux interface name (IFNAMSIZ - 1).
const MAX_INTERFACE_NAME_LEN: usize = 15;
/// Longest prefix a served subnet may have: it needs a network, a broadcast and a client address.
const MAX_SUBNET_PREFIX: u8 = 30;
/// Smallest MTU option 26 may carry (RFC 2132 §5.1).
const MIN_MTU: i64 = 68;
/// Shortest client identifier (RFC 2132 §9.14: type octet plus at least one octet).
const MIN_CLIENT_ID_LEN: usize = 2;
/// Octets in an Ethernet MAC address.
const ETHERNET_ADDR_LEN: usize = 6;
/// Longest option 82 sub-option value (RFC 3046 §2.0: one length octet).
const MAX_RELAY_ID_LEN: usize = 255;
/// Message for a file without subnets.
const NO_SUBNET: &str = "at least one [[subnet]] is required";
/// Message for a required key that is absent.
const MISSING: &str = "required key is missing";

/// Option codes a custom `[[subnet.option]]` may not set, and why: codes with their own key,
/// codes derived from other settings, and codes that belong to the protocol exchange itself.
const RESERVED_CODES: &[(u8, &str, &str)] = &[
    (
        code::SUBNET_MASK,
        "subnet mask",
        "it is derived from `cidr`",
    ),
    (code::ROUTER, "routers", "use the `routers` key"),
    (
        code::DNS_SERVERS,
        "DNS servers",
        "use the `dns_servers` key",
    ),
    (
        code::HOSTNAME,
        "host name",
        "use a reservation's `hostname` key",
    ),
    (
        code::DOMAIN_NAME,
        "domain name",
        "use the `domain_name` key",
    ),
    (code::INTERFACE_MTU, "interface MTU", "use the `mtu` key"),
    (
        code::BROADCAST_ADDRESS,
        "broadcast address",
        "use the `broadcast_address` key",
    ),
    (
        code::NTP_SERVERS,
        "NTP servers",
        "use the `ntp_servers` key",
    ),
    (
        code::REQUESTED_IP,
        "requested IP address",
        "only clients send it",
    ),
    (code::LEASE_TIME, "lease time", "use the `lease_time` key"),
    (code::OVERLOAD, "option overload", "the server manages it"),
    (
        code::MESSAGE_TYPE,
        "DHCP message type",
        "the server manages it",
    ),
    (
        code::SERVER_ID,
        "server identifier",
        "use `server.server_id`",
    ),
    (
        code::PARAMETER_REQUEST_LIST,
        "parameter request list",
        "only clients send it",
    ),
    (code::MESSAGE, "message", "the server manages it"),
    (
        code::MAX_MESSAGE_SIZE,
        "maximum message size",
        "only clients send it",
    ),
    (
        code::RENEWAL_TIME,
        "renewal time",
        "use the `renewal_time` key",
    ),
    (
        code::REBINDING_TIME,
        "rebinding time",
        "use the `rebinding_time` key",
    ),
    (code::CLIENT_ID, "client identifier", "only clients send it"),
    (
        code::RELAY_AGENT_INFO,
        "relay agent information",
        "relays add it and the server echoes it",
    ),
    (
        code::DOMAIN_SEARCH,
        "domain search",
        "use the `domain_search` key",
    ),
    (
        code::CLASSLESS_STATIC_ROUTE,
        "classless static routes",
        "use the `classless_routes` key",
    ),
];

/// Validates a read document; `None` when any problem was reported (here or while reading).
pub(super) fn validate(report: &mut Report<'_>, doc: RawDocument) -> Option<Config> {
    let mut v = Validator {
        report,
        interfaces: None,
        server_id: None,
        cidrs: Vec::new(),
        pools: Vec::new(),
        macs: HashMap::new(),
        client_ids: HashMap::new(),
        ips: HashMap::new(),
    };
    let server = v.server(doc.server);
    let store = v.store(doc.store.unwrap_or_default());
    let mut subnets = Vec::new();
    match doc.subnet {
        None => v.report.error("subnet", NO_SUBNET),
        Some(list) => {
            for (i, raw) in list.iter().enumerate() {
                if let Some(raw) = raw
                    && let Some(subnet) = v.subnet(&index_path("subnet", i), raw)
                {
                    subnets.push(subnet);
                }
            }
            // `subnet` of the wrong TOML type reads as an empty list and is already reported.
            if list.is_empty() && !v.report.has_error_at("subnet") {
                v.report.error("subnet", NO_SUBNET);
            }
        }
    }
    v.check_overlaps();
    let classes = v.classes(&doc.class);
    // `pool.classes` must name defined classes.
    for (i, s) in subnets.iter().enumerate() {
        for (j, p) in s.pools.iter().enumerate() {
            for (k, name) in p.classes.iter().enumerate() {
                if !classes.iter().any(|c| &c.name == name) {
                    v.report.error(
                        &format!("subnet[{i}].pool[{j}].classes[{k}]"),
                        format!("no [[class]] is named {name:?}"),
                    );
                }
            }
        }
    }
    let hooks = super::hooks::validate_hooks(v.report, doc.hooks);
    let events = super::hooks::validate_events(v.report, doc.events);
    let metrics = super::hooks::validate_metrics(v.report, doc.metrics);
    let conflict_detection =
        super::conflict::validate_conflict_detection(v.report, doc.conflict_detection);
    let clean = v.report.count() == 0;
    let config = Config {
        server: server?,
        store,
        subnets,
        hooks,
        events,
        metrics,
        conflict_detection,
        classes,
    };
    clean.then_some(config)
}

/// Validation state: the report plus what cross-subnet checks need.
struct Validator<'r, 't> {
    report: &'r mut Report<'t>,
    /// `server.interfaces`, once valid, for checking `subnet.interface`.
    interfaces: Option<Vec<String>>,
    /// `server.server_id`, once valid, so no pool or reservation hands it out.
    server_id: Option<Ipv4Addr>,
    /// (path of `cidr`, network) of every subnet whose cidr is valid.
    cidrs: Vec<(String, Ipv4Net)>,
    /// (path, start, end) of every valid pool.
    pools: Vec<(String, Ipv4Addr, Ipv4Addr)>,
    /// Reserved MACs, client ids and addresses, with the reservation that claimed them first.
    macs: HashMap<HwAddr, String>,
    client_ids: HashMap<Vec<u8>, String>,
    ips: HashMap<Ipv4Addr, String>,
}

// === impl Validator: leaf values ===

impl Validator<'_, '_> {
    /// Reports `path` as missing unless something there was already reported (a value of the
    /// wrong type is dropped while reading, so it reads as absent).
    fn missing(&mut self, path: &str) {
        if !self.report.has_error_at(path) {
            self.report.error(path, MISSING);
        }
    }

    fn ipv4(&mut self, path: &str, text: &str) -> Option<Ipv4Addr> {
        let parsed = text.parse().ok();
        if parsed.is_none() {
            self.report
                .error(path, format!("{text:?} is not an IPv4 address"));
        }
        parsed
    }

    /// An address a client can be pointed at: not 0.0.0.0, broadcast or multicast.
    fn unicast(&mut self, path: &str, text: &str) -> Option<Ipv4Addr> {
        let ip = self.ipv4(path, text)?;
        if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
            self.report
                .error(path, format!("{ip} is not a unicast address"));
            return None;
        }
        Some(ip)
    }

    /// An address usable by a host of `cidr`: inside it, not its network or broadcast address.
    /// `what` names the key in the message (`start 198.19.0.1 is outside 198.18.0.0/16`).
    fn host_in(&mut self, path: &str, what: &str, ip: Ipv4Addr, cidr: Ipv4Net) -> bool {
        let problem = if !cidr.contains(&ip) {
            "is outside subnet"
        } else if ip == cidr.network() {
            "is the network address of"
        } else if ip == cidr.broadcast() {
            "is the broadcast address of"
        } else {
            return true;
        };
        self.report
            .error(path, format!("{what} {ip} {problem} {cidr}"));
        false
    }

    fn duration(&mut self, path: &str, raw: &RawDuration) -> Option<u64> {
        let parsed = match raw {
            RawDuration::Seconds(n) => u64::try_from(*n).ok(),
            RawDuration::Text(text) => parse_duration(text),
        };
        if parsed.is_none() {
            let shown = match raw {
                RawDuration::Seconds(n) => n.to_string(),
                RawDuration::Text(text) => format!("{text:?}"),
            };
            self.report
                .error(path, format!("invalid duration {shown}: {DURATION_HINT}"));
        }
        parsed
    }

    fn interface_name(&mut self, path: &str, name: &str) -> bool {
        // Linux dev_valid_name(): 1..=15 bytes, not "." or "..", no '/', ':' or whitespace.
        let valid = !name.is_empty()
            && name.len() <= MAX_INTERFACE_NAME_LEN
            && name != "."
            && name != ".."
            && !name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace());
        if !valid {
            self.report.error(
                path,
                format!(
                    "{name:?} is not a valid interface name (1 to {MAX_INTERFACE_NAME_LEN} characters, no '/', ':' or spaces)"
                ),
            );
        }
        valid
    }

    fn dns_name(&mut self, path: &str, what: &str, name: &str) -> bool {
        match check_dns_name(name) {
            Ok(()) => true,
            Err(why) => {
                self.report.error(
                    path,
                    format!("{what} {name:?} is not a valid DNS name: {why}"),
                );
                false
            }
        }
    }

    /// A non-empty list of unicast addresses (options 6, 42), encoded back to back.
    fn address_list(&mut self, path: &str, list: &[String]) -> Option<Vec<u8>> {
        if list.is_empty() {
            self.report.error(path, "must list at least one address");
            return None;
        }
        let mark = self.report.count();
        let mut out = Vec::with_capacity(list.len() * 4);
        for (i, text) in list.iter().enumerate() {
            if let Some(ip) = self.unicast(&index_path(path, i), text) {
                out.extend_from_slice(&ip.octets());
            }
        }
        (self.report.count() == mark).then_some(out)
    }
}

// === impl Validator: tables ===

impl Validator<'_, '_> {
    fn server(&mut self, raw: Option<RawServer>) -> Option<ServerConfig> {
        let Some(raw) = raw else {
            // `server` of the wrong TOML type was reported while reading.
            if self.report.has_error_at("server") {
                return None;
            }
            self.report.error(
                "server",
                "missing required table [server] (it must set `interfaces`)",
            );
            return None;
        };
        let mark = self.report.count();
        let mut interfaces = Vec::new();
        match &raw.interfaces {
            None => self.missing("server.interfaces"),
            Some(list) if list.is_empty() => self
                .report
                .error("server.interfaces", "must list at least one interface"),
            Some(list) => {
                for (i, name) in list.iter().enumerate() {
                    let path = index_path("server.interfaces", i);
                    if !self.interface_name(&path, name) {
                        continue;
                    }
                    if interfaces.contains(name) {
                        self.report
                            .error(&path, format!("interface {name:?} is listed twice"));
                    } else {
                        interfaces.push(name.clone());
                    }
                }
                if self.report.count() == mark {
                    self.interfaces = Some(interfaces.clone());
                }
            }
        }
        let server_id = raw
            .server_id
            .as_deref()
            .and_then(|text| self.unicast("server.server_id", text));
        self.server_id = server_id;
        let offer_timeout = match &raw.offer_timeout {
            Some(d) => self.duration("server.offer_timeout", d),
            None => Some(DEFAULT_OFFER_TIMEOUT),
        };
        if offer_timeout == Some(0) {
            self.report
                .error("server.offer_timeout", "offer_timeout must be at least 1s");
        }
        let decline_hold = match &raw.decline_hold {
            Some(d) => self.duration("server.decline_hold", d),
            None => Some(DEFAULT_DECLINE_HOLD),
        };
        let receive_buffer = raw.receive_buffer.map_or(Some(DEFAULT_RECEIVE_BUFFER), |n| {
            let ok = usize::try_from(n)
                .ok()
                .filter(|n| (MIN_RECEIVE_BUFFER..=MAX_RECEIVE_BUFFER).contains(n));
            if ok.is_none() {
                self.report.error(
                    "server.receive_buffer",
                    format!(
                        "receive_buffer {n} is out of range ({MIN_RECEIVE_BUFFER}..={MAX_RECEIVE_BUFFER} bytes)"
                    ),
                );
            }
            ok
        });
        let log_format = match raw.log_format.as_deref() {
            None | Some("text") => Some(LogFormat::Text),
            Some("json") => Some(LogFormat::Json),
            Some(other) => {
                self.report.error(
                    "server.log_format",
                    format!(r#"log_format {other:?} is not one of "text", "json""#),
                );
                None
            }
        };
        let log_level = raw
            .log_level
            .unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned());
        if log_level.trim().is_empty() || log_level.contains(char::is_whitespace) {
            self.report.error(
                "server.log_level",
                format!(r#"log_level {log_level:?} is not a filter directive such as "info" or "info,hyperdhcp_server=debug""#),
            );
        }
        let mut rate_limit = RateLimitConfig::default();
        if let Some(r) = &raw.rate_limit {
            rate_limit.per_mac = self.rate("server.rate_limit.per_mac", r.per_mac.as_deref());
            rate_limit.per_link = self.rate("server.rate_limit.per_link", r.per_link.as_deref());
            rate_limit.global = self.rate("server.rate_limit.global", r.global.as_deref());
        }
        if self.report.count() != mark {
            return None;
        }
        Some(ServerConfig {
            rate_limit,
            interfaces,
            server_id,
            offer_timeout: offer_timeout?,
            decline_hold: decline_hold?,
            receive_buffer: receive_buffer?,
            udp_gso: raw.udp_gso.unwrap_or(true),
            log_format: log_format?,
            log_level,
        })
    }

    fn store(&mut self, raw: RawStore) -> StoreConfig {
        let path = raw.path.unwrap_or_else(|| DEFAULT_STORE_PATH.to_owned());
        if path.is_empty() {
            self.report.error("store.path", "path must not be empty");
        }
        let history_retention = match &raw.history_retention {
            Some(d) => self
                .duration("store.history_retention", d)
                .unwrap_or(DEFAULT_HISTORY_RETENTION),
            None => DEFAULT_HISTORY_RETENTION,
        };
        StoreConfig {
            path: PathBuf::from(path),
            history_retention,
        }
    }

    fn subnet(&mut self, path: &str, raw: &RawSubnet) -> Option<SubnetConfig> {
        let mark = self.report.count();
        let cidr = match &raw.cidr {
            None => {
                self.missing(&key_path(path, "cidr"));
                None
            }
            Some(text) => self.cidr(&key_path(path, "cidr"), text),
        };
        if let Some(name) = &raw.interface {
            let ipath = key_path(path, "interface");
            if self.interface_name(&ipath, name)
                && let Some(list) = &self.interfaces
                && !list.contains(name)
            {
                let listed = list.join(", ");
                self.report.error(
                    &ipath,
                    format!("interface {name:?} is not listed in server.interfaces ({listed})"),
                );
            }
        }
        let times = self.lease_times(path, raw);

        let mut options = DhcpOptions::default();
        if let Some(cidr) = cidr {
            options.set(code::SUBNET_MASK, cidr.netmask().octets());
            // RFC 2132 §5.3: option 28; always sent so clients never guess.
            let broadcast = match &raw.broadcast_address {
                None => Some(cidr.broadcast()),
                Some(text) => {
                    let bpath = key_path(path, "broadcast_address");
                    self.ipv4(&bpath, text).filter(|ip| {
                        let inside = cidr.contains(ip);
                        if !inside {
                            self.report.error(
                                &bpath,
                                format!("broadcast_address {ip} is outside subnet {cidr}"),
                            );
                        }
                        inside
                    })
                }
            };
            if let Some(b) = broadcast {
                options.set(code::BROADCAST_ADDRESS, b.octets());
            }
        } else if let Some(text) = &raw.broadcast_address {
            self.ipv4(&key_path(path, "broadcast_address"), text);
        }
        let routers = self.client_options(path, &raw.option_keys(), cidr, &mut options);

        let mut pools = Vec::new();
        let pool_path = key_path(path, "pool");
        for (i, p) in raw.pool.iter().enumerate() {
            if let Some(p) = p
                && let Some(pool) = self.pool(&index_path(&pool_path, i), p, cidr, &routers)
            {
                pools.push(pool);
            }
        }
        let mut reservations = Vec::new();
        let res_path = key_path(path, "reservation");
        for (i, r) in raw.reservation.iter().enumerate() {
            if let Some(r) = r
                && let Some(res) = self.reservation(&index_path(&res_path, i), r, cidr, &routers)
            {
                reservations.push(res);
            }
        }
        if self.report.count() != mark {
            return None;
        }
        let always_send = self.codes(&key_path(path, "always_send"), raw.always_send.as_deref());
        let (lease_time, renewal_time, rebinding_time) = times?;
        Some(SubnetConfig {
            cidr: cidr?,
            interface: raw.interface.clone(),
            lease_time,
            renewal_time,
            rebinding_time,
            pools,
            reservations,
            options,
            always_send,
            shared_network: raw.shared_network.clone().filter(|n| !n.is_empty()),
        })
    }

    /// `"N/s"`, `"N/m"` or `"N/h"` (N > 0).
    fn rate(&mut self, path: &str, text: Option<&str>) -> Option<Rate> {
        let text = text?;
        let parsed = text.split_once('/').and_then(|(n, unit)| {
            let n: u32 = n.trim().parse().ok().filter(|n| *n > 0)?;
            let secs = match unit.trim() {
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3_600.0,
                _ => return None,
            };
            let per_sec = f64::from(n) / secs;
            Some(Rate {
                per_sec,
                burst: per_sec.max(1.0),
            })
        });
        if parsed.is_none() {
            self.report.error(
                path,
                format!(r#"rate {text:?} is not a positive count per unit such as "10/s", "600/m" or "100/h""#),
            );
        }
        parsed
    }

    /// A list of option codes (1..=254).
    fn codes(&mut self, path: &str, raw: Option<&[i64]>) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &c) in raw.unwrap_or_default().iter().enumerate() {
            match u8::try_from(c) {
                Ok(code) if (1..=254).contains(&code) => out.push(code),
                _ => self.report.error(
                    &index_path(path, i),
                    format!("option code {c} is not between 1 and 254"),
                ),
            }
        }
        out
    }

    /// `[[class]]`: at most [`MAX_CLASSES`], unique names.
    fn classes(&mut self, raw: &[Option<RawClass>]) -> Vec<ClassConfig> {
        if raw.len() > MAX_CLASSES {
            self.report.error(
                "class",
                format!("{} classes; at most {MAX_CLASSES} are supported", raw.len()),
            );
        }
        let mut names: HashMap<String, String> = HashMap::new();
        let mut out = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            let path = index_path("class", i);
            let Some(r) = r else { continue };
            if let Some(name) = &r.name
                && let Some(first) = names.insert(name.clone(), path.clone())
            {
                self.report.error(
                    &key_path(&path, "name"),
                    format!("class name {name:?} is already used by {first}"),
                );
            }
            if let Some(c) = self.class(&path, r) {
                out.push(c);
            }
        }
        out
    }

    fn class(&mut self, path: &str, raw: &RawClass) -> Option<ClassConfig> {
        let mark = self.report.count();
        let name = match raw.name.as_deref() {
            None => {
                self.missing(&key_path(path, "name"));
                None
            }
            Some("") => {
                self.report
                    .error(&key_path(path, "name"), "must not be empty");
                None
            }
            Some(n) => Some(n.to_owned()),
        };
        let mpath = key_path(path, "match");
        let matcher = match &raw.matcher {
            None => {
                self.missing(&mpath);
                ClassMatch::default()
            }
            Some(m) => self.class_match(&mpath, m),
        };
        let next_server = raw
            .next_server
            .as_deref()
            .and_then(|t| self.ipv4(&key_path(path, "next_server"), t));
        let mut options = DhcpOptions::default();
        self.client_options(path, &raw.option_keys(), None, &mut options);
        // RFC 2132 §9.4, §9.5: NVT ASCII, at least one octet.
        for (key, code, value) in [
            (
                "tftp_server_name",
                code::TFTP_SERVER_NAME,
                &raw.tftp_server_name,
            ),
            ("boot_file", code::BOOTFILE_NAME, &raw.boot_file),
        ] {
            if let Some(v) = value {
                if v.is_empty() || v.len() > 255 || !v.is_ascii() {
                    self.report.error(
                        &key_path(path, key),
                        format!("{v:?} must be 1 to 255 ASCII characters"),
                    );
                } else {
                    options.set(code, v.as_bytes().to_vec());
                }
            }
        }
        let always_send = self.codes(&key_path(path, "always_send"), raw.always_send.as_deref());
        if self.report.count() != mark {
            return None;
        }
        Some(ClassConfig {
            name: name?,
            matcher,
            next_server,
            boot_file: raw.boot_file.clone(),
            options,
            always_send,
        })
    }

    fn class_match(&mut self, path: &str, raw: &RawClassMatch) -> ClassMatch {
        let mac_prefix = raw.mac_prefix.as_deref().and_then(|t| {
            let parsed = t.parse::<HwAddr>().ok().map(|h| h.as_bytes().to_vec());
            if parsed.is_none() {
                self.report.error(
                    &key_path(path, "mac_prefix"),
                    format!("{t:?} is not hex octets such as \"02:00:00\""),
                );
            }
            parsed
        });
        let client_arch = raw.client_arch.and_then(|a| match u16::try_from(a) {
            Ok(a) => Some(a),
            Err(_) => {
                self.report.error(
                    &key_path(path, "client_arch"),
                    format!("{a} is not an architecture type (0 to 65535)"),
                );
                None
            }
        });
        let m = ClassMatch {
            vendor_class: raw.vendor_class.clone(),
            user_class: raw.user_class.clone(),
            mac_prefix,
            circuit_id: raw.circuit_id.clone(),
            remote_id: raw.remote_id.clone(),
            subscriber_id: raw.subscriber_id.clone(),
            hostname: raw.hostname.clone(),
            client_arch,
        };
        if m == ClassMatch::default() && raw.mac_prefix.is_none() && raw.client_arch.is_none() {
            self.report
                .error(path, "a class needs at least one match condition");
        }
        m
    }

    fn cidr(&mut self, path: &str, text: &str) -> Option<Ipv4Net> {
        let Ok(net) = text.parse::<Ipv4Net>() else {
            self.report.error(
                path,
                format!(r#"{text:?} is not an IPv4 network such as "198.18.0.0/16""#),
            );
            return None;
        };
        if net.addr() != net.network() {
            let fixed = net.trunc();
            self.report.error(
                path,
                format!(
                    "{net} is not a network address (host bits are set); did you mean {fixed}?"
                ),
            );
            return None;
        }
        if net.prefix_len() > MAX_SUBNET_PREFIX {
            self.report.error(
                path,
                format!(
                    "{net} is too small: a subnet needs a network, a broadcast and a client address (at most /{MAX_SUBNET_PREFIX})"
                ),
            );
            return None;
        }
        self.cidrs.push((path.to_owned(), net));
        Some(net)
    }

    /// Lease time, T1 and T2 in seconds; defaults per RFC 2131 §4.4.5 (T1 = 0.5 × lease,
    /// T2 = 0.875 × lease); requires 0 < T1 < T2 < lease.
    fn lease_times(&mut self, path: &str, raw: &RawSubnet) -> Option<(u64, u64, u64)> {
        let lpath = key_path(path, "lease_time");
        let t1_path = key_path(path, "renewal_time");
        let t2_path = key_path(path, "rebinding_time");
        // A timer of the wrong TOML type reads as absent; comparing the others against its
        // default would only add confusing errors.
        if [&lpath, &t1_path, &t2_path]
            .iter()
            .any(|p| self.report.has_error_at(p))
        {
            return None;
        }
        let lease = match &raw.lease_time {
            None => DEFAULT_LEASE_TIME,
            Some(d) => self.duration(&lpath, d)?,
        };
        if lease < MIN_LEASE_TIME {
            self.report.error(
                &lpath,
                format!(
                    "lease_time {} is shorter than the minimum {}",
                    format_duration(lease),
                    format_duration(MIN_LEASE_TIME)
                ),
            );
            return None;
        }
        if lease > MAX_LEASE_TIME {
            // RFC 2131 §3.3: option 51 is 32 bits and 0xffffffff means "infinite".
            self.report.error(
                &lpath,
                format!("lease_time {lease}s is longer than the maximum {MAX_LEASE_TIME}s"),
            );
            return None;
        }
        let t1 = match &raw.renewal_time {
            None => lease / 2,
            Some(d) => self.duration(&t1_path, d)?,
        };
        let t2 = match &raw.rebinding_time {
            None => lease * 7 / 8,
            Some(d) => self.duration(&t2_path, d)?,
        };
        let t1_note = if raw.renewal_time.is_some() {
            ""
        } else {
            " (default: half of lease_time)"
        };
        let t2_note = if raw.rebinding_time.is_some() {
            ""
        } else {
            " (default: 7/8 of lease_time)"
        };
        let (f1, f2, fl) = (
            format_duration(t1),
            format_duration(t2),
            format_duration(lease),
        );
        if t1 == 0 {
            self.report
                .error(&t1_path, "renewal_time must be at least 1s");
        } else if t2 >= lease {
            self.report.error(
                &t2_path,
                format!("rebinding_time {f2} must be less than lease_time {fl}"),
            );
        } else if t1 >= t2 {
            let at = if raw.renewal_time.is_some() {
                &t1_path
            } else {
                &t2_path
            };
            self.report.error(
                at,
                format!(
                    "renewal_time {f1}{t1_note} must be less than rebinding_time {f2}{t2_note}"
                ),
            );
        } else {
            return Some((lease, t1, t2));
        }
        None
    }

    /// Reads the per-client option keys into `options`; returns the valid routers (for
    /// checking pools and reservations against them).
    fn client_options(
        &mut self,
        path: &str,
        keys: &OptionKeys<'_>,
        cidr: Option<Ipv4Net>,
        options: &mut DhcpOptions,
    ) -> Vec<Ipv4Addr> {
        let mut routers = Vec::new();
        if let Some(list) = keys.routers {
            let rpath = key_path(path, "routers");
            if list.is_empty() {
                self.report.error(&rpath, "must list at least one address");
            }
            let mark = self.report.count();
            for (i, text) in list.iter().enumerate() {
                let ipath = index_path(&rpath, i);
                if let Some(ip) = self.ipv4(&ipath, text)
                    && cidr.is_none_or(|c| self.host_in(&ipath, "router", ip, c))
                {
                    routers.push(ip);
                }
            }
            if self.report.count() == mark && !routers.is_empty() {
                let bytes: Vec<u8> = routers.iter().flat_map(|ip| ip.octets()).collect();
                options.set(code::ROUTER, bytes);
            }
        }
        if let Some(list) = keys.dns_servers
            && let Some(bytes) = self.address_list(&key_path(path, "dns_servers"), list)
        {
            options.set(code::DNS_SERVERS, bytes);
        }
        if let Some(name) = keys.domain_name
            && self.dns_name(&key_path(path, "domain_name"), "domain_name", name)
        {
            let name = name.strip_suffix('.').unwrap_or(name);
            options.set(code::DOMAIN_NAME, name.as_bytes());
        }
        if let Some(list) = keys.domain_search {
            self.domain_search(&key_path(path, "domain_search"), list, options);
        }
        if let Some(list) = keys.ntp_servers
            && let Some(bytes) = self.address_list(&key_path(path, "ntp_servers"), list)
        {
            options.set(code::NTP_SERVERS, bytes);
        }
        if let Some(mtu) = keys.mtu {
            match u16::try_from(mtu).ok().filter(|m| i64::from(*m) >= MIN_MTU) {
                Some(m) => options.set(code::INTERFACE_MTU, m.to_be_bytes()),
                None => self.report.error(
                    &key_path(path, "mtu"),
                    format!("mtu {mtu} is out of range ({MIN_MTU}..=65535)"),
                ),
            }
        }
        if let Some(routes) = keys.classless_routes {
            self.classless_routes(&key_path(path, "classless_routes"), routes, cidr, options);
        }
        self.custom_options(&key_path(path, "option"), keys.option, options);
        routers
    }

    fn domain_search(&mut self, path: &str, list: &[String], options: &mut DhcpOptions) {
        if list.is_empty() {
            self.report.error(path, "must list at least one domain");
            return;
        }
        let mark = self.report.count();
        for (i, name) in list.iter().enumerate() {
            self.dns_name(&index_path(path, i), "domain", name);
        }
        if self.report.count() != mark {
            return;
        }
        let names: Vec<&str> = list.iter().map(String::as_str).collect();
        // RFC 3397 §2: RFC 1035 names, compressed, concatenated.
        match hyperdhcp_wire::encode_domain_search(&names) {
            Ok(bytes) => options.set(code::DOMAIN_SEARCH, bytes),
            Err(e) => self.report.error(path, e.to_string()),
        }
    }

    fn classless_routes(
        &mut self,
        path: &str,
        routes: &[Option<RawRoute>],
        cidr: Option<Ipv4Net>,
        options: &mut DhcpOptions,
    ) {
        if routes.is_empty() {
            self.report.error(path, "must list at least one route");
            return;
        }
        let mark = self.report.count();
        let mut encoded: Vec<(Ipv4Addr, u8, Ipv4Addr)> = Vec::new();
        let mut seen: Vec<(Ipv4Net, String)> = Vec::new();
        for (i, route) in routes.iter().enumerate() {
            let Some(route) = route else { continue };
            let rpath = index_path(path, i);
            let dpath = key_path(&rpath, "destination");
            let gpath = key_path(&rpath, "gateway");
            let destination = match &route.destination {
                None => {
                    self.missing(&dpath);
                    None
                }
                Some(text) => match text.parse::<Ipv4Net>() {
                    Ok(net) if net.addr() == net.network() => Some(net),
                    Ok(net) => {
                        let fixed = net.trunc();
                        self.report.error(
                            &dpath,
                            format!("destination {net} has host bits set; did you mean {fixed}?"),
                        );
                        None
                    }
                    Err(_) => {
                        self.report.error(
                            &dpath,
                            format!(r#"{text:?} is not an IPv4 network such as "10.0.0.0/8""#),
                        );
                        None
                    }
                },
            };
            let gateway = match &route.gateway {
                None => {
                    self.missing(&gpath);
                    None
                }
                Some(text) => self
                    .ipv4(&gpath, text)
                    .filter(|ip| cidr.is_none_or(|c| self.host_in(&gpath, "gateway", *ip, c))),
            };
            if let Some(dest) = destination {
                if let Some((_, first)) = seen.iter().find(|(d, _)| *d == dest) {
                    self.report.error(
                        &dpath,
                        format!("destination {dest} is already routed by {first}"),
                    );
                } else {
                    seen.push((dest, rpath.clone()));
                }
                if let Some(gw) = gateway {
                    encoded.push((dest.network(), dest.prefix_len(), gw));
                }
            }
        }
        if self.report.count() == mark {
            // RFC 3442 §3: width, significant destination octets, router; per route.
            options.set(
                code::CLASSLESS_STATIC_ROUTE,
                hyperdhcp_wire::encode_classless_routes(&encoded),
            );
        }
    }

    fn custom_options(
        &mut self,
        path: &str,
        list: &[Option<RawOption>],
        options: &mut DhcpOptions,
    ) {
        let mut seen: Vec<(u8, String)> = Vec::new();
        for (i, raw) in list.iter().enumerate() {
            let Some(raw) = raw else { continue };
            let opath = index_path(path, i);
            let cpath = key_path(&opath, "code");
            let tpath = key_path(&opath, "type");
            let vpath = key_path(&opath, "value");
            let code = match raw.code {
                None => {
                    self.missing(&cpath);
                    None
                }
                Some(c) => self.option_code(&cpath, c),
            };
            if let Some(c) = code {
                if let Some((_, first)) = seen.iter().find(|(s, _)| *s == c) {
                    self.report
                        .error(&cpath, format!("code {c} is already set by {first}"));
                } else {
                    seen.push((c, opath.clone()));
                }
            }
            let kind = match raw.kind.as_deref() {
                None => {
                    self.missing(&tpath);
                    None
                }
                Some(name) => {
                    let kind = OptionType::from_name(name);
                    if kind.is_none() {
                        let names: Vec<&str> = OPTION_TYPES.iter().map(|(n, _)| *n).collect();
                        self.report.error(
                            &tpath,
                            format!("type {name:?} is not one of: {}", names.join(", ")),
                        );
                    }
                    kind
                }
            };
            let Some(value) = &raw.value else {
                self.missing(&vpath);
                continue;
            };
            let Some(kind) = kind else { continue };
            match kind.encode(value) {
                Ok(bytes) if bytes.len() > MAX_OPTION_LEN => self.report.error(
                    &vpath,
                    format!(
                        "value is {} octets long; an option holds at most {MAX_OPTION_LEN}",
                        bytes.len()
                    ),
                ),
                Ok(bytes) => {
                    if let Some(c) = code {
                        options.set(c, bytes);
                    }
                }
                Err(why) => self.report.error(&vpath, why),
            }
        }
    }

    /// A code a custom option may set: 1..=254 and not in [`RESERVED_CODES`].
    fn option_code(&mut self, path: &str, code: i64) -> Option<u8> {
        // RFC 2132 §3.1/§3.2: 0 is pad and 255 is end, neither carries a value.
        let Some(c) = u8::try_from(code).ok().filter(|c| (1..=254).contains(c)) else {
            self.report
                .error(path, format!("code {code} is out of range (1..=254)"));
            return None;
        };
        if let Some((_, name, instead)) = RESERVED_CODES.iter().find(|(r, _, _)| *r == c) {
            self.report.error(
                path,
                format!("code {c} ({name}) cannot be set as a custom option: {instead}"),
            );
            return None;
        }
        Some(c)
    }

    fn pool(
        &mut self,
        path: &str,
        raw: &RawPool,
        cidr: Option<Ipv4Net>,
        routers: &[Ipv4Addr],
    ) -> Option<PoolConfig> {
        let mark = self.report.count();
        let bound = |v: &mut Self, key: &str, text: &Option<String>| {
            let kpath = key_path(path, key);
            match text {
                None => {
                    v.missing(&kpath);
                    None
                }
                Some(text) => v
                    .ipv4(&kpath, text)
                    .filter(|ip| cidr.is_none_or(|c| v.host_in(&kpath, key, *ip, c))),
            }
        };
        let start = bound(self, "start", &raw.start);
        let end = bound(self, "end", &raw.end);
        let (start, end) = (start?, end?);
        if end < start {
            self.report.error(
                &key_path(path, "end"),
                format!("end {end} is before start {start}"),
            );
            return None;
        }
        let range = start..=end;
        for router in routers.iter().filter(|r| range.contains(*r)) {
            self.report
                .error(path, format!("pool {start}-{end} contains router {router}"));
        }
        if let Some(id) = self.server_id.filter(|id| range.contains(id)) {
            self.report.error(
                path,
                format!("pool {start}-{end} contains server.server_id {id}"),
            );
        }
        if self.report.count() != mark {
            return None;
        }
        self.pools.push((path.to_owned(), start, end));
        Some(PoolConfig {
            start,
            end,
            bootp: raw.bootp.unwrap_or(false),
            classes: raw.classes.clone().unwrap_or_default(),
        })
    }

    fn reservation(
        &mut self,
        path: &str,
        raw: &RawReservation,
        cidr: Option<Ipv4Net>,
        subnet_routers: &[Ipv4Addr],
    ) -> Option<ReservationConfig> {
        let mark = self.report.count();
        if raw.mac.is_none()
            && raw.client_id.is_none()
            && raw.circuit_id.is_none()
            && raw.remote_id.is_none()
            && raw.subscriber_id.is_none()
        {
            self.report.error(
                path,
                "a reservation needs `mac`, `client_id`, `circuit_id`, `remote_id` or `subscriber_id` to match a client",
            );
        }
        // RFC 3046 §2.0: sub-option values are 1 to 255 octets.
        let relay_id = |report: &mut Report<'_>, key: &str, v: &Option<String>| {
            let v = v.as_deref()?;
            if v.is_empty() || v.len() > MAX_RELAY_ID_LEN {
                report.error(
                    &key_path(path, key),
                    format!("{key} {v:?} must be 1 to {MAX_RELAY_ID_LEN} bytes"),
                );
                return None;
            }
            Some(Box::<[u8]>::from(v.as_bytes()))
        };
        let circuit_id = relay_id(self.report, "circuit_id", &raw.circuit_id);
        let remote_id = relay_id(self.report, "remote_id", &raw.remote_id);
        let subscriber_id = relay_id(self.report, "subscriber_id", &raw.subscriber_id);
        let mac = raw
            .mac
            .as_deref()
            .and_then(|text| self.mac(&key_path(path, "mac"), text));
        if let Some(mac) = mac {
            let mpath = key_path(path, "mac");
            claim(
                self.report,
                &mut self.macs,
                mac,
                &mpath,
                path,
                &format!("mac {mac}"),
            );
        }
        let client_id = raw
            .client_id
            .as_deref()
            .and_then(|text| self.client_id(&key_path(path, "client_id"), text));
        if let Some(id) = &client_id {
            let shown = raw.client_id.as_deref().unwrap_or_default();
            let cpath = key_path(path, "client_id");
            claim(
                self.report,
                &mut self.client_ids,
                id.clone(),
                &cpath,
                path,
                &format!("client_id {shown}"),
            );
        }
        let ipath = key_path(path, "ip");
        let ip = match &raw.ip {
            None => {
                self.missing(&ipath);
                None
            }
            Some(text) => self
                .ipv4(&ipath, text)
                .filter(|ip| cidr.is_none_or(|c| self.host_in(&ipath, "ip", *ip, c))),
        };
        if let Some(ip) = ip {
            if subnet_routers.contains(&ip) {
                self.report
                    .error(&ipath, format!("ip {ip} is a router of this subnet"));
            } else if self.server_id == Some(ip) {
                self.report
                    .error(&ipath, format!("ip {ip} is server.server_id"));
            } else {
                claim(
                    self.report,
                    &mut self.ips,
                    ip,
                    &ipath,
                    path,
                    &format!("ip {ip}"),
                );
            }
        }
        if let Some(name) = &raw.hostname {
            self.dns_name(&key_path(path, "hostname"), "hostname", name);
        }
        let mut options = DhcpOptions::default();
        self.client_options(path, &raw.option_keys(), cidr, &mut options);
        if self.report.count() != mark {
            return None;
        }
        Some(ReservationConfig {
            mac,
            client_id: client_id.map(Vec::into_boxed_slice),
            circuit_id,
            remote_id,
            subscriber_id,
            ip: ip?,
            hostname: raw
                .hostname
                .as_deref()
                .map(|h| h.strip_suffix('.').unwrap_or(h).to_owned()),
            options,
        })
    }

    fn mac(&mut self, path: &str, text: &str) -> Option<HwAddr> {
        match text.parse::<HwAddr>() {
            Ok(mac) if mac.as_bytes().len() == ETHERNET_ADDR_LEN => Some(mac),
            Ok(_) => {
                self.report.error(
                    path,
                    format!("mac {text:?} is not {ETHERNET_ADDR_LEN} octets; use client_id for other hardware"),
                );
                None
            }
            Err(_) => {
                self.report.error(
                    path,
                    format!(r#"mac {text:?} is not a MAC address such as "02:00:00:00:00:aa""#),
                );
                None
            }
        }
    }

    fn client_id(&mut self, path: &str, text: &str) -> Option<Vec<u8>> {
        match parse_hex(text) {
            Some(bytes) if bytes.len() >= MIN_CLIENT_ID_LEN => Some(bytes),
            Some(_) => {
                self.report.error(
                    path,
                    format!("client_id {text:?} is shorter than {MIN_CLIENT_ID_LEN} octets (RFC 2132 §9.14)"),
                );
                None
            }
            None => {
                self.report.error(
                    path,
                    format!(
                        r#"client_id {text:?} is not hex octets (expected "01:02:ab" or "0102ab")"#
                    ),
                );
                None
            }
        }
    }

    /// Subnets must not overlap, and neither may pools (checked across the whole file).
    fn check_overlaps(&mut self) {
        // Two CIDR blocks overlap exactly when one contains the other's network address.
        let cidrs = std::mem::take(&mut self.cidrs);
        for (j, (path, net)) in cidrs.iter().enumerate() {
            if let Some((first, other)) = cidrs
                .iter()
                .take(j)
                .find(|(_, o)| o.contains(&net.network()) || net.contains(&o.network()))
            {
                self.report
                    .error(path, format!("{net} overlaps {first} {other}"));
            }
        }
        let mut pools = std::mem::take(&mut self.pools);
        // Sort by start (stable: file order breaks ties), then compare each pool with the
        // furthest-reaching one before it.
        pools.sort_by_key(|(_, start, _)| *start);
        let mut reach: Option<&(String, Ipv4Addr, Ipv4Addr)> = None;
        for pool in &pools {
            let (path, start, end) = pool;
            if let Some((other_path, other_start, other_end)) = reach
                && start <= other_end
            {
                self.report.error(
                    path,
                    format!("{start}-{end} overlaps {other_path} {other_start}-{other_end}"),
                );
            }
            if reach.is_none_or(|(_, _, e)| end > e) {
                reach = Some(pool);
            }
        }
    }
}

/// Records that the reservation at `owner` claims `key`, or reports that another one did first.
fn claim<K: std::hash::Hash + Eq>(
    report: &mut Report<'_>,
    seen: &mut HashMap<K, String>,
    key: K,
    path: &str,
    owner: &str,
    shown: &str,
) {
    match seen.get(&key) {
        Some(first) => report.error(path, format!("{shown} is already reserved by {first}")),
        None => {
            seen.insert(key, owner.to_owned());
        }
    }
}
