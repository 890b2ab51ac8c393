//! One batch of the pipeline: the replies waiting for the batch's lease commit, the lease changes
//! to commit, and where each reply goes (RFC 2131 §4.1 reply addressing → socket address).

use std::net::{Ipv4Addr, SocketAddrV4};

use hyperdhcp_engine::{Decision, LeaseChange, Outcome, Reply, ReplyDest};
use hyperdhcp_store::HistoryEvent;
use hyperdhcp_wire::{CLIENT_PORT, HTYPE_ETHERNET, SERVER_PORT};

/// Length of an Ethernet MAC address.
const ETHERNET_ADDR_LEN: usize = 6;

/// How to reach one reply's destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Send straight to this address.
    Direct(SocketAddrV4),
    /// The client has no address yet: install an ARP entry `ip → mac` on the receiving
    /// interface, then unicast to `ip:68`; broadcast if the ARP entry cannot be set.
    ViaArp {
        /// yiaddr.
        ip: Ipv4Addr,
        /// chaddr.
        mac: [u8; ETHERNET_ADDR_LEN],
    },
}

/// The limited broadcast address, client port (RFC 2131 §4.1).
pub const BROADCAST_DEST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT);

/// Maps the engine's destination to a route. Relays get the server port (RFC 2131 §4.1: "the
/// server ... sends to the 'DHCP server' port on the BOOTP relay agent"), clients port 68.
pub fn route(dest: &ReplyDest) -> Route {
    match *dest {
        ReplyDest::Relay(a) => Route::Direct(SocketAddrV4::new(a, SERVER_PORT)),
        ReplyDest::Unicast(a) => Route::Direct(SocketAddrV4::new(a, CLIENT_PORT)),
        ReplyDest::Broadcast => Route::Direct(BROADCAST_DEST),
        ReplyDest::Hardware { ip, hwaddr } => {
            // Only Ethernet addresses fit an ARP entry; anything else falls back to broadcast
            // (RFC 2131 §4.1 allows broadcast when unicast to chaddr is impossible).
            match <[u8; ETHERNET_ADDR_LEN]>::try_from(hwaddr.as_bytes()) {
                Ok(mac) if hwaddr.htype == HTYPE_ETHERNET && !ip.is_unspecified() => {
                    Route::ViaArp { ip, mac }
                }
                _ => Route::Direct(BROADCAST_DEST),
            }
        }
    }
}

/// A reply waiting for its batch's commit.
#[derive(Debug)]
pub struct Pending {
    /// Index of the socket (interface) the request arrived on; the reply leaves there too.
    pub socket: usize,
    /// The encoded reply and its destination.
    pub reply: Reply,
    /// The reply announces a lease change (an ACK that binds): it must not leave unless the
    /// batch's commit succeeded.
    pub needs_commit: bool,
}

/// Replies and lease changes of one batch. Reused across batches: `clear` keeps capacity.
#[derive(Debug, Default)]
pub struct Batch {
    /// Replies in the order requests were read. Within one read round sockets are drained in
    /// index order; a batch that grew over several rounds (while a commit was in flight) has
    /// several runs per socket.
    pub pending: Vec<Pending>,
    /// Every lease change of the batch, committed in one transaction.
    pub changes: Vec<LeaseChange>,
    /// Lease history rows, committed with `changes`; kept by `clear` (rows of offers wait for
    /// the next commit, the server empties it after each commit).
    pub history: Vec<HistoryEvent>,
}

impl Batch {
    /// Adds one decision made for a request that arrived on `socket`.
    pub fn push(&mut self, socket: usize, mut decision: Decision) {
        let had_changes = !decision.changes.is_empty();
        self.changes.append(&mut decision.changes);
        if let Some(reply) = decision.reply {
            // RFC 2131 §4.3.2 / design: an ACK never leaves before its lease is on disk.
            let needs_commit = had_changes || matches!(decision.outcome, Outcome::Acked(_));
            self.pending.push(Pending {
                socket,
                reply,
                needs_commit,
            });
        }
    }

    /// Adds changes that carry no reply (expiry).
    pub fn extend_changes(&mut self, changes: Vec<LeaseChange>) {
        let mut changes = changes;
        self.changes.append(&mut changes);
    }

    /// After a failed commit: removes the replies that depended on it and returns how many.
    pub fn withhold_uncommitted(&mut self) -> usize {
        let before = self.pending.len();
        self.pending.retain(|p| !p.needs_commit);
        before - self.pending.len()
    }

    /// True when there is nothing to commit or send.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.changes.is_empty()
    }

    /// Empties the batch, keeping allocations for the next one.
    pub fn clear(&mut self) {
        self.pending.clear();
        self.changes.clear();
    }

    /// The pending replies as runs of equal socket index (one run per socket per read round).
    pub fn by_socket(&self) -> impl Iterator<Item = (usize, &[Pending])> {
        self.pending
            .chunk_by(|a, b| a.socket == b.socket)
            .filter_map(|group| group.first().map(|p| (p.socket, group)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperdhcp_engine::{HwAddr, IgnoreReason, Lease, LeaseState};
    use hyperdhcp_wire::MessageType;

    const IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);

    fn lease(ip: Ipv4Addr) -> Lease {
        Lease {
            ip,
            hwaddr: HwAddr::ethernet([2, 0, 0, 0, 0, 1]),
            client_id: None,
            hostname: None,
            fqdn: None,
            state: LeaseState::Bound,
            starts: 100,
            ends: 3700,
        }
    }

    fn decision(mt: MessageType, outcome: Outcome, changes: Vec<LeaseChange>) -> Decision {
        Decision {
            reply: Some(Reply {
                packet: vec![mt as u8],
                dest: ReplyDest::Broadcast,
                msg_type: mt,
            }),
            changes,
            outcome,
            subnet: None,
        }
    }

    #[test]
    fn routes_follow_reply_dest() {
        let relay = Ipv4Addr::new(198, 19, 0, 1);
        let table = [
            (
                ReplyDest::Relay(relay),
                Route::Direct(SocketAddrV4::new(relay, 67)),
            ),
            (
                ReplyDest::Unicast(IP),
                Route::Direct(SocketAddrV4::new(IP, 68)),
            ),
            (ReplyDest::Broadcast, Route::Direct(BROADCAST_DEST)),
            (
                ReplyDest::Hardware {
                    ip: IP,
                    hwaddr: HwAddr::ethernet([2, 0, 0, 0, 0, 0xaa]),
                },
                Route::ViaArp {
                    ip: IP,
                    mac: [2, 0, 0, 0, 0, 0xaa],
                },
            ),
            // Not Ethernet-sized: no ARP entry possible, broadcast instead.
            (
                ReplyDest::Hardware {
                    ip: IP,
                    hwaddr: HwAddr::new(1, &[1, 2, 3, 4, 5, 6, 7, 8]).expect("hw"),
                },
                Route::Direct(BROADCAST_DEST),
            ),
            // Not Ethernet hardware type (e.g. InfiniBand, htype 32).
            (
                ReplyDest::Hardware {
                    ip: IP,
                    hwaddr: HwAddr::new(32, &[1, 2, 3, 4, 5, 6]).expect("hw"),
                },
                Route::Direct(BROADCAST_DEST),
            ),
        ];
        for (dest, want) in table {
            assert_eq!(route(&dest), want, "{dest:?}");
        }
    }

    #[test]
    fn failed_commit_withholds_only_binding_replies() {
        let mut b = Batch::default();
        b.push(
            0,
            decision(MessageType::Offer, Outcome::Offered(IP), vec![]),
        );
        b.push(
            0,
            decision(
                MessageType::Ack,
                Outcome::Acked(IP),
                vec![LeaseChange::Upsert(lease(IP))],
            ),
        );
        b.push(
            1,
            decision(MessageType::Nak, Outcome::Naked("wrong subnet"), vec![]),
        );
        b.push(1, decision(MessageType::Ack, Outcome::Informed, vec![]));
        b.push(
            1,
            Decision {
                reply: None,
                changes: vec![LeaseChange::Remove(IP)],
                outcome: Outcome::Released(IP),
                subnet: None,
            },
        );
        b.push(
            1,
            Decision {
                reply: None,
                changes: vec![],
                outcome: Outcome::Ignored(IgnoreReason::NoSubnet),
                subnet: None,
            },
        );
        assert_eq!(b.changes.len(), 2);
        assert_eq!(b.pending.len(), 4);
        assert_eq!(b.withhold_uncommitted(), 1);
        let kept: Vec<_> = b.pending.iter().map(|p| p.reply.msg_type).collect();
        assert_eq!(
            kept,
            vec![MessageType::Offer, MessageType::Nak, MessageType::Ack]
        );
        b.clear();
        assert!(b.is_empty());
    }

    #[test]
    fn replies_group_by_socket() {
        let mut b = Batch::default();
        for s in [0, 0, 2, 2, 2, 5] {
            b.push(
                s,
                decision(MessageType::Offer, Outcome::Offered(IP), vec![]),
            );
        }
        let groups: Vec<_> = b.by_socket().map(|(s, g)| (s, g.len())).collect();
        assert_eq!(groups, vec![(0, 2), (2, 3), (5, 1)]);
    }

    #[test]
    fn expiry_changes_join_the_batch() {
        let mut b = Batch::default();
        b.extend_changes(vec![LeaseChange::Remove(IP)]);
        assert!(!b.is_empty());
        assert!(b.pending.is_empty());
        assert_eq!(b.changes, vec![LeaseChange::Remove(IP)]);
    }
}
