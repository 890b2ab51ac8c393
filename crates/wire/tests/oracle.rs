//! Cross-checks against dhcproto 0.15 as an oracle: messages encoded by dhcproto parse to the
//! same values with our parser, and messages from our builder decode to the same values there.

use std::net::Ipv4Addr;

use dhcproto::v4::{self, DhcpOption, DhcpOptions, Flags, OptionCode};
use dhcproto::{Decodable, Encodable, Name};
use hyperdhcp_wire::{
    Message, MessageBuilder, MessageType, code, decode_domain_search, encode_classless_routes,
    encode_domain_search,
};
use proptest::prelude::*;

/// The concatenated value bytes of one dhcproto option as dhcproto encodes it.
fn value_bytes(opt: &DhcpOption) -> Vec<u8> {
    let enc = opt.to_vec().unwrap_or_default();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < enc.len() {
        let len = usize::from(enc[i + 1]);
        out.extend_from_slice(&enc[i + 2..i + 2 + len]);
        i += 2 + len;
    }
    out
}

/// A dhcproto option decoded from its (code, value) wire form.
fn decoded(code: u8, value: &[u8]) -> DhcpOption {
    let mut wire = Vec::new();
    for chunk in value.chunks(255) {
        wire.extend_from_slice(&[code, chunk.len() as u8]);
        wire.extend_from_slice(chunk);
    }
    DhcpOption::from_bytes(&wire).unwrap()
}

/// An owned copy of an option value, for comparisons.
fn own(v: Option<std::borrow::Cow<'_, [u8]>>) -> Option<Vec<u8>> {
    v.map(|c| c.into_owned())
}

fn ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn ips(max: usize) -> impl Strategy<Value = Vec<Ipv4Addr>> {
    prop::collection::vec(ip(), 1..max)
}

fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,20}"
}

fn dns_name() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..4).prop_map(|l| l.join("."))
}

fn route() -> impl Strategy<Value = (Ipv4Addr, u8, Ipv4Addr)> {
    (any::<u32>(), 0u8..=32, ip()).prop_map(|(d, w, r)| {
        let mask = if w == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(w))
        };
        (Ipv4Addr::from(d & mask), w, r)
    })
}

fn msg_type() -> impl Strategy<Value = MessageType> {
    prop::sample::select(MessageType::ALL.to_vec())
}

/// (code, value) pairs with values dhcproto represents canonically.
fn typed_option() -> impl Strategy<Value = (u8, Vec<u8>)> {
    let v4 = |c: u8| ip().prop_map(move |a| (c, a.octets().to_vec()));
    let list =
        |c: u8, max| ips(max).prop_map(move |l| (c, l.iter().flat_map(|a| a.octets()).collect()));
    let u32s = |c: u8| any::<u32>().prop_map(move |v| (c, v.to_be_bytes().to_vec()));
    prop_oneof![
        v4(code::SUBNET_MASK),
        list(code::ROUTER, 80),
        list(code::DNS_SERVERS, 4),
        "[a-zA-Z0-9-]{1,300}".prop_map(|s| (code::HOSTNAME, s.into_bytes())),
        dns_name().prop_map(|s| (code::DOMAIN_NAME, s.into_bytes())),
        v4(code::BROADCAST_ADDRESS),
        list(code::NTP_SERVERS, 3),
        v4(code::REQUESTED_IP),
        u32s(code::LEASE_TIME),
        v4(code::SERVER_ID),
        prop::collection::vec(1u8..=254, 1..40).prop_map(|v| (code::PARAMETER_REQUEST_LIST, v)),
        any::<u16>().prop_map(|v| (code::MAX_MESSAGE_SIZE, v.to_be_bytes().to_vec())),
        u32s(code::RENEWAL_TIME),
        u32s(code::REBINDING_TIME),
        prop::collection::vec(any::<u8>(), 1..600).prop_map(|v| (code::VENDOR_CLASS_ID, v)),
        prop::collection::vec(any::<u8>(), 2..40).prop_map(|v| (code::CLIENT_ID, v)),
        prop::collection::vec(route(), 1..40)
            .prop_map(|r| (code::CLASSLESS_STATIC_ROUTE, encode_classless_routes(&r))),
        (
            prop::collection::vec(any::<u8>(), 1..30),
            prop::collection::vec(any::<u8>(), 1..30)
        )
            .prop_map(|(c, r)| {
                let mut v = vec![1, c.len() as u8];
                v.extend(&c);
                v.extend([2, r.len() as u8]);
                v.extend(&r);
                (code::RELAY_AGENT_INFO, v)
            }),
        (224u8..=254, prop::collection::vec(any::<u8>(), 1..300)),
    ]
}

/// Distinct-code option sets (dhcproto keeps one option per code).
fn option_set() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    prop::collection::vec(typed_option(), 0..14).prop_map(|mut v| {
        let mut seen = std::collections::HashSet::new();
        v.retain(|(c, _)| seen.insert(*c));
        v
    })
}

#[derive(Debug, Clone)]
struct Header {
    xid: u32,
    secs: u16,
    hops: u8,
    broadcast: bool,
    addrs: [Ipv4Addr; 4],
    chaddr: Vec<u8>,
}

fn header() -> impl Strategy<Value = Header> {
    (
        any::<u32>(),
        any::<u16>(),
        any::<u8>(),
        any::<bool>(),
        [ip(), ip(), ip(), ip()],
        prop::collection::vec(any::<u8>(), 0..=16),
    )
        .prop_map(|(xid, secs, hops, broadcast, addrs, chaddr)| Header {
            xid,
            secs,
            hops,
            broadcast,
            addrs,
            chaddr,
        })
}

fn check_header(m: &Message<'_>, h: &Header) -> Result<(), TestCaseError> {
    prop_assert_eq!(m.xid(), h.xid);
    prop_assert_eq!(m.secs(), h.secs);
    prop_assert_eq!(m.hops(), h.hops);
    prop_assert_eq!(m.broadcast(), h.broadcast);
    prop_assert_eq!([m.ciaddr(), m.yiaddr(), m.siaddr(), m.giaddr()], h.addrs);
    prop_assert_eq!(m.chaddr(), &h.chaddr[..]);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// dhcproto encodes, we parse: header and every option value agree, typed accessors too.
    #[test]
    fn dhcproto_encoded_messages_parse_the_same(h in header(), t in msg_type(), opts in option_set(),
                                                search in prop::collection::vec(dns_name(), 0..4)) {
        let [ci, yi, si, gi] = h.addrs;
        let mut m = v4::Message::new_with_id(h.xid, ci, yi, si, gi, &h.chaddr);
        m.set_hops(h.hops).set_secs(h.secs);
        if h.broadcast {
            m.set_flags(Flags::default().set_broadcast());
        }
        let mut dopts = DhcpOptions::new();
        dopts.insert(DhcpOption::MessageType(v4::MessageType::from(t as u8)));
        for (c, v) in &opts {
            dopts.insert(decoded(*c, v));
        }
        if !search.is_empty() {
            let names = search.iter().map(|s| Name::from_ascii(s).unwrap()).collect();
            dopts.insert(DhcpOption::DomainSearch(names));
        }
        m.set_opts(dopts);
        let bytes = m.to_vec().unwrap();
        let ours = Message::parse(&bytes).unwrap();
        check_header(&ours, &h)?;
        prop_assert_eq!(ours.message_type(), Some(t));
        for (c, opt) in m.opts().iter() {
            let want = value_bytes(opt);
            prop_assert_eq!(own(ours.option(u8::from(*c))), Some(want), "option {:?}", c);
        }
        let o = m.opts();
        if let Some(DhcpOption::Router(r)) = o.get(OptionCode::Router) {
            prop_assert_eq!(ours.routers(), Some(r.clone()));
        }
        if let Some(DhcpOption::DomainNameServer(r)) = o.get(OptionCode::DomainNameServer) {
            prop_assert_eq!(ours.dns_servers(), Some(r.clone()));
        }
        if let Some(DhcpOption::NtpServers(r)) = o.get(OptionCode::NtpServers) {
            prop_assert_eq!(ours.ntp_servers(), Some(r.clone()));
        }
        if let Some(DhcpOption::SubnetMask(a)) = o.get(OptionCode::SubnetMask) {
            prop_assert_eq!(ours.subnet_mask(), Some(*a));
        }
        if let Some(DhcpOption::BroadcastAddr(a)) = o.get(OptionCode::BroadcastAddr) {
            prop_assert_eq!(ours.broadcast_address(), Some(*a));
        }
        if let Some(DhcpOption::RequestedIpAddress(a)) = o.get(OptionCode::RequestedIpAddress) {
            prop_assert_eq!(ours.requested_ip(), Some(*a));
        }
        if let Some(DhcpOption::ServerIdentifier(a)) = o.get(OptionCode::ServerIdentifier) {
            prop_assert_eq!(ours.server_id(), Some(*a));
        }
        if let Some(DhcpOption::AddressLeaseTime(v)) = o.get(OptionCode::AddressLeaseTime) {
            prop_assert_eq!(ours.lease_time(), Some(*v));
        }
        if let Some(DhcpOption::Renewal(v)) = o.get(OptionCode::Renewal) {
            prop_assert_eq!(ours.renewal_time(), Some(*v));
        }
        if let Some(DhcpOption::Rebinding(v)) = o.get(OptionCode::Rebinding) {
            prop_assert_eq!(ours.rebinding_time(), Some(*v));
        }
        if let Some(DhcpOption::MaxMessageSize(v)) = o.get(OptionCode::MaxMessageSize) {
            prop_assert_eq!(ours.max_message_size(), Some(*v));
        }
        if let Some(DhcpOption::Hostname(s)) = o.get(OptionCode::Hostname) {
            prop_assert_eq!(own(ours.hostname()), Some((s.as_bytes()).to_vec()));
        }
        if let Some(DhcpOption::DomainName(s)) = o.get(OptionCode::DomainName) {
            prop_assert_eq!(own(ours.domain_name()), Some((s.as_bytes()).to_vec()));
        }
        if let Some(DhcpOption::ParameterRequestList(l)) = o.get(OptionCode::ParameterRequestList) {
            let want: Vec<u8> = l.iter().map(|c| u8::from(*c)).collect();
            prop_assert_eq!(own(ours.parameter_request_list()), Some(want.clone()));
        }
        if let Some(DhcpOption::ClassIdentifier(v)) = o.get(OptionCode::ClassIdentifier) {
            prop_assert_eq!(own(ours.vendor_class_id()), Some(v.clone()));
        }
        if let Some(DhcpOption::ClientIdentifier(v)) = o.get(OptionCode::ClientIdentifier) {
            prop_assert_eq!(own(ours.client_id()), Some(v.clone()));
        }
        if let Some(DhcpOption::ClasslessStaticRoute(r)) = o.get(OptionCode::ClasslessStaticRoute) {
            let want: Vec<_> = r.iter().map(|(n, g)| ((n.addr(), n.prefix_len()), *g)).collect();
            prop_assert_eq!(ours.classless_routes(), Some(want));
        }
        if let Some(DhcpOption::DomainSearch(names)) = o.get(OptionCode::DomainSearch) {
            let want: Vec<String> =
                names.iter().map(|n| n.to_ascii().trim_end_matches('.').to_owned()).collect();
            let got = decode_domain_search(&ours.domain_search().unwrap());
            prop_assert_eq!(got, Some(want));
        }
        prop_assert!(o.get(OptionCode::RelayAgentInformation).is_none() || ours.relay_agent_info().is_some());
    }

    /// We build, dhcproto decodes: same header and option values (long ones concatenated).
    #[test]
    fn builder_output_decodes_the_same_in_dhcproto(h in header(), t in msg_type(), opts in option_set(),
                                                   search in prop::collection::vec(dns_name(), 0..4)) {
        let [ci, yi, si, gi] = h.addrs;
        let mut b = MessageBuilder::request(t, h.xid, &h.chaddr);
        b.set_hops(h.hops).set_secs(h.secs).set_flags(if h.broadcast { 0x8000 } else { 0 })
            .set_ciaddr(ci).set_yiaddr(yi).set_siaddr(si).set_giaddr(gi);
        for (c, v) in &opts {
            b.option(*c, v);
        }
        let names: Vec<&str> = search.iter().map(String::as_str).collect();
        if !names.is_empty() {
            b.option(code::DOMAIN_SEARCH, &encode_domain_search(&names).unwrap());
        }
        let bytes = b.finish();
        // Our own parser agrees first.
        check_header(&Message::parse(&bytes).unwrap(), &h)?;
        let d = v4::Message::from_bytes(&bytes).unwrap();
        prop_assert_eq!(d.xid(), h.xid);
        prop_assert_eq!(d.secs(), h.secs);
        prop_assert_eq!(d.hops(), h.hops);
        prop_assert_eq!(d.flags().broadcast(), h.broadcast);
        prop_assert_eq!([d.ciaddr(), d.yiaddr(), d.siaddr(), d.giaddr()], h.addrs);
        prop_assert_eq!(d.chaddr(), &h.chaddr[..]);
        prop_assert_eq!(d.opts().msg_type(), Some(v4::MessageType::from(t as u8)));
        for (c, v) in &opts {
            let got = d.opts().get(OptionCode::from(*c));
            prop_assert!(got.is_some(), "dhcproto lost option {}", c);
            prop_assert_eq!(value_bytes(got.unwrap()), v.clone(), "option {}", c);
        }
        if !names.is_empty() {
            let Some(DhcpOption::DomainSearch(got)) = d.opts().get(OptionCode::DomainSearch) else {
                return Err(TestCaseError::fail("dhcproto lost option 119"));
            };
            let got: Vec<String> =
                got.iter().map(|n| n.to_ascii().trim_end_matches('.').to_owned()).collect();
            prop_assert_eq!(got, search.clone());
        }
    }
}
