//! The event record: what changed for which lease, as JSON and as `HYPERDHCP_*` variables.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use hyperdhcp_engine::{HwAddr, Lease, UnixTime};
use ipnet::Ipv4Net;
use serde_json::{Value, json};

/// What happened. Names are stable (`lease.ack`), used in hook patterns, JSON and headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// An address was offered (in memory only, RFC 2131 §4.3.1).
    LeaseOffer,
    /// A new binding was acknowledged and committed.
    LeaseAck,
    /// A client's existing binding was extended (ACK for the same client and address).
    LeaseRenew,
    /// The client released its address (DHCPRELEASE).
    LeaseRelease,
    /// The client declined the address (DHCPDECLINE); it is quarantined.
    LeaseDecline,
    /// A binding ran out.
    LeaseExpire,
    /// An address was found in use by someone else (emitted by conflict detection, later).
    ConflictDetected,
    /// A conflicting address became usable again (emitted by conflict detection, later).
    ConflictResolved,
}

impl EventKind {
    /// Every kind, in bit order.
    pub const ALL: [EventKind; 8] = [
        EventKind::LeaseOffer,
        EventKind::LeaseAck,
        EventKind::LeaseRenew,
        EventKind::LeaseRelease,
        EventKind::LeaseDecline,
        EventKind::LeaseExpire,
        EventKind::ConflictDetected,
        EventKind::ConflictResolved,
    ];

    /// The stable name, e.g. `lease.ack`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::LeaseOffer => "lease.offer",
            EventKind::LeaseAck => "lease.ack",
            EventKind::LeaseRenew => "lease.renew",
            EventKind::LeaseRelease => "lease.release",
            EventKind::LeaseDecline => "lease.decline",
            EventKind::LeaseExpire => "lease.expire",
            EventKind::ConflictDetected => "conflict.detected",
            EventKind::ConflictResolved => "conflict.resolved",
        }
    }

    /// This kind's bit in an [`EventMask`].
    pub fn bit(self) -> u32 {
        let i = EventKind::ALL.iter().position(|k| *k == self).unwrap_or(0);
        1 << i
    }
}

/// A set of event kinds as bits (kind `k` is in the set when `mask & k.bit() != 0`).
pub type EventMask = u32;

/// The kinds the patterns (`lease.*`, `conflict.detected`, `*`) select.
pub fn mask_for(patterns: &[String]) -> EventMask {
    EventKind::ALL
        .iter()
        .filter(|k| {
            patterns
                .iter()
                .any(|p| hyperdhcp_config::event_pattern_matches(p, k.as_str()))
        })
        .fold(0, |m, k| m | k.bit())
}

/// One lease or conflict state change. Built on the serving thread from plain copies, turned
/// into JSON only on the hook side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// When, seconds since the Unix epoch.
    pub time: UnixTime,
    /// The address concerned.
    pub ip: Ipv4Addr,
    /// Client hardware address (chaddr).
    pub hwaddr: Option<HwAddr>,
    /// Client identifier (option 61).
    pub client_id: Option<Box<[u8]>>,
    /// Host name (reservation's or the client's option 12).
    pub hostname: Option<Box<str>>,
    /// Lease state after the change (`bound`, `offered`, ...).
    pub state: &'static str,
    /// When the lease state began.
    pub lease_start: UnixTime,
    /// When it ends.
    pub lease_end: UnixTime,
    /// The subnet serving the address.
    pub subnet: Option<Ipv4Net>,
    /// Interface the request arrived on (none for expiry).
    pub interface: Option<Box<str>>,
}

impl Event {
    /// An event about `lease`.
    pub fn from_lease(kind: EventKind, lease: &Lease, time: UnixTime) -> Self {
        Self {
            kind,
            time,
            ip: lease.ip,
            hwaddr: Some(lease.hwaddr),
            client_id: lease.client_id.clone(),
            hostname: lease.hostname.clone(),
            state: lease.state.as_str(),
            lease_start: lease.starts,
            lease_end: lease.ends,
            subnet: None,
            interface: None,
        }
    }

    /// MAC as `02:00:00:00:00:aa`, empty when unknown.
    pub fn mac(&self) -> String {
        self.hwaddr.map(|h| h.to_string()).unwrap_or_default()
    }

    /// Client id as colon-separated hex, empty when absent.
    pub fn client_id_hex(&self) -> String {
        let mut s = String::new();
        for (i, b) in self.client_id.iter().flat_map(|c| c.iter()).enumerate() {
            if i > 0 {
                s.push(':');
            }
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// The event as the JSON object hooks receive.
    pub fn to_json(&self) -> Value {
        let opt = |s: String| if s.is_empty() { Value::Null } else { s.into() };
        json!({
            "event": self.kind.as_str(),
            "time": self.time,
            "ip": self.ip.to_string(),
            "mac": opt(self.mac()),
            "client_id": opt(self.client_id_hex()),
            "hostname": self.hostname.as_deref(),
            "state": self.state,
            "lease_start": self.lease_start,
            "lease_end": self.lease_end,
            "subnet": self.subnet.map(|s| s.to_string()),
            "interface": self.interface.as_deref(),
        })
    }

    /// The `HYPERDHCP_*` environment of a script hook (absent values as empty strings, NUL
    /// bytes removed: a client-chosen host name must not make the spawn fail).
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let clean = |s: &str| s.replace('\0', "");
        vec![
            ("HYPERDHCP_EVENT", self.kind.as_str().to_owned()),
            ("HYPERDHCP_TIME", self.time.to_string()),
            ("HYPERDHCP_IP", self.ip.to_string()),
            ("HYPERDHCP_MAC", self.mac()),
            ("HYPERDHCP_CLIENT_ID", self.client_id_hex()),
            (
                "HYPERDHCP_HOSTNAME",
                self.hostname.as_deref().map(clean).unwrap_or_default(),
            ),
            ("HYPERDHCP_STATE", self.state.to_owned()),
            ("HYPERDHCP_LEASE_START", self.lease_start.to_string()),
            ("HYPERDHCP_LEASE_END", self.lease_end.to_string()),
            (
                "HYPERDHCP_SUBNET",
                self.subnet.map(|s| s.to_string()).unwrap_or_default(),
            ),
            (
                "HYPERDHCP_INTERFACE",
                self.interface.as_deref().map(clean).unwrap_or_default(),
            ),
        ]
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hyperdhcp_engine::LeaseState;

    /// A bound lease event for tests.
    pub(crate) fn sample() -> Event {
        let lease = Lease {
            ip: Ipv4Addr::new(198, 18, 1, 10),
            hwaddr: HwAddr::ethernet([2, 0, 0, 0, 0, 0xaa]),
            client_id: Some(vec![1, 2, 0, 0, 0, 0, 0xaa].into()),
            hostname: Some("host\0a".into()),
            fqdn: None,
            state: LeaseState::Bound,
            starts: 1000,
            ends: 4600,
        };
        let mut e = Event::from_lease(EventKind::LeaseAck, &lease, 1000);
        e.subnet = Some("198.18.0.0/16".parse().expect("net"));
        e.interface = Some("srv0".into());
        e
    }

    #[test]
    fn names_match_the_config_list() {
        let ours: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(ours, hyperdhcp_config::EVENT_NAMES);
    }

    #[test]
    fn masks_follow_patterns() {
        let m = mask_for(&["lease.*".into()]);
        assert_ne!(m & EventKind::LeaseAck.bit(), 0);
        assert_ne!(m & EventKind::LeaseExpire.bit(), 0);
        assert_eq!(m & EventKind::ConflictDetected.bit(), 0);
        let m = mask_for(&["conflict.detected".into(), "lease.renew".into()]);
        assert_eq!(
            m,
            EventKind::ConflictDetected.bit() | EventKind::LeaseRenew.bit()
        );
        assert_eq!(mask_for(&["*".into()]).count_ones(), 8);
    }

    #[test]
    fn json_and_env_carry_the_lease() {
        let e = sample();
        let j = e.to_json();
        assert_eq!(j["event"], "lease.ack");
        assert_eq!(j["ip"], "198.18.1.10");
        assert_eq!(j["mac"], "02:00:00:00:00:aa");
        assert_eq!(j["client_id"], "01:02:00:00:00:00:aa");
        assert_eq!(j["lease_end"], 4600);
        assert_eq!(j["subnet"], "198.18.0.0/16");
        let env: std::collections::HashMap<_, _> = e.env_vars().into_iter().collect();
        assert_eq!(env["HYPERDHCP_MAC"], "02:00:00:00:00:aa");
        assert_eq!(env["HYPERDHCP_HOSTNAME"], "hosta");
        assert_eq!(env["HYPERDHCP_STATE"], "bound");
        assert_eq!(env["HYPERDHCP_LEASE_START"], "1000");
    }
}
