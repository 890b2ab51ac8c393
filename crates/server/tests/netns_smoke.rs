//! Real packets through `serve()` inside two private network namespaces joined by a veth pair:
//! broadcast DORA, hardware-addressed OFFER (ARP entry installed), a relayed DISCOVER answered
//! to the relay's port 67, SIGHUP reloads (a broken file is refused, a good one swaps the
//! pool), clean SIGTERM shutdown, and the ACKed lease found in the store.
//!
//! The outer test (`serve_and_answer_in_netns`) builds the namespaces and re-runs this test
//! binary inside them through `ip netns exec` with the ignored inner tests `serve_inner` and
//! `client_inner`, so no unsafe setns is needed. Skipped (passes vacuously, with a note) when
//! not root or `ip` is missing. Addresses: 198.18.0.0/16 only.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use hyperdhcp_engine::LeaseState;
use hyperdhcp_store::LeaseStore;
use hyperdhcp_wire::{Message, MessageBuilder, MessageType, code};
use socket2::{Domain, Protocol, Socket, Type};

const ENV_CONFIG: &str = "HDSRV_SMOKE_CONFIG";
const ENV_MODE: &str = "HDSRV_SMOKE_MODE";
const SERVER_IF: &str = "srv0";
const CLIENT_IF: &str = "cli0";
const SERVER_ADDR: &str = "198.18.0.1/16";
const RELAY_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const DORA_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
const HW_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];
const RELAY_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0c];
const RELOADED_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0d];
/// Pool before and after the SIGHUP reload.
const POOL: (&str, &str) = ("198.18.1.10", "198.18.1.50");
const RELOADED_POOL: (&str, &str) = ("198.18.2.10", "198.18.2.50");
const DEADLINE: Duration = Duration::from_secs(15);

// === outer test ===

/// Namespaces and the server process; everything is torn down on drop, also on failure.
struct Lab {
    srv: String,
    cli: String,
    server: Option<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill(); // by PID: only the process we started
            let _ = child.wait();
        }
        for ns in [&self.srv, &self.cli] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn run(args: &[&str]) -> Result<Output> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| format!("running {args:?}"))?;
    ensure!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out)
}

fn lab_available() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let ip = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    root && ip
}

fn setup(lab: &Lab) -> Result<()> {
    let (srv, cli) = (lab.srv.as_str(), lab.cli.as_str());
    run(&["ip", "netns", "add", srv])?;
    run(&["ip", "netns", "add", cli])?;
    // Both veth ends are created inside the test namespaces: nothing touches the root one.
    run(&[
        "ip", "-n", srv, "link", "add", SERVER_IF, "type", "veth", "peer", "name", CLIENT_IF,
        "netns", cli,
    ])?;
    for ns in [srv, cli] {
        run(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
        ])?;
        run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
    }
    run(&[
        "ip",
        "-n",
        srv,
        "addr",
        "add",
        SERVER_ADDR,
        "dev",
        SERVER_IF,
    ])?;
    run(&["ip", "-n", srv, "link", "set", SERVER_IF, "up"])?;
    run(&["ip", "-n", cli, "link", "set", CLIENT_IF, "up"])?;
    Ok(())
}

fn inner(ns: &str, test: &str, envs: &[(&str, &str)]) -> Result<Command> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]).arg(exe).args([
        "--exact",
        test,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    Ok(cmd)
}

fn client(lab: &Lab, mode: &str) -> Result<String> {
    let out = inner(&lab.cli, "client_inner", &[(ENV_MODE, mode)])?
        .output()
        .context("client")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    ensure!(
        out.status.success(),
        "client {mode} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(stdout)
}

fn result_line(stdout: &str) -> Option<Ipv4Addr> {
    stdout
        .lines()
        // libtest may print "test client_inner ... " on the same line first.
        .find_map(|l| l.split_once("RESULT ").map(|(_, rest)| rest))
        .and_then(|s| s.trim().parse().ok())
}

fn signal(pid: u32, sig: &str) -> Result<()> {
    let st = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()?;
    ensure!(st.success(), "kill {sig} {pid} failed");
    Ok(())
}

/// Polls the server log until `needle` appears (the loop handles signals within ~200 ms).
fn wait_for_log(log: &Path, needle: &str) -> Result<()> {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if std::fs::read_to_string(log)?.contains(needle) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("server log never said {needle:?}")
}

fn wait_exit(child: &mut Child, deadline: Instant) -> Result<std::process::ExitStatus> {
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(st);
        }
        if Instant::now() > deadline {
            bail!("server did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn write_config(dir: &Path, pool: (&str, &str)) -> Result<PathBuf> {
    let path = dir.join("hyperdhcp.toml");
    let (start, end) = pool;
    let text = format!(
        r#"
[server]
interfaces = ["{SERVER_IF}"]

[store]
path = "{}"

[[subnet]]
cidr = "198.18.0.0/16"

[[subnet.pool]]
start = "{start}"
end = "{end}"
"#,
        dir.join("leases.db").display()
    );
    std::fs::write(&path, text)?;
    Ok(path)
}

#[test]
fn serve_and_answer_in_netns() -> Result<()> {
    if !lab_available() {
        eprintln!("skipped: needs root and iproute2 to build network namespaces");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("server.log");
    let result = smoke(dir.path(), &log);
    if result.is_err() {
        eprintln!(
            "--- server log ---\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    result
}

fn smoke(dir: &Path, log: &Path) -> Result<()> {
    let pid = std::process::id();
    let mut lab = Lab {
        srv: format!("hdsrv-{pid}"),
        cli: format!("hdcli-{pid}"),
        server: None,
    };
    setup(&lab)?;
    let config = write_config(dir, POOL)?;
    let config_s = config.to_string_lossy().into_owned();
    lab.server = Some(
        inner(&lab.srv, "serve_inner", &[(ENV_CONFIG, &config_s)])?
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .context("spawn server")?,
    );

    // 1. Broadcast DORA: the client retransmits until the server is up.
    let out = client(&lab, "dora")?;
    let leased = result_line(&out).context("dora: no RESULT line")?;
    ensure!(
        (Ipv4Addr::new(198, 18, 1, 10)..=Ipv4Addr::new(198, 18, 1, 50)).contains(&leased),
        "leased {leased} outside the pool"
    );

    // 2. Broadcast bit clear: the server must install an ARP entry for the offered address.
    let out = client(&lab, "hw")?;
    let offered = result_line(&out).context("hw: no RESULT line")?;
    let neigh = run(&["ip", "-n", &lab.srv, "neigh", "show", "dev", SERVER_IF])?;
    let neigh = String::from_utf8_lossy(&neigh.stdout);
    ensure!(
        neigh.contains(&format!("{offered} lladdr 02:00:00:00:00:0b")),
        "no ARP entry for {offered}:\n{neigh}"
    );

    // 3. Relayed DISCOVER: the OFFER goes back to the relay at port 67.
    run(&[
        "ip",
        "-n",
        &lab.cli,
        "addr",
        "add",
        "198.18.0.2/16",
        "dev",
        CLIENT_IF,
    ])?;
    let out = client(&lab, "relay")?;
    ensure!(result_line(&out).is_some(), "relay: no RESULT line");

    // 4. SIGHUP with a broken file keeps the old config; with a good one swaps it in.
    let pid = lab.server.as_ref().context("server handle")?.id();
    std::fs::write(&config, "[server]\nno_such_key = 1\n")?;
    signal(pid, "-HUP")?;
    wait_for_log(log, "reload failed, keeping the old config")?;
    write_config(dir, RELOADED_POOL)?;
    signal(pid, "-HUP")?;
    wait_for_log(log, "configuration reloaded")?;
    let out = client(&lab, "dora-reloaded")?;
    let reloaded = result_line(&out).context("dora-reloaded: no RESULT line")?;
    ensure!(
        reloaded.octets()[..3] == [198, 18, 2],
        "after reload got {reloaded}, outside the new pool"
    );

    // 5. SIGTERM: clean exit, and the ACKed lease is durable.
    let mut server = lab.server.take().context("server handle")?;
    signal(server.id(), "-TERM")?;
    let status = wait_exit(&mut server, Instant::now() + DEADLINE)?;
    ensure!(status.success(), "server exited with {status}");

    let mut store = hyperdhcp_store::SqliteStore::open_read_only(&dir.join("leases.db"))?;
    let leases = store.load_all()?;
    let lease = leases
        .iter()
        .find(|l| l.ip == leased)
        .with_context(|| format!("lease {leased} not in the store: {leases:?}"))?;
    ensure!(lease.state == LeaseState::Bound, "{lease:?}");
    ensure!(lease.hwaddr.as_bytes() == DORA_MAC, "{lease:?}");
    Ok(())
}

// === inner tests, run inside the namespaces by the outer test ===

#[test]
#[ignore = "run inside a network namespace by serve_and_answer_in_netns"]
fn serve_inner() -> Result<()> {
    let Ok(path) = std::env::var(ENV_CONFIG) else {
        return Ok(());
    };
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let path = PathBuf::from(path);
    let config = hyperdhcp_config::Config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    // The shell as the binary composes it, minus hooks: SIGTERM stops the loop; SIGHUP reads
    // the file on this thread and hands the loop the validated result through its door.
    let store = hyperdhcp_store::SqliteStore::open(&config.store.path)?;
    let shutdown = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(
        signal_hook::consts::SIGTERM,
        std::sync::Arc::clone(&shutdown),
    )?;
    let (commands, queue) = hyperdhcp_control::CommandQueue::bounded(1)?;
    let mut hups = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])?;
    std::thread::spawn(move || {
        for _ in hups.forever() {
            match hyperdhcp_config::Config::load(&path) {
                Ok(config) => {
                    let (reply, _answer) = hyperdhcp_control::Reply::channel();
                    let reload = hyperdhcp_control::Command::Reload {
                        config: std::sync::Arc::new(config),
                        conflicts: None,
                        reply,
                    };
                    let _ = commands.send(reload);
                }
                Err(e) => tracing::error!("reload failed, keeping the old config: {e}"),
            }
        }
    });
    let telemetry = std::sync::Arc::new(hyperdhcp_control::Telemetry::new(
        std::sync::Arc::default(),
        std::sync::Arc::default(),
    ));
    let doors = hyperdhcp_server::Doors {
        commands: queue,
        telemetry,
        events: None,
    };
    hyperdhcp_server::Server::start(config, Box::new(store), doors)?.run(&shutdown)?;
    Ok(())
}

#[test]
#[ignore = "run inside a network namespace by serve_and_answer_in_netns"]
fn client_inner() -> Result<()> {
    let Ok(mode) = std::env::var(ENV_MODE) else {
        return Ok(());
    };
    let ip = match mode.as_str() {
        "dora" => dora(DORA_MAC, 0x5eed_0001)?,
        "dora-reloaded" => dora(RELOADED_MAC, 0x5eed_0004)?,
        "hw" => hw_discover()?,
        "relay" => relay_discover()?,
        other => bail!("unknown mode {other}"),
    };
    println!("RESULT {ip}");
    Ok(())
}

fn client_socket(port: u16) -> Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_broadcast(true)?;
    s.bind_device(Some(CLIENT_IF.as_bytes()))?;
    s.set_read_timeout(Some(Duration::from_millis(300)))?;
    s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())?;
    Ok(s.into())
}

/// Sends `packet` to `to` until a reply of `want` type with our xid arrives; returns it.
fn exchange(
    s: &UdpSocket,
    packet: &[u8],
    to: SocketAddrV4,
    xid: u32,
    want: MessageType,
) -> Result<Vec<u8>> {
    let deadline = Instant::now() + DEADLINE;
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        s.send_to(packet, to)?;
        let resend_at = Instant::now() + Duration::from_millis(500);
        while Instant::now() < resend_at {
            let Ok((n, _)) = s.recv_from(&mut buf) else {
                continue;
            };
            let bytes = &buf[..n];
            if let Ok(m) = Message::parse(bytes)
                && m.xid() == xid
                && m.message_type() == Some(want)
            {
                return Ok(bytes.to_vec());
            }
        }
    }
    bail!("no {} for xid {xid:#x}", want.as_str())
}

fn dora(mac: [u8; 6], xid: u32) -> Result<Ipv4Addr> {
    let s = client_socket(hyperdhcp_wire::CLIENT_PORT)?;
    let to = SocketAddrV4::new(Ipv4Addr::BROADCAST, hyperdhcp_wire::SERVER_PORT);
    let mut b = MessageBuilder::request(MessageType::Discover, xid, &mac);
    b.set_flags(hyperdhcp_wire::FLAG_BROADCAST);
    let offer = exchange(&s, &b.finish(), to, xid, MessageType::Offer)?;
    let offer = Message::parse(&offer).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ip = offer.yiaddr();
    let server_id = offer.server_id().context("OFFER without server id")?;
    let mut b = MessageBuilder::request(MessageType::Request, xid, &mac);
    b.set_flags(hyperdhcp_wire::FLAG_BROADCAST)
        .option_ip(code::REQUESTED_IP, ip)
        .option_ip(code::SERVER_ID, server_id);
    let ack = exchange(&s, &b.finish(), to, xid, MessageType::Ack)?;
    let ack = Message::parse(&ack).map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(
        ack.yiaddr() == ip,
        "ACK for {} after OFFER of {ip}",
        ack.yiaddr()
    );
    Ok(ip)
}

fn hw_discover() -> Result<Ipv4Addr> {
    // Broadcast bit clear: the OFFER is unicast to the MAC, which a UDP socket without the
    // address cannot receive; the outer test checks the server's ARP table instead. The
    // address comes from a second, broadcast DISCOVER with the same chaddr (same offer).
    let s = client_socket(hyperdhcp_wire::CLIENT_PORT)?;
    let to = SocketAddrV4::new(Ipv4Addr::BROADCAST, hyperdhcp_wire::SERVER_PORT);
    let xid = 0x5eed_0002;
    let b = MessageBuilder::request(MessageType::Discover, xid, &HW_MAC);
    s.send_to(&b.finish(), to)?;
    let mut b = MessageBuilder::request(MessageType::Discover, xid + 1, &HW_MAC);
    b.set_flags(hyperdhcp_wire::FLAG_BROADCAST);
    let offer = exchange(&s, &b.finish(), to, xid + 1, MessageType::Offer)?;
    Ok(Message::parse(&offer)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .yiaddr())
}

fn relay_discover() -> Result<Ipv4Addr> {
    let s = client_socket(hyperdhcp_wire::SERVER_PORT)?;
    let to = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), hyperdhcp_wire::SERVER_PORT);
    let xid = 0x5eed_0005;
    let mut b = MessageBuilder::request(MessageType::Discover, xid, &RELAY_MAC);
    b.set_hops(1).set_giaddr(RELAY_ADDR);
    let offer = exchange(&s, &b.finish(), to, xid, MessageType::Offer)?;
    let offer = Message::parse(&offer).map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(offer.giaddr() == RELAY_ADDR, "giaddr not echoed");
    Ok(offer.yiaddr())
}
