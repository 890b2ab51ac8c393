//! The in-memory lease table: durable records and in-memory offers by IP, client indexes
//! (client-id or chaddr → IP) and expiry timers, every lookup O(1).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::Ipv4Addr;

use crate::lease::{HwAddr, Lease, LeaseState, UnixTime};

/// A client's identity (RFC 2131 §4.2: the client identifier option when present, else
/// `htype` + `chaddr`), borrowed for lookups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientRef<'a> {
    /// Option 61 value.
    Id(&'a [u8]),
    /// Hardware address.
    Hw(HwAddr),
}

impl<'a> ClientRef<'a> {
    /// Identity of the client a lease belongs to.
    pub(crate) fn of(lease: &'a Lease) -> Self {
        match &lease.client_id {
            Some(cid) => ClientRef::Id(cid),
            None => ClientRef::Hw(lease.hwaddr),
        }
    }

    /// True when `lease` belongs to this client.
    pub(crate) fn owns(self, lease: &Lease) -> bool {
        ClientRef::of(lease) == self
    }
}

/// Client identity → IP of its most recent record.
#[derive(Debug, Default)]
struct ClientIndex {
    by_cid: HashMap<Box<[u8]>, Ipv4Addr>,
    by_hw: HashMap<HwAddr, Ipv4Addr>,
}

impl ClientIndex {
    fn get(&self, c: ClientRef<'_>) -> Option<Ipv4Addr> {
        match c {
            ClientRef::Id(id) => self.by_cid.get(id).copied(),
            ClientRef::Hw(hw) => self.by_hw.get(&hw).copied(),
        }
    }

    fn insert(&mut self, c: ClientRef<'_>, ip: Ipv4Addr) {
        match c {
            ClientRef::Id(id) => {
                if let Some(v) = self.by_cid.get_mut(id) {
                    *v = ip;
                } else {
                    self.by_cid.insert(id.into(), ip);
                }
            }
            ClientRef::Hw(hw) => {
                self.by_hw.insert(hw, ip);
            }
        }
    }

    /// Removes the entry of `c` only if it still points at `ip`.
    fn remove_if(&mut self, c: ClientRef<'_>, ip: Ipv4Addr) {
        match c {
            ClientRef::Id(id) => {
                if self.by_cid.get(id) == Some(&ip) {
                    self.by_cid.remove(id);
                }
            }
            ClientRef::Hw(hw) => {
                if self.by_hw.get(&hw) == Some(&ip) {
                    self.by_hw.remove(&hw);
                }
            }
        }
    }
}

/// Min-heap of `(when, ip)`; entries are validated against the table when they fire.
type Timers = BinaryHeap<Reverse<(UnixTime, Ipv4Addr)>>;

/// Every lease the engine knows, indexed by IP and by client.
#[derive(Debug, Default)]
pub(crate) struct LeaseTable {
    /// Records the store holds (bound, released, expired, declined), at most one per IP.
    durable: HashMap<Ipv4Addr, Lease>,
    /// Outstanding OFFERs (RFC 2131 §4.3.1: not durable), at most one per IP. An offer may
    /// shadow a released/expired record of the same address, which survives the offer.
    offers: HashMap<Ipv4Addr, Lease>,
    /// Client → IP of its latest non-declined durable record.
    durable_idx: ClientIndex,
    /// Client → IP of its offer.
    offer_idx: ClientIndex,
    /// When bound leases run out and declined quarantines end.
    timers: Timers,
    /// When offers go stale.
    offer_timers: Timers,
}

impl LeaseTable {
    /// Builds the table from the store's leases (a later record for the same client wins the
    /// client index, so callers pass them oldest first).
    pub(crate) fn from_leases(leases: Vec<Lease>) -> Self {
        let mut t = LeaseTable {
            durable: HashMap::with_capacity(leases.len()),
            ..LeaseTable::default()
        };
        for lease in leases {
            if lease.state == LeaseState::Offered {
                t.insert_offer(lease);
            } else {
                t.insert_durable(lease);
            }
        }
        t
    }

    /// The durable record at `ip`.
    pub(crate) fn durable(&self, ip: Ipv4Addr) -> Option<&Lease> {
        self.durable.get(&ip)
    }

    /// The offer at `ip`.
    pub(crate) fn offer(&self, ip: Ipv4Addr) -> Option<&Lease> {
        self.offers.get(&ip)
    }

    /// All durable records.
    pub(crate) fn durable_leases(&self) -> impl Iterator<Item = &Lease> {
        self.durable.values()
    }

    /// All offers.
    pub(crate) fn offers(&self) -> impl Iterator<Item = &Lease> {
        self.offers.values()
    }

    /// Every lease, one per IP (an offer hides the record it shadows).
    pub(crate) fn all(&self) -> impl Iterator<Item = &Lease> {
        self.durable
            .values()
            .filter(|l| !self.offers.contains_key(&l.ip))
            .chain(self.offers.values())
    }

    /// Number of IPs with a lease or offer.
    pub(crate) fn len(&self) -> usize {
        self.durable.len()
            + self
                .offers
                .keys()
                .filter(|ip| !self.durable.contains_key(ip))
                .count()
    }

    /// The client's latest non-declined durable record.
    pub(crate) fn durable_for(&self, c: ClientRef<'_>) -> Option<&Lease> {
        let ip = self.durable_idx.get(c)?;
        self.durable
            .get(&ip)
            .filter(|l| c.owns(l) && l.state != LeaseState::Declined)
    }

    /// The client's outstanding offer.
    pub(crate) fn offer_for(&self, c: ClientRef<'_>) -> Option<&Lease> {
        let ip = self.offer_idx.get(c)?;
        self.offers.get(&ip).filter(|l| c.owns(l))
    }

    /// Inserts or replaces the durable record for `lease.ip`; returns the previous one.
    pub(crate) fn insert_durable(&mut self, lease: Lease) -> Option<Lease> {
        let ip = lease.ip;
        if matches!(lease.state, LeaseState::Bound | LeaseState::Declined) {
            self.timers.push(Reverse((lease.ends, ip)));
        }
        let old = self.durable.remove(&ip);
        if let Some(old) = &old {
            self.durable_idx.remove_if(ClientRef::of(old), ip);
        }
        if lease.state != LeaseState::Declined {
            self.durable_idx.insert(ClientRef::of(&lease), ip);
        }
        self.durable.insert(ip, lease);
        old
    }

    /// Forgets the durable record at `ip`.
    pub(crate) fn remove_durable(&mut self, ip: Ipv4Addr) -> Option<Lease> {
        let old = self.durable.remove(&ip)?;
        self.durable_idx.remove_if(ClientRef::of(&old), ip);
        Some(old)
    }

    /// Records an offer (replacing any offer at the same IP).
    pub(crate) fn insert_offer(&mut self, lease: Lease) {
        let ip = lease.ip;
        self.offer_timers.push(Reverse((lease.ends, ip)));
        if let Some(old) = self.offers.remove(&ip) {
            self.offer_idx.remove_if(ClientRef::of(&old), ip);
        }
        self.offer_idx.insert(ClientRef::of(&lease), ip);
        self.offers.insert(ip, lease);
    }

    /// Extends the offer at `ip` until `ends`.
    pub(crate) fn refresh_offer(&mut self, ip: Ipv4Addr, ends: UnixTime) {
        if let Some(o) = self.offers.get_mut(&ip) {
            o.ends = ends;
            self.offer_timers.push(Reverse((ends, ip)));
        }
    }

    /// Withdraws the offer at `ip`.
    pub(crate) fn remove_offer(&mut self, ip: Ipv4Addr) -> Option<Lease> {
        let old = self.offers.remove(&ip)?;
        self.offer_idx.remove_if(ClientRef::of(&old), ip);
        Some(old)
    }

    /// Next durable record whose timer fired (bound past `ends`, declined past hold).
    pub(crate) fn pop_due(&mut self, now: UnixTime) -> Option<Ipv4Addr> {
        while let Some(&Reverse((when, ip))) = self.timers.peek() {
            if when > now {
                return None;
            }
            self.timers.pop();
            let live = self.durable.get(&ip).is_some_and(|l| {
                l.ends == when && matches!(l.state, LeaseState::Bound | LeaseState::Declined)
            });
            if live {
                return Some(ip);
            }
        }
        None
    }

    /// Next offer that went stale.
    pub(crate) fn pop_stale_offer(&mut self, now: UnixTime) -> Option<Ipv4Addr> {
        while let Some(&Reverse((when, ip))) = self.offer_timers.peek() {
            if when > now {
                return None;
            }
            self.offer_timers.pop();
            if self.offers.get(&ip).is_some_and(|o| o.ends == when) {
                return Some(ip);
            }
        }
        None
    }
}
