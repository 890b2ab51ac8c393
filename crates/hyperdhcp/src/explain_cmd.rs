//! `hyperdhcp explain`: builds a DHCPDISCOVER from the command line, runs it through an
//! engine built from the configuration (with no leases, or the store's with `--store`) and
//! prints which subnet, pool, classes and reservation apply and every option of the OFFER
//! with its value and source. Nothing is sent.

use std::net::Ipv4Addr;
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use hyperdhcp_config::Config;
use hyperdhcp_engine::{Engine, Explanation, Outcome, RequestContext};
use hyperdhcp_store::{LeaseStore, SqliteStore};
use hyperdhcp_wire::{
    CLIENT_PORT, FLAG_BROADCAST, Message, MessageBuilder, MessageType, SERVER_PORT, code,
};
use ipnet::Ipv4Net;
use serde::Serialize;

use crate::cli::ExplainArgs;

/// xid of the synthetic DISCOVER.
const EXPLAIN_XID: u32 = 0x6578_706c;
/// Interface name used when neither `--interface` nor `server.interfaces` names one.
const DEFAULT_INTERFACE: &str = "eth0";

/// Runs `hyperdhcp explain`.
pub fn run(args: &ExplainArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config).map_err(|e| {
        crate::serve::config_error(
            &format!("invalid configuration {}", args.config.display()),
            e,
        )
    })?;
    let leases = match &args.store {
        Some(path) => SqliteStore::open_read_only(path)?.load_all()?,
        None => Vec::new(),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let packet = discover(args)?;
    let msg = Message::parse(&packet).context("building the DISCOVER")?;
    let interface = args
        .interface
        .clone()
        .or_else(|| config.server.interfaces.first().cloned())
        .unwrap_or_else(|| DEFAULT_INTERFACE.to_string());
    let addrs: Vec<Ipv4Net> = match args.interface_addr {
        Some(a) => vec![a],
        None => default_interface_addr(&config, &interface)
            .into_iter()
            .collect(),
    };
    let source = match args.giaddr {
        Some(g) => SocketAddrV4::new(g, SERVER_PORT),
        None => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT),
    };
    let ctx = RequestContext {
        interface: &interface,
        interface_addrs: &addrs,
        source,
    };
    let mut engine = Engine::new(Arc::new(config), leases, now);
    let e = engine.explain(&msg, &ctx, now);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ExplainJson::new(args, &e))?
        );
    } else {
        print!("{}", render(args, &interface, &addrs, &e));
    }
    Ok(())
}

/// The receiving interface's address when `--interface-addr` is not given: the first host
/// of the first subnet served on that interface (or of the first subnet).
fn default_interface_addr(config: &Config, interface: &str) -> Option<Ipv4Net> {
    let subnet = config
        .subnets
        .iter()
        .find(|s| s.interface.as_deref() == Some(interface))
        .or_else(|| config.subnets.iter().find(|s| s.interface.is_none()))?;
    let host = subnet.cidr.hosts().next()?;
    Ipv4Net::new(host, subnet.cidr.prefix_len()).ok()
}

/// The synthetic DISCOVER: chaddr, giaddr (hops 1), broadcast flag, `--option`s.
fn discover(args: &ExplainArgs) -> anyhow::Result<Vec<u8>> {
    let mut b = MessageBuilder::request(MessageType::Discover, EXPLAIN_XID, args.mac.as_bytes());
    b.set_htype(args.mac.htype).set_flags(FLAG_BROADCAST);
    if let Some(g) = args.giaddr {
        b.set_giaddr(g).set_hops(1);
    }
    for spec in &args.option {
        let (c, value) = parse_option(spec)?;
        b.option(c, &value);
    }
    Ok(b.finish())
}

/// `CODE=VALUE`: an IPv4 address (4 bytes); for 57 and 93 a 16-bit number; a comma list of
/// numbers (one byte each, e.g. a parameter request list `55=1,3,6`); hex octets
/// `01:02:0a` or `0x01020a`; else the text itself.
fn parse_option(spec: &str) -> anyhow::Result<(u8, Vec<u8>)> {
    let Some((c, v)) = spec.split_once('=') else {
        bail!("--option {spec:?}: expected CODE=VALUE");
    };
    let c: u8 = match c.trim().parse() {
        Ok(c) if (1..=254).contains(&c) => c,
        _ => bail!("--option {spec:?}: option code must be 1 to 254"),
    };
    if let Ok(a) = v.parse::<Ipv4Addr>() {
        return Ok((c, a.octets().to_vec()));
    }
    if matches!(c, code::MAX_MESSAGE_SIZE | code::CLIENT_ARCH)
        && let Ok(n) = v.parse::<u16>()
    {
        return Ok((c, n.to_be_bytes().to_vec()));
    }
    if !v.is_empty() && v.chars().all(|ch| ch.is_ascii_digit() || ch == ',') {
        let bytes: Result<Vec<u8>, _> = v.split(',').map(str::parse::<u8>).collect();
        if let Ok(bytes) = bytes {
            return Ok((c, bytes));
        }
    }
    if let Some(hex) = v.strip_prefix("0x")
        && hex.len().is_multiple_of(2)
        && let Ok(bytes) = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<Vec<u8>, _>>()
    {
        return Ok((c, bytes));
    }
    let parts: Vec<&str> = v.split(':').collect();
    if parts.len() > 1
        && let Ok(bytes) = parts
            .iter()
            .map(|p| {
                if p.len() <= 2 {
                    u8::from_str_radix(p, 16)
                } else {
                    u8::from_str_radix("zz", 16)
                }
            })
            .collect::<Result<Vec<u8>, _>>()
    {
        return Ok((c, bytes));
    }
    Ok((c, v.as_bytes().to_vec()))
}

/// Short name of an option code, for the table.
fn option_name(c: u8) -> &'static str {
    match c {
        code::SUBNET_MASK => "subnet-mask",
        code::ROUTER => "routers",
        code::DNS_SERVERS => "dns-servers",
        code::HOSTNAME => "host-name",
        code::DOMAIN_NAME => "domain-name",
        code::INTERFACE_MTU => "interface-mtu",
        code::BROADCAST_ADDRESS => "broadcast-address",
        code::NTP_SERVERS => "ntp-servers",
        code::VENDOR_SPECIFIC => "vendor-specific",
        code::LEASE_TIME => "lease-time",
        code::MESSAGE_TYPE => "message-type",
        code::SERVER_ID => "server-id",
        code::RENEWAL_TIME => "renewal-time",
        code::REBINDING_TIME => "rebinding-time",
        code::TFTP_SERVER_NAME => "tftp-server-name",
        code::BOOTFILE_NAME => "bootfile-name",
        code::RELAY_AGENT_INFO => "relay-agent-info",
        code::DOMAIN_SEARCH => "domain-search",
        code::CLASSLESS_STATIC_ROUTE => "classless-routes",
        _ => "",
    }
}

/// A value shown the way an administrator wrote it.
fn show_value(c: u8, v: &[u8]) -> String {
    let ips = || {
        v.chunks(4)
            .map(|q| match <[u8; 4]>::try_from(q) {
                Ok(a) => Ipv4Addr::from(a).to_string(),
                Err(_) => hex(q),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match c {
        code::SUBNET_MASK
        | code::ROUTER
        | code::DNS_SERVERS
        | code::BROADCAST_ADDRESS
        | code::NTP_SERVERS
        | code::SERVER_ID
            if v.len().is_multiple_of(4) =>
        {
            ips()
        }
        code::LEASE_TIME | code::RENEWAL_TIME | code::REBINDING_TIME => <[u8; 4]>::try_from(v)
            .map_or_else(|_| hex(v), |b| format!("{}s", u32::from_be_bytes(b))),
        code::MESSAGE_TYPE => v
            .first()
            .and_then(|&t| MessageType::from_u8(t))
            .map_or_else(|| hex(v), |t| t.as_str().to_string()),
        code::CLASSLESS_STATIC_ROUTE => hyperdhcp_wire::decode_classless_routes(v).map_or_else(
            || hex(v),
            |routes| {
                routes
                    .iter()
                    .map(|((dst, len), router)| format!("{dst}/{len} via {router}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        _ if !v.is_empty() && v.iter().all(|b| b.is_ascii_graphic() || *b == b' ') => {
            format!("{:?}", String::from_utf8_lossy(v))
        }
        _ => hex(v),
    }
}

/// Colon-separated hex octets.
fn hex(v: &[u8]) -> String {
    v.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The outcome in words.
fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Offered(a) => format!("OFFER {a}"),
        Outcome::Acked(a) => format!("ACK {a}"),
        Outcome::Naked(why) => format!("NAK ({why})"),
        Outcome::Ignored(r) => format!("no reply ({})", r.as_str()),
        other => format!("{other:?}"),
    }
}

/// The human-readable report.
fn render(args: &ExplainArgs, interface: &str, addrs: &[Ipv4Net], e: &Explanation) -> String {
    let mut s = String::new();
    let via = match args.giaddr {
        Some(g) => format!("relayed by giaddr {g}"),
        None => format!(
            "on interface {interface} ({})",
            addrs
                .first()
                .map_or_else(|| "no address".to_string(), ToString::to_string)
        ),
    };
    s += &format!("request:      DHCPDISCOVER from {} {via}\n", args.mac);
    s += &format!(
        "subnet:       {}\n",
        e.subnet.map_or_else(
            || "none".to_string(),
            |n| format!("{n} (selected by {})", e.selected_by)
        )
    );
    s += &format!(
        "pool:         {}\n",
        e.pool
            .map_or_else(|| "none".to_string(), |(a, b)| format!("{a}-{b}"))
    );
    s += &format!(
        "classes:      {}\n",
        if e.classes.is_empty() {
            "none".to_string()
        } else {
            e.classes.join(", ")
        }
    );
    s += &format!(
        "reservation:  {}\n",
        e.reservation.map_or_else(
            || "none".to_string(),
            |(ip, by)| format!("{ip} (matched on {by})")
        )
    );
    s += &format!("result:       {}\n", outcome_text(&e.outcome));
    if let Some(n) = e.next_server {
        s += &format!("next-server:  {n}\n");
    }
    if let Some(f) = &e.boot_file {
        s += &format!("boot-file:    {f}\n");
    }
    if !e.options.is_empty() {
        s += "options (in reply order):\n";
        for o in &e.options {
            s += &format!(
                "  {:>3} {:<18} {:<40} from {}\n",
                o.code,
                option_name(o.code),
                show_value(o.code, &o.value),
                o.source
            );
        }
    }
    s
}

/// `--json` output.
#[derive(Serialize)]
struct ExplainJson {
    mac: String,
    giaddr: Option<Ipv4Addr>,
    result: String,
    offered: Option<Ipv4Addr>,
    subnet: Option<String>,
    selected_by: &'static str,
    pool: Option<String>,
    classes: Vec<String>,
    reservation: Option<Ipv4Addr>,
    reservation_matched_on: Option<&'static str>,
    next_server: Option<Ipv4Addr>,
    boot_file: Option<String>,
    options: Vec<OptionJson>,
}

/// One option in `--json` output.
#[derive(Serialize)]
struct OptionJson {
    code: u8,
    name: &'static str,
    value: String,
    hex: String,
    source: String,
}

impl ExplainJson {
    fn new(args: &ExplainArgs, e: &Explanation) -> Self {
        Self {
            mac: args.mac.to_string(),
            giaddr: args.giaddr,
            result: outcome_text(&e.outcome),
            offered: match e.outcome {
                Outcome::Offered(a) => Some(a),
                _ => None,
            },
            subnet: e.subnet.map(|n| n.to_string()),
            selected_by: e.selected_by,
            pool: e.pool.map(|(a, b)| format!("{a}-{b}")),
            classes: e.classes.clone(),
            reservation: e.reservation.map(|r| r.0),
            reservation_matched_on: e.reservation.map(|r| r.1),
            next_server: e.next_server,
            boot_file: e.boot_file.clone(),
            options: e
                .options
                .iter()
                .map(|o| OptionJson {
                    code: o.code,
                    name: option_name(o.code),
                    value: show_value(o.code, &o.value),
                    hex: hex(&o.value),
                    source: o.source.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_parse_by_shape() {
        let p = |s: &str| parse_option(s).unwrap();
        assert_eq!(p("50=198.18.0.9"), (50, vec![198, 18, 0, 9]));
        assert_eq!(p("93=7"), (93, vec![0, 7]));
        assert_eq!(p("55=1,3,6,66,67"), (55, vec![1, 3, 6, 66, 67]));
        assert_eq!(p("61=01:02:00:ff"), (61, vec![1, 2, 0, 0xff]));
        assert_eq!(p("43=0x0102"), (43, vec![1, 2]));
        assert_eq!(
            p("60=PXEClient:Arch:00007"),
            (60, b"PXEClient:Arch:00007".to_vec())
        );
        assert!(parse_option("0=1").is_err());
        assert!(parse_option("nonsense").is_err());
    }

    #[test]
    fn values_display_by_code() {
        assert_eq!(
            show_value(3, &[198, 18, 0, 1, 198, 18, 0, 2]),
            "198.18.0.1, 198.18.0.2"
        );
        assert_eq!(show_value(51, &[0, 0, 14, 16]), "3600s");
        assert_eq!(show_value(67, b"ipxe.efi"), "\"ipxe.efi\"");
        assert_eq!(show_value(43, &[1, 0]), "01:00");
    }
}
