//! The [`Engine`]: lease table + allocator + message dispatch.

use std::borrow::Cow;
use std::net::Ipv4Addr;
use std::sync::Arc;

use hyperdhcp_wire::{BOOTREQUEST, Message, MessageType, RelayAgentInfo, code};
use ipnet::Ipv4Net;

use crate::classes::{self, ClassSet};
use crate::conflict::{Conflict, ConflictChange, ConflictMethod, ConflictTable};
use crate::decision::{Decision, IgnoreReason, Outcome, RequestContext};
use crate::lease::{HwAddr, Lease, LeaseChange, LeaseState, UnixTime};
use crate::pool::PoolSet;
use crate::reply::OptionSource;
use crate::select::{select_subnet, server_id};
use crate::table::{ClientRef, LeaseTable};
use crate::{bootp, decline, discover, inform, release, request};
use hyperdhcp_config::{ClassConfig, Config, PoolConfig, ReservationConfig, SubnetConfig};

/// The DHCP state machine. Deterministic: same inputs, same outputs.
pub struct Engine {
    /// The config in force; an `Arc` so the shell can share it and `handle` can hold it
    /// while mutating the table.
    config: Arc<Config>,
    /// Every lease and offer, indexed by IP and client.
    pub(crate) table: LeaseTable,
    /// Free addresses and reservations, rebuilt from `config` + `table` on reconfigure.
    pub(crate) pools: PoolSet,
    /// Addresses found in use (probes, DECLINE), held back from allocation.
    pub(crate) conflicts: ConflictTable,
}

/// One request being handled: the message plus what the engine derived from it.
#[derive(Clone)]
pub(crate) struct Incoming<'r, 'a> {
    /// The parsed request.
    pub(crate) msg: &'r Message<'a>,
    /// How it arrived.
    pub(crate) ctx: &'r RequestContext<'r>,
    /// `htype` + `chaddr`.
    pub(crate) hw: HwAddr,
    /// Option 61, when present and non-empty.
    pub(crate) cid: Option<Cow<'a, [u8]>>,
    /// Option 82's raw value (RFC 3046), when relayed with it.
    pub(crate) rai: Option<Cow<'a, [u8]>>,
    /// Index of the selected subnet.
    pub(crate) subnet: Option<usize>,
    /// The classes the request matched (evaluated once, in `handle`).
    pub(crate) classes: ClassSet,
    /// The current time.
    pub(crate) now: UnixTime,
}

impl Incoming<'_, '_> {
    /// The client's identity: option 61 when present, else hardware address (RFC 2131 §4.2).
    pub(crate) fn client(&self) -> ClientRef<'_> {
        match &self.cid {
            Some(cid) => ClientRef::Id(cid),
            None => ClientRef::Hw(self.hw),
        }
    }

    /// Option 82 sub-options (empty when the request carried none).
    pub(crate) fn relay(&self) -> RelayAgentInfo<'_> {
        self.rai
            .as_deref()
            .map(RelayAgentInfo::parse)
            .unwrap_or_default()
    }

    /// The selected subnet's config.
    pub(crate) fn subnet_cfg<'c>(&self, config: &'c Config) -> Option<&'c SubnetConfig> {
        config.subnets.get(self.subnet?)
    }

    /// The selected subnet's network.
    pub(crate) fn cidr(&self, config: &Config) -> Option<Ipv4Net> {
        self.subnet_cfg(config).map(|s| s.cidr)
    }

    /// Option 54 for replies to this request.
    pub(crate) fn server_id(&self, config: &Config) -> Ipv4Addr {
        server_id(config, self.subnet, self.ctx)
    }

    /// A lease record for this client.
    pub(crate) fn lease(
        &self,
        ip: Ipv4Addr,
        state: LeaseState,
        starts: UnixTime,
        ends: UnixTime,
    ) -> Lease {
        Lease {
            ip,
            hwaddr: self.hw,
            client_id: self.cid.as_deref().map(Box::from),
            hostname: None,
            fqdn: None,
            state,
            starts,
            ends,
        }
    }
}

/// Derives what every handler needs from a request: identity, relay info, subnet, classes.
/// `None` when chaddr is longer than 16 bytes.
pub(crate) fn incoming<'r, 'a>(
    config: &Config,
    msg: &'r Message<'a>,
    ctx: &'r RequestContext<'r>,
    now: UnixTime,
) -> Option<Incoming<'r, 'a>> {
    let hw = HwAddr::new(msg.htype(), msg.chaddr())?;
    // RFC 2132 §9.14: a client identifier is at least 2 bytes; ignore an empty one.
    let cid = msg.client_id().filter(|c| !c.is_empty());
    let rai = msg.relay_agent_info();
    let mut inc = Incoming {
        msg,
        ctx,
        hw,
        cid,
        subnet: select_subnet(config, msg, rai.as_deref(), ctx),
        classes: 0,
        rai,
        now,
    };
    if !config.classes.is_empty() {
        inc.classes = classes::evaluate(&config.classes, msg, &inc.hw, &inc.relay());
    }
    // A shared network: the client's address (ciaddr, else option 50) may be in another
    // subnet of the same link than the one selection found first.
    if let Some(si) = inc.subnet {
        let named = Some(msg.ciaddr())
            .filter(|a| !a.is_unspecified())
            .or_else(|| msg.requested_ip());
        if let Some(a) = named
            && let Some(sj) = config
                .shared_with(si)
                .find(|&j| config.subnets.get(j).is_some_and(|s| s.cidr.contains(&a)))
        {
            inc.subnet = Some(sj);
        }
    }
    Some(inc)
}

/// True when the first pool of `subnet` matching `which` is open to the client: it names no
/// classes, or one of the `matched` classes.
pub(crate) fn pool_allows(
    subnet: &SubnetConfig,
    classes: &[ClassConfig],
    matched: ClassSet,
    which: impl Fn(&PoolConfig) -> bool,
) -> bool {
    subnet.pools.iter().find(|p| which(p)).is_none_or(|p| {
        p.classes.is_empty()
            || classes
                .iter()
                .enumerate()
                .take(64)
                .any(|(i, c)| matched & (1 << i) != 0 && p.classes.contains(&c.name))
    })
}

/// A decision with no reply and no change.
pub(crate) fn ignored(reason: IgnoreReason, subnet: Option<Ipv4Net>) -> Decision {
    Decision {
        reply: None,
        changes: Vec::new(),
        outcome: Outcome::Ignored(reason),
        subnet,
    }
}

impl Engine {
    /// Builds the engine from a validated config and the leases loaded from the store
    /// (O(n) in the number of leases; rebuilds indexes and free lists).
    pub fn new(config: Arc<Config>, leases: Vec<Lease>, now: UnixTime) -> Self {
        let _ = now;
        let table = LeaseTable::from_leases(leases);
        let pools = PoolSet::build(&config, &table);
        Self {
            config,
            table,
            pools,
            conflicts: ConflictTable::default(),
        }
    }

    /// Swaps in a new config (SIGHUP), keeping every lease. Pools and reservations are
    /// rebuilt; leases outside every new pool stay in the table but are no longer renewed.
    pub fn reconfigure(&mut self, config: Arc<Config>, now: UnixTime) {
        let _ = now;
        self.pools = PoolSet::build(&config, &self.table);
        self.config = config;
    }

    /// The config in force.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Handles one parsed request.
    pub fn handle(
        &mut self,
        msg: &Message<'_>,
        ctx: &RequestContext<'_>,
        now: UnixTime,
    ) -> Decision {
        // Holding our own handle lets handlers borrow the config while mutating the table.
        let config = Arc::clone(&self.config);
        // RFC 2131 §4.1: servers only process BOOTREQUEST messages.
        if msg.op() != BOOTREQUEST {
            return ignored(IgnoreReason::NotRequest, None);
        }
        let Some(msg_type) = msg.message_type() else {
            // RFC 1542 §2: a BOOTREQUEST without option 53 is a BOOTP client.
            if !msg.has_option(code::MESSAGE_TYPE)
                && let Some(inc) = incoming(&config, msg, ctx, now)
            {
                return bootp::handle(self, &config, &inc);
            }
            return ignored(IgnoreReason::BadMessageType, None);
        };
        let Some(inc) = incoming(&config, msg, ctx, now) else {
            return ignored(IgnoreReason::MissingField, None);
        };
        match msg_type {
            MessageType::Discover => discover::handle(self, &config, &inc),
            MessageType::Request => request::handle(self, &config, &inc),
            MessageType::Decline => decline::handle(self, &config, &inc),
            MessageType::Release => release::handle(self, &config, &inc),
            MessageType::Inform => inform::handle(self, &config, &inc),
            MessageType::Offer | MessageType::Ack | MessageType::Nak => {
                ignored(IgnoreReason::BadMessageType, inc.cidr(&config))
            }
        }
    }

    /// Reclaims leases whose time ran out and frees stale offers; returns the durable changes
    /// (bound → expired). Call periodically (e.g. every second).
    pub fn expire(&mut self, now: UnixTime) -> Vec<LeaseChange> {
        // Offers are not durable: a stale one just returns its address (RFC 2131 §4.3.1).
        while let Some(ip) = self.table.pop_stale_offer(now) {
            self.table.remove_offer(ip);
            self.pools.free(ip, &self.table);
        }
        for ip in self.conflicts.expire(now) {
            self.pools.free(ip, &self.table);
        }
        let mut changes = Vec::new();
        while let Some(ip) = self.table.pop_due(now) {
            let Some(lease) = self.table.durable(ip) else {
                continue;
            };
            match lease.state {
                // RFC 2131 §4.4.5: at expiry the client gives up the address; keep the
                // record so a returning client gets the same one.
                LeaseState::Bound => {
                    let ends = lease.ends;
                    if let Some(expired) = self.table.set_state(ip, LeaseState::Expired, ends, ends)
                    {
                        changes.push(LeaseChange::Upsert(expired.clone()));
                    }
                    self.pools.free(ip, &self.table);
                }
                // Quarantine over: the address is free again and the record is forgotten.
                LeaseState::Declined => {
                    self.table.remove_durable(ip);
                    self.pools.free(ip, &self.table);
                    changes.push(LeaseChange::Remove(ip));
                }
                _ => {}
            }
        }
        changes
    }

    /// All leases currently known (any state), one per address (an outstanding offer hides
    /// the released/expired record it shadows).
    pub fn leases(&self) -> impl Iterator<Item = &Lease> {
        self.table.all()
    }

    /// The durable lease records (any state) in storage order, for walks that go a slice at a
    /// time: positions are stable while the engine is not changed, and a removal moves the
    /// last record into the removed one's place. An outstanding offer for the same address
    /// shadows its record in [`Engine::leases`] ([`Engine::has_offer`]).
    pub fn durable_leases(&self) -> &[Lease] {
        self.table.durable_slots()
    }

    /// True when `ip` has an outstanding offer.
    pub fn has_offer(&self, ip: Ipv4Addr) -> bool {
        self.table.has_offer(ip)
    }

    /// The outstanding offers.
    pub fn offers(&self) -> impl Iterator<Item = &Lease> {
        self.table.offers()
    }

    /// The lease or offer for `ip`.
    pub fn lease_by_ip(&self, ip: Ipv4Addr) -> Option<&Lease> {
        self.table.offer(ip).or_else(|| self.table.durable(ip))
    }

    /// Number of addresses with a lease record or an offer.
    pub fn lease_count(&self) -> usize {
        self.table.len()
    }

    /// Free addresses of the subnet `cidr`: (never used, released/expired awaiting reuse —
    /// an upper bound). `None` when no such subnet is configured.
    pub fn free_addresses(&self, cidr: Ipv4Net) -> Option<(u64, usize)> {
        let si = self.config.subnets.iter().position(|s| s.cidr == cidr)?;
        Some(self.pools.free_estimate(si))
    }

    // === conflicts (issue 5) ===

    /// Records that `ip` was found in use at `now` (a probe answered, or a client declined
    /// it): withdraws any outstanding offer of it and holds it back from allocation for
    /// `conflict_detection.hold_time` (`server.decline_hold` for a DECLINE), permanently once
    /// it reached `max_conflict_count`.
    /// The change is queued for [`Engine::take_conflict_changes`].
    pub fn record_conflict(
        &mut self,
        ip: Ipv4Addr,
        method: ConflictMethod,
        mac: Option<[u8; 6]>,
        now: UnixTime,
    ) -> Conflict {
        let cd = &self.config.conflict_detection;
        // A DECLINE's hold is the quarantine the server always had (`server.decline_hold`),
        // so the lease record and the conflict record end together.
        let hold = match method {
            ConflictMethod::ClientDecline => self.config.server.decline_hold,
            ConflictMethod::Arp | ConflictMethod::Icmp => cd.hold_time,
        };
        let max = cd.max_conflict_count;
        // The offer (if any) was made on the strength of this address being free; it is not.
        self.table.remove_offer(ip);
        self.pools.claim(ip);
        self.conflicts
            .record(ip, method, mac, now, hold, max)
            .clone()
    }

    /// Replaces the conflict table with `records` (from the store, at start-up or after an
    /// operator cleared some): holds are recomputed from each record's `last_seen`, and
    /// addresses no longer held return to the pools.
    pub fn load_conflicts(&mut self, records: Vec<Conflict>, now: UnixTime) {
        let hold = self.config.conflict_detection.hold_time;
        let decline_hold = self.config.server.decline_hold;
        for ip in self.conflicts.replace(records, now, hold, decline_hold) {
            self.pools.free(ip, &self.table);
        }
        // Held addresses leave the pools (claim is idempotent).
        let held: Vec<Ipv4Addr> = self
            .conflicts
            .all()
            .iter()
            .map(|c| c.ip)
            .filter(|&ip| self.conflicts.is_held(ip, now))
            .collect();
        for ip in held {
            self.pools.claim(ip);
        }
    }

    /// Forgets the conflict record of `ip` (operator clear); the address is allocatable again.
    /// Returns the record that was removed.
    pub fn clear_conflict(&mut self, ip: Ipv4Addr) -> Option<Conflict> {
        let (rec, was_held) = self.conflicts.clear(ip)?;
        if was_held {
            self.pools.free(ip, &self.table);
        }
        Some(rec)
    }

    /// True when `ip` is held back for a conflict at `now`.
    pub fn conflict_held(&self, ip: Ipv4Addr, now: UnixTime) -> bool {
        self.conflicts.is_held(ip, now)
    }

    /// The conflict record of `ip`.
    pub fn conflict(&self, ip: Ipv4Addr) -> Option<&Conflict> {
        self.conflicts.get(ip)
    }

    /// Every conflict record, by address.
    pub fn conflicts(&self) -> Vec<&Conflict> {
        self.conflicts.all()
    }

    /// Conflict changes since the last call, oldest first: records to persist (upsert, or
    /// delete when `removed`) and the events to announce (`conflict.*`).
    pub fn take_conflict_changes(&mut self) -> Vec<ConflictChange> {
        std::mem::take(&mut self.conflicts.changes)
    }

    /// Takes up to `n` free addresses of the subnet containing `near` out of the pools for
    /// parallel probing (`conflict_detection.strategy = "parallel"`), skipping held ones. They
    /// are offered to nobody; give each back with [`Engine::release_candidate`] once its probe
    /// found it free (or record a conflict for it).
    pub fn reserve_candidates(&mut self, near: Ipv4Addr, n: usize, now: UnixTime) -> Vec<Ipv4Addr> {
        let Some(si) = self
            .config
            .subnets
            .iter()
            .position(|s| s.cidr.contains(&near))
        else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.pools.allocate(si, &self.table) {
                Some(ip) if self.conflicts.is_held(ip, now) => {}
                Some(ip) => out.push(ip),
                None => break,
            }
        }
        out
    }

    /// Returns a candidate taken by [`Engine::reserve_candidates`] to the pools.
    pub fn release_candidate(&mut self, ip: Ipv4Addr) {
        self.pools.free(ip, &self.table);
    }

    /// True when `ip` is a reserved address of some subnet (reservations are not probed by
    /// default: `conflict_detection.probe_reservations`).
    pub fn is_reserved(&self, ip: Ipv4Addr) -> bool {
        self.pools
            .locate(ip)
            .and_then(|(si, _)| self.pools.subnets.get(si))
            .or_else(|| {
                self.config
                    .subnets
                    .iter()
                    .position(|s| s.cidr.contains(&ip))
                    .and_then(|si| self.pools.subnets.get(si))
            })
            .is_some_and(|sp| sp.reservation_at(ip).is_some())
    }

    // === allocation helpers shared by the message handlers ===

    /// The reservation of the requesting client in the selected subnet.
    pub(crate) fn reservation<'c>(
        &self,
        config: &'c Config,
        inc: &Incoming<'_, '_>,
    ) -> Option<&'c ReservationConfig> {
        let si = inc.subnet?;
        let i = self
            .pools
            .subnets
            .get(si)?
            .reservation_for(inc.client(), &inc.hw, &inc.relay())?;
        config.subnets.get(si)?.reservations.get(i)
    }

    /// Option sources for a reply to `inc`.
    pub(crate) fn option_source<'c>(
        &self,
        config: &'c Config,
        inc: &Incoming<'_, '_>,
    ) -> OptionSource<'c> {
        OptionSource {
            subnet: inc.subnet_cfg(config),
            reservation: self.reservation(config, inc),
            classes: &config.classes,
            matched: inc.classes,
        }
    }

    /// True when `ip` may be bound to the client in subnet `si` now: inside the subnet, a
    /// host address, inside a pool unless it is the client's reservation, not reserved for
    /// someone else, not offered to or bound by another client, not declined.
    pub(crate) fn available_for(
        &self,
        config: &Config,
        inc: &Incoming<'_, '_>,
        ip: Ipv4Addr,
    ) -> bool {
        let (Some(si), Some(s)) = (inc.subnet, inc.subnet_cfg(config)) else {
            return false;
        };
        let Some(sp) = self.pools.subnets.get(si) else {
            return false;
        };
        let net = s.cidr;
        if !net.contains(&ip)
            || (net.prefix_len() <= 30 && (ip == net.network() || ip == net.broadcast()))
        {
            return false;
        }
        let client = inc.client();
        match sp.reservation_at(ip) {
            Some(r) => {
                let mine = sp.reservation_for(client, &inc.hw, &inc.relay()) == Some(r)
                    || self.holds_relay_reservation(config, inc, si, r, ip);
                if !mine {
                    return false;
                }
            }
            None => {
                if !sp.in_pool(ip)
                    || config.server.server_id == Some(ip)
                    || !pool_allows(s, &config.classes, inc.classes, |p| {
                        p.start <= ip && ip <= p.end
                    })
                {
                    return false;
                }
            }
        }
        if self.conflicts.is_held(ip, inc.now) {
            return false;
        }
        if self.table.offer(ip).is_some_and(|o| !client.owns(o)) {
            return false;
        }
        match self.table.durable(ip) {
            None => true,
            Some(l) if l.state == LeaseState::Declined => false,
            Some(l) if client.owns(l) => true,
            Some(l) => matches!(l.state, LeaseState::Released | LeaseState::Expired),
        }
    }

    /// True when reservation `r` of subnet `si` matches by relay ids only and the client
    /// already holds its bound lease at `ip`: a unicast renewal (RFC 2131 §4.4.5) does not
    /// pass the relay, so it carries no option 82 to match again.
    fn holds_relay_reservation(
        &self,
        config: &Config,
        inc: &Incoming<'_, '_>,
        si: usize,
        r: usize,
        ip: Ipv4Addr,
    ) -> bool {
        let by_relay_only = config
            .subnets
            .get(si)
            .and_then(|s| s.reservations.get(r))
            .is_some_and(|res| {
                res.mac.is_none()
                    && res.client_id.is_none()
                    && (res.circuit_id.is_some()
                        || res.remote_id.is_some()
                        || res.subscriber_id.is_some())
            });
        by_relay_only
            && inc.rai.is_none()
            && self
                .table
                .durable(ip)
                .is_some_and(|l| l.state == LeaseState::Bound && inc.client().owns(l))
    }

    /// Binds `ip` to the client (RFC 2131 §4.3.2 ACK): withdraws its offer, records a bound
    /// lease for the subnet's lease time and returns it.
    pub(crate) fn bind(&mut self, config: &Config, inc: &Incoming<'_, '_>, ip: Ipv4Addr) -> Lease {
        let lease_time = inc.subnet_cfg(config).map_or(0, |s| s.lease_time);
        self.bind_until(config, inc, ip, inc.now.saturating_add(lease_time))
    }

    /// [`Engine::bind`] with an explicit end (`UnixTime::MAX`: an infinite BOOTP lease).
    pub(crate) fn bind_until(
        &mut self,
        config: &Config,
        inc: &Incoming<'_, '_>,
        ip: Ipv4Addr,
        ends: UnixTime,
    ) -> Lease {
        let hostname = self.hostname(config, inc);
        if let Some(oip) = self.table.offer_for(inc.client()).map(|o| o.ip) {
            self.table.remove_offer(oip);
            if oip != ip {
                self.pools.free(oip, &self.table);
            }
        }
        let mut lease = inc.lease(ip, LeaseState::Bound, inc.now, ends);
        lease.hostname = hostname;
        // RFC 4702 §2: option 81 kept with its flags (S, O, E, N) for later DNS updates.
        lease.fqdn = inc
            .msg
            .client_fqdn()
            .and_then(|raw| hyperdhcp_wire::ClientFqdn::parse(&raw))
            .map(|f| {
                Box::new(crate::LeaseFqdn {
                    flags: f.flags,
                    name: f.name.into_boxed_str(),
                })
            });
        self.table.insert_durable(lease.clone());
        self.pools.claim(ip);
        lease
    }

    /// Host name for the client's lease: the reservation's, else the client's option 12.
    fn hostname(&self, config: &Config, inc: &Incoming<'_, '_>) -> Option<Box<str>> {
        if let Some(h) = self
            .reservation(config, inc)
            .and_then(|r| r.hostname.as_deref())
        {
            return Some(h.into());
        }
        let from_12 = inc.msg.option(code::HOSTNAME).and_then(|raw| {
            std::str::from_utf8(&raw)
                .ok()
                .filter(|s| !s.is_empty())
                .map(Box::from)
        });
        // RFC 4702 §2.3: else the client's FQDN (option 81), kept for later DNS updates.
        from_12.or_else(|| {
            let fqdn = hyperdhcp_wire::ClientFqdn::parse(&inc.msg.client_fqdn()?)?;
            (!fqdn.name.is_empty()).then(|| fqdn.name.into_boxed_str())
        })
    }

    /// Withdraws the client's outstanding offer, returning its address to the pool.
    pub(crate) fn withdraw_offer(&mut self, inc: &Incoming<'_, '_>) {
        if let Some(ip) = self.table.offer_for(inc.client()).map(|o| o.ip) {
            self.table.remove_offer(ip);
            self.pools.free(ip, &self.table);
        }
    }
}

#[cfg(test)]
mod conflict_tests;
#[cfg(test)]
mod tests;
