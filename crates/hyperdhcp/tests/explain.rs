//! `hyperdhcp explain` as a user runs it: several requests against one configuration, the
//! printed subnet, pool, classes, reservation, result and option sources checked. No packets.

use std::process::Command;

use anyhow::{Context, Result, ensure};

/// The binary under test.
const HYPERDHCP: &str = env!("CARGO_BIN_EXE_hyperdhcp");

/// A local subnet with a MAC reservation, a relayed subnet with a circuit-id reservation, PXE
/// classes and a class overriding DNS.
const CONFIG: &str = r#"
[server]
interfaces = ["lan0"]

[store]
path = "/nonexistent/explain/leases.db"

[[subnet]]
cidr = "198.18.0.0/16"
routers = ["198.18.0.1"]
dns_servers = ["198.18.0.53"]
domain_name = "lab.test"
ntp_servers = ["198.18.0.123"]

[[subnet.pool]]
start = "198.18.1.0"
end = "198.18.1.255"

[[subnet.reservation]]
mac = "02:00:00:00:00:aa"
ip = "198.18.0.50"
hostname = "printer"
dns_servers = ["198.18.0.54"]

[[subnet]]
cidr = "198.19.0.0/24"
routers = ["198.19.0.1"]
classless_routes = [{ destination = "198.19.5.0/24", gateway = "198.19.0.1" }]

[[subnet.pool]]
start = "198.19.0.100"
end = "198.19.0.150"

[[subnet.reservation]]
circuit_id = "port7"
ip = "198.19.0.42"

[[subnet.reservation]]
subscriber_id = "sub1"
ip = "198.19.0.43"

[[class]]
name = "uefi"
match = { vendor_class = "PXEClient*", client_arch = 7 }
next_server = "198.18.0.1"
boot_file = "ipxe.efi"

[[class]]
name = "lab-phones"
match = { mac_prefix = "02:00:5e" }
dns_servers = ["198.18.0.99"]
"#;

/// Runs `hyperdhcp explain --config CONFIG ARGS...` and returns stdout.
fn explain(args: &[&str]) -> Result<String> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("explain.toml");
    std::fs::write(&config, CONFIG)?;
    let out = Command::new(HYPERDHCP)
        .arg("explain")
        .arg("--config")
        .arg(&config)
        .args(args)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    ensure!(
        out.status.success(),
        "explain {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(stdout)
}

/// The line of the options table for `code` (`   6 dns-servers ...`).
fn option_line(out: &str, code: u8) -> Option<&str> {
    out.lines()
        .find(|l| l.trim_start().starts_with(&format!("{code} ")))
}

#[test]
fn plain_client_gets_a_pool_address_and_subnet_options() -> Result<()> {
    let out = explain(&["--mac", "02:00:00:00:01:01", "--option", "55=1,3,6,15"])?;
    for want in [
        "subnet:       198.18.0.0/16 (selected by interface)",
        "pool:         198.18.1.0-198.18.1.255",
        "classes:      none",
        "reservation:  none",
        "result:       OFFER 198.18.1.0",
    ] {
        ensure!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let dns = option_line(&out, 6).context("no option 6")?;
    ensure!(
        dns.contains("198.18.0.53") && dns.ends_with("from subnet"),
        "{dns}"
    );
    // NTP (42) is configured but not requested and not always sent.
    ensure!(
        option_line(&out, 42).is_none(),
        "unrequested ntp sent:\n{out}"
    );
    Ok(())
}

#[test]
fn reservation_overrides_subnet_options() -> Result<()> {
    let out = explain(&["--mac", "02:00:00:00:00:aa", "--option", "55=1,3,6,12"])?;
    ensure!(
        out.contains("reservation:  198.18.0.50 (matched on mac)"),
        "{out}"
    );
    ensure!(out.contains("result:       OFFER 198.18.0.50"), "{out}");
    let dns = option_line(&out, 6).context("no option 6")?;
    ensure!(
        dns.contains("198.18.0.54") && dns.ends_with("from reservation"),
        "{dns}"
    );
    let host = option_line(&out, 12).context("no option 12")?;
    ensure!(host.contains("\"printer\""), "{host}");
    Ok(())
}

#[test]
fn pxe_client_matches_its_class_and_gets_the_boot_file() -> Result<()> {
    let out = explain(&[
        "--mac",
        "02:00:00:00:01:07",
        "--option",
        "60=PXEClient:Arch:00007:UNDI:003016",
        "--option",
        "93=7",
        "--option",
        "55=1,3,66,67",
    ])?;
    for want in [
        "classes:      uefi",
        "next-server:  198.18.0.1",
        "boot-file:    ipxe.efi",
    ] {
        ensure!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let file = option_line(&out, 67).context("no option 67")?;
    ensure!(file.ends_with("from class uefi"), "{file}");
    // Architecture 0 is not this class.
    let bios = explain(&[
        "--mac",
        "02:00:00:00:01:08",
        "--option",
        "60=PXEClient",
        "--option",
        "93=0",
    ])?;
    ensure!(
        bios.contains("classes:      none") && !bios.contains("boot-file"),
        "{bios}"
    );
    Ok(())
}

#[test]
fn relayed_requests_and_circuit_id_reservation() -> Result<()> {
    // giaddr selects the relayed subnet; option 121 comes from it.
    let out = explain(&[
        "--mac",
        "02:00:00:00:02:01",
        "--giaddr",
        "198.19.0.1",
        "--option",
        "55=1,3,121",
    ])?;
    ensure!(out.contains("198.19.0.0/24 (selected by giaddr)"), "{out}");
    ensure!(
        out.contains("pool:         198.19.0.100-198.19.0.150"),
        "{out}"
    );
    let routes = option_line(&out, 121).context("no option 121")?;
    ensure!(routes.contains("198.19.5.0/24 via 198.19.0.1"), "{routes}");
    // Option 82 with circuit-id "port7" (sub-option 1): the reservation.
    let hex_port7 = "01:05:70:6f:72:74:37";
    let out = explain(&[
        "--mac",
        "02:00:00:00:02:02",
        "--giaddr",
        "198.19.0.1",
        "--option",
        &format!("82={hex_port7}"),
    ])?;
    ensure!(
        out.contains("reservation:  198.19.0.42 (matched on circuit_id)"),
        "{out}"
    );
    let rai = option_line(&out, 82).context("option 82 not echoed")?;
    ensure!(rai.ends_with("from relay agent (echoed)"), "{rai}");
    // Subscriber-id "sub1" (RFC 3993, sub-option 6): its reservation, named as such.
    let out = explain(&[
        "--mac",
        "02:00:00:00:02:06",
        "--giaddr",
        "198.19.0.1",
        "--option",
        "82=06:04:73:75:62:31",
    ])?;
    ensure!(
        out.contains("reservation:  198.19.0.43 (matched on subscriber_id)"),
        "{out}"
    );
    // Option 118 (RFC 3011) beats the interface.
    let out = explain(&["--mac", "02:00:00:00:02:03", "--option", "118=198.19.0.0"])?;
    ensure!(
        out.contains("198.19.0.0/24 (selected by option 118)"),
        "{out}"
    );
    // A relay from an unknown network: no subnet, no reply.
    let out = explain(&["--mac", "02:00:00:00:02:04", "--giaddr", "198.18.200.1"])?;
    ensure!(out.contains("198.18.0.0/16 (selected by giaddr)"), "{out}");
    let out = explain(&["--mac", "02:00:00:00:02:05", "--giaddr", "198.19.9.1"])?;
    ensure!(out.contains("result:       no reply (no_subnet)"), "{out}");
    Ok(())
}

#[test]
fn json_output_has_the_same_facts() -> Result<()> {
    let out = explain(&["--mac", "02:00:5e:00:00:01", "--option", "55=6", "--json"])?;
    let v: serde_json::Value = serde_json::from_str(&out).with_context(|| out.clone())?;
    ensure!(v["classes"] == serde_json::json!(["lab-phones"]), "{v:#}");
    ensure!(v["offered"] == "198.18.1.0", "{v:#}");
    let dns = v["options"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["code"] == 6))
        .context("no option 6")?;
    ensure!(
        dns["value"] == "198.18.0.99" && dns["source"] == "class lab-phones",
        "{dns:#}"
    );
    Ok(())
}

#[test]
fn store_leases_are_taken_into_account() -> Result<()> {
    use hyperdhcp_engine::{HwAddr, Lease, LeaseChange, LeaseState};
    use hyperdhcp_store::{LeaseStore, SqliteStore};

    let dir = tempfile::tempdir()?;
    let store = dir.path().join("leases.db");
    let mut s = SqliteStore::open(&store)?;
    let lease = |ip: &str, mac: [u8; 6]| Lease {
        ip: ip.parse().expect("ip"),
        hwaddr: HwAddr::ethernet(mac),
        client_id: None,
        hostname: None,
        fqdn: None,
        state: LeaseState::Bound,
        starts: 1,
        ends: u64::MAX,
    };
    s.commit(&[
        // The client's own earlier address, and someone else's at the pool start.
        LeaseChange::Upsert(lease("198.18.1.5", [2, 0, 0, 0, 3, 1])),
        LeaseChange::Upsert(lease("198.18.1.0", [2, 0, 0, 0, 3, 9])),
    ])?;
    drop(s);
    let store = store.display().to_string();
    let out = explain(&["--mac", "02:00:00:00:03:01", "--store", &store])?;
    ensure!(out.contains("result:       OFFER 198.18.1.5"), "{out}");
    let out = explain(&["--mac", "02:00:00:00:03:02", "--store", &store])?;
    ensure!(out.contains("result:       OFFER 198.18.1.1"), "{out}");
    Ok(())
}
