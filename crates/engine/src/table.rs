//! The in-memory lease table: durable records and in-memory offers by IP, client indexes
//! (client-id or chaddr → IP) and expiry timers, every lookup O(1).

use std::cmp::Reverse;
use std::collections::hash_map::{Entry, RandomState};
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
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
///
/// Keys are 64-bit digests of the identity under a per-process random SipHash key, so
/// client-chosen bytes cannot flood one bucket and no identity bytes are copied. Every hit
/// is checked against the lease's own identity (`ClientRef::owns`); a digest collision
/// (probability 2^-64 per pair) could only cost a client its address affinity.
#[derive(Debug, Default)]
struct ClientIndex {
    /// The random SipHash key.
    keys: RandomState,
    /// Digest → IP.
    map: HashMap<u64, Ipv4Addr, BuildHasherDefault<IpHasher>>,
}

impl ClientIndex {
    fn with_capacity(n: usize) -> Self {
        Self {
            keys: RandomState::new(),
            map: HashMap::with_capacity_and_hasher(n, Default::default()),
        }
    }

    fn digest(&self, c: ClientRef<'_>) -> u64 {
        match c {
            ClientRef::Id(id) => self.keys.hash_one((0u8, id)),
            ClientRef::Hw(hw) => self.keys.hash_one((1u8, hw)),
        }
    }

    fn get(&self, c: ClientRef<'_>) -> Option<Ipv4Addr> {
        self.map.get(&self.digest(c)).copied()
    }

    fn insert(&mut self, c: ClientRef<'_>, ip: Ipv4Addr) {
        let d = self.digest(c);
        self.map.insert(d, ip);
    }

    /// Removes the entry of `c` only if it still points at `ip`.
    fn remove_if(&mut self, c: ClientRef<'_>, ip: Ipv4Addr) {
        if let Entry::Occupied(e) = self.map.entry(self.digest(c))
            && *e.get() == ip
        {
            e.remove();
        }
    }
}

/// Min-heap of `(when, ip)`; entries are validated against the table when they fire.
type Timers = BinaryHeap<Reverse<(UnixTime, Ipv4Addr)>>;

/// Multiplier of the FxHash mixing step.
const FX_SEED: u64 = 0x517c_c1b7_2722_0a95;

/// A fast non-cryptographic hasher (FxHash mixing, murmur finalizer) for maps keyed by IP
/// address. Addresses are
/// chosen by the server, not by clients, so collision flooding is not a concern there;
/// maps keyed by client-controlled bytes keep the default SipHash.
#[derive(Default, Clone, Copy)]
pub(crate) struct IpHasher(u64);

impl Hasher for IpHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            if let Some(dst) = word.get_mut(..chunk.len()) {
                dst.copy_from_slice(chunk);
            }
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(FX_SEED);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }

    /// MurmurHash3's fmix64 finalizer: without it the low bits hashbrown indexes by would
    /// depend only on the low input bits, i.e. the constant leading octets of the address.
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// A map keyed by IPv4 address using [`IpHasher`].
pub(crate) type IpMap<V> = HashMap<Ipv4Addr, V, BuildHasherDefault<IpHasher>>;

/// Durable records by IP, stored densely: the records themselves in one `Vec` (no empty
/// buckets around 72-byte leases) and an [`IpMap`] from address to slot. At a million leases
/// this is about 90 MB instead of about 170 MB for an `IpMap<Lease>` (whose table rounds up to
/// 2^21 buckets), and start-up adopts the store's `Vec` as the slot array without moving a
/// lease. Removal swaps the last record into the hole. Invariant: `slots[by_ip[ip]].ip == ip`.
#[derive(Debug, Default)]
struct DurableMap {
    /// The records, in no particular order.
    slots: Vec<Lease>,
    /// Address → index into `slots`.
    by_ip: IpMap<u32>,
}

impl DurableMap {
    /// Adopts `leases` as the slot array. Gives them back if an address repeats (the store's
    /// primary key rules that out) or there are more than `u32::MAX` of them.
    fn from_unique(leases: Vec<Lease>) -> Result<Self, Vec<Lease>> {
        let mut by_ip = IpMap::with_capacity_and_hasher(leases.len(), Default::default());
        for (i, lease) in leases.iter().enumerate() {
            let Ok(i) = u32::try_from(i) else {
                return Err(leases);
            };
            if by_ip.insert(lease.ip, i).is_some() {
                return Err(leases);
            }
        }
        Ok(Self {
            slots: leases,
            by_ip,
        })
    }

    fn get(&self, ip: &Ipv4Addr) -> Option<&Lease> {
        let i = *self.by_ip.get(ip)?;
        self.slots.get(i as usize)
    }

    fn get_mut(&mut self, ip: &Ipv4Addr) -> Option<&mut Lease> {
        let i = *self.by_ip.get(ip)?;
        self.slots.get_mut(i as usize)
    }

    fn contains_key(&self, ip: &Ipv4Addr) -> bool {
        self.by_ip.contains_key(ip)
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    fn values(&self) -> std::slice::Iter<'_, Lease> {
        self.slots.iter()
    }

    /// Inserts or replaces the record for `ip` (which must be `lease.ip`); returns the old one.
    fn insert(&mut self, ip: Ipv4Addr, lease: Lease) -> Option<Lease> {
        debug_assert_eq!(ip, lease.ip);
        if let Some(slot) = self.get_mut(&ip) {
            return Some(std::mem::replace(slot, lease));
        }
        // Slot indexes are u32: past 4 billion records the map cannot grow (never reached:
        // that is every IPv4 address).
        let i = u32::try_from(self.slots.len()).ok()?;
        self.by_ip.insert(ip, i);
        self.slots.push(lease);
        None
    }

    /// Removes and returns the record for `ip`; the last record moves into its slot.
    fn remove(&mut self, ip: &Ipv4Addr) -> Option<Lease> {
        let i = self.by_ip.remove(ip)?;
        let idx = i as usize;
        if idx >= self.slots.len() {
            return None;
        }
        let old = self.slots.swap_remove(idx);
        if let Some(moved) = self.slots.get(idx) {
            self.by_ip.insert(moved.ip, i);
        }
        Some(old)
    }
}

/// Every lease the engine knows, indexed by IP and by client.
#[derive(Debug, Default)]
pub(crate) struct LeaseTable {
    /// Records the store holds (bound, released, expired, declined), at most one per IP.
    durable: DurableMap,
    /// Outstanding OFFERs (RFC 2131 §4.3.1: not durable), at most one per IP. An offer may
    /// shadow a released/expired record of the same address, which survives the offer.
    offers: IpMap<Lease>,
    /// Client → IP of its latest non-declined durable record.
    durable_idx: ClientIndex,
    /// Client → IP of its offer.
    offer_idx: ClientIndex,
    /// When bound leases run out and declined quarantines end.
    timers: Timers,
    /// When offers go stale.
    offer_timers: Timers,
}

/// Precedence of a client's records for its index entry: bound first, then most recent.
fn rank(l: &Lease) -> (bool, UnixTime) {
    (l.state == LeaseState::Bound, l.starts)
}

impl LeaseTable {
    /// Builds the table from the store's leases in O(n). When a client has several records,
    /// its index entry goes to a bound one, else the most recent. The store's `Vec` becomes the
    /// record array as it is (no lease is copied); if an address repeats, the later record wins.
    pub(crate) fn from_leases(mut leases: Vec<Lease>) -> Self {
        let mut t = LeaseTable::default();
        for offer in leases.extract_if(.., |l| l.state == LeaseState::Offered) {
            t.insert_offer(offer);
        }
        t.durable = DurableMap::from_unique(leases).unwrap_or_else(|leases| {
            let mut map = DurableMap::default();
            for lease in leases {
                map.insert(lease.ip, lease);
            }
            map
        });
        t.durable_idx = ClientIndex::with_capacity(t.durable.len());
        let mut timers = Vec::with_capacity(t.durable.len());
        for lease in t.durable.values() {
            let ip = lease.ip;
            if matches!(lease.state, LeaseState::Bound | LeaseState::Declined) {
                timers.push(Reverse((lease.ends, ip)));
            }
            if lease.state == LeaseState::Declined {
                continue;
            }
            let d = t.durable_idx.digest(ClientRef::of(lease));
            match t.durable_idx.map.entry(d) {
                Entry::Vacant(e) => {
                    e.insert(ip);
                }
                Entry::Occupied(mut e) => {
                    let keep = t.durable.get(e.get()).is_some_and(|cur| {
                        ClientRef::of(cur) == ClientRef::of(lease) && rank(cur) > rank(lease)
                    });
                    if !keep {
                        e.insert(ip);
                    }
                }
            }
        }
        t.timers = BinaryHeap::from(timers);
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

    /// The durable records in storage order (not sorted; a removal moves the last record into
    /// the removed one's place).
    pub(crate) fn durable_slots(&self) -> &[Lease] {
        self.durable.values().as_slice()
    }

    /// True when `ip` has an outstanding offer.
    pub(crate) fn has_offer(&self, ip: Ipv4Addr) -> bool {
        self.offers.contains_key(&ip)
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
        // A renewal (same client, neither record declined): the client index already points
        // here, so replace the record in place instead of unindexing and reindexing it.
        if let Some(slot) = self.durable.get_mut(&ip)
            && slot.state != LeaseState::Declined
            && lease.state != LeaseState::Declined
            && ClientRef::of(slot) == ClientRef::of(&lease)
        {
            return Some(std::mem::replace(slot, lease));
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

    /// Changes the state and times of the durable record at `ip` in place (the client and
    /// the indexes stay); returns the updated record.
    pub(crate) fn set_state(
        &mut self,
        ip: Ipv4Addr,
        state: LeaseState,
        starts: UnixTime,
        ends: UnixTime,
    ) -> Option<&Lease> {
        let lease = self.durable.get_mut(&ip)?;
        debug_assert!(!matches!(
            state,
            LeaseState::Bound | LeaseState::Declined | LeaseState::Offered
        ));
        lease.state = state;
        lease.starts = starts;
        lease.ends = ends;
        Some(lease)
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    fn lease(last: u8, mac: u8, state: LeaseState, starts: UnixTime) -> Lease {
        Lease {
            ip: Ipv4Addr::new(198, 18, 0, last),
            hwaddr: HwAddr::ethernet([2, 0, 0, 0, 0, mac]),
            client_id: None,
            hostname: None,
            fqdn: None,
            state,
            starts,
            ends: starts + 100,
        }
    }

    #[test]
    fn durable_map_removal_moves_the_last_record_and_keeps_every_lookup() {
        let leases: Vec<Lease> = (1..=5).map(|i| lease(i, i, LeaseState::Bound, 0)).collect();
        let mut m = DurableMap::from_unique(leases).unwrap();
        let ip = |i| Ipv4Addr::new(198, 18, 0, i);
        assert_eq!(m.remove(&ip(2)).map(|l| l.ip), Some(ip(2)));
        assert_eq!(m.remove(&ip(2)), None);
        assert_eq!(m.remove(&ip(5)).map(|l| l.ip), Some(ip(5)));
        assert_eq!(m.len(), 3);
        for i in [1, 3, 4] {
            assert_eq!(m.get(&ip(i)).map(|l| l.ip), Some(ip(i)));
        }
        let replaced = m.insert(ip(3), lease(3, 9, LeaseState::Released, 1));
        assert_eq!(
            replaced.map(|l| l.hwaddr),
            Some(HwAddr::ethernet([2, 0, 0, 0, 0, 3]))
        );
        assert_eq!(m.insert(ip(7), lease(7, 7, LeaseState::Bound, 0)), None);
        assert_eq!(m.len(), 4);
        assert_eq!(m.get(&ip(3)).map(|l| l.state), Some(LeaseState::Released));
        assert!(m.contains_key(&ip(7)) && !m.contains_key(&ip(5)));
        assert_eq!(m.values().count(), 4);
    }

    #[test]
    fn start_up_with_a_repeated_address_keeps_the_later_record() {
        let leases = vec![
            lease(1, 1, LeaseState::Bound, 10),
            lease(2, 2, LeaseState::Bound, 10),
            lease(1, 3, LeaseState::Released, 20),
        ];
        let t = LeaseTable::from_leases(leases);
        assert_eq!(t.len(), 2);
        let l = t.durable(Ipv4Addr::new(198, 18, 0, 1)).unwrap();
        assert_eq!(l.hwaddr, HwAddr::ethernet([2, 0, 0, 0, 0, 3]));
        let gone = ClientRef::Hw(HwAddr::ethernet([2, 0, 0, 0, 0, 1]));
        assert!(t.durable_for(gone).is_none());
        let c2 = ClientRef::Hw(HwAddr::ethernet([2, 0, 0, 0, 0, 2]));
        assert_eq!(
            t.durable_for(c2).map(|l| l.ip),
            Some(Ipv4Addr::new(198, 18, 0, 2))
        );
    }

    #[test]
    fn start_up_points_a_client_at_its_bound_record() {
        // One client, a bound record and a more recent released one: the index picks bound.
        let leases = vec![
            lease(1, 1, LeaseState::Bound, 10),
            lease(2, 1, LeaseState::Released, 20),
            lease(3, 2, LeaseState::Offered, 20),
        ];
        let t = LeaseTable::from_leases(leases);
        let c = ClientRef::Hw(HwAddr::ethernet([2, 0, 0, 0, 0, 1]));
        assert_eq!(
            t.durable_for(c).map(|l| l.ip),
            Some(Ipv4Addr::new(198, 18, 0, 1))
        );
        let o = ClientRef::Hw(HwAddr::ethernet([2, 0, 0, 0, 0, 2]));
        assert_eq!(
            t.offer_for(o).map(|l| l.ip),
            Some(Ipv4Addr::new(198, 18, 0, 3))
        );
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn ip_hasher_spreads_sequential_addresses_over_low_bits() {
        // hashbrown picks buckets by the low bits: sequential addresses of one /16 must not
        // collapse onto a few of them (as plain FxHash does).
        let build = BuildHasherDefault::<IpHasher>::default();
        let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
        let buckets: HashSet<u64> = (0..1u32 << 16)
            .map(|i| build.hash_one(Ipv4Addr::from(base + i)) & 0xffff)
            .collect();
        // A random function fills about 63% of the buckets.
        assert!(buckets.len() > 35_000, "{} buckets used", buckets.len());
    }
}
