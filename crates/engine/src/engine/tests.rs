//! Engine rule tests with an injected clock: one request in, one decision out.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::Arc;

use hyperdhcp_wire::{FLAG_BROADCAST, Message, MessageBuilder, MessageType, code};
use ipnet::Ipv4Net;
use proptest::prelude::*;

use crate::decision::{Decision, IgnoreReason, Outcome, ReplyDest, RequestContext};
use crate::engine::Engine;
use crate::lease::{HwAddr, Lease, LeaseChange, LeaseState, UnixTime};
use hyperdhcp_config::{
    Config, DhcpOptions, LogFormat, PoolConfig, ReservationConfig, ServerConfig, StoreConfig,
    SubnetConfig,
};

/// Start of the injected clock.
const T0: UnixTime = 1_700_000_000;
/// Subnet A lease time.
const LEASE: u64 = 3600;
/// Offer hold.
const OFFER_TIMEOUT: u64 = 30;
/// Decline quarantine.
const DECLINE_HOLD: u64 = 600;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn mac(n: u8) -> [u8; 6] {
    [2, 0, 0, 0, 0, n]
}

/// Subnet A: 198.18.0.0/24 on eth0 (server 198.18.0.1), pool .10-.19, a MAC reservation
/// inside the pool (.15) and a client-id reservation outside it (.200).
/// Subnet B: 198.18.1.0/24 reached through relays, pool .100-.102.
fn config() -> Config {
    let mut opts_a = DhcpOptions::default();
    opts_a.set(code::ROUTER, ip("198.18.0.1").octets().to_vec());
    opts_a.set(code::DNS_SERVERS, ip("198.18.0.2").octets().to_vec());
    opts_a.set(code::DOMAIN_NAME, b"example.test".to_vec());
    let mut res_opts = DhcpOptions::default();
    res_opts.set(code::DNS_SERVERS, ip("198.18.0.53").octets().to_vec());
    Config {
        server: ServerConfig {
            interfaces: vec!["eth0".into()],
            server_id: None,
            offer_timeout: OFFER_TIMEOUT,
            decline_hold: DECLINE_HOLD,
            receive_buffer: 1 << 22,
            udp_gso: true,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            rate_limit: Default::default(),
        },
        store: StoreConfig {
            path: PathBuf::from("/nonexistent/leases.db"),
            history_retention: hyperdhcp_config::DEFAULT_HISTORY_RETENTION,
        },
        subnets: vec![
            SubnetConfig {
                cidr: net("198.18.0.0/24"),
                interface: None,
                lease_time: LEASE,
                renewal_time: LEASE / 2,
                rebinding_time: LEASE * 7 / 8,
                pools: vec![PoolConfig {
                    start: ip("198.18.0.10"),
                    end: ip("198.18.0.19"),
                    bootp: false,
                    classes: Vec::new(),
                }],
                reservations: vec![
                    ReservationConfig {
                        mac: Some(HwAddr::ethernet(mac(0xaa))),
                        client_id: None,
                        circuit_id: None,
                        remote_id: None,
                        subscriber_id: None,
                        ip: ip("198.18.0.15"),
                        hostname: Some("printer".into()),
                        options: DhcpOptions::default(),
                    },
                    ReservationConfig {
                        mac: None,
                        client_id: Some(b"\x00cid-res".to_vec().into()),
                        circuit_id: None,
                        remote_id: None,
                        subscriber_id: None,
                        ip: ip("198.18.0.200"),
                        hostname: Some("nas".into()),
                        options: res_opts,
                    },
                ],
                options: opts_a,
                always_send: Vec::new(),
                shared_network: None,
            },
            SubnetConfig {
                cidr: net("198.18.1.0/24"),
                interface: None,
                lease_time: 7200,
                renewal_time: 3600,
                rebinding_time: 6300,
                pools: vec![PoolConfig {
                    start: ip("198.18.1.100"),
                    end: ip("198.18.1.102"),
                    bootp: false,
                    classes: Vec::new(),
                }],
                reservations: vec![],
                options: DhcpOptions::default(),
                always_send: Vec::new(),
                shared_network: None,
            },
        ],
        hooks: Default::default(),
        events: Default::default(),
        metrics: Default::default(),
        conflict_detection: Default::default(),
        classes: Vec::new(),
    }
}

/// Addresses of the receiving interface in the tests.
fn eth0_addrs() -> Vec<Ipv4Net> {
    vec![net("198.18.0.1/24")]
}

/// An engine plus its injected clock and receiving interface.
struct Harness {
    engine: Engine,
    now: UnixTime,
    iface: &'static str,
    addrs: Vec<Ipv4Net>,
}

impl Harness {
    fn new() -> Self {
        Self::with(config(), Vec::new())
    }

    fn with(config: Config, leases: Vec<Lease>) -> Self {
        Self {
            engine: Engine::new(Arc::new(config), leases, T0),
            now: T0,
            iface: "eth0",
            addrs: eth0_addrs(),
        }
    }

    fn send(&mut self, pkt: &[u8]) -> Decision {
        let msg = Message::parse(pkt).expect("test packet parses");
        let ctx = RequestContext {
            interface: self.iface,
            interface_addrs: &self.addrs,
            source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        };
        self.engine.handle(&msg, &ctx, self.now)
    }

    /// DISCOVER then SELECTING REQUEST; returns the bound address.
    fn dora(&mut self, c: &Client) -> Ipv4Addr {
        let d = self.send(&c.discover(|_| {}));
        let Outcome::Offered(a) = d.outcome else {
            panic!("no offer: {:?}", d.outcome)
        };
        let d = self.send(&c.select(a, ip("198.18.0.1")));
        assert_eq!(d.outcome, Outcome::Acked(a));
        a
    }
}

/// A test client: chaddr and optional client identifier.
#[derive(Clone)]
struct Client {
    mac: [u8; 6],
    cid: Option<Vec<u8>>,
}

fn client(n: u8) -> Client {
    Client {
        mac: mac(n),
        cid: None,
    }
}

fn client_id(n: u8, cid: &[u8]) -> Client {
    Client {
        mac: mac(n),
        cid: Some(cid.to_vec()),
    }
}

impl Client {
    fn hw(&self) -> HwAddr {
        HwAddr::ethernet(self.mac)
    }

    fn packet(&self, mt: MessageType, f: impl FnOnce(&mut MessageBuilder)) -> Vec<u8> {
        let mut b = MessageBuilder::request(mt, 0x5eed, &self.mac);
        if let Some(cid) = &self.cid {
            b.option(code::CLIENT_ID, cid);
        }
        f(&mut b);
        b.finish()
    }

    fn discover(&self, f: impl FnOnce(&mut MessageBuilder)) -> Vec<u8> {
        self.packet(MessageType::Discover, f)
    }

    /// REQUEST in SELECTING state.
    fn select(&self, a: Ipv4Addr, server: Ipv4Addr) -> Vec<u8> {
        self.packet(MessageType::Request, |b| {
            b.option_ip(code::SERVER_ID, server)
                .option_ip(code::REQUESTED_IP, a);
        })
    }

    /// REQUEST in INIT-REBOOT state.
    fn init_reboot(&self, a: Ipv4Addr) -> Vec<u8> {
        self.packet(MessageType::Request, |b| {
            b.option_ip(code::REQUESTED_IP, a);
        })
    }

    /// REQUEST in RENEWING/REBINDING state.
    fn renew(&self, a: Ipv4Addr) -> Vec<u8> {
        self.packet(MessageType::Request, |b| {
            b.set_ciaddr(a);
        })
    }

    fn decline(&self, a: Ipv4Addr) -> Vec<u8> {
        self.packet(MessageType::Decline, |b| {
            b.option_ip(code::REQUESTED_IP, a)
                .option_ip(code::SERVER_ID, ip("198.18.0.1"));
        })
    }

    fn release(&self, a: Ipv4Addr) -> Vec<u8> {
        self.packet(MessageType::Release, |b| {
            b.set_ciaddr(a).option_ip(code::SERVER_ID, ip("198.18.0.1"));
        })
    }
}

fn reply_msg(d: &Decision) -> Message<'_> {
    Message::parse(&d.reply.as_ref().expect("a reply").packet).expect("reply parses")
}

fn upsert(d: &Decision) -> &Lease {
    match d.changes.as_slice() {
        [LeaseChange::Upsert(l)] => l,
        other => panic!("expected one upsert, got {other:?}"),
    }
}

#[test]
fn dora_offers_then_binds_with_timers_and_options() {
    let mut h = Harness::new();
    let c = client(1);
    let d = h.send(&c.discover(|_| {}));
    let Outcome::Offered(a) = d.outcome else {
        panic!("{:?}", d.outcome)
    };
    assert!(d.changes.is_empty(), "an OFFER is not durable");
    assert_eq!(d.subnet, Some(net("198.18.0.0/24")));
    let offer = reply_msg(&d);
    assert_eq!(offer.message_type(), Some(MessageType::Offer));
    assert_eq!(offer.yiaddr(), a);
    assert_eq!(offer.server_id(), Some(ip("198.18.0.1")));
    assert_eq!(offer.lease_time(), Some(LEASE as u32));
    assert_eq!(
        h.engine.lease_by_ip(a).map(|l| l.state),
        Some(LeaseState::Offered)
    );

    h.now += 2;
    let d = h.send(&c.select(a, ip("198.18.0.1")));
    assert_eq!(d.outcome, Outcome::Acked(a));
    let lease = upsert(&d);
    assert_eq!(lease.state, LeaseState::Bound);
    assert_eq!((lease.starts, lease.ends), (h.now, h.now + LEASE));
    assert_eq!(lease.hwaddr, c.hw());
    let ack = reply_msg(&d);
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert_eq!(ack.yiaddr(), a);
    assert_eq!(ack.lease_time(), Some(LEASE as u32));
    assert_eq!(ack.renewal_time(), Some((LEASE / 2) as u32));
    assert_eq!(ack.rebinding_time(), Some((LEASE * 7 / 8) as u32));
    assert_eq!(ack.routers(), Some(vec![ip("198.18.0.1")]));
    assert_eq!(ack.subnet_mask(), Some(ip("255.255.255.0")));
    assert_eq!(ack.domain_name().as_deref(), Some(&b"example.test"[..]));
    assert_eq!(
        h.engine.lease_by_ip(a).map(|l| l.state),
        Some(LeaseState::Bound)
    );
}

#[test]
fn request_with_option_81_stores_the_fqdn_and_its_flags() {
    let mut h = Harness::new();
    let c = client(1);
    let Outcome::Offered(a) = h.send(&c.discover(|_| {})).outcome else {
        panic!("no offer")
    };
    // RFC 4702 §2: flags S|E, two RCODE octets, the name in canonical wire format.
    let fqdn = b"\x05\x00\x00\x02pc\x03lab\x04test\x00";
    let d = h.send(&c.packet(MessageType::Request, |b| {
        b.option_ip(code::SERVER_ID, ip("198.18.0.1"))
            .option_ip(code::REQUESTED_IP, a)
            .option(code::CLIENT_FQDN, fqdn);
    }));
    assert_eq!(d.outcome, Outcome::Acked(a));
    let lease = upsert(&d);
    assert_eq!(
        lease.fqdn,
        Some(Box::new(crate::LeaseFqdn {
            flags: hyperdhcp_wire::fqdn::FQDN_FLAG_S | hyperdhcp_wire::fqdn::FQDN_FLAG_E,
            name: "pc.lab.test".into(),
        }))
    );
    // Without option 12 the name is also the host name (RFC 4702 §2.3).
    assert_eq!(lease.hostname.as_deref(), Some("pc.lab.test"));
    // A client without option 81 gets no FQDN.
    let c2 = client(2);
    let Outcome::Offered(b) = h.send(&c2.discover(|_| {})).outcome else {
        panic!("no offer")
    };
    let d = h.send(&c2.select(b, ip("198.18.0.1")));
    assert_eq!(upsert(&d).fqdn, None);
}

#[test]
fn repeated_discover_gets_the_same_offer() {
    let mut h = Harness::new();
    let c = client(1);
    let first = h.send(&c.discover(|_| {})).outcome;
    h.now += 5;
    let second = h.send(&c.discover(|_| {})).outcome;
    assert_eq!(first, second);
    // The refreshed offer lives OFFER_TIMEOUT from the second DISCOVER.
    assert!(h.engine.expire(h.now + OFFER_TIMEOUT - 1).is_empty());
    let Outcome::Offered(a) = first else { panic!() };
    assert!(h.engine.lease_by_ip(a).is_some());
}

#[test]
fn selecting_another_server_frees_our_offer_silently() {
    let mut h = Harness::new();
    let (c1, c2) = (client(1), client(2));
    let Outcome::Offered(a) = h.send(&c1.discover(|_| {})).outcome else {
        panic!()
    };
    let d = h.send(&c1.select(a, ip("198.18.0.254")));
    assert_eq!(d.outcome, Outcome::Ignored(IgnoreReason::OtherServer));
    assert!(d.reply.is_none() && d.changes.is_empty());
    assert!(h.engine.lease_by_ip(a).is_none(), "offer withdrawn");
    // The address goes straight back to the pool.
    assert_eq!(h.send(&c2.discover(|_| {})).outcome, Outcome::Offered(a));
}

#[test]
fn init_reboot_acks_naks_or_stays_silent() {
    let mut h = Harness::new();
    let (known, other, stranger) = (client(1), client(2), client(3));
    let a = h.dora(&known);
    let b = h.dora(&other);
    let free_in_pool = ip("198.18.0.19");
    let cases: [(&Client, Ipv4Addr, Outcome); 5] = [
        // We hold the binding: ACK.
        (&known, a, Outcome::Acked(a)),
        // Wrong network: NAK.
        (
            &known,
            ip("198.19.5.5"),
            Outcome::Naked(super::super::request::NAK_WRONG_NETWORK),
        ),
        // Leased to someone else: NAK.
        (
            &stranger,
            b,
            Outcome::Naked(super::super::request::NAK_IN_USE),
        ),
        // A known client asking for another address than its own: NAK.
        (
            &known,
            free_in_pool,
            Outcome::Naked(super::super::request::NAK_NOT_YOURS),
        ),
        // No record of the client, address plausible: silence.
        (
            &stranger,
            free_in_pool,
            Outcome::Ignored(IgnoreReason::UnknownClient),
        ),
    ];
    for (c, req, want) in cases {
        let d = h.send(&c.init_reboot(req));
        assert_eq!(d.outcome, want, "INIT-REBOOT for {req}");
        match want {
            Outcome::Naked(_) => {
                let r = d.reply.as_ref().unwrap();
                assert_eq!(r.dest, ReplyDest::Broadcast);
                assert_eq!(reply_msg(&d).message_type(), Some(MessageType::Nak));
                assert_eq!(reply_msg(&d).yiaddr(), Ipv4Addr::UNSPECIFIED);
            }
            Outcome::Ignored(_) => assert!(d.reply.is_none()),
            _ => assert_eq!(upsert(&d).ip, req),
        }
    }
}

#[test]
fn renewing_extends_the_lease_or_naks() {
    let mut h = Harness::new();
    let (c, other) = (client(1), client(2));
    let a = h.dora(&c);
    h.now += LEASE / 2;
    let d = h.send(&c.renew(a));
    assert_eq!(d.outcome, Outcome::Acked(a));
    assert_eq!(upsert(&d).ends, h.now + LEASE);
    assert_eq!(d.reply.as_ref().unwrap().dest, ReplyDest::Unicast(a));

    // Another client claiming this address: NAK.
    let d = h.send(&other.renew(a));
    assert_eq!(d.outcome, Outcome::Naked(super::super::request::NAK_IN_USE));
    // An address we know nothing about (another server's lease while REBINDING): silence.
    let d = h.send(&other.renew(ip("198.18.0.18")));
    assert_eq!(d.outcome, Outcome::Ignored(IgnoreReason::UnknownClient));
    // Off-network ciaddr: NAK.
    let d = h.send(&other.renew(ip("198.18.7.7")));
    assert_eq!(
        d.outcome,
        Outcome::Naked(super::super::request::NAK_WRONG_NETWORK)
    );
}

#[test]
fn decline_quarantines_until_hold_ends() {
    let mut cfg = config();
    // A two-address pool makes reuse visible.
    cfg.subnets[0].pools = vec![PoolConfig {
        start: ip("198.18.0.10"),
        end: ip("198.18.0.11"),
        bootp: false,
        classes: Vec::new(),
    }];
    let mut h = Harness::with(cfg, Vec::new());
    let (c, other, third) = (client(1), client(2), client(3));
    let a = h.dora(&c);
    let d = h.send(&c.decline(a));
    assert_eq!(d.outcome, Outcome::Declined(a));
    assert!(d.reply.is_none());
    let l = upsert(&d);
    assert_eq!(
        (l.state, l.starts, l.ends),
        (LeaseState::Declined, h.now, h.now + DECLINE_HOLD)
    );
    // The decliner gets another address, and nobody gets the quarantined one.
    let b = h.dora(&c);
    assert_ne!(a, b);
    assert_eq!(
        h.send(&other.discover(|_| {})).outcome,
        Outcome::Ignored(IgnoreReason::PoolExhausted)
    );
    // A DECLINE from a client that does not hold the address changes nothing.
    assert_eq!(
        h.send(&other.decline(b)).outcome,
        Outcome::Ignored(IgnoreReason::NoEffect)
    );
    // Quarantine over: Remove, and the address is allocatable again.
    h.now += DECLINE_HOLD;
    assert_eq!(h.engine.expire(h.now), vec![LeaseChange::Remove(a)]);
    assert_eq!(h.send(&third.discover(|_| {})).outcome, Outcome::Offered(a));
}

#[test]
fn release_keeps_affinity_and_repeat_is_harmless() {
    let mut h = Harness::new();
    let (c, other) = (client(1), client(2));
    let a = h.dora(&c);
    h.now += 10;
    let d = h.send(&c.release(a));
    assert_eq!(d.outcome, Outcome::Released(a));
    assert!(d.reply.is_none());
    let l = upsert(&d);
    assert_eq!((l.state, l.starts), (LeaseState::Released, h.now));
    // Repeated (e.g. relayed copy): nothing more.
    let d = h.send(&c.release(a));
    assert_eq!(d.outcome, Outcome::Ignored(IgnoreReason::NoEffect));
    assert!(d.changes.is_empty());
    // Another client gets a never-used address; the releaser gets its old one back.
    let b = h.dora(&other);
    assert_ne!(a, b);
    assert_eq!(h.dora(&c), a);
    // RELEASE of somebody else's lease is ignored.
    assert_eq!(
        h.send(&other.release(a)).outcome,
        Outcome::Ignored(IgnoreReason::NoEffect)
    );
}

#[test]
fn inform_answers_options_only() {
    let mut h = Harness::new();
    let c = client(1);
    let d = h.send(&c.packet(MessageType::Inform, |b| {
        b.set_ciaddr(ip("198.18.0.77"));
    }));
    assert_eq!(d.outcome, Outcome::Informed);
    assert!(d.changes.is_empty());
    let r = d.reply.as_ref().unwrap();
    assert_eq!(r.dest, ReplyDest::Unicast(ip("198.18.0.77")));
    assert_eq!(r.msg_type, MessageType::Ack);
    let m = reply_msg(&d);
    assert_eq!(m.yiaddr(), Ipv4Addr::UNSPECIFIED);
    assert_eq!(m.lease_time(), None);
    assert!(!m.has_option(code::RENEWAL_TIME));
    assert_eq!(m.dns_servers(), Some(vec![ip("198.18.0.2")]));
    assert_eq!(m.server_id(), Some(ip("198.18.0.1")));
    assert_eq!(h.engine.lease_count(), 0);
}

#[test]
fn client_id_is_the_identity_when_present() {
    let mut h = Harness::new();
    // Same chaddr, two client-ids: two clients.
    let a = h.dora(&client_id(1, b"\x01one"));
    let b = h.dora(&client_id(1, b"\x01two"));
    assert_ne!(a, b);
    // Same client-id, new NIC: same client.
    assert_eq!(
        h.send(&client_id(9, b"\x01one").discover(|_| {})).outcome,
        Outcome::Offered(a)
    );
    // chaddr alone is a third identity.
    let c = h.dora(&client(1));
    assert!(c != a && c != b);
}

#[test]
fn reservations_by_mac_and_client_id() {
    let mut h = Harness::new();
    // By MAC, inside the pool, with its host name as option 12.
    let d = h.send(&client(0xaa).discover(|_| {}));
    assert_eq!(d.outcome, Outcome::Offered(ip("198.18.0.15")));
    assert_eq!(reply_msg(&d).hostname().as_deref(), Some(&b"printer"[..]));
    // By client-id, outside the pool, with overriding options.
    let nas = client_id(0x42, b"\x00cid-res");
    let d = h.send(&nas.discover(|_| {}));
    assert_eq!(d.outcome, Outcome::Offered(ip("198.18.0.200")));
    let offer = reply_msg(&d);
    assert_eq!(offer.hostname().as_deref(), Some(&b"nas"[..]));
    assert_eq!(offer.dns_servers(), Some(vec![ip("198.18.0.53")]));
    assert_eq!(offer.routers(), Some(vec![ip("198.18.0.1")]));
    let d = h.send(&nas.select(ip("198.18.0.200"), ip("198.18.0.1")));
    assert_eq!(upsert(&d).hostname.as_deref(), Some("nas"));

    // Nobody else ever gets the reserved in-pool address, even when asking for it.
    let mut got = Vec::new();
    for n in 1..=12 {
        let c = client(n);
        let d = h.send(&c.discover(|b| {
            b.option_ip(code::REQUESTED_IP, ip("198.18.0.15"));
        }));
        if let Outcome::Offered(a) = d.outcome {
            got.push(a);
        }
    }
    assert_eq!(got.len(), 9, "10 pool addresses minus the reserved one");
    assert!(!got.contains(&ip("198.18.0.15")));
}

#[test]
fn requested_address_honored_when_free_refused_when_taken() {
    let mut h = Harness::new();
    let want = ip("198.18.0.17");
    let d = h.send(&client(1).discover(|b| {
        b.option_ip(code::REQUESTED_IP, want);
    }));
    assert_eq!(d.outcome, Outcome::Offered(want));
    let d = h.send(&client(2).discover(|b| {
        b.option_ip(code::REQUESTED_IP, want);
    }));
    let Outcome::Offered(other) = d.outcome else {
        panic!()
    };
    assert_ne!(other, want);
    // Outside every pool: ignored, a pool address is offered instead.
    let d = h.send(&client(3).discover(|b| {
        b.option_ip(code::REQUESTED_IP, ip("198.18.0.100"));
    }));
    assert!(matches!(d.outcome, Outcome::Offered(a) if a != ip("198.18.0.100")));
    // SELECTING for an address offered to someone else: NAK.
    let d = h.send(&client(4).select(want, ip("198.18.0.1")));
    assert_eq!(d.outcome, Outcome::Naked(super::super::request::NAK_IN_USE));
}

#[test]
fn subnet_selection_local_and_relayed() {
    let mut h = Harness::new();
    // Local, by interface address.
    let d = h.send(&client(1).discover(|_| {}));
    assert_eq!(d.subnet, Some(net("198.18.0.0/24")));
    // Relayed: the subnet containing giaddr, reply to the relay.
    let d = h.send(&client(2).discover(|b| {
        b.set_giaddr(ip("198.18.1.1"));
    }));
    assert_eq!(d.subnet, Some(net("198.18.1.0/24")));
    assert_eq!(d.outcome, Outcome::Offered(ip("198.18.1.100")));
    assert_eq!(
        d.reply.as_ref().unwrap().dest,
        ReplyDest::Relay(ip("198.18.1.1"))
    );
    // A relay on a network we do not serve.
    let d = h.send(&client(3).discover(|b| {
        b.set_giaddr(ip("198.19.9.1"));
    }));
    assert_eq!(d.outcome, Outcome::Ignored(IgnoreReason::NoSubnet));
    // Local on an interface with no matching subnet.
    h.iface = "eth9";
    h.addrs = vec![net("198.19.0.1/24")];
    let d = h.send(&client(4).discover(|_| {}));
    assert_eq!(d.outcome, Outcome::Ignored(IgnoreReason::NoSubnet));
    // Local by interface name.
    let mut cfg = config();
    cfg.subnets[1].interface = Some("eth9".into());
    h.engine.reconfigure(Arc::new(cfg), h.now);
    let d = h.send(&client(4).discover(|_| {}));
    assert_eq!(d.subnet, Some(net("198.18.1.0/24")));
}

#[test]
fn option_82_is_echoed_last() {
    let mut h = Harness::new();
    let rai = [1u8, 4, b'p', b'o', b'r', b't', 2, 2, 0xbe, 0xef];
    let d = h.send(&client(1).discover(|b| {
        b.set_giaddr(ip("198.18.0.1"))
            .option(code::RELAY_AGENT_INFO, &rai);
    }));
    let m = reply_msg(&d);
    let last = m.raw_options().filter(|(c, _)| *c != code::PAD).last();
    assert_eq!(last, Some((code::RELAY_AGENT_INFO, &rai[..])));
}

#[test]
fn reply_addressing_follows_rfc2131_4_1() {
    let c = client(1);
    type Setup = fn(&mut MessageBuilder);
    // `None`: unicast to yiaddr at chaddr.
    let cases: [(&str, Setup, Option<ReplyDest>); 4] = [
        (
            "giaddr wins",
            |b| {
                b.set_giaddr(ip("198.18.0.1")).set_ciaddr(ip("198.18.0.9"));
            },
            Some(ReplyDest::Relay(ip("198.18.0.1"))),
        ),
        (
            "ciaddr before broadcast bit",
            |b| {
                b.set_ciaddr(ip("198.18.0.9")).set_flags(FLAG_BROADCAST);
            },
            Some(ReplyDest::Unicast(ip("198.18.0.9"))),
        ),
        (
            "broadcast bit",
            |b| {
                b.set_flags(FLAG_BROADCAST);
            },
            Some(ReplyDest::Broadcast),
        ),
        ("hardware", |_| {}, None),
    ];
    for (name, setup, want) in cases {
        let mut h = Harness::new();
        let d = h.send(&c.discover(setup));
        let Outcome::Offered(a) = d.outcome else {
            panic!("{name}")
        };
        let want = want.unwrap_or(ReplyDest::Hardware {
            ip: a,
            hwaddr: c.hw(),
        });
        assert_eq!(d.reply.unwrap().dest, want, "{name}");
    }
}

#[test]
fn nak_through_relay_sets_broadcast_bit() {
    let mut h = Harness::new();
    let d = h.send(&client(1).packet(MessageType::Request, |b| {
        b.set_giaddr(ip("198.18.1.1"))
            .option_ip(code::REQUESTED_IP, ip("198.18.0.50"));
    }));
    assert_eq!(
        d.outcome,
        Outcome::Naked(super::super::request::NAK_WRONG_NETWORK)
    );
    assert_eq!(
        d.reply.as_ref().unwrap().dest,
        ReplyDest::Relay(ip("198.18.1.1"))
    );
    assert!(reply_msg(&d).broadcast());
}

#[test]
fn pool_exhaustion_is_reported() {
    let mut h = Harness::new();
    let relayed = |b: &mut MessageBuilder| {
        b.set_giaddr(ip("198.18.1.1"));
    };
    for n in 1..=3 {
        assert!(matches!(
            h.send(&client(n).discover(relayed)).outcome,
            Outcome::Offered(_)
        ));
    }
    assert_eq!(
        h.send(&client(4).discover(relayed)).outcome,
        Outcome::Ignored(IgnoreReason::PoolExhausted)
    );
    // Stale offers are freed by expire() without durable changes.
    h.now += OFFER_TIMEOUT;
    assert!(h.engine.expire(h.now).is_empty());
    assert!(matches!(
        h.send(&client(4).discover(relayed)).outcome,
        Outcome::Offered(_)
    ));
}

#[test]
fn expiry_reclaims_and_the_client_returns_to_its_address() {
    let mut h = Harness::new();
    let c = client(1);
    let a = h.dora(&c);
    assert!(h.engine.expire(h.now + LEASE - 1).is_empty());
    h.now += LEASE;
    let changes = h.engine.expire(h.now);
    let [LeaseChange::Upsert(l)] = changes.as_slice() else {
        panic!("{changes:?}")
    };
    assert_eq!((l.ip, l.state), (a, LeaseState::Expired));
    assert!(h.engine.expire(h.now + 1).is_empty(), "only once");
    // Renewing an expired but still free lease works; so does a new DORA.
    assert_eq!(h.send(&c.renew(a)).outcome, Outcome::Acked(a));
}

#[test]
fn expired_addresses_are_reused_oldest_first_after_fresh_ones() {
    let mut cfg = config();
    cfg.subnets[0].pools = vec![PoolConfig {
        start: ip("198.18.0.10"),
        end: ip("198.18.0.12"),
        bootp: false,
        classes: Vec::new(),
    }];
    let mut h = Harness::with(cfg, Vec::new());
    let a = h.dora(&client(1));
    h.now += 1;
    let b = h.dora(&client(2));
    h.now += LEASE + 1;
    assert_eq!(h.engine.expire(h.now).len(), 2);
    // Fresh .12 first, then the oldest expired (a), then b.
    assert_eq!(h.dora(&client(3)), ip("198.18.0.12"));
    assert_eq!(h.dora(&client(4)), a);
    assert_eq!(h.dora(&client(5)), b);
}

#[test]
fn restart_rebuilds_from_stored_leases() {
    let mut h = Harness::new();
    let (c1, c2) = (client(1), client(2));
    let a = h.dora(&c1);
    let b = h.dora(&c2);
    h.send(&c2.release(b));
    let stored: Vec<Lease> = h
        .engine
        .leases()
        .filter(|l| l.state != LeaseState::Offered)
        .cloned()
        .collect();
    let mut h2 = Harness::with(config(), stored);
    h2.now = h.now;
    assert_eq!(h2.send(&c1.renew(a)).outcome, Outcome::Acked(a));
    assert_eq!(h2.send(&c2.discover(|_| {})).outcome, Outcome::Offered(b));
    let d = h2.send(&client(3).discover(|_| {}));
    assert!(matches!(d.outcome, Outcome::Offered(x) if x != a && x != b));
}

#[test]
fn reconfigure_keeps_leases_and_naks_renewals_outside_new_pools() {
    let mut h = Harness::new();
    let c = client(1);
    let a = h.dora(&c);
    let mut cfg = config();
    cfg.subnets[0].pools = vec![PoolConfig {
        start: ip("198.18.0.100"),
        end: ip("198.18.0.110"),
        bootp: false,
        classes: Vec::new(),
    }];
    h.engine.reconfigure(Arc::new(cfg), h.now);
    assert_eq!(
        h.engine.lease_by_ip(a).map(|l| l.state),
        Some(LeaseState::Bound)
    );
    assert_eq!(
        h.send(&c.renew(a)).outcome,
        Outcome::Naked(super::super::request::NAK_NOT_VALID)
    );
    assert_eq!(
        h.send(&c.discover(|_| {})).outcome,
        Outcome::Offered(ip("198.18.0.100"))
    );
}

#[test]
fn options_follow_the_parameter_request_list() {
    let mut h = Harness::new();
    let d = h.send(&client(1).discover(|b| {
        b.option(
            code::PARAMETER_REQUEST_LIST,
            &[code::DOMAIN_NAME, code::ROUTER, code::SUBNET_MASK],
        );
    }));
    let m = reply_msg(&d);
    let order: Vec<u8> = m
        .raw_options()
        .map(|(c, _)| c)
        .filter(|c| ![code::PAD, code::END].contains(c))
        .collect();
    let pos = |c: u8| order.iter().position(|x| *x == c).unwrap();
    assert!(pos(code::DOMAIN_NAME) < pos(code::ROUTER));
    assert!(pos(code::ROUTER) < pos(code::SUBNET_MASK));
    assert!(
        pos(code::SUBNET_MASK) < pos(code::DNS_SERVERS),
        "unrequested last"
    );
    assert_eq!(order.iter().filter(|c| **c == code::SUBNET_MASK).count(), 1);
}

#[test]
fn non_requests_and_bad_types_are_ignored() {
    let mut h = Harness::new();
    let d = h.send(&client(1).discover(|b| {
        b.set_op(2);
    }));
    assert_eq!(d.outcome, Outcome::Ignored(IgnoreReason::NotRequest));
    let d = h.send(&client(1).packet(MessageType::Offer, |_| {}));
    assert_eq!(d.outcome, Outcome::Ignored(IgnoreReason::BadMessageType));
}

// === allocator invariant ===

/// One step of a random client population.
#[derive(Clone, Debug)]
enum Op {
    Discover(u8, Option<u8>),
    Select(u8),
    SelectOther(u8),
    InitReboot(u8, u8),
    Renew(u8),
    Release(u8),
    Decline(u8),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0u8..6;
    prop_oneof![
        (c.clone(), proptest::option::of(0u8..8)).prop_map(|(c, r)| Op::Discover(c, r)),
        c.clone().prop_map(Op::Select),
        c.clone().prop_map(Op::SelectOther),
        (c.clone(), 0u8..8).prop_map(|(c, r)| Op::InitReboot(c, r)),
        c.clone().prop_map(Op::Renew),
        c.clone().prop_map(Op::Release),
        c.prop_map(Op::Decline),
        (0u64..2 * LEASE).prop_map(Op::Advance),
    ]
}

/// Clients 0..3 identified by chaddr, 4..5 by client-id; client 5 shares client 0's chaddr.
fn pop_client(n: u8) -> Client {
    match n {
        4 => client_id(4, b"\x01four"),
        5 => client_id(0, b"\x01five"),
        n => client(n),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn no_address_is_ever_held_by_two_clients(ops in proptest::collection::vec(op(), 1..60)) {
        let mut cfg = config();
        // Five pool addresses (one reserved for client 0xaa, unused here) for six clients.
        cfg.subnets[0].pools = vec![PoolConfig { start: ip("198.18.0.12"), end: ip("198.18.0.17"), bootp: false, classes: Vec::new() }];
        let mut h = Harness::with(cfg, Vec::new());
        // What each client believes it holds: last offer and last binding.
        let mut offered: HashMap<u8, Ipv4Addr> = HashMap::new();
        let mut bound: HashMap<u8, Ipv4Addr> = HashMap::new();
        let base = u32::from(ip("198.18.0.10"));
        for op in ops {
            let (who, pkt) = match op {
                Op::Advance(dt) => {
                    h.now += dt;
                    h.engine.expire(h.now);
                    check_invariants(&h);
                    continue;
                }
                Op::Discover(c, r) => (c, pop_client(c).discover(|b| {
                    if let Some(r) = r {
                        b.option_ip(code::REQUESTED_IP, Ipv4Addr::from(base + u32::from(r)));
                    }
                })),
                Op::Select(c) => {
                    let Some(&a) = offered.get(&c) else { continue };
                    (c, pop_client(c).select(a, ip("198.18.0.1")))
                }
                Op::SelectOther(c) => {
                    let Some(&a) = offered.get(&c) else { continue };
                    (c, pop_client(c).select(a, ip("198.18.0.254")))
                }
                Op::InitReboot(c, r) => {
                    let a = bound.get(&c).copied().unwrap_or(Ipv4Addr::from(base + u32::from(r)));
                    (c, pop_client(c).init_reboot(a))
                }
                Op::Renew(c) => {
                    let Some(&a) = bound.get(&c) else { continue };
                    (c, pop_client(c).renew(a))
                }
                Op::Release(c) => {
                    let Some(&a) = bound.get(&c) else { continue };
                    (c, pop_client(c).release(a))
                }
                Op::Decline(c) => {
                    let Some(&a) = offered.get(&c) else { continue };
                    (c, pop_client(c).decline(a))
                }
            };
            let d = h.send(&pkt);
            match d.outcome {
                Outcome::Offered(a) => { offered.insert(who, a); }
                Outcome::Acked(a) => { bound.insert(who, a); }
                Outcome::Released(_) => { bound.remove(&who); }
                _ => {}
            }
            check_invariants(&h);
        }
    }
}

/// Internal consistency after every step: no IP held (offered or bound) by two clients, a
/// client has at most one offer, and no held address is marked free in its pool's bitmap.
fn check_invariants(h: &Harness) {
    let mut holders: HashMap<Ipv4Addr, Vec<String>> = HashMap::new();
    let mut offers_per_client: HashMap<String, usize> = HashMap::new();
    for l in h.engine.table.offers() {
        let who = format!("{:?}{:?}", l.client_id, l.hwaddr);
        holders.entry(l.ip).or_default().push(who.clone());
        *offers_per_client.entry(who).or_default() += 1;
    }
    for l in h.engine.table.durable_leases() {
        if matches!(l.state, LeaseState::Bound | LeaseState::Declined) {
            let who = format!("{:?}{:?}", l.client_id, l.hwaddr);
            let hs = holders.entry(l.ip).or_default();
            if !hs.contains(&who) {
                hs.push(who);
            }
        }
        // Declined addresses are held by nobody else: fold into the holder check.
    }
    for (a, hs) in &holders {
        assert!(hs.len() <= 1, "{a} held by {hs:?}");
        for sp in &h.engine.pools.subnets {
            for p in &sp.pools {
                assert!(!p.is_free(*a), "{a} is held but marked free");
            }
        }
    }
    assert!(offers_per_client.values().all(|n| *n == 1));
}

/// Start-up at scale: 200,000 stored leases in a /12 pool (in memory only, no packets) are all
/// adopted and then expire together. How long this takes with one million leases is a
/// benchmark, not a test: `bench/million.sh` measures it on the real server (docs/benchmarks.md).
#[test]
fn rebuild_from_many_stored_leases_then_expire_them() {
    const N: u32 = 200_000;
    let mut cfg = config();
    let base = u32::from(ip("10.0.0.0"));
    cfg.subnets.push(SubnetConfig {
        cidr: net("10.0.0.0/12"),
        interface: Some("big0".into()),
        lease_time: LEASE,
        renewal_time: LEASE / 2,
        rebinding_time: LEASE * 7 / 8,
        pools: vec![PoolConfig {
            start: ip("10.0.0.1"),
            end: ip("10.15.255.254"),
            bootp: false,
            classes: Vec::new(),
        }],
        reservations: vec![],
        options: DhcpOptions::default(),
        always_send: Vec::new(),
        shared_network: None,
    });
    let leases: Vec<Lease> = (1..=N)
        .map(|i| Lease {
            ip: Ipv4Addr::from(base + i),
            hwaddr: HwAddr::new(1, &i.to_be_bytes()).unwrap(),
            client_id: (i % 2 == 0).then(|| i.to_le_bytes().to_vec().into()),
            hostname: None,
            fqdn: None,
            state: if i % 3 == 0 {
                LeaseState::Expired
            } else {
                LeaseState::Bound
            },
            starts: T0 - u64::from(i % 1000),
            ends: T0 + LEASE,
        })
        .collect();
    let bound = leases
        .iter()
        .filter(|l| l.state == LeaseState::Bound)
        .count();
    let mut engine = Engine::new(Arc::new(cfg), leases, T0);
    assert_eq!(engine.lease_count(), N as usize);
    assert_eq!(
        engine
            .lease_by_ip(Ipv4Addr::from(base + 7))
            .map(|l| l.state),
        Some(LeaseState::Bound)
    );
    assert!(engine.expire(T0 + LEASE - 1).is_empty());
    let expired = engine.expire(T0 + LEASE);
    assert_eq!(
        expired.len(),
        bound,
        "every bound lease expires exactly once"
    );
}

#[test]
fn a_clients_bound_record_wins_over_older_ones_at_start_up() {
    let c = client(1);
    let rec = |a: &str, state, starts| Lease {
        ip: ip(a),
        hwaddr: c.hw(),
        client_id: None,
        hostname: None,
        fqdn: None,
        state,
        starts,
        ends: starts + LEASE,
    };
    // Store order must not matter.
    let leases = vec![
        rec("198.18.0.12", LeaseState::Bound, T0 - 50),
        rec("198.18.0.11", LeaseState::Expired, T0 - 10),
        rec("198.18.0.13", LeaseState::Released, T0 - 20),
    ];
    let mut h = Harness::with(config(), leases);
    assert_eq!(
        h.send(&c.discover(|_| {})).outcome,
        Outcome::Offered(ip("198.18.0.12"))
    );
    // The other records are this client's too, so nobody else is offered them first:
    // fresh addresses go out before released/expired ones.
    let d = h.send(&client(2).discover(|_| {}));
    assert_eq!(d.outcome, Outcome::Offered(ip("198.18.0.10")));
}

/// Many clients in one pool: 20,000 DORA exchanges then renewals all succeed, with distinct
/// addresses. (Speed is measured by `bench/compare.sh` through the real server.)
#[test]
fn many_clients_dora_then_renew() {
    const N: u32 = 20_000;
    let mut cfg = config();
    cfg.subnets[0].cidr = net("198.18.0.0/15");
    cfg.subnets[0].pools = vec![PoolConfig {
        start: ip("198.18.1.0"),
        end: ip("198.19.255.254"),
        bootp: false,
        classes: Vec::new(),
    }];
    cfg.subnets.truncate(1);
    let mut h = Harness::with(cfg, Vec::new());
    let clients: Vec<Client> = (0..N)
        .map(|i| Client {
            mac: [2, 1, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8],
            cid: None,
        })
        .collect();
    let discovers: Vec<Vec<u8>> = clients.iter().map(|c| c.discover(|_| {})).collect();
    let offers: Vec<Ipv4Addr> = discovers
        .iter()
        .map(|p| match h.send(p).outcome {
            Outcome::Offered(a) => a,
            o => panic!("{o:?}"),
        })
        .collect();
    let requests: Vec<Vec<u8>> = clients
        .iter()
        .zip(&offers)
        .map(|(c, a)| c.select(*a, ip("198.18.0.1")))
        .collect();
    for p in &requests {
        assert!(matches!(h.send(p).outcome, Outcome::Acked(_)));
    }
    let distinct: std::collections::HashSet<_> = offers.iter().collect();
    assert_eq!(distinct.len(), offers.len(), "an address was offered twice");
    let renews: Vec<Vec<u8>> = clients
        .iter()
        .zip(&offers)
        .map(|(c, a)| c.renew(*a))
        .collect();
    for (p, a) in renews.iter().zip(&offers) {
        assert_eq!(h.send(p).outcome, Outcome::Acked(*a));
    }
}

mod bootp;
mod classes;
mod relay;
