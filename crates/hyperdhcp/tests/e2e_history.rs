//! Lease history end to end: an address changes hands (client A binds and releases it, client
//! B then gets the same address from a one-address pool) and `hyperdhcp leases history`
//! answers who had it, by address, by address at a time, and by MAC.

mod common;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use common::*;

/// The only address of the pool, so the second client must get the first one's address.
const ONLY_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 7);
/// Client A.
const MAC_A: &str = "02:00:00:00:07:0a";
/// Client B.
const MAC_B: &str = "02:00:00:00:07:0b";

/// `hyperdhcp leases history --store STORE ARGS... --json`, parsed.
fn history(store: &std::path::Path, args: &[&str]) -> Result<Vec<serde_json::Value>> {
    let out = run_ok(
        Command::new(HYPERDHCP)
            .args(["leases", "history", "--json", "--store"])
            .arg(store)
            .args(args),
    )?;
    let v: serde_json::Value =
        serde_json::from_str(&out).with_context(|| format!("history output: {out}"))?;
    v.as_array()
        .cloned()
        .with_context(|| format!("history output is not an array: {out}"))
}

/// `(event, mac)` of each row.
fn events(rows: &[serde_json::Value]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                r["event"].as_str().unwrap_or_default().to_string(),
                r["mac"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Waits until the wall clock has moved to the next whole second.
fn next_second() -> Result<()> {
    let secs = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let start = secs();
    wait_until("the clock to pass a second", Duration::from_secs(3), || {
        Ok((secs() > start).then_some(()))
    })
}

#[test]
fn history_tells_who_had_an_address_that_changed_hands() -> Result<()> {
    let mut lab = Lab::new()?;
    let mut cfg = LabConfig::new(lab.path());
    cfg.pool = (ONLY_IP, ONLY_IP);
    let _server = lab.start_server(&cfg)?;
    let hook = lab.hook(0, "udhcpc", true)?;

    // A: bind, then SIGTERM with -R sends DHCPRELEASE.
    lab.set_mac(0, MAC_A)?;
    let mut a = lab.udhcpc(0, &hook, &["-R", "-t", "5", "-T", "2"], "udhcpc-a")?;
    let bound = hook
        .wait_event(&["bound"], 0, DEADLINE)
        .with_context(|| a.output())?;
    ensure!(bound.ip() == Some(ONLY_IP), "A got {:?}", bound.ip());
    // History has one-second resolution: keep A's ack, A's release and B's ack in different
    // seconds so `--at` can tell them apart.
    next_second()?;
    a.signal("TERM")?;
    a.wait_exit(DEADLINE)?;
    wait_lease(&cfg.store, ONLY_IP, "released by A", |l| {
        l.state == "released" && l.mac == MAC_A
    })?;

    next_second()?;
    // B gets the same (only) address.
    lab.set_mac(0, MAC_B)?;
    let bound = lab.udhcpc_once(0, &hook, "udhcpc-b")?;
    ensure!(bound.ip() == Some(ONLY_IP), "B got {:?}", bound.ip());
    wait_lease(&cfg.store, ONLY_IP, "bound to B", |l| {
        l.state == "bound" && l.mac == MAC_B
    })?;

    // By address: A's ack and release, then B's ack, in time order (offers may be listed
    // too; B's offer may still be waiting for a commit to ride along with).
    let ip = ONLY_IP.to_string();
    let rows = history(&cfg.store, &["--ip", &ip])?;
    let binds: Vec<_> = events(&rows)
        .into_iter()
        .filter(|(e, _)| e != "offer")
        .collect();
    let want = [("ack", MAC_A), ("release", MAC_A), ("ack", MAC_B)]
        .map(|(e, m)| (e.to_string(), m.to_string()));
    ensure!(binds == want, "history of {ip}: {binds:?}\n{rows:#?}");
    ensure!(
        rows.iter().all(|r| r["ip"] == ip.as_str()),
        "rows of another address: {rows:#?}"
    );

    // Who has it now: B.
    let now = history(&cfg.store, &["--ip", &ip, "--at", "now"])?;
    ensure!(
        events(&now) == [("ack".to_string(), MAC_B.to_string())],
        "holder now: {now:#?}"
    );
    // Who had it when A was bound: A (the time of A's ack row).
    let a_ack = rows
        .iter()
        .find(|r| r["event"] == "ack" && r["mac"] == MAC_A)
        .and_then(|r| r["time"].as_str())
        .context("A's ack time")?
        .to_string();
    let then = history(&cfg.store, &["--ip", &ip, "--at", &a_ack])?;
    ensure!(
        events(&then) == [("ack".to_string(), MAC_A.to_string())],
        "holder at {a_ack}: {then:#?}"
    );

    // By MAC: only A's rows.
    let by_mac = history(&cfg.store, &["--mac", MAC_A])?;
    ensure!(
        !by_mac.is_empty() && by_mac.iter().all(|r| r["mac"] == MAC_A),
        "history of {MAC_A}: {by_mac:#?}"
    );

    // The table form names both clients.
    let table = run_ok(
        Command::new(HYPERDHCP)
            .args(["leases", "history", "--store"])
            .arg(&cfg.store)
            .args(["--ip", &ip]),
    )?;
    ensure!(
        table.starts_with("TIME") && table.contains(MAC_A) && table.contains(MAC_B),
        "{table}"
    );
    Ok(())
}
