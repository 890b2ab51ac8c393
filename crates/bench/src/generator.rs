//! The load loop: starts DORA exchanges at the paced rate, answers OFFERs with REQUESTs,
//! matches replies to clients by xid, expires unanswered exchanges and counts everything.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hyperdhcp_wire::{
    BOOTREPLY, CLIENT_PORT, FLAG_BROADCAST, Message, MessageBuilder, MessageType, SERVER_PORT, code,
};
use socket2::{Domain, Protocol, Socket, Type};

use crate::BenchError;
use crate::args::{BenchArgs, Mode};
use crate::ident::{client_mac, format_mac, make_xid, xid_client};
use crate::latency::LatencyRecorder;
use crate::pacing::Pacer;
use crate::report::BenchReport;
use crate::sys::{self, RecvBuffers};

/// Options clients ask for (RFC 2132 §9.8): mask, router, DNS, domain, lease time, server id,
/// T1, T2 — what a typical client requests, so the server does realistic work.
const PARAMETER_REQUEST_LIST: [u8; 8] = [
    code::SUBNET_MASK,
    code::ROUTER,
    code::DNS_SERVERS,
    code::DOMAIN_NAME,
    code::LEASE_TIME,
    code::SERVER_ID,
    code::RENEWAL_TIME,
    code::REBINDING_TIME,
];

/// Socket buffer size asked for with SO_RCVBUFFORCE/SO_SNDBUFFORCE (above `rmem_max`).
const SOCKET_BUFFER_BYTES: usize = 8 << 20;

/// Longest single sleep, so the loop re-checks its deadlines regularly.
const MAX_WAIT: Duration = Duration::from_millis(20);

/// In-flight DORA window of the `--warmup-clients` phase.
const WARMUP_WINDOW: u32 = 256;

/// Longest the warm-up phase sends before it gives up on binding more clients.
const WARMUP_LIMIT: Duration = Duration::from_secs(60);

/// Receive batches drained per loop turn before sends get another chance.
const MAX_RECV_ROUNDS: usize = 16;

/// `hops` a relay agent sets on what it forwards (RFC 1542 §4.1.1).
const RELAY_HOPS: u8 = 1;

/// Where one simulated client is in its lease lifecycle (RFC 2131 §4.4, figure 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No lease and nothing in flight.
    Idle,
    /// DISCOVER sent, waiting for an OFFER.
    Selecting,
    /// REQUEST (SELECTING) sent, waiting for ACK/NAK.
    Requesting,
    /// Holds a lease.
    Bound,
    /// REQUEST (RENEWING) sent, waiting for ACK/NAK.
    Renewing,
}

impl Phase {
    /// True while an exchange of this client awaits a reply.
    fn in_flight(self) -> bool {
        matches!(self, Phase::Selecting | Phase::Requesting | Phase::Renewing)
    }
}

/// Per-client state, indexed by client index (the low bits of the xid).
#[derive(Debug, Clone, Copy)]
struct Client {
    /// Lifecycle phase.
    phase: Phase,
    /// Sequence number of the current exchange (upper xid bits).
    seq: u8,
    /// xid of the exchange in flight.
    xid: u32,
    /// When the message awaiting a reply was sent (identifies it in the timeout queue).
    sent_at: Instant,
    /// When this DORA's DISCOVER was sent.
    started_at: Instant,
    /// Offered or leased address.
    ip: Ipv4Addr,
    /// Server identifier from the OFFER (RFC 2131 §4.3.1: option 54).
    server_id: Ipv4Addr,
}

/// One unanswered message and when it expires; stale once the client moved on.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    /// Expiry time.
    at: Instant,
    /// Client index.
    client: u32,
    /// The `sent_at` of the message it guards.
    sent_at: Instant,
}

/// The generator's whole state for one run.
struct Generator {
    /// Validated options.
    args: BenchArgs,
    /// Relay address to put in giaddr (relay mode) or None (broadcast mode).
    giaddr: Option<Ipv4Addr>,
    /// The socket every message leaves from and every reply arrives at.
    sock: Socket,
    /// Where requests go: SERVER:67 or 255.255.255.255:67.
    dest: SocketAddrV4,
    /// Send equal-length requests as UDP GSO groups (off with `--no-gso` or after a refusal).
    gso: bool,
    /// Unanswered-message timeout.
    timeout: Duration,
    /// Per-client state.
    clients: Vec<Client>,
    /// Next client index the DORA walk starts.
    next_client: u32,
    /// Bound clients in binding order, for renewals and releases (may hold stale entries).
    bound: VecDeque<u32>,
    /// Expiry queue in send order (the timeout is constant, so it is sorted by `at`).
    deadlines: VecDeque<Deadline>,
    /// Messages built this turn, sent with one sendmmsg per batch.
    outbox: Vec<Vec<u8>>,
    /// Exchanges of any kind awaiting a reply.
    in_flight: u64,
    /// DORA exchanges awaiting a reply (the `--rate 0` window).
    dora_in_flight: u64,
    /// ACK log writer.
    ack_log: Option<BufWriter<File>>,
    /// Counters being filled.
    report: BenchReport,
    /// DISCOVER→OFFER samples.
    lat_offer: LatencyRecorder,
    /// REQUEST→ACK samples.
    lat_ack: LatencyRecorder,
    /// DISCOVER→ACK samples.
    lat_dora: LatencyRecorder,
    /// RENEW→ACK samples.
    lat_renew: LatencyRecorder,
}

/// Opens the socket for `mode`.
fn open_socket(mode: &Mode) -> Result<(Socket, SocketAddrV4), BenchError> {
    let sock_err = |what: &'static str| move |source| BenchError::Socket { what, source };
    let sock =
        Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(sock_err("socket"))?;
    // Above rmem_max when we have CAP_NET_ADMIN; otherwise the default buffers have to do.
    if sys::force_buffer_sizes(&sock, SOCKET_BUFFER_BYTES).is_err() {
        let _ = sock.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
        let _ = sock.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    }
    match mode {
        Mode::Relay { local } => {
            // A relay agent listens on the server port (RFC 1542 §4.1): replies go to giaddr:67.
            let bind = SocketAddrV4::new(*local, SERVER_PORT);
            sock.bind(&bind.into()).map_err(sock_err("bind LOCAL:67"))?;
            Ok((sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, SERVER_PORT)))
        }
        Mode::Broadcast { interface } => {
            sock.bind_device(Some(interface.as_bytes()))
                .map_err(sock_err("SO_BINDTODEVICE"))?;
            sock.set_broadcast(true).map_err(sock_err("SO_BROADCAST"))?;
            let bind = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT);
            sock.bind(&bind.into())
                .map_err(sock_err("bind 0.0.0.0:68"))?;
            Ok((sock, SocketAddrV4::new(Ipv4Addr::BROADCAST, SERVER_PORT)))
        }
    }
}

/// Runs one load test as `args` describe and returns what it measured.
pub fn run(args: &BenchArgs) -> Result<BenchReport, BenchError> {
    let mode = args.validate()?;
    let (sock, mut dest) = open_socket(&mode)?;
    let giaddr = match mode {
        Mode::Relay { local } => {
            dest = SocketAddrV4::new(args.server, SERVER_PORT);
            Some(local)
        }
        Mode::Broadcast { .. } => None,
    };
    let ack_log = match &args.ack_log {
        Some(path) => Some(BufWriter::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| BenchError::AckLog {
                    path: path.clone(),
                    source,
                })?,
        )),
        None => None,
    };
    let now = Instant::now();
    // A per-run starting sequence, so late replies from a previous run rarely match.
    let salt = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        >> 8) as u8;
    let idle = Client {
        phase: Phase::Idle,
        seq: salt,
        xid: 0,
        sent_at: now,
        started_at: now,
        ip: Ipv4Addr::UNSPECIFIED,
        server_id: Ipv4Addr::UNSPECIFIED,
    };
    let report = BenchReport {
        mode: if giaddr.is_some() {
            "relay"
        } else {
            "broadcast"
        }
        .into(),
        server: dest.to_string(),
        rate_target: args.rate,
        clients: args.clients,
        ..BenchReport::default()
    };
    let mut g = Generator {
        args: args.clone(),
        giaddr,
        sock,
        dest,
        gso: !args.no_gso,
        timeout: Duration::from_millis(args.timeout_ms),
        clients: vec![idle; args.clients as usize],
        next_client: 0,
        bound: VecDeque::new(),
        deadlines: VecDeque::new(),
        outbox: Vec::with_capacity(args.batch),
        in_flight: 0,
        dora_in_flight: 0,
        ack_log,
        report,
        lat_offer: LatencyRecorder::default(),
        lat_ack: LatencyRecorder::default(),
        lat_dora: LatencyRecorder::default(),
        lat_renew: LatencyRecorder::default(),
    };
    if args.warmup_clients > 0 {
        g.run_loop(true)?;
        g.reset_measurements();
    }
    g.run_loop(false)?;
    Ok(g.finish())
}

/// Remembers a bound client for later renewals/releases (only when those are enabled, so the
/// queue does not grow without bound otherwise).
fn remember_bound(bound: &mut VecDeque<u32>, args: &BenchArgs, index: u32) {
    if args.renew_rate > 0 || args.release_rate > 0 {
        bound.push_back(index);
    }
}

/// Adds relay-agent or broadcast-client header fields.
fn address_fields(giaddr: Option<Ipv4Addr>, b: &mut MessageBuilder) {
    match giaddr {
        // RFC 1542 §4.1.1: the relay puts its own address in giaddr and counts a hop.
        Some(giaddr) => {
            b.set_giaddr(giaddr).set_hops(RELAY_HOPS);
        }
        // RFC 2131 §4.1: a client without an address asks for broadcast replies.
        None => {
            b.set_flags(FLAG_BROADCAST);
        }
    }
}

// === impl Generator ===

impl Generator {
    /// The main loop: send what is due, receive what arrived, until the send phase is over and
    /// every exchange is answered or expired.
    /// Runs the send loop until the send phase ends and every exchange is answered or timed
    /// out. `warmup`: bind `--warmup-clients` clients as fast as [`WARMUP_WINDOW`] allows
    /// (within [`WARMUP_LIMIT`]), with no renewals or releases.
    fn run_loop(&mut self, warmup: bool) -> Result<(), BenchError> {
        let start = Instant::now();
        let (rate, renew_rate, release_rate, count, duration, window) = if warmup {
            let w = WARMUP_WINDOW.min(self.args.warmup_clients);
            let n = u64::from(self.args.warmup_clients);
            (0, 0, 0, n, WARMUP_LIMIT, w)
        } else {
            let a = &self.args;
            let duration = Duration::from_secs_f64(a.duration);
            (
                a.rate,
                a.renew_rate,
                a.release_rate,
                a.count,
                duration,
                a.window,
            )
        };
        let send_end = start + duration;
        let mut dora = Pacer::new(rate);
        let mut renew = Pacer::new(renew_rate);
        let mut release = Pacer::new(release_rate);
        let window = u64::from(window.min(self.args.clients));
        let mut bufs = RecvBuffers::new(self.args.batch);
        let mut send_phase_end: Option<Instant> = None;
        let tick = Duration::from_micros(self.args.tick_us);
        let mut turn_start = start;
        loop {
            // A turn lasts at least `tick`: sleep out the rest of a short one, so what falls
            // due and what arrives meanwhile goes in one batch (see `--tick-us`).
            let spent = turn_start.elapsed();
            if spent < tick {
                std::thread::sleep(tick - spent);
            }
            let now = Instant::now();
            turn_start = now;
            self.expire(now);
            if send_phase_end.is_none()
                && (now >= send_end || (count > 0 && self.report.sent >= count))
            {
                send_phase_end = Some(now);
            }
            let sending = send_phase_end.is_none();
            if sending {
                let elapsed = now - start;
                let mut want = if rate > 0 {
                    dora.due(elapsed)
                } else {
                    window.saturating_sub(self.dora_in_flight)
                };
                want = want.min(self.args.batch as u64);
                if count > 0 {
                    want = want.min(count - self.report.sent);
                }
                for _ in 0..want {
                    self.start_dora(now);
                }
                dora.issue(want);
                let renews = renew.due(elapsed).min(self.args.batch as u64);
                for _ in 0..renews {
                    self.start_renew(now);
                }
                renew.issue(renews);
                let releases = release.due(elapsed).min(self.args.batch as u64);
                for _ in 0..releases {
                    self.send_release();
                }
                release.issue(releases);
            }
            self.flush_outbox();
            if !sending && self.in_flight == 0 {
                break;
            }
            // Sleep until a reply arrives or the next send or expiry is due.
            let mut wake = now + MAX_WAIT;
            if let Some(d) = self.deadlines.front() {
                wake = wake.min(d.at);
            }
            if sending {
                wake = wake.min(send_end);
                for p in [&dora, &renew, &release] {
                    if let Some(off) = p.next_due() {
                        wake = wake.min(start + off);
                    }
                }
            }
            let wait = wake.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                sys::wait_readable(&self.sock, wait).map_err(|source| BenchError::Socket {
                    what: "ppoll",
                    source,
                })?;
            }
            self.receive(&mut bufs)?;
        }
        let end = Instant::now();
        let send_end = send_phase_end.unwrap_or(end);
        self.report.duration_s = (send_end - start).as_secs_f64();
        self.report.elapsed_s = (end - start).as_secs_f64();
        Ok(())
    }

    /// After the warm-up: forgets its counters and latencies (the clients stay bound).
    fn reset_measurements(&mut self) {
        let fresh = BenchReport {
            mode: std::mem::take(&mut self.report.mode),
            server: std::mem::take(&mut self.report.server),
            rate_target: self.report.rate_target,
            clients: self.report.clients,
            warmup_bound: self.report.completed,
            ..BenchReport::default()
        };
        self.report = fresh;
        self.lat_offer = LatencyRecorder::default();
        self.lat_ack = LatencyRecorder::default();
        self.lat_dora = LatencyRecorder::default();
        self.lat_renew = LatencyRecorder::default();
    }

    /// Queues a message awaiting a reply and registers its deadline.
    fn track(&mut self, index: u32, now: Instant) {
        self.deadlines.push_back(Deadline {
            at: now + self.timeout,
            client: index,
            sent_at: now,
        });
        self.in_flight += 1;
    }

    /// Starts a DORA exchange for the next client in the walk (RFC 2131 §4.4.1: DISCOVER).
    fn start_dora(&mut self, now: Instant) {
        let index = self.next_client;
        self.next_client = (self.next_client + 1) % self.args.clients;
        let Some(c) = self.clients.get_mut(index as usize) else {
            return;
        };
        if c.phase.in_flight() {
            self.report.busy_skips += 1;
            return;
        }
        c.seq = c.seq.wrapping_add(1);
        c.xid = make_xid(index, c.seq);
        c.phase = Phase::Selecting;
        c.sent_at = now;
        c.started_at = now;
        let xid = c.xid;
        let mac = client_mac(self.args.mac_seed, index);
        let mut b = MessageBuilder::request(MessageType::Discover, xid, &mac);
        address_fields(self.giaddr, &mut b);
        b.option(code::PARAMETER_REQUEST_LIST, &PARAMETER_REQUEST_LIST);
        self.outbox.push(b.finish());
        self.report.sent += 1;
        self.dora_in_flight += 1;
        self.track(index, now);
    }

    /// Next bound client from the renew/release queue, skipping stale entries.
    fn pop_bound(&mut self) -> Option<u32> {
        while let Some(index) = self.bound.pop_front() {
            if self
                .clients
                .get(index as usize)
                .is_some_and(|c| c.phase == Phase::Bound)
            {
                return Some(index);
            }
        }
        None
    }

    /// Renews the longest-bound client's lease (RFC 2131 §4.4.5: RENEWING, ciaddr = lease,
    /// no requested-IP or server-id option).
    fn start_renew(&mut self, now: Instant) {
        let Some(index) = self.pop_bound() else {
            return;
        };
        let Some(c) = self.clients.get_mut(index as usize) else {
            return;
        };
        c.seq = c.seq.wrapping_add(1);
        c.xid = make_xid(index, c.seq);
        c.phase = Phase::Renewing;
        c.sent_at = now;
        let (xid, ip) = (c.xid, c.ip);
        let mac = client_mac(self.args.mac_seed, index);
        let mut b = MessageBuilder::request(MessageType::Request, xid, &mac);
        b.set_ciaddr(ip);
        if let Some(giaddr) = self.giaddr {
            // Sent through our relay socket like perfdhcp does, so the ACK comes back to us.
            b.set_giaddr(giaddr).set_hops(RELAY_HOPS);
        }
        b.option(code::PARAMETER_REQUEST_LIST, &PARAMETER_REQUEST_LIST);
        self.outbox.push(b.finish());
        self.report.renews_sent += 1;
        self.track(index, now);
    }

    /// Releases the longest-bound client's lease (RFC 2131 §4.4.6); no reply is expected.
    fn send_release(&mut self) {
        let Some(index) = self.pop_bound() else {
            return;
        };
        let Some(c) = self.clients.get_mut(index as usize) else {
            return;
        };
        c.seq = c.seq.wrapping_add(1);
        c.phase = Phase::Idle;
        let (xid, ip, server_id) = (make_xid(index, c.seq), c.ip, c.server_id);
        let mac = client_mac(self.args.mac_seed, index);
        let mut b = MessageBuilder::request(MessageType::Release, xid, &mac);
        b.set_ciaddr(ip);
        if let Some(giaddr) = self.giaddr {
            b.set_giaddr(giaddr).set_hops(RELAY_HOPS);
        }
        // RFC 2131 §4.4.6 / table 5: RELEASE carries the server identifier.
        b.option_ip(code::SERVER_ID, server_id);
        self.outbox.push(b.finish());
        self.report.releases_sent += 1;
    }

    /// Sends everything queued, one sendmmsg per batch; refusals are counted, not retried.
    fn flush_outbox(&mut self) {
        let mut off = 0;
        while off < self.outbox.len() {
            let end = (off + self.args.batch).min(self.outbox.len());
            let chunk = self.outbox.get(off..end).unwrap_or_default();
            match sys::send_batch(&self.sock, chunk, self.dest, self.gso) {
                Err(e) if self.gso && sys::is_gso_refusal(&e) => {
                    eprintln!("bench: the kernel refused UDP GSO ({e}); sending singly");
                    self.gso = false;
                }
                Ok(0) | Err(_) => {
                    self.report.send_errors += (self.outbox.len() - off) as u64;
                    break;
                }
                Ok(n) => {
                    self.report.packets_sent += n as u64;
                    off += n;
                }
            }
        }
        self.outbox.clear();
    }

    /// Expires messages whose deadline passed and that are still unanswered.
    fn expire(&mut self, now: Instant) {
        while let Some(d) = self.deadlines.front().copied() {
            if d.at > now {
                break;
            }
            self.deadlines.pop_front();
            let Some(c) = self.clients.get_mut(d.client as usize) else {
                continue;
            };
            if !c.phase.in_flight() || c.sent_at != d.sent_at {
                continue; // answered, or superseded by a later message of this client
            }
            match c.phase {
                Phase::Selecting => {
                    self.report.lost_discovers += 1;
                    self.dora_in_flight -= 1;
                    c.phase = Phase::Idle;
                }
                Phase::Requesting => {
                    self.report.lost_requests += 1;
                    self.dora_in_flight -= 1;
                    c.phase = Phase::Idle;
                }
                // The lease is still ours until it expires; only the renewal was lost.
                Phase::Renewing => {
                    self.report.renews_lost += 1;
                    c.phase = Phase::Bound;
                    remember_bound(&mut self.bound, &self.args, d.client);
                }
                Phase::Idle | Phase::Bound => {}
            }
            // Invalidate the xid so a reply arriving after expiry is counted as unmatched.
            c.seq = c.seq.wrapping_add(1);
            c.xid = make_xid(d.client, c.seq);
            self.in_flight -= 1;
        }
    }

    /// Drains the socket and handles every reply, then sends the REQUESTs OFFERs triggered.
    fn receive(&mut self, bufs: &mut RecvBuffers) -> Result<(), BenchError> {
        let mut acked = false;
        for _ in 0..MAX_RECV_ROUNDS {
            let n = sys::recv_batch(&self.sock, bufs).map_err(|source| BenchError::Socket {
                what: "recvmmsg",
                source,
            })?;
            if n == 0 {
                break;
            }
            self.report.packets_received += n as u64;
            let now = Instant::now();
            for dgram in bufs.datagrams() {
                acked |= self.handle_reply(dgram, now)?;
            }
            self.flush_outbox();
            if n < self.args.batch {
                break;
            }
        }
        if acked && let Some(log) = self.ack_log.as_mut() {
            // Flushed per batch: a crash-consistency checker reads what we saw acknowledged.
            log.flush().map_err(|source| BenchError::AckLog {
                path: self.args.ack_log.clone().unwrap_or_default(),
                source,
            })?;
        }
        Ok(())
    }

    /// Handles one datagram; returns true when it was an ACK written to the log.
    fn handle_reply(&mut self, dgram: &[u8], now: Instant) -> Result<bool, BenchError> {
        let Ok(msg) = Message::parse(dgram) else {
            self.report.parse_errors += 1;
            return Ok(false);
        };
        let index = match xid_client(msg.xid(), self.args.clients) {
            Some(i)
                if msg.op() == BOOTREPLY && msg.chaddr() == client_mac(self.args.mac_seed, i) =>
            {
                i
            }
            _ => {
                self.report.unmatched += 1;
                return Ok(false);
            }
        };
        let Some(c) = self.clients.get_mut(index as usize) else {
            return Ok(false);
        };
        if c.xid != msg.xid() {
            self.report.unmatched += 1;
            return Ok(false);
        }
        let rtt_us = now.saturating_duration_since(c.sent_at).as_micros() as u64;
        match (c.phase, msg.message_type()) {
            (Phase::Selecting, Some(MessageType::Offer)) => {
                self.lat_offer.record_us(rtt_us);
                self.report.offers += 1;
                c.ip = msg.yiaddr();
                // RFC 2131 §4.3.1: an OFFER carries the server identifier; fall back to the
                // address we sent to when a server omits it.
                c.server_id = msg.server_id().unwrap_or(*self.dest.ip());
                c.phase = Phase::Requesting;
                c.sent_at = now;
                let (xid, ip, server_id) = (c.xid, c.ip, c.server_id);
                // RFC 2131 §4.4.1 / table 5: REQUEST in SELECTING keeps the OFFER's xid, ciaddr
                // zero, and carries the requested address (50) and the chosen server (54).
                let mac = client_mac(self.args.mac_seed, index);
                let mut b = MessageBuilder::request(MessageType::Request, xid, &mac);
                address_fields(self.giaddr, &mut b);
                b.option_ip(code::REQUESTED_IP, ip)
                    .option_ip(code::SERVER_ID, server_id)
                    .option(code::PARAMETER_REQUEST_LIST, &PARAMETER_REQUEST_LIST);
                self.outbox.push(b.finish());
                self.report.requests += 1;
                self.deadlines.push_back(Deadline {
                    at: now + self.timeout,
                    client: index,
                    sent_at: now,
                });
                Ok(false)
            }
            (Phase::Requesting, Some(MessageType::Ack)) => {
                self.lat_ack.record_us(rtt_us);
                self.lat_dora
                    .record_us(now.saturating_duration_since(c.started_at).as_micros() as u64);
                self.report.completed += 1;
                c.phase = Phase::Bound;
                c.ip = msg.yiaddr();
                let ip = c.ip;
                self.in_flight -= 1;
                self.dora_in_flight -= 1;
                remember_bound(&mut self.bound, &self.args, index);
                self.log_ack(ip, index)
            }
            (Phase::Renewing, Some(MessageType::Ack)) => {
                self.lat_renew.record_us(rtt_us);
                self.report.renews_acked += 1;
                c.phase = Phase::Bound;
                c.ip = msg.yiaddr();
                let ip = c.ip;
                self.in_flight -= 1;
                remember_bound(&mut self.bound, &self.args, index);
                self.log_ack(ip, index)
            }
            (Phase::Requesting | Phase::Renewing, Some(MessageType::Nak)) => {
                self.report.naks += 1;
                if c.phase == Phase::Requesting {
                    self.dora_in_flight -= 1;
                }
                c.phase = Phase::Idle;
                self.in_flight -= 1;
                Ok(false)
            }
            _ => {
                self.report.unmatched += 1;
                Ok(false)
            }
        }
    }

    /// Appends "ip mac" to the ACK log (flushed by the caller after the batch).
    fn log_ack(&mut self, ip: Ipv4Addr, index: u32) -> Result<bool, BenchError> {
        let Some(log) = self.ack_log.as_mut() else {
            return Ok(false);
        };
        let mac = format_mac(&client_mac(self.args.mac_seed, index));
        writeln!(log, "{ip} {mac}").map_err(|source| BenchError::AckLog {
            path: self.args.ack_log.clone().unwrap_or_default(),
            source,
        })?;
        self.report.ack_log_lines += 1;
        Ok(true)
    }

    /// Computes the summaries and returns the report.
    fn finish(mut self) -> BenchReport {
        self.report.discover_offer = self.lat_offer.summary();
        self.report.request_ack = self.lat_ack.summary();
        self.report.dora = self.lat_dora.summary();
        self.report.renew_ack = self.lat_renew.summary();
        self.report.finalize();
        self.report
    }
}
