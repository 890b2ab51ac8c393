//! Rate limiting end to end (RFC 5765 §3): a relay-like flooder in one client namespace sends
//! thousands of DISCOVERs with random MACs (relayed, giaddr = its own address) while a real
//! client (udhcpc) in another namespace asks for a lease. The flood is cut to the per-link
//! rate and counted as `rate_limited` in /metrics; the real client still gets its lease.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use common::*;
use hyperdhcp_wire::{MessageBuilder, MessageType};

/// Environment variable that turns [`flood_entry_point`] into the flooder: `COUNT:SEED`.
const FLOOD_ENV: &str = "HD_E2E_FLOOD";
/// DISCOVERs sent (bounded load).
const FLOOD: u32 = 4_000;
/// The flooder's address: its giaddr.
const FLOODER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);
/// `[server.rate_limit] per_link`, requests per second.
const PER_LINK: u32 = 20;

/// Sends `count` relayed DISCOVERs with random MACs, about 2,000 per second.
fn flood(count: u32, seed: u64) -> Result<()> {
    let sock = UdpSocket::bind(SocketAddrV4::new(FLOODER, 67)).context("bind relay port")?;
    let mut x = seed | 1;
    for i in 0..count {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_be_bytes();
        let mac = [0x02, b[0], b[1], b[2], b[3], b[4]];
        let mut m = MessageBuilder::request(MessageType::Discover, i, &mac);
        m.set_giaddr(FLOODER).set_hops(1);
        let _ = sock.send_to(&m.finish(), SocketAddrV4::new(SERVER_IP, 67));
        if i % 2 == 1 {
            std::thread::sleep(Duration::from_millis(1)); // pacing, not a wait for a condition
        }
    }
    println!("flood: {count} sent");
    Ok(())
}

/// Not a test on its own: the flooder process entry point.
#[test]
fn flood_entry_point() -> Result<()> {
    let Ok(spec) = std::env::var(FLOOD_ENV) else {
        return Ok(());
    };
    let (count, seed) = spec.split_once(':').context("COUNT:SEED")?;
    flood(count.parse()?, seed.parse()?)
}

#[test]
fn random_mac_flood_is_limited_while_a_real_client_gets_a_lease() -> Result<()> {
    let mut lab = Lab::with_clients(2)?;
    let cfg = LabConfig::new(lab.path());
    let text = format!(
        "{}\n[server.rate_limit]\nper_mac = \"2/s\"\nper_link = \"{PER_LINK}/s\"\nglobal = \"5000/s\"\n",
        cfg.to_toml()
    );
    let path = lab.write_config("ratelimit.toml", &text)?;
    let server = lab.start_server_file(&path)?;
    let flooder = lab.client(0).clone();
    lab.add_client_addr(0, &format!("{FLOODER}/16"))?;

    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &flooder.ns])
        .arg(std::env::current_exe()?)
        .args([
            "--exact",
            "flood_entry_point",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(FLOOD_ENV, format!("{FLOOD}:{}", std::process::id()));
    let mut flood = Proc::spawn("flooder", lab.path(), &mut cmd)?;

    // Meanwhile a real client on the other namespace.
    lab.set_mac(1, "02:00:00:00:0f:01")?;
    let hook = lab.hook(1, "udhcpc", false)?;
    let bound = lab
        .udhcpc_once(1, &hook, "udhcpc-during-flood")
        .with_context(|| server.log())?;
    let ip = bound.ip().context("bound without ip")?;
    ensure!((POOL_START..=POOL_END).contains(&ip), "{ip}");

    let status = flood.wait_exit(DEADLINE)?;
    ensure!(
        status.success() && flood.output().contains(&format!("flood: {FLOOD} sent")),
        "flooder: {status}\n{}",
        flood.output()
    );
    // The flood shows up as rate_limited drops; only about PER_LINK offers per second of
    // flood went out (the flood lasts about 2-4 s here; allow generous slack).
    let limited = wait_until("rate_limited drops in /metrics", DEADLINE, || {
        let Some(m) = lab.http_get("/metrics")? else {
            return Ok(None);
        };
        let dropped = metric(&m, "hyperdhcp_drops_total{reason=\"rate_limited\"}").unwrap_or(0.0);
        let offers = metric(&m, "hyperdhcp_packets_sent_total{type=\"offer\"}").unwrap_or(0.0);
        Ok((dropped > 0.0).then_some((dropped, offers)))
    })?;
    let (dropped, offers) = limited;
    ensure!(
        dropped >= f64::from(FLOOD) * 0.8,
        "only {dropped} of {FLOOD} flood datagrams were rate limited"
    );
    ensure!(
        offers <= f64::from(PER_LINK * 15),
        "{offers} offers went out: the per-link limit did not hold"
    );
    Ok(())
}
