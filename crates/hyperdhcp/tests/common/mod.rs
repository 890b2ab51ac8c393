//! End-to-end lab harness: throw-away network namespaces joined by veth pairs, the real
//! `hyperdhcp` binary serving inside one of them, and real DHCP clients (dhclient, udhcpc,
//! dhcpcd, perfdhcp) in the others.
//!
//! Network safety: every packet stays inside namespaces this harness creates. Each veth is
//! created inside a namespace with its peer moved straight into another one, so no end ever
//! sits in the root namespace; addresses come only from 198.18.0.0/15. [`Lab`]'s `Drop` kills
//! every process left in its namespaces (by PID), deletes the namespaces and removes their
//! `/etc/netns/NAME` directories, also when a test panics.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};

/// The binary under test, built by cargo for this test crate.
pub const HYPERDHCP: &str = env!("CARGO_BIN_EXE_hyperdhcp");

/// The server's address on its lab interface.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// Prefix length of the lab subnet.
pub const PREFIX_LEN: u8 = 16;
/// The lab subnet (inside the 198.18.0.0/15 benchmarking range, RFC 2544).
pub const SUBNET: &str = "198.18.0.0/16";
/// The server's interface name inside its namespace (also the name `examples/lab.toml` uses).
pub const SERVER_IF: &str = "srv0";
/// The dynamic pool most tests use.
pub const POOL_START: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 0);
/// Last address of the default pool.
pub const POOL_END: Ipv4Addr = Ipv4Addr::new(198, 18, 3, 255);
/// Default router option (3) handed out.
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// Default DNS servers (option 6) handed out.
pub const DNS: [Ipv4Addr; 2] = [Ipv4Addr::new(198, 18, 0, 53), Ipv4Addr::new(198, 18, 0, 54)];
/// Default domain name (option 15) handed out.
pub const DOMAIN: &str = "lab.test";
/// The MAC the reservation tests use.
pub const RESERVED_MAC: &str = "02:00:00:00:00:aa";
/// The address reserved for [`RESERVED_MAC`].
pub const RESERVED_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 50);
/// The host name reserved for [`RESERVED_MAC`].
pub const RESERVED_HOSTNAME: &str = "printer";

/// How often [`wait_until`] re-checks its condition.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Default deadline for things that should happen within a DHCP exchange or two.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// Set this environment variable to keep each lab's scratch directory (logs, configs).
pub const KEEP_ENV: &str = "HD_E2E_KEEP";
/// Marker line closing each block a hook script appends (a block without it is still being written).
const HOOK_END: &str = "=== end";

/// Programs every e2e test needs, with the Debian package that provides each.
const REQUIRED_PROGRAMS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("ss", "iproute2"),
    ("dhclient", "isc-dhcp-client"),
    ("busybox", "busybox"),
    ("dhcpcd", "dhcpcd-base"),
    ("perfdhcp", "kea-admin"),
];

/// Per-process counter so parallel tests get distinct lab names.
static LAB_COUNTER: AtomicU32 = AtomicU32::new(0);

// === preconditions ===

/// Fails with a clear message unless the tests run as root with every lab program installed.
pub fn require_lab_environment() -> Result<()> {
    let uid = run_ok(Command::new("id").arg("-u"))?;
    ensure!(
        uid.trim() == "0",
        "the end-to-end tests create network namespaces and must run as root \
         (use `sudo ./scripts/test.sh`); current uid is {}",
        uid.trim()
    );
    for (program, package) in REQUIRED_PROGRAMS {
        let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .any(|dir| Path::new(dir).join(program).exists());
        ensure!(
            found,
            "`{program}` is missing: install Debian package `{package}` \
             (`sudo ./scripts/install-deps.sh` installs them all)"
        );
    }
    Ok(())
}

// === small process helpers ===

/// Runs a command to completion, failing (with its output) unless it exits 0; returns stdout.
pub fn run_ok(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed with {}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command to completion and returns its output whatever the exit status.
pub fn run_output(cmd: &mut Command) -> Result<Output> {
    cmd.stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))
}

/// `ip ARGS`, which must succeed.
fn ip(args: &[&str]) -> Result<String> {
    run_ok(Command::new("ip").args(args))
}

/// Sends `signal` (a name such as `TERM`, `HUP`, `KILL`, `USR1`) to one process by PID.
pub fn signal_pid(pid: u32, signal: &str) -> Result<()> {
    run_ok(Command::new("kill").args(["-s", signal, &pid.to_string()])).map(drop)
}

/// Polls `check` every 50 ms until it yields `Some`, or fails after `timeout` naming `what`.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Reads a file that may not exist yet as a (lossy) string; missing means empty.
pub fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Writes an executable shell script.
fn write_script(path: &Path, body: &str) -> Result<()> {
    fs::write(path, body).with_context(|| format!("write {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

// === Proc: a started process that dies with its handle ===

/// A process the test started; killed (SIGKILL, by PID) when dropped if still running.
pub struct Proc {
    /// Short label for error messages.
    pub name: String,
    child: Child,
    /// Where its stdout goes.
    pub stdout: PathBuf,
    /// Where its stderr goes.
    pub stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Spawns `cmd` with stdout/stderr redirected to `DIR/LABEL.out` / `.err`.
    pub fn spawn(name: &str, dir: &Path, cmd: &mut Command) -> Result<Proc> {
        let stdout = dir.join(format!("{name}.out"));
        let stderr = dir.join(format!("{name}.err"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(fs::File::create(&stdout)?)
            .stderr(fs::File::create(&stderr)?)
            .spawn()
            .with_context(|| format!("cannot start {cmd:?}"))?;
        Ok(Proc {
            name: name.to_string(),
            child,
            stdout,
            stderr,
            status: None,
        })
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stdout and stderr so far, for assertions and error messages.
    pub fn output(&self) -> String {
        format!(
            "--- {} stdout ---\n{}--- {} stderr ---\n{}",
            self.name,
            read_lossy(&self.stdout),
            self.name,
            read_lossy(&self.stderr)
        )
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> Result<bool> {
        if self.status.is_some() {
            return Ok(false);
        }
        match self.child.try_wait()? {
            Some(s) => {
                self.status = Some(s);
                Ok(false)
            }
            None => Ok(true),
        }
    }

    /// Its exit status if it has exited.
    pub fn exit_status(&mut self) -> Result<Option<ExitStatus>> {
        self.is_running()?;
        Ok(self.status)
    }

    /// Sends a signal by name (`TERM`, `HUP`, `USR1`, ...).
    pub fn signal(&mut self, signal: &str) -> Result<()> {
        ensure!(
            self.is_running()?,
            "{} already exited ({:?})\n{}",
            self.name,
            self.status,
            self.output()
        );
        signal_pid(self.pid(), signal)
    }

    /// Waits for the process to exit, failing after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let name = format!("{} to exit", self.name);
        wait_until(&name, timeout, || self.exit_status()).with_context(|| self.output())
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) -> Result<()> {
        if self.is_running()? {
            signal_pid(self.pid(), "KILL")?;
            self.status = Some(self.child.wait()?);
        }
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

// === hook scripts: what the DHCP clients report ===

/// One hook invocation: the client's environment plus `event` (udhcpc's `$1`, else `$reason`).
#[derive(Clone, Debug, Default)]
pub struct HookEvent(pub BTreeMap<String, String>);

impl HookEvent {
    /// A variable, or "" when unset.
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or("")
    }

    /// The event / reason name (`bound`, `renew`, `BOUND`, `REBOOT`, `RELEASE`, ...).
    pub fn event(&self) -> &str {
        self.get("event")
    }

    /// The leased address, whichever client reported it.
    pub fn ip(&self) -> Option<Ipv4Addr> {
        let v = match self.get("ip") {
            "" => self.get("new_ip_address"),
            v => v,
        };
        v.parse().ok()
    }

    /// First value of whichever key is set (udhcpc and dhclient/dhcpcd use different names).
    pub fn either(&self, udhcpc_key: &str, isc_key: &str) -> &str {
        match self.get(udhcpc_key) {
            "" => self.get(isc_key),
            v => v,
        }
    }

    /// Router option (3) as reported.
    pub fn routers(&self) -> &str {
        self.either("router", "new_routers")
    }

    /// DNS servers (option 6), space separated.
    pub fn dns(&self) -> &str {
        self.either("dns", "new_domain_name_servers")
    }

    /// Domain name (option 15).
    pub fn domain(&self) -> &str {
        self.either("domain", "new_domain_name")
    }

    /// Host name (option 12).
    pub fn hostname(&self) -> &str {
        self.either("hostname", "new_host_name")
    }

    /// Lease time (option 51), seconds.
    pub fn lease_time(&self) -> Option<u64> {
        self.either("lease", "new_dhcp_lease_time").parse().ok()
    }

    /// Subnet mask (option 1), dotted.
    pub fn subnet_mask(&self) -> &str {
        self.either("subnet", "new_subnet_mask")
    }
}

/// A generated hook script and the log it appends to.
#[derive(Clone, Debug)]
pub struct Hook {
    /// The executable script.
    pub script: PathBuf,
    /// The event log it appends to.
    pub log: PathBuf,
}

impl Hook {
    /// Writes a hook script at `DIR/NAME.sh` logging to `DIR/NAME.events`. With `configure`,
    /// the script also puts the leased address on the interface (udhcpc / dhclient leave that
    /// to their script; it is needed for their unicast renew and release), inside the client
    /// namespace only.
    pub fn create(dir: &Path, name: &str, configure: bool) -> Result<Hook> {
        let script = dir.join(format!("{name}.sh"));
        let log = dir.join(format!("{name}.events"));
        let configure_block = if configure {
            r#"
ev="${1:-$reason}"
case "$ev" in
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-16}" dev "$interface" ;;
  deconfig)
    ip link set dev "$interface" up
    ip -4 addr flush dev "$interface" ;;
  PREINIT)
    ip link set dev "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT)
    ip -4 addr flush dev "$interface"
    ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
  RELEASE|EXPIRE|FAIL|STOP)
    ip -4 addr flush dev "$interface" ;;
esac
"#
        } else {
            ""
        };
        let body = format!(
            "#!/bin/sh\n# Records each DHCP client hook call (written by the hyperdhcp e2e harness).\n\
             {{ echo \"event=${{1:-$reason}}\"; env; echo '{HOOK_END}'; }} >> '{}'\n{configure_block}exit 0\n",
            log.display()
        );
        write_script(&script, &body)?;
        Ok(Hook { script, log })
    }

    /// Every complete hook call so far, oldest first.
    pub fn events(&self) -> Vec<HookEvent> {
        let text = read_lossy(&self.log);
        let mut events = Vec::new();
        let mut current = BTreeMap::new();
        for line in text.lines() {
            if line == HOOK_END {
                events.push(HookEvent(std::mem::take(&mut current)));
            } else if let Some((k, v)) = line.split_once('=') {
                current
                    .entry(k.to_string())
                    .or_insert_with(|| v.to_string());
            }
        }
        events
    }

    /// Waits for an event whose name is one of `names`, after the first `skip` events.
    pub fn wait_event(&self, names: &[&str], skip: usize, timeout: Duration) -> Result<HookEvent> {
        let what = format!("hook event {names:?} in {}", self.log.display());
        wait_until(&what, timeout, || {
            Ok(self
                .events()
                .into_iter()
                .skip(skip)
                .find(|e| names.contains(&e.event())))
        })
        .with_context(|| format!("events so far: {:#?}", self.events()))
    }
}

// === leases in the store ===

/// One row of `hyperdhcp leases list --json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRow {
    /// Leased address.
    pub ip: Ipv4Addr,
    /// Client hardware address, lower-case `xx:xx:..`.
    pub mac: String,
    /// `bound`, `released`, `expired`, `declined`.
    pub state: String,
    /// Unix seconds the current state ends.
    pub ends: u64,
    /// Host name, when known.
    pub hostname: Option<String>,
}

/// First of `keys` present in a JSON object.
fn json_field<'a>(obj: &'a serde_json::Value, keys: &[&str]) -> Option<&'a serde_json::Value> {
    keys.iter()
        .find_map(|k| obj.get(*k).filter(|v| !v.is_null()))
}

/// Unix seconds from either a number or an RFC 3339 UTC time (`2026-11-26T01:02:03Z`).
pub fn parse_time(s: &str) -> Option<u64> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    // Days from civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

/// Parses `leases list --json` output: an array of lease objects (or `{"leases": [...]}`).
pub fn parse_leases_json(text: &str) -> Result<Vec<LeaseRow>> {
    let value: serde_json::Value =
        serde_json::from_str(text).with_context(|| format!("leases list output: {text}"))?;
    let rows = match &value {
        serde_json::Value::Array(a) => a.clone(),
        other => other
            .get("leases")
            .and_then(|l| l.as_array())
            .cloned()
            .ok_or_else(|| anyhow!("unexpected leases JSON: {text}"))?,
    };
    rows.iter()
        .map(|row| {
            let s = |keys: &[&str]| {
                json_field(row, keys)
                    .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
            };
            let ip = s(&["ip", "address"]).ok_or_else(|| anyhow!("lease without ip: {row}"))?;
            let ends = match json_field(row, &["ends", "expires", "ends_unix"]) {
                Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(0),
                Some(serde_json::Value::String(s)) => parse_time(s)
                    .with_context(|| format!("lease ends {s:?} is not Unix seconds or RFC 3339"))?,
                _ => 0,
            };
            Ok(LeaseRow {
                ip: ip.parse().with_context(|| format!("lease ip {ip:?}"))?,
                mac: s(&["hwaddr", "mac", "chaddr", "hw_address"])
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                state: s(&["state"]).unwrap_or_default().to_ascii_lowercase(),
                ends,
                hostname: s(&["hostname", "host_name"]),
            })
        })
        .collect()
}

/// Reads the store through `hyperdhcp leases list --store PATH --json`.
pub fn leases(store: &Path) -> Result<Vec<LeaseRow>> {
    let out = run_ok(
        Command::new(HYPERDHCP)
            .args(["leases", "list", "--json", "--store"])
            .arg(store),
    )?;
    parse_leases_json(&out)
}

/// The lease stored for `ip`, if any.
pub fn lease_for(store: &Path, ip: Ipv4Addr) -> Result<Option<LeaseRow>> {
    Ok(leases(store)?.into_iter().find(|l| l.ip == ip))
}

/// Waits until the store holds a lease for `ip` satisfying `pred`.
pub fn wait_lease(
    store: &Path,
    ip: Ipv4Addr,
    what: &str,
    pred: impl Fn(&LeaseRow) -> bool,
) -> Result<LeaseRow> {
    wait_until(&format!("lease {ip} {what}"), DEADLINE, || {
        Ok(lease_for(store, ip)?.filter(|l| pred(l)))
    })
    .with_context(|| format!("store now: {:#?}", leases(store).unwrap_or_default()))
}

// === server configuration ===

/// One `[[subnet.reservation]]`.
#[derive(Clone, Debug)]
pub struct Reservation {
    /// Client MAC.
    pub mac: String,
    /// Reserved address.
    pub ip: Ipv4Addr,
    /// Host name (option 12).
    pub hostname: Option<String>,
}

/// The knobs tests turn; [`LabConfig::to_toml`] renders the server's TOML file.
#[derive(Clone, Debug)]
pub struct LabConfig {
    /// `server.interfaces`.
    pub interfaces: Vec<String>,
    /// `store.path`.
    pub store: PathBuf,
    /// `subnet.lease_time` (humantime string such as "1h", "20s").
    pub lease_time: String,
    /// `subnet.renewal_time`, when set.
    pub renewal_time: Option<String>,
    /// `subnet.rebinding_time`, when set.
    pub rebinding_time: Option<String>,
    /// The one dynamic pool.
    pub pool: (Ipv4Addr, Ipv4Addr),
    /// Router option.
    pub routers: Vec<Ipv4Addr>,
    /// DNS servers option.
    pub dns: Vec<Ipv4Addr>,
    /// Domain name option.
    pub domain: String,
    /// Reservations.
    pub reservations: Vec<Reservation>,
    /// `server.log_level`.
    pub log_level: String,
}

impl LabConfig {
    /// Defaults: serve `srv0`, store in `dir`, pool 198.18.1.0–198.18.3.255, 1 h leases.
    pub fn new(dir: &Path) -> LabConfig {
        LabConfig {
            interfaces: vec![SERVER_IF.to_string()],
            store: dir.join("leases.db"),
            lease_time: "1h".to_string(),
            renewal_time: None,
            rebinding_time: None,
            pool: (POOL_START, POOL_END),
            routers: vec![ROUTER],
            dns: DNS.to_vec(),
            domain: DOMAIN.to_string(),
            reservations: Vec::new(),
            log_level: "debug".to_string(),
        }
    }

    /// Adds the standard reservation (02:00:00:00:00:aa → 198.18.0.50, "printer").
    pub fn with_printer_reservation(mut self) -> Self {
        self.reservations.push(Reservation {
            mac: RESERVED_MAC.to_string(),
            ip: RESERVED_IP,
            hostname: Some(RESERVED_HOSTNAME.to_string()),
        });
        self
    }

    /// The config file text (format: docs/configuration.md).
    pub fn to_toml(&self) -> String {
        let list = |v: &[Ipv4Addr]| {
            v.iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let ifaces = self
            .interfaces
            .iter()
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut t = String::new();
        t += &format!(
            "[server]\ninterfaces = [{ifaces}]\nlog_level = \"{}\"\n\n",
            self.log_level
        );
        t += &format!("[store]\npath = \"{}\"\n\n", self.store.display());
        t += &format!(
            "[[subnet]]\ncidr = \"{SUBNET}\"\nlease_time = \"{}\"\n",
            self.lease_time
        );
        if let Some(r) = &self.renewal_time {
            t += &format!("renewal_time = \"{r}\"\n");
        }
        if let Some(r) = &self.rebinding_time {
            t += &format!("rebinding_time = \"{r}\"\n");
        }
        t += &format!(
            "routers = [{}]\ndns_servers = [{}]\ndomain_name = \"{}\"\n",
            list(&self.routers),
            list(&self.dns),
            self.domain
        );
        t += &format!(
            "\n[[subnet.pool]]\nstart = \"{}\"\nend = \"{}\"\n",
            self.pool.0, self.pool.1
        );
        for r in &self.reservations {
            t += &format!(
                "\n[[subnet.reservation]]\nmac = \"{}\"\nip = \"{}\"\n",
                r.mac, r.ip
            );
            if let Some(h) = &r.hostname {
                t += &format!("hostname = \"{h}\"\n");
            }
        }
        t
    }
}

// === the server ===

/// A running `hyperdhcp serve` inside the lab's server namespace.
pub struct Server {
    /// The process.
    pub proc: Proc,
    /// Its config file.
    pub config: PathBuf,
}

impl Server {
    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Everything it logged so far (stdout + stderr).
    pub fn log(&self) -> String {
        self.proc.output()
    }

    /// True while it runs.
    pub fn is_running(&mut self) -> Result<bool> {
        self.proc.is_running()
    }

    /// Waits until its log contains `needle` (after the first `skip` bytes).
    pub fn wait_log(&self, needle: &str, skip: usize, timeout: Duration) -> Result<()> {
        wait_until(
            &format!("server log to contain {needle:?}"),
            timeout,
            || {
                let log = self.log();
                Ok(log.get(skip..).unwrap_or("").contains(needle).then_some(()))
            },
        )
        .with_context(|| self.log())
    }
}

// === the lab ===

/// A client namespace and its interface (a veth whose peer is on the server side).
#[derive(Clone, Debug)]
pub struct ClientNs {
    /// Namespace name.
    pub ns: String,
    /// Interface name inside it (unique per lab, so per-interface files of dhcpcd never collide).
    pub ifname: String,
}

/// A set of namespaces: one server namespace (`srv0` = 198.18.0.1/16) and `n` client
/// namespaces. With one client, `srv0` is the server end of its veth; with several, `srv0` is a
/// bridge in the server namespace and each client's veth peer is a bridge port.
pub struct Lab {
    /// Unique name prefix (`hd-PID-N`).
    pub name: String,
    /// Server namespace.
    pub srv_ns: String,
    /// Client namespaces.
    pub clients: Vec<ClientNs>,
    /// Scratch directory (configs, logs, hook scripts, lease files, store).
    pub dir: tempfile::TempDir,
    /// Namespaces created so far (deleted on drop).
    namespaces: Vec<String>,
    /// Starts of `hyperdhcp serve`, to name their log files.
    server_starts: u32,
}

impl Lab {
    /// A lab with one client namespace linked straight to `srv0`.
    pub fn new() -> Result<Lab> {
        Lab::with_clients(1)
    }

    /// A lab with `n` client namespaces (a bridge `srv0` when `n > 1`).
    pub fn with_clients(n: usize) -> Result<Lab> {
        require_lab_environment()?;
        ensure!((1..=32).contains(&n), "1 to 32 client namespaces");
        let pid = std::process::id();
        let count = LAB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("hd-{pid}-{count}");
        let keep = std::env::var_os(KEEP_ENV).is_some();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .disable_cleanup(keep)
            .tempdir()?;
        if keep {
            eprintln!("{KEEP_ENV}: lab files kept in {}", dir.path().display());
        }
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))?;
        let mut lab = Lab {
            srv_ns: format!("{name}-srv"),
            clients: Vec::new(),
            name,
            dir,
            namespaces: Vec::new(),
            server_starts: 0,
        };
        lab.add_namespace(&lab.srv_ns.clone())?;
        let srv = lab.srv_ns.clone();
        if n > 1 {
            ip(&["-n", &srv, "link", "add", SERVER_IF, "type", "bridge"])?;
        }
        for i in 0..n {
            let ns = format!("{}-c{i}", lab.name);
            lab.add_namespace(&ns)?;
            // Unique per lab and at most 15 bytes (IFNAMSIZ): h<pid hex>n<counter>c<i>.
            let ifname = format!("h{pid:x}n{count}c{i}");
            ensure!(ifname.len() <= 15, "interface name {ifname} too long");
            let peer = if n > 1 {
                format!("p{i}")
            } else {
                SERVER_IF.to_string()
            };
            // Created inside the client namespace, peer moved straight into the server one.
            ip(&[
                "-n", &ns, "link", "add", &ifname, "type", "veth", "peer", "name", &peer, "netns",
                &srv,
            ])?;
            ip(&["-n", &ns, "link", "set", &ifname, "up"])?;
            if n > 1 {
                ip(&["-n", &srv, "link", "set", &peer, "master", SERVER_IF])?;
            }
            ip(&["-n", &srv, "link", "set", &peer, "up"])?;
            lab.clients.push(ClientNs { ns, ifname });
        }
        let server_cidr = format!("{SERVER_IP}/{PREFIX_LEN}");
        ip(&["-n", &srv, "addr", "add", &server_cidr, "dev", SERVER_IF])?;
        ip(&["-n", &srv, "link", "set", SERVER_IF, "up"])?;
        Ok(lab)
    }

    /// Creates a namespace with loopback up, IPv6 off and its own resolv.conf.
    fn add_namespace(&mut self, ns: &str) -> Result<()> {
        // A leftover from an earlier run whose PID was reused: remove it first.
        if Path::new("/run/netns").join(ns).exists() {
            kill_namespace_processes(ns);
            let _ = ip(&["netns", "del", ns]);
        }
        ip(&["netns", "add", ns])?;
        self.namespaces.push(ns.to_string());
        // `ip netns exec` bind-mounts this over /etc/resolv.conf, so client hooks that write
        // resolv.conf cannot touch the machine's resolver.
        let etc = Path::new("/etc/netns").join(ns);
        fs::create_dir_all(&etc)?;
        fs::write(etc.join("resolv.conf"), "# hyperdhcp e2e lab namespace\n")?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        for key in [
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ] {
            run_ok(Command::new("ip").args(["netns", "exec", ns, "sysctl", "-q", "-w", key]))?;
        }
        Ok(())
    }

    /// Scratch directory path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `ip netns exec NS PROGRAM` as a Command to add arguments to.
    pub fn cmd(ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }

    /// Runs a command in a namespace, requiring success; returns stdout.
    pub fn exec(&self, ns: &str, program: &str, args: &[&str]) -> Result<String> {
        run_ok(Lab::cmd(ns, program).args(args))
    }

    /// Client namespace `i`.
    pub fn client(&self, i: usize) -> &ClientNs {
        &self.clients[i]
    }

    /// Sets client `i`'s interface MAC (veths accept a change while up).
    pub fn set_mac(&self, i: usize, mac: &str) -> Result<()> {
        let c = self.client(i);
        ip(&["-n", &c.ns, "link", "set", "dev", &c.ifname, "address", mac]).map(drop)
    }

    /// Puts a static address (from 198.18.0.0/15) on client `i`'s interface.
    pub fn add_client_addr(&self, i: usize, cidr: &str) -> Result<()> {
        let c = self.client(i);
        ip(&["-n", &c.ns, "addr", "add", cidr, "dev", &c.ifname]).map(drop)
    }

    /// Writes `text` as a config file in the scratch dir and returns its path.
    pub fn write_config(&self, file: &str, text: &str) -> Result<PathBuf> {
        let path = self.path().join(file);
        let mut f = fs::File::create(&path)?;
        f.write_all(text.as_bytes())?;
        Ok(path)
    }

    /// Starts `hyperdhcp serve --config FILE` in the server namespace and waits until it has a
    /// socket bound to port 67 (fails early, with its log, if it exits instead).
    pub fn start_server(&mut self, config: &LabConfig) -> Result<Server> {
        let n = self.server_starts + 1;
        let path = self.write_config(&format!("server{n}.toml"), &config.to_toml())?;
        self.start_server_file(&path)
    }

    /// Like [`Lab::start_server`] with an existing config file.
    pub fn start_server_file(&mut self, path: &Path) -> Result<Server> {
        self.server_starts += 1;
        let n = self.server_starts;
        let mut cmd = Lab::cmd(&self.srv_ns, HYPERDHCP);
        cmd.arg("serve").arg("--config").arg(path);
        let proc = Proc::spawn(&format!("hyperdhcp-serve-{n}"), self.path(), &mut cmd)?;
        let mut server = Server {
            proc,
            config: path.to_path_buf(),
        };
        self.wait_server_ready(&mut server)?;
        Ok(server)
    }

    /// Waits until the server namespace has a UDP socket on port 67.
    pub fn wait_server_ready(&self, server: &mut Server) -> Result<()> {
        let srv = self.srv_ns.clone();
        wait_until("hyperdhcp to listen on UDP port 67", DEADLINE, || {
            if !server.is_running()? {
                bail!(
                    "hyperdhcp serve exited early ({:?})\n{}",
                    server.proc.exit_status()?,
                    server.log()
                );
            }
            let out = run_ok(Command::new("ip").args([
                "netns",
                "exec",
                &srv,
                "ss",
                "-H",
                "-u",
                "-l",
                "-n",
                "sport = :67",
            ]))?;
            Ok((!out.trim().is_empty()).then_some(()))
        })
        .with_context(|| server.log())
    }

    // --- clients ---

    /// Hook script + log for client `i` and program `prog`, one per call (`NAME-K`).
    pub fn hook(&self, i: usize, prog: &str, configure: bool) -> Result<Hook> {
        Hook::create(self.path(), &format!("c{i}-{prog}"), configure)
    }

    /// dhclient's lease file for client `i`.
    pub fn dhclient_leasefile(&self, i: usize) -> PathBuf {
        self.path().join(format!("c{i}-dhclient.leases"))
    }

    /// Starts `dhclient -d -1 -v` (foreground, one try) on client `i` with `hook`, keeping its
    /// lease file between runs so a second run starts with INIT-REBOOT.
    pub fn dhclient(&self, i: usize, hook: &Hook, label: &str) -> Result<Proc> {
        let c = self.client(i);
        let pidfile = self.path().join(format!("c{i}-dhclient.pid"));
        let mut cmd = Lab::cmd(&c.ns, "dhclient");
        cmd.args(["-4", "-d", "-1", "-v", "-lf"])
            .arg(self.dhclient_leasefile(i))
            .arg("-pf")
            .arg(&pidfile)
            .arg("-sf")
            .arg(&hook.script)
            .arg(&c.ifname);
        Proc::spawn(label, self.path(), &mut cmd)
    }

    /// Waits until dhclient has written the lease for `ip` to its lease file (it does so just
    /// after running its hook, so killing it on the BOUND event alone can lose the file).
    pub fn wait_dhclient_leasefile(&self, i: usize, ip: Ipv4Addr) -> Result<()> {
        let path = self.dhclient_leasefile(i);
        let needle = format!("fixed-address {ip};");
        wait_until(
            &format!("{} to record {ip}", path.display()),
            DEADLINE,
            || Ok(read_lossy(&path).contains(&needle).then_some(())),
        )
    }

    /// Runs `dhclient -r` on client `i` (sends DHCPRELEASE for the lease in its lease file and
    /// stops the running dhclient named by the pid file); waits for it to finish.
    pub fn dhclient_release(&self, i: usize, hook: &Hook) -> Result<Proc> {
        let c = self.client(i);
        let pidfile = self.path().join(format!("c{i}-dhclient.pid"));
        let mut cmd = Lab::cmd(&c.ns, "dhclient");
        cmd.args(["-4", "-r", "-v", "-lf"])
            .arg(self.dhclient_leasefile(i))
            .arg("-pf")
            .arg(&pidfile)
            .arg("-sf")
            .arg(&hook.script)
            .arg(&c.ifname);
        let mut p = Proc::spawn(&format!("c{i}-dhclient-release"), self.path(), &mut cmd)?;
        p.wait_exit(DEADLINE)?;
        Ok(p)
    }

    /// Starts `busybox udhcpc -f -i IF -s HOOK EXTRA...` on client `i`.
    pub fn udhcpc(&self, i: usize, hook: &Hook, extra: &[&str], label: &str) -> Result<Proc> {
        let c = self.client(i);
        let mut cmd = Lab::cmd(&c.ns, "busybox");
        cmd.args(["udhcpc", "-f", "-i", &c.ifname, "-s"])
            .arg(&hook.script)
            .args(extra);
        Proc::spawn(label, self.path(), &mut cmd)
    }

    /// Runs `udhcpc -n -q` (one lease, then exit) on client `i` and returns the bound event.
    pub fn udhcpc_once(&self, i: usize, hook: &Hook, label: &str) -> Result<HookEvent> {
        let skip = hook.events().len();
        let mut p = self.udhcpc(i, hook, &["-n", "-q", "-t", "5", "-T", "2"], label)?;
        let status = p.wait_exit(DEADLINE)?;
        ensure!(status.success(), "udhcpc failed: {status}\n{}", p.output());
        hook.events()
            .into_iter()
            .skip(skip)
            .find(|e| e.event() == "bound")
            .ok_or_else(|| anyhow!("udhcpc exited without a bound event\n{}", p.output()))
    }

    /// Writes a minimal dhcpcd.conf (no ARP probing, no IPv4LL, no start-up delay, requests
    /// the options the tests check) and returns its path.
    fn dhcpcd_conf(&self, i: usize) -> Result<PathBuf> {
        let path = self.path().join(format!("c{i}-dhcpcd.conf"));
        fs::write(
            &path,
            "# hyperdhcp e2e: dhcpcd configuration\n\
             clientid\nnoarp\nnoipv4ll\nnodelay\nnoipv6\nipv4only\n\
             option domain_name_servers, domain_name, host_name\n\
             require dhcp_server_identifier\n",
        )?;
        Ok(path)
    }

    /// dhcpcd arguments shared by the daemon and its control commands.
    fn dhcpcd_cmd(&self, i: usize, hook: &Hook) -> Result<Command> {
        let c = self.client(i);
        let mut cmd = Lab::cmd(&c.ns, "dhcpcd");
        cmd.arg("-f")
            .arg(self.dhcpcd_conf(i)?)
            .arg("-c")
            .arg(&hook.script)
            .arg("-4");
        Ok(cmd)
    }

    /// Starts `dhcpcd -B -4 -d` (foreground) on client `i`.
    pub fn dhcpcd(&self, i: usize, hook: &Hook, label: &str) -> Result<Proc> {
        let ifname = self.client(i).ifname.clone();
        let mut cmd = self.dhcpcd_cmd(i, hook)?;
        cmd.args(["-B", "-d", &ifname]);
        Proc::spawn(label, self.path(), &mut cmd)
    }

    /// Runs a dhcpcd control command (`-n` rebind, `-k` release) against the running daemon.
    pub fn dhcpcd_control(&self, i: usize, hook: &Hook, flag: &str) -> Result<Proc> {
        let ifname = self.client(i).ifname.clone();
        let mut cmd = self.dhcpcd_cmd(i, hook)?;
        cmd.args([flag, &ifname]);
        let mut p = Proc::spawn(&format!("c{i}-dhcpcd-control{flag}"), self.path(), &mut cmd)?;
        p.wait_exit(DEADLINE)?;
        Ok(p)
    }

    /// PIDs of every process living in namespace `ns`.
    pub fn namespace_pids(ns: &str) -> Vec<u32> {
        namespace_pids(ns)
    }

    /// Adds a client namespace linked (veth) to namespace `peer_ns`, where the peer end is
    /// named `peer_if` and brought up (no address: the caller configures it). For topologies
    /// such as client → relay → server. Returns the new client's index.
    pub fn add_client_linked_to(&mut self, peer_ns: &str, peer_if: &str) -> Result<usize> {
        let i = self.clients.len();
        let ns = format!("{}-c{i}", self.name);
        self.add_namespace(&ns)?;
        let pid = std::process::id();
        let count = self.name.rsplit('-').next().unwrap_or("0");
        let ifname = format!("h{pid:x}n{count}c{i}");
        ensure!(ifname.len() <= 15, "interface name {ifname} too long");
        ip(&[
            "-n", &ns, "link", "add", &ifname, "type", "veth", "peer", "name", peer_if, "netns",
            peer_ns,
        ])?;
        ip(&["-n", &ns, "link", "set", &ifname, "up"])?;
        ip(&["-n", peer_ns, "link", "set", peer_if, "up"])?;
        self.clients.push(ClientNs { ns, ifname });
        Ok(i)
    }
}

/// PIDs of the processes in namespace `ns` (as `ip netns pids` reports).
fn namespace_pids(ns: &str) -> Vec<u32> {
    Command::new("ip")
        .args(["netns", "pids", ns])
        .stdin(Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// SIGKILLs every process in one of our namespaces (all started by this harness, e.g.
/// dhcpcd's privilege-separation helpers), by PID.
fn kill_namespace_processes(ns: &str) {
    for pid in namespace_pids(ns) {
        let _ = signal_pid(pid, "KILL");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            kill_namespace_processes(ns);
        }
        // Killed processes release the namespace once reaped; give them a moment.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && self
                .namespaces
                .iter()
                .any(|ns| !namespace_pids(ns).is_empty())
        {
            std::thread::sleep(POLL_INTERVAL);
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stdin(Stdio::null())
                .output();
            let _ = fs::remove_dir_all(Path::new("/etc/netns").join(ns));
        }
        // dhcpcd keeps per-interface files outside the namespace; our interface names are unique.
        for c in &self.clients {
            for dir in ["/var/lib/dhcpcd", "/run/dhcpcd"] {
                if let Ok(entries) = fs::read_dir(dir) {
                    for e in entries.flatten() {
                        if e.file_name().to_string_lossy().starts_with(&c.ifname) {
                            let _ = fs::remove_file(e.path());
                        }
                    }
                }
            }
        }
    }
}

// === metrics endpoint ===

/// Default metrics listener port (`metrics.listen` = 127.0.0.1:9167).
pub const METRICS_PORT: u16 = 9167;

impl Lab {
    /// GETs `path` from the server's metrics listener (127.0.0.1:9167 inside the server
    /// namespace, with busybox wget); `Ok(None)` when the request fails (e.g. a 503).
    pub fn http_get(&self, path: &str) -> Result<Option<String>> {
        let url = format!("http://127.0.0.1:{METRICS_PORT}{path}");
        let out =
            run_output(Lab::cmd(&self.srv_ns, "busybox").args(["wget", "-q", "-O", "-", &url]))?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
    }
}

/// The value of the sample `series` (name plus labels exactly as exposed, e.g.
/// `hyperdhcp_packets_received_total{type="discover"}`) in a metrics exposition.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}
