//! Table-driven tests of the file format: accepted files parse to the expected values, and each
//! kind of mistake is reported with its exact key path and message.

use super::*;

/// The `[server]` table most cases share.
const SERVER: &str = "[server]\ninterfaces = [\"srv0\"]\n";
/// A valid subnet header most cases append keys or tables to.
const SUBNET: &str = "[[subnet]]\ncidr = \"198.18.0.0/16\"\n";

/// The error lines of parsing `text` (empty when it parses).
fn errors(text: &str) -> Vec<String> {
    match Config::from_toml_str(text) {
        Ok(_) => Vec::new(),
        Err(ConfigErrors(list)) => list.iter().map(ToString::to_string).collect(),
    }
}

fn parse(text: &str) -> Config {
    match Config::from_toml_str(text) {
        Ok(config) => config,
        Err(e) => panic!("config rejected:\n{e}\n--- text ---\n{text}"),
    }
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().expect("test address")
}

#[test]
fn minimal_file_parses_with_expected_values() {
    let config = parse(include_str!("../../../examples/minimal.toml"));
    assert_eq!(
        config.server,
        ServerConfig {
            interfaces: vec!["srv0".to_owned()],
            server_id: None,
            offer_timeout: 30,
            decline_hold: 86_400,
            receive_buffer: 4_194_304,
            udp_gso: true,
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            rate_limit: Default::default(),
        }
    );
    assert_eq!(
        config.store.path,
        PathBuf::from("/var/lib/hyperdhcp/leases.db")
    );
    assert_eq!(config.subnets.len(), 1);
    let subnet = &config.subnets[0];
    assert_eq!(
        subnet.cidr,
        "198.18.0.0/16".parse::<Ipv4Net>().expect("cidr")
    );
    assert_eq!(subnet.interface, None);
    assert_eq!(
        (
            subnet.lease_time,
            subnet.renewal_time,
            subnet.rebinding_time
        ),
        (3_600, 1_800, 3_150)
    );
    assert_eq!(
        subnet.pools,
        vec![PoolConfig {
            start: ip("198.18.1.0"),
            end: ip("198.18.255.254"),
            bootp: false,
            classes: Vec::new(),
        }]
    );
    assert_eq!(
        subnet.reservations,
        vec![ReservationConfig {
            mac: Some(HwAddr::ethernet([2, 0, 0, 0, 0, 0xaa])),
            client_id: None,
            circuit_id: None,
            remote_id: None,
            subscriber_id: None,
            ip: ip("198.18.0.50"),
            hostname: Some("printer".to_owned()),
            options: DhcpOptions::default(),
        }]
    );
    let options: Vec<(u8, Vec<u8>)> = subnet
        .options
        .iter()
        .map(|(c, v)| (c, v.to_vec()))
        .collect();
    assert_eq!(
        options,
        vec![
            (1, vec![255, 255, 0, 0]),
            (3, vec![198, 18, 0, 1]),
            (6, vec![198, 18, 0, 1]),
            (15, b"lab.example".to_vec()),
            (28, vec![198, 18, 255, 255]),
        ]
    );
}

#[test]
fn defaults_and_optional_tables() {
    let config = parse(&format!("{SERVER}{SUBNET}lease_time = 600\n"));
    assert_eq!(config.store.path, PathBuf::from(DEFAULT_STORE_PATH));
    let subnet = &config.subnets[0];
    // RFC 2131 §4.4.5: T1 = 0.5 and T2 = 0.875 of the lease.
    assert_eq!(
        (
            subnet.lease_time,
            subnet.renewal_time,
            subnet.rebinding_time
        ),
        (600, 300, 525)
    );
    assert!(subnet.pools.is_empty() && subnet.reservations.is_empty());
}

#[test]
fn durations_in_every_form() {
    let cases = [
        ("\"90s\"", 90),
        ("\"30m\"", 1_800),
        ("\"1h\"", 3_600),
        ("\"1d\"", 86_400),
        ("\"1h30m\"", 5_400),
        ("7200", 7_200),
        ("\"7200\"", 7_200),
    ];
    for (written, seconds) in cases {
        let config = parse(&format!("{SERVER}{SUBNET}lease_time = {written}\n"));
        assert_eq!(config.subnets[0].lease_time, seconds, "{written}");
    }
}

#[test]
fn every_option_key_is_encoded() {
    let text = format!(
        r#"{SERVER}
server_id = "198.18.0.1"
offer_timeout = "1m"
decline_hold = "1h"
receive_buffer = 65536
log_format = "json"
log_level = "debug"

[[subnet]]
cidr = "198.18.0.0/24"
interface = "srv0"
lease_time = "1d"
renewal_time = "10h"
rebinding_time = "20h"
broadcast_address = "198.18.0.255"
routers = ["198.18.0.1", "198.18.0.2"]
dns_servers = ["198.18.0.1", "9.9.9.9"]
domain_name = "lab.example."
domain_search = ["lab.example", "example"]
ntp_servers = ["198.18.0.3"]
mtu = 1500
classless_routes = [
  {{ destination = "10.0.0.0/8", gateway = "198.18.0.1" }},
  {{ destination = "0.0.0.0/0", gateway = "198.18.0.2" }},
]

[[subnet.option]]
code = 66
type = "string"
value = "tftp.lab.example"

[[subnet.option]]
code = 2
type = "i32"
value = -3600

[[subnet.reservation]]
client_id = "01:02:00:00:00:00:bb"
ip = "198.18.0.60"
mtu = 9000
"#
    );
    let config = parse(&text);
    assert_eq!(config.server.server_id, Some(ip("198.18.0.1")));
    assert_eq!(
        (config.server.offer_timeout, config.server.decline_hold),
        (60, 3_600)
    );
    assert_eq!(config.server.receive_buffer, 65_536);
    assert_eq!(config.server.log_format, LogFormat::Json);
    assert_eq!(config.server.log_level, "debug");
    let subnet = &config.subnets[0];
    assert_eq!(subnet.interface.as_deref(), Some("srv0"));
    assert_eq!(
        (
            subnet.lease_time,
            subnet.renewal_time,
            subnet.rebinding_time
        ),
        (86_400, 36_000, 72_000)
    );
    let o = &subnet.options;
    assert_eq!(o.get(1), Some(&[255, 255, 255, 0][..]));
    assert_eq!(o.get(3), Some(&[198, 18, 0, 1, 198, 18, 0, 2][..]));
    assert_eq!(o.get(6), Some(&[198, 18, 0, 1, 9, 9, 9, 9][..]));
    assert_eq!(o.get(15), Some(&b"lab.example"[..]));
    assert_eq!(o.get(26), Some(&[0x05, 0xdc][..]));
    assert_eq!(o.get(28), Some(&[198, 18, 0, 255][..]));
    assert_eq!(o.get(42), Some(&[198, 18, 0, 3][..]));
    assert_eq!(o.get(66), Some(&b"tftp.lab.example"[..]));
    assert_eq!(o.get(2), Some(&(-3600_i32).to_be_bytes()[..]));
    // RFC 3397: "lab.example" in labels, then "example" as a pointer to offset 4.
    assert_eq!(o.get(119), Some(&b"\x03lab\x07example\x00\xc0\x04"[..]));
    // RFC 3442 §3: 8 10 198.18.0.1, then 0 198.18.0.2 (no destination octets).
    assert_eq!(
        o.get(121),
        Some(&[8, 10, 198, 18, 0, 1, 0, 198, 18, 0, 2][..])
    );
    let reservation = &subnet.reservations[0];
    assert_eq!(reservation.mac, None);
    assert_eq!(
        reservation.client_id.as_deref(),
        Some(&[1, 2, 0, 0, 0, 0, 0xbb][..])
    );
    assert_eq!(
        reservation.options.iter().collect::<Vec<_>>(),
        vec![(26, &[0x23, 0x28][..])]
    );
}

/// One mistake per case, reported exactly once with this path and message.
#[test]
fn each_error_has_its_path_and_message() {
    let pool =
        |start: &str, end: &str| format!("[[subnet.pool]]\nstart = \"{start}\"\nend = \"{end}\"\n");
    let cases: Vec<(&str, String, &str)> = vec![
        // --- [server] ---
        (
            "no server table",
            SUBNET.to_owned(),
            "server: missing required table [server] (it must set `interfaces`)",
        ),
        (
            "interfaces missing",
            format!("[server]\n{SUBNET}"),
            "server.interfaces: required key is missing",
        ),
        (
            "interfaces empty",
            format!("[server]\ninterfaces = []\n{SUBNET}"),
            "server.interfaces: must list at least one interface",
        ),
        (
            "interface twice",
            format!("[server]\ninterfaces = [\"srv0\", \"srv0\"]\n{SUBNET}"),
            "server.interfaces[1]: interface \"srv0\" is listed twice",
        ),
        (
            "interface name invalid",
            format!("[server]\ninterfaces = [\"a/b\"]\n{SUBNET}"),
            "server.interfaces[0]: \"a/b\" is not a valid interface name (1 to 15 characters, no '/', ':' or spaces)",
        ),
        (
            "server_id broadcast",
            format!("{SERVER}server_id = \"255.255.255.255\"\n{SUBNET}"),
            "server.server_id: 255.255.255.255 is not a unicast address",
        ),
        (
            "server_id not an address",
            format!("{SERVER}server_id = \"198.18.0\"\n{SUBNET}"),
            "server.server_id: \"198.18.0\" is not an IPv4 address",
        ),
        (
            "offer_timeout zero",
            format!("{SERVER}offer_timeout = 0\n{SUBNET}"),
            "server.offer_timeout: offer_timeout must be at least 1s",
        ),
        (
            "decline_hold garbage",
            format!("{SERVER}decline_hold = \"soon\"\n{SUBNET}"),
            "server.decline_hold: invalid duration \"soon\": expected an integer number of seconds or a duration such as \"90s\", \"30m\", \"1h\", \"1d\", \"1h30m\"",
        ),
        (
            "receive_buffer small",
            format!("{SERVER}receive_buffer = 100\n{SUBNET}"),
            "server.receive_buffer: receive_buffer 100 is out of range (4096..=2147483647 bytes)",
        ),
        (
            "log_format unknown",
            format!("{SERVER}log_format = \"xml\"\n{SUBNET}"),
            "server.log_format: log_format \"xml\" is not one of \"text\", \"json\"",
        ),
        (
            "store path empty",
            format!("{SERVER}[store]\npath = \"\"\n{SUBNET}"),
            "store.path: path must not be empty",
        ),
        // --- [[subnet]] ---
        (
            "no subnet",
            SERVER.to_owned(),
            "subnet: at least one [[subnet]] is required",
        ),
        (
            "cidr missing",
            format!("{SERVER}[[subnet]]\nlease_time = 600\n"),
            "subnet[0].cidr: required key is missing",
        ),
        (
            "cidr host bits",
            format!("{SERVER}[[subnet]]\ncidr = \"198.18.0.1/16\"\n"),
            "subnet[0].cidr: 198.18.0.1/16 is not a network address (host bits are set); did you mean 198.18.0.0/16?",
        ),
        (
            "cidr without prefix",
            format!("{SERVER}[[subnet]]\ncidr = \"198.18.0.0\"\n"),
            "subnet[0].cidr: \"198.18.0.0\" is not an IPv4 network such as \"198.18.0.0/16\"",
        ),
        (
            "cidr too small",
            format!("{SERVER}[[subnet]]\ncidr = \"198.18.0.0/31\"\n"),
            "subnet[0].cidr: 198.18.0.0/31 is too small: a subnet needs a network, a broadcast and a client address (at most /30)",
        ),
        (
            "subnets overlap",
            format!("{SERVER}{SUBNET}[[subnet]]\ncidr = \"198.18.5.0/24\"\n"),
            "subnet[1].cidr: 198.18.5.0/24 overlaps subnet[0].cidr 198.18.0.0/16",
        ),
        (
            "interface not served",
            format!("{SERVER}{SUBNET}interface = \"srv1\"\n"),
            "subnet[0].interface: interface \"srv1\" is not listed in server.interfaces (srv0)",
        ),
        (
            "lease_time too short",
            format!("{SERVER}{SUBNET}lease_time = \"5s\"\n"),
            "subnet[0].lease_time: lease_time 5s is shorter than the minimum 10s",
        ),
        (
            "lease_time negative",
            format!("{SERVER}{SUBNET}lease_time = -5\n"),
            "subnet[0].lease_time: invalid duration -5: expected an integer number of seconds or a duration such as \"90s\", \"30m\", \"1h\", \"1d\", \"1h30m\"",
        ),
        (
            "lease_time too long",
            format!("{SERVER}{SUBNET}lease_time = 4294967295\n"),
            "subnet[0].lease_time: lease_time 4294967295s is longer than the maximum 4294967294s",
        ),
        (
            "T1 after default T2",
            format!("{SERVER}{SUBNET}renewal_time = \"55m\"\n"),
            "subnet[0].renewal_time: renewal_time 55m must be less than rebinding_time 52m30s (default: 7/8 of lease_time)",
        ),
        (
            "T2 before default T1",
            format!("{SERVER}{SUBNET}rebinding_time = \"20m\"\n"),
            "subnet[0].rebinding_time: renewal_time 30m (default: half of lease_time) must be less than rebinding_time 20m",
        ),
        (
            "T2 not before lease end",
            format!("{SERVER}{SUBNET}rebinding_time = \"1h\"\n"),
            "subnet[0].rebinding_time: rebinding_time 1h must be less than lease_time 1h",
        ),
        (
            "T1 zero",
            format!("{SERVER}{SUBNET}renewal_time = 0\n"),
            "subnet[0].renewal_time: renewal_time must be at least 1s",
        ),
        (
            "broadcast outside",
            format!("{SERVER}{SUBNET}broadcast_address = \"198.19.255.255\"\n"),
            "subnet[0].broadcast_address: broadcast_address 198.19.255.255 is outside subnet 198.18.0.0/16",
        ),
        // --- per-client options ---
        (
            "router outside",
            format!("{SERVER}{SUBNET}routers = [\"198.18.0.1\", \"10.0.0.1\"]\n"),
            "subnet[0].routers[1]: router 10.0.0.1 is outside subnet 198.18.0.0/16",
        ),
        (
            "router is the network address",
            format!("{SERVER}{SUBNET}routers = [\"198.18.0.0\"]\n"),
            "subnet[0].routers[0]: router 198.18.0.0 is the network address of 198.18.0.0/16",
        ),
        (
            "dns_servers empty",
            format!("{SERVER}{SUBNET}dns_servers = []\n"),
            "subnet[0].dns_servers: must list at least one address",
        ),
        (
            "ntp server multicast",
            format!("{SERVER}{SUBNET}ntp_servers = [\"224.0.1.1\"]\n"),
            "subnet[0].ntp_servers[0]: 224.0.1.1 is not a unicast address",
        ),
        (
            "domain_name invalid",
            format!("{SERVER}{SUBNET}domain_name = \"lab..example\"\n"),
            "subnet[0].domain_name: domain_name \"lab..example\" is not a valid DNS name: it has an empty label",
        ),
        (
            "domain_search invalid",
            format!("{SERVER}{SUBNET}domain_search = [\"ok.example\", \"bad_name\"]\n"),
            "subnet[0].domain_search[1]: domain \"bad_name\" is not a valid DNS name: label \"bad_name\" contains '_'",
        ),
        (
            "mtu too small",
            format!("{SERVER}{SUBNET}mtu = 60\n"),
            "subnet[0].mtu: mtu 60 is out of range (68..=65535)",
        ),
        (
            "route with host bits",
            format!(
                "{SERVER}{SUBNET}classless_routes = [{{ destination = \"10.0.0.1/8\", gateway = \"198.18.0.1\" }}]\n"
            ),
            "subnet[0].classless_routes[0].destination: destination 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?",
        ),
        (
            "route gateway outside",
            format!(
                "{SERVER}{SUBNET}classless_routes = [{{ destination = \"10.0.0.0/8\", gateway = \"10.0.0.1\" }}]\n"
            ),
            "subnet[0].classless_routes[0].gateway: gateway 10.0.0.1 is outside subnet 198.18.0.0/16",
        ),
        (
            "route twice",
            format!(
                "{SERVER}{SUBNET}classless_routes = [\n  {{ destination = \"10.0.0.0/8\", gateway = \"198.18.0.1\" }},\n  {{ destination = \"10.0.0.0/8\", gateway = \"198.18.0.2\" }},\n]\n"
            ),
            "subnet[0].classless_routes[1].destination: destination 10.0.0.0/8 is already routed by subnet[0].classless_routes[0]",
        ),
        (
            "route without gateway",
            format!("{SERVER}{SUBNET}classless_routes = [{{ destination = \"10.0.0.0/8\" }}]\n"),
            "subnet[0].classless_routes[0].gateway: required key is missing",
        ),
        (
            "classless_routes empty",
            format!("{SERVER}{SUBNET}classless_routes = []\n"),
            "subnet[0].classless_routes: must list at least one route",
        ),
        // --- custom options ---
        (
            "option code managed by the server",
            format!("{SERVER}{SUBNET}[[subnet.option]]\ncode = 51\ntype = \"u32\"\nvalue = 60\n"),
            "subnet[0].option[0].code: code 51 (lease time) cannot be set as a custom option: use the `lease_time` key",
        ),
        (
            "option code with its own key",
            format!(
                "{SERVER}{SUBNET}[[subnet.option]]\ncode = 3\ntype = \"ip\"\nvalue = \"198.18.0.1\"\n"
            ),
            "subnet[0].option[0].code: code 3 (routers) cannot be set as a custom option: use the `routers` key",
        ),
        (
            "option code out of range",
            format!("{SERVER}{SUBNET}[[subnet.option]]\ncode = 255\ntype = \"u8\"\nvalue = 1\n"),
            "subnet[0].option[0].code: code 255 is out of range (1..=254)",
        ),
        (
            "option type unknown",
            format!(
                "{SERVER}{SUBNET}[[subnet.option]]\ncode = 66\ntype = \"text\"\nvalue = \"x\"\n"
            ),
            "subnet[0].option[0].type: type \"text\" is not one of: ip, ips, string, u8, u16, u32, i32, bool, hex",
        ),
        (
            "option value of the wrong type",
            format!("{SERVER}{SUBNET}[[subnet.option]]\ncode = 66\ntype = \"ip\"\nvalue = 5\n"),
            "subnet[0].option[0].value: type \"ip\" needs an IPv4 address string, found integer 5",
        ),
        (
            "option value out of range",
            format!("{SERVER}{SUBNET}[[subnet.option]]\ncode = 23\ntype = \"u8\"\nvalue = 256\n"),
            "subnet[0].option[0].value: 256 is out of range for type \"u8\" (0..=255)",
        ),
        (
            "option value missing",
            format!("{SERVER}{SUBNET}[[subnet.option]]\ncode = 66\ntype = \"string\"\n"),
            "subnet[0].option[0].value: required key is missing",
        ),
        (
            "option code twice",
            format!(
                "{SERVER}{SUBNET}[[subnet.option]]\ncode = 66\ntype = \"string\"\nvalue = \"a\"\n[[subnet.option]]\ncode = 66\ntype = \"string\"\nvalue = \"b\"\n"
            ),
            "subnet[0].option[1].code: code 66 is already set by subnet[0].option[0]",
        ),
        (
            "option value too long",
            format!(
                "{SERVER}{SUBNET}[[subnet.option]]\ncode = 66\ntype = \"string\"\nvalue = \"{}\"\n",
                "x".repeat(256)
            ),
            "subnet[0].option[0].value: value is 256 octets long; an option holds at most 255",
        ),
        // --- pools ---
        (
            "pool end before start",
            format!(
                "{SERVER}{SUBNET}{}{}",
                pool("198.18.1.0", "198.18.1.255"),
                pool("198.18.10.0", "198.18.9.0")
            ),
            "subnet[0].pool[1].end: end 198.18.9.0 is before start 198.18.10.0",
        ),
        (
            "pool start outside",
            format!("{SERVER}{SUBNET}{}", pool("198.19.0.1", "198.18.0.9")),
            "subnet[0].pool[0].start: start 198.19.0.1 is outside subnet 198.18.0.0/16",
        ),
        (
            "pool includes the network address",
            format!("{SERVER}{SUBNET}{}", pool("198.18.0.0", "198.18.0.9")),
            "subnet[0].pool[0].start: start 198.18.0.0 is the network address of 198.18.0.0/16",
        ),
        (
            "pool includes the broadcast address",
            format!("{SERVER}{SUBNET}{}", pool("198.18.255.0", "198.18.255.255")),
            "subnet[0].pool[0].end: end 198.18.255.255 is the broadcast address of 198.18.0.0/16",
        ),
        (
            "pool end missing",
            format!("{SERVER}{SUBNET}[[subnet.pool]]\nstart = \"198.18.1.1\"\n"),
            "subnet[0].pool[0].end: required key is missing",
        ),
        (
            "pools overlap",
            format!(
                "{SERVER}{SUBNET}{}{}",
                pool("198.18.1.0", "198.18.1.100"),
                pool("198.18.1.50", "198.18.1.60")
            ),
            "subnet[0].pool[1]: 198.18.1.50-198.18.1.60 overlaps subnet[0].pool[0] 198.18.1.0-198.18.1.100",
        ),
        (
            "pool holds the router",
            format!(
                "{SERVER}{SUBNET}routers = [\"198.18.0.1\"]\n{}",
                pool("198.18.0.1", "198.18.0.9")
            ),
            "subnet[0].pool[0]: pool 198.18.0.1-198.18.0.9 contains router 198.18.0.1",
        ),
        // --- reservations ---
        (
            "reservation matches nothing",
            format!("{SERVER}{SUBNET}[[subnet.reservation]]\nip = \"198.18.0.5\"\n"),
            "subnet[0].reservation[0]: a reservation needs `mac`, `client_id`, `circuit_id`, `remote_id` or `subscriber_id` to match a client",
        ),
        (
            "reservation ip missing",
            format!("{SERVER}{SUBNET}[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\n"),
            "subnet[0].reservation[0].ip: required key is missing",
        ),
        (
            "reservation mac garbage",
            format!(
                "{SERVER}{SUBNET}[[subnet.reservation]]\nmac = \"02:00:zz\"\nip = \"198.18.0.5\"\n"
            ),
            "subnet[0].reservation[0].mac: mac \"02:00:zz\" is not a MAC address such as \"02:00:00:00:00:aa\"",
        ),
        (
            "reservation mac short",
            format!(
                "{SERVER}{SUBNET}[[subnet.reservation]]\nmac = \"02:00:01\"\nip = \"198.18.0.5\"\n"
            ),
            "subnet[0].reservation[0].mac: mac \"02:00:01\" is not 6 octets; use client_id for other hardware",
        ),
        (
            "reservation client_id short",
            format!(
                "{SERVER}{SUBNET}[[subnet.reservation]]\nclient_id = \"01\"\nip = \"198.18.0.5\"\n"
            ),
            "subnet[0].reservation[0].client_id: client_id \"01\" is shorter than 2 octets (RFC 2132 §9.14)",
        ),
        (
            "reservation ip outside",
            format!(
                "{SERVER}{SUBNET}[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\nip = \"10.0.0.5\"\n"
            ),
            "subnet[0].reservation[0].ip: ip 10.0.0.5 is outside subnet 198.18.0.0/16",
        ),
        (
            "reservation ip is the router",
            format!(
                "{SERVER}{SUBNET}routers = [\"198.18.0.1\"]\n[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\nip = \"198.18.0.1\"\n"
            ),
            "subnet[0].reservation[0].ip: ip 198.18.0.1 is a router of this subnet",
        ),
        (
            "reservation hostname invalid",
            format!(
                "{SERVER}{SUBNET}[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\nip = \"198.18.0.5\"\nhostname = \"my printer\"\n"
            ),
            "subnet[0].reservation[0].hostname: hostname \"my printer\" is not a valid DNS name: label \"my printer\" contains ' '",
        ),
        (
            "reservation option outside subnet",
            format!(
                "{SERVER}{SUBNET}[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\nip = \"198.18.0.5\"\nrouters = [\"10.0.0.1\"]\n"
            ),
            "subnet[0].reservation[0].routers[0]: router 10.0.0.1 is outside subnet 198.18.0.0/16",
        ),
        (
            "mac reserved twice across subnets",
            format!(
                "{SERVER}{SUBNET}[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\nip = \"198.18.0.5\"\n[[subnet]]\ncidr = \"198.19.0.0/16\"\n[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\nip = \"198.19.0.5\"\n"
            ),
            "subnet[1].reservation[0].mac: mac 02:00:00:00:00:01 is already reserved by subnet[0].reservation[0]",
        ),
        (
            "client_id reserved twice",
            format!(
                "{SERVER}{SUBNET}[[subnet.reservation]]\nclient_id = \"01:02:03\"\nip = \"198.18.0.5\"\n[[subnet.reservation]]\nclient_id = \"010203\"\nip = \"198.18.0.6\"\n"
            ),
            "subnet[0].reservation[1].client_id: client_id 010203 is already reserved by subnet[0].reservation[0]",
        ),
        (
            "ip reserved twice",
            format!(
                "{SERVER}{SUBNET}[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\nip = \"198.18.0.5\"\n[[subnet.reservation]]\nmac = \"02:00:00:00:00:02\"\nip = \"198.18.0.5\"\n"
            ),
            "subnet[0].reservation[1].ip: ip 198.18.0.5 is already reserved by subnet[0].reservation[0]",
        ),
        // --- unknown keys, at every level ---
        (
            "unknown top-level table",
            format!("{SERVER}{SUBNET}[dhcp]\nx = 1\n"),
            "dhcp: line 5, column 2: unknown key `dhcp`; expected one of: class, conflict_detection, events, hooks, metrics, server, store, subnet",
        ),
        (
            "unknown server key",
            format!("{SERVER}port = 67\n{SUBNET}"),
            "server.port: line 3, column 1: unknown key `port`; expected one of: decline_hold, interfaces, log_format, log_level, offer_timeout, rate_limit, receive_buffer, server_id, udp_gso",
        ),
        (
            "unknown store key",
            format!("{SERVER}[store]\nfile = \"x\"\n{SUBNET}"),
            "store.file: line 4, column 1: unknown key `file`; expected one of: history_retention, path",
        ),
        (
            "unknown pool key",
            format!(
                "{SERVER}{SUBNET}[[subnet.pool]]\nstart = \"198.18.1.1\"\nend = \"198.18.1.9\"\nstep = 2\n"
            ),
            "subnet[0].pool[0].step: line 8, column 1: unknown key `step`; expected one of: bootp, classes, end, start",
        ),
        (
            "unknown reservation key",
            format!(
                "{SERVER}{SUBNET}[[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\nip = \"198.18.0.5\"\nname = \"x\"\n"
            ),
            "subnet[0].reservation[0].name: line 8, column 1: unknown key `name`; expected one of: circuit_id, classless_routes, client_id, dns_servers, domain_name, domain_search, hostname, ip, mac, mtu, ntp_servers, option, remote_id, routers, subscriber_id",
        ),
        (
            "unknown route key",
            format!(
                "{SERVER}{SUBNET}classless_routes = [{{ destination = \"10.0.0.0/8\", gateway = \"198.18.0.1\", via = 1 }}]\n"
            ),
            "subnet[0].classless_routes[0].via: line 5, column 75: unknown key `via`; expected one of: destination, gateway",
        ),
        (
            "unknown custom option key",
            format!(
                "{SERVER}{SUBNET}[[subnet.option]]\ncode = 66\ntype = \"string\"\nvalue = \"x\"\nlen = 1\n"
            ),
            "subnet[0].option[0].len: line 9, column 1: unknown key `len`; expected one of: code, type, value",
        ),
        // --- errors from the toml crate: type and syntax ---
        (
            "value of the wrong TOML type",
            format!("{SERVER}{SUBNET}mtu = \"1500\"\n"),
            "subnet[0].mtu: line 5, column 7: invalid type: string \"1500\", expected an integer",
        ),
        (
            "array element of the wrong TOML type",
            format!("{SERVER}{SUBNET}routers = [\"198.18.0.1\", 5]\n"),
            "subnet[0].routers[1]: line 5, column 26: invalid type: integer `5`, expected a string",
        ),
        (
            "string where an array belongs",
            format!("[server]\ninterfaces = \"srv0\"\n{SUBNET}"),
            "server.interfaces: line 2, column 14: invalid type: string \"srv0\", expected an array",
        ),
        (
            "pool written as a plain table",
            format!("{SERVER}{SUBNET}[subnet.pool]\nstart = \"198.18.1.1\"\n"),
            "subnet[0].pool: line 5, column 1: expected an array of tables, found table",
        ),
        (
            "unquoted duration",
            format!("{SERVER}{SUBNET}lease_time = 1h\n"),
            "subnet[0].lease_time: line 5, column 14: string values must be quoted, expected literal string",
        ),
        (
            "server is not a table",
            format!("server = 5\n{SUBNET}"),
            "server: line 1, column 10: expected a table, found integer",
        ),
        (
            "subnet is not an array",
            format!("subnet = \"198.18.0.0/16\"\n{SERVER}"),
            "subnet: line 1, column 10: expected an array of tables, found string",
        ),
        (
            "lease_time of the wrong type does not make T1 look wrong",
            format!("{SERVER}{SUBNET}lease_time = true\nrenewal_time = \"2h\"\n"),
            "subnet[0].lease_time: line 5, column 14: invalid type: boolean `true`, expected a duration such as \"30s\", \"10m\", \"1h\" or an integer number of seconds",
        ),
        (
            "table defined twice",
            format!("{SERVER}{SUBNET}[server]\n"),
            "server: line 5, column 2: duplicate key",
        ),
    ];
    let mut failures = Vec::new();
    for (name, text, want) in cases {
        let got = errors(&text);
        if got != [want] {
            failures.push(format!("case {name:?}\n  want: {want}\n  got:  {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let text = r#"[server]
interfaces = ["srv0"]
log_format = "xml"
colour = true

[[subnet]]
cidr = "198.18.0.0/16"
mtu = "big"
routers = ["10.0.0.1"]

[[subnet.pool]]
start = "198.18.10.0"
end = "198.18.9.0"

[[subnet.pool]]
start = "198.18.20.0"
end = "198.18.20.9"
size = 10

[[subnet.reservation]]
mac = "02:00:00:00:00:aa"
ip = "198.19.0.50"

[[subnet]]
cidr = "198.18.1.1/24"

[[subnet.reservation]]
mac = "02:00:00:00:00:aa"
ip = "198.18.1.5"
"#;
    let got = errors(text);
    let want = [
        "server.colour: line 4, column 1: unknown key `colour`; expected one of: decline_hold, interfaces, log_format, log_level, offer_timeout, rate_limit, receive_buffer, server_id, udp_gso",
        "subnet[0].mtu: line 8, column 7: invalid type: string \"big\", expected an integer",
        "subnet[0].pool[1].size: line 18, column 1: unknown key `size`; expected one of: bootp, classes, end, start",
        "server.log_format: log_format \"xml\" is not one of \"text\", \"json\"",
        "subnet[0].routers[0]: router 10.0.0.1 is outside subnet 198.18.0.0/16",
        "subnet[0].pool[0].end: end 198.18.9.0 is before start 198.18.10.0",
        "subnet[0].reservation[0].ip: ip 198.19.0.50 is outside subnet 198.18.0.0/16",
        "subnet[1].cidr: 198.18.1.1/24 is not a network address (host bits are set); did you mean 198.18.1.0/24?",
        "subnet[1].reservation[0].mac: mac 02:00:00:00:00:aa is already reserved by subnet[0].reservation[0]",
    ];
    assert_eq!(got, want);
}

#[test]
fn several_syntax_errors_are_all_reported() {
    let got = errors("[server]\ninterfaces = [\"srv0\"\n\n[[subnet]]\ncidr = 198.18.0.0/16\n");
    assert!(got.len() >= 2, "{got:#?}");
    assert!(got.iter().all(|e| e.contains("line ")), "{got:#?}");
}

#[test]
fn unknown_keys_are_all_reported_with_their_paths() {
    let got = errors(&format!(
        "{SERVER}a = 1\nb = 2\n{SUBNET}c = 3\n[[subnet.pool]]\nd = 4\n"
    ));
    let paths: Vec<&str> = got.iter().filter_map(|e| e.split(':').next()).collect();
    assert_eq!(
        paths,
        [
            "server.a",
            "server.b",
            "subnet[0].c",
            "subnet[0].pool[0].d",
            // start and end are then missing too.
            "subnet[0].pool[0].start",
            "subnet[0].pool[0].end",
        ]
    );
}

#[test]
fn load_reports_unreadable_files_without_a_path() {
    let missing = std::path::Path::new("/nonexistent/hyperdhcp.toml");
    let err = Config::load(missing).expect_err("no such file");
    assert_eq!(err.0.len(), 1);
    assert!(
        err.to_string()
            .starts_with("cannot read /nonexistent/hyperdhcp.toml: "),
        "{err}"
    );
}

#[test]
fn routes_as_array_of_tables_and_reservation_options() {
    let config = parse(&format!(
        "{SERVER}{SUBNET}[[subnet.classless_routes]]\ndestination = \"10.0.0.0/8\"\ngateway = \"198.18.0.1\"\n\
         [[subnet.reservation]]\nmac = \"02:00:00:00:00:01\"\nip = \"198.18.0.5\"\n\
         [[subnet.reservation.option]]\ncode = 67\ntype = \"string\"\nvalue = \"pxelinux.0\"\n"
    ));
    let subnet = &config.subnets[0];
    assert_eq!(subnet.options.get(121), Some(&[8, 10, 198, 18, 0, 1][..]));
    assert_eq!(
        subnet.reservations[0].options.get(67),
        Some(&b"pxelinux.0"[..])
    );
    assert_eq!(subnet.options.get(67), None);
}

proptest::proptest! {
    /// Any edit of a valid file gives a config or a non-empty error list, never a panic.
    #[test]
    fn mutated_files_never_panic(
        at in 0usize..4_000,
        cut in 0usize..40,
        insert in "[ -~\n]{0,12}",
    ) {
        let base = include_str!("../../../examples/full.toml");
        let mut at = at.min(base.len());
        while !base.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + cut).min(base.len());
        while !base.is_char_boundary(end) {
            end -= 1;
        }
        let text = format!("{}{insert}{}", &base[..at], &base[end..]);
        if let Err(ConfigErrors(list)) = Config::from_toml_str(&text) {
            proptest::prop_assert!(!list.is_empty());
        }
    }
}

#[test]
fn classes_rate_limits_and_relay_reservations_parse() {
    let text = r#"
[server]
interfaces = ["srv0"]
[server.rate_limit]
per_mac = "10/s"
per_link = "600/m"
global = "5000/s"
[store]
history_retention = "7d"
[[subnet]]
cidr = "198.18.0.0/16"
always_send = [42]
ntp_servers = ["198.18.0.123"]
[[subnet.reservation]]
circuit_id = "eth7"
ip = "198.18.0.42"
[[subnet.reservation]]
subscriber_id = "sub-0042"
ip = "198.18.0.43"
[[class]]
name = "subscribers"
match = { subscriber_id = "sub-*" }
[[class]]
name = "uefi"
match = { vendor_class = "PXEClient*", client_arch = 7, mac_prefix = "02:00:00" }
next_server = "198.18.0.1"
boot_file = "ipxe.efi"
tftp_server_name = "198.18.0.1"
always_send = [67]
[[class.option]]
code = 43
type = "hex"
value = "01:04:c6:12:00:01"
"#;
    let c = parse(text);
    let rl = c.server.rate_limit;
    assert_eq!(rl.per_mac.map(|r| r.per_sec), Some(10.0));
    assert_eq!(rl.per_link.map(|r| r.per_sec), Some(10.0));
    assert_eq!(rl.global.map(|r| r.burst), Some(5000.0));
    assert_eq!(c.store.history_retention, 7 * 86_400);
    assert_eq!(c.subnets[0].always_send, vec![42]);
    let r = &c.subnets[0].reservations[0];
    assert_eq!(r.circuit_id.as_deref(), Some(&b"eth7"[..]));
    let r = &c.subnets[0].reservations[1];
    assert_eq!(r.subscriber_id.as_deref(), Some(&b"sub-0042"[..]));
    assert_eq!(c.classes[0].matcher.subscriber_id.as_deref(), Some("sub-*"));
    let k = &c.classes[1];
    assert_eq!(k.name, "uefi");
    assert_eq!(k.matcher.client_arch, Some(7));
    assert_eq!(k.matcher.mac_prefix.as_deref(), Some(&[2u8, 0, 0][..]));
    assert_eq!(
        k.options.get(hyperdhcp_wire::code::BOOTFILE_NAME),
        Some(&b"ipxe.efi"[..])
    );
    assert_eq!(
        k.options.get(hyperdhcp_wire::code::TFTP_SERVER_NAME),
        Some(&b"198.18.0.1"[..])
    );
    assert_eq!(k.next_server, Some(ip("198.18.0.1")));
    // Vendor-specific information (43) per class, as a custom option.
    assert_eq!(k.options.get(43), Some(&[1u8, 4, 0xc6, 0x12, 0, 1][..]));
}

#[test]
fn bad_classes_and_rates_are_reported_with_paths() {
    let text = r#"
[server]
interfaces = ["srv0"]
[server.rate_limit]
per_mac = "fast"
[[subnet]]
cidr = "198.18.0.0/16"
[[subnet.reservation]]
subscriber_id = ""
ip = "198.18.0.9"
[[class]]
name = "a"
match = { client_arch = 70000 }
[[class]]
name = "a"
match = {}
boot_file = ""
"#;
    let errors = Config::from_toml_str(text).unwrap_err().0;
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    for want in [
        "server.rate_limit.per_mac",
        "class[0].match.client_arch",
        "subnet[0].reservation[0].subscriber_id",
        "class[1].name",
        "class[1].match",
        "class[1].boot_file",
    ] {
        assert!(paths.contains(&want), "{want} not in {errors:#?}");
    }
}
