//! Allocation-free `Display` helpers and the one structured log line per decision.

use std::fmt;
use std::net::Ipv4Addr;

use hyperdhcp_engine::{Decision, Outcome};
use hyperdhcp_wire::{Message, MessageType};

/// A transaction id shown as `0x0000abcd`.
#[derive(Clone, Copy, Debug)]
pub struct Xid(pub u32);

impl fmt::Display for Xid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

/// Hardware address bytes shown as `02:00:00:00:00:0a`.
#[derive(Clone, Copy, Debug)]
pub struct Chaddr<'a>(pub &'a [u8]);

impl fmt::Display for Chaddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Outcome as (kind, address, reason) log fields.
pub fn outcome_fields(o: &Outcome) -> (&'static str, Option<Ipv4Addr>, Option<&'static str>) {
    match o {
        Outcome::Offered(ip) => ("offered", Some(*ip), None),
        Outcome::Acked(ip) => ("acked", Some(*ip), None),
        Outcome::Naked(why) => ("naked", None, Some(*why)),
        Outcome::Informed => ("informed", None, None),
        Outcome::Released(ip) => ("released", Some(*ip), None),
        Outcome::Declined(ip) => ("declined", Some(*ip), None),
        Outcome::Ignored(r) => ("ignored", None, Some(r.as_str())),
    }
}

/// Logs one decision at info level, as fields (RFC field names). Values are recorded with
/// `Display` so text logs read `msg_type=DISCOVER`, not `msg_type="DISCOVER"`.
pub fn log_decision(
    msg: &Message<'_>,
    msg_type: Option<MessageType>,
    interface: &str,
    decision: &Decision,
) {
    let (outcome, ip, reason) = outcome_fields(&decision.outcome);
    tracing::info!(
        xid = %Xid(msg.xid()),
        chaddr = %Chaddr(msg.chaddr()),
        msg_type = %msg_type.map_or("none", MessageType::as_str),
        interface = %interface,
        subnet = decision.subnet.map(display),
        outcome = %outcome,
        ip = ip.map(display),
        reason = reason.map(display),
        reply = decision.reply.as_ref().map(|r| display(r.msg_type.as_str())),
        "dhcp"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xid_and_chaddr_format() {
        assert_eq!(Xid(0xabcd).to_string(), "0x0000abcd");
        assert_eq!(Xid(0xdeadbeef).to_string(), "0xdeadbeef");
        assert_eq!(
            Chaddr(&[2, 0, 0, 0, 0, 0x0a]).to_string(),
            "02:00:00:00:00:0a"
        );
        assert_eq!(Chaddr(&[]).to_string(), "");
    }

    #[test]
    fn outcome_fields_name_kind_ip_and_reason() {
        let ip = Ipv4Addr::new(198, 18, 0, 9);
        assert_eq!(
            outcome_fields(&Outcome::Acked(ip)),
            ("acked", Some(ip), None)
        );
        assert_eq!(
            outcome_fields(&Outcome::Ignored(hyperdhcp_engine::IgnoreReason::NoSubnet)),
            ("ignored", None, Some("no_subnet"))
        );
    }
}
