//! [`Explanation`]: what the engine would answer to a request and why — which subnet, pool,
//! classes and reservation apply and where each option value comes from. Built by
//! [`Engine::explain`] from the same code paths as a real request (`hyperdhcp explain`).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use hyperdhcp_wire::{Message, RelayAgentInfo, code};
use ipnet::Ipv4Net;

use crate::classes;
use crate::decision::{Outcome, RequestContext};
use crate::engine::{Engine, incoming};
use crate::lease::UnixTime;
use crate::reply::OptionOrigin;

/// One option of the reply, with its value and the reason it is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExplainedOption {
    /// Option code.
    pub code: u8,
    /// Encoded value as sent.
    pub value: Vec<u8>,
    /// Why: `subnet`, `subnet (derived)`, `class NAME`, `reservation`, `server`, `lease`,
    /// `relay agent (echoed)`.
    pub source: String,
}

/// What the engine decided for a request, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The decision's outcome (e.g. `Offered(ip)`).
    pub outcome: Outcome,
    /// The selected subnet.
    pub subnet: Option<Ipv4Net>,
    /// What selected it: `option 118`, `option 82 link-selection`, `giaddr`, `interface`.
    pub selected_by: &'static str,
    /// The pool (start, end) the offered address belongs to, if any.
    pub pool: Option<(Ipv4Addr, Ipv4Addr)>,
    /// Names of the matched classes, in config order.
    pub classes: Vec<String>,
    /// The matching reservation's address and what it matched on.
    pub reservation: Option<(Ipv4Addr, &'static str)>,
    /// siaddr of the reply (next server), when not 0.0.0.0.
    pub next_server: Option<Ipv4Addr>,
    /// The reply's `file` field, when set.
    pub boot_file: Option<String>,
    /// The reply's options in the order sent.
    pub options: Vec<ExplainedOption>,
}

impl Engine {
    /// Handles `msg` exactly like [`Engine::handle`] (so use a throw-away engine) and explains
    /// the result: subnet, pool, classes, reservation and the source of every option.
    pub fn explain(
        &mut self,
        msg: &Message<'_>,
        ctx: &RequestContext<'_>,
        now: UnixTime,
    ) -> Explanation {
        let decision = self.handle(msg, ctx, now);
        let config = std::sync::Arc::clone(self.config());
        let mut origins: HashMap<u8, OptionOrigin> = HashMap::new();
        let mut out = Explanation {
            outcome: decision.outcome.clone(),
            subnet: decision.subnet,
            selected_by: selected_by(msg),
            pool: None,
            classes: Vec::new(),
            reservation: None,
            next_server: None,
            boot_file: None,
            options: Vec::new(),
        };
        if let Some(inc) = incoming(&config, msg, ctx, now) {
            out.classes = classes::names(&config.classes, inc.classes);
            if out.subnet.is_none() {
                out.subnet = inc.cidr(&config);
            }
            if let Some(r) = self.reservation(&config, &inc) {
                let relay = inc.relay();
                let by = if r.mac.is_some_and(|m| m == inc.hw) {
                    "mac"
                } else if r.client_id.is_some() && inc.cid.is_some() {
                    "client_id"
                } else {
                    // Option 82 sub-options: the one the request carries, else the first set.
                    let keys = [
                        ("circuit_id", r.circuit_id.as_deref(), relay.circuit_id),
                        ("remote_id", r.remote_id.as_deref(), relay.remote_id),
                        (
                            "subscriber_id",
                            r.subscriber_id.as_deref(),
                            relay.subscriber_id,
                        ),
                    ];
                    keys.iter()
                        .find(|(_, want, got)| want.is_some() && want == got)
                        .or_else(|| keys.iter().find(|(_, want, _)| want.is_some()))
                        .map_or("mac", |k| k.0)
                };
                out.reservation = Some((r.ip, by));
            }
            let source = self.option_source(&config, &inc);
            source.for_each(msg.parameter_request_list().as_deref(), |c, _, origin| {
                origins.insert(c, origin);
            });
            let yiaddr = match decision.outcome {
                Outcome::Offered(a) | Outcome::Acked(a) => Some(a),
                _ => None,
            };
            out.pool = yiaddr.and_then(|a| {
                inc.subnet_cfg(&config)?
                    .pools
                    .iter()
                    .find(|p| (p.start..=p.end).contains(&a))
                    .map(|p| (p.start, p.end))
            });
        }
        let Some(reply) = decision.reply.as_ref() else {
            return out;
        };
        let Ok(m) = Message::parse(&reply.packet) else {
            return out;
        };
        out.next_server = Some(m.siaddr()).filter(|a| !a.is_unspecified());
        let file = m.file();
        let end = file.iter().position(|&b| b == 0).unwrap_or(file.len());
        out.boot_file = file
            .get(..end)
            .filter(|f| !f.is_empty())
            .map(|f| String::from_utf8_lossy(f).into_owned());
        let mut seen = [false; 256];
        for (c, _) in m.raw_options() {
            if matches!(c, code::PAD | code::END)
                || std::mem::replace(&mut seen[usize::from(c)], true)
            {
                continue;
            }
            let source = match (c, origins.get(&c)) {
                (_, Some(OptionOrigin::Subnet)) => "subnet".to_string(),
                (_, Some(OptionOrigin::Derived)) => "subnet (derived)".to_string(),
                (_, Some(OptionOrigin::Reservation)) => "reservation".to_string(),
                (_, Some(OptionOrigin::Class(i))) => config
                    .classes
                    .get(*i)
                    .map_or_else(|| "class".to_string(), |k| format!("class {}", k.name)),
                (code::LEASE_TIME | code::RENEWAL_TIME | code::REBINDING_TIME, None) => {
                    "lease".to_string()
                }
                (code::RELAY_AGENT_INFO, None) => "relay agent (echoed)".to_string(),
                _ => "server".to_string(),
            };
            out.options.push(ExplainedOption {
                code: c,
                value: m.option(c).map(|v| v.into_owned()).unwrap_or_default(),
                source,
            });
        }
        out
    }
}

/// Which rule of `select::select_subnet` applies to `msg`.
fn selected_by(msg: &Message<'_>) -> &'static str {
    let link = msg
        .relay_agent_info()
        .is_some_and(|r| RelayAgentInfo::parse(&r).link_selection.is_some());
    if msg.subnet_selection().is_some() {
        "option 118"
    } else if link {
        "option 82 link-selection"
    } else if !msg.giaddr().is_unspecified() {
        "giaddr"
    } else {
        "interface"
    }
}
