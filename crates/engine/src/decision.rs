//! What the engine returns for one request: the reply to send, where to send it, and the lease
//! changes that must be durable first.

use std::net::{Ipv4Addr, SocketAddrV4};

use hyperdhcp_wire::MessageType;
use ipnet::Ipv4Net;

use crate::lease::{HwAddr, LeaseChange};

/// Facts about how a request arrived, supplied by the server shell.
#[derive(Clone, Copy, Debug)]
pub struct RequestContext<'a> {
    /// Name of the receiving interface.
    pub interface: &'a str,
    /// IPv4 addresses (with prefix) of the receiving interface; the first one inside the
    /// selected subnet is the default server identifier.
    pub interface_addrs: &'a [Ipv4Net],
    /// Source address and port of the datagram.
    pub source: SocketAddrV4,
}

/// Where a reply goes (RFC 2131 §4.1, "reply addressing").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyDest {
    /// giaddr set: to the relay agent at `addr`, server port 67.
    Relay(Ipv4Addr),
    /// ciaddr set: unicast to `addr`, client port 68.
    Unicast(Ipv4Addr),
    /// Broadcast bit set (or a NAK without giaddr): 255.255.255.255, port 68.
    Broadcast,
    /// No address yet and no broadcast bit: unicast to `ip` at link-layer address `hwaddr`.
    Hardware {
        /// yiaddr.
        ip: Ipv4Addr,
        /// chaddr.
        hwaddr: HwAddr,
    },
}

/// An encoded reply and its destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The encoded DHCP message.
    pub packet: Vec<u8>,
    /// Where to send it.
    pub dest: ReplyDest,
    /// OFFER, ACK or NAK.
    pub msg_type: MessageType,
}

/// Why a request got no reply, for logs and drop counters (stable snake_case via `as_str`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IgnoreReason {
    /// op is not BOOTREQUEST.
    NotRequest,
    /// Option 53 missing or not a client message type.
    BadMessageType,
    /// No configured subnet matches the interface or giaddr.
    NoSubnet,
    /// Every pool of the subnet is in use.
    PoolExhausted,
    /// REQUEST/DECLINE/RELEASE names another server (RFC 2131 §4.3.2).
    OtherServer,
    /// A REQUEST for which RFC 2131 §4.3.2 says remain silent (no record of the client).
    UnknownClient,
    /// Required field missing (e.g. DECLINE without option 50, RELEASE without ciaddr).
    MissingField,
    /// Message is consistent but changes nothing (e.g. RELEASE of an address the client does
    /// not hold).
    NoEffect,
}

impl IgnoreReason {
    /// Stable name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreReason::NotRequest => "not_request",
            IgnoreReason::BadMessageType => "bad_message_type",
            IgnoreReason::NoSubnet => "no_subnet",
            IgnoreReason::PoolExhausted => "pool_exhausted",
            IgnoreReason::OtherServer => "other_server",
            IgnoreReason::UnknownClient => "unknown_client",
            IgnoreReason::MissingField => "missing_field",
            IgnoreReason::NoEffect => "no_effect",
        }
    }
}

/// What the engine decided, for the one structured log line per request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// OFFER of `ip`.
    Offered(Ipv4Addr),
    /// ACK binding `ip`.
    Acked(Ipv4Addr),
    /// NAK, with the reason in words.
    Naked(&'static str),
    /// DHCPINFORM answered with an ACK carrying options only.
    Informed,
    /// Address released.
    Released(Ipv4Addr),
    /// Address declined and quarantined.
    Declined(Ipv4Addr),
    /// No reply.
    Ignored(IgnoreReason),
}

/// The engine's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Reply to send after `changes` are committed.
    pub reply: Option<Reply>,
    /// Lease changes to commit (empty for OFFER, NAK, INFORM).
    pub changes: Vec<LeaseChange>,
    /// What happened.
    pub outcome: Outcome,
    /// The subnet that served the request, when one was selected.
    pub subnet: Option<Ipv4Net>,
}
