//! Conflict probes before an OFFER (issue 5): ARP probes on directly attached links (RFC 5227
//! §2.1.1: sender IP 0.0.0.0), ICMP echo for relayed subnets, each with a hard timeout, plus a
//! cache of addresses recently found free.
//!
//! [`Prober`] is the sans-I/O bookkeeping (pending probes, deadlines, reply matching, cache)
//! over a [`ProbeIo`] that sends and receives; [`RawProbeIo`] is the real one (sockets opened
//! once at start-up, all `unsafe` in [`crate::sys`]), tests inject a fake. Time is a monotonic
//! millisecond count passed in by the caller.

use std::collections::HashMap;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use hyperdhcp_engine::ConflictMethod;

use crate::sys;

/// ARP payload length for Ethernet/IPv4 (RFC 826).
pub const ARP_LEN: usize = 28;
/// ARP operation: request.
const ARP_REQUEST: u16 = 1;
/// ICMP type: echo reply.
const ICMP_ECHO_REPLY: u8 = 0;
/// ICMP type: echo request.
const ICMP_ECHO_REQUEST: u8 = 8;
/// ICMP echo payload sent after the 8-byte header (identifies our probes in captures).
const ICMP_PAYLOAD: &[u8] = b"hyperdhcp conflict probe";
/// Receive buffer for one ARP or ICMP datagram.
const RECV_BUF: usize = 1_500;
/// Datagrams read from one probe socket per poll (bounds the work a flood can cause).
const MAX_READS_PER_POLL: usize = 256;

/// Where and how to probe one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// ARP probe on the named (directly attached) interface.
    Arp(String),
    /// ICMP echo request, routed by the kernel (relayed subnets).
    Icmp,
}

impl ProbeKind {
    /// The conflict method a reply to this probe records.
    pub fn method(&self) -> ConflictMethod {
        match self {
            ProbeKind::Arp(_) => ConflictMethod::Arp,
            ProbeKind::Icmp => ConflictMethod::Icmp,
        }
    }
}

/// A reply seen on a probe socket: `ip` is in use, by `mac` when known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The address that answered.
    pub ip: Ipv4Addr,
    /// ARP or ICMP.
    pub method: ConflictMethod,
    /// The responder's hardware address (ARP only).
    pub mac: Option<[u8; 6]>,
}

/// How a probe ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// No answer before the timeout: the address is free.
    Free,
    /// Something answered: the address is in use.
    InUse {
        /// ARP or ICMP.
        method: ConflictMethod,
        /// The responder's MAC (ARP).
        mac: Option<[u8; 6]>,
    },
}

/// A probe that ended, as [`Prober::poll`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The id [`Prober::start`] returned.
    pub id: u64,
    /// The probed address.
    pub ip: Ipv4Addr,
    /// How it was probed (ARP or ICMP).
    pub method: ConflictMethod,
    /// Free or in use.
    pub outcome: ProbeOutcome,
}

/// Sends probes and collects replies. Implementations never block.
pub trait ProbeIo {
    /// Sends an ARP probe for `ip` on `interface` (RFC 5227 §2.1.1).
    fn send_arp(&mut self, interface: &str, ip: Ipv4Addr) -> io::Result<()>;
    /// Sends an ICMP echo request to `ip` with sequence number `seq`.
    fn send_icmp(&mut self, ip: Ipv4Addr, seq: u16) -> io::Result<()>;
    /// Appends every reply that arrived since the last call.
    fn recv(&mut self, out: &mut Vec<Seen>);
    /// Descriptors to poll for readability.
    fn fds(&self) -> Vec<RawFd>;
    /// Announces `ip` at `mac` on `interface` (gratuitous ARP after an ACK).
    fn announce(&mut self, interface: &str, ip: Ipv4Addr, mac: [u8; 6]) -> io::Result<()> {
        let _ = (interface, ip, mac);
        Ok(())
    }
}

impl<T: ProbeIo + ?Sized> ProbeIo for Box<T> {
    fn send_arp(&mut self, interface: &str, ip: Ipv4Addr) -> io::Result<()> {
        (**self).send_arp(interface, ip)
    }
    fn send_icmp(&mut self, ip: Ipv4Addr, seq: u16) -> io::Result<()> {
        (**self).send_icmp(ip, seq)
    }
    fn recv(&mut self, out: &mut Vec<Seen>) {
        (**self).recv(out);
    }
    fn fds(&self) -> Vec<RawFd> {
        (**self).fds()
    }
    fn announce(&mut self, interface: &str, ip: Ipv4Addr, mac: [u8; 6]) -> io::Result<()> {
        (**self).announce(interface, ip, mac)
    }
}

/// One probe in flight.
#[derive(Debug)]
struct Pending {
    id: u64,
    ip: Ipv4Addr,
    method: ConflictMethod,
    deadline_ms: u64,
}

/// Probe bookkeeping: in-flight probes with deadlines, reply matching, the free-address cache.
#[derive(Debug)]
pub struct Prober<I: ProbeIo> {
    io: I,
    /// Hard timeout per probe.
    timeout_ms: u64,
    /// How long an address found free stays in the cache (0 = no cache).
    cache_ttl_ms: u64,
    /// In-flight probes (few: one per parked DISCOVER), oldest first.
    pending: Vec<Pending>,
    /// Address → end of its "found free" cache entry.
    cache: HashMap<Ipv4Addr, u64>,
    /// Next probe id (also the ICMP sequence number, truncated).
    next_id: u64,
    /// Scratch for replies.
    seen: Vec<Seen>,
}

impl<I: ProbeIo> Prober<I> {
    /// A prober over `io` with the given timeout and cache TTL, both in milliseconds.
    pub fn new(io: I, timeout_ms: u64, cache_ttl_ms: u64) -> Self {
        Self {
            io,
            timeout_ms,
            cache_ttl_ms,
            pending: Vec::new(),
            cache: HashMap::new(),
            next_id: 1,
            seen: Vec::new(),
        }
    }

    /// Changes timeout and cache TTL (SIGHUP); probes in flight keep their deadlines.
    pub fn set_timing(&mut self, timeout_ms: u64, cache_ttl_ms: u64) {
        self.timeout_ms = timeout_ms;
        self.cache_ttl_ms = cache_ttl_ms;
    }

    /// True when `ip` was found free less than the cache TTL ago: no probe needed.
    pub fn cached_free(&self, ip: Ipv4Addr, now_ms: u64) -> bool {
        self.cache.get(&ip).is_some_and(|&until| until > now_ms)
    }

    /// Forgets a cached "free" (a DECLINE for the address, or a conflict found otherwise).
    pub fn invalidate(&mut self, ip: Ipv4Addr) {
        self.cache.remove(&ip);
    }

    /// Sends a probe for `ip`; returns its id. A send failure is returned to the caller,
    /// which treats the address as unprobed (and offers it).
    pub fn start(&mut self, ip: Ipv4Addr, kind: &ProbeKind, now_ms: u64) -> io::Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        match kind {
            ProbeKind::Arp(interface) => self.io.send_arp(interface, ip)?,
            ProbeKind::Icmp => self.io.send_icmp(ip, id as u16)?,
        }
        self.pending.push(Pending {
            id,
            ip,
            method: kind.method(),
            deadline_ms: now_ms.saturating_add(self.timeout_ms),
        });
        Ok(id)
    }

    /// Abandons a probe (its request went away); no result will be reported for it.
    #[cfg(test)]
    pub fn cancel(&mut self, id: u64) {
        self.pending.retain(|p| p.id != id);
    }

    /// Number of probes in flight.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Earliest deadline of the probes in flight.
    pub fn next_deadline(&self) -> Option<u64> {
        self.pending.iter().map(|p| p.deadline_ms).min()
    }

    /// Descriptors to poll.
    pub fn fds(&self) -> Vec<RawFd> {
        self.io.fds()
    }

    /// Gratuitous ARP for `ip` at `mac` on `interface`.
    pub fn announce(&mut self, interface: &str, ip: Ipv4Addr, mac: [u8; 6]) -> io::Result<()> {
        self.io.announce(interface, ip, mac)
    }

    /// Reads the replies that arrived and ends probes: answered ones as in use, those past
    /// their deadline as free (cached). Appends to `out`.
    pub fn poll(&mut self, now_ms: u64, out: &mut Vec<Resolved>) {
        self.seen.clear();
        self.io.recv(&mut self.seen);
        for s in &self.seen {
            // Any reply for the address ends every probe of it: ICMP echo replies and ARP
            // replies match on the address alone (RFC 5227 §2.1.1: a packet whose sender IP
            // is the probed address means a conflict).
            self.cache.remove(&s.ip);
            self.pending.retain(|p| {
                let hit = p.ip == s.ip && p.method == s.method;
                if hit {
                    out.push(Resolved {
                        id: p.id,
                        ip: p.ip,
                        method: p.method,
                        outcome: ProbeOutcome::InUse {
                            method: s.method,
                            mac: s.mac,
                        },
                    });
                }
                !hit
            });
        }
        let ttl = self.cache_ttl_ms;
        let cache = &mut self.cache;
        self.pending.retain(|p| {
            if p.deadline_ms > now_ms {
                return true;
            }
            if ttl > 0 {
                cache.insert(p.ip, now_ms.saturating_add(ttl));
            }
            out.push(Resolved {
                id: p.id,
                ip: p.ip,
                method: p.method,
                outcome: ProbeOutcome::Free,
            });
            false
        });
        // Keep the cache bounded by dropping stale entries now and then.
        if self.cache.len() > 4_096 {
            self.cache.retain(|_, &mut until| until > now_ms);
        }
    }
}

// === packets ===

/// An ARP request from `sha`/`spa` asking for `tpa` (RFC 826 layout, Ethernet/IPv4).
/// A probe has `spa` = 0.0.0.0 (RFC 5227 §2.1.1); a gratuitous ARP has `spa` = `tpa`.
pub fn arp_request(sha: [u8; 6], spa: Ipv4Addr, tpa: Ipv4Addr) -> [u8; ARP_LEN] {
    let mut p = [0u8; ARP_LEN];
    p[0..2].copy_from_slice(&1u16.to_be_bytes()); // htype Ethernet
    p[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // ptype IPv4
    p[4] = 6;
    p[5] = 4;
    p[6..8].copy_from_slice(&ARP_REQUEST.to_be_bytes());
    p[8..14].copy_from_slice(&sha);
    p[14..18].copy_from_slice(&spa.octets());
    // tha stays zero (RFC 5227 §2.1.1: "SHOULD be set to all zeroes").
    p[24..28].copy_from_slice(&tpa.octets());
    p
}

/// Sender hardware and protocol address of an Ethernet/IPv4 ARP packet, `None` otherwise.
pub fn arp_sender(p: &[u8]) -> Option<([u8; 6], Ipv4Addr)> {
    let head = p.get(..8)?;
    if head != [0, 1, 8, 0, 6, 4, 0, 1] && head != [0, 1, 8, 0, 6, 4, 0, 2] {
        return None;
    }
    let sha: [u8; 6] = p.get(8..14)?.try_into().ok()?;
    let spa: [u8; 4] = p.get(14..18)?.try_into().ok()?;
    Some((sha, Ipv4Addr::from(spa)))
}

/// RFC 1071 Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP echo request (RFC 792) with identifier `ident` and sequence `seq`.
pub fn icmp_echo(ident: u16, seq: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + ICMP_PAYLOAD.len());
    p.extend_from_slice(&[ICMP_ECHO_REQUEST, 0, 0, 0]);
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(ICMP_PAYLOAD);
    let sum = checksum(&p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// The identifier of an ICMP echo reply inside a raw IPv4 datagram, `None` for anything else.
pub fn icmp_echo_reply_ident(datagram: &[u8]) -> Option<u16> {
    let ihl = usize::from(datagram.first()? & 0x0f) * 4;
    let icmp = datagram.get(ihl..)?;
    if *icmp.first()? != ICMP_ECHO_REPLY {
        return None;
    }
    Some(u16::from_be_bytes([*icmp.get(4)?, *icmp.get(5)?]))
}

// === the real sockets ===

/// One interface's ARP socket.
#[derive(Debug)]
struct ArpLink {
    name: String,
    fd: OwnedFd,
    ifindex: i32,
    mac: [u8; 6],
}

/// The real probe sockets: one AF_PACKET ARP socket per serving interface and one raw ICMP
/// socket, opened once at start-up (CAP_NET_RAW).
#[derive(Debug)]
pub struct RawProbeIo {
    arp: Vec<ArpLink>,
    icmp: OwnedFd,
    /// ICMP identifier of this server's echo requests (its PID, truncated).
    ident: u16,
    buf: Vec<u8>,
}

impl RawProbeIo {
    /// Opens the sockets for `interfaces`. Fails (typically `EPERM` without CAP_NET_RAW) when
    /// the ICMP socket or any ARP socket cannot be opened.
    pub fn open(interfaces: &[String]) -> io::Result<Self> {
        let icmp = sys::icmp_socket()?;
        let mut arp = Vec::with_capacity(interfaces.len());
        for name in interfaces {
            let (fd, ifindex, mac) = sys::arp_socket(name)
                .map_err(|e| io::Error::new(e.kind(), format!("ARP socket on {name}: {e}")))?;
            arp.push(ArpLink {
                name: name.clone(),
                fd,
                ifindex,
                mac,
            });
        }
        Ok(Self {
            arp,
            icmp,
            ident: std::process::id() as u16,
            buf: vec![0; RECV_BUF],
        })
    }

    fn link(&self, interface: &str) -> io::Result<&ArpLink> {
        self.arp
            .iter()
            .find(|l| l.name == interface)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "no ARP socket on that interface")
            })
    }
}

impl ProbeIo for RawProbeIo {
    fn send_arp(&mut self, interface: &str, ip: Ipv4Addr) -> io::Result<()> {
        let l = self.link(interface)?;
        let p = arp_request(l.mac, Ipv4Addr::UNSPECIFIED, ip);
        sys::send_arp(l.fd.as_raw_fd(), l.ifindex, &p)
    }

    fn send_icmp(&mut self, ip: Ipv4Addr, seq: u16) -> io::Result<()> {
        sys::send_icmp(self.icmp.as_raw_fd(), ip, &icmp_echo(self.ident, seq))
    }

    fn recv(&mut self, out: &mut Vec<Seen>) {
        for l in &self.arp {
            for _ in 0..MAX_READS_PER_POLL {
                match sys::recv_arp(l.fd.as_raw_fd(), &mut self.buf) {
                    Ok(Some((n, _))) => {
                        let Some((sha, spa)) = self.buf.get(..n).and_then(arp_sender) else {
                            continue;
                        };
                        // Our own probes (spa 0.0.0.0) and announcements are not answers.
                        if sha != l.mac && !spa.is_unspecified() {
                            out.push(Seen {
                                ip: spa,
                                method: ConflictMethod::Arp,
                                mac: Some(sha),
                            });
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(interface = %l.name, error = %e, "ARP receive failed");
                        break;
                    }
                }
            }
        }
        for _ in 0..MAX_READS_PER_POLL {
            match sys::recv_icmp(self.icmp.as_raw_fd(), &mut self.buf) {
                Ok(Some((n, from))) => {
                    let ours = self
                        .buf
                        .get(..n)
                        .and_then(icmp_echo_reply_ident)
                        .is_some_and(|id| id == self.ident);
                    if ours {
                        out.push(Seen {
                            ip: from,
                            method: ConflictMethod::Icmp,
                            mac: None,
                        });
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "ICMP receive failed");
                    break;
                }
            }
        }
    }

    fn fds(&self) -> Vec<RawFd> {
        let mut v: Vec<RawFd> = self.arp.iter().map(|l| l.fd.as_raw_fd()).collect();
        v.push(self.icmp.as_raw_fd());
        v
    }

    fn announce(&mut self, interface: &str, ip: Ipv4Addr, mac: [u8; 6]) -> io::Result<()> {
        let l = self.link(interface)?;
        // Gratuitous ARP (RFC 5227 §3 "ARP Announcement"): sender and target IP both `ip`.
        let p = arp_request(mac, ip, ip);
        sys::send_arp(l.fd.as_raw_fd(), l.ifindex, &p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
    const B: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 11);
    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x99];
    const TIMEOUT: u64 = 500;
    const TTL: u64 = 10_000;

    /// Records what was sent; replies are queued by the test.
    #[derive(Default)]
    struct FakeIo {
        sent: Vec<(Ipv4Addr, ConflictMethod)>,
        replies: Vec<Seen>,
    }

    impl ProbeIo for FakeIo {
        fn send_arp(&mut self, _: &str, ip: Ipv4Addr) -> io::Result<()> {
            self.sent.push((ip, ConflictMethod::Arp));
            Ok(())
        }
        fn send_icmp(&mut self, ip: Ipv4Addr, _: u16) -> io::Result<()> {
            self.sent.push((ip, ConflictMethod::Icmp));
            Ok(())
        }
        fn recv(&mut self, out: &mut Vec<Seen>) {
            out.append(&mut self.replies);
        }
        fn fds(&self) -> Vec<RawFd> {
            Vec::new()
        }
    }

    fn prober() -> Prober<FakeIo> {
        Prober::new(FakeIo::default(), TIMEOUT, TTL)
    }

    fn arp() -> ProbeKind {
        ProbeKind::Arp("srv0".into())
    }

    #[test]
    fn timeout_means_free_and_fills_the_cache() {
        let mut p = prober();
        let id = p.start(A, &arp(), 1_000).expect("send");
        assert_eq!(p.next_deadline(), Some(1_000 + TIMEOUT));
        let mut out = Vec::new();
        p.poll(1_000 + TIMEOUT - 1, &mut out);
        assert!(out.is_empty(), "not yet");
        p.poll(1_000 + TIMEOUT, &mut out);
        assert_eq!(
            out,
            vec![Resolved {
                id,
                ip: A,
                method: ConflictMethod::Arp,
                outcome: ProbeOutcome::Free
            }]
        );
        assert_eq!(p.in_flight(), 0);
        // Cache hit inside the TTL, miss after it.
        assert!(p.cached_free(A, 1_000 + TIMEOUT + TTL - 1));
        assert!(!p.cached_free(A, 1_000 + TIMEOUT + TTL));
        assert!(!p.cached_free(B, 1_000 + TIMEOUT));
    }

    #[test]
    fn reply_means_in_use_with_the_responders_mac() {
        let mut p = prober();
        let id_a = p.start(A, &arp(), 0).expect("send");
        let id_b = p.start(B, &ProbeKind::Icmp, 0).expect("send");
        p.io.replies.push(Seen {
            ip: A,
            method: ConflictMethod::Arp,
            mac: Some(MAC),
        });
        // An ARP reply does not answer an ICMP probe of another address.
        let mut out = Vec::new();
        p.poll(10, &mut out);
        assert_eq!(
            out,
            vec![Resolved {
                id: id_a,
                ip: A,
                method: ConflictMethod::Arp,
                outcome: ProbeOutcome::InUse {
                    method: ConflictMethod::Arp,
                    mac: Some(MAC)
                }
            }]
        );
        assert!(!p.cached_free(A, 10));
        p.io.replies.push(Seen {
            ip: B,
            method: ConflictMethod::Icmp,
            mac: None,
        });
        out.clear();
        p.poll(20, &mut out);
        assert_eq!(out.first().map(|r| r.id), Some(id_b));
        assert_eq!(p.io.sent.len(), 2);
    }

    #[test]
    fn invalidation_and_late_reply_drop_the_cache_entry() {
        let mut p = prober();
        p.start(A, &arp(), 0).expect("send");
        let mut out = Vec::new();
        p.poll(TIMEOUT, &mut out);
        assert!(p.cached_free(A, TIMEOUT + 1));
        p.invalidate(A);
        assert!(!p.cached_free(A, TIMEOUT + 1), "a DECLINE invalidates");
        p.start(B, &arp(), 0).expect("send");
        p.poll(TIMEOUT, &mut out);
        assert!(p.cached_free(B, TIMEOUT + 1));
        // An unsolicited answer from B (someone took it since) also drops the entry.
        p.io.replies.push(Seen {
            ip: B,
            method: ConflictMethod::Arp,
            mac: Some(MAC),
        });
        p.poll(TIMEOUT + 2, &mut out);
        assert!(!p.cached_free(B, TIMEOUT + 3));
    }

    #[test]
    fn zero_ttl_disables_the_cache_and_cancel_forgets() {
        let mut p = Prober::new(FakeIo::default(), TIMEOUT, 0);
        let id = p.start(A, &arp(), 0).expect("send");
        p.cancel(id);
        let mut out = Vec::new();
        p.poll(TIMEOUT, &mut out);
        assert!(out.is_empty());
        p.start(A, &arp(), 0).expect("send");
        p.poll(TIMEOUT, &mut out);
        assert!(!p.cached_free(A, TIMEOUT));
    }

    #[test]
    fn packets_encode_and_parse() {
        let probe = arp_request(MAC, Ipv4Addr::UNSPECIFIED, A);
        assert_eq!(arp_sender(&probe), Some((MAC, Ipv4Addr::UNSPECIFIED)));
        assert_eq!(&probe[24..28], &A.octets());
        assert_eq!(arp_sender(&probe[..10]), None);
        let echo = icmp_echo(0x1234, 7);
        assert_eq!(checksum(&echo), 0, "checksum over a valid message is zero");
        // A reply inside a 20-byte IPv4 header.
        let mut dgram = vec![0x45u8];
        dgram.resize(20, 0);
        let mut reply = echo.clone();
        reply[0] = ICMP_ECHO_REPLY;
        dgram.extend_from_slice(&reply);
        assert_eq!(icmp_echo_reply_ident(&dgram), Some(0x1234));
        assert_eq!(icmp_echo_reply_ident(&[0x45]), None);
    }
}
