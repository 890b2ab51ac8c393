//! DHCPREQUEST → DHCPACK / DHCPNAK / silence, by client state (RFC 2131 §4.3.2).

use std::net::Ipv4Addr;

use hyperdhcp_wire::MessageType;

use crate::decision::{Decision, IgnoreReason, Outcome};
use crate::engine::{Engine, Incoming, ignored};
use crate::lease::{LeaseChange, LeaseState};
use crate::reply::{self, LeaseTimes};
use crate::select::is_ours;
use hyperdhcp_config::Config;

/// NAK reason: the requested address is not on the client's network.
pub(crate) const NAK_WRONG_NETWORK: &str = "requested address is not on this network";
/// NAK reason: another client holds the address (or it is reserved or declined).
pub(crate) const NAK_IN_USE: &str = "requested address is not available";
/// NAK reason: the client's lease is for a different address.
pub(crate) const NAK_NOT_YOURS: &str = "requested address is not the client's lease";
/// NAK reason: the lease is no longer valid (address outside every pool after a reload).
pub(crate) const NAK_NOT_VALID: &str = "lease is no longer valid";

/// Dispatches on the client state RFC 2131 §4.3.2 infers from option 54, option 50 and
/// ciaddr.
pub(crate) fn handle(engine: &mut Engine, config: &Config, inc: &Incoming<'_, '_>) -> Decision {
    let Some(subnet) = inc.subnet_cfg(config) else {
        return ignored(IgnoreReason::NoSubnet, None);
    };
    let cidr = Some(subnet.cidr);
    let msg = inc.msg;
    let ciaddr = msg.ciaddr();
    match (msg.server_id(), msg.requested_ip()) {
        // RFC 2131 §4.3.2 SELECTING: option 54 names another server, so the client chose
        // that server's offer: release ours silently.
        (Some(id), _) if !is_ours(config, inc.ctx, id) => {
            engine.withdraw_offer(inc);
            ignored(IgnoreReason::OtherServer, cidr)
        }
        (Some(_), Some(ip)) => selecting(engine, config, inc, ip),
        (None, Some(ip)) if ciaddr.is_unspecified() => init_reboot(engine, config, inc, ip),
        // RENEWING (unicast) and REBINDING (broadcast) look the same here. Some clients
        // also put our server id into a renewal; ciaddr decides.
        _ if !ciaddr.is_unspecified() => renewing(engine, config, inc, ciaddr),
        _ => ignored(IgnoreReason::MissingField, cidr),
    }
}

/// SELECTING: ACK if the requested address (our offer) is still available to the client,
/// NAK otherwise.
fn selecting(
    engine: &mut Engine,
    config: &Config,
    inc: &Incoming<'_, '_>,
    ip: Ipv4Addr,
) -> Decision {
    if engine.available_for(config, inc, ip) {
        ack(engine, config, inc, ip)
    } else {
        nak(config, inc, NAK_IN_USE)
    }
}

/// INIT-REBOOT (RFC 2131 §4.3.2): NAK when the address is on the wrong network or is not
/// the client's; silence when we have no record of the client; ACK when we hold its binding.
fn init_reboot(
    engine: &mut Engine,
    config: &Config,
    inc: &Incoming<'_, '_>,
    ip: Ipv4Addr,
) -> Decision {
    let Some(cidr) = inc.cidr(config) else {
        return ignored(IgnoreReason::NoSubnet, None);
    };
    if !cidr.contains(&ip) {
        return nak(config, inc, NAK_WRONG_NETWORK);
    }
    let client = inc.client();
    let held_by_other = engine.table.offer(ip).is_some_and(|o| !client.owns(o))
        || engine.table.durable(ip).is_some_and(|l| {
            l.state == LeaseState::Declined || (l.state == LeaseState::Bound && !client.owns(l))
        });
    if held_by_other {
        return nak(config, inc, NAK_IN_USE);
    }
    // What this server knows of the client in this subnet.
    let records = [
        engine.table.durable_for(client).map(|l| l.ip),
        engine.table.offer_for(client).map(|o| o.ip),
        engine.reservation(config, inc).map(|r| r.ip),
    ];
    let mut known = records
        .into_iter()
        .flatten()
        .filter(|a| cidr.contains(a))
        .peekable();
    if known.peek().is_none() {
        // No record of this client: another server may own it; remain silent.
        return ignored(IgnoreReason::UnknownClient, Some(cidr));
    }
    if !known.any(|a| a == ip) {
        return nak(config, inc, NAK_NOT_YOURS);
    }
    if engine.available_for(config, inc, ip) {
        ack(engine, config, inc, ip)
    } else {
        nak(config, inc, NAK_NOT_VALID)
    }
}

/// RENEWING / REBINDING (RFC 2131 §4.3.2): ACK extends the client's lease on ciaddr; NAK
/// when the address is another client's, declined, off-network or no longer valid; silence
/// when we have no record of the address at all (it may be another server's lease).
fn renewing(
    engine: &mut Engine,
    config: &Config,
    inc: &Incoming<'_, '_>,
    ip: Ipv4Addr,
) -> Decision {
    let Some(cidr) = inc.cidr(config) else {
        return ignored(IgnoreReason::NoSubnet, None);
    };
    if !cidr.contains(&ip) {
        return nak(config, inc, NAK_WRONG_NETWORK);
    }
    let client = inc.client();
    let is_reserved_here = engine.reservation(config, inc).is_some_and(|r| r.ip == ip);
    match engine.table.durable(ip) {
        None if !is_reserved_here => ignored(IgnoreReason::UnknownClient, Some(cidr)),
        Some(l) if !client.owns(l) || l.state == LeaseState::Declined => {
            nak(config, inc, NAK_IN_USE)
        }
        _ if engine.available_for(config, inc, ip) => ack(engine, config, inc, ip),
        _ => nak(config, inc, NAK_NOT_VALID),
    }
}

/// Binds and answers with an ACK carrying the lease timers.
fn ack(engine: &mut Engine, config: &Config, inc: &Incoming<'_, '_>, ip: Ipv4Addr) -> Decision {
    let Some(subnet) = inc.subnet_cfg(config) else {
        return ignored(IgnoreReason::NoSubnet, None);
    };
    let lease = engine.bind(config, inc, ip);
    let reply = reply::lease_reply(
        inc.msg,
        MessageType::Ack,
        ip,
        LeaseTimes::of(subnet),
        inc.server_id(config),
        engine.option_source(config, inc),
        inc.hw,
    );
    Decision {
        reply: Some(reply),
        changes: vec![LeaseChange::Upsert(lease)],
        outcome: Outcome::Acked(ip),
        subnet: Some(subnet.cidr),
    }
}

/// A NAK decision.
fn nak(config: &Config, inc: &Incoming<'_, '_>, why: &'static str) -> Decision {
    Decision {
        reply: Some(reply::nak(inc.msg, inc.server_id(config), why)),
        changes: Vec::new(),
        outcome: Outcome::Naked(why),
        subnet: inc.cidr(config),
    }
}
