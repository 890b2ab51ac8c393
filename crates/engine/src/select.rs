//! Subnet selection and the server identifier for a request.

use std::net::Ipv4Addr;

use hyperdhcp_wire::{Message, RelayAgentInfo};

use crate::decision::RequestContext;
use hyperdhcp_config::Config;

/// Index of the subnet serving a request, by the first of these the request carries:
///
/// 1. option 118 subnet selection (RFC 3011 §3: the client or relay names the subnet);
/// 2. option 82 link selection sub-option 5 (RFC 3527 §3: the relay names the client's link
///    when giaddr only says where to send the reply);
/// 3. giaddr (RFC 2131 §4.3.1: relayed requests are served from the relay's network);
/// 4. the receiving interface: the first subnet configured for it, else the first containing
///    one of its addresses (subnets pinned to another interface are skipped).
///
/// 1–3 take the first subnet containing the address.
pub(crate) fn select_subnet(
    config: &Config,
    msg: &Message<'_>,
    rai: Option<&[u8]>,
    ctx: &RequestContext<'_>,
) -> Option<usize> {
    let link = msg
        .subnet_selection()
        .or_else(|| rai.and_then(|r| RelayAgentInfo::parse(r).link_selection))
        .or_else(|| Some(msg.giaddr()).filter(|g| !g.is_unspecified()));
    if let Some(addr) = link {
        return config.subnets.iter().position(|s| s.cidr.contains(&addr));
    }
    config
        .subnets
        .iter()
        .position(|s| s.interface.as_deref() == Some(ctx.interface))
        .or_else(|| {
            config.subnets.iter().position(|s| {
                s.interface.is_none()
                    && ctx
                        .interface_addrs
                        .iter()
                        .any(|a| s.cidr.contains(&a.addr()))
            })
        })
}

/// Option 54 for replies: `server.server_id` when configured, else the first interface
/// address inside the subnet, else the first interface address.
pub(crate) fn server_id(
    config: &Config,
    subnet: Option<usize>,
    ctx: &RequestContext<'_>,
) -> Ipv4Addr {
    if let Some(id) = config.server.server_id {
        return id;
    }
    let cidr = subnet.and_then(|i| config.subnets.get(i)).map(|s| s.cidr);
    ctx.interface_addrs
        .iter()
        .find(|a| cidr.is_some_and(|c| c.contains(&a.addr())))
        .or_else(|| ctx.interface_addrs.first())
        .map_or(Ipv4Addr::UNSPECIFIED, |a| a.addr())
}

/// True when option 54 of a request names this server (the configured id or any address of
/// the receiving interface).
pub(crate) fn is_ours(config: &Config, ctx: &RequestContext<'_>, id: Ipv4Addr) -> bool {
    config.server.server_id == Some(id) || ctx.interface_addrs.iter().any(|a| a.addr() == id)
}
