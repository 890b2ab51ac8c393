//! Crash safety end to end: no acknowledged lease is ever lost.
//!
//! Each round, `hyperdhcp bench` (in a client namespace, relay mode) runs a short DORA load
//! against `hyperdhcp serve` and writes every ACK it receives to its `--ack-log`. At a random
//! moment inside the load window the server is killed with SIGKILL, then restarted on the same
//! store. The store must then hold, for every acknowledged (ip, mac) pair, a bound lease of that
//! address to that MAC (a later ACK of the same MAC wins); no address may have been acknowledged
//! to two clients and no client may hold two bound addresses. Finally a short load against the
//! restarted server must complete without loss.
//!
//! The server only sends an ACK after the batch that produced it is committed (fsync), and the
//! generator logs an ACK only once it has received it, so every logged ACK must be durable.
//!
//! Rounds: [`ROUNDS_ENV`] (default [`DEFAULT_ROUNDS`]); `bench/crash-soak.sh` runs many more.
//! The kill moments come from a seeded generator; the seed is printed and [`SEED_ENV`] replays
//! it. Clients use distinct MACs per round (`--mac-seed`), so a MAC's latest ACK is well
//! defined. The store is replaced every [`ROUNDS_PER_STORE`] rounds so the pool never runs out.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail, ensure};
use common::*;
use hyperdhcp_engine::{Lease, LeaseState};
use hyperdhcp_store::{LeaseStore, SqliteStore};

/// Environment variable: number of kill/restart rounds.
const ROUNDS_ENV: &str = "HD_CRASH_ROUNDS";
/// Environment variable: RNG seed to replay a run (printed at the start of every run).
const SEED_ENV: &str = "HD_CRASH_SEED";
/// Rounds in CI (the issue asks for at least 20).
const DEFAULT_ROUNDS: u32 = 20;
/// DORA exchanges started per second during the load.
const LOAD_RATE: u32 = 3000;
/// Milliseconds of load per round (the generator starts new exchanges this long).
const LOAD_MS: u64 = 1000;
/// Clients (and exchanges) per load: one DORA per distinct MAC.
const LOAD_CLIENTS: u64 = LOAD_RATE as u64 * LOAD_MS / 1000;
/// The kill comes at most this share of the load window after the first ACK was logged.
const KILL_WINDOW_SHARE: f64 = 0.8;
/// Generator timeout for an unanswered DISCOVER/REQUEST, ms (short: the server is dead).
const LOAD_TIMEOUT_MS: u32 = 300;
/// Exchanges in the check after a restart (all must complete).
const VERIFY_CLIENTS: u32 = 100;
/// Rate of the check after a restart.
const VERIFY_RATE: u32 = 1000;
/// Seconds added to each generator run's duration, so `--count` (not the clock) ends it.
const DURATION_SLACK_S: f64 = 0.5;
/// Rounds sharing one store file; 16 × (3000 + 100) leases fit the pool below.
const ROUNDS_PER_STORE: u32 = 16;
/// The generator's address in the client namespace (giaddr; the server replies there).
const GEN_IP: &str = "198.18.0.2";
/// The same with its prefix, put on the client interface.
const GEN_CIDR: &str = "198.18.0.2/16";
/// Pool: most of 198.18.0.0/16 (65,279 addresses).
const CRASH_POOL: (Ipv4Addr, Ipv4Addr) = (
    Ipv4Addr::new(198, 18, 1, 0),
    Ipv4Addr::new(198, 18, 255, 254),
);
/// Server logging: start-up lines, but no line per packet.
const CRASH_LOG_LEVEL: &str = "info,hyperdhcp_server::logfmt=warn";

/// Appended to the server config: conflict probing off (see [`Crash::new_store`]).
const NO_PROBING: &str = "\n[conflict_detection]\nenabled = false\n";

/// xorshift64*: small and deterministic, so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Reads `NAME` as a number, or `default` when unset.
fn env_number<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| anyhow!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// Parses an ACK log (`ip mac` per line) in order. A torn last line (the generator may be
/// mid-write when it exits) cannot occur: it writes whole lines and flushes per batch; any
/// malformed line is an error.
fn parse_ack_log(text: &str) -> Result<Vec<(Ipv4Addr, String)>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut parts = line.split_whitespace();
            let (Some(ip), Some(mac), None) = (parts.next(), parts.next(), parts.next()) else {
                bail!("malformed ack log line {line:?}");
            };
            let ip = ip
                .parse()
                .with_context(|| format!("ack log line {line:?}"))?;
            Ok((ip, mac.to_ascii_lowercase()))
        })
        .collect()
}

/// Every acknowledged lease so far: MAC → address, the latest ACK of a MAC winning.
#[derive(Default)]
struct Acked {
    by_mac: HashMap<String, Ipv4Addr>,
}

impl Acked {
    /// Adds one ACK log, in order.
    fn add(&mut self, acks: &[(Ipv4Addr, String)]) {
        for (ip, mac) in acks {
            self.by_mac.insert(mac.clone(), *ip);
        }
    }

    /// Problems found comparing the acknowledged leases with the leases in the store; empty
    /// when every ACK is durable and nothing is held twice.
    fn problems(&self, store: &[Lease]) -> Vec<String> {
        let mut problems = Vec::new();
        // No address acknowledged (as the current lease) to two clients.
        let mut by_ip: BTreeMap<Ipv4Addr, &str> = BTreeMap::new();
        for (mac, ip) in &self.by_mac {
            if let Some(other) = by_ip.insert(*ip, mac) {
                problems.push(format!("{ip} acknowledged to both {other} and {mac}"));
            }
        }
        // Every ACK in the store, bound, to the same MAC.
        let stored: HashMap<Ipv4Addr, &Lease> = store.iter().map(|l| (l.ip, l)).collect();
        for (ip, mac) in &by_ip {
            match stored.get(ip) {
                None => problems.push(format!("acknowledged {ip} {mac} is not in the store")),
                Some(l) if l.hwaddr.to_string() != *mac || l.state != LeaseState::Bound => problems
                    .push(format!(
                        "acknowledged {ip} {mac}, store has {} {:?}",
                        l.hwaddr, l.state
                    )),
                Some(_) => {}
            }
        }
        // No client holds two bound addresses.
        let mut bound: BTreeMap<String, Vec<Ipv4Addr>> = BTreeMap::new();
        for l in store.iter().filter(|l| l.state == LeaseState::Bound) {
            bound.entry(l.hwaddr.to_string()).or_default().push(l.ip);
        }
        for (mac, ips) in bound.iter().filter(|(_, ips)| ips.len() > 1) {
            problems.push(format!(
                "{mac} holds {} bound addresses: {ips:?}",
                ips.len()
            ));
        }
        problems
    }
}

/// Every lease in the store (read-only open; the server may be running).
fn load_store(path: &Path) -> Result<Vec<Lease>> {
    let mut store = SqliteStore::open_read_only(path)?;
    Ok(store.load_all()?)
}

/// The generator's JSON report: the fields this test reads.
struct BenchResult {
    sent: u64,
    completed: u64,
    ack_log_lines: u64,
}

/// Parses the last line of the generator's stdout.
fn bench_result(proc: &Proc) -> Result<BenchResult> {
    let out = read_lossy(&proc.stdout);
    let line = out
        .lines()
        .last()
        .ok_or_else(|| anyhow!("no generator report\n{}", proc.output()))?;
    let v: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("generator report {line:?}"))?;
    let n = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| anyhow!("generator report without {k}: {line}"))
    };
    Ok(BenchResult {
        sent: n("sent")?,
        completed: n("completed")?,
        ack_log_lines: n("ack_log_lines")?,
    })
}

/// Starts `hyperdhcp bench` in the lab's client namespace.
fn start_bench(
    lab: &Lab,
    label: &str,
    rate: u32,
    clients: u64,
    mac_seed: u32,
    timeout_ms: u32,
    ack_log: &Path,
) -> Result<Proc> {
    // `--count` ends the run; the duration only needs to be long enough for it.
    let duration_s = clients as f64 / f64::from(rate) + DURATION_SLACK_S;
    let mut cmd = Lab::cmd(&lab.client(0).ns, HYPERDHCP);
    cmd.args(["bench", "--local", GEN_IP, "--server"])
        .arg(SERVER_IP.to_string())
        .args(["--rate", &rate.to_string()])
        .args(["--duration", &format!("{duration_s:.3}")])
        .args(["--clients", &clients.to_string()])
        .args(["--count", &clients.to_string()])
        .args(["--timeout-ms", &timeout_ms.to_string()])
        .args(["--mac-seed", &mac_seed.to_string()])
        .arg("--json")
        .arg("--ack-log")
        .arg(ack_log);
    Proc::spawn(label, lab.path(), &mut cmd)
}

/// What one round saw.
struct RoundOutcome {
    /// ACKs logged before the kill landed and the generator lost exchanges afterwards.
    killed_mid_load: bool,
}

/// The state carried between rounds.
struct Crash {
    lab: Lab,
    config: PathBuf,
    store: PathBuf,
    server: Option<Server>,
    acked: Acked,
    rng: Rng,
}

impl Crash {
    /// Switches to a fresh store (and a fresh server on it).
    fn new_store(&mut self, epoch: u32) -> Result<()> {
        if let Some(mut s) = self.server.take() {
            s.proc.kill()?;
        }
        self.store = self.lab.path().join(format!("leases-{epoch}.db"));
        let mut cfg = LabConfig::new(self.lab.path());
        cfg.store = self.store.clone();
        cfg.pool = CRASH_POOL;
        cfg.log_level = CRASH_LOG_LEVEL.to_string();
        // No conflict probing: each relayed OFFER would wait for an ICMP echo timeout (500 ms),
        // longer than this test's load timeout; durability is what is tested here.
        let text = format!("{}{NO_PROBING}", cfg.to_toml());
        self.config = self
            .lab
            .write_config(&format!("crash-{epoch}.toml"), &text)?;
        self.acked = Acked::default();
        self.server = Some(self.lab.start_server_file(&self.config)?);
        Ok(())
    }

    /// One load / kill / restart / check round.
    fn round(&mut self, round: u32) -> Result<RoundOutcome> {
        let slot = round % ROUNDS_PER_STORE;
        if slot == 0 {
            self.new_store(round / ROUNDS_PER_STORE)?;
        }
        let load_seed = 2 * slot + 1;
        let verify_seed = 2 * slot + 2;
        let ack_log = self.lab.path().join(format!("ack-{round}.log"));
        let mut bench = start_bench(
            &self.lab,
            &format!("bench-{round}"),
            LOAD_RATE,
            LOAD_CLIENTS,
            load_seed,
            LOAD_TIMEOUT_MS,
            &ack_log,
        )?;
        // The load is under way once ACKs arrive; kill at a random moment after that.
        wait_until("the first ACK in the generator's log", DEADLINE, || {
            if !bench.is_running()? && read_lossy(&ack_log).is_empty() {
                bail!("generator ended without any ACK\n{}", bench.output());
            }
            Ok((!read_lossy(&ack_log).is_empty()).then_some(()))
        })?;
        let delay =
            Duration::from_secs_f64(self.rng.unit() * KILL_WINDOW_SHARE * LOAD_MS as f64 / 1000.0);
        std::thread::sleep(delay);
        let mut server = self
            .server
            .take()
            .ok_or_else(|| anyhow!("no server running"))?;
        let load_running = bench.is_running()?;
        let acks_before_kill = parse_ack_log(&read_lossy(&ack_log))?.len();
        server.proc.kill()?;
        let server_log = server.log();

        bench.wait_exit(DEADLINE)?;
        let load = bench_result(&bench)?;
        let acks = parse_ack_log(&read_lossy(&ack_log))?;
        ensure!(
            acks.len() as u64 == load.ack_log_lines,
            "ack log has {} lines, the generator reports {}",
            acks.len(),
            load.ack_log_lines
        );

        let restarted = Instant::now();
        let mut server = self.lab.start_server_file(&self.config).with_context(|| {
            format!("restart after the kill; killed server's log:\n{server_log}")
        })?;
        let restart_ms = restarted.elapsed().as_millis();
        self.acked.add(&acks);
        let store = load_store(&self.store)?;
        let problems = self.acked.problems(&store);
        ensure!(
            problems.is_empty(),
            "round {round}: {} problems after the restart, first ones:\n{}\nack log {}, store {}",
            problems.len(),
            problems
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n"),
            ack_log.display(),
            self.store.display()
        );

        // The restarted server serves again: a short load completes without loss.
        let verify_log = self.lab.path().join(format!("verify-{round}.log"));
        let mut verify = start_bench(
            &self.lab,
            &format!("verify-{round}"),
            VERIFY_RATE,
            u64::from(VERIFY_CLIENTS),
            verify_seed,
            1000,
            &verify_log,
        )?;
        verify.wait_exit(DEADLINE)?;
        let v = bench_result(&verify)?;
        ensure!(
            v.sent == u64::from(VERIFY_CLIENTS) && v.completed == v.sent,
            "round {round}: restarted server completed {} of {} exchanges\n{}\n{}",
            v.completed,
            v.sent,
            verify.output(),
            server.log()
        );
        ensure!(server.is_running()?, "server died\n{}", server.log());
        self.acked.add(&parse_ack_log(&read_lossy(&verify_log))?);
        self.server = Some(server);

        let killed_mid_load = load_running && acks_before_kill > 0 && load.completed < load.sent;
        println!(
            "round {round:3}: kill {:4} ms after first ACK, {acks_before_kill:4} ACKs before it, \
             generator {}/{} completed, {} ACKs logged, store {} leases, restart {restart_ms} ms{}",
            delay.as_millis(),
            load.completed,
            load.sent,
            acks.len(),
            store.len(),
            if killed_mid_load {
                ""
            } else {
                " (not mid-load)"
            }
        );
        Ok(RoundOutcome { killed_mid_load })
    }
}

/// The crash-safety test itself (see the module docs).
#[test]
fn kill_9_under_load_loses_no_acknowledged_lease() -> Result<()> {
    let rounds: u32 = env_number(ROUNDS_ENV, DEFAULT_ROUNDS)?;
    let default_seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let seed: u64 = env_number(SEED_ENV, default_seed)?;
    println!("crash test: {rounds} rounds, seed {seed} (replay with {SEED_ENV}={seed})");

    let lab = Lab::new()?;
    lab.add_client_addr(0, GEN_CIDR)?;
    let mut crash = Crash {
        config: PathBuf::new(),
        store: PathBuf::new(),
        server: None,
        acked: Acked::default(),
        rng: Rng::new(seed),
        lab,
    };
    let mut mid_load = 0;
    for round in 0..rounds {
        let outcome = crash
            .round(round)
            .with_context(|| format!("round {round} (seed {seed}, {SEED_ENV}={seed} replays)"))?;
        mid_load += u32::from(outcome.killed_mid_load);
    }
    println!("crash test: {mid_load} of {rounds} rounds killed the server mid-load");
    ensure!(
        mid_load * 2 >= rounds,
        "only {mid_load} of {rounds} rounds killed the server while ACKs were in flight"
    );
    Ok(())
}

/// The checker itself finds lost, moved and doubly held leases.
#[test]
fn checker_reports_lost_moved_and_double_leases() -> Result<()> {
    use hyperdhcp_engine::HwAddr;
    let lease = |ip: [u8; 4], mac: u8, state| Lease {
        ip: Ipv4Addr::from(ip),
        hwaddr: HwAddr::ethernet([2, 1, 0, 0, 0, mac]),
        client_id: None,
        hostname: None,
        fqdn: None,
        state,
        starts: 0,
        ends: 3600,
    };
    let log = "198.18.1.0 02:01:00:00:00:00\n198.18.1.1 02:01:00:00:00:01\n\
               198.18.1.9 02:01:00:00:00:02\n198.18.1.2 02:01:00:00:00:02\n";
    let mut acked = Acked::default();
    acked.add(&parse_ack_log(log)?);
    let good = vec![
        lease([198, 18, 1, 0], 0, LeaseState::Bound),
        lease([198, 18, 1, 1], 1, LeaseState::Bound),
        lease([198, 18, 1, 2], 2, LeaseState::Bound),
        lease([198, 18, 1, 3], 3, LeaseState::Offered),
    ];
    assert_eq!(acked.problems(&good), Vec::<String>::new());

    let mut bad = good.clone();
    bad.remove(0); // lost
    bad[0].hwaddr = HwAddr::ethernet([2, 1, 0, 0, 0, 7]); // 198.18.1.1 moved to another MAC
    bad.push(lease([198, 18, 1, 4], 2, LeaseState::Bound)); // MAC 2 holds two
    let problems = acked.problems(&bad);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("198.18.1.0") && problems[0].contains("not in the store"));
    assert!(problems[1].contains("198.18.1.1") && problems[1].contains("02:01:00:00:00:07"));
    assert!(problems[2].contains("02:01:00:00:00:02 holds 2"));

    let mut double = Acked::default();
    double.add(&parse_ack_log(
        "198.18.1.0 02:01:00:00:00:00\n198.18.1.0 02:01:00:00:00:01\n",
    )?);
    assert!(double.problems(&good)[0].contains("acknowledged to both"));
    assert!(parse_ack_log("198.18.1.0\n").is_err());
    Ok(())
}
