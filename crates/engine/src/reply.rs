//! Reply encoding: option selection and ordering, and reply addressing (RFC 2131 §4.1).

use std::net::Ipv4Addr;

use hyperdhcp_wire::{FLAG_BROADCAST, Message, MessageBuilder, MessageType, code};

use crate::classes::ClassSet;
use crate::decision::{Reply, ReplyDest};
use crate::lease::HwAddr;
use hyperdhcp_config::{ClassConfig, ReservationConfig, SubnetConfig};

/// Options the engine sets itself (or never echoes); configured values for them are ignored.
const ENGINE_OPTIONS: [u8; 13] = [
    code::PAD,
    code::REQUESTED_IP,
    code::LEASE_TIME,
    code::OVERLOAD,
    code::MESSAGE_TYPE,
    code::SERVER_ID,
    code::PARAMETER_REQUEST_LIST,
    code::MAX_MESSAGE_SIZE,
    code::RENEWAL_TIME,
    code::REBINDING_TIME,
    code::CLIENT_ID,
    code::RELAY_AGENT_INFO,
    code::END,
];

/// Size of the BOOTP `file` header field (RFC 951); a name must leave room for its NUL.
const BOOT_FILE_FIELD_LEN: usize = 128;

/// Lease timers carried by OFFER and ACK (options 51, 58, 59; RFC 2131 §4.4.5).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LeaseTimes {
    /// Lease time, seconds.
    pub(crate) lease: u64,
    /// T1, seconds.
    pub(crate) renewal: u64,
    /// T2, seconds.
    pub(crate) rebinding: u64,
}

impl LeaseTimes {
    /// The timers of `subnet`.
    pub(crate) fn of(subnet: &SubnetConfig) -> Self {
        Self {
            lease: subnet.lease_time,
            renewal: subnet.renewal_time,
            rebinding: subnet.rebinding_time,
        }
    }
}

/// Options sent even when the client's parameter request list omits them: the basic
/// network configuration every client needs (RFC 2131 §4.3.1 lets the server add options).
const ALWAYS_SENT: [u8; 6] = [
    code::SUBNET_MASK,
    code::ROUTER,
    code::DNS_SERVERS,
    code::HOSTNAME,
    code::DOMAIN_NAME,
    code::BROADCAST_ADDRESS,
];

/// Where a configured option value came from (what `explain` prints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionOrigin {
    /// Derived from the subnet (option 1 from its prefix length).
    Derived,
    /// The subnet's configuration.
    Subnet,
    /// The class at this index of `Config::classes`.
    Class(usize),
    /// The client's reservation.
    Reservation,
}

/// Where configured option values come from: reservation overrides classes (later classes
/// override earlier ones), which override the subnet.
#[derive(Clone, Copy)]
pub(crate) struct OptionSource<'c> {
    /// The selected subnet.
    pub(crate) subnet: Option<&'c SubnetConfig>,
    /// The client's reservation in that subnet.
    pub(crate) reservation: Option<&'c ReservationConfig>,
    /// Every configured class.
    pub(crate) classes: &'c [ClassConfig],
    /// The classes the request matched.
    pub(crate) matched: ClassSet,
}

impl<'c> OptionSource<'c> {
    /// The matched classes, last in config order first (the winning order).
    fn matched_rev(&self) -> impl Iterator<Item = (usize, &'c ClassConfig)> + '_ {
        let matched = self.matched;
        self.classes
            .iter()
            .enumerate()
            .take(64)
            .rev()
            .filter(move |(i, _)| matched & (1 << i) != 0)
    }

    /// Value of `code` for this client and where it came from; `mask` backs the derived
    /// subnet mask.
    fn lookup<'m>(&self, code: u8, mask: &'m [u8; 4]) -> Option<(&'m [u8], OptionOrigin)>
    where
        'c: 'm,
    {
        if ENGINE_OPTIONS.contains(&code) {
            return None;
        }
        if let Some(r) = self.reservation {
            if let Some(v) = r.options.get(code) {
                return Some((v, OptionOrigin::Reservation));
            }
            // Reservation host name → option 12.
            if code == code::HOSTNAME
                && let Some(h) = &r.hostname
            {
                return Some((h.as_bytes(), OptionOrigin::Reservation));
            }
        }
        for (i, c) in self.matched_rev() {
            if let Some(v) = c.options.get(code) {
                return Some((v, OptionOrigin::Class(i)));
            }
        }
        let s = self.subnet?;
        match s.options.get(code) {
            Some(v) => Some((v, OptionOrigin::Subnet)),
            // Option 1 derived from the subnet when the config did not set it.
            None => (code == code::SUBNET_MASK).then_some((&mask[..], OptionOrigin::Derived)),
        }
    }

    /// True when `code` goes out although the client did not ask for it.
    fn always_sent(&self, code: u8) -> bool {
        ALWAYS_SENT.contains(&code)
            || self.subnet.is_some_and(|s| s.always_send.contains(&code))
            || self
                .matched_rev()
                .any(|(_, c)| c.always_send.contains(&code))
    }

    /// Calls `f` for each option of the reply, in reply order: those in the client's
    /// parameter request list first, in its order (RFC 2131 §4.3.1 / RFC 2132 §9.8), then
    /// the configured ones it did not ask for that are always sent (every configured option
    /// when the client sent no list at all).
    pub(crate) fn for_each(&self, prl: Option<&[u8]>, mut f: impl FnMut(u8, &[u8], OptionOrigin)) {
        let mask = self.subnet.map_or([0; 4], |s| s.cidr.netmask().octets());
        let mut done = [false; 256];
        for &c in prl.unwrap_or_default() {
            let seen = done.get_mut(usize::from(c));
            if let Some(seen @ false) = seen
                && let Some((v, origin)) = self.lookup(c, &mask)
            {
                f(c, v, origin);
                *seen = true;
            }
        }
        let res = self.reservation.map(|r| r.options.iter());
        let classes = self.matched_rev().flat_map(|(_, c)| c.options.iter());
        let sub = self.subnet.map(|s| s.options.iter());
        let extra = [code::SUBNET_MASK, code::HOSTNAME].into_iter();
        let codes = res
            .into_iter()
            .flatten()
            .map(|(c, _)| c)
            .chain(classes.map(|(c, _)| c))
            .chain(sub.into_iter().flatten().map(|(c, _)| c))
            .chain(extra);
        for c in codes {
            if (prl.is_some() && !self.always_sent(c)) || done.get(usize::from(c)) != Some(&false) {
                continue;
            }
            if let Some((v, origin)) = self.lookup(c, &mask) {
                f(c, v, origin);
                if let Some(seen) = done.get_mut(usize::from(c)) {
                    *seen = true;
                }
            }
        }
    }

    /// Emits the options into `b` (see [`OptionSource::for_each`]).
    fn emit(&self, b: &mut MessageBuilder, prl: Option<&[u8]>) {
        self.for_each(prl, |c, v, _| {
            b.option(c, v);
        });
    }

    /// siaddr and `file` (RFC 2131 §2) from the last matched class that sets them.
    pub(crate) fn boot(&self) -> (Option<Ipv4Addr>, Option<&'c str>) {
        let next = self.matched_rev().find_map(|(_, c)| c.next_server);
        let file = self.matched_rev().find_map(|(_, c)| c.boot_file.as_deref());
        (next, file)
    }
}

/// Reply addressing, RFC 2131 §4.1: relay if giaddr, else ciaddr, else broadcast bit, else
/// unicast to yiaddr at chaddr.
pub(crate) fn dest(msg: &Message<'_>, yiaddr: Ipv4Addr, hwaddr: HwAddr) -> ReplyDest {
    let giaddr = msg.giaddr();
    let ciaddr = msg.ciaddr();
    if !giaddr.is_unspecified() {
        ReplyDest::Relay(giaddr)
    } else if !ciaddr.is_unspecified() {
        ReplyDest::Unicast(ciaddr)
    } else if msg.broadcast() || yiaddr.is_unspecified() {
        ReplyDest::Broadcast
    } else {
        ReplyDest::Hardware { ip: yiaddr, hwaddr }
    }
}

/// Echoes option 82 last, unchanged (RFC 3046 §2.2), then encodes.
fn finish(mut b: MessageBuilder, req: &Message<'_>) -> Vec<u8> {
    if let Some(rai) = req.relay_agent_info() {
        b.option(code::RELAY_AGENT_INFO, &rai);
    }
    // RFC 2132 §9.10 / §9.3: within the client's maximum size, overloading file and sname.
    b.finish_within(req.max_message_size())
}

/// OFFER or ACK for an address (RFC 2131 §4.3.1 table 3).
pub(crate) fn lease_reply(
    req: &Message<'_>,
    msg_type: MessageType,
    yiaddr: Ipv4Addr,
    times: LeaseTimes,
    server_id: Ipv4Addr,
    options: OptionSource<'_>,
    hwaddr: HwAddr,
) -> Reply {
    let mut b = MessageBuilder::reply(req, msg_type);
    b.set_yiaddr(yiaddr)
        .option_ip(code::SERVER_ID, server_id)
        .option_u32(code::LEASE_TIME, clamp_u32(times.lease))
        .option_u32(code::RENEWAL_TIME, clamp_u32(times.renewal))
        .option_u32(code::REBINDING_TIME, clamp_u32(times.rebinding));
    // PXE (RFC 4578 §2, RFC 2131 §2): the boot server and file of the client's class.
    let (next_server, boot_file) = options.boot();
    if let Some(a) = next_server {
        b.set_siaddr(a);
    }
    if let Some(f) = boot_file.filter(|f| f.len() < BOOT_FILE_FIELD_LEN) {
        b.set_file(f.as_bytes());
    }
    options.emit(&mut b, req.parameter_request_list().as_deref());
    Reply {
        packet: finish(b, req),
        dest: dest(req, yiaddr, hwaddr),
        msg_type,
    }
}

/// BOOTREPLY to a BOOTP request (RFC 951, RFC 1542): yiaddr, siaddr and file, and the
/// configured options in the vendor area (RFC 1497; BOOTP has no message type, lease time or
/// server identifier). Addressed like a DHCP reply (RFC 1542 §5.4).
pub(crate) fn bootp_reply(
    req: &Message<'_>,
    yiaddr: Ipv4Addr,
    options: OptionSource<'_>,
    hwaddr: HwAddr,
) -> Reply {
    let mut b = MessageBuilder::bootp_reply(req);
    b.set_yiaddr(yiaddr);
    let (next_server, boot_file) = options.boot();
    if let Some(a) = next_server {
        b.set_siaddr(a);
    }
    if let Some(f) = boot_file.filter(|f| f.len() < BOOT_FILE_FIELD_LEN) {
        b.set_file(f.as_bytes());
    }
    // RFC 951 §3 / RFC 1542 §3.3: a request without the RFC 1497 cookie gets a reply without
    // vendor extensions (zero-filled vendor area); otherwise the configured options.
    let packet = if req.has_magic_cookie() {
        options.emit(&mut b, None);
        finish(b, req)
    } else {
        b.finish_without_vendor_extensions()
    };
    Reply {
        packet,
        dest: dest(req, yiaddr, hwaddr),
        msg_type: MessageType::Ack,
    }
}

/// ACK to a DHCPINFORM: options only, no yiaddr, no lease time (RFC 2131 §4.3.5), sent to
/// the relay or to ciaddr.
pub(crate) fn inform_reply(
    req: &Message<'_>,
    server_id: Ipv4Addr,
    options: OptionSource<'_>,
    hwaddr: HwAddr,
) -> Reply {
    let mut b = MessageBuilder::reply(req, MessageType::Ack);
    b.option_ip(code::SERVER_ID, server_id);
    options.emit(&mut b, req.parameter_request_list().as_deref());
    Reply {
        packet: finish(b, req),
        dest: dest(req, Ipv4Addr::UNSPECIFIED, hwaddr),
        msg_type: MessageType::Ack,
    }
}

/// NAK (RFC 2131 §4.3.2): broadcast, or to the relay with the broadcast bit set.
pub(crate) fn nak(req: &Message<'_>, server_id: Ipv4Addr, why: &str) -> Reply {
    let mut b = MessageBuilder::reply(req, MessageType::Nak);
    b.option_ip(code::SERVER_ID, server_id)
        .option(code::MESSAGE, why.as_bytes());
    let giaddr = req.giaddr();
    let dest = if giaddr.is_unspecified() {
        ReplyDest::Broadcast
    } else {
        b.set_flags(req.flags() | FLAG_BROADCAST);
        ReplyDest::Relay(giaddr)
    };
    Reply {
        packet: finish(b, req),
        dest,
        msg_type: MessageType::Nak,
    }
}

/// Seconds as an option 51/58/59 value (0xffffffff means infinity, RFC 2132 §9.2).
fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
