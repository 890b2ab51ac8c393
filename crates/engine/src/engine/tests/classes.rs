//! Client classes, PXE boot parameters, option provenance and the unrequested-option rule.

use super::*;
use hyperdhcp_config::{ClassConfig, ClassMatch};

/// Two PXE classes by architecture (RFC 4578 §2.1) and a DNS override by vendor class.
fn pxe_config() -> Config {
    let mut c = config();
    let class = |name: &str, arch: u16, file: &str| {
        let mut options = DhcpOptions::default();
        options.set(code::BOOTFILE_NAME, file.as_bytes().to_vec());
        options.set(code::TFTP_SERVER_NAME, b"198.18.0.5".to_vec());
        ClassConfig {
            name: name.into(),
            matcher: ClassMatch {
                vendor_class: Some("PXEClient*".into()),
                client_arch: Some(arch),
                ..ClassMatch::default()
            },
            next_server: Some(ip("198.18.0.5")),
            boot_file: Some(file.into()),
            options,
            always_send: vec![code::BOOTFILE_NAME],
        }
    };
    let mut dns = DhcpOptions::default();
    dns.set(code::DNS_SERVERS, ip("198.18.0.99").octets().to_vec());
    c.classes = vec![
        class("uefi", 7, "ipxe.efi"),
        class("bios", 0, "undionly.kpxe"),
        ClassConfig {
            name: "pxe-dns".into(),
            matcher: ClassMatch {
                vendor_class: Some("PXEClient*".into()),
                ..ClassMatch::default()
            },
            next_server: None,
            boot_file: None,
            options: dns,
            always_send: Vec::new(),
        },
    ];
    c
}

fn pxe_discover(c: &Client, arch: u16) -> Vec<u8> {
    c.discover(|b| {
        b.option(code::VENDOR_CLASS_ID, b"PXEClient:Arch:00007:UNDI:003016")
            .option(code::CLIENT_ARCH, &arch.to_be_bytes())
            .option(
                code::PARAMETER_REQUEST_LIST,
                &[code::SUBNET_MASK, code::ROUTER, code::TFTP_SERVER_NAME],
            );
    })
}

fn file_field(m: &Message<'_>) -> String {
    let f = m.file();
    let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
    String::from_utf8_lossy(&f[..end]).into_owned()
}

#[test]
fn pxe_boot_file_and_next_server_follow_the_architecture() {
    let mut h = Harness::with(pxe_config(), Vec::new());
    for (n, arch, file) in [(1, 7, "ipxe.efi"), (2, 0, "undionly.kpxe")] {
        let d = h.send(&pxe_discover(&client(n), arch));
        let m = reply_msg(&d);
        assert_eq!(m.siaddr(), ip("198.18.0.5"), "arch {arch}");
        assert_eq!(file_field(&m), file, "arch {arch}");
        assert_eq!(
            m.option(code::BOOTFILE_NAME).as_deref(),
            Some(file.as_bytes())
        );
        assert_eq!(
            m.option(code::TFTP_SERVER_NAME).as_deref(),
            Some(&b"198.18.0.5"[..])
        );
        // The later class (pxe-dns) overrides the subnet's DNS.
        assert_eq!(m.dns_servers(), Some(vec![ip("198.18.0.99")]));
    }
    // A plain client matches no class: no boot parameters, subnet DNS.
    let d = h.send(&client(3).discover(|_| {}));
    let m = reply_msg(&d);
    assert_eq!(m.siaddr(), Ipv4Addr::UNSPECIFIED);
    assert_eq!(file_field(&m), "");
    assert!(m.option(code::BOOTFILE_NAME).is_none());
    assert_eq!(m.dns_servers(), Some(vec![ip("198.18.0.2")]));
}

#[test]
fn unrequested_options_only_when_basic_or_always_send() {
    let mut cfg = pxe_config();
    cfg.subnets[0]
        .options
        .set(code::NTP_SERVERS, ip("198.18.0.7").octets().to_vec());
    let mut h = Harness::with(cfg.clone(), Vec::new());
    let prl = [code::SUBNET_MASK];
    let d = h.send(&client(1).discover(|b| {
        b.option(code::PARAMETER_REQUEST_LIST, &prl);
    }));
    let m = reply_msg(&d);
    assert!(m.option(code::NTP_SERVERS).is_none(), "not requested");
    assert!(m.routers().is_some(), "router is always sent");
    // Requested: sent.
    let d = h.send(&client(2).discover(|b| {
        b.option(code::PARAMETER_REQUEST_LIST, &[code::NTP_SERVERS]);
    }));
    assert!(reply_msg(&d).option(code::NTP_SERVERS).is_some());
    // No parameter request list at all: everything configured.
    let d = h.send(&client(3).discover(|_| {}));
    assert!(reply_msg(&d).option(code::NTP_SERVERS).is_some());
    // always_send on the subnet.
    cfg.subnets[0].always_send = vec![code::NTP_SERVERS];
    let mut h = Harness::with(cfg, Vec::new());
    let d = h.send(&client(4).discover(|b| {
        b.option(code::PARAMETER_REQUEST_LIST, &prl);
    }));
    assert!(reply_msg(&d).option(code::NTP_SERVERS).is_some());
    // A class's always_send: option 67 although the PXE client did not ask for it.
    let d = h.send(&pxe_discover(&client(5), 7));
    assert!(reply_msg(&d).option(code::BOOTFILE_NAME).is_some());
}

#[test]
fn explain_names_subnet_pool_classes_reservation_and_sources() {
    let mut h = Harness::with(pxe_config(), Vec::new());
    let pkt = pxe_discover(&client(1), 7);
    let msg = Message::parse(&pkt).unwrap();
    let addrs = eth0_addrs();
    let ctx = RequestContext {
        interface: "eth0",
        interface_addrs: &addrs,
        source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
    };
    let e = h.engine.explain(&msg, &ctx, T0);
    let Outcome::Offered(a) = e.outcome else {
        panic!("{:?}", e.outcome)
    };
    assert_eq!(e.subnet, Some(net("198.18.0.0/24")));
    assert_eq!(e.selected_by, "interface");
    assert_eq!(e.pool, Some((ip("198.18.0.10"), ip("198.18.0.19"))));
    assert!((ip("198.18.0.10")..=ip("198.18.0.19")).contains(&a));
    assert_eq!(e.classes, ["uefi", "pxe-dns"]);
    assert_eq!(e.reservation, None);
    assert_eq!(e.next_server, Some(ip("198.18.0.5")));
    assert_eq!(e.boot_file.as_deref(), Some("ipxe.efi"));
    let source = |c: u8| {
        e.options
            .iter()
            .find(|o| o.code == c)
            .map(|o| o.source.as_str())
    };
    assert_eq!(source(code::SUBNET_MASK), Some("subnet (derived)"));
    assert_eq!(source(code::ROUTER), Some("subnet"));
    assert_eq!(source(code::DNS_SERVERS), Some("class pxe-dns"));
    assert_eq!(source(code::BOOTFILE_NAME), Some("class uefi"));
    assert_eq!(source(code::SERVER_ID), Some("server"));
    assert_eq!(source(code::LEASE_TIME), Some("lease"));
    // PRL order first: 1, 3, 66 come before the unrequested 6 and 67.
    let order: Vec<u8> = e.options.iter().map(|o| o.code).collect();
    let pos = |c| order.iter().position(|&x| x == c).unwrap();
    assert!(pos(code::SUBNET_MASK) < pos(code::ROUTER));
    assert!(pos(code::TFTP_SERVER_NAME) < pos(code::DNS_SERVERS));

    // A reservation: explained with what it matched on, options from it.
    let d = h.engine.explain(
        &Message::parse(&client(0xaa).discover(|_| {})).unwrap(),
        &ctx,
        T0,
    );
    assert_eq!(d.reservation, Some((ip("198.18.0.15"), "mac")));
    assert_eq!(d.outcome, Outcome::Offered(ip("198.18.0.15")));
}

#[test]
fn client_fqdn_is_stored_as_the_lease_host_name() {
    let mut h = Harness::new();
    let c = client(7);
    let d = h.send(&c.discover(|_| {}));
    let Outcome::Offered(a) = d.outcome else {
        panic!("{:?}", d.outcome)
    };
    let d = h.send(&c.packet(MessageType::Request, |b| {
        b.option_ip(code::SERVER_ID, ip("198.18.0.1"))
            .option_ip(code::REQUESTED_IP, a)
            .option(code::CLIENT_FQDN, b"\x05\x00\x00\x02pc\x03lab\x04test\x00");
    }));
    assert_eq!(upsert(&d).hostname.as_deref(), Some("pc.lab.test"));
}

#[test]
fn replies_respect_the_client_maximum_message_size() {
    let mut cfg = config();
    // About 400 bytes of options the client asks for.
    for c in 224..228u8 {
        cfg.subnets[0].options.set(c, vec![c; 100]);
    }
    let mut h = Harness::with(cfg, Vec::new());
    let prl = [1, 3, 224, 225, 226, 227];
    let d = h.send(&client(1).discover(|b| {
        b.option(code::PARAMETER_REQUEST_LIST, &prl);
    }));
    let packet = &d.reply.as_ref().unwrap().packet;
    assert!(
        packet.len() <= 548,
        "no option 57: 576-byte datagrams, got {}",
        packet.len()
    );
    let m = Message::parse(packet).unwrap();
    assert_eq!(m.overload() & 1, 1, "the file field carries options");
    assert_eq!(
        m.option(226).as_deref(),
        Some(&[226u8; 100][..]),
        "read back from file"
    );
    assert!(m.option(224).is_some() && m.subnet_mask().is_some());
    assert!(
        m.option(227).is_none(),
        "the last option fits nowhere and is dropped"
    );
    // A client accepting 1500-byte datagrams gets all of it in the options field.
    let d = h.send(&client(2).discover(|b| {
        b.option(code::PARAMETER_REQUEST_LIST, &prl)
            .option_u16(code::MAX_MESSAGE_SIZE, 1500);
    }));
    let m = reply_msg(&d);
    assert_eq!(m.overload(), 0);
    assert!((224..228u8).all(|c| m.option(c).is_some()));
}

#[test]
fn pools_limited_to_classes_serve_only_those_clients() {
    let mut cfg = pxe_config();
    cfg.subnets[0].pools[0].classes = vec!["uefi".into()];
    cfg.subnets[0].pools.push(PoolConfig {
        start: ip("198.18.0.30"),
        end: ip("198.18.0.39"),
        bootp: false,
        classes: Vec::new(),
    });
    let mut h = Harness::with(cfg, Vec::new());
    let d = h.send(&pxe_discover(&client(1), 7));
    assert!((ip("198.18.0.10")..=ip("198.18.0.19")).contains(&offered_ip(&d)));
    // A plain client gets the open pool, even when it asks for a uefi-only address.
    let d = h.send(&client(2).discover(|b| {
        b.option_ip(code::REQUESTED_IP, ip("198.18.0.11"));
    }));
    assert!((ip("198.18.0.30")..=ip("198.18.0.39")).contains(&offered_ip(&d)));
    // Nor can it bind one with a REQUEST.
    let c = client(3);
    let d = h.send(&c.init_reboot(ip("198.18.0.12")));
    assert_ne!(d.outcome, Outcome::Acked(ip("198.18.0.12")));
}

fn offered_ip(d: &Decision) -> Ipv4Addr {
    match d.outcome {
        Outcome::Offered(a) => a,
        ref o => panic!("no offer: {o:?}"),
    }
}
