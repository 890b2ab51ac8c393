//! The serving loop's observability tap: turns engine decisions into hook events (offers go
//! out at once — they are not durable — lease changes wait for their batch's commit and are
//! dropped if it fails) and feeds the latency histograms and pool snapshot of [`Telemetry`].
//!
//! Batches commit in order on the committer thread, so the events of each submitted batch
//! wait in a FIFO of groups that [`Emitter::finished`] pops as commits come back.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use hyperdhcp_config::Config;
use hyperdhcp_engine::{
    ConflictChange, ConflictEventKind, Decision, Engine, HwAddr, LeaseChange, LeaseState, Outcome,
    UnixTime,
};
use hyperdhcp_events::{Event, EventKind, EventSender};
use hyperdhcp_wire::Message;

use hyperdhcp_control::Telemetry;

use crate::poolwalk::{POOL_WALK_STEP, PoolWalk};

/// Seconds between two pool snapshots for the metrics endpoint (counting leases per pool
/// walks the whole lease table, so not on every scrape nor every second).
pub const METRICS_SNAPSHOT_SECS: UnixTime = 5;

/// Events and first-read time of one batch.
#[derive(Debug, Default)]
struct Group {
    /// When the batch's first request was read (for the request latency histogram).
    read_at: Option<Instant>,
    /// Events waiting for the batch's commit.
    events: Vec<Event>,
}

/// The serving loop's event source and metrics tap. Without hooks or metrics it holds
/// nothing and costs one branch per call.
#[derive(Debug, Default)]
pub struct Emitter {
    sender: Option<EventSender>,
    telemetry: Option<Arc<Telemetry>>,
    /// The batch being filled.
    current: Group,
    /// Submitted batches, oldest first.
    in_flight: VecDeque<Group>,
    /// When the next pool snapshot is due.
    next_snapshot: UnixTime,
    /// The pool snapshot being counted, a slice per loop turn.
    walk: Option<PoolWalk>,
    /// The address the request being handled already held, bound to the same client, before
    /// the engine saw it (an ACK for it is `lease.renew`).
    prior_binding: Option<std::net::Ipv4Addr>,
}

impl Emitter {
    /// A tap publishing events on `sender` (`None`: no hooks, no event is built) and
    /// recording into `telemetry`.
    pub fn new(sender: Option<EventSender>, telemetry: Option<Arc<Telemetry>>) -> Self {
        Self {
            sender,
            telemetry,
            ..Self::default()
        }
    }

    /// A request of the current batch is being read; call before `Engine::handle`. Notes
    /// whether a REQUEST's address is already bound to the same client, so that its ACK is
    /// reported as `lease.renew`.
    pub fn note_read(&mut self, msg: &Message<'_>, engine: &Engine) {
        if self.telemetry.is_some() && self.current.read_at.is_none() {
            self.current.read_at = Some(Instant::now());
        }
        self.prior_binding = None;
        if self.sender.is_some() && msg.message_type() == Some(hyperdhcp_wire::MessageType::Request)
        {
            // RENEWING/REBINDING name the address in ciaddr, SELECTING/INIT-REBOOT in option 50
            // (RFC 2131 §4.3.2).
            let ciaddr = msg.ciaddr();
            let ip = if ciaddr.is_unspecified() {
                msg.requested_ip()
            } else {
                Some(ciaddr)
            };
            self.prior_binding = ip
                .and_then(|ip| engine.lease_by_ip(ip))
                .filter(|l| {
                    l.state == LeaseState::Bound
                        && l.hwaddr.htype == msg.htype()
                        && l.hwaddr.as_bytes() == msg.chaddr()
                })
                .map(|l| l.ip);
        }
    }

    /// `n` replies of the current batch left without waiting for a commit (OFFER, NAK).
    pub fn sent_uncommitted(&self, n: usize) {
        if let (Some(t), Some(read_at)) = (&self.telemetry, self.current.read_at) {
            t.request_latency
                .observe_n(read_at.elapsed().as_secs_f64(), n as u64);
        }
    }

    /// The current batch was handed to the committer.
    pub fn seal(&mut self) {
        let group = std::mem::take(&mut self.current);
        self.in_flight.push_back(group);
    }

    /// The oldest submitted batch's commit came back: `changes` lease changes, taking
    /// `elapsed`, with `acks` replies now sent. Publishes its events when `ok`.
    pub fn finished(
        &mut self,
        ok: bool,
        changes: usize,
        elapsed: std::time::Duration,
        acks: usize,
    ) {
        let group = self.in_flight.pop_front().unwrap_or_default();
        if let Some(t) = &self.telemetry {
            if ok && changes > 0 {
                t.commit_latency.observe_duration(elapsed);
                t.commit_batch.observe(changes as f64);
            }
            if let Some(read_at) = group.read_at {
                t.request_latency
                    .observe_n(read_at.elapsed().as_secs_f64(), acks as u64);
            }
        }
        if ok && let Some(sender) = &mut self.sender {
            for event in group.events {
                sender.publish(event);
            }
        }
    }

    /// The current batch was discarded without a commit: its events did not happen.
    pub fn discard_current(&mut self) {
        self.current = Group::default();
    }

    /// Advances the per-pool lease snapshot by one slice ([`POOL_WALK_STEP`] leases); starts
    /// one when due and publishes it when complete. Call once per loop turn: cheap when no
    /// snapshot is due or in progress.
    pub fn snapshot(&mut self, engine: &Engine, now: UnixTime) {
        let Some(t) = &self.telemetry else {
            return;
        };
        if self.walk.is_none() {
            if now < self.next_snapshot {
                return;
            }
            self.walk = Some(PoolWalk::new(Arc::clone(engine.config())));
        }
        let Some(walk) = self.walk.as_mut() else {
            return;
        };
        if !walk.is_on(engine.config()) {
            // Reloaded mid-walk: the pools may have changed, count again.
            *walk = PoolWalk::new(Arc::clone(engine.config()));
        }
        if let Some(stats) = walk.step(engine, POOL_WALK_STEP) {
            t.pools.store(Arc::new(stats));
            self.walk = None;
            self.next_snapshot = now + METRICS_SNAPSHOT_SECS;
        }
    }

    fn wants(&self, kind: EventKind) -> bool {
        self.sender.as_ref().is_some_and(|s| s.wants(kind))
    }

    /// Events for one request's decision (call after `Engine::handle`).
    pub fn on_decision(
        &mut self,
        msg: &Message<'_>,
        decision: &Decision,
        interface: &str,
        engine: &Engine,
        now: UnixTime,
    ) {
        if self.sender.is_none() {
            return;
        }
        if let Outcome::Offered(ip) = decision.outcome {
            if !self.wants(EventKind::LeaseOffer) {
                return;
            }
            let mut event = match engine.lease_by_ip(ip) {
                Some(lease) => Event::from_lease(EventKind::LeaseOffer, lease, now),
                None => Event {
                    kind: EventKind::LeaseOffer,
                    time: now,
                    ip,
                    hwaddr: HwAddr::new(msg.htype(), msg.chaddr()),
                    client_id: msg.client_id().map(|c| Box::from(c.as_ref())),
                    hostname: None,
                    state: LeaseState::Offered.as_str(),
                    lease_start: now,
                    lease_end: now,
                    subnet: None,
                    interface: None,
                },
            };
            event.subnet = decision.subnet;
            event.interface = Some(interface.into());
            if let Some(sender) = &mut self.sender {
                sender.publish(event);
            }
            return;
        }
        // An ACK extending the binding the client already held (RENEWING, REBINDING, or an
        // INIT-REBOOT confirming it, RFC 2131 §4.3.2) is a renewal; any other ACK a new binding.
        let prior = self.prior_binding.take();
        for change in &decision.changes {
            let LeaseChange::Upsert(lease) = change else {
                continue;
            };
            let kind = match lease.state {
                LeaseState::Bound if prior == Some(lease.ip) => EventKind::LeaseRenew,
                LeaseState::Bound => EventKind::LeaseAck,
                LeaseState::Released => EventKind::LeaseRelease,
                LeaseState::Declined => EventKind::LeaseDecline,
                LeaseState::Expired => EventKind::LeaseExpire,
                LeaseState::Offered => continue,
            };
            if self.wants(kind) {
                let mut event = Event::from_lease(kind, lease, now);
                event.subnet = decision.subnet;
                event.interface = Some(interface.into());
                self.current.events.push(event);
            }
        }
    }

    /// `conflict.detected` / `conflict.resolved` events for conflict table changes (issue 5),
    /// published at once (conflict records are not part of the lease commit). A DECLINE and
    /// a record turning permanent are `conflict.detected` with state `client_decline` /
    /// `permanent`; `hwaddr` is the responder's MAC, `lease_start`/`lease_end` the first and
    /// last detection.
    pub fn on_conflicts(&mut self, changes: &[ConflictChange], now: UnixTime) {
        for c in changes {
            let (kind, state) = match c.kind {
                ConflictEventKind::Detected => (EventKind::ConflictDetected, "held"),
                ConflictEventKind::Decline => (EventKind::ConflictDetected, "client_decline"),
                ConflictEventKind::Permanent => (EventKind::ConflictDetected, "permanent"),
                ConflictEventKind::Resolved => (EventKind::ConflictResolved, "free"),
            };
            if !self.wants(kind) {
                continue;
            }
            let event = Event {
                kind,
                time: now,
                ip: c.conflict.ip,
                hwaddr: c.conflict.mac.map(HwAddr::ethernet),
                client_id: None,
                hostname: None,
                state,
                lease_start: c.conflict.first_seen,
                lease_end: c.conflict.last_seen,
                subnet: None,
                interface: None,
            };
            if let Some(sender) = &mut self.sender {
                sender.publish(event);
            }
        }
    }

    /// `lease.expire` events for the changes `Engine::expire` returned (they commit with the
    /// batch like any other change).
    pub fn on_expired(&mut self, changes: &[LeaseChange], config: &Config, now: UnixTime) {
        if !self.wants(EventKind::LeaseExpire) {
            return;
        }
        for change in changes {
            if let LeaseChange::Upsert(lease) = change
                && lease.state == LeaseState::Expired
            {
                let mut event = Event::from_lease(EventKind::LeaseExpire, lease, now);
                event.subnet = config
                    .subnets
                    .iter()
                    .find(|s| s.cidr.contains(&lease.ip))
                    .map(|s| s.cidr);
                self.current.events.push(event);
            }
        }
    }
}

#[cfg(test)]
mod conflict_event_tests {
    //! Conflict changes become `conflict.*` hook events.

    use std::net::Ipv4Addr;

    use hyperdhcp_engine::{Conflict, ConflictMethod};
    use hyperdhcp_events::{EventStats, bus};

    use super::*;

    fn change(kind: ConflictEventKind) -> ConflictChange {
        ConflictChange {
            kind,
            conflict: Conflict {
                ip: Ipv4Addr::new(198, 18, 0, 10),
                first_seen: 10,
                last_seen: 20,
                method: ConflictMethod::Arp,
                mac: Some([2, 0, 0, 0, 0, 0x99]),
                count: 1,
                permanent: false,
            },
            removed: false,
        }
    }

    #[test]
    fn conflict_changes_are_published_with_the_responder_mac() {
        let mask = EventKind::ConflictDetected.bit() | EventKind::ConflictResolved.bit();
        let (tx, mut rx) = bus(8, mask, Arc::new(EventStats::default()));
        let mut emitter = Emitter::new(Some(tx), None);
        emitter.on_conflicts(
            &[
                change(ConflictEventKind::Detected),
                change(ConflictEventKind::Resolved),
            ],
            30,
        );
        let first = rx.rx.try_recv().expect("detected");
        assert_eq!(first.kind, EventKind::ConflictDetected);
        assert_eq!(first.mac(), "02:00:00:00:00:99");
        assert_eq!((first.lease_start, first.lease_end), (10, 20));
        let second = rx.rx.try_recv().expect("resolved");
        assert_eq!(second.kind, EventKind::ConflictResolved);
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::Arc;
    use std::time::Duration;

    use hyperdhcp_engine::{Lease, Reply, ReplyDest};
    use hyperdhcp_events::{EventReceiver, EventStats, bus};
    use hyperdhcp_wire::{MessageBuilder, MessageType};

    use super::*;

    const IP: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 10);
    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x31];

    fn engine_with(leases: Vec<Lease>) -> Engine {
        let text = "[server]\ninterfaces = [\"srv0\"]\n[[subnet]]\ncidr = \"198.18.0.0/16\"\n[[subnet.pool]]\nstart = \"198.18.1.10\"\nend = \"198.18.1.20\"\n";
        let config = Config::from_toml_str(text).expect("config");
        Engine::new(Arc::new(config), leases, 1_000)
    }

    fn engine() -> Engine {
        engine_with(Vec::new())
    }

    fn bound_lease() -> Lease {
        Lease {
            ip: IP,
            hwaddr: HwAddr::ethernet(MAC),
            client_id: None,
            hostname: None,
            fqdn: None,
            state: LeaseState::Bound,
            starts: 900,
            ends: 4_500,
        }
    }

    fn emitter() -> (Emitter, EventReceiver, Arc<EventStats>) {
        let stats = Arc::new(EventStats::default());
        let (tx, rx) = bus(16, u32::MAX, Arc::clone(&stats));
        (Emitter::new(Some(tx), None), rx, stats)
    }

    fn decision(outcome: Outcome, state: LeaseState) -> Decision {
        let lease = Lease {
            ip: IP,
            hwaddr: HwAddr::ethernet(MAC),
            client_id: None,
            hostname: Some("pc".into()),
            fqdn: None,
            state,
            starts: 1_000,
            ends: 4_600,
        };
        Decision {
            reply: Some(Reply {
                packet: vec![],
                dest: ReplyDest::Broadcast,
                msg_type: MessageType::Ack,
            }),
            changes: vec![LeaseChange::Upsert(lease)],
            outcome,
            subnet: Some("198.18.0.0/16".parse().expect("net")),
        }
    }

    fn request(ciaddr: Ipv4Addr) -> Vec<u8> {
        let mut b = MessageBuilder::request(MessageType::Request, 7, &MAC);
        b.set_ciaddr(ciaddr);
        b.finish()
    }

    #[test]
    fn ack_events_wait_for_their_commit() {
        let (mut em, mut rx, _) = emitter();
        let engine = engine();
        let packet = request(Ipv4Addr::UNSPECIFIED);
        let msg = Message::parse(&packet).expect("parse");
        em.on_decision(
            &msg,
            &decision(Outcome::Acked(IP), LeaseState::Bound),
            "srv0",
            &engine,
            1_000,
        );
        em.seal();
        assert!(rx.rx.try_recv().is_err(), "nothing before the commit");
        em.finished(true, 1, Duration::ZERO, 1);
        let e = rx.rx.try_recv().expect("published after the commit");
        assert_eq!(e.kind, EventKind::LeaseAck);
        assert_eq!(e.ip, IP);
        assert_eq!(e.interface.as_deref(), Some("srv0"));
    }

    #[test]
    fn failed_commit_drops_its_events_and_renewals_are_named() {
        let (mut em, mut rx, stats) = emitter();
        let engine = engine_with(vec![bound_lease()]);
        let packet = request(IP);
        let msg = Message::parse(&packet).expect("parse");
        let d = decision(Outcome::Acked(IP), LeaseState::Bound);
        em.note_read(&msg, &engine);
        em.on_decision(&msg, &d, "srv0", &engine, 1_000);
        em.seal();
        em.note_read(&msg, &engine);
        em.on_decision(&msg, &d, "srv0", &engine, 1_001);
        em.seal();
        em.finished(false, 1, Duration::ZERO, 0);
        assert!(
            rx.rx.try_recv().is_err(),
            "the failed batch's event is gone"
        );
        em.finished(true, 1, Duration::ZERO, 1);
        let e = rx.rx.try_recv().expect("second batch");
        assert_eq!(
            e.kind,
            EventKind::LeaseRenew,
            "the client held this binding"
        );
        assert_eq!(e.time, 1_001);
        assert_eq!(EventStats::get(&stats.published), 1);
    }

    #[test]
    fn ciaddr_alone_is_not_a_renewal() {
        // Another client's binding, or none: the ACK creates a binding, whatever ciaddr says.
        let mut other = bound_lease();
        other.hwaddr = HwAddr::ethernet([2, 0, 0, 0, 0, 0x99]);
        for engine in [engine(), engine_with(vec![other])] {
            let (mut em, mut rx, _) = emitter();
            let packet = request(IP);
            let msg = Message::parse(&packet).expect("parse");
            em.note_read(&msg, &engine);
            let d = decision(Outcome::Acked(IP), LeaseState::Bound);
            em.on_decision(&msg, &d, "srv0", &engine, 1_000);
            em.seal();
            em.finished(true, 1, Duration::ZERO, 1);
            assert_eq!(rx.rx.try_recv().expect("event").kind, EventKind::LeaseAck);
        }
    }

    #[test]
    fn release_decline_and_expire_map_to_their_events() {
        let (mut em, mut rx, _) = emitter();
        let engine = engine();
        let packet = request(IP);
        let msg = Message::parse(&packet).expect("parse");
        em.on_decision(
            &msg,
            &decision(Outcome::Released(IP), LeaseState::Released),
            "srv0",
            &engine,
            1,
        );
        em.on_decision(
            &msg,
            &decision(Outcome::Declined(IP), LeaseState::Declined),
            "srv0",
            &engine,
            1,
        );
        let expired = decision(Outcome::Acked(IP), LeaseState::Expired).changes;
        em.on_expired(&expired, engine.config(), 2);
        em.seal();
        em.finished(true, 3, Duration::ZERO, 0);
        let kinds: Vec<_> = std::iter::from_fn(|| rx.rx.try_recv().ok())
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                EventKind::LeaseRelease,
                EventKind::LeaseDecline,
                EventKind::LeaseExpire
            ]
        );
    }

    #[test]
    fn without_hooks_nothing_is_built() {
        let mut em = Emitter::default();
        let engine = engine();
        let packet = request(IP);
        let msg = Message::parse(&packet).expect("parse");
        em.on_decision(
            &msg,
            &decision(Outcome::Acked(IP), LeaseState::Bound),
            "srv0",
            &engine,
            1,
        );
        assert!(em.current.events.is_empty());
        em.seal();
        em.finished(true, 1, Duration::ZERO, 1);
    }
}
