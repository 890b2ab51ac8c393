//! End-to-end tests: the real `hyperdhcp serve` against real DHCP clients (ISC dhclient,
//! busybox udhcpc, dhcpcd, Kea's perfdhcp as a relay agent) inside throw-away network
//! namespaces (see `common/mod.rs`). They need root and the Debian packages that
//! `scripts/install-deps.sh` installs; without them they fail with a message saying so.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use common::*;

/// Lease time the default configuration hands out ("1h").
const DEFAULT_LEASE_SECS: u64 = 3600;

/// Current Unix time in seconds.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Waits until the wall clock is past second `t`, so a later ACK yields a strictly later `ends`.
fn wait_past_second(t: u64) -> Result<()> {
    wait_until("the clock to pass a second", Duration::from_secs(3), || {
        Ok((now_secs() > t).then_some(()))
    })
}

/// The options every client of the default configuration must receive.
fn check_default_options(ev: &HookEvent, lease_secs: u64) -> Result<()> {
    let dns = DNS.map(|a| a.to_string()).join(" ");
    ensure!(ev.routers() == ROUTER.to_string(), "router option: {ev:#?}");
    ensure!(ev.dns() == dns, "dns option: want {dns:?}: {ev:#?}");
    ensure!(ev.domain() == DOMAIN, "domain option: {ev:#?}");
    ensure!(ev.subnet_mask() == "255.255.0.0", "subnet mask: {ev:#?}");
    ensure!(
        ev.lease_time() == Some(lease_secs),
        "lease time: want {lease_secs}: {ev:#?}"
    );
    Ok(())
}

/// True when `ip` lies in the default pool.
fn in_default_pool(ip: Ipv4Addr) -> bool {
    (POOL_START..=POOL_END).contains(&ip)
}

// === 1. dhclient, udhcpc and dhcpcd: lease, renew, release ===

#[test]
fn dhclient_gets_renews_and_releases_a_lease() -> Result<()> {
    let mut lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path());
    let server = lab.start_server(&cfg)?;
    let mac = "02:00:00:00:01:01";
    lab.set_mac(0, mac)?;
    let hook = lab.hook(0, "dhclient", true)?;

    // DORA.
    let mut first = lab.dhclient(0, &hook, "dhclient-1")?;
    let bound = hook
        .wait_event(&["BOUND"], 0, DEADLINE)
        .with_context(|| first.output())?;
    check_default_options(&bound, DEFAULT_LEASE_SECS)?;
    let ip = bound.ip().context("BOUND without new_ip_address")?;
    ensure!(in_default_pool(ip), "{ip} outside the pool");
    let stored = wait_lease(&cfg.store, ip, "bound to the client", |l| {
        l.state == "bound" && l.mac == mac
    })?;
    lab.wait_dhclient_leasefile(0, ip)?;
    first.kill()?;

    // Renew: a second run with the same lease file starts in INIT-REBOOT (REQUEST for the
    // old address, RFC 2131 §4.3.2) and must be ACKed for the same address.
    wait_past_second(now_secs())?;
    let seen = hook.events().len();
    let mut second = lab.dhclient(0, &hook, "dhclient-2")?;
    let reboot = hook
        .wait_event(&["REBOOT", "BOUND"], seen, DEADLINE)
        .with_context(|| second.output())?;
    ensure!(
        reboot.event() == "REBOOT",
        "dhclient fell back to DISCOVER instead of INIT-REBOOT: {reboot:#?}\n{}\n{}",
        second.output(),
        server.log()
    );
    ensure!(
        reboot.ip() == Some(ip),
        "INIT-REBOOT changed address: {reboot:#?}"
    );
    check_default_options(&reboot, DEFAULT_LEASE_SECS)?;
    wait_lease(&cfg.store, ip, "renewed (ends increased)", |l| {
        l.state == "bound" && l.ends > stored.ends
    })?;

    // Release: `dhclient -r` stops the running one and sends DHCPRELEASE.
    let seen = hook.events().len();
    lab.dhclient_release(0, &hook)?;
    hook.wait_event(&["RELEASE"], seen, DEADLINE)?;
    wait_lease(&cfg.store, ip, "released", |l| l.state == "released")?;
    second.wait_exit(DEADLINE)?;
    Ok(())
}

#[test]
fn udhcpc_gets_renews_and_releases_a_lease() -> Result<()> {
    let mut lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path());
    let server = lab.start_server(&cfg)?;
    let mac = "02:00:00:00:02:01";
    lab.set_mac(0, mac)?;
    let hook = lab.hook(0, "udhcpc", true)?;

    // -R: send DHCPRELEASE when terminated.
    let mut client = lab.udhcpc(0, &hook, &["-R", "-t", "5", "-T", "2"], "udhcpc")?;
    let bound = hook
        .wait_event(&["bound"], 0, DEADLINE)
        .with_context(|| client.output())?;
    check_default_options(&bound, DEFAULT_LEASE_SECS)?;
    let ip = bound.ip().context("bound without ip")?;
    ensure!(in_default_pool(ip), "{ip} outside the pool");
    let stored = wait_lease(&cfg.store, ip, "bound to the client", |l| {
        l.state == "bound" && l.mac == mac
    })?;

    // SIGUSR1: renew now (RENEWING: unicast REQUEST with ciaddr, RFC 2131 §4.3.2).
    wait_past_second(now_secs())?;
    let seen = hook.events().len();
    client.signal("USR1")?;
    let renew = hook
        .wait_event(&["renew", "bound", "deconfig", "nak"], seen, DEADLINE)
        .with_context(|| format!("{}\n{}", client.output(), server.log()))?;
    ensure!(
        renew.event() == "renew" && renew.ip() == Some(ip),
        "renew did not keep the lease: {renew:#?}\n{}",
        client.output()
    );
    wait_lease(&cfg.store, ip, "renewed (ends increased)", |l| {
        l.state == "bound" && l.ends > stored.ends
    })?;

    // SIGTERM with -R: DHCPRELEASE, then exit.
    client.signal("TERM")?;
    client.wait_exit(DEADLINE)?;
    ensure!(
        client.output().contains("release"),
        "udhcpc did not release:\n{}",
        client.output()
    );
    wait_lease(&cfg.store, ip, "released", |l| l.state == "released")?;
    Ok(())
}

#[test]
fn dhcpcd_gets_renews_at_t1_and_releases_a_lease() -> Result<()> {
    let mut lab = Lab::new()?;
    let mut cfg = LabConfig::new(lab.path());
    // A short T1 so dhcpcd renews on its own timer (option 58, RFC 2131 §4.4.5).
    cfg.lease_time = "60s".to_string();
    cfg.renewal_time = Some("3s".to_string());
    cfg.rebinding_time = Some("50s".to_string());
    let server = lab.start_server(&cfg)?;
    let mac = "02:00:00:00:03:01";
    lab.set_mac(0, mac)?;
    let hook = lab.hook(0, "dhcpcd", false)?;

    let mut client = lab.dhcpcd(0, &hook, "dhcpcd")?;
    let bound = hook
        .wait_event(&["BOUND"], 0, DEADLINE)
        .with_context(|| client.output())?;
    check_default_options(&bound, 60)?;
    let ip = bound.ip().context("BOUND without new_ip_address")?;
    ensure!(in_default_pool(ip), "{ip} outside the pool");
    let t1 = bound.get("new_dhcp_renewal_time");
    ensure!(
        t1.is_empty() || t1 == "3",
        "renewal time {t1:?}: {bound:#?}"
    );
    let stored = wait_lease(&cfg.store, ip, "bound to the client", |l| {
        l.state == "bound" && l.mac == mac
    })?;

    let seen = hook.events().len();
    let renew = hook
        .wait_event(&["RENEW", "REBIND", "EXPIRE", "NAK"], seen, DEADLINE)
        .with_context(|| format!("{}\n{}", client.output(), server.log()))?;
    ensure!(
        renew.event() == "RENEW" && renew.ip() == Some(ip),
        "T1 renew did not keep the lease: {renew:#?}\n{}",
        client.output()
    );
    wait_lease(&cfg.store, ip, "renewed (ends increased)", |l| {
        l.state == "bound" && l.ends > stored.ends
    })?;

    // `dhcpcd -k`: release and exit.
    let seen = hook.events().len();
    lab.dhcpcd_control(0, &hook, "-k")?;
    hook.wait_event(&["RELEASE", "STOP", "STOPPED"], seen, DEADLINE)?;
    wait_lease(&cfg.store, ip, "released", |l| l.state == "released")?;
    client.wait_exit(DEADLINE)?;
    Ok(())
}

// === 2. reservations ===

#[test]
fn reservation_gives_fixed_address_and_hostname() -> Result<()> {
    let mut lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path()).with_printer_reservation();
    let _server = lab.start_server(&cfg)?;
    lab.set_mac(0, RESERVED_MAC)?;
    let hook = lab.hook(0, "udhcpc", false)?;
    let bound = lab.udhcpc_once(0, &hook, "udhcpc-printer")?;
    ensure!(
        bound.ip() == Some(RESERVED_IP),
        "reserved address: {bound:#?}"
    );
    ensure!(
        bound.hostname() == RESERVED_HOSTNAME,
        "hostname: {bound:#?}"
    );
    check_default_options(&bound, DEFAULT_LEASE_SECS)?;
    let lease = wait_lease(&cfg.store, RESERVED_IP, "bound to the printer", |l| {
        l.state == "bound" && l.mac == RESERVED_MAC
    })?;
    ensure!(
        lease.hostname.as_deref() == Some(RESERVED_HOSTNAME),
        "stored hostname: {lease:?}"
    );

    // Any other client gets a pool address, never the reserved one.
    lab.set_mac(0, "02:00:00:00:00:ab")?;
    let other = lab.udhcpc_once(0, &hook, "udhcpc-other")?;
    let other_ip = other.ip().context("bound without ip")?;
    ensure!(
        in_default_pool(other_ip),
        "non-reserved client got {other_ip}"
    );
    Ok(())
}

// === 3. crash safety ===

#[test]
fn lease_survives_server_kill_9_and_init_reboot_keeps_it() -> Result<()> {
    let mut lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path());
    let mut server = lab.start_server(&cfg)?;
    let mac = "02:00:00:00:04:01";
    lab.set_mac(0, mac)?;
    let hook = lab.hook(0, "dhclient", true)?;
    let mut client = lab.dhclient(0, &hook, "dhclient-1")?;
    let bound = hook
        .wait_event(&["BOUND"], 0, DEADLINE)
        .with_context(|| client.output())?;
    let ip = bound.ip().context("BOUND without new_ip_address")?;
    lab.wait_dhclient_leasefile(0, ip)?;
    client.kill()?;

    // The ACK was sent, so the lease must be on disk: SIGKILL gives the server no chance to
    // flush anything.
    server.proc.kill()?;
    let stored = lease_for(&cfg.store, ip)?;
    ensure!(
        stored
            .as_ref()
            .is_some_and(|l| l.state == "bound" && l.mac == mac),
        "lease for {ip} not durable after kill -9: {stored:?}"
    );

    let server = lab.start_server(&cfg)?;
    // Another client after the restart must not be handed the recovered address.
    lab.set_mac(0, "02:00:00:00:04:02")?;
    let other_hook = lab.hook(0, "udhcpc-other", false)?;
    let other = lab.udhcpc_once(0, &other_hook, "udhcpc-other")?;
    ensure!(
        other.ip().is_some_and(|o| o != ip),
        "restarted server gave {ip} away: {other:#?}"
    );

    // The first client comes back with INIT-REBOOT and keeps its address.
    lab.set_mac(0, mac)?;
    let seen = hook.events().len();
    let mut again = lab.dhclient(0, &hook, "dhclient-2")?;
    let reboot = hook
        .wait_event(&["REBOOT", "BOUND"], seen, DEADLINE)
        .with_context(|| again.output())?;
    ensure!(
        reboot.event() == "REBOOT" && reboot.ip() == Some(ip),
        "INIT-REBOOT after restart did not keep {ip}: {reboot:#?}\n{}",
        server.log()
    );
    again.kill()?;
    Ok(())
}

// === 4. many clients never share an address ===

/// Client namespaces on the bridge, each running clients one after the other.
const MANY_NAMESPACES: usize = 4;
/// Clients per namespace (distinct MACs).
const CLIENTS_PER_NAMESPACE: usize = 14;

#[test]
fn many_clients_never_share_an_address() -> Result<()> {
    let mut lab = Lab::with_clients(MANY_NAMESPACES)?;
    let cfg = LabConfig::new(lab.path());
    let _server = lab.start_server(&cfg)?;

    // Four namespaces in parallel, each walking through its own MACs with `udhcpc -q`.
    let results: Vec<Result<Vec<(String, Ipv4Addr)>>> = std::thread::scope(|s| {
        let lab = &lab;
        let handles: Vec<_> = (0..MANY_NAMESPACES)
            .map(|i| {
                s.spawn(move || -> Result<Vec<(String, Ipv4Addr)>> {
                    let hook = lab.hook(i, "udhcpc", false)?;
                    let mut got = Vec::new();
                    for j in 0..CLIENTS_PER_NAMESPACE {
                        let mac = format!("02:00:00:00:{:02x}:{:02x}", 0x10 + i, j);
                        lab.set_mac(i, &mac)?;
                        let ev = lab.udhcpc_once(i, &hook, &format!("c{i}-udhcpc-{j}"))?;
                        let ip = ev.ip().context("bound without ip")?;
                        got.push((mac, ip));
                    }
                    Ok(got)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("client thread panicked")))
            })
            .collect()
    });
    let mut given = BTreeMap::new();
    for r in results {
        for (mac, ip) in r? {
            ensure!(in_default_pool(ip), "{mac} got {ip} outside the pool");
            if let Some(prev) = given.insert(ip, mac.clone()) {
                anyhow::bail!("{ip} handed to both {prev} and {mac}");
            }
        }
    }
    let total = MANY_NAMESPACES * CLIENTS_PER_NAMESPACE;
    ensure!(
        given.len() == total,
        "{} distinct addresses for {total} clients",
        given.len()
    );

    let stored = leases(&cfg.store)?;
    let ips: BTreeSet<_> = stored.iter().map(|l| l.ip).collect();
    let macs: BTreeSet<_> = stored.iter().map(|l| l.mac.clone()).collect();
    ensure!(
        ips.len() == stored.len(),
        "duplicate IPs in the store: {stored:#?}"
    );
    ensure!(
        macs.len() == stored.len(),
        "duplicate MACs in the store: {stored:#?}"
    );
    for (ip, mac) in &given {
        let lease = stored.iter().find(|l| l.ip == *ip);
        ensure!(
            lease.is_some_and(|l| l.mac == *mac && l.state == "bound"),
            "client {mac} was given {ip} but the store says {lease:?}"
        );
    }
    Ok(())
}

// === 5. relayed requests (perfdhcp acts as a relay agent) ===

/// Number of DORA exchanges perfdhcp runs.
const RELAYED_EXCHANGES: u64 = 100;

/// `received packets` / `sent packets` of one perfdhcp statistics section.
fn perfdhcp_counts(output: &str, section: &str) -> Option<(u64, u64)> {
    let start = output.find(&format!("Statistics for: {section}"))?;
    let body = output.get(start..)?;
    let number = |key: &str| -> Option<u64> {
        let line = body.lines().find(|l| l.trim_start().starts_with(key))?;
        line.rsplit(':').next()?.trim().parse().ok()
    };
    Some((number("sent packets")?, number("received packets")?))
}

#[test]
fn relayed_requests_are_answered_at_the_relay() -> Result<()> {
    let mut lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path());
    let server = lab.start_server(&cfg)?;
    // perfdhcp uses its interface address as giaddr and listens on port 67 there: it only
    // counts replies the server sent to giaddr:67 (RFC 2131 §4.1).
    lab.add_client_addr(0, "198.18.0.2/16")?;
    let c = lab.client(0).clone();
    let n = RELAYED_EXCHANGES.to_string();
    let out = run_output(Lab::cmd(&c.ns, "perfdhcp").args([
        "-4",
        "-l",
        &c.ifname,
        "-r",
        "50",
        "-R",
        &n,
        "-n",
        &n,
        "-p",
        "20",
        "-W",
        "1000000",
        "-g",
        "single",
        &SERVER_IP.to_string(),
    ]))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let offers = perfdhcp_counts(&text, "DISCOVER-OFFER");
    let acks = perfdhcp_counts(&text, "REQUEST-ACK");
    ensure!(
        out.status.success(),
        "perfdhcp did not complete every exchange ({}): {text}\n{}",
        out.status,
        server.log()
    );
    let (sent, received) = acks.context("no REQUEST-ACK statistics")?;
    ensure!(
        sent >= RELAYED_EXCHANGES && received == sent,
        "REQUEST-ACK {received}/{sent}, DISCOVER-OFFER {offers:?}: {text}"
    );
    let stored = leases(&cfg.store)?;
    let bound: Vec<_> = stored.iter().filter(|l| l.state == "bound").collect();
    ensure!(!bound.is_empty(), "no bound leases after relayed DORA");
    ensure!(
        bound.iter().all(|l| in_default_pool(l.ip)),
        "relayed leases outside the pool: {bound:#?}"
    );
    let ips: BTreeSet<_> = bound.iter().map(|l| l.ip).collect();
    let macs: BTreeSet<_> = bound.iter().map(|l| &l.mac).collect();
    ensure!(
        ips.len() == bound.len() && macs.len() == bound.len(),
        "shared addresses: {bound:#?}"
    );
    Ok(())
}

// === 7. bad configuration files ===

/// A broken config, and the key path its error must name.
struct BadConfig {
    name: &'static str,
    text: String,
    path: &'static str,
}

/// A valid config with `subnet_extra` appended to the first subnet and `tail` after it.
fn config_with(pool: (&str, &str), subnet_extra: &str, tail: &str) -> String {
    format!(
        "[server]\ninterfaces = [\"{SERVER_IF}\"]\n\n[store]\npath = \"/tmp/hd-bad/leases.db\"\n\n\
         [[subnet]]\ncidr = \"{SUBNET}\"\n{subnet_extra}\n\
         [[subnet.pool]]\nstart = \"{}\"\nend = \"{}\"\n{tail}",
        pool.0, pool.1
    )
}

/// The broken files: each wrong in one place.
fn bad_configs() -> Vec<BadConfig> {
    let ok_pool = ("198.18.1.0", "198.18.1.255");
    vec![
        BadConfig {
            name: "pool end before start",
            text: config_with(("198.18.10.0", "198.18.9.0"), "", ""),
            path: "subnet[0].pool[0].end",
        },
        BadConfig {
            name: "pool outside the subnet",
            text: config_with(("198.19.1.0", "198.19.1.255"), "", ""),
            path: "subnet[0].pool[0]",
        },
        BadConfig {
            name: "bad cidr",
            text: config_with(ok_pool, "", "").replace(SUBNET, "198.18.0.0/33"),
            path: "subnet[0].cidr",
        },
        BadConfig {
            name: "bad lease time",
            text: config_with(ok_pool, "lease_time = \"forever-ish\"", ""),
            path: "subnet[0].lease_time",
        },
        BadConfig {
            name: "bad dns server",
            text: config_with(ok_pool, "dns_servers = [\"198.18.0.300\"]", ""),
            path: "subnet[0].dns_servers",
        },
        BadConfig {
            name: "reservation outside the subnet",
            text: config_with(
                ok_pool,
                "",
                "\n[[subnet.reservation]]\nmac = \"02:00:00:00:00:aa\"\nip = \"198.19.0.50\"\n",
            ),
            path: "subnet[0].reservation[0].ip",
        },
        BadConfig {
            name: "bad reservation mac",
            text: config_with(
                ok_pool,
                "",
                "\n[[subnet.reservation]]\nmac = \"02:00:zz\"\nip = \"198.18.0.50\"\n",
            ),
            path: "subnet[0].reservation[0].mac",
        },
        BadConfig {
            name: "unknown key",
            text: config_with(ok_pool, "lease_tme = \"1h\"", ""),
            path: "subnet[0].lease_tme",
        },
        BadConfig {
            name: "error in the second subnet",
            text: config_with(
                ok_pool,
                "",
                "\n[[subnet]]\ncidr = \"198.19.0.0/16\"\n\n[[subnet.pool]]\nstart = \"198.19.2.0\"\nend = \"198.19.1.0\"\n",
            ),
            path: "subnet[1].pool[0].end",
        },
    ]
}

#[test]
fn bad_config_files_are_rejected_with_their_key_path() -> Result<()> {
    let mut lab = Lab::new()?;
    let mut problems = Vec::new();
    for bad in bad_configs() {
        let file = lab.write_config(
            &format!("bad-{}.toml", bad.name.replace(' ', "-")),
            &bad.text,
        )?;
        let out = run_output(
            std::process::Command::new(HYPERDHCP)
                .arg("check-config")
                .arg(&file),
        )?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            problems.push(format!("check-config accepted {}:\n{}", bad.name, bad.text));
        } else if !text.contains(bad.path) {
            problems.push(format!(
                "check-config on {}: output does not name {}:\n{text}",
                bad.name, bad.path
            ));
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));

    // A syntax error is reported too (with a line number), and a missing file.
    let file = lab.write_config("syntax.toml", "[server\ninterfaces = [\"srv0\"]\n")?;
    let out = run_output(
        std::process::Command::new(HYPERDHCP)
            .arg("check-config")
            .arg(&file),
    )?;
    ensure!(
        !out.status.success(),
        "check-config accepted a TOML syntax error"
    );
    let out = run_output(
        std::process::Command::new(HYPERDHCP)
            .arg("check-config")
            .arg(lab.path().join("missing.toml")),
    )?;
    ensure!(
        !out.status.success(),
        "check-config accepted a missing file"
    );

    // A valid file passes.
    let good = lab.write_config("good.toml", &LabConfig::new(lab.path()).to_toml())?;
    let out = run_output(
        std::process::Command::new(HYPERDHCP)
            .arg("check-config")
            .arg(&good),
    )?;
    ensure!(
        out.status.success(),
        "check-config rejected a valid file: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // `serve` refuses to start on a broken file and says why (run inside the lab's server
    // namespace in case it did start).
    let bad = &bad_configs()[0];
    let file = lab.write_config("serve-bad.toml", &bad.text)?;
    let mut cmd = Lab::cmd(&lab.srv_ns, HYPERDHCP);
    cmd.arg("serve").arg("--config").arg(&file);
    let mut serve = Proc::spawn("serve-bad", lab.path(), &mut cmd)?;
    let status = serve.wait_exit(DEADLINE)?;
    ensure!(!status.success(), "serve started on a broken config");
    ensure!(
        serve.output().contains(bad.path),
        "serve's error does not name {}:\n{}",
        bad.path,
        serve.output()
    );
    drop(lab.start_server_file(&good)?);
    Ok(())
}

// === 8. signals ===

#[test]
fn sigterm_stops_cleanly_and_sighup_reloads_or_keeps_old_config() -> Result<()> {
    let mut lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path());

    // SIGTERM: exit status 0.
    let mut server = lab.start_server(&cfg)?;
    server.proc.signal("TERM")?;
    let status = server.proc.wait_exit(DEADLINE)?;
    ensure!(
        status.success(),
        "exit after SIGTERM: {status}\n{}",
        server.log()
    );

    let mut server = lab.start_server(&cfg)?;
    let hook = lab.hook(0, "udhcpc", false)?;
    lab.set_mac(0, "02:00:00:00:08:01")?;
    let before = lab.udhcpc_once(0, &hook, "udhcpc-1")?;
    check_default_options(&before, DEFAULT_LEASE_SECS)?;

    // SIGHUP with a broken file: keeps serving the old config and logs the reason.
    let bad = bad_configs()
        .into_iter()
        .find(|b| b.name == "reservation outside the subnet")
        .context("reload test case")?;
    std::fs::write(&server.config, &bad.text)?;
    let mark = server.log().len();
    server.proc.signal("HUP")?;
    server.wait_log(bad.path, mark, DEADLINE)?;
    ensure!(
        server.is_running()?,
        "server died on a bad reload\n{}",
        server.log()
    );
    lab.set_mac(0, "02:00:00:00:08:02")?;
    let during = lab.udhcpc_once(0, &hook, "udhcpc-2")?;
    check_default_options(&during, DEFAULT_LEASE_SECS)?;

    // SIGHUP with a valid, changed file: the next client gets the new DNS server.
    let mut changed = cfg.clone();
    changed.dns = vec![Ipv4Addr::new(198, 18, 0, 99)];
    std::fs::write(&server.config, changed.to_toml())?;
    let mark = server.log().len();
    server.proc.signal("HUP")?;
    server.wait_log("reloaded", mark, DEADLINE)?;
    lab.set_mac(0, "02:00:00:00:08:03")?;
    let after = lab.udhcpc_once(0, &hook, "udhcpc-3")?;
    ensure!(after.dns() == "198.18.0.99", "DNS after reload: {after:#?}");
    ensure!(
        after.routers() == ROUTER.to_string(),
        "router after reload: {after:#?}"
    );

    // Leases survive the reload.
    let stored = leases(&cfg.store)?;
    for ev in [&before, &during, &after] {
        let ip = ev.ip().context("no ip")?;
        ensure!(
            stored.iter().any(|l| l.ip == ip && l.state == "bound"),
            "lease {ip} lost across reloads: {stored:#?}"
        );
    }
    server.proc.signal("TERM")?;
    let status = server.proc.wait_exit(DEADLINE)?;
    ensure!(
        status.success(),
        "exit after SIGTERM: {status}\n{}",
        server.log()
    );
    Ok(())
}
