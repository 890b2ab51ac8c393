//! Metrics end to end: after known traffic — a fixed number of DISCOVERs and of too-short
//! datagrams from a sender in the client namespace, then one real client (udhcpc) — the
//! counters scraped from `/metrics` match what was sent; `/healthz` and `/readyz` answer.
//!
//! The sender is this test binary itself, re-run inside the client namespace with
//! `ip netns exec NS <test binary> --exact metrics_sender_entry_point` and [`SENDER_ENV`]
//! set; without that variable the entry point does nothing.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use common::*;
use hyperdhcp_wire::{FLAG_BROADCAST, MessageBuilder, MessageType};

/// Environment variable that turns [`metrics_sender_entry_point`] into the sender; its value
/// is `DISCOVERS:GARBAGE`.
const SENDER_ENV: &str = "HD_E2E_METRICS_SENDER";
/// DISCOVERs sent, each from its own MAC (each gets an OFFER).
const DISCOVERS: u32 = 25;
/// Datagrams shorter than a BOOTP header (counted as `too_short` drops).
const GARBAGE: u32 = 7;
/// The sender's static address (the server's subnet, outside its pool).
const SENDER_CIDR: &str = "198.18.0.4/16";
/// DHCP server port (RFC 2131 §4.1).
const SERVER_PORT: u16 = 67;
/// DHCP client port.
const CLIENT_PORT: u16 = 68;

/// Not a test on its own: the sender process entry point (see the module doc).
#[test]
fn metrics_sender_entry_point() -> Result<()> {
    let Ok(spec) = std::env::var(SENDER_ENV) else {
        return Ok(());
    };
    let (discovers, garbage) = spec.split_once(':').context("DISCOVERS:GARBAGE")?;
    let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT))?;
    let server = SocketAddrV4::new(SERVER_IP, SERVER_PORT);
    for i in 0..discovers.parse::<u32>()? {
        let [_, _, hi, lo] = i.to_be_bytes();
        let mac = [2, 0, 0, 0x07, hi, lo];
        let mut b = MessageBuilder::request(MessageType::Discover, 0x7000 + i, &mac);
        b.set_flags(FLAG_BROADCAST);
        socket.send_to(&b.finish(), server)?;
    }
    for _ in 0..garbage.parse::<u32>()? {
        socket.send_to(&[1, 2, 3], server)?;
    }
    println!("metrics sender: done");
    Ok(())
}

#[test]
fn metrics_match_the_traffic() -> Result<()> {
    let mut lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path());
    let mut server = lab.start_server(&cfg)?;
    ensure!(
        lab.http_get("/healthz")?.as_deref() == Some("ok\n"),
        "healthz"
    );
    wait_until("/readyz", DEADLINE, || {
        Ok(lab.http_get("/readyz")?.filter(|b| b == "ready\n"))
    })?;
    ensure!(lab.http_get("/nope")?.is_none(), "unknown path must fail");

    let c = lab.client(0).clone();
    lab.add_client_addr(0, SENDER_CIDR)?;
    let exe = std::env::current_exe()?;
    let out = run_output(
        Command::new("ip")
            .args(["netns", "exec", &c.ns])
            .arg(exe)
            .args([
                "--exact",
                "metrics_sender_entry_point",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SENDER_ENV, format!("{DISCOVERS}:{GARBAGE}")),
    )?;
    let sender = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        out.status.success() && sender.contains("metrics sender: done"),
        "sender failed: {sender}"
    );

    let discovers = f64::from(DISCOVERS);
    let text = wait_until("the counters to match the traffic", DEADLINE, || {
        Ok(lab.http_get("/metrics")?.filter(|m| {
            metric(m, "hyperdhcp_packets_sent_total{type=\"offer\"}") == Some(discovers)
                && metric(m, "hyperdhcp_drops_total{reason=\"too_short\"}")
                    == Some(f64::from(GARBAGE))
        }))
    })
    .with_context(|| lab.http_get("/metrics").ok().flatten().unwrap_or_default())?;
    for (series, want) in [
        (
            "hyperdhcp_packets_received_total{type=\"discover\"}",
            discovers,
        ),
        (
            "hyperdhcp_packets_received_total{type=\"unknown\"}",
            f64::from(GARBAGE),
        ),
        ("hyperdhcp_packets_received_total{type=\"request\"}", 0.0),
        ("hyperdhcp_packets_sent_total{type=\"ack\"}", 0.0),
        ("hyperdhcp_allocation_failures_total", 0.0),
        (
            "hyperdhcp_drops_total{reason=\"kernel_receive_buffer\"}",
            0.0,
        ),
        ("hyperdhcp_events_dropped_total{stage=\"bus\"}", 0.0),
        ("hyperdhcp_request_duration_seconds_count", discovers),
    ] {
        ensure!(
            metric(&text, series) == Some(want),
            "{series} != {want}:\n{text}"
        );
    }

    // One real client: DISCOVER/OFFER/REQUEST/ACK and a commit.
    let hook = lab.hook(0, "udhcpc", false)?;
    lab.exec(&c.ns, "ip", &["-4", "addr", "flush", "dev", &c.ifname])?;
    lab.set_mac(0, "02:00:00:00:07:ff")?;
    let bound = lab.udhcpc_once(0, &hook, "udhcpc-metrics")?;
    bound.ip().context("bound without ip")?;
    let pool = format!("{POOL_START}-{POOL_END}");
    let active = format!("hyperdhcp_leases_active{{subnet=\"{SUBNET}\",pool=\"{pool}\"}}");
    let size = format!("hyperdhcp_pool_size{{subnet=\"{SUBNET}\",pool=\"{pool}\"}}");
    // The pool snapshot is refreshed every few seconds: the offers plus the bound lease.
    let text = wait_until("the pool gauges and the ACK", DEADLINE, || {
        Ok(lab.http_get("/metrics")?.filter(|m| {
            metric(m, &active).is_some_and(|v| v >= discovers + 1.0)
                && metric(m, "hyperdhcp_packets_sent_total{type=\"ack\"}") == Some(1.0)
        }))
    })
    .with_context(|| lab.http_get("/metrics").ok().flatten().unwrap_or_default())?;
    let pool_size = f64::from(u32::from(POOL_END) - u32::from(POOL_START) + 1);
    ensure!(metric(&text, &size) == Some(pool_size), "{size}:\n{text}");
    ensure!(
        metric(&text, "hyperdhcp_packets_received_total{type=\"request\"}") == Some(1.0),
        "{text}"
    );
    ensure!(
        metric(&text, "hyperdhcp_store_commit_duration_seconds_count").is_some_and(|v| v >= 1.0),
        "{text}"
    );
    ensure!(
        metric(&text, "hyperdhcp_store_commit_batch_size_count").is_some_and(|v| v >= 1.0),
        "{text}"
    );
    ensure!(
        text.contains("hyperdhcp_probe_results_total{method=\"arp\",result=\"conflict\"} 0"),
        "{text}"
    );
    ensure!(text.trim_end().ends_with("# EOF"), "{text}");
    ensure!(server.is_running()?, "{}", server.log());
    Ok(())
}
