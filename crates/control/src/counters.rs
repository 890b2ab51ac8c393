//! Lock-free packet counters (received/sent by message type, drops by reason) for logs now and
//! Prometheus metrics later.

use std::sync::atomic::{AtomicU64, Ordering};

use hyperdhcp_engine::{ConflictMethod, IgnoreReason};
use hyperdhcp_wire::{MessageType, ParseError};

/// Slots per message-type array: index 0 counts datagrams without a valid option 53, 1..=8 the
/// DHCP message types (RFC 2132 §9.6).
pub const MESSAGE_TYPE_SLOTS: usize = 9;

/// Why a datagram or reply was dropped by the server shell (engine "ignored" outcomes are
/// counted separately, per [`IgnoreReason`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Shorter than the fixed BOOTP header.
    TooShort,
    /// Magic cookie missing or wrong.
    BadCookie,
    /// hlen larger than chaddr.
    BadHlen,
    /// An option runs past the end of its field.
    OptionOverrun,
    /// No END option.
    MissingEnd,
    /// Invalid option 52.
    BadOverload,
    /// An option with an impossible length.
    BadOptionLength,
    /// Any other parse error the codec may add later.
    OtherMalformed,
    /// Datagram longer than our receive buffer slot.
    Truncated,
    /// Reply withheld because the batch's lease commit failed.
    CommitFailed,
    /// The kernel refused to send the reply.
    SendFailed,
    /// Over a `[server.rate_limit]` limit (RFC 5765 §3), dropped before the engine.
    RateLimited,
    /// A DISCOVER read while the receive queue was over half full: under overload the server
    /// answers the REQUESTs of exchanges it already started first (see `crate::overload`).
    OverloadShed,
}

impl DropReason {
    /// Every reason, in counter-index order.
    pub const ALL: [DropReason; 13] = [
        DropReason::TooShort,
        DropReason::BadCookie,
        DropReason::BadHlen,
        DropReason::OptionOverrun,
        DropReason::MissingEnd,
        DropReason::BadOverload,
        DropReason::BadOptionLength,
        DropReason::OtherMalformed,
        DropReason::Truncated,
        DropReason::CommitFailed,
        DropReason::SendFailed,
        DropReason::RateLimited,
        DropReason::OverloadShed,
    ];

    /// Stable snake_case name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::TooShort => "too_short",
            DropReason::BadCookie => "bad_cookie",
            DropReason::BadHlen => "bad_hlen",
            DropReason::OptionOverrun => "option_overrun",
            DropReason::MissingEnd => "missing_end",
            DropReason::BadOverload => "bad_overload",
            DropReason::BadOptionLength => "bad_option_length",
            DropReason::OtherMalformed => "malformed",
            DropReason::Truncated => "truncated",
            DropReason::CommitFailed => "commit_failed",
            DropReason::SendFailed => "send_failed",
            DropReason::RateLimited => "rate_limited",
            DropReason::OverloadShed => "overload_shed",
        }
    }

    /// The counter for a codec parse error (matched on its stable name so new codec variants
    /// land in `OtherMalformed` instead of breaking the build).
    pub fn from_parse_error(e: ParseError) -> Self {
        match e.as_str() {
            "too_short" => DropReason::TooShort,
            "bad_cookie" => DropReason::BadCookie,
            "bad_hlen" => DropReason::BadHlen,
            "option_overrun" => DropReason::OptionOverrun,
            "missing_end" => DropReason::MissingEnd,
            "bad_overload" => DropReason::BadOverload,
            "bad_option_length" => DropReason::BadOptionLength,
            _ => DropReason::OtherMalformed,
        }
    }

    fn index(self) -> usize {
        DropReason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(DropReason::ALL.len() - 1)
    }
}

/// How one conflict probe (issue 5) ended, for `hyperdhcp_probe_results_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProbeResult {
    /// No answer before the timeout: the address is free.
    Free,
    /// Something answered: the address is in use.
    Conflict,
    /// Found free recently (cache): no probe sent.
    CacheHit,
    /// The probe could not be sent: the address was offered unprobed.
    Skipped,
}

impl ProbeResult {
    /// Every result, in counter-index order.
    pub const ALL: [ProbeResult; 4] = [
        ProbeResult::Free,
        ProbeResult::Conflict,
        ProbeResult::CacheHit,
        ProbeResult::Skipped,
    ];

    /// Stable snake_case name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeResult::Free => "free",
            ProbeResult::Conflict => "conflict",
            ProbeResult::CacheHit => "cache_hit",
            ProbeResult::Skipped => "skipped",
        }
    }
}

/// Probe methods counted (a DECLINE is not a probe), in counter-index order.
pub const PROBE_METHODS: [ConflictMethod; 2] = [ConflictMethod::Arp, ConflictMethod::Icmp];

/// Engine "no reply" reasons, in counter-index order.
const IGNORE_REASONS: [IgnoreReason; 8] = [
    IgnoreReason::NotRequest,
    IgnoreReason::BadMessageType,
    IgnoreReason::NoSubnet,
    IgnoreReason::PoolExhausted,
    IgnoreReason::OtherServer,
    IgnoreReason::UnknownClient,
    IgnoreReason::MissingField,
    IgnoreReason::NoEffect,
];

/// Packet counters shared with observers (metrics endpoint, tests). Relaxed atomics: each
/// value is independent and only ever increases.
#[derive(Debug, Default)]
pub struct Counters {
    received: [AtomicU64; MESSAGE_TYPE_SLOTS],
    sent: [AtomicU64; MESSAGE_TYPE_SLOTS],
    dropped: [AtomicU64; DropReason::ALL.len()],
    ignored: [AtomicU64; IGNORE_REASONS.len()],
    commits: AtomicU64,
    commit_failures: AtomicU64,
    kernel_drops: AtomicU64,
    probes: [[AtomicU64; ProbeResult::ALL.len()]; PROBE_METHODS.len()],
}

fn slot(mt: Option<MessageType>) -> usize {
    mt.map_or(0, |m| usize::from(m as u8).min(MESSAGE_TYPE_SLOTS - 1))
}

impl Counters {
    /// Counts one received datagram (`None`: unparseable or no option 53).
    pub fn count_received(&self, mt: Option<MessageType>) {
        self.received[slot(mt)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one reply handed to the kernel.
    pub fn count_sent(&self, mt: MessageType) {
        self.sent[slot(Some(mt))].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one drop.
    pub fn count_dropped(&self, reason: DropReason) {
        self.dropped[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request the engine chose not to answer.
    pub fn count_ignored(&self, reason: IgnoreReason) {
        if let Some(i) = IGNORE_REASONS.iter().position(|r| *r == reason) {
            self.ignored[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one store commit and whether it succeeded.
    pub fn count_commit(&self, ok: bool) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.commit_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records the kernel's receive-queue drops, summed over all sockets (`SO_RXQ_OVFL`).
    pub fn set_kernel_drops(&self, total: u64) {
        self.kernel_drops.store(total, Ordering::Relaxed);
    }

    /// Datagrams the kernel dropped because a socket's receive buffer was full.
    pub fn kernel_drops(&self) -> u64 {
        self.kernel_drops.load(Ordering::Relaxed)
    }

    /// Datagrams received with message type `mt` (`None`: unknown).
    pub fn received(&self, mt: Option<MessageType>) -> u64 {
        self.received[slot(mt)].load(Ordering::Relaxed)
    }

    /// Replies sent with message type `mt`.
    pub fn sent(&self, mt: MessageType) -> u64 {
        self.sent[slot(Some(mt))].load(Ordering::Relaxed)
    }

    /// Drops for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()].load(Ordering::Relaxed)
    }

    /// Requests the engine ignored for `reason`.
    pub fn ignored(&self, reason: IgnoreReason) -> u64 {
        IGNORE_REASONS
            .iter()
            .position(|r| *r == reason)
            .map_or(0, |i| self.ignored[i].load(Ordering::Relaxed))
    }

    /// Store commits attempted and how many failed.
    pub fn commits(&self) -> (u64, u64) {
        (
            self.commits.load(Ordering::Relaxed),
            self.commit_failures.load(Ordering::Relaxed),
        )
    }

    /// Counts one conflict probe result (`ClientDecline` is not a probe: ignored).
    pub fn count_probe(&self, method: ConflictMethod, result: ProbeResult) {
        if let Some(slot) = self.probe_slot(method, result) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Conflict probes of `method` that ended with `result`.
    pub fn probe(&self, method: ConflictMethod, result: ProbeResult) -> u64 {
        self.probe_slot(method, result)
            .map_or(0, |slot| slot.load(Ordering::Relaxed))
    }

    fn probe_slot(&self, method: ConflictMethod, result: ProbeResult) -> Option<&AtomicU64> {
        let m = PROBE_METHODS.iter().position(|x| *x == method)?;
        let r = ProbeResult::ALL.iter().position(|x| *x == result)?;
        self.probes.get(m)?.get(r)
    }

    /// Every probe counter as `(method, result, count)`, for metrics export.
    pub fn probe_results(&self) -> impl Iterator<Item = (&'static str, &'static str, u64)> + '_ {
        PROBE_METHODS.iter().flat_map(move |m| {
            ProbeResult::ALL
                .iter()
                .map(move |r| (m.as_str(), r.as_str(), self.probe(*m, *r)))
        })
    }

    /// Every drop counter as `(reason, count)`, for metrics export.
    pub fn drops(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|r| (r.as_str(), self.dropped(*r)))
            .chain(
                IGNORE_REASONS
                    .iter()
                    .map(|r| (r.as_str(), self.ignored(*r))),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_type_and_reason() {
        let c = Counters::default();
        c.count_received(Some(MessageType::Discover));
        c.count_received(Some(MessageType::Discover));
        c.count_received(None);
        c.count_sent(MessageType::Offer);
        c.count_dropped(DropReason::Truncated);
        c.count_ignored(IgnoreReason::NoSubnet);
        c.count_commit(false);
        assert_eq!(c.received(Some(MessageType::Discover)), 2);
        assert_eq!(c.received(None), 1);
        assert_eq!(c.received(Some(MessageType::Request)), 0);
        assert_eq!(c.sent(MessageType::Offer), 1);
        assert_eq!(c.dropped(DropReason::Truncated), 1);
        assert_eq!(c.ignored(IgnoreReason::NoSubnet), 1);
        assert_eq!(c.commits(), (1, 1));
        let drops: Vec<_> = c.drops().filter(|(_, n)| *n > 0).collect();
        assert_eq!(drops, vec![("truncated", 1), ("no_subnet", 1)]);
    }

    #[test]
    fn counts_probe_results_by_method() {
        let c = Counters::default();
        c.count_probe(ConflictMethod::Arp, ProbeResult::Conflict);
        c.count_probe(ConflictMethod::Arp, ProbeResult::Conflict);
        c.count_probe(ConflictMethod::Icmp, ProbeResult::Free);
        c.count_probe(ConflictMethod::ClientDecline, ProbeResult::Free);
        assert_eq!(c.probe(ConflictMethod::Arp, ProbeResult::Conflict), 2);
        assert_eq!(c.probe(ConflictMethod::Icmp, ProbeResult::Free), 1);
        assert_eq!(c.probe(ConflictMethod::ClientDecline, ProbeResult::Free), 0);
        let all: Vec<_> = c.probe_results().collect();
        assert_eq!(all.len(), 8);
        let hits: Vec<_> = all.into_iter().filter(|(_, _, n)| *n > 0).collect();
        assert_eq!(hits, vec![("arp", "conflict", 2), ("icmp", "free", 1)]);
    }

    #[test]
    fn drop_reason_names_are_unique() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::ALL.len());
    }
}
