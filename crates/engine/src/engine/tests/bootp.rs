//! BOOTP (RFC 951, RFC 1542): requests without option 53.

use super::*;

fn bootp_request(n: u8) -> Vec<u8> {
    let mut b = MessageBuilder::bootp_request(0xb007, &mac(n));
    b.set_flags(FLAG_BROADCAST);
    b.finish()
}

#[test]
fn bootp_needs_a_bootp_pool_or_a_reservation() {
    let mut h = Harness::new();
    // No pool allows BOOTP: no reply.
    let d = h.send(&bootp_request(1));
    assert_eq!(d.outcome, Outcome::Ignored(IgnoreReason::PoolExhausted));
    // The MAC reservation (198.18.0.15) is answered even so.
    let d = h.send(&bootp_request(0xaa));
    assert_eq!(d.outcome, Outcome::Acked(ip("198.18.0.15")));
    let m = reply_msg(&d);
    assert_eq!(m.op(), hyperdhcp_wire::BOOTREPLY);
    assert_eq!(m.message_type(), None, "BOOTP replies carry no option 53");
    assert_eq!(m.yiaddr(), ip("198.18.0.15"));
    assert!(m.lease_time().is_none());
    assert_eq!(
        m.routers(),
        Some(vec![ip("198.18.0.1")]),
        "RFC 1497 vendor options"
    );
    assert_eq!(upsert(&d).ends, UnixTime::MAX, "infinite lease");
}

#[test]
fn bootp_pool_gives_infinite_leases_and_the_same_address_again() {
    let mut cfg = config();
    cfg.subnets[0].pools[0].bootp = true;
    let mut h = Harness::with(cfg, Vec::new());
    let d = h.send(&bootp_request(1));
    let Outcome::Acked(a) = d.outcome else {
        panic!("{:?}", d.outcome)
    };
    assert!((ip("198.18.0.10")..=ip("198.18.0.19")).contains(&a));
    let lease = upsert(&d);
    assert_eq!(
        (lease.state, lease.ends),
        (LeaseState::Bound, UnixTime::MAX)
    );
    assert_eq!(d.reply.as_ref().map(|r| r.dest), Some(ReplyDest::Broadcast));
    // Much later (no expiry for infinite leases): the same address.
    h.now += 10 * LEASE;
    assert!(h.engine.expire(h.now).is_empty());
    assert_eq!(h.send(&bootp_request(1)).outcome, Outcome::Acked(a));
    // A relayed BOOTP request goes back to the relay (RFC 1542 §5.4).
    let mut b = MessageBuilder::bootp_request(1, &mac(2));
    b.set_giaddr(ip("198.18.0.1"));
    let d = h.send(&b.finish());
    assert_eq!(
        d.reply.as_ref().map(|r| r.dest),
        Some(ReplyDest::Relay(ip("198.18.0.1")))
    );
}

#[test]
fn cookieless_rfc951_request_gets_a_reply_without_vendor_extensions() {
    let mut h = Harness::new();
    // RFC 951 §3: header plus a 64-byte vendor area of zeros, no RFC 1497 cookie.
    let pkt = MessageBuilder::bootp_request(0xb007, &mac(0xaa)).finish_without_vendor_extensions();
    assert!(!Message::parse(&pkt).unwrap().has_magic_cookie());
    let d = h.send(&pkt);
    assert_eq!(d.outcome, Outcome::Acked(ip("198.18.0.15")));
    let packet = &d.reply.as_ref().expect("a reply").packet;
    assert_eq!(packet.len(), hyperdhcp_wire::MIN_MESSAGE_LEN);
    assert!(
        packet[hyperdhcp_wire::HEADER_LEN..].iter().all(|&b| b == 0),
        "no cookie, no options"
    );
    // A cookie-less BOOTREPLY is not something `Message::parse` accepts: read the header.
    assert_eq!(packet[0], hyperdhcp_wire::BOOTREPLY);
    assert_eq!(packet[4..8], 0xb007u32.to_be_bytes());
    assert_eq!(packet[16..20], ip("198.18.0.15").octets(), "yiaddr");
    assert_eq!(packet[28..34], mac(0xaa), "chaddr");
    assert_eq!(upsert(&d).ends, UnixTime::MAX);
}
