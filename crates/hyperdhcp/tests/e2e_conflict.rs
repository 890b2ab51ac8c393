//! Conflict detection end to end (issue 5), in network namespaces:
//!
//! * a "squatter" namespace on the client link holds the first pool address: clients never
//!   get it, `hyperdhcp conflicts list` shows it with the squatter's MAC; with the squatter
//!   gone and the hold time over, it is offered again;
//! * a DECLINE (crafted by this test binary re-run in the client namespace) quarantines the
//!   address and lands in the conflict table as `client_decline`; `conflicts clear` + SIGHUP
//!   makes the address offerable again;
//! * started without CAP_NET_RAW (`capsh --drop=cap_net_raw`), the server warns and serves;
//! * behind an ISC dhcrelay, the first relayed pool address answers ping (a squatter behind the
//!   relay): the ICMP probe finds it, the client gets another address.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use common::*;
use hyperdhcp_wire::{MessageBuilder, MessageType, code};

/// Hold time for probe conflicts in these tests, seconds.
const HOLD_SECS: u64 = 2;
/// The squatter's MAC.
const SQUATTER_MAC: &str = "02:00:00:00:5a:01";
/// Environment variable turning [`decline_sender_entry_point`] into the sender: `MAC,IP`.
const DECLINE_ENV: &str = "HD_E2E_DECLINE";
/// The decliner's static address (outside the pool), for sending unicast to the server.
const SENDER_CIDR: &str = "198.18.0.4/16";
/// Text of the start-up warning without CAP_NET_RAW (crates/server/src/probing.rs).
const NO_RAW_WARNING: &str = "CONFLICT DETECTION DISABLED";

/// The lab config plus a `[conflict_detection]` table.
fn config_text(cfg: &LabConfig) -> String {
    format!(
        "{}\n[conflict_detection]\ntimeout = \"300ms\"\nhold_time = \"{HOLD_SECS}s\"\n",
        cfg.to_toml()
    )
}

/// One row of `hyperdhcp conflicts list --json`.
#[derive(Debug)]
struct ConflictRow {
    ip: Ipv4Addr,
    method: String,
    mac: Option<String>,
    last_seen: u64,
}

fn conflicts(store: &std::path::Path) -> Result<Vec<ConflictRow>> {
    let out = run_ok(
        Command::new(HYPERDHCP)
            .args(["conflicts", "list", "--json", "--store"])
            .arg(store),
    )?;
    let v: serde_json::Value = serde_json::from_str(&out).context("conflicts JSON")?;
    let rows = v.as_array().context("a JSON array")?;
    rows.iter()
        .map(|r| {
            Ok(ConflictRow {
                ip: r["ip"].as_str().context("ip")?.parse()?,
                method: r["method"].as_str().context("method")?.to_string(),
                mac: r["mac"].as_str().map(str::to_string),
                last_seen: parse_time(r["last_seen"].as_str().context("last_seen")?)
                    .context("last_seen time")?,
            })
        })
        .collect()
}

fn wait_conflict(store: &std::path::Path, ip: Ipv4Addr, method: &str) -> Result<ConflictRow> {
    wait_until(&format!("a {method} conflict for {ip}"), DEADLINE, || {
        Ok(conflicts(store)?
            .into_iter()
            .find(|c| c.ip == ip && c.method == method))
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[test]
fn squatter_address_is_never_offered_until_it_is_gone() -> Result<()> {
    let mut lab = Lab::with_clients(3)?;
    let cfg = LabConfig::new(lab.path());
    // Client 0 is the squatter: it holds the first pool address by hand.
    lab.set_mac(0, SQUATTER_MAC)?;
    lab.add_client_addr(0, &format!("{POOL_START}/{PREFIX_LEN}"))?;
    let path = lab.write_config("conflict.toml", &config_text(&cfg))?;
    let mut server = lab.start_server_file(&path)?;

    for i in [1, 2] {
        let hook = lab.hook(i, "udhcpc", false)?;
        let bound = lab.udhcpc_once(i, &hook, &format!("udhcpc-c{i}"))?;
        let ip = bound.ip().context("bound without ip")?;
        ensure!(
            ip != POOL_START,
            "client {i} got the squatter's address\n{}",
            server.log()
        );
        ensure!((POOL_START..=POOL_END).contains(&ip), "address {ip}");
    }
    let c = wait_conflict(&cfg.store, POOL_START, "arp")?;
    ensure!(
        c.mac.as_deref() == Some(SQUATTER_MAC),
        "conflict responder {:?}, want {SQUATTER_MAC}",
        c.mac
    );
    ensure!(
        lease_for(&cfg.store, POOL_START)?.is_none_or(|l| l.state != "bound"),
        "the squatter's address was leased"
    );
    // The probe that found the squatter is counted in the metrics.
    let series = "hyperdhcp_probe_results_total{method=\"arp\",result=\"conflict\"}";
    wait_until("an ARP conflict in /metrics", DEADLINE, || {
        Ok(lab
            .http_get("/metrics")?
            .filter(|m| metric(m, series).is_some_and(|v| v >= 1.0)))
    })
    .with_context(|| lab.http_get("/metrics").ok().flatten().unwrap_or_default())?;

    // The squatter leaves; once the hold (counted from the last detection) is over, the
    // address is offered again (to the former squatter's namespace, now without it).
    let sq = lab.client(0).clone();
    lab.exec(
        &sq.ns,
        "ip",
        &[
            "addr",
            "del",
            &format!("{POOL_START}/{PREFIX_LEN}"),
            "dev",
            &sq.ifname,
        ],
    )?;
    let last = conflicts(&cfg.store)?
        .into_iter()
        .find(|c| c.ip == POOL_START)
        .map_or(c.last_seen, |c| c.last_seen);
    // The server's expiry timer runs every second: one more second of margin.
    let due = last + HOLD_SECS + 1;
    wait_until("the conflict hold to end", DEADLINE, || {
        Ok((unix_now() > due).then_some(()))
    })?;
    let hook = lab.hook(0, "udhcpc", false)?;
    let bound = lab.udhcpc_once(0, &hook, "udhcpc-after-squatter")?;
    ensure!(
        bound.ip() == Some(POOL_START),
        "after the hold: {:?}\n{}",
        bound.ip(),
        server.log()
    );
    ensure!(server.is_running()?, "server exited:\n{}", server.log());
    Ok(())
}

/// Sends one DHCPDECLINE for `ip` as client `mac` (with udhcpc's client id 01:MAC).
fn send_decline(mac: [u8; 6], ip: Ipv4Addr) -> Result<()> {
    let mut cid = vec![1u8];
    cid.extend_from_slice(&mac);
    let mut b = MessageBuilder::request(MessageType::Decline, 0x0dec_1111, &mac);
    b.option(code::CLIENT_ID, &cid)
        .option_ip(code::REQUESTED_IP, ip)
        .option_ip(code::SERVER_ID, SERVER_IP);
    let s = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
    s.send_to(&b.finish(), SocketAddrV4::new(SERVER_IP, 67))?;
    println!("decline sent for {ip}");
    Ok(())
}

/// Not a test on its own: the DECLINE sender's entry point (see the module doc).
#[test]
fn decline_sender_entry_point() -> Result<()> {
    let Ok(spec) = std::env::var(DECLINE_ENV) else {
        return Ok(());
    };
    let (mac, ip) = spec.split_once(',').context("MAC,IP")?;
    let mut m = [0u8; 6];
    for (d, part) in m.iter_mut().zip(mac.split(':')) {
        *d = u8::from_str_radix(part, 16)?;
    }
    send_decline(m, ip.parse()?)
}

#[test]
fn decline_quarantines_and_clear_releases() -> Result<()> {
    let mut lab = Lab::with_clients(2)?;
    let cfg = LabConfig::new(lab.path());
    let path = lab.write_config("decline.toml", &config_text(&cfg))?;
    let mut server = lab.start_server_file(&path)?;
    let mac = "02:00:00:00:de:01";
    lab.set_mac(0, mac)?;
    let hook = lab.hook(0, "udhcpc", false)?;
    let bound = lab.udhcpc_once(0, &hook, "udhcpc-decliner")?;
    let ip = bound.ip().context("bound without ip")?;
    wait_lease(&cfg.store, ip, "bound", |l| l.state == "bound")?;

    lab.add_client_addr(0, SENDER_CIDR)?;
    let c = lab.client(0).clone();
    let out = run_output(
        Command::new("ip")
            .args(["netns", "exec", &c.ns])
            .arg(std::env::current_exe()?)
            .args([
                "--exact",
                "decline_sender_entry_point",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DECLINE_ENV, format!("{mac},{ip}")),
    )?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    ensure!(
        out.status.success() && text.contains("decline sent"),
        "decline sender failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = wait_conflict(&cfg.store, ip, "client_decline")?;
    ensure!(
        row.mac.as_deref() == Some(mac),
        "decliner MAC {:?}",
        row.mac
    );
    wait_lease(&cfg.store, ip, "declined", |l| l.state == "declined")?;

    // Nobody gets the quarantined address.
    let hook1 = lab.hook(1, "udhcpc", false)?;
    let other = lab.udhcpc_once(1, &hook1, "udhcpc-other")?;
    ensure!(
        other.ip() != Some(ip),
        "the declined address was offered again\n{}",
        server.log()
    );

    // Operator clears the record; the server re-reads it on SIGHUP.
    run_ok(
        Command::new(HYPERDHCP)
            .args(["conflicts", "clear", &ip.to_string(), "--store"])
            .arg(&cfg.store),
    )?;
    ensure!(
        conflicts(&cfg.store)?.iter().all(|c| c.ip != ip),
        "record still listed after clear"
    );
    let skip = server.log().len();
    signal_pid(server.pid(), "HUP")?;
    server.wait_log("conflict records re-read", skip, DEADLINE)?;
    let out = Command::new(HYPERDHCP)
        .args(["conflicts", "clear", &ip.to_string(), "--store"])
        .arg(&cfg.store)
        .output()?;
    ensure!(!out.status.success(), "clearing twice must fail");
    ensure!(server.is_running()?, "server exited:\n{}", server.log());
    Ok(())
}

#[test]
fn without_cap_net_raw_the_server_warns_and_serves() -> Result<()> {
    let lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path());
    let path = lab.write_config("nocap.toml", &config_text(&cfg))?;
    let script = format!("exec {HYPERDHCP} serve --config {}", path.display());
    let mut cmd = Lab::cmd(&lab.srv_ns, "capsh");
    cmd.args(["--drop=cap_net_raw", "--", "-c", &script]);
    let proc = Proc::spawn("hyperdhcp-nocap", lab.path(), &mut cmd)?;
    let mut server = Server {
        proc,
        config: path.clone(),
    };
    lab.wait_server_ready(&mut server)?;
    server.wait_log(NO_RAW_WARNING, 0, DEADLINE)?;
    let hook = lab.hook(0, "udhcpc", false)?;
    let bound = lab.udhcpc_once(0, &hook, "udhcpc-nocap")?;
    let ip = bound.ip().context("bound without ip")?;
    wait_lease(&cfg.store, ip, "bound without probes", |l| {
        l.state == "bound"
    })?;
    if !server.is_running()? {
        bail!("server exited:\n{}", server.log());
    }
    Ok(())
}

/// The relay's address on the server link.
const RELAY_UP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The relay's interface toward the relayed client link.
const RELAY_DOWN_IF: &str = "down5";
/// giaddr.
const GIADDR: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// The relayed subnet and its pool.
const RELAYED_SUBNET: &str = "198.19.0.0/24";
const RELAYED_POOL: (Ipv4Addr, Ipv4Addr) = (
    Ipv4Addr::new(198, 19, 0, 100),
    Ipv4Addr::new(198, 19, 0, 150),
);

#[test]
fn relayed_squatter_is_found_by_icmp() -> Result<()> {
    let mut lab = Lab::new()?;
    // Client 0's namespace is the relay; the namespace behind it holds the squatter address
    // (the first relayed pool address, answering ping) and runs the real client.
    let relay = lab.client(0).clone();
    lab.add_client_addr(0, &format!("{RELAY_UP}/16"))?;
    let behind = lab.add_client_linked_to(&relay.ns, RELAY_DOWN_IF)?;
    lab.exec(
        &relay.ns,
        "ip",
        &["addr", "add", &format!("{GIADDR}/24"), "dev", RELAY_DOWN_IF],
    )?;
    lab.exec(&relay.ns, "sysctl", &["-q", "-w", "net.ipv4.ip_forward=1"])?;
    let srv = lab.srv_ns.clone();
    lab.exec(
        &srv,
        "ip",
        &["route", "add", RELAYED_SUBNET, "via", &RELAY_UP.to_string()],
    )?;
    let b = lab.client(behind).clone();
    lab.exec(
        &b.ns,
        "ip",
        &[
            "addr",
            "add",
            &format!("{}/24", RELAYED_POOL.0),
            "dev",
            &b.ifname,
        ],
    )?;
    lab.exec(
        &b.ns,
        "ip",
        &["route", "add", "default", "via", &GIADDR.to_string()],
    )?;

    let cfg = LabConfig::new(lab.path());
    // TOML allows the extra [[subnet]] after [conflict_detection]: it appends to the array.
    let text = format!(
        "{}\n[[subnet]]\ncidr = \"{RELAYED_SUBNET}\"\nrouters = [\"{GIADDR}\"]\n\
         \n[[subnet.pool]]\nstart = \"{}\"\nend = \"{}\"\n",
        config_text(&cfg),
        RELAYED_POOL.0,
        RELAYED_POOL.1
    );
    let path = lab.write_config("relay-conflict.toml", &text)?;
    let mut server = lab.start_server_file(&path)?;

    let mut cmd = Lab::cmd(&relay.ns, "dhcrelay");
    cmd.args([
        "-4",
        "-d",
        "--no-pid",
        "-id",
        RELAY_DOWN_IF,
        "-iu",
        &relay.ifname,
    ])
    .arg(SERVER_IP.to_string());
    let mut dhcrelay = Proc::spawn("dhcrelay", lab.path(), &mut cmd)?;

    lab.set_mac(behind, "02:00:00:00:19:05")?;
    let hook = lab.hook(behind, "udhcpc", false)?;
    let bound = lab
        .udhcpc_once(behind, &hook, "udhcpc-relayed")
        .with_context(|| format!("{}\n{}", dhcrelay.output(), server.log()))?;
    let ip = bound.ip().context("bound without ip")?;
    ensure!(
        ip != RELAYED_POOL.0 && (RELAYED_POOL.0..=RELAYED_POOL.1).contains(&ip),
        "relayed client got {ip}\n{}",
        server.log()
    );
    let c = wait_conflict(&cfg.store, RELAYED_POOL.0, "icmp")?;
    ensure!(c.mac.is_none(), "ICMP finds no MAC: {c:?}");
    dhcrelay.kill()?;
    ensure!(server.is_running()?, "server exited:\n{}", server.log());
    Ok(())
}
