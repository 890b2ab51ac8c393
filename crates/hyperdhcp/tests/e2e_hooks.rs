//! Hooks end to end: a script hook records what it got for a real client's lease (udhcpc);
//! a hanging script is killed at its timeout while DHCP keeps serving; a webhook receiver in
//! the server namespace checks payload, event header and HMAC signature, answers 500 first and
//! sees the retry.
//!
//! The webhook receiver must listen on the server namespace's loopback (the server's
//! 127.0.0.1), so it is this test binary itself, re-run there with
//! `ip netns exec NS <test binary> --exact webhook_receiver_entry_point` and [`RECEIVER_ENV`]
//! set; without that variable the entry point does nothing.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use common::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Environment variable that turns [`webhook_receiver_entry_point`] into the receiver; its
/// value is `PORT:OUTPUT_FILE`.
const RECEIVER_ENV: &str = "HD_E2E_WEBHOOK_RECEIVER";
/// The receiver's port on the server namespace's loopback.
const RECEIVER_PORT: u16 = 18080;
/// Requests the receiver serves before it exits (bounded).
const RECEIVER_MAX_REQUESTS: usize = 8;
/// How long the receiver waits for requests at most.
const RECEIVER_LIFETIME: Duration = Duration::from_secs(60);
/// The webhook's HMAC key (must never show up in the server log).
const WEBHOOK_SECRET: &str = "e2e-hmac-key-0123";
/// A token in the webhook URL's query (must never show up in the server log either).
const URL_TOKEN: &str = "e2e-url-token-4567";
/// Host name the udhcpc client sends (option 12).
const CLIENT_HOSTNAME: &str = "hookhost";

/// The script hook: writes its `HYPERDHCP_*` environment and stdin to `$1/<event>.<pid>.*`.
const RECORD_SCRIPT: &str = r#"#!/bin/sh
# hyperdhcp e2e: record one hook run (environment, then stdin)
out="$1/$HYPERDHCP_EVENT.$$"
env | grep '^HYPERDHCP_' | sort > "$out.env.tmp"
cat > "$out.json"
mv "$out.env.tmp" "$out.env"
"#;

/// A script that never ends on its own; its child keeps stderr open, so only killing the
/// process group ends the run. Records the child's PID.
const HANGING_SCRIPT: &str = r#"#!/bin/sh
# hyperdhcp e2e: a hook that hangs
sleep 300 &
echo $! >> "$1/children"
wait
"#;

fn write_script(path: &Path, body: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Runs udhcpc once in client `i` with `extra` arguments; returns the bound address.
fn udhcpc_lease(lab: &Lab, i: usize, extra: &[&str], label: &str) -> Result<Ipv4Addr> {
    let hook = lab.hook(i, label, false)?;
    let mut args = vec!["-n", "-q", "-t", "5", "-T", "2"];
    args.extend_from_slice(extra);
    let mut p = lab.udhcpc(i, &hook, &args, label)?;
    let status = p.wait_exit(DEADLINE)?;
    ensure!(status.success(), "udhcpc failed: {status}\n{}", p.output());
    hook.events()
        .into_iter()
        .find(|e| e.event() == "bound")
        .and_then(|e| e.ip())
        .ok_or_else(|| anyhow!("udhcpc exited without a bound event\n{}", p.output()))
}

/// The `(env, json)` of the first recorded run of `event` in `dir`.
fn wait_record(dir: &Path, event: &str) -> Result<(BTreeMap<String, String>, serde_json::Value)> {
    let prefix = format!("{event}.");
    let env_path = wait_until(&format!("the hook to record {event}"), DEADLINE, || {
        Ok(std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".env"))
            }))
    })?;
    let env = std::fs::read_to_string(&env_path)?
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let json_path = env_path.with_extension("json");
    let json = serde_json::from_str(&std::fs::read_to_string(&json_path)?)
        .with_context(|| format!("{} is not JSON", json_path.display()))?;
    Ok((env, json))
}

#[test]
fn script_hook_records_a_real_lease() -> Result<()> {
    let mut lab = Lab::new()?;
    let records = lab.path().join("records");
    std::fs::create_dir(&records)?;
    let script = lab.path().join("record.sh");
    write_script(&script, RECORD_SCRIPT)?;
    let cfg = LabConfig::new(lab.path());
    let text = format!(
        "{}\n[[hooks.script]]\ncommand = \"{}\"\nargs = [\"{}\"]\nevents = [\"lease.*\"]\ntimeout = \"10s\"\n",
        cfg.to_toml(),
        script.display(),
        records.display()
    );
    let path = lab.write_config("hooks.toml", &text)?;
    let mut server = lab.start_server_file(&path)?;
    let mac = "02:00:00:00:06:11";
    lab.set_mac(0, mac)?;

    // A long-running client (-R: DHCPRELEASE when terminated) that configures its address.
    let hook = lab.hook(0, "udhcpc", true)?;
    let hostname_opt = format!("hostname:{CLIENT_HOSTNAME}");
    let mut client = lab.udhcpc(
        0,
        &hook,
        &["-R", "-t", "5", "-T", "2", "-x", &hostname_opt],
        "udhcpc-hook",
    )?;
    let bound = hook
        .wait_event(&["bound"], 0, DEADLINE)
        .with_context(|| client.output())?;
    let ip = bound.ip().context("bound without ip")?;
    let (env, json) = wait_record(&records, "lease.ack")?;
    let get = |k: &str| env.get(k).map(String::as_str).unwrap_or("");
    ensure!(get("HYPERDHCP_EVENT") == "lease.ack", "{env:#?}");
    ensure!(get("HYPERDHCP_IP") == ip.to_string(), "{env:#?}");
    ensure!(get("HYPERDHCP_MAC") == mac, "{env:#?}");
    ensure!(get("HYPERDHCP_HOSTNAME") == CLIENT_HOSTNAME, "{env:#?}");
    ensure!(get("HYPERDHCP_SUBNET") == SUBNET, "{env:#?}");
    ensure!(get("HYPERDHCP_INTERFACE") == SERVER_IF, "{env:#?}");
    ensure!(get("HYPERDHCP_STATE") == "bound", "{env:#?}");
    // udhcpc sends option 61 = type 1 + its MAC.
    ensure!(
        get("HYPERDHCP_CLIENT_ID") == format!("01:{mac}"),
        "{env:#?}"
    );
    let start: u64 = get("HYPERDHCP_LEASE_START").parse()?;
    let end: u64 = get("HYPERDHCP_LEASE_END").parse()?;
    ensure!(end - start == 3600, "1h lease: {env:#?}");
    // Only the HYPERDHCP_* variables (plus PATH) reach the script: nothing else leaks.
    ensure!(!env.contains_key("HYPERDHCP_SECRET"), "{env:#?}");
    ensure!(json["event"] == "lease.ack", "{json}");
    ensure!(json["ip"] == ip.to_string(), "{json}");
    ensure!(json["mac"] == mac, "{json}");
    ensure!(json["hostname"] == CLIENT_HOSTNAME, "{json}");
    ensure!(json["lease_end"] == end, "{json}");
    ensure!(json["subnet"] == SUBNET, "{json}");
    // The offer came first, as its own event.
    let (offer_env, _) = wait_record(&records, "lease.offer")?;
    ensure!(
        offer_env.get("HYPERDHCP_IP").map(String::as_str) == Some(&ip.to_string()),
        "{offer_env:#?}"
    );

    // SIGUSR1: renew now (RENEWING, RFC 2131 §4.3.2) → lease.renew.
    let seen = hook.events().len();
    client.signal("USR1")?;
    hook.wait_event(&["renew", "bound", "deconfig", "nak"], seen, DEADLINE)
        .with_context(|| client.output())?;
    let (renew, _) = wait_record(&records, "lease.renew").with_context(|| server.log())?;
    ensure!(
        renew.get("HYPERDHCP_IP").map(String::as_str) == Some(&ip.to_string()),
        "{renew:#?}"
    );
    // SIGTERM with -R: DHCPRELEASE → lease.release for the same address.
    client.signal("TERM")?;
    client.wait_exit(DEADLINE)?;
    let (rel, rel_json) = wait_record(&records, "lease.release").with_context(|| server.log())?;
    ensure!(
        rel.get("HYPERDHCP_IP").map(String::as_str) == Some(&ip.to_string()),
        "{rel:#?}"
    );
    ensure!(rel_json["state"] == "released", "{rel_json}");
    ensure!(server.is_running()?, "{}", server.log());
    Ok(())
}

#[test]
fn hanging_script_is_killed_while_dhcp_keeps_serving() -> Result<()> {
    let mut lab = Lab::new()?;
    let script = lab.path().join("hang.sh");
    write_script(&script, HANGING_SCRIPT)?;
    let cfg = LabConfig::new(lab.path());
    let text = format!(
        "{}\n[events]\nscript_workers = 1\n\n[[hooks.script]]\ncommand = \"{}\"\nargs = [\"{}\"]\nevents = [\"lease.ack\"]\ntimeout = \"2s\"\n",
        cfg.to_toml(),
        script.display(),
        lab.path().display()
    );
    let path = lab.write_config("hang.toml", &text)?;
    let mut server = lab.start_server_file(&path)?;
    lab.set_mac(0, "02:00:00:00:06:21")?;
    let t0 = Instant::now();
    let first = udhcpc_lease(&lab, 0, &[], "udhcpc-hang-1")?;
    // The one script slot is now taken by a hanging run: DHCP must not care.
    lab.exec(
        &lab.client(0).ns.clone(),
        "ip",
        &["-4", "addr", "flush", "dev", &lab.client(0).ifname.clone()],
    )?;
    lab.set_mac(0, "02:00:00:00:06:22")?;
    let second = udhcpc_lease(&lab, 0, &[], "udhcpc-hang-2")?;
    ensure!(
        first != second,
        "two clients, two addresses: {first} {second}"
    );
    ensure!(
        t0.elapsed() < Duration::from_secs(15),
        "leases took {:?} while a hook hung",
        t0.elapsed()
    );
    server.wait_log("timed out after 2s and was killed", 0, DEADLINE)?;
    // The script's own child died with its process group.
    let children = lab.path().join("children");
    let pid = wait_until("the hanging script to record its child", DEADLINE, || {
        Ok(read_lossy(&children).lines().next().map(str::to_owned))
    })?;
    wait_until(
        &format!("the hook's child {pid} to be killed"),
        DEADLINE,
        || {
            let stat = read_lossy(Path::new(&format!("/proc/{}/stat", pid.trim())));
            Ok((stat.is_empty() || stat.contains(") Z")).then_some(()))
        },
    )?;
    let metrics = wait_until("hook timeouts in /metrics", DEADLINE, || {
        Ok(lab.http_get("/metrics")?.filter(|m| {
            metric(m, "hyperdhcp_hook_timeouts_total{kind=\"script\"}").is_some_and(|v| v >= 1.0)
        }))
    })?;
    ensure!(
        metric(&metrics, "hyperdhcp_hook_failures_total{kind=\"script\"}")
            .is_some_and(|v| v >= 1.0),
        "{metrics}"
    );
    ensure!(server.is_running()?, "{}", server.log());
    Ok(())
}

// === webhook ===

/// One request the receiver got.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Received {
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// Not a test on its own: the webhook receiver entry point (see the module doc). Answers the
/// first request with 500 and later ones with 200, appending each to the output file.
#[test]
fn webhook_receiver_entry_point() -> Result<()> {
    let Ok(spec) = std::env::var(RECEIVER_ENV) else {
        return Ok(());
    };
    let (port, out) = spec.split_once(':').context("PORT:FILE")?;
    let listener = TcpListener::bind(("127.0.0.1", port.parse::<u16>()?))?;
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + RECEIVER_LIFETIME;
    let mut served = 0;
    while served < RECEIVER_MAX_REQUESTS && Instant::now() < deadline {
        let (stream, _) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let mut headers = BTreeMap::new();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        let status = if served == 0 {
            "500 Internal Server Error"
        } else {
            "200 OK"
        };
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )?;
        stream.flush()?;
        let record = Received {
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(out)?;
        writeln!(f, "{}", serde_json::to_string(&record)?)?;
        served += 1;
    }
    Ok(())
}

#[test]
fn webhook_is_signed_and_retried() -> Result<()> {
    let mut lab = Lab::new()?;
    let out = lab.path().join("webhook.jsonl");
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &lab.srv_ns])
        .arg(exe)
        .args([
            "--exact",
            "webhook_receiver_entry_point",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(RECEIVER_ENV, format!("{RECEIVER_PORT}:{}", out.display()));
    let mut receiver = Proc::spawn("webhook-receiver", lab.path(), &mut cmd)?;
    let port_filter = format!("sport = :{RECEIVER_PORT}");
    let srv = lab.srv_ns.clone();
    wait_until("the webhook receiver to listen", DEADLINE, || {
        ensure!(
            receiver.is_running()?,
            "receiver exited: {}",
            receiver.output()
        );
        let ss = run_ok(Lab::cmd(&srv, "ss").args(["-H", "-t", "-l", "-n", &port_filter]))?;
        Ok((!ss.trim().is_empty()).then_some(()))
    })?;

    let cfg = LabConfig::new(lab.path());
    let text = format!(
        "{}\n[[hooks.webhook]]\nurl = \"http://127.0.0.1:{RECEIVER_PORT}/hook?token={URL_TOKEN}\"\nevents = [\"lease.ack\"]\nsecret = \"{WEBHOOK_SECRET}\"\ntimeout = \"5s\"\nretries = 2\n",
        cfg.to_toml()
    );
    let path = lab.write_config("webhook.toml", &text)?;
    let mut server = lab.start_server_file(&path)?;
    let mac = "02:00:00:00:06:31";
    lab.set_mac(0, mac)?;
    let ip = udhcpc_lease(&lab, 0, &[], "udhcpc-webhook")?;

    let got: Vec<Received> = wait_until("the webhook and its retry", DEADLINE, || {
        let recs: Vec<Received> = read_lossy(&out)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        Ok((recs.len() >= 2).then_some(recs))
    })?;
    for (i, r) in got.iter().take(2).enumerate() {
        ensure!(
            r.path == format!("/hook?token={URL_TOKEN}"),
            "request {i}: {r:#?}"
        );
        ensure!(
            r.headers.get("x-hyperdhcp-event").map(String::as_str) == Some("lease.ack"),
            "request {i}: {r:#?}"
        );
        let mut mac_check = <Hmac<Sha256> as Mac>::new_from_slice(WEBHOOK_SECRET.as_bytes())?;
        mac_check.update(r.body.as_bytes());
        let want: String = mac_check
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        ensure!(
            r.headers.get("x-hyperdhcp-signature") == Some(&format!("sha256={want}")),
            "request {i}: bad signature {r:#?}"
        );
        let body: serde_json::Value = serde_json::from_str(&r.body)?;
        ensure!(body["event"] == "lease.ack", "{body}");
        ensure!(body["ip"] == ip.to_string(), "{body}");
        ensure!(body["mac"] == mac, "{body}");
    }
    ensure!(
        got[0].body == got[1].body,
        "the retry resends the same event"
    );
    let metrics = wait_until("webhook counters in /metrics", DEADLINE, || {
        Ok(lab.http_get("/metrics")?.filter(|m| {
            metric(
                m,
                "hyperdhcp_hook_runs_total{kind=\"webhook\",result=\"ok\"}",
            ) == Some(1.0)
        }))
    })?;
    ensure!(
        metric(&metrics, "hyperdhcp_webhook_retries_total") == Some(1.0),
        "{metrics}"
    );
    // Secrets never reach the log.
    let log = server.log();
    ensure!(!log.contains(WEBHOOK_SECRET), "HMAC key in the log:\n{log}");
    ensure!(!log.contains(URL_TOKEN), "URL token in the log:\n{log}");
    ensure!(server.is_running()?, "{log}");
    receiver.kill()?;
    Ok(())
}
