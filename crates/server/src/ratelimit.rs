//! Request rate limiting before the engine (RFC 5765 §3: starvation by request floods):
//! token buckets per client hardware address, per link (relay giaddr or receiving
//! interface) and overall. The per-MAC and per-link tables are fixed-size and hash-indexed,
//! so a flood of random MACs cannot grow memory: a new key simply takes over its slot.

use std::hash::BuildHasher;
use std::net::Ipv4Addr;

use hyperdhcp_config::{Rate, RateLimitConfig};

/// Slots of the per-MAC table (a power of two).
pub const MAC_SLOTS: usize = 8_192;
/// Slots of the per-link table (a power of two).
pub const LINK_SLOTS: usize = 256;

/// One token bucket: refilled continuously at `rate.per_sec`, capped at `rate.burst`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Tokens available.
    tokens: f64,
    /// When `tokens` was last brought up to date (monotonic ms).
    at_ms: u64,
}

impl Bucket {
    /// A full bucket.
    fn full(rate: Rate, now_ms: u64) -> Self {
        Self {
            tokens: rate.burst,
            at_ms: now_ms,
        }
    }

    /// Refills, then takes one token if there is one.
    fn take(&mut self, rate: Rate, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.at_ms) as f64 / 1_000.0;
        self.tokens = (self.tokens + elapsed * rate.per_sec).min(rate.burst);
        self.at_ms = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A fixed-size, direct-mapped table of buckets keyed by `K`.
#[derive(Debug)]
struct KeyedBuckets<K> {
    /// `(key, bucket)` per slot; `None` until first used.
    slots: Vec<Option<(K, Bucket)>>,
    /// Keyed hashing, so an attacker cannot aim many keys at one slot.
    hasher: std::collections::hash_map::RandomState,
}

impl<K: Eq + std::hash::Hash + Copy> KeyedBuckets<K> {
    fn new(slots: usize) -> Self {
        Self {
            slots: vec![None; slots],
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Takes a token from `key`'s bucket; a key found in no slot gets a full bucket in its
    /// slot (evicting whatever was there).
    fn take(&mut self, key: K, rate: Rate, now_ms: u64) -> bool {
        let len = self.slots.len().max(1);
        let i = (self.hasher.hash_one(key) as usize) & (len - 1);
        let Some(slot) = self.slots.get_mut(i) else {
            return true;
        };
        match slot {
            Some((k, bucket)) if *k == key => bucket.take(rate, now_ms),
            _ => {
                let mut bucket = Bucket::full(rate, now_ms);
                let ok = bucket.take(rate, now_ms);
                *slot = Some((key, bucket));
                ok
            }
        }
    }
}

/// Which limit dropped a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    /// `per_mac`.
    Mac,
    /// `per_link`.
    Link,
    /// `global`.
    Global,
}

/// A client hardware address as a fixed-size key (htype + up to 16 bytes).
type MacKey = (u8, [u8; 16]);

/// Where a request came from: a relay (giaddr) or a local interface (socket index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum LinkKey {
    Relay(Ipv4Addr),
    Local(usize),
}

/// The limits of `[server.rate_limit]` and their buckets.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    macs: KeyedBuckets<MacKey>,
    links: KeyedBuckets<LinkKey>,
    global: Option<Bucket>,
}

impl RateLimiter {
    /// Buckets for `config` (all full).
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            macs: KeyedBuckets::new(if config.per_mac.is_some() {
                MAC_SLOTS
            } else {
                0
            }),
            links: KeyedBuckets::new(if config.per_link.is_some() {
                LINK_SLOTS
            } else {
                0
            }),
            global: None,
        }
    }

    /// True when no limit is configured (the serving loop skips the check).
    pub fn is_off(&self) -> bool {
        self.config == RateLimitConfig::default()
    }

    /// Applies a new config (SIGHUP); buckets restart full when the config changed.
    pub fn reconfigure(&mut self, config: RateLimitConfig) {
        if config != self.config {
            *self = Self::new(config);
        }
    }

    /// Checks one request: per MAC first (a repeating client is stopped before it costs the
    /// shared buckets anything), then per link, then overall.
    pub fn check(
        &mut self,
        htype: u8,
        chaddr: &[u8],
        giaddr: Ipv4Addr,
        socket: usize,
        now_ms: u64,
    ) -> Result<(), Limited> {
        if let Some(rate) = self.config.per_mac {
            let mut key = [0u8; 16];
            let n = chaddr.len().min(16);
            if let (Some(dst), Some(src)) = (key.get_mut(..n), chaddr.get(..n)) {
                dst.copy_from_slice(src);
            }
            if !self.macs.take((htype, key), rate, now_ms) {
                return Err(Limited::Mac);
            }
        }
        if let Some(rate) = self.config.per_link {
            let key = if giaddr.is_unspecified() {
                LinkKey::Local(socket)
            } else {
                LinkKey::Relay(giaddr)
            };
            if !self.links.take(key, rate, now_ms) {
                return Err(Limited::Link);
            }
        }
        if let Some(rate) = self.config.global {
            let bucket = self
                .global
                .get_or_insert_with(|| Bucket::full(rate, now_ms));
            if !bucket.take(rate, now_ms) {
                return Err(Limited::Global);
            }
        }
        Ok(())
    }
}

/// Offsets in the fixed BOOTP header (RFC 2131 §2).
const HTYPE_AT: usize = 1;
/// hlen.
const HLEN_AT: usize = 2;
/// giaddr.
const GIADDR_AT: usize = 24;
/// chaddr.
const CHADDR_AT: usize = 28;
/// Length of chaddr.
const CHADDR_LEN: usize = 16;

/// Checks a datagram from its fixed header only (htype, hlen, giaddr, chaddr), before any
/// parsing; datagrams too short to have one pass (the parser rejects them).
pub fn check_datagram(
    limiter: &mut RateLimiter,
    data: &[u8],
    socket: usize,
    now_ms: u64,
) -> Result<(), Limited> {
    let (Some(&htype), Some(&hlen), Some(giaddr), Some(chaddr)) = (
        data.get(HTYPE_AT),
        data.get(HLEN_AT),
        data.get(GIADDR_AT..CHADDR_AT)
            .and_then(|g| <[u8; 4]>::try_from(g).ok()),
        data.get(CHADDR_AT..CHADDR_AT + CHADDR_LEN),
    ) else {
        return Ok(());
    };
    let chaddr = chaddr
        .get(..usize::from(hlen).min(CHADDR_LEN))
        .unwrap_or(chaddr);
    limiter.check(htype, chaddr, Ipv4Addr::from(giaddr), socket, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_sec: f64) -> Option<Rate> {
        Some(Rate {
            per_sec,
            burst: per_sec.max(1.0),
        })
    }

    const RELAY: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);

    #[test]
    fn per_mac_bucket_refills_over_time() {
        let mut l = RateLimiter::new(RateLimitConfig {
            per_mac: rate(2.0),
            ..RateLimitConfig::default()
        });
        let mac = [2, 0, 0, 0, 0, 1];
        let check = |l: &mut RateLimiter, t| l.check(1, &mac, Ipv4Addr::UNSPECIFIED, 0, t);
        assert_eq!(check(&mut l, 0), Ok(()));
        assert_eq!(check(&mut l, 0), Ok(()));
        assert_eq!(check(&mut l, 0), Err(Limited::Mac));
        // Another MAC is not affected.
        assert_eq!(
            l.check(1, &[2, 0, 0, 0, 0, 2], Ipv4Addr::UNSPECIFIED, 0, 0),
            Ok(())
        );
        // Half a second later: one token back.
        assert_eq!(check(&mut l, 500), Ok(()));
        assert_eq!(check(&mut l, 500), Err(Limited::Mac));
    }

    #[test]
    fn a_flooding_relay_does_not_starve_local_clients() {
        let mut l = RateLimiter::new(RateLimitConfig {
            per_mac: rate(10.0),
            per_link: rate(5.0),
            global: rate(1_000.0),
        });
        let mut passed = 0;
        for i in 0u32..1_000 {
            let mac = [2, 1, 0, 0, 0, 0];
            let mut m = mac;
            m[2..].copy_from_slice(&i.to_be_bytes());
            if l.check(1, &m, RELAY, 0, 10).is_ok() {
                passed += 1;
            }
        }
        assert_eq!(passed, 5, "the relay's link bucket");
        // A local client on socket 1 still gets through.
        assert_eq!(
            l.check(1, &[2, 0, 0, 0, 0, 9], Ipv4Addr::UNSPECIFIED, 1, 10),
            Ok(())
        );
    }

    #[test]
    fn global_limit_and_bounded_tables() {
        let mut l = RateLimiter::new(RateLimitConfig {
            per_mac: rate(1.0),
            global: rate(100.0),
            ..RateLimitConfig::default()
        });
        let mut dropped = 0;
        for i in 0u32..100_000 {
            let mut m = [2u8; 6];
            m[2..].copy_from_slice(&i.to_be_bytes());
            if l.check(1, &m, Ipv4Addr::UNSPECIFIED, 0, 0) == Err(Limited::Global) {
                dropped += 1;
            }
        }
        assert_eq!(dropped, 100_000 - 100);
        assert_eq!(l.macs.slots.len(), MAC_SLOTS, "table never grows");
    }
}
