//! Lease history rows: one per lease state change (offer, ack, renew, release, decline,
//! expire), written in the same transaction as the batch's lease changes.

use std::net::Ipv4Addr;

use hyperdhcp_engine::{HwAddr, UnixTime};

/// Most history rows one [`crate::LeaseStore::prune_history`] call deletes, so pruning never
/// holds the write lock for long.
pub const PRUNE_BATCH: usize = 1_000;

/// What happened to the lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HistoryKind {
    /// DHCPOFFER sent (not durable by itself: rides along with the next commit).
    Offer,
    /// DHCPACK binding a new lease (SELECTING / INIT-REBOOT) or a BOOTP binding.
    Ack,
    /// DHCPACK extending a lease the client held (RENEWING / REBINDING, ciaddr set).
    Renew,
    /// DHCPRELEASE.
    Release,
    /// DHCPDECLINE.
    Decline,
    /// The lease ran out.
    Expire,
}

impl HistoryKind {
    /// Stable lower-case name (the stored value, CLI and JSON output).
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Offer => "offer",
            HistoryKind::Ack => "ack",
            HistoryKind::Renew => "renew",
            HistoryKind::Release => "release",
            HistoryKind::Decline => "decline",
            HistoryKind::Expire => "expire",
        }
    }

    /// Inverse of [`HistoryKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "offer" => HistoryKind::Offer,
            "ack" => HistoryKind::Ack,
            "renew" => HistoryKind::Renew,
            "release" => HistoryKind::Release,
            "decline" => HistoryKind::Decline,
            "expire" => HistoryKind::Expire,
            _ => return None,
        })
    }
}

/// Relay agent facts of the request that caused a change (RFC 3046).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RelayInfo {
    /// giaddr, when the request was relayed.
    pub giaddr: Option<Ipv4Addr>,
    /// Option 82 sub-option 1 (circuit-id).
    pub circuit_id: Option<Box<[u8]>>,
    /// Option 82 sub-option 2 (remote-id).
    pub remote_id: Option<Box<[u8]>>,
}

/// One history row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEvent {
    /// When it happened (Unix seconds).
    pub time: UnixTime,
    /// What happened.
    pub kind: HistoryKind,
    /// The address concerned.
    pub ip: Ipv4Addr,
    /// The client's hardware address.
    pub hwaddr: HwAddr,
    /// Option 61 when the client sent one.
    pub client_id: Option<Box<[u8]>>,
    /// Host name (reservation's or the client's option 12).
    pub hostname: Option<Box<str>>,
    /// When the lease (or offer) ends, for ack/renew/offer rows.
    pub ends: Option<UnixTime>,
    /// Relay information of the request, when relayed.
    pub relay: RelayInfo,
}
