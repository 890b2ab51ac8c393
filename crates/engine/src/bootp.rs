//! BOOTREQUEST without option 53 → BOOTREPLY (RFC 951, RFC 1542): a reservation, the
//! client's existing binding, or a fresh address from a pool with `bootp = true`, bound with
//! an infinite lease.

use std::net::Ipv4Addr;

use crate::decision::{Decision, IgnoreReason, Outcome};
use crate::engine::{Engine, Incoming, ignored};
use crate::lease::{LeaseChange, LeaseState, UnixTime};
use crate::reply;
use hyperdhcp_config::Config;

/// Lease end recorded for BOOTP bindings: never (BOOTP clients never renew, RFC 951).
pub(crate) const BOOTP_LEASE_END: UnixTime = UnixTime::MAX;

/// Answers a BOOTP client, binding its address for good before the reply leaves.
pub(crate) fn handle(engine: &mut Engine, config: &Config, inc: &Incoming<'_, '_>) -> Decision {
    let (Some(si), Some(subnet)) = (inc.subnet, inc.subnet_cfg(config)) else {
        return ignored(IgnoreReason::NoSubnet, None);
    };
    let cidr = Some(subnet.cidr);
    let Some(ip) = choose(engine, config, inc, si) else {
        return ignored(IgnoreReason::PoolExhausted, cidr);
    };
    let lease = engine.bind_until(config, inc, ip, BOOTP_LEASE_END);
    let reply = reply::bootp_reply(inc.msg, ip, engine.option_source(config, inc), inc.hw);
    Decision {
        reply: Some(reply),
        changes: vec![LeaseChange::Upsert(lease)],
        outcome: Outcome::Acked(ip),
        subnet: cidr,
    }
}

/// The reservation, else the client's bound address, else a fresh address of a BOOTP pool.
fn choose(
    engine: &mut Engine,
    config: &Config,
    inc: &Incoming<'_, '_>,
    si: usize,
) -> Option<Ipv4Addr> {
    let bootp_pool = |ip: Ipv4Addr| {
        inc.subnet_cfg(config).is_some_and(|s| {
            s.pools
                .iter()
                .any(|p| p.bootp && (p.start..=p.end).contains(&ip))
        })
    };
    if let Some(r) = engine.reservation(config, inc)
        && engine.available_for(config, inc, r.ip)
    {
        return Some(r.ip);
    }
    let held = engine
        .table
        .durable_for(inc.client())
        .filter(|l| l.state == LeaseState::Bound)
        .map(|l| l.ip);
    if let Some(ip) = held
        && bootp_pool(ip)
        && engine.available_for(config, inc, ip)
    {
        return Some(ip);
    }
    let pools = &inc.subnet_cfg(config)?.pools;
    engine
        .pools
        .allocate_fresh_in(si, |j| pools.get(j).is_some_and(|p| p.bootp))
}
