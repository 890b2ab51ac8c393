//! `hyperdhcp bench` against `hyperdhcp serve` in network namespaces: the warm-up binds a client
//! population before the measured run, renewals (RFC 2131 §4.4.5, RENEWING) then run against
//! it, and every request and reply crosses the veth pair as its own datagram although both
//! sides send UDP GSO groups (the generator its equal-length requests, the server its replies
//! to the relay address). The store afterwards holds every bound client, and each client's
//! history reads back offer, ack and renewals, with the offer and ack stored as one row.

mod common;

use std::collections::HashMap;

use anyhow::{Context, Result, ensure};
use common::*;
use hyperdhcp_engine::HwAddr;
use hyperdhcp_store::{HistoryKind, SqliteStore};

/// The generator's address in the client namespace (giaddr; the server replies there).
const GEN_IP: &str = "198.18.0.2";
/// The same with its prefix, put on the client interface.
const GEN_CIDR: &str = "198.18.0.2/16";
/// Clients bound by the warm-up.
const WARMUP: u64 = 500;
/// New DORAs per second in the measured second.
const DORA_RATE: u64 = 200;
/// Renewals per second in the measured second.
const RENEW_RATE: u64 = 2000;

#[test]
fn warmup_then_renewals_with_gso_on_both_sides() -> Result<()> {
    let mut lab = Lab::new()?;
    lab.add_client_addr(0, GEN_CIDR)?;
    let store = lab.path().join("leases.db");
    let mut cfg = LabConfig::new(lab.path());
    cfg.store = store.clone();
    cfg.pool = (
        std::net::Ipv4Addr::new(198, 18, 1, 0),
        std::net::Ipv4Addr::new(198, 18, 255, 254),
    );
    cfg.log_level = "info,hyperdhcp_server::logfmt=warn".to_string();
    // No conflict probing: every relayed OFFER would wait for an ICMP echo timeout.
    let text = format!("{}\n[conflict_detection]\nenabled = false\n", cfg.to_toml());
    let config = lab.write_config("bench.toml", &text)?;
    let _server = lab.start_server_file(&config)?;

    let mut cmd = Lab::cmd(&lab.client(0).ns, HYPERDHCP);
    cmd.args(["bench", "--local", GEN_IP, "--server"])
        .arg(SERVER_IP.to_string())
        .args(["--rate", &DORA_RATE.to_string()])
        .args(["--count", &DORA_RATE.to_string()])
        .args(["--renew-rate", &RENEW_RATE.to_string()])
        .args(["--duration", "1"])
        .args(["--clients", "2000"])
        .args(["--warmup-clients", &WARMUP.to_string()])
        .args(["--timeout-ms", "3000"])
        .arg("--json");
    let out = run_ok(&mut cmd)?;
    let report: serde_json::Value = serde_json::from_str(out.lines().last().unwrap_or_default())
        .with_context(|| format!("bench output is not JSON:\n{out}"))?;
    let num = |key: &str| report[key].as_u64().unwrap_or(0);
    ensure!(num("warmup_bound") == WARMUP, "warm-up: {report}");
    // Only the measured run is reported: its own DORAs, all answered.
    ensure!(
        num("sent") == DORA_RATE && num("completed") == DORA_RATE,
        "measured DORAs: {report}"
    );
    // Renewals start at once, against the warmed-up population.
    let renews = num("renews_sent");
    ensure!(renews >= RENEW_RATE * 9 / 10, "renewals sent: {report}");
    ensure!(
        num("renews_acked") == renews,
        "every renewal ACKed: {report}"
    );

    // The store: every client bound, each to its own address.
    let rows = leases(&store)?;
    let bound: Vec<_> = rows.iter().filter(|r| r.state == "bound").collect();
    ensure!(
        bound.len() as u64 == WARMUP + DORA_RATE,
        "{} bound leases, expected {}",
        bound.len(),
        WARMUP + DORA_RATE
    );
    let mut by_mac = HashMap::new();
    for r in &bound {
        ensure!(
            by_mac.insert(r.mac.clone(), r.ip).is_none(),
            "{} holds two addresses",
            r.mac
        );
    }

    // Client 0 (MAC 02:00:00:00:00:00) was bound in the warm-up and renewed since: its history
    // reads offer, ack, renew..., the offer re-created from the ack's row.
    let ro = SqliteStore::open_read_only(&store)?;
    let events = ro.history_for_hwaddr(&HwAddr::ethernet([2, 0, 0, 0, 0, 0]))?;
    let kinds: Vec<HistoryKind> = events.iter().map(|e| e.kind).collect();
    ensure!(
        kinds.len() >= 3
            && kinds[..2] == [HistoryKind::Offer, HistoryKind::Ack]
            && kinds[2..].iter().all(|k| *k == HistoryKind::Renew),
        "history of client 0: {kinds:?}"
    );
    Ok(())
}
