//! Relay rules: subnet selection by option 118 (RFC 3011), link selection (RFC 3527) and
//! giaddr; reservations by option 82 circuit-id / remote-id (RFC 3046).

use super::*;

/// Option 82 value with a circuit-id and, optionally, a link-selection sub-option.
fn rai(circuit: &[u8], link: Option<Ipv4Addr>) -> Vec<u8> {
    let mut v = vec![1, circuit.len() as u8];
    v.extend_from_slice(circuit);
    if let Some(l) = link {
        v.extend_from_slice(&[5, 4]);
        v.extend_from_slice(&l.octets());
    }
    v
}

/// The test config plus, in subnet B, a circuit-id reservation (.50) and a remote-id one (.51).
fn relay_config() -> Config {
    let mut c = config();
    let b = &mut c.subnets[1];
    b.reservations.push(ReservationConfig {
        mac: None,
        client_id: None,
        circuit_id: Some(b"port7".to_vec().into()),
        remote_id: None,
        subscriber_id: None,
        ip: ip("198.18.1.50"),
        hostname: None,
        options: DhcpOptions::default(),
    });
    b.reservations.push(ReservationConfig {
        mac: None,
        client_id: None,
        circuit_id: None,
        remote_id: Some(b"modem-9".to_vec().into()),
        subscriber_id: None,
        ip: ip("198.18.1.51"),
        hostname: None,
        options: DhcpOptions::default(),
    });
    b.reservations.push(ReservationConfig {
        mac: None,
        client_id: None,
        circuit_id: None,
        remote_id: None,
        subscriber_id: Some(b"sub-42".to_vec().into()),
        ip: ip("198.18.1.52"),
        hostname: None,
        options: DhcpOptions::default(),
    });
    c
}

fn offered(d: &Decision) -> Ipv4Addr {
    match d.outcome {
        Outcome::Offered(a) => a,
        ref o => panic!("no offer: {o:?}"),
    }
}

#[test]
fn subnet_selection_option_118_beats_interface_and_giaddr() {
    let mut h = Harness::new();
    // Local (eth0 is in subnet A), but option 118 names subnet B.
    let d = h.send(&client(1).discover(|b| {
        b.option_ip(code::SUBNET_SELECTION, ip("198.18.1.0"));
    }));
    assert_eq!(d.subnet, Some(net("198.18.1.0/24")));
    assert!((ip("198.18.1.100")..=ip("198.18.1.102")).contains(&offered(&d)));
    // Relayed from subnet A, option 118 still wins.
    let d = h.send(&client(2).discover(|b| {
        b.set_giaddr(ip("198.18.0.1"))
            .option_ip(code::SUBNET_SELECTION, ip("198.18.1.7"));
    }));
    assert_eq!(d.subnet, Some(net("198.18.1.0/24")));
    // Option 118 naming no configured subnet: no subnet (never a fallback to giaddr).
    let d = h.send(&client(3).discover(|b| {
        b.option_ip(code::SUBNET_SELECTION, ip("198.19.0.1"));
    }));
    assert_eq!(d.outcome, Outcome::Ignored(IgnoreReason::NoSubnet));
}

#[test]
fn link_selection_sub_option_beats_giaddr_but_not_option_118() {
    let mut h = Harness::new();
    // RFC 3527: giaddr in subnet A (where the relay is reachable), the link is subnet B.
    let d = h.send(&client(1).discover(|b| {
        b.set_giaddr(ip("198.18.0.1"))
            .option(code::RELAY_AGENT_INFO, &rai(b"x", Some(ip("198.18.1.0"))));
    }));
    assert_eq!(d.subnet, Some(net("198.18.1.0/24")));
    // The reply still goes to giaddr.
    assert_eq!(
        d.reply.as_ref().map(|r| r.dest),
        Some(ReplyDest::Relay(ip("198.18.0.1")))
    );
    let d = h.send(&client(2).discover(|b| {
        b.set_giaddr(ip("198.18.1.1"))
            .option_ip(code::SUBNET_SELECTION, ip("198.18.0.0"))
            .option(code::RELAY_AGENT_INFO, &rai(b"x", Some(ip("198.18.1.0"))));
    }));
    assert_eq!(d.subnet, Some(net("198.18.0.0/24")), "option 118 first");
}

#[test]
fn circuit_id_and_remote_id_select_reservations() {
    let mut h = Harness::with(relay_config(), Vec::new());
    let relayed = |circuit: &'static [u8]| {
        move |b: &mut MessageBuilder| {
            b.set_giaddr(ip("198.18.1.1"))
                .option(code::RELAY_AGENT_INFO, &rai(circuit, None));
        }
    };
    let c = client(1);
    let d = h.send(&c.discover(relayed(b"port7")));
    assert_eq!(offered(&d), ip("198.18.1.50"));
    // The same client through another port gets a pool address.
    let d = h.send(&client(2).discover(relayed(b"port8")));
    assert!((ip("198.18.1.100")..=ip("198.18.1.102")).contains(&offered(&d)));
    // Remote-id (sub-option 2).
    let d = h.send(&client(3).discover(|b| {
        b.set_giaddr(ip("198.18.1.1")).option(
            code::RELAY_AGENT_INFO,
            &[2, 7, b'm', b'o', b'd', b'e', b'm', b'-', b'9'],
        );
    }));
    assert_eq!(offered(&d), ip("198.18.1.51"));
    // Bind .50, then renew by unicast (no relay, no option 82): still ACKed.
    let d = h.send(&c.packet(MessageType::Request, |b| {
        relayed(b"port7")(b);
        b.option_ip(code::SERVER_ID, ip("198.18.0.1"))
            .option_ip(code::REQUESTED_IP, ip("198.18.1.50"));
    }));
    assert_eq!(d.outcome, Outcome::Acked(ip("198.18.1.50")));
    let d = h.send(&c.packet(MessageType::Request, |b| {
        b.set_giaddr(ip("198.18.1.1")).set_ciaddr(ip("198.18.1.50"));
    }));
    assert_eq!(d.outcome, Outcome::Acked(ip("198.18.1.50")));
    // Another client cannot take the circuit reservation without the circuit-id.
    let d = h.send(&client(4).discover(|b| {
        b.set_giaddr(ip("198.18.1.1"))
            .option_ip(code::REQUESTED_IP, ip("198.18.1.50"));
    }));
    assert_ne!(offered(&d), ip("198.18.1.50"));
}

#[test]
fn subscriber_id_selects_a_reservation_and_explain_names_it() {
    let mut h = Harness::with(relay_config(), Vec::new());
    // RFC 3993 §3: sub-option 6, here behind an unrelated circuit-id.
    let rai = [
        1, 5, b'p', b'o', b'r', b't', b'1', 6, 6, b's', b'u', b'b', b'-', b'4', b'2',
    ];
    let pkt = client(5).discover(|b| {
        b.set_giaddr(ip("198.18.1.1"))
            .option(code::RELAY_AGENT_INFO, &rai);
    });
    let d = h.send(&pkt);
    assert_eq!(offered(&d), ip("198.18.1.52"));
    let addrs = eth0_addrs();
    let ctx = RequestContext {
        interface: "eth0",
        interface_addrs: &addrs,
        source: SocketAddrV4::new(ip("198.18.1.1"), 67),
    };
    let e = h.engine.explain(&Message::parse(&pkt).unwrap(), &ctx, T0);
    assert_eq!(e.reservation, Some((ip("198.18.1.52"), "subscriber_id")));
    // Another subscriber-id: a pool address.
    let d = h.send(&client(6).discover(|b| {
        b.set_giaddr(ip("198.18.1.1")).option(
            code::RELAY_AGENT_INFO,
            &[6, 6, b's', b'u', b'b', b'-', b'4', b'3'],
        );
    }));
    assert!((ip("198.18.1.100")..=ip("198.18.1.102")).contains(&offered(&d)));
}

#[test]
fn shared_network_tries_the_next_subnet_when_the_first_is_exhausted() {
    let mut cfg = config();
    for s in &mut cfg.subnets {
        s.shared_network = Some("lan".into());
    }
    // One free address in subnet A (the .15 reservation is someone else's).
    cfg.subnets[0].pools[0].end = ip("198.18.0.10");
    let mut h = Harness::with(cfg, Vec::new());
    assert_eq!(h.dora(&client(1)), ip("198.18.0.10"));
    // A is full: the second client is offered subnet B's pool on the same link.
    let c = client(2);
    let d = h.send(&c.discover(|_| {}));
    assert_eq!(d.subnet, Some(net("198.18.1.0/24")));
    let b = offered(&d);
    assert!((ip("198.18.1.100")..=ip("198.18.1.102")).contains(&b));
    // Its REQUEST names B's address: served by subnet B although it arrived on A's link.
    let d = h.send(&c.select(b, ip("198.18.0.1")));
    assert_eq!(d.outcome, Outcome::Acked(b));
    assert_eq!(d.subnet, Some(net("198.18.1.0/24")));
    // And its renewal too.
    assert_eq!(h.send(&c.renew(b)).outcome, Outcome::Acked(b));
}
