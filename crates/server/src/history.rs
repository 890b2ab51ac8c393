//! Lease history rows built from each [`Decision`] (and from expiry), for
//! `LeaseStore::commit_with_history`: the engine stays unaware of history.

use hyperdhcp_engine::{Decision, HwAddr, LeaseChange, LeaseState, Outcome, UnixTime};
use hyperdhcp_store::{HistoryEvent, HistoryKind, RelayInfo};
use hyperdhcp_wire::{Message, RelayAgentInfo};

/// Rows of offers (which commit nothing themselves) wait at most this many seconds for a
/// commit to ride along with before they get one of their own.
pub const OFFER_FLUSH_SECS: UnixTime = 5;

/// Rows of offers waiting beyond this count get a commit of their own.
pub const OFFER_FLUSH_ROWS: usize = 4_096;

/// Rows of offers younger than this many seconds are held back from a commit for the next
/// one, so that the client's REQUEST (normally milliseconds later) lands the offer and its ack
/// in the same batch, where the store keeps the pair as one row (`merge_offers` in
/// `hyperdhcp_store::sqlite`). Offers are not durable anyway (RFC 2131 §4.3.1).
pub const OFFER_HOLD_SECS: UnixTime = 2;

/// How often old history rows are pruned, seconds.
pub const PRUNE_INTERVAL_SECS: UnixTime = 60;

/// giaddr and option 82 circuit/remote id of a request (RFC 3046).
pub fn relay_info(msg: &Message<'_>) -> RelayInfo {
    let giaddr = Some(msg.giaddr()).filter(|a| !a.is_unspecified());
    let raw = msg.relay_agent_info();
    let info = raw
        .as_deref()
        .map(RelayAgentInfo::parse)
        .unwrap_or_default();
    RelayInfo {
        giaddr,
        circuit_id: info.circuit_id.map(Box::from),
        remote_id: info.remote_id.map(Box::from),
    }
}

/// Appends the history rows of one decision to `out`.
pub fn record(msg: &Message<'_>, decision: &Decision, now: UnixTime, out: &mut Vec<HistoryEvent>) {
    if let Outcome::Offered(ip) = decision.outcome {
        let Some(hwaddr) = HwAddr::new(msg.htype(), msg.chaddr()) else {
            return;
        };
        out.push(HistoryEvent {
            time: now,
            kind: HistoryKind::Offer,
            ip,
            hwaddr,
            client_id: msg.client_id().map(|c| Box::from(c.as_ref())),
            hostname: msg
                .hostname()
                .and_then(|h| std::str::from_utf8(&h).ok().map(Box::from)),
            ends: None,
            relay: relay_info(msg),
        });
        return;
    }
    // RFC 2131 §4.3.2: a REQUEST with ciaddr set is a renewal (RENEWING / REBINDING).
    let renewing = !msg.ciaddr().is_unspecified();
    for change in &decision.changes {
        let LeaseChange::Upsert(lease) = change else {
            continue;
        };
        let kind = match lease.state {
            LeaseState::Bound if renewing => HistoryKind::Renew,
            LeaseState::Bound => HistoryKind::Ack,
            LeaseState::Released => HistoryKind::Release,
            LeaseState::Declined => HistoryKind::Decline,
            LeaseState::Expired => HistoryKind::Expire,
            LeaseState::Offered => HistoryKind::Offer,
        };
        out.push(HistoryEvent {
            time: now,
            kind,
            ip: lease.ip,
            hwaddr: lease.hwaddr,
            client_id: lease.client_id.clone(),
            hostname: lease.hostname.clone(),
            ends: (kind != HistoryKind::Release).then_some(lease.ends),
            relay: relay_info(msg),
        });
    }
}

/// Moves the rows of offers made less than [`OFFER_HOLD_SECS`] before `now`, with nothing after
/// them in `batch` about the same address (their ACK has not come yet), from `batch` (about to
/// be committed) to `next` (the batch after it), keeping their order.
pub fn hold_recent_offers(
    batch: &mut Vec<HistoryEvent>,
    now: UnixTime,
    next: &mut Vec<HistoryEvent>,
) {
    if !batch.iter().any(|h| h.kind == HistoryKind::Offer) {
        return;
    }
    // Walk backwards: `later` holds the addresses that have a row after the current one.
    let mut later = std::collections::HashSet::new();
    let mut hold = vec![false; batch.len()];
    for (h, hold) in batch.iter().zip(hold.iter_mut()).rev() {
        *hold = h.kind == HistoryKind::Offer
            && now < h.time.saturating_add(OFFER_HOLD_SECS)
            && !later.contains(&h.ip);
        later.insert(h.ip);
    }
    let mut kept = Vec::with_capacity(batch.len());
    for (h, hold) in batch.drain(..).zip(hold) {
        if hold {
            next.push(h);
        } else {
            kept.push(h);
        }
    }
    *batch = kept;
}

/// Appends an `expire` row for every lease `Engine::expire` moved to Expired.
pub fn record_expired(changes: &[LeaseChange], now: UnixTime, out: &mut Vec<HistoryEvent>) {
    for change in changes {
        if let LeaseChange::Upsert(lease) = change
            && lease.state == LeaseState::Expired
        {
            out.push(HistoryEvent {
                time: now,
                kind: HistoryKind::Expire,
                ip: lease.ip,
                hwaddr: lease.hwaddr,
                client_id: lease.client_id.clone(),
                hostname: lease.hostname.clone(),
                ends: Some(lease.ends),
                relay: RelayInfo::default(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hyperdhcp_engine::Lease;
    use hyperdhcp_wire::{MessageBuilder, MessageType, code};

    use super::*;

    const IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xaa];

    fn lease(state: LeaseState) -> Lease {
        Lease {
            ip: IP,
            hwaddr: HwAddr::ethernet(MAC),
            client_id: None,
            hostname: Some("pc".into()),
            fqdn: None,
            state,
            starts: 1,
            ends: 100,
        }
    }

    fn decision(outcome: Outcome, changes: Vec<LeaseChange>) -> Decision {
        Decision {
            reply: None,
            changes,
            outcome,
            subnet: None,
        }
    }

    #[test]
    fn rows_follow_outcome_and_state_with_relay_info() {
        let mut b = MessageBuilder::request(MessageType::Request, 1, &MAC);
        b.set_giaddr(Ipv4Addr::new(198, 19, 0, 1)).option(
            code::RELAY_AGENT_INFO,
            &[1, 3, b'p', b'1', b'a', 2, 1, b'r'],
        );
        let relayed = b.finish();
        let msg = Message::parse(&relayed).expect("parse");
        let mut out = Vec::new();
        record(&msg, &decision(Outcome::Offered(IP), vec![]), 7, &mut out);
        record(
            &msg,
            &decision(
                Outcome::Acked(IP),
                vec![LeaseChange::Upsert(lease(LeaseState::Bound))],
            ),
            8,
            &mut out,
        );
        record(
            &msg,
            &decision(
                Outcome::Released(IP),
                vec![LeaseChange::Upsert(lease(LeaseState::Released))],
            ),
            9,
            &mut out,
        );
        let kinds: Vec<_> = out.iter().map(|e| (e.kind, e.time)).collect();
        assert_eq!(
            kinds,
            vec![
                (HistoryKind::Offer, 7),
                (HistoryKind::Ack, 8),
                (HistoryKind::Release, 9)
            ]
        );
        for e in &out {
            assert_eq!(e.relay.giaddr, Some(Ipv4Addr::new(198, 19, 0, 1)));
            assert_eq!(e.relay.circuit_id.as_deref(), Some(&b"p1a"[..]));
            assert_eq!(e.relay.remote_id.as_deref(), Some(&b"r"[..]));
            assert_eq!(e.hwaddr, HwAddr::ethernet(MAC));
        }
    }

    #[test]
    fn recent_offers_wait_for_the_next_batch_in_order() {
        let row = |time, kind| HistoryEvent {
            time,
            kind,
            ip: Ipv4Addr::new(198, 18, 0, time as u8),
            hwaddr: HwAddr::ethernet(MAC),
            client_id: None,
            hostname: None,
            ends: None,
            relay: RelayInfo::default(),
        };
        let mut batch = vec![
            row(10, HistoryKind::Offer), // old: goes now
            row(12, HistoryKind::Ack),
            row(12, HistoryKind::Offer), // recent, no later row for .12: held
            row(13, HistoryKind::Offer), // recent, but its address has a later row: goes
            row(14, HistoryKind::Offer), // recent: held
            row(13, HistoryKind::Ack),
        ];
        let mut next = vec![];
        hold_recent_offers(&mut batch, 13, &mut next);
        let times = |v: &[HistoryEvent]| v.iter().map(|h| (h.time, h.kind)).collect::<Vec<_>>();
        assert_eq!(
            times(&batch),
            vec![
                (10, HistoryKind::Offer),
                (12, HistoryKind::Ack),
                (13, HistoryKind::Offer),
                (13, HistoryKind::Ack)
            ]
        );
        assert_eq!(
            times(&next),
            vec![(12, HistoryKind::Offer), (14, HistoryKind::Offer)]
        );
    }

    #[test]
    fn renewal_and_expiry() {
        let mut b = MessageBuilder::request(MessageType::Request, 1, &MAC);
        b.set_ciaddr(IP);
        let renew = b.finish();
        let msg = Message::parse(&renew).expect("parse");
        let mut out = Vec::new();
        let bound = vec![LeaseChange::Upsert(lease(LeaseState::Bound))];
        record(&msg, &decision(Outcome::Acked(IP), bound), 5, &mut out);
        record_expired(
            &[
                LeaseChange::Upsert(lease(LeaseState::Expired)),
                LeaseChange::Remove(IP),
            ],
            6,
            &mut out,
        );
        let kinds: Vec<_> = out.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![HistoryKind::Renew, HistoryKind::Expire]);
        assert_eq!(out[0].relay, RelayInfo::default());
    }
}
