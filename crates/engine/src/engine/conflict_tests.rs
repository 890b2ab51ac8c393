//! Conflict table through the engine: held addresses are skipped, holds end, DECLINE records.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use hyperdhcp_wire::{Message, MessageBuilder, MessageType, code};

use crate::conflict::{ConflictEventKind, ConflictMethod};
use crate::{Decision, Engine, Outcome, RequestContext, UnixTime};
use hyperdhcp_config::Config;

const T0: UnixTime = 1_700_000_000;
const HOLD: u64 = 60;
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const FIRST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
const SECOND: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 11);

fn engine() -> Engine {
    let text = format!(
        r#"
[server]
interfaces = ["eth0"]
[conflict_detection]
hold_time = {HOLD}
max_conflict_count = 2
[[subnet]]
cidr = "198.18.0.0/24"
[[subnet.pool]]
start = "198.18.0.10"
end = "198.18.0.19"
"#
    );
    let config = Config::from_toml_str(&text).expect("config");
    Engine::new(Arc::new(config), Vec::new(), T0)
}

fn send(e: &mut Engine, pkt: &[u8], now: UnixTime) -> Decision {
    let msg = Message::parse(pkt).expect("parses");
    let addrs = ["198.18.0.1/24".parse().expect("net")];
    let ctx = RequestContext {
        interface: "eth0",
        interface_addrs: &addrs,
        source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
    };
    e.handle(&msg, &ctx, now)
}

fn discover(n: u8) -> Vec<u8> {
    MessageBuilder::request(MessageType::Discover, 1, &[2, 0, 0, 0, 0, n]).finish()
}

#[test]
fn conflict_withdraws_offer_and_hold_skips_address_until_it_ends() {
    let mut e = engine();
    let d = send(&mut e, &discover(1), T0);
    assert_eq!(d.outcome, Outcome::Offered(FIRST));
    let rec = e.record_conflict(FIRST, ConflictMethod::Arp, Some([2, 0, 0, 0, 0, 0x99]), T0);
    assert_eq!(rec.count, 1);
    assert!(e.lease_by_ip(FIRST).is_none(), "offer withdrawn");
    // The same DISCOVER handled again picks the next address.
    let d = send(&mut e, &discover(1), T0);
    assert_eq!(d.outcome, Outcome::Offered(SECOND));
    // Another client never gets the held address either.
    let d = send(&mut e, &discover(2), T0);
    assert_ne!(d.outcome, Outcome::Offered(FIRST));
    // Hold over: the address is allocatable again.
    let _ = e.expire(T0 + HOLD);
    assert!(!e.conflict_held(FIRST, T0 + HOLD));
    let d = send(&mut e, &discover(3), T0 + HOLD);
    assert_eq!(d.outcome, Outcome::Offered(FIRST));
    let kinds: Vec<_> = e.take_conflict_changes().iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![ConflictEventKind::Detected, ConflictEventKind::Resolved]
    );
}

#[test]
fn second_conflict_is_permanent_until_cleared() {
    let mut e = engine();
    e.record_conflict(FIRST, ConflictMethod::Icmp, None, T0);
    let rec = e.record_conflict(FIRST, ConflictMethod::Icmp, None, T0 + 1);
    assert!(rec.permanent);
    let _ = e.expire(T0 + 10 * HOLD);
    assert!(e.conflict_held(FIRST, T0 + 10 * HOLD));
    assert!(e.clear_conflict(FIRST).is_some());
    let d = send(&mut e, &discover(1), T0 + 10 * HOLD);
    assert_eq!(d.outcome, Outcome::Offered(FIRST));
}

#[test]
fn decline_records_a_client_decline_conflict() {
    let mut e = engine();
    let d = send(&mut e, &discover(1), T0);
    assert_eq!(d.outcome, Outcome::Offered(FIRST));
    let mut b = MessageBuilder::request(MessageType::Decline, 1, &[2, 0, 0, 0, 0, 1]);
    b.option_ip(code::REQUESTED_IP, FIRST)
        .option_ip(code::SERVER_ID, SERVER);
    let d = send(&mut e, &b.finish(), T0);
    assert_eq!(d.outcome, Outcome::Declined(FIRST));
    let rec = e.conflict(FIRST).expect("recorded");
    assert_eq!(rec.method, ConflictMethod::ClientDecline);
    assert_eq!(rec.mac, Some([2, 0, 0, 0, 0, 1]));
    assert_eq!(
        e.take_conflict_changes().first().map(|c| c.kind),
        Some(ConflictEventKind::Decline)
    );
}

#[test]
fn loaded_conflicts_hold_their_addresses() {
    let mut e = engine();
    e.record_conflict(FIRST, ConflictMethod::Arp, None, T0);
    let stored: Vec<_> = e.conflicts().into_iter().cloned().collect();
    let mut fresh = engine();
    fresh.load_conflicts(stored, T0 + 1);
    let d = send(&mut fresh, &discover(1), T0 + 1);
    assert_eq!(d.outcome, Outcome::Offered(SECOND));
    // Re-read without the record (operator cleared it in the store): released.
    fresh.load_conflicts(Vec::new(), T0 + 2);
    let d = send(&mut fresh, &discover(2), T0 + 2);
    assert_eq!(d.outcome, Outcome::Offered(FIRST));
}

#[test]
fn reserved_candidates_are_skipped_until_released() {
    let mut e = engine();
    let spares = e.reserve_candidates(FIRST, 2, T0);
    assert_eq!(spares, vec![FIRST, SECOND]);
    let d = send(&mut e, &discover(1), T0);
    assert_eq!(d.outcome, Outcome::Offered(Ipv4Addr::new(198, 18, 0, 12)));
    e.release_candidate(FIRST);
    let d = send(&mut e, &discover(2), T0);
    assert_eq!(d.outcome, Outcome::Offered(FIRST));
}
