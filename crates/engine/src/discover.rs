//! DHCPDISCOVER → DHCPOFFER (RFC 2131 §4.3.1).

use std::net::Ipv4Addr;

use hyperdhcp_wire::MessageType;

use crate::decision::{Decision, IgnoreReason, Outcome};
use crate::engine::{Engine, Incoming, ignored, pool_allows};
use crate::lease::LeaseState;
use crate::reply::{self, LeaseTimes};
use hyperdhcp_config::Config;

/// Offers an address and holds it in memory for `server.offer_timeout`.
pub(crate) fn handle(engine: &mut Engine, config: &Config, inc: &Incoming<'_, '_>) -> Decision {
    let Some(si) = inc.subnet else {
        return ignored(IgnoreReason::NoSubnet, None);
    };
    // Shared network: the selected subnet first, then the others on the same link in order.
    for sj in config.shared_with(si) {
        let mut alt = inc.clone();
        alt.subnet = Some(sj);
        if let Some(ip) = choose_address(engine, config, &alt, sj) {
            return offer(engine, config, &alt, ip);
        }
    }
    ignored(IgnoreReason::PoolExhausted, inc.cidr(config))
}

/// Holds `ip` for the client and builds the OFFER.
fn offer(engine: &mut Engine, config: &Config, inc: &Incoming<'_, '_>, ip: Ipv4Addr) -> Decision {
    let Some(subnet) = inc.subnet_cfg(config) else {
        return ignored(IgnoreReason::NoSubnet, None);
    };
    let cidr = Some(subnet.cidr);
    let ends = inc.now.saturating_add(config.server.offer_timeout);
    let client = inc.client();
    // A client has at most one outstanding offer: drop one for another address.
    if let Some(old) = engine.table.offer_for(client).map(|o| o.ip)
        && old != ip
    {
        engine.withdraw_offer(inc);
    }
    if engine.table.offer_for(client).is_some() {
        engine.table.refresh_offer(ip, ends);
    } else {
        let mut offer = inc.lease(ip, LeaseState::Offered, inc.now, ends);
        offer.hostname = engine
            .reservation(config, inc)
            .and_then(|r| r.hostname.as_deref())
            .map(Box::from);
        engine.table.insert_offer(offer);
        engine.pools.claim(ip);
    }
    let reply = reply::lease_reply(
        inc.msg,
        MessageType::Offer,
        ip,
        LeaseTimes::of(subnet),
        inc.server_id(config),
        engine.option_source(config, inc),
        inc.hw,
    );
    Decision {
        reply: Some(reply),
        changes: Vec::new(),
        outcome: Outcome::Offered(ip),
        subnet: cidr,
    }
}

/// RFC 2131 §4.3.1 address choice, first that is available to this client:
/// its outstanding offer (a repeated DISCOVER gets the same offer), its reservation, its
/// previous address (any non-declined record), the requested address (option 50), then a
/// free address from the pools (never-used first, then oldest released/expired).
fn choose_address(
    engine: &mut Engine,
    config: &Config,
    inc: &Incoming<'_, '_>,
    si: usize,
) -> Option<Ipv4Addr> {
    let client = inc.client();
    let candidates = [
        engine.table.offer_for(client).map(|o| o.ip),
        engine.reservation(config, inc).map(|r| r.ip),
        engine.table.durable_for(client).map(|l| l.ip),
        inc.msg.requested_ip(),
    ];
    for ip in candidates.into_iter().flatten() {
        if engine.available_for(config, inc, ip) {
            return Some(ip);
        }
    }
    // A recycled address may be held for a conflict: skip it (the hold's end re-queues it).
    let subnet = inc.subnet_cfg(config)?;
    let allow = |j: usize| {
        subnet.pools.get(j).is_some_and(|p| {
            pool_allows(subnet, &config.classes, inc.classes, |q| std::ptr::eq(q, p))
        })
    };
    while let Some(ip) = engine.pools.allocate_where(si, &engine.table, allow) {
        if !engine.conflicts.is_held(ip, inc.now) {
            return Some(ip);
        }
    }
    None
}
