//! Probe-before-OFFER in the serving loop (issue 5): an OFFER of a dynamic address is parked
//! while its probe runs; the loop goes on serving. Free (timeout) → the OFFER is released;
//! in use → the conflict is recorded in the engine and the DISCOVER handled again, which picks
//! another candidate (probed in turn).
//!
//! Without CAP_NET_RAW the sockets cannot be opened: one loud warning at start-up, and the
//! server offers without probing.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;
use std::sync::Arc;

use hyperdhcp_config::Config;
use hyperdhcp_config::{ConflictDetectionConfig, ProbeMethod, ProbeStrategy};
use hyperdhcp_engine::{Decision, Engine, Outcome, RequestContext, UnixTime};
use hyperdhcp_wire::Message;
use ipnet::Ipv4Net;

use crate::probe::{ProbeIo, ProbeKind, ProbeOutcome, Prober, RawProbeIo, Resolved};
use hyperdhcp_control::{Counters, ProbeResult};

/// Most DISCOVERs parked at once; past it new ones are dropped (the client retransmits), so a
/// flood cannot grow memory without bound.
pub const MAX_PARKED: usize = 4_096;
/// Most candidates probed for one DISCOVER before giving up on it (every one answered).
pub const MAX_ATTEMPTS: u32 = 8;
/// Milliseconds between two "probe could not be sent" warnings.
const SEND_WARN_INTERVAL_MS: u64 = 10_000;
/// The warning logged once when probing is enabled but the sockets cannot be opened.
pub const NO_RAW_WARNING: &str = "CONFLICT DETECTION DISABLED: cannot open raw ARP/ICMP sockets \
     (CAP_NET_RAW missing?); offering addresses WITHOUT probing them first";

/// A DISCOVER whose OFFER waits for a probe.
#[derive(Debug)]
struct Parked {
    /// The candidate being probed.
    ip: Ipv4Addr,
    /// Socket the request came in on.
    socket_idx: usize,
    /// Its interface name and addresses then (the request is handled again on a conflict).
    interface: String,
    addrs: Vec<Ipv4Net>,
    /// Datagram source.
    source: SocketAddrV4,
    /// The raw request.
    packet: Vec<u8>,
    /// The decision (OFFER) held back.
    decision: Decision,
    /// Candidates probed so far for this request.
    attempts: u32,
    /// The candidate was found in use and parallel probes of spare candidates are still
    /// running: the request is handled again when one of them ends.
    waiting_spares: bool,
}

/// A spare candidate probed alongside a parked one (parallel strategy): taken out of the pools
/// until its probe ends.
#[derive(Debug)]
struct Spare {
    /// Probe id.
    id: u64,
    /// The spare address.
    ip: Ipv4Addr,
    /// Probe id of the parked request it was taken for.
    owner: u64,
}

/// A decision ready to go into the batch: the socket index and the raw request (for logs,
/// history and events).
#[derive(Debug)]
pub struct Released {
    /// Socket the request came in on.
    pub socket_idx: usize,
    /// Receiving interface name.
    pub interface: String,
    /// The raw request.
    pub packet: Vec<u8>,
    /// The decision to push.
    pub decision: Decision,
}

/// The loop's probing state.
pub struct Probing {
    /// `None` when disabled or when the sockets could not be opened.
    prober: Option<Prober<Box<dyn ProbeIo>>>,
    cfg: ConflictDetectionConfig,
    /// Parked requests by probe id.
    parked: HashMap<u64, Parked>,
    /// Candidates of parked requests (a retransmitted DISCOVER is absorbed).
    parked_ips: HashSet<Ipv4Addr>,
    /// Id of the request parked last (set by `intercept`, read by `retry`).
    last_parked: Option<u64>,
    /// Spare candidates being probed (parallel strategy).
    spares: Vec<Spare>,
    resolved: Vec<Resolved>,
    /// Earliest time (monotonic ms) of the next "probe could not be sent" warning.
    next_send_warn_ms: u64,
    /// Where probe results are counted (the server's counters once attached).
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Probing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probing")
            .field("active", &self.prober.is_some())
            .field("parked", &self.parked.len())
            .finish()
    }
}

impl Probing {
    /// Opens the probe sockets when `conflict_detection.enabled`; logs [`NO_RAW_WARNING`]
    /// (error level) when they cannot be opened.
    pub fn start(config: &Config) -> Self {
        let cfg = config.conflict_detection.clone();
        if !cfg.enabled {
            tracing::info!("conflict detection disabled by configuration");
            return Self::with_io(None, cfg);
        }
        match RawProbeIo::open(&config.server.interfaces) {
            Ok(io) => {
                tracing::info!(
                    timeout_ms = cfg.timeout_ms,
                    cache_ttl = cfg.cache_ttl,
                    "conflict detection: probing offered addresses (ARP on local links, ICMP for relayed)"
                );
                Self::with_io(Some(Box::new(io)), cfg)
            }
            Err(e) => {
                tracing::error!(error = %e, "{NO_RAW_WARNING}");
                eprintln!("WARNING: {NO_RAW_WARNING}: {e}");
                Self::with_io(None, cfg)
            }
        }
    }

    /// Probing over `io` (`None`: never probe).
    pub fn with_io(io: Option<Box<dyn ProbeIo>>, cfg: ConflictDetectionConfig) -> Self {
        let prober =
            io.map(|io| Prober::new(io, cfg.timeout_ms, cfg.cache_ttl.saturating_mul(1_000)));
        Self {
            prober,
            cfg,
            parked: HashMap::new(),
            parked_ips: HashSet::new(),
            last_parked: None,
            spares: Vec::new(),
            resolved: Vec::new(),
            next_send_warn_ms: 0,
            counters: Arc::new(Counters::default()),
        }
    }

    /// Counts probe results into `counters` from now on (the server's shared counters).
    pub fn set_counters(&mut self, counters: Arc<Counters>) {
        self.counters = counters;
    }

    /// True when probes are sent.
    pub fn active(&self) -> bool {
        self.prober.is_some() && self.cfg.enabled
    }

    /// New settings after SIGHUP (the sockets stay as opened at start-up; disabling stops
    /// probing, re-enabling needs a restart if they were never opened).
    pub fn reconfigure(&mut self, config: &Config) {
        self.cfg = config.conflict_detection.clone();
        if let Some(p) = &mut self.prober {
            p.set_timing(
                self.cfg.timeout_ms,
                self.cfg.cache_ttl.saturating_mul(1_000),
            );
        }
    }

    /// Descriptors to poll for probe replies.
    pub fn fds(&self) -> Vec<RawFd> {
        self.prober.as_ref().map(Prober::fds).unwrap_or_default()
    }

    /// Milliseconds until the next probe deadline (for the poll timeout).
    pub fn poll_timeout_ms(&self, now_ms: u64) -> Option<u64> {
        let d = self.prober.as_ref()?.next_deadline()?;
        Some(d.saturating_sub(now_ms))
    }

    /// DISCOVERs waiting for a probe plus spare-candidate probes in flight: the loop polls
    /// while this is non-zero.
    pub fn parked(&self) -> usize {
        self.parked.len() + self.spares.len()
    }

    /// Looks at a fresh decision: returns it to go into the batch now, or `None` when it was
    /// parked behind a probe (or dropped: a repeat of a parked DISCOVER, or too many parked).
    #[allow(clippy::too_many_arguments)]
    pub fn intercept(
        &mut self,
        engine: &mut Engine,
        msg: &Message<'_>,
        packet: &[u8],
        ctx: &RequestContext<'_>,
        socket_idx: usize,
        decision: Decision,
        now_ms: u64,
    ) -> Option<Decision> {
        let active = self.active();
        let Some(prober) = self.prober.as_mut() else {
            return Some(decision);
        };
        match decision.outcome {
            // A DECLINE says the address is in use: a cached "free" is wrong now.
            Outcome::Declined(ip) => {
                prober.invalidate(ip);
                Some(decision)
            }
            Outcome::Acked(ip) if self.cfg.gratuitous_arp && msg.giaddr().is_unspecified() => {
                if let Ok(mac) = <[u8; 6]>::try_from(msg.chaddr().get(..6).unwrap_or(&[]))
                    && let Err(e) = prober.announce(ctx.interface, ip, mac)
                {
                    tracing::debug!(%ip, error = %e, "gratuitous ARP failed");
                }
                Some(decision)
            }
            Outcome::Offered(ip) if active => {
                if engine.is_reserved(ip) && !self.cfg.probe_reservations {
                    return Some(decision);
                }
                if self.parked_ips.contains(&ip) {
                    // A retransmitted DISCOVER: the parked one answers when its probe ends.
                    return None;
                }
                // ARP when the candidate is on a subnet directly attached to the receiving
                // interface (local clients, and relays sitting on that same link); ICMP echo
                // for relayed subnets elsewhere.
                let attached = msg.giaddr().is_unspecified()
                    || ctx.interface_addrs.iter().any(|a| a.contains(&ip));
                let kind = match (attached, self.cfg.method) {
                    (true, ProbeMethod::Auto | ProbeMethod::Arp) => {
                        ProbeKind::Arp(ctx.interface.to_string())
                    }
                    (false, ProbeMethod::Arp) => return Some(decision),
                    _ => ProbeKind::Icmp,
                };
                if prober.cached_free(ip, now_ms) {
                    self.counters
                        .count_probe(kind.method(), ProbeResult::CacheHit);
                    return Some(decision);
                }
                if self.parked.len() >= MAX_PARKED {
                    tracing::debug!(%ip, "too many DISCOVERs waiting for probes: dropped");
                    return None;
                }
                match prober.start(ip, &kind, now_ms) {
                    Ok(id) => {
                        if self.cfg.strategy == ProbeStrategy::Parallel {
                            // Spares go out with the candidate: a conflict then costs no
                            // second timeout (a spare found free is cached and offered next).
                            let n = self.cfg.parallel_count.saturating_sub(1);
                            // `now` 0: every hold still in the table counts.
                            for spare in engine.reserve_candidates(ip, n, 0) {
                                if prober.cached_free(spare, now_ms) {
                                    self.counters
                                        .count_probe(kind.method(), ProbeResult::CacheHit);
                                    engine.release_candidate(spare);
                                    continue;
                                }
                                match prober.start(spare, &kind, now_ms) {
                                    Ok(sid) => self.spares.push(Spare {
                                        id: sid,
                                        ip: spare,
                                        owner: id,
                                    }),
                                    Err(_) => {
                                        self.counters
                                            .count_probe(kind.method(), ProbeResult::Skipped);
                                        engine.release_candidate(spare);
                                    }
                                }
                            }
                        }
                        self.parked_ips.insert(ip);
                        self.last_parked = Some(id);
                        self.parked.insert(
                            id,
                            Parked {
                                ip,
                                socket_idx,
                                interface: ctx.interface.to_string(),
                                addrs: ctx.interface_addrs.to_vec(),
                                source: ctx.source,
                                packet: packet.to_vec(),
                                decision,
                                attempts: 1,
                                waiting_spares: false,
                            },
                        );
                        None
                    }
                    Err(e) => {
                        self.counters
                            .count_probe(kind.method(), ProbeResult::Skipped);
                        // Rare (no route, full neighbour table): warn, but not per packet.
                        if now_ms >= self.next_send_warn_ms {
                            tracing::warn!(%ip, error = %e, "probe could not be sent: offering unprobed");
                            self.next_send_warn_ms = now_ms.saturating_add(SEND_WARN_INTERVAL_MS);
                        }
                        Some(decision)
                    }
                }
            }
            _ => Some(decision),
        }
    }

    /// Ends probes that got an answer or timed out. Free → the parked OFFER is released into
    /// `out`; in use → the conflict is recorded in `engine` and the DISCOVER handled again
    /// (its new OFFER probed in turn, or released when it needs no probe).
    pub fn poll(
        &mut self,
        engine: &mut Engine,
        now_ms: u64,
        now: UnixTime,
        out: &mut Vec<Released>,
    ) {
        let Some(prober) = self.prober.as_mut() else {
            return;
        };
        self.resolved.clear();
        prober.poll(now_ms, &mut self.resolved);
        let resolved = std::mem::take(&mut self.resolved);
        for r in &resolved {
            let result = match r.outcome {
                ProbeOutcome::Free => ProbeResult::Free,
                ProbeOutcome::InUse { .. } => ProbeResult::Conflict,
            };
            self.counters.count_probe(r.method, result);
            if let Some(si) = self.spares.iter().position(|s| s.id == r.id) {
                let spare = self.spares.swap_remove(si);
                match r.outcome {
                    ProbeOutcome::Free => engine.release_candidate(spare.ip),
                    ProbeOutcome::InUse { method, mac } => {
                        let rec = engine.record_conflict(spare.ip, method, mac, now);
                        tracing::warn!(
                            ip = %spare.ip,
                            method = method.as_str(),
                            responder = %rec.mac_display(),
                            count = rec.count,
                            "address conflict (spare candidate): not offering it"
                        );
                    }
                }
                // The owner waited for its spares: handle it again once one is free or none
                // is left.
                let owner_done = r.outcome == ProbeOutcome::Free
                    || !self.spares.iter().any(|s| s.owner == spare.owner);
                if owner_done
                    && self
                        .parked
                        .get(&spare.owner)
                        .is_some_and(|p| p.waiting_spares)
                    && let Some(parked) = self.unpark(spare.owner)
                {
                    self.retry(engine, parked, now_ms, now, out);
                }
                continue;
            }
            if !self.parked.contains_key(&r.id) {
                continue;
            }
            if let ProbeOutcome::InUse { method, mac } = r.outcome
                && self.spares.iter().any(|s| s.owner == r.id)
                && let Some(p) = self.parked.get_mut(&r.id)
            {
                let rec = engine.record_conflict(r.ip, method, mac, now);
                tracing::warn!(
                    ip = %r.ip,
                    method = method.as_str(),
                    responder = %rec.mac_display(),
                    count = rec.count,
                    permanent = rec.permanent,
                    "address conflict: the address answered a probe; waiting for spare candidates"
                );
                p.waiting_spares = true;
                continue;
            }
            let Some(parked) = self.unpark(r.id) else {
                continue;
            };
            match r.outcome {
                ProbeOutcome::Free => out.push(Released {
                    socket_idx: parked.socket_idx,
                    interface: parked.interface,
                    packet: parked.packet,
                    decision: parked.decision,
                }),
                ProbeOutcome::InUse { method, mac } => {
                    let rec = engine.record_conflict(r.ip, method, mac, now);
                    tracing::warn!(
                        ip = %r.ip,
                        method = method.as_str(),
                        responder = %rec.mac_display(),
                        count = rec.count,
                        permanent = rec.permanent,
                        "address conflict: the address answered a probe; not offering it"
                    );
                    self.retry(engine, parked, now_ms, now, out);
                }
            }
        }
        self.resolved = resolved;
    }

    /// Handles a parked DISCOVER again after its candidate was found in use.
    fn retry(
        &mut self,
        engine: &mut Engine,
        parked: Parked,
        now_ms: u64,
        now: UnixTime,
        out: &mut Vec<Released>,
    ) {
        if parked.attempts >= MAX_ATTEMPTS {
            tracing::warn!(
                attempts = parked.attempts,
                "every probed candidate was in use: DISCOVER not answered"
            );
            return;
        }
        let Ok(msg) = Message::parse(&parked.packet) else {
            return;
        };
        let ctx = RequestContext {
            interface: &parked.interface,
            interface_addrs: &parked.addrs,
            source: parked.source,
        };
        let decision = engine.handle(&msg, &ctx, now);
        self.last_parked = None;
        if let Some(decision) = self.intercept(
            engine,
            &msg,
            &parked.packet,
            &ctx,
            parked.socket_idx,
            decision,
            now_ms,
        ) {
            out.push(Released {
                socket_idx: parked.socket_idx,
                interface: parked.interface.clone(),
                packet: parked.packet.clone(),
                decision,
            });
        } else if let Some(id) = self.last_parked
            && let Some(p) = self.parked.get_mut(&id)
        {
            p.attempts = parked.attempts + 1;
        }
    }

    /// Removes a parked request (and its candidate from the index).
    fn unpark(&mut self, id: u64) -> Option<Parked> {
        let p = self.parked.remove(&id)?;
        self.parked_ips.remove(&p.ip);
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    //! The park → probe → release/retry cycle with the real engine and a fake probe I/O.

    use std::sync::{Arc, Mutex};

    use hyperdhcp_engine::ConflictMethod;
    use hyperdhcp_wire::{MessageBuilder, MessageType};

    use super::*;
    use crate::probe::Seen;
    use std::io;

    const T0: UnixTime = 1_700_000_000;
    const FIRST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
    const SECOND: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 11);
    const SQUATTER: [u8; 6] = [2, 0, 0, 0, 0, 0x99];

    /// Probes sent, and addresses that answer.
    #[derive(Default)]
    struct Net {
        sent: Vec<Ipv4Addr>,
        in_use: Vec<Ipv4Addr>,
        queued: Vec<Seen>,
        announced: Vec<(Ipv4Addr, [u8; 6])>,
    }

    #[derive(Clone, Default)]
    struct FakeIo(Arc<Mutex<Net>>);

    impl ProbeIo for FakeIo {
        fn send_arp(&mut self, _: &str, ip: Ipv4Addr) -> io::Result<()> {
            let mut n = self.0.lock().unwrap_or_else(|e| e.into_inner());
            n.sent.push(ip);
            if n.in_use.contains(&ip) {
                n.queued.push(Seen {
                    ip,
                    method: ConflictMethod::Arp,
                    mac: Some(SQUATTER),
                });
            }
            Ok(())
        }
        fn send_icmp(&mut self, ip: Ipv4Addr, _: u16) -> io::Result<()> {
            self.send_arp("", ip)
        }
        fn recv(&mut self, out: &mut Vec<Seen>) {
            out.append(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()).queued);
        }
        fn fds(&self) -> Vec<RawFd> {
            Vec::new()
        }
        fn announce(&mut self, _: &str, ip: Ipv4Addr, mac: [u8; 6]) -> io::Result<()> {
            let mut n = self.0.lock().unwrap_or_else(|e| e.into_inner());
            n.announced.push((ip, mac));
            Ok(())
        }
    }

    fn engine() -> Engine {
        let text = r#"
[server]
interfaces = ["eth0"]
[conflict_detection]
timeout = "500ms"
cache_ttl = "10s"
[[subnet]]
cidr = "198.18.0.0/24"
[[subnet.pool]]
start = "198.18.0.10"
end = "198.18.0.19"
"#;
        Engine::new(
            Arc::new(Config::from_toml_str(text).expect("config")),
            Vec::new(),
            T0,
        )
    }

    fn discover(
        p: &mut Probing,
        e: &mut Engine,
        n: u8,
        now_ms: u64,
    ) -> (Option<Decision>, Vec<u8>) {
        let pkt = MessageBuilder::request(MessageType::Discover, 1, &[2, 0, 0, 0, 0, n]).finish();
        let msg = Message::parse(&pkt).expect("parse");
        let addrs = ["198.18.0.1/24".parse().expect("net")];
        let ctx = RequestContext {
            interface: "eth0",
            interface_addrs: &addrs,
            source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        };
        let d = e.handle(&msg, &ctx, T0);
        (p.intercept(e, &msg, &pkt, &ctx, 0, d, now_ms), pkt.clone())
    }

    fn probing(net: &FakeIo) -> Probing {
        let cfg = engine().config().conflict_detection.clone();
        Probing::with_io(Some(Box::new(net.clone())), cfg)
    }

    #[test]
    fn offer_waits_for_the_timeout_then_cache_skips_the_probe() {
        let net = FakeIo::default();
        let mut p = probing(&net);
        let mut e = engine();
        let (d, _) = discover(&mut p, &mut e, 1, 0);
        assert!(d.is_none(), "parked");
        assert_eq!(p.poll_timeout_ms(100), Some(400));
        // A retransmission while parked is absorbed.
        assert!(discover(&mut p, &mut e, 1, 100).0.is_none());
        let mut out = Vec::new();
        p.poll(&mut e, 499, T0, &mut out);
        assert!(out.is_empty());
        p.poll(&mut e, 500, T0, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].decision.outcome, Outcome::Offered(FIRST));
        // Same client again within the TTL: answered at once, no second probe.
        let counters = Arc::new(Counters::default());
        p.set_counters(Arc::clone(&counters));
        let (d, _) = discover(&mut p, &mut e, 1, 600);
        assert_eq!(d.map(|d| d.outcome), Some(Outcome::Offered(FIRST)));
        assert_eq!(net.0.lock().expect("lock").sent, vec![FIRST]);
        assert_eq!(
            counters.probe(ConflictMethod::Arp, ProbeResult::CacheHit),
            1
        );
    }

    #[test]
    fn conflict_records_and_offers_the_next_candidate() {
        let net = FakeIo::default();
        net.0.lock().expect("lock").in_use.push(FIRST);
        let mut p = probing(&net);
        let counters = Arc::new(Counters::default());
        p.set_counters(Arc::clone(&counters));
        let mut e = engine();
        assert!(discover(&mut p, &mut e, 1, 0).0.is_none());
        let mut out = Vec::new();
        p.poll(&mut e, 1, T0, &mut out);
        assert!(out.is_empty(), "second candidate parked");
        assert_eq!(
            counters.probe(ConflictMethod::Arp, ProbeResult::Conflict),
            1
        );
        let rec = e.conflict(FIRST).expect("recorded");
        assert_eq!((rec.method, rec.mac), (ConflictMethod::Arp, Some(SQUATTER)));
        p.poll(&mut e, 501, T0, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].decision.outcome, Outcome::Offered(SECOND));
        assert_eq!(net.0.lock().expect("lock").sent, vec![FIRST, SECOND]);
        assert_eq!(counters.probe(ConflictMethod::Arp, ProbeResult::Free), 1);
        let kinds: Vec<_> = e
            .take_conflict_changes()
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(kinds, vec![hyperdhcp_engine::ConflictEventKind::Detected]);
    }

    #[test]
    fn parallel_spares_make_a_conflict_cost_one_timeout() {
        let net = FakeIo::default();
        net.0.lock().expect("lock").in_use.push(FIRST);
        let mut cfg = engine().config().conflict_detection.clone();
        cfg.strategy = ProbeStrategy::Parallel;
        cfg.parallel_count = 3;
        let mut p = Probing::with_io(Some(Box::new(net.clone())), cfg);
        let mut e = engine();
        assert!(discover(&mut p, &mut e, 1, 0).0.is_none());
        let third = Ipv4Addr::new(198, 18, 0, 12);
        assert_eq!(net.0.lock().expect("lock").sent, vec![FIRST, SECOND, third]);
        let mut out = Vec::new();
        p.poll(&mut e, 1, T0, &mut out);
        assert!(out.is_empty(), "waits for the spares");
        assert!(e.conflict(FIRST).is_some());
        // At the one timeout the spares are free: the DISCOVER is answered with one of them
        // (from the cache, no new probe).
        p.poll(&mut e, 500, T0, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            matches!(out[0].decision.outcome, Outcome::Offered(ip) if ip == SECOND || ip == third)
        );
        assert_eq!(net.0.lock().expect("lock").sent.len(), 3);
        assert_eq!(p.parked(), 0);
    }

    #[test]
    fn gratuitous_arp_follows_a_local_ack_when_enabled() {
        let net = FakeIo::default();
        let mut cfg = engine().config().conflict_detection.clone();
        cfg.gratuitous_arp = true;
        cfg.enabled = false; // offers unprobed: this test is about the ACK
        let mut p = Probing::with_io(Some(Box::new(net.clone())), cfg);
        let mut e = engine();
        let (d, _) = discover(&mut p, &mut e, 7, 0);
        assert_eq!(d.map(|d| d.outcome), Some(Outcome::Offered(FIRST)));
        let mac = [2, 0, 0, 0, 0, 7];
        let mut b = MessageBuilder::request(MessageType::Request, 1, &mac);
        b.option_ip(hyperdhcp_wire::code::REQUESTED_IP, FIRST)
            .option_ip(
                hyperdhcp_wire::code::SERVER_ID,
                Ipv4Addr::new(198, 18, 0, 1),
            );
        let pkt = b.finish();
        let msg = Message::parse(&pkt).expect("parse");
        let addrs = ["198.18.0.1/24".parse().expect("net")];
        let ctx = RequestContext {
            interface: "eth0",
            interface_addrs: &addrs,
            source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
        };
        let d = e.handle(&msg, &ctx, T0);
        assert_eq!(d.outcome, Outcome::Acked(FIRST));
        assert!(p.intercept(&mut e, &msg, &pkt, &ctx, 0, d, 1).is_some());
        assert_eq!(net.0.lock().expect("lock").announced, vec![(FIRST, mac)]);
    }

    #[test]
    fn without_sockets_offers_go_out_unprobed() {
        let cfg = engine().config().conflict_detection.clone();
        let mut p = Probing::with_io(None, cfg);
        let mut e = engine();
        let (d, _) = discover(&mut p, &mut e, 1, 0);
        assert_eq!(d.map(|d| d.outcome), Some(Outcome::Offered(FIRST)));
    }
}
