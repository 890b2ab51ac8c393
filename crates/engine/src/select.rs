//! Subnet selection and the server identifier for a request.

use std::net::Ipv4Addr;

use crate::config::Config;
use crate::decision::RequestContext;

/// Index of the subnet serving a request (RFC 2131 §4.3.1: "the server chooses the network
/// from giaddr, else from the receiving interface").
///
/// Relayed (giaddr ≠ 0): the first subnet containing giaddr. Local: the first subnet
/// configured for the receiving interface, else the first containing one of its addresses
/// (subnets pinned to another interface are skipped).
pub(crate) fn select_subnet(
    config: &Config,
    giaddr: Ipv4Addr,
    ctx: &RequestContext<'_>,
) -> Option<usize> {
    if !giaddr.is_unspecified() {
        return config.subnets.iter().position(|s| s.cidr.contains(&giaddr));
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
