//! DHCPDECLINE: the client found the address in use; quarantine it (RFC 2131 §4.3.3).

use hyperdhcp_wire::Message;

use crate::conflict::ConflictMethod;
use crate::decision::{Decision, IgnoreReason, Outcome};
use crate::engine::{Engine, Incoming, ignored};
use crate::lease::{LeaseChange, LeaseState};
use crate::select::is_ours;
use hyperdhcp_config::Config;

/// Marks the declined address unavailable for `server.decline_hold` seconds and makes that
/// durable. No reply is sent.
pub(crate) fn handle(engine: &mut Engine, config: &Config, inc: &Incoming<'_, '_>) -> Decision {
    let msg: &Message<'_> = inc.msg;
    // RFC 2131 §4.3.3 / table 5: DECLINE carries the address in option 50.
    let Some(ip) = msg.requested_ip() else {
        return ignored(IgnoreReason::MissingField, inc.cidr(config));
    };
    let cidr = inc.cidr(config).or_else(|| {
        config
            .subnets
            .iter()
            .find(|s| s.cidr.contains(&ip))
            .map(|s| s.cidr)
    });
    if let Some(id) = msg.server_id()
        && !is_ours(config, inc.ctx, id)
    {
        return ignored(IgnoreReason::OtherServer, cidr);
    }
    // Only the client the address was offered or bound to may decline it; otherwise any
    // host could take addresses out of service.
    let client = inc.client();
    let offered = engine.table.offer(ip).is_some_and(|o| client.owns(o));
    let bound = engine
        .table
        .durable(ip)
        .is_some_and(|l| client.owns(l) && l.state == LeaseState::Bound);
    if !offered && !bound {
        return ignored(IgnoreReason::NoEffect, cidr);
    }
    if offered {
        engine.table.remove_offer(ip);
    }
    let ends = inc.now.saturating_add(config.server.decline_hold);
    let lease = inc.lease(ip, LeaseState::Declined, inc.now, ends);
    engine.table.insert_durable(lease.clone());
    engine.pools.claim(ip);
    // Issue 5: a DECLINE is a conflict reported by the client; the table keeps the count.
    let mac = <[u8; 6]>::try_from(inc.hw.as_bytes()).ok();
    engine.record_conflict(ip, ConflictMethod::ClientDecline, mac, inc.now);
    Decision {
        reply: None,
        changes: vec![LeaseChange::Upsert(lease)],
        outcome: Outcome::Declined(ip),
        subnet: cidr,
    }
}
