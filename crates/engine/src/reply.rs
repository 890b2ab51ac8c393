//! Reply encoding: option selection and ordering, and reply addressing (RFC 2131 §4.1).

use std::net::Ipv4Addr;

use hyperdhcp_wire::{FLAG_BROADCAST, Message, MessageBuilder, MessageType, code};

use crate::config::{ReservationConfig, SubnetConfig};
use crate::decision::{Reply, ReplyDest};
use crate::lease::HwAddr;

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

/// Where configured option values come from: reservation overrides, then the subnet.
#[derive(Clone, Copy)]
pub(crate) struct OptionSource<'c> {
    /// The selected subnet.
    pub(crate) subnet: Option<&'c SubnetConfig>,
    /// The client's reservation in that subnet.
    pub(crate) reservation: Option<&'c ReservationConfig>,
}

impl<'c> OptionSource<'c> {
    /// Value of `code` for this client; `mask` backs the derived subnet mask.
    fn lookup<'m>(&self, code: u8, mask: &'m [u8; 4]) -> Option<&'m [u8]>
    where
        'c: 'm,
    {
        if ENGINE_OPTIONS.contains(&code) {
            return None;
        }
        if let Some(r) = self.reservation {
            if let Some(v) = r.options.get(code) {
                return Some(v);
            }
            // Reservation host name → option 12.
            if code == code::HOSTNAME
                && let Some(h) = &r.hostname
            {
                return Some(h.as_bytes());
            }
        }
        let s = self.subnet?;
        s.options.get(code).or_else(|| {
            // Option 1 derived from the subnet when the config did not set it.
            (code == code::SUBNET_MASK).then_some(&mask[..])
        })
    }

    /// Emits configured options: those in the client's parameter request list first, in its
    /// order (RFC 2131 §4.3.1 / RFC 2132 §9.8), then every other configured option.
    fn emit(&self, b: &mut MessageBuilder, prl: Option<&[u8]>) {
        let mask = self.subnet.map_or([0; 4], |s| s.cidr.netmask().octets());
        let mut done = [false; 256];
        for &c in prl.unwrap_or_default() {
            let seen = done.get_mut(usize::from(c));
            if let Some(seen @ false) = seen
                && let Some(v) = self.lookup(c, &mask)
            {
                b.option(c, v);
                *seen = true;
            }
        }
        let res = self.reservation.map(|r| r.options.iter());
        let sub = self.subnet.map(|s| s.options.iter());
        let extra = [code::SUBNET_MASK, code::HOSTNAME].into_iter();
        let codes = res
            .into_iter()
            .flatten()
            .map(|(c, _)| c)
            .chain(sub.into_iter().flatten().map(|(c, _)| c))
            .chain(extra);
        for c in codes {
            if let Some(seen @ false) = done.get_mut(usize::from(c))
                && let Some(v) = self.lookup(c, &mask)
            {
                b.option(c, v);
                *seen = true;
            }
        }
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
    b.finish()
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
    options.emit(&mut b, req.parameter_request_list().as_deref());
    Reply {
        packet: finish(b, req),
        dest: dest(req, yiaddr, hwaddr),
        msg_type,
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
