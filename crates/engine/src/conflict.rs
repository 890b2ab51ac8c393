//! Address conflicts (RFC 2131 §2.2, RFC 5227): addresses found in use by a probe or declined
//! by a client, held back from allocation for a while, permanently after repeated conflicts.
//!
//! Sans-I/O like the rest of the engine: the server probes, the engine records. Every change to
//! a record is also queued as a [`ConflictChange`] (the record to persist plus what happened,
//! for events) that the shell drains with `Engine::take_conflict_changes`.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::lease::UnixTime;

pub use hyperdhcp_config::{DEFAULT_HOLD_TIME, DEFAULT_MAX_CONFLICT_COUNT};

/// How a conflict was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConflictMethod {
    /// An ARP probe (RFC 5227 §2.1.1) got an answer on a directly attached link.
    Arp,
    /// An ICMP echo request got a reply (relayed subnets).
    Icmp,
    /// The client sent DHCPDECLINE (RFC 2131 §4.3.3).
    ClientDecline,
}

impl ConflictMethod {
    /// Stable name for the store, logs and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictMethod::Arp => "arp",
            ConflictMethod::Icmp => "icmp",
            ConflictMethod::ClientDecline => "client_decline",
        }
    }
}

impl fmt::Display for ConflictMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown conflict method name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown conflict method {0:?} (expected arp, icmp or client_decline)")]
pub struct ConflictMethodParseError(pub String);

impl FromStr for ConflictMethod {
    type Err = ConflictMethodParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "arp" => Ok(ConflictMethod::Arp),
            "icmp" => Ok(ConflictMethod::Icmp),
            "client_decline" => Ok(ConflictMethod::ClientDecline),
            other => Err(ConflictMethodParseError(other.to_string())),
        }
    }
}

/// One address's conflict record (one row of the store's `conflicts` table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The address found in use.
    pub ip: Ipv4Addr,
    /// First detection, Unix seconds.
    pub first_seen: UnixTime,
    /// Latest detection, Unix seconds; the hold runs from here.
    pub last_seen: UnixTime,
    /// How the latest conflict was found.
    pub method: ConflictMethod,
    /// Hardware address of the responder (ARP sender, or the declining client), when known.
    pub mac: Option<[u8; 6]>,
    /// Number of detections.
    pub count: u32,
    /// Held until cleared (count reached `max_conflict_count`).
    pub permanent: bool,
}

impl Conflict {
    /// The responder MAC as `xx:xx:xx:xx:xx:xx`, or `-`.
    pub fn mac_display(&self) -> String {
        self.mac.map_or_else(
            || "-".to_string(),
            |m| {
                m.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            },
        )
    }
}

/// What happened to a conflict record, for events and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictEventKind {
    /// A probe found the address in use (`conflict.detected`).
    Detected,
    /// A client declined the address (`conflict.decline`).
    Decline,
    /// The record reached `max_conflict_count`: held until cleared (`conflict.permanent`).
    Permanent,
    /// The hold ended or an operator cleared the record (`conflict.resolved`).
    Resolved,
}

impl ConflictEventKind {
    /// Event name (`conflict.detected`, ...), as hooks match it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictEventKind::Detected => "conflict.detected",
            ConflictEventKind::Decline => "conflict.decline",
            ConflictEventKind::Permanent => "conflict.permanent",
            ConflictEventKind::Resolved => "conflict.resolved",
        }
    }
}

/// One change to the conflict table: what to persist and what to announce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictChange {
    /// What happened.
    pub kind: ConflictEventKind,
    /// The record after the change (`Resolved` by clearing: the record as it was).
    pub conflict: Conflict,
    /// True when the record must be deleted from the store (operator clear), false to upsert.
    pub removed: bool,
}

/// The in-memory conflict table.
#[derive(Debug, Default)]
pub(crate) struct ConflictTable {
    /// Every record, by address.
    records: HashMap<Ipv4Addr, Conflict>,
    /// Addresses currently held back (claimed from the pools), with the hold's end
    /// (`UnixTime::MAX` when permanent).
    held: HashMap<Ipv4Addr, UnixTime>,
    /// Changes not yet drained by the shell.
    pub(crate) changes: Vec<ConflictChange>,
}

impl ConflictTable {
    /// Records one detection at `now`; returns the updated record. The caller claims the
    /// address from the pools.
    pub(crate) fn record(
        &mut self,
        ip: Ipv4Addr,
        method: ConflictMethod,
        mac: Option<[u8; 6]>,
        now: UnixTime,
        hold_time: u64,
        max_count: u32,
    ) -> &Conflict {
        let rec = self.records.entry(ip).or_insert(Conflict {
            ip,
            first_seen: now,
            last_seen: now,
            method,
            mac,
            count: 0,
            permanent: false,
        });
        rec.last_seen = now;
        rec.method = method;
        if mac.is_some() {
            rec.mac = mac;
        }
        rec.count = rec.count.saturating_add(1);
        let became_permanent = !rec.permanent && max_count > 0 && rec.count >= max_count;
        rec.permanent |= became_permanent;
        let until = if rec.permanent {
            UnixTime::MAX
        } else {
            now.saturating_add(hold_time)
        };
        self.held.insert(ip, until);
        let kind = match method {
            ConflictMethod::ClientDecline => ConflictEventKind::Decline,
            _ => ConflictEventKind::Detected,
        };
        let snapshot = rec.clone();
        self.changes.push(ConflictChange {
            kind,
            conflict: snapshot.clone(),
            removed: false,
        });
        if became_permanent {
            self.changes.push(ConflictChange {
                kind: ConflictEventKind::Permanent,
                conflict: snapshot,
                removed: false,
            });
        }
        &self.records[&ip]
    }

    /// Loads stored records at start-up or after a re-read: returns the addresses that were
    /// held and no longer are (the caller frees them). Holds are recomputed from `last_seen`.
    pub(crate) fn replace(
        &mut self,
        records: Vec<Conflict>,
        now: UnixTime,
        hold_time: u64,
        decline_hold: u64,
    ) -> Vec<Ipv4Addr> {
        let old_held: Vec<Ipv4Addr> = self.held.keys().copied().collect();
        self.records.clear();
        self.held.clear();
        for c in records {
            let hold = match c.method {
                ConflictMethod::ClientDecline => decline_hold,
                ConflictMethod::Arp | ConflictMethod::Icmp => hold_time,
            };
            let until = if c.permanent {
                UnixTime::MAX
            } else {
                c.last_seen.saturating_add(hold)
            };
            if until > now {
                self.held.insert(c.ip, until);
            }
            self.records.insert(c.ip, c);
        }
        old_held
            .into_iter()
            .filter(|ip| !self.held.contains_key(ip))
            .collect()
    }

    /// Removes the record of `ip` (operator clear); true when the address was held.
    pub(crate) fn clear(&mut self, ip: Ipv4Addr) -> Option<(Conflict, bool)> {
        let rec = self.records.remove(&ip)?;
        let was_held = self.held.remove(&ip).is_some();
        self.changes.push(ConflictChange {
            kind: ConflictEventKind::Resolved,
            conflict: rec.clone(),
            removed: true,
        });
        Some((rec, was_held))
    }

    /// True when `ip` is held back at `now`.
    pub(crate) fn is_held(&self, ip: Ipv4Addr, now: UnixTime) -> bool {
        self.held.get(&ip).is_some_and(|&until| until > now)
    }

    /// Ends the holds that ran out by `now`; returns those addresses (the caller frees them).
    pub(crate) fn expire(&mut self, now: UnixTime) -> Vec<Ipv4Addr> {
        if self.held.is_empty() {
            return Vec::new();
        }
        let due: Vec<Ipv4Addr> = self
            .held
            .iter()
            .filter(|&(_, &until)| until <= now)
            .map(|(&ip, _)| ip)
            .collect();
        for ip in &due {
            self.held.remove(ip);
            if let Some(rec) = self.records.get(ip) {
                self.changes.push(ConflictChange {
                    kind: ConflictEventKind::Resolved,
                    conflict: rec.clone(),
                    removed: false,
                });
            }
        }
        due
    }

    /// Every record, sorted by address.
    pub(crate) fn all(&self) -> Vec<&Conflict> {
        let mut v: Vec<&Conflict> = self.records.values().collect();
        v.sort_by_key(|c| c.ip);
        v
    }

    /// The record of `ip`.
    pub(crate) fn get(&self, ip: Ipv4Addr) -> Option<&Conflict> {
        self.records.get(&ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 10);
    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x99];

    #[test]
    fn hold_then_expire_then_permanent_after_max() {
        let mut t = ConflictTable::default();
        t.record(IP, ConflictMethod::Arp, Some(MAC), 100, 10, 3);
        assert!(t.is_held(IP, 109));
        assert!(!t.is_held(IP, 110));
        assert_eq!(t.expire(109), Vec::<Ipv4Addr>::new());
        assert_eq!(t.expire(110), vec![IP]);
        t.record(IP, ConflictMethod::Icmp, None, 200, 10, 3);
        let rec = t.record(IP, ConflictMethod::Arp, None, 300, 10, 3).clone();
        assert_eq!(rec.count, 3);
        assert!(rec.permanent);
        assert_eq!(rec.first_seen, 100);
        assert_eq!(rec.mac, Some(MAC), "an unknown MAC keeps the known one");
        assert!(t.is_held(IP, UnixTime::MAX - 1));
        assert!(t.expire(1_000_000).is_empty());
        let kinds: Vec<_> = t.changes.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            vec![
                ConflictEventKind::Detected,
                ConflictEventKind::Resolved,
                ConflictEventKind::Detected,
                ConflictEventKind::Detected,
                ConflictEventKind::Permanent
            ]
        );
        let (_, was_held) = t.clear(IP).expect("record");
        assert!(was_held);
        assert!(!t.is_held(IP, 0));
        assert!(t.get(IP).is_none());
    }

    #[test]
    fn replace_recomputes_holds_and_reports_released() {
        let mut t = ConflictTable::default();
        t.record(IP, ConflictMethod::ClientDecline, None, 100, 50, 3);
        let other = Ipv4Addr::new(198, 18, 1, 11);
        let stored = vec![Conflict {
            ip: other,
            first_seen: 1,
            last_seen: 1,
            method: ConflictMethod::Arp,
            mac: None,
            count: 1,
            permanent: true,
        }];
        assert_eq!(t.replace(stored, 120, 50, 50), vec![IP]);
        assert!(t.is_held(other, 10_000));
        assert!(!t.is_held(IP, 120));
        assert_eq!(t.all().len(), 1);
    }

    #[test]
    fn method_names_round_trip() {
        for m in [
            ConflictMethod::Arp,
            ConflictMethod::Icmp,
            ConflictMethod::ClientDecline,
        ] {
            assert_eq!(m.as_str().parse::<ConflictMethod>(), Ok(m));
        }
        assert!("x".parse::<ConflictMethod>().is_err());
    }
}
