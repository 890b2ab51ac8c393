//! DHCPINFORM: configuration parameters for a client that already has an address
//! (RFC 2131 §4.3.5).

use crate::decision::{Decision, IgnoreReason, Outcome};
use crate::engine::{Engine, Incoming, ignored};
use crate::reply;
use hyperdhcp_config::Config;

/// Answers with an ACK carrying options only: no lease, no yiaddr, no lease time; sent to
/// the relay or unicast to ciaddr.
pub(crate) fn handle(engine: &mut Engine, config: &Config, inc: &Incoming<'_, '_>) -> Decision {
    let Some(cidr) = inc.cidr(config) else {
        return ignored(IgnoreReason::NoSubnet, None);
    };
    let reply = reply::inform_reply(
        inc.msg,
        inc.server_id(config),
        engine.option_source(config, inc),
        inc.hw,
    );
    Decision {
        reply: Some(reply),
        changes: Vec::new(),
        outcome: Outcome::Informed,
        subnet: Some(cidr),
    }
}
