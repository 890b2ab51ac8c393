//! Relays end to end: ISC dhcrelay in a third namespace between a real client (dhclient) and
//! `hyperdhcp serve`. The client gets an address from the relayed subnet (selected by giaddr)
//! with its classless static routes (RFC 3442, visible in dhclient's lease file); with
//! `dhcrelay -a` adding option 82, a reservation by circuit-id gives the client its address;
//! the lease history records the relay information.
//!
//! Topology: client ns --(down7: 198.19.0.1/24)-- relay ns --(198.18.0.2/16)-- srv ns
//! (srv0: 198.18.0.1/16, route to 198.19.0.0/24 via the relay).

mod common;

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};
use common::*;

/// The relay's interface toward the client (dhcrelay -a puts this name in the circuit-id).
const RELAY_DOWN_IF: &str = "down7";
/// The relay's address on the client link: giaddr.
const RELAY_DOWN_CIDR: &str = "198.19.0.1/24";
/// giaddr.
const GIADDR: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// The relay's address on the server link.
const RELAY_UP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The relayed subnet.
const RELAYED_SUBNET: &str = "198.19.0.0/24";
/// Its pool.
const RELAYED_POOL: (Ipv4Addr, Ipv4Addr) = (
    Ipv4Addr::new(198, 19, 0, 100),
    Ipv4Addr::new(198, 19, 0, 150),
);
/// The address reserved for circuit-id [`RELAY_DOWN_IF`].
const CIRCUIT_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 42);
/// dhclient.conf: define and request option 121 so it lands in the lease file.
const DHCLIENT_CONF: &str = "option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;\n\
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, host-name, rfc3442-classless-static-routes;\n";
/// The route the relayed subnet pushes: 198.19.5.0/24 via 198.19.0.1, as dhclient prints it.
const ROUTE_IN_LEASEFILE: &str = "option rfc3442-classless-static-routes 24,198,19,5,198,19,0,1;";

/// The server config: the lab subnet plus the relayed one (with a circuit-id reservation
/// when `circuit_reservation`).
fn config_text(cfg: &LabConfig, circuit_reservation: bool) -> String {
    let mut t = cfg.to_toml();
    t += &format!(
        "\n[[subnet]]\ncidr = \"{RELAYED_SUBNET}\"\nlease_time = \"1h\"\nrouters = [\"{GIADDR}\"]\n\
         classless_routes = [{{ destination = \"198.19.5.0/24\", gateway = \"{GIADDR}\" }}]\n\
         \n[[subnet.pool]]\nstart = \"{}\"\nend = \"{}\"\n",
        RELAYED_POOL.0, RELAYED_POOL.1
    );
    if circuit_reservation {
        t += &format!(
            "\n[[subnet.reservation]]\ncircuit_id = \"{RELAY_DOWN_IF}\"\nip = \"{CIRCUIT_IP}\"\n"
        );
    }
    t
}

/// Starts `dhclient -d -1 -cf CONF` on client `i` (foreground, one try).
fn dhclient(lab: &Lab, i: usize, hook: &Hook, conf: &Path, label: &str) -> Result<Proc> {
    let c = lab.client(i);
    let mut cmd = Lab::cmd(&c.ns, "dhclient");
    cmd.args(["-4", "-d", "-1", "-v", "-cf"])
        .arg(conf)
        .arg("-lf")
        .arg(lab.dhclient_leasefile(i))
        .arg("-pf")
        .arg(lab.path().join(format!("c{i}-dhclient.pid")))
        .arg("-sf")
        .arg(&hook.script)
        .arg(&c.ifname);
    Proc::spawn(label, lab.path(), &mut cmd)
}

#[test]
fn dhclient_behind_dhcrelay_gets_relayed_subnet_routes_and_circuit_reservation() -> Result<()> {
    let mut lab = Lab::new()?;
    // Client 0's namespace is the relay; client 1 sits behind it.
    let relay = lab.client(0).clone();
    lab.add_client_addr(0, &format!("{RELAY_UP}/16"))?;
    let behind = lab.add_client_linked_to(&relay.ns, RELAY_DOWN_IF)?;
    lab.exec(
        &relay.ns,
        "ip",
        &["addr", "add", RELAY_DOWN_CIDR, "dev", RELAY_DOWN_IF],
    )?;
    lab.exec(&relay.ns, "sysctl", &["-q", "-w", "net.ipv4.ip_forward=1"])?;
    let srv = lab.srv_ns.clone();
    lab.exec(
        &srv,
        "ip",
        &["route", "add", RELAYED_SUBNET, "via", &RELAY_UP.to_string()],
    )?;

    let cfg = LabConfig::new(lab.path());
    let path = lab.write_config("relay.toml", &config_text(&cfg, false))?;
    let mut server = lab.start_server_file(&path)?;

    let mut cmd = Lab::cmd(&relay.ns, "dhcrelay");
    cmd.args([
        "-4",
        "-d",
        "-a",
        "-m",
        "replace",
        "--no-pid",
        "-id",
        RELAY_DOWN_IF,
        "-iu",
        &relay.ifname,
    ])
    .arg(SERVER_IP.to_string());
    let mut dhcrelay = Proc::spawn("dhcrelay", lab.path(), &mut cmd)?;

    let conf = lab.path().join("dhclient-relay.conf");
    std::fs::write(&conf, DHCLIENT_CONF)?;
    let hook = lab.hook(behind, "dhclient", true)?;

    // 1. A pool address of the relayed subnet, with the classless route.
    lab.set_mac(behind, "02:00:00:00:19:01")?;
    let mut client = dhclient(&lab, behind, &hook, &conf, "dhclient-relayed")?;
    let bound = hook.wait_event(&["BOUND"], 0, DEADLINE).with_context(|| {
        format!(
            "{}\n{}\n{}",
            client.output(),
            dhcrelay.output(),
            server.log()
        )
    })?;
    let ip = bound.ip().context("BOUND without an address")?;
    ensure!(
        (RELAYED_POOL.0..=RELAYED_POOL.1).contains(&ip),
        "{ip} is not from the relayed pool: {bound:#?}"
    );
    lab.wait_dhclient_leasefile(behind, ip)?;
    let leasefile = read_lossy(&lab.dhclient_leasefile(behind));
    ensure!(
        leasefile.contains(ROUTE_IN_LEASEFILE),
        "no classless route in the lease file:\n{leasefile}"
    );
    client.kill()?;

    // The history row of the ACK carries giaddr and the relay's circuit-id.
    let out = run_ok(
        Command::new(HYPERDHCP)
            .args(["leases", "history", "--json", "--store"])
            .arg(&cfg.store)
            .args(["--ip", &ip.to_string()]),
    )?;
    let rows: serde_json::Value = serde_json::from_str(&out)?;
    let ack = rows
        .as_array()
        .and_then(|r| r.iter().find(|r| r["event"] == "ack"))
        .with_context(|| format!("no ack row: {out}"))?;
    ensure!(
        ack["giaddr"] == GIADDR.to_string().as_str() && ack["circuit_id"] == RELAY_DOWN_IF,
        "relay info in history: {ack:#?}"
    );

    // 2. Reload with a reservation by circuit-id: a new client behind the same relay port
    //    gets the reserved address.
    std::fs::write(&server.config, config_text(&cfg, true))?;
    let mark = server.log().len();
    server.proc.signal("HUP")?;
    server.wait_log("reloaded", mark, DEADLINE)?;
    lab.set_mac(behind, "02:00:00:00:19:02")?;
    std::fs::remove_file(lab.dhclient_leasefile(behind))?;
    let seen = hook.events().len();
    let mut client = dhclient(&lab, behind, &hook, &conf, "dhclient-circuit")?;
    let bound = hook
        .wait_event(&["BOUND"], seen, DEADLINE)
        .with_context(|| {
            format!(
                "{}\n{}\n{}",
                client.output(),
                dhcrelay.output(),
                server.log()
            )
        })?;
    ensure!(
        bound.ip() == Some(CIRCUIT_IP),
        "circuit-id reservation not applied: {bound:#?}\n{}",
        server.log()
    );
    wait_lease(
        &cfg.store,
        CIRCUIT_IP,
        "bound via the circuit reservation",
        |l| l.state == "bound" && l.mac == "02:00:00:00:19:02",
    )?;
    client.kill()?;
    dhcrelay.kill()?;
    Ok(())
}
