//! Address pools: a bitmap of never-used addresses per pool (with a cursor), a queue of
//! reusable (released/expired) addresses per subnet, and each subnet's reservations.
//!
//! Allocation never scans the lease table: fresh addresses come from the bitmap (O(1)
//! amortized thanks to the cursor, 64 addresses per word), reused ones from the front of the
//! subnet's queue (oldest first). A /16 costs 1 KiB of bitmap; free addresses have no heap
//! object of their own.

use hyperdhcp_wire::RelayAgentInfo;
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

use crate::lease::{HwAddr, LeaseState, UnixTime};
use crate::table::{ClientRef, IpMap, LeaseTable};
use hyperdhcp_config::{Config, SubnetConfig};

/// Bits per bitmap word.
const WORD_BITS: u32 = u64::BITS;

/// One inclusive address range with a bitmap of its never-used, unheld addresses.
#[derive(Debug)]
pub(crate) struct Pool {
    /// First address, as a number.
    start: u32,
    /// Last address (inclusive), as a number.
    end: u32,
    /// Bit set = address free and without any lease record (never used, or record removed).
    bits: Vec<u64>,
    /// Word index where the next search starts (the "next candidate").
    cursor: usize,
    /// Number of set bits, so exhaustion is answered without searching.
    free: u64,
}

impl Pool {
    /// A pool with every address of `start..=end` free.
    pub(crate) fn new(start: Ipv4Addr, end: Ipv4Addr) -> Self {
        let (start, end) = (u32::from(start), u32::from(end));
        let len = u64::from(end.saturating_sub(start)) + 1;
        let words = len.div_ceil(u64::from(WORD_BITS)) as usize;
        let mut bits = vec![u64::MAX; words];
        let tail = (len % u64::from(WORD_BITS)) as u32;
        if let (Some(last), true) = (bits.last_mut(), tail != 0) {
            *last = (1u64 << tail) - 1;
        }
        Self {
            start,
            end: end.max(start),
            bits,
            cursor: 0,
            free: len,
        }
    }

    /// True when `ip` lies in this pool's range.
    pub(crate) fn contains(&self, ip: Ipv4Addr) -> bool {
        (self.start..=self.end).contains(&u32::from(ip))
    }

    /// Word index and mask of `ip` (caller checked `contains`).
    fn slot(&self, ip: Ipv4Addr) -> (usize, u64) {
        let off = u32::from(ip) - self.start;
        ((off / WORD_BITS) as usize, 1u64 << (off % WORD_BITS))
    }

    /// Marks `ip` as taken; returns true when it was free in the bitmap.
    pub(crate) fn claim(&mut self, ip: Ipv4Addr) -> bool {
        if !self.contains(ip) {
            return false;
        }
        let (w, m) = self.slot(ip);
        match self.bits.get_mut(w) {
            Some(word) if *word & m != 0 => {
                *word &= !m;
                self.free -= 1;
                true
            }
            _ => false,
        }
    }

    /// Returns `ip` to the bitmap (it has no lease record any more).
    pub(crate) fn put_back(&mut self, ip: Ipv4Addr) {
        if !self.contains(ip) {
            return;
        }
        let (w, m) = self.slot(ip);
        if let Some(word) = self.bits.get_mut(w)
            && *word & m == 0
        {
            *word |= m;
            self.free += 1;
        }
    }

    /// True when `ip` is free in the bitmap.
    #[cfg(test)]
    pub(crate) fn is_free(&self, ip: Ipv4Addr) -> bool {
        if !self.contains(ip) {
            return false;
        }
        let (w, m) = self.slot(ip);
        self.bits.get(w).is_some_and(|word| word & m != 0)
    }

    /// Takes the next free address at or after the cursor (wrapping once).
    pub(crate) fn take(&mut self) -> Option<Ipv4Addr> {
        if self.free == 0 {
            return None;
        }
        let n = self.bits.len();
        for step in 0..n {
            let w = (self.cursor + step) % n;
            let Some(word) = self.bits.get_mut(w) else {
                continue;
            };
            if *word != 0 {
                let bit = word.trailing_zeros();
                *word &= !(1u64 << bit);
                self.free -= 1;
                self.cursor = w;
                let ip = self.start + (w as u32) * WORD_BITS + bit;
                return Some(Ipv4Addr::from(ip));
            }
        }
        None
    }

    /// Number of never-used free addresses.
    pub(crate) fn free_count(&self) -> u64 {
        self.free
    }
}

/// Runtime state of one configured subnet: its pools, reuse queue and reservations.
#[derive(Debug, Default)]
pub(crate) struct SubnetPools {
    /// The subnet's pools, in config order.
    pub(crate) pools: Vec<Pool>,
    /// Released/expired addresses that may be reused, oldest first: `(record.starts, ip)`.
    /// Entries are validated lazily when popped (the record may have changed since).
    recycled: VecDeque<(UnixTime, Ipv4Addr)>,
    /// Reservation index (into `SubnetConfig::reservations`) by chaddr.
    res_by_mac: HashMap<HwAddr, usize>,
    /// Reservation index by client identifier (option 61).
    res_by_cid: HashMap<Box<[u8]>, usize>,
    /// Reservation index by relay agent circuit-id (option 82 sub-option 1).
    res_by_circuit: HashMap<Box<[u8]>, usize>,
    /// Reservation index by relay agent remote-id (option 82 sub-option 2).
    res_by_remote: HashMap<Box<[u8]>, usize>,
    /// Reservations by option 82 subscriber-id (RFC 3993).
    res_by_subscriber: HashMap<Box<[u8]>, usize>,
    /// Reservation index by reserved address.
    res_by_ip: IpMap<usize>,
}

impl SubnetPools {
    /// The reservation (index into the subnet config) of the client, by client-id, then MAC,
    /// then the relay agent's circuit-id, then its remote-id (RFC 3046), then its subscriber-id
    /// (RFC 3993).
    pub(crate) fn reservation_for(
        &self,
        client: ClientRef<'_>,
        hw: &HwAddr,
        relay: &RelayAgentInfo<'_>,
    ) -> Option<usize> {
        if let ClientRef::Id(cid) = client
            && let Some(&i) = self.res_by_cid.get(cid)
        {
            return Some(i);
        }
        self.res_by_mac
            .get(hw)
            .or_else(|| relay.circuit_id.and_then(|c| self.res_by_circuit.get(c)))
            .or_else(|| relay.remote_id.and_then(|r| self.res_by_remote.get(r)))
            // RFC 3993 §3: the subscriber-id names the subscriber, whatever port it uses.
            .or_else(|| {
                relay
                    .subscriber_id
                    .and_then(|s| self.res_by_subscriber.get(s))
            })
            .copied()
    }

    /// The reservation owning `ip`, if any.
    pub(crate) fn reservation_at(&self, ip: Ipv4Addr) -> Option<usize> {
        self.res_by_ip.get(&ip).copied()
    }

    /// True when `ip` is in one of this subnet's pools.
    pub(crate) fn in_pool(&self, ip: Ipv4Addr) -> bool {
        self.pools.iter().any(|p| p.contains(ip))
    }
}

/// All subnets' pools plus a sorted range map to find the pool of an address in O(log n).
#[derive(Debug, Default)]
pub(crate) struct PoolSet {
    /// Per subnet, same order as `Config::subnets`.
    pub(crate) subnets: Vec<SubnetPools>,
    /// `(start, end, subnet, pool)` sorted by start; pools are disjoint.
    ranges: Vec<(u32, u32, usize, usize)>,
}

impl PoolSet {
    /// Builds pools and reservations for `config`, then marks every address the table holds
    /// (O(leases + pools); no per-address work for free addresses beyond the bitmap fill).
    pub(crate) fn build(config: &Config, table: &LeaseTable) -> Self {
        let mut set = PoolSet::default();
        for (si, subnet) in config.subnets.iter().enumerate() {
            let sp = build_subnet(subnet);
            for (pi, p) in sp.pools.iter().enumerate() {
                set.ranges.push((p.start, p.end, si, pi));
            }
            set.subnets.push(sp);
        }
        set.ranges.sort_unstable_by_key(|r| r.0);

        // Addresses that must never be handed out dynamically: network and broadcast
        // addresses, the configured server id, reserved addresses inside pools.
        for (si, subnet) in config.subnets.iter().enumerate() {
            let net = subnet.cidr;
            let mut never = Vec::new();
            if net.prefix_len() <= 30 {
                never.push(net.network());
                never.push(net.broadcast());
            }
            never.extend(config.server.server_id);
            never.extend(subnet.reservations.iter().map(|r| r.ip));
            for ip in never {
                if let Some(sp) = set.subnets.get_mut(si) {
                    for p in &mut sp.pools {
                        p.claim(ip);
                    }
                }
            }
        }

        for lease in table.durable_leases() {
            let Some((si, pi)) = set.locate(lease.ip) else {
                continue;
            };
            let Some(sp) = set.subnets.get_mut(si) else {
                continue;
            };
            if let Some(p) = sp.pools.get_mut(pi) {
                p.claim(lease.ip);
            }
            if matches!(lease.state, LeaseState::Released | LeaseState::Expired)
                && sp.reservation_at(lease.ip).is_none()
                && table.offer(lease.ip).is_none()
            {
                sp.recycled.push_back((lease.starts, lease.ip));
            }
        }
        for lease in table.offers() {
            set.claim(lease.ip);
        }
        for sp in &mut set.subnets {
            sp.recycled.make_contiguous().sort_unstable();
        }
        set
    }

    /// `(subnet, pool)` of the pool containing `ip`.
    pub(crate) fn locate(&self, ip: Ipv4Addr) -> Option<(usize, usize)> {
        let v = u32::from(ip);
        let i = self.ranges.partition_point(|r| r.0 <= v);
        let (start, end, si, pi) = *self.ranges.get(i.checked_sub(1)?)?;
        (start..=end).contains(&v).then_some((si, pi))
    }

    /// Removes `ip` from its pool's bitmap (it is now held by a lease or offer).
    pub(crate) fn claim(&mut self, ip: Ipv4Addr) {
        if let Some((si, pi)) = self.locate(ip)
            && let Some(p) = self.subnets.get_mut(si).and_then(|s| s.pools.get_mut(pi))
        {
            p.claim(ip);
        }
    }

    /// Makes `ip` allocatable again after whatever held it went away. `table` must already
    /// reflect the new state: no record → bitmap; released/expired record → reuse queue.
    pub(crate) fn free(&mut self, ip: Ipv4Addr, table: &LeaseTable) {
        let Some((si, pi)) = self.locate(ip) else {
            return;
        };
        let Some(sp) = self.subnets.get_mut(si) else {
            return;
        };
        if sp.reservation_at(ip).is_some() || table.offer(ip).is_some() {
            return;
        }
        match table.durable(ip) {
            None => {
                if let Some(p) = sp.pools.get_mut(pi) {
                    p.put_back(ip);
                }
            }
            Some(l) if matches!(l.state, LeaseState::Released | LeaseState::Expired) => {
                sp.recycled.push_back((l.starts, ip));
            }
            Some(_) => {}
        }
    }

    /// Picks a free address in subnet `si`: never-used first (pool order), then the oldest
    /// released/expired one. Stale queue entries are dropped as they are met.
    pub(crate) fn allocate(&mut self, si: usize, table: &LeaseTable) -> Option<Ipv4Addr> {
        self.allocate_where(si, table, |_| true)
    }

    /// [`PoolSet::allocate`] restricted to the pools whose index passes `allow` (pools limited
    /// to client classes). Queue entries of other pools stay queued.
    pub(crate) fn allocate_where(
        &mut self,
        si: usize,
        table: &LeaseTable,
        allow: impl Fn(usize) -> bool,
    ) -> Option<Ipv4Addr> {
        let sp = self.subnets.get_mut(si)?;
        for (_, p) in sp.pools.iter_mut().enumerate().filter(|(j, _)| allow(*j)) {
            if let Some(ip) = p.take() {
                return Some(ip);
            }
        }
        let mut i = 0;
        while let Some(&(stamp, ip)) = sp.recycled.get(i) {
            let reusable = table.offer(ip).is_none()
                && sp.reservation_at(ip).is_none()
                && sp.in_pool(ip)
                && table.durable(ip).is_some_and(|l| {
                    matches!(l.state, LeaseState::Released | LeaseState::Expired)
                        && l.starts == stamp
                });
            if !reusable {
                sp.recycled.remove(i);
                continue;
            }
            if sp
                .pools
                .iter()
                .position(|p| p.contains(ip))
                .is_some_and(&allow)
            {
                sp.recycled.remove(i);
                return Some(ip);
            }
            i += 1;
        }
        None
    }

    /// A never-used free address of subnet `si` from a pool whose index passes `allow`.
    pub(crate) fn allocate_fresh_in(
        &mut self,
        si: usize,
        allow: impl Fn(usize) -> bool,
    ) -> Option<Ipv4Addr> {
        let sp = self.subnets.get_mut(si)?;
        sp.pools
            .iter_mut()
            .enumerate()
            .filter(|(j, _)| allow(*j))
            .find_map(|(_, p)| p.take())
    }

    /// Free addresses of subnet `si`: never-used ones exactly, reusable ones approximately
    /// (queue length, may include stale entries).
    pub(crate) fn free_estimate(&self, si: usize) -> (u64, usize) {
        self.subnets.get(si).map_or((0, 0), |sp| {
            (
                sp.pools.iter().map(Pool::free_count).sum(),
                sp.recycled.len(),
            )
        })
    }
}

/// Pools and reservation indexes of one subnet (bitmaps all free).
fn build_subnet(subnet: &SubnetConfig) -> SubnetPools {
    let mut sp = SubnetPools {
        pools: subnet
            .pools
            .iter()
            .map(|p| Pool::new(p.start, p.end))
            .collect(),
        ..SubnetPools::default()
    };
    for (i, r) in subnet.reservations.iter().enumerate() {
        if let Some(mac) = r.mac {
            sp.res_by_mac.entry(mac).or_insert(i);
        }
        if let Some(cid) = &r.client_id {
            sp.res_by_cid.entry(cid.clone()).or_insert(i);
        }
        if let Some(c) = &r.circuit_id {
            sp.res_by_circuit.entry(c.clone()).or_insert(i);
        }
        if let Some(id) = &r.remote_id {
            sp.res_by_remote.entry(id.clone()).or_insert(i);
        }
        if let Some(id) = &r.subscriber_id {
            sp.res_by_subscriber.entry(id.clone()).or_insert(i);
        }
        sp.res_by_ip.entry(r.ip).or_insert(i);
    }
    sp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn pool_takes_every_address_once_then_exhausts() {
        let mut p = Pool::new(ip("198.18.0.10"), ip("198.18.0.139"));
        assert_eq!(p.free_count(), 130);
        let mut seen = std::collections::HashSet::new();
        while let Some(a) = p.take() {
            assert!(p.contains(a));
            assert!(seen.insert(a), "{a} handed out twice");
        }
        assert_eq!(seen.len(), 130);
        assert_eq!(p.free_count(), 0);
        p.put_back(ip("198.18.0.77"));
        assert!(p.is_free(ip("198.18.0.77")));
        assert_eq!(p.take(), Some(ip("198.18.0.77")));
        assert_eq!(p.take(), None);
    }

    #[test]
    fn claim_is_idempotent_and_respects_range() {
        let mut p = Pool::new(ip("198.18.1.0"), ip("198.18.1.255"));
        assert!(p.claim(ip("198.18.1.5")));
        assert!(!p.claim(ip("198.18.1.5")));
        assert!(!p.claim(ip("198.18.2.5")));
        assert_eq!(p.free_count(), 255);
        p.put_back(ip("198.18.1.5"));
        p.put_back(ip("198.18.1.5"));
        assert_eq!(p.free_count(), 256);
    }

    #[test]
    fn large_pool_is_cheap() {
        // A /15-sized pool: 128 Ki addresses, 2 Ki words.
        let mut p = Pool::new(ip("198.18.0.0"), ip("198.19.255.255"));
        assert_eq!(p.free_count(), 1 << 17);
        assert_eq!(p.take(), Some(ip("198.18.0.0")));
    }
}
