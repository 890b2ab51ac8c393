//! Lease records, the unit the engine hands to the store and rebuilds from at start-up.

use std::net::Ipv4Addr;

/// Seconds since the Unix epoch. The engine never reads a clock: callers pass `now` in.
pub type UnixTime = u64;

pub use hyperdhcp_wire::{HwAddr, HwAddrParseError};

/// Where a lease is in its life. Only `Bound`, `Released`, `Expired` and `Declined` are ever
/// stored; `Offered` lives in memory only (RFC 2131 §4.3.1: an offer need not be durable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaseState {
    /// Reserved for a client by an OFFER, not yet acknowledged.
    Offered,
    /// Acknowledged: the client owns the address until `ends`.
    Bound,
    /// The client gave the address back (DHCPRELEASE); remembered so it can get it again.
    Released,
    /// The lease ran out; remembered so a returning client gets the same address.
    Expired,
    /// A client reported the address in use (DHCPDECLINE); quarantined until `ends`.
    Declined,
}

impl LeaseState {
    /// Stable lower-case name used in the store, JSON output and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseState::Offered => "offered",
            LeaseState::Bound => "bound",
            LeaseState::Released => "released",
            LeaseState::Expired => "expired",
            LeaseState::Declined => "declined",
        }
    }

    /// Inverse of [`LeaseState::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "offered" => LeaseState::Offered,
            "bound" => LeaseState::Bound,
            "released" => LeaseState::Released,
            "expired" => LeaseState::Expired,
            "declined" => LeaseState::Declined,
            _ => return None,
        })
    }
}

/// One address binding. The IP is the primary key: at most one lease per address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The leased address.
    pub ip: Ipv4Addr,
    /// Client hardware address (chaddr).
    pub hwaddr: HwAddr,
    /// Client identifier (option 61) when the client sent one.
    pub client_id: Option<Box<[u8]>>,
    /// Host name: the reservation's, else the client's option 12.
    pub hostname: Option<Box<str>>,
    /// Life-cycle state.
    pub state: LeaseState,
    /// When the current state began.
    pub starts: UnixTime,
    /// When the current state ends (lease expiry, quarantine end).
    pub ends: UnixTime,
    /// The client's FQDN option 81 (RFC 4702) with its flags, kept for DNS updates (boxed:
    /// one pointer per lease, most clients send none).
    pub fqdn: Option<Box<LeaseFqdn>>,
}

/// A client FQDN (option 81, RFC 4702 §2) as stored with a lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseFqdn {
    /// The flags octet: S (0x01), O (0x02), E (0x04), N (0x08) (RFC 4702 §2.1).
    pub flags: u8,
    /// The name as dotted text without a trailing dot (may be a single label, RFC 4702 §2.3).
    pub name: Box<str>,
}

/// A change the store must make durable before the reply that caused it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseChange {
    /// Insert or replace the lease for `lease.ip`.
    Upsert(Lease),
    /// Forget the lease for this address entirely.
    Remove(Ipv4Addr),
}
