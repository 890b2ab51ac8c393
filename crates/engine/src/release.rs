//! DHCPRELEASE: the client gives its address back (RFC 2131 §4.3.4).

use crate::decision::{Decision, IgnoreReason, Outcome};
use crate::engine::{Engine, Incoming, ignored};
use crate::lease::{LeaseChange, LeaseState};
use crate::select::is_ours;
use hyperdhcp_config::Config;

/// Marks the client's bound lease at ciaddr released. The record is kept (state
/// `Released`) so the client gets the same address next time. A repeated RELEASE (for
/// example once direct and once through a relay) changes nothing.
pub(crate) fn handle(engine: &mut Engine, config: &Config, inc: &Incoming<'_, '_>) -> Decision {
    let ip = inc.msg.ciaddr();
    // RFC 2131 table 5: RELEASE names the address in ciaddr.
    if ip.is_unspecified() {
        return ignored(IgnoreReason::MissingField, inc.cidr(config));
    }
    let cidr = inc.cidr(config).or_else(|| {
        config
            .subnets
            .iter()
            .find(|s| s.cidr.contains(&ip))
            .map(|s| s.cidr)
    });
    if let Some(id) = inc.msg.server_id()
        && !is_ours(config, inc.ctx, id)
    {
        return ignored(IgnoreReason::OtherServer, cidr);
    }
    let client = inc.client();
    let holds = engine
        .table
        .durable(ip)
        .is_some_and(|l| client.owns(l) && l.state == LeaseState::Bound);
    if !holds {
        return ignored(IgnoreReason::NoEffect, cidr);
    }
    let Some(released) = engine
        .table
        .set_state(ip, LeaseState::Released, inc.now, inc.now)
        .cloned()
    else {
        return ignored(IgnoreReason::NoEffect, cidr);
    };
    engine.pools.free(ip, &engine.table);
    Decision {
        reply: None,
        changes: vec![LeaseChange::Upsert(released)],
        outcome: Outcome::Released(ip),
        subnet: cidr,
    }
}
