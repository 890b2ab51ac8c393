//! The only module with `unsafe`: thin wrappers over Linux calls that socket2/std lack
//! (recvmmsg, sendmmsg, poll, getifaddrs, if_nametoindex, SO_RCVBUFFORCE, SIOCSARP), and the
//! conflict probes' AF_PACKET ARP and raw ICMP sockets.
//!
//! Every wrapper owns its buffers and exposes a safe API; raw pointers never leave a call.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;

/// `SO_RCVBUFFORCE` (asm-generic/socket.h; the libc crate only exports it for Android).
const SO_RCVBUFFORCE: libc::c_int = 33;

/// `SO_RXQ_OVFL` (asm-generic/socket.h): ask for the socket's drop counter as a cmsg.
const SO_RXQ_OVFL: libc::c_int = 40;

/// Control buffer per received message: room for one `SO_RXQ_OVFL` cmsg (a u32), in u64
/// words so the buffer is aligned for `cmsghdr`.
// SAFETY: CMSG_SPACE only does arithmetic on its argument.
const CTRL_WORDS: usize = (unsafe { libc::CMSG_SPACE(mem::size_of::<u32>() as u32) } as usize)
    .div_ceil(mem::size_of::<u64>());

/// Size of `sockaddr_in`, as the kernel wants it in `msg_namelen` / `setsockopt` lengths.
const SOCKADDR_IN_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;

/// Interface name buffer length (`IFNAMSIZ`, including the NUL).
const IFNAMSIZ: usize = 16;

fn sockaddr_in_from(addr: SocketAddrV4) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain old data; all-zero is a valid value (sin_zero must be zero).
    let mut sa: libc::sockaddr_in = unsafe { mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = addr.port().to_be();
    sa.sin_addr.s_addr = u32::from(*addr.ip()).to_be();
    sa
}

fn sockaddr_in_to(sa: &libc::sockaddr_in) -> SocketAddrV4 {
    SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
        u16::from_be(sa.sin_port),
    )
}

// === recvmmsg ===

/// One received datagram, borrowed from a [`RecvBatch`].
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    /// The payload (cut to the buffer size when `truncated`).
    pub data: &'a [u8],
    /// Sender address and port.
    pub source: SocketAddrV4,
    /// The datagram was longer than the buffer (MSG_TRUNC).
    pub truncated: bool,
}

/// Preallocated buffers for `recvmmsg`: `capacity` slots of `slot_len` bytes, reused for every
/// call so the receive path allocates nothing.
pub struct RecvBatch {
    slot_len: usize,
    bufs: Vec<u8>,
    addrs: Vec<libc::sockaddr_in>,
    iovecs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    ctrl: Vec<u64>,
    filled: usize,
}

impl RecvBatch {
    /// Allocates `capacity` slots of `slot_len` bytes each.
    pub fn new(capacity: usize, slot_len: usize) -> Self {
        let capacity = capacity.max(1);
        // SAFETY: these are plain C structs for which all-zero bytes are a valid value.
        let (addr, iov, hdr) = unsafe {
            (
                mem::zeroed::<libc::sockaddr_in>(),
                mem::zeroed::<libc::iovec>(),
                mem::zeroed::<libc::mmsghdr>(),
            )
        };
        Self {
            slot_len,
            bufs: vec![0; capacity * slot_len],
            addrs: vec![addr; capacity],
            iovecs: vec![iov; capacity],
            hdrs: vec![hdr; capacity],
            ctrl: vec![0; capacity * CTRL_WORDS],
            filled: 0,
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.hdrs.len()
    }

    /// Receives up to `capacity` datagrams without blocking. Returns how many arrived; 0 when
    /// the socket had nothing (EAGAIN).
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        self.filled = 0;
        let cap = self.hdrs.len();
        // Re-point every header at its slot before each call: cheap, and it keeps the
        // pointers correct whatever happened to `self` in between.
        let buf_base = self.bufs.as_mut_ptr();
        for i in 0..cap {
            // SAFETY: i < cap and bufs.len() == cap * slot_len, so the offset stays inside
            // the allocation.
            let base = unsafe { buf_base.add(i * self.slot_len) };
            self.iovecs[i] = libc::iovec {
                iov_base: base.cast(),
                iov_len: self.slot_len,
            };
            let hdr = &mut self.hdrs[i];
            hdr.msg_len = 0;
            hdr.msg_hdr.msg_name = (&raw mut self.addrs[i]).cast();
            hdr.msg_hdr.msg_namelen = SOCKADDR_IN_LEN;
            hdr.msg_hdr.msg_iov = &raw mut self.iovecs[i];
            hdr.msg_hdr.msg_iovlen = 1;
            hdr.msg_hdr.msg_control = (&raw mut self.ctrl[i * CTRL_WORDS]).cast();
            hdr.msg_hdr.msg_controllen = CTRL_WORDS * mem::size_of::<u64>();
            hdr.msg_hdr.msg_flags = 0;
        }
        loop {
            // SAFETY: every header points at live, correctly sized buffers owned by `self`
            // (set up just above), `cap` headers exist, and a null timeout is allowed.
            let n = unsafe {
                libc::recvmmsg(
                    fd,
                    self.hdrs.as_mut_ptr(),
                    cap as libc::c_uint,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if n >= 0 {
                self.filled = n as usize;
                return Ok(self.filled);
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return Ok(0),
                _ => return Err(err),
            }
        }
    }

    /// The `i`-th datagram of the last [`RecvBatch::recv`].
    pub fn get(&self, i: usize) -> Option<Datagram<'_>> {
        if i >= self.filled {
            return None;
        }
        let hdr = self.hdrs.get(i)?;
        let len = (hdr.msg_len as usize).min(self.slot_len);
        let start = i * self.slot_len;
        let data = self.bufs.get(start..start + len)?;
        Some(Datagram {
            data,
            source: sockaddr_in_to(self.addrs.get(i)?),
            truncated: hdr.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
        })
    }

    /// The kernel's cumulative drop counter for the socket (`SO_RXQ_OVFL`), the highest value
    /// carried by the last batch; `None` when no message carried one (no drops yet, or the
    /// option is off).
    pub fn kernel_drops(&self) -> Option<u32> {
        let mut max = None;
        for hdr in self.hdrs.iter().take(self.filled) {
            let mh = &hdr.msg_hdr;
            // SAFETY: msg_control/msg_controllen describe our own ctrl slot, which the kernel
            // filled during recvmmsg; CMSG_FIRSTHDR/NXTHDR stay inside msg_controllen.
            let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(mh) };
            while !cmsg.is_null() {
                // SAFETY: non-null cmsg returned by CMSG_FIRSTHDR/NXTHDR points into the slot.
                let c = unsafe { &*cmsg };
                if c.cmsg_level == libc::SOL_SOCKET && c.cmsg_type == SO_RXQ_OVFL {
                    // SAFETY: an SO_RXQ_OVFL cmsg carries one u32; read_unaligned because
                    // CMSG_DATA gives no alignment promise.
                    let v = unsafe { libc::CMSG_DATA(cmsg).cast::<u32>().read_unaligned() };
                    max = Some(max.map_or(v, |m: u32| m.max(v)));
                }
                // SAFETY: as above.
                cmsg = unsafe { libc::CMSG_NXTHDR(mh, cmsg) };
            }
        }
        max
    }
}

// === sendmmsg ===

/// Result of sending a group of datagrams.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Datagrams the kernel accepted.
    pub sent: usize,
    /// Datagrams that failed (unreachable, buffer full...).
    pub failed: usize,
}

/// `UDP_SEGMENT` (linux/udp.h, Linux 4.18): a cmsg (level `SOL_UDP`) carrying the segment
/// size of a UDP GSO send: the payload is cut into datagrams of that size (the last may be
/// shorter), each with its own UDP/IP header, after one trip through the stack.
const UDP_SEGMENT: libc::c_int = 103;

/// Most datagrams in one GSO send (the kernel's `UDP_MAX_SEGMENTS` was 64 before Linux 6.10).
pub const GSO_MAX_SEGMENTS: usize = 64;

/// Largest datagram put in a GSO group: a segment must fit the interface MTU with its headers
/// (1500 − 20 − 8); longer replies go alone.
pub const GSO_MAX_SEGMENT_LEN: usize = 1472;

/// Largest GSO payload (the IPv4 length field, minus headers).
const GSO_MAX_PAYLOAD: usize = 65_507;

/// Control buffer per sent message: one `UDP_SEGMENT` cmsg (a u16), in u64 words for alignment.
// SAFETY: CMSG_SPACE only does arithmetic on its argument.
const GSO_CTRL_WORDS: usize = (unsafe { libc::CMSG_SPACE(mem::size_of::<u16>() as u32) } as usize)
    .div_ceil(mem::size_of::<u64>());

/// Splits datagrams (given by length and destination, in send order) into runs that can leave
/// as one UDP GSO send: consecutive, same destination, every one but the last exactly as long
/// as the first, the last no longer, at most [`GSO_MAX_SEGMENTS`] and [`GSO_MAX_PAYLOAD`]
/// bytes, segments of at most [`GSO_MAX_SEGMENT_LEN`]. Returns the length of each run, in
/// order, in `runs` (cleared first); the runs cover every datagram. Order is kept, so replies
/// leave as they were decided.
pub fn gso_runs<T: AsRef<[u8]>>(items: &[(T, SocketAddrV4)], runs: &mut Vec<usize>) {
    runs.clear();
    let mut i = 0;
    while let Some((first, dest)) = items.get(i) {
        let len = first.as_ref().len();
        let mut n = 1;
        if len > 0 && len <= GSO_MAX_SEGMENT_LEN {
            let max = GSO_MAX_SEGMENTS.min(GSO_MAX_PAYLOAD / len);
            while n < max {
                match items.get(i + n).map(|(p, d)| (p.as_ref().len(), d)) {
                    Some((l, d)) if d == dest && l == len => n += 1,
                    Some((l, d)) if d == dest && l > 0 && l < len => {
                        n += 1; // a shorter datagram can only be the last segment
                        break;
                    }
                    _ => break,
                }
            }
        }
        runs.push(n);
        i += n;
    }
}

/// Reusable scratch space for `sendmmsg`, so sending allocates (almost) nothing.
///
/// Datagrams to the same destination (replies to one relay agent, mostly) leave as UDP GSO
/// sends ([`gso_runs`]): one trip through the kernel's UDP/IP/device path for up to 64
/// replies instead of one each, which was the largest cost in the serving loop's profile
/// (docs/benchmarks.md, "Where the time goes"). When the kernel or the device refuses GSO
/// (`EIO`, `EINVAL`, `ENOPROTOOPT`, `EOPNOTSUPP`), GSO is switched off for this batch object
/// and the refused datagrams go again one by one.
pub struct SendBatch {
    addrs: Vec<libc::sockaddr_in>,
    iovecs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    ctrl: Vec<[u64; GSO_CTRL_WORDS]>,
    /// First datagram (index into the call's items) and count of each message in `hdrs`.
    spans: Vec<(usize, usize)>,
    /// Datagrams per message of the chunk being sent ([`gso_runs`]).
    runs: Vec<usize>,
    /// Group datagrams with UDP GSO.
    gso: bool,
    /// Set when a GSO send was refused and GSO was switched off; taken by the caller to log.
    gso_refused: Option<io::Error>,
}

impl SendBatch {
    /// Scratch for up to `capacity` datagrams per system call; `gso` groups datagrams to one
    /// destination into UDP GSO sends.
    pub fn new(capacity: usize, gso: bool) -> Self {
        let capacity = capacity.max(1);
        // SAFETY: plain C structs; all-zero bytes are valid values.
        let (addr, iov, hdr) = unsafe {
            (
                mem::zeroed::<libc::sockaddr_in>(),
                mem::zeroed::<libc::iovec>(),
                mem::zeroed::<libc::mmsghdr>(),
            )
        };
        Self {
            addrs: vec![addr; capacity],
            iovecs: vec![iov; capacity],
            hdrs: vec![hdr; capacity],
            ctrl: vec![[0; GSO_CTRL_WORDS]; capacity],
            spans: Vec::with_capacity(capacity),
            runs: Vec::with_capacity(capacity),
            gso,
            gso_refused: None,
        }
    }

    /// True while datagrams are grouped into GSO sends.
    pub fn gso(&self) -> bool {
        self.gso
    }

    /// The error with which the kernel refused GSO, once, after it switched GSO off.
    pub fn take_gso_refusal(&mut self) -> Option<io::Error> {
        self.gso_refused.take()
    }

    /// Sends every `(payload, destination)` of `items` on `fd`, up to `capacity` datagrams per
    /// `sendmmsg`. A datagram the kernel refuses is counted as failed and skipped; `on_error`
    /// gets its position in `items`, its destination and the error.
    pub fn send<'a>(
        &mut self,
        fd: RawFd,
        items: impl Iterator<Item = (&'a [u8], SocketAddrV4)>,
        mut on_error: impl FnMut(usize, SocketAddrV4, &io::Error),
    ) -> SendReport {
        let items: Vec<(&'a [u8], SocketAddrV4)> = items.collect();
        let mut report = SendReport::default();
        let mut pos = 0;
        while pos < items.len() {
            pos = self.send_chunk(fd, &items, pos, &mut report, &mut on_error);
        }
        report
    }

    /// Builds messages for up to `capacity` datagrams from `items[pos..]`, sends them and
    /// returns where the next chunk starts (earlier than the chunk's end when GSO was refused
    /// and the refused datagrams must go again without it).
    fn send_chunk(
        &mut self,
        fd: RawFd,
        items: &[(&[u8], SocketAddrV4)],
        pos: usize,
        report: &mut SendReport,
        on_error: &mut impl FnMut(usize, SocketAddrV4, &io::Error),
    ) -> usize {
        let cap = self.hdrs.len();
        let chunk = items.get(pos..).unwrap_or_default();
        let chunk = chunk.get(..cap.min(chunk.len())).unwrap_or_default();
        let mut runs = std::mem::take(&mut self.runs);
        if self.gso {
            gso_runs(chunk, &mut runs);
        } else {
            runs.clear();
            runs.resize(chunk.len(), 1);
        }
        self.spans.clear();
        let mut first = 0;
        for (m, &n) in runs.iter().enumerate() {
            let dest = chunk[first].1;
            let run = chunk.iter().skip(first).take(n);
            for (iov, (payload, _)) in self.iovecs.iter_mut().skip(first).zip(run) {
                *iov = libc::iovec {
                    // sendmmsg only reads the payload; the *mut is what iovec's type demands.
                    iov_base: payload.as_ptr().cast_mut().cast(),
                    iov_len: payload.len(),
                };
            }
            self.addrs[m] = sockaddr_in_from(dest);
            let hdr = &mut self.hdrs[m];
            hdr.msg_len = 0;
            hdr.msg_hdr.msg_name = (&raw mut self.addrs[m]).cast();
            hdr.msg_hdr.msg_namelen = SOCKADDR_IN_LEN;
            hdr.msg_hdr.msg_iov = &raw mut self.iovecs[first];
            hdr.msg_hdr.msg_iovlen = n;
            hdr.msg_hdr.msg_flags = 0;
            if n > 1 {
                let ctrl = &mut self.ctrl[m];
                hdr.msg_hdr.msg_control = ctrl.as_mut_ptr().cast();
                hdr.msg_hdr.msg_controllen = mem::size_of_val(ctrl);
                // SAFETY: msg_control points at `ctrl`, large enough for one cmsg with a u16
                // (GSO_CTRL_WORDS); CMSG_FIRSTHDR is non-null for a buffer of that size.
                unsafe {
                    let c = libc::CMSG_FIRSTHDR(&raw const hdr.msg_hdr);
                    (*c).cmsg_level = libc::SOL_UDP;
                    (*c).cmsg_type = UDP_SEGMENT;
                    (*c).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as u32) as usize;
                    let seg = chunk[first].0.len() as u16; // <= GSO_MAX_SEGMENT_LEN
                    libc::CMSG_DATA(c).cast::<u16>().write_unaligned(seg);
                }
            } else {
                hdr.msg_hdr.msg_control = std::ptr::null_mut();
                hdr.msg_hdr.msg_controllen = 0;
            }
            self.spans.push((first, n));
            first += n;
        }
        let msgs = runs.len();
        self.runs = runs; // back for the next call (only its capacity matters)
        let mut off = 0;
        while off < msgs {
            // SAFETY: headers off..msgs point at addrs/iovecs/ctrl owned by `self` and at
            // payload slices borrowed for 'a, all alive for this call; msgs <= cap.
            let rc = unsafe {
                libc::sendmmsg(
                    fd,
                    self.hdrs.as_mut_ptr().add(off),
                    (msgs - off) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if rc > 0 {
                for &(_, n) in self.spans.get(off..off + rc as usize).unwrap_or_default() {
                    report.sent += n;
                }
                off += rc as usize;
                continue;
            }
            let err = if rc == 0 {
                io::Error::from(io::ErrorKind::WriteZero)
            } else {
                io::Error::last_os_error()
            };
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            let (at, n) = self.spans[off];
            let gso_refused = n > 1
                && matches!(
                    err.raw_os_error(),
                    Some(libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP)
                );
            if gso_refused {
                // Switch GSO off and send this message's datagrams (and the rest) again,
                // one per message.
                self.gso = false;
                self.gso_refused = Some(err);
                return pos + at;
            }
            // The message at `off` failed: report its datagrams and carry on with the rest.
            for (k, (_, to)) in chunk.iter().enumerate().skip(at).take(n) {
                on_error(pos + k, *to, &err);
            }
            report.failed += n;
            off += 1;
        }
        pos + chunk.len()
    }
}

// === poll ===

/// Waits until one of `fds` is readable or `timeout_ms` passes. Marks `revents`; returns the
/// number of ready descriptors (0 on timeout or when a signal interrupted the wait).
pub fn poll_readable(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: `fds` is a valid, exclusively borrowed slice of pollfd of the given length.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if rc >= 0 {
        return Ok(rc as usize);
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::Interrupted {
        Ok(0)
    } else {
        Err(err)
    }
}

/// A `pollfd` waiting for input on `fd`.
pub fn pollfd_in(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

// === socket options ===

/// `SO_MEMINFO` (Linux `asm-generic/socket.h`; not in the libc crate): the socket's memory
/// counters, `SK_MEMINFO_VARS` u32 values.
const SO_MEMINFO: libc::c_int = 55;

/// Number of `SO_MEMINFO` values (`SK_MEMINFO_VARS`).
const SK_MEMINFO_VARS: usize = 9;

/// Bytes waiting in `fd`'s receive queue (kernel accounting, headers included) and the
/// receive buffer's limit in the same units, from `SO_MEMINFO`.
pub fn receive_queue(fd: RawFd) -> io::Result<(u32, u32)> {
    let mut info = [0u32; SK_MEMINFO_VARS];
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: `info` is a live, writable buffer of `len` bytes; the kernel writes at most
    // `len` bytes and updates `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_MEMINFO,
            info.as_mut_ptr().cast::<libc::c_void>(),
            &raw mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let at = |i: libc::c_int| usize::try_from(i).ok().and_then(|i| info.get(i).copied());
    Ok((
        at(libc::SK_MEMINFO_RMEM_ALLOC).unwrap_or(0),
        at(libc::SK_MEMINFO_RCVBUF).unwrap_or(0),
    ))
}

/// `SO_RXQ_OVFL`: have the kernel attach the socket's drop counter to received messages.
pub fn enable_drop_counter(fd: RawFd) -> io::Result<()> {
    set_int_option(fd, SO_RXQ_OVFL, 1)
}

fn set_int_option(fd: RawFd, name: libc::c_int, val: libc::c_int) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (&raw const val).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `SO_RCVBUFFORCE`: sets the receive buffer above `rmem_max` (needs CAP_NET_ADMIN).
pub fn set_recv_buffer_force(fd: RawFd, bytes: usize) -> io::Result<()> {
    let val = bytes.min(libc::c_int::MAX as usize) as libc::c_int;
    set_int_option(fd, SO_RCVBUFFORCE, val)
}

// === interfaces ===

/// Index of interface `name`, `None` when no such interface exists.
pub fn if_nametoindex(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

/// One IPv4 address of an interface, as getifaddrs reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface name.
    pub name: String,
    /// Address.
    pub addr: Ipv4Addr,
    /// Netmask.
    pub netmask: Ipv4Addr,
}

/// Every IPv4 address of every interface in this network namespace (getifaddrs).
pub fn ipv4_addrs() -> io::Result<Vec<IfAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `head`; freed below with freeifaddrs.
    if unsafe { libc::getifaddrs(&raw mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, alive until freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_addr is non-null and points at a sockaddr of at least sa_family size.
        let family = unsafe { (*ifa.ifa_addr).sa_family };
        if i32::from(family) != libc::AF_INET {
            continue;
        }
        // SAFETY: for AF_INET, ifa_addr (and a non-null ifa_netmask) point at sockaddr_in.
        let addr = unsafe { sockaddr_in_to(&*ifa.ifa_addr.cast::<libc::sockaddr_in>()) };
        let netmask = if ifa.ifa_netmask.is_null() {
            Ipv4Addr::BROADCAST
        } else {
            // SAFETY: as above, the netmask of an AF_INET entry is a sockaddr_in.
            unsafe { *sockaddr_in_to(&*ifa.ifa_netmask.cast::<libc::sockaddr_in>()).ip() }
        };
        // SAFETY: ifa_name is a non-null NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        out.push(IfAddr {
            name,
            addr: *addr.ip(),
            netmask,
        });
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

// === ARP ===

/// Adds (or refreshes) a temporary ARP entry `ip → mac` on `interface` with SIOCSARP, so a
/// unicast to a client without an address reaches its MAC (what dnsmasq does). `fd` is any
/// AF_INET socket.
pub fn set_arp_entry(fd: RawFd, interface: &str, ip: Ipv4Addr, mac: [u8; 6]) -> io::Result<()> {
    if interface.len() >= IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name too long",
        ));
    }
    // SAFETY: arpreq is plain old data; all-zero is valid.
    let mut req: libc::arpreq = unsafe { mem::zeroed() };
    let pa = sockaddr_in_from(SocketAddrV4::new(ip, 0));
    // SAFETY: sockaddr_in and sockaddr have the same size (16 bytes) on Linux; we copy the
    // bytes of one into the other, which is how the kernel reads arp_pa.
    req.arp_pa = unsafe { mem::transmute::<libc::sockaddr_in, libc::sockaddr>(pa) };
    req.arp_ha.sa_family = libc::ARPHRD_ETHER;
    for (dst, src) in req.arp_ha.sa_data.iter_mut().zip(mac) {
        *dst = src as libc::c_char;
    }
    // ATF_COM: the entry is complete; without ATF_PERM it ages out like a learned one.
    req.arp_flags = libc::ATF_COM;
    for (dst, src) in req.arp_dev.iter_mut().zip(interface.bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: SIOCSARP takes a pointer to a live, initialised arpreq.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCSARP as _, &raw mut req) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

// === conflict probes: AF_PACKET (ARP) and raw ICMP sockets ===

/// `ETH_P_ARP` in network byte order, as `socket(2)` and `sockaddr_ll` want it.
const ETH_P_ARP_BE: u16 = (libc::ETH_P_ARP as u16).to_be();
/// Size of `sockaddr_ll`.
const SOCKADDR_LL_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;

/// Maps a `-1` return to the thread's `errno`.
fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Wraps a new descriptor (or the error that made it `-1`).
fn owned(fd: libc::c_int) -> io::Result<std::os::fd::OwnedFd> {
    let fd = check(fd)?;
    // SAFETY: `fd` was just returned by socket(2), is open and owned by nobody else.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// A `sockaddr_ll` for interface `ifindex`, protocol ARP, destination `mac`.
fn sockaddr_ll(ifindex: i32, mac: [u8; 6]) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as libc::c_ushort;
    sa.sll_protocol = ETH_P_ARP_BE;
    sa.sll_ifindex = ifindex;
    sa.sll_halen = 6;
    for (d, s) in sa.sll_addr.iter_mut().zip(mac) {
        *d = s;
    }
    sa
}

/// Hardware (MAC) address of `interface` (SIOCGIFHWADDR on any socket `fd`).
pub fn interface_mac(fd: RawFd, interface: &str) -> io::Result<[u8; 6]> {
    if interface.len() >= IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name too long",
        ));
    }
    // SAFETY: ifreq is plain old data; all-zero is valid.
    let mut req: libc::ifreq = unsafe { mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(interface.bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: SIOCGIFHWADDR fills the ifreq we pass a pointer to; it lives across the call.
    check(unsafe { libc::ioctl(fd, libc::SIOCGIFHWADDR as _, &raw mut req) })?;
    // SAFETY: after a successful SIOCGIFHWADDR the union holds `ifru_hwaddr`.
    let data = unsafe { req.ifr_ifru.ifru_hwaddr.sa_data };
    let mut mac = [0u8; 6];
    for (d, s) in mac.iter_mut().zip(data) {
        *d = s as u8;
    }
    Ok(mac)
}

/// An ARP socket on one interface: `AF_PACKET`/`SOCK_DGRAM` (the kernel builds the Ethernet
/// header), non-blocking, bound to the interface so it only sees that link's ARP traffic.
/// Needs CAP_NET_RAW (the error is `EPERM` without it). Returns the socket, the interface
/// index and its MAC.
pub fn arp_socket(interface: &str) -> io::Result<(std::os::fd::OwnedFd, i32, [u8; 6])> {
    let ifindex = if_nametoindex(interface)
        .and_then(|i| i32::try_from(i).ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such interface"))?;
    // SAFETY: plain socket(2) call; the result is checked and wrapped at once.
    let fd = owned(unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::c_int::from(ETH_P_ARP_BE),
        )
    })?;
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    let sa = sockaddr_ll(ifindex, [0; 6]);
    // SAFETY: `sa` is a valid sockaddr_ll of the length we pass; it outlives the call.
    check(unsafe {
        libc::bind(
            raw,
            (&raw const sa).cast::<libc::sockaddr>(),
            SOCKADDR_LL_LEN,
        )
    })?;
    let mac = interface_mac(raw, interface)?;
    Ok((fd, ifindex, mac))
}

/// Sends one ARP payload to the Ethernet broadcast address on interface `ifindex`.
pub fn send_arp(fd: RawFd, ifindex: i32, payload: &[u8]) -> io::Result<()> {
    let sa = sockaddr_ll(ifindex, [0xff; 6]);
    // SAFETY: `payload` and `sa` are valid for the lengths passed and outlive the call.
    let rc = unsafe {
        libc::sendto(
            fd,
            payload.as_ptr().cast(),
            payload.len(),
            0,
            (&raw const sa).cast::<libc::sockaddr>(),
            SOCKADDR_LL_LEN,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Receives one datagram without blocking: `Ok(None)` when the socket is empty. Returns the
/// length and the source's link-layer address (zeroes for non-packet sockets) or IPv4 address.
fn recv_one(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<(usize, [u8; 16])>> {
    // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
    let mut from: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `buf` and `from` are valid for the lengths passed and outlive the call.
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            (&raw mut from).cast::<libc::sockaddr>(),
            &raw mut len,
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        };
    }
    let mut out = [0u8; 16];
    if libc::c_int::from(from.ss_family) == libc::AF_PACKET {
        // SAFETY: the kernel wrote a sockaddr_ll (ss_family says so) into the storage, which
        // is large and aligned enough for it.
        let ll = unsafe { &*(&raw const from).cast::<libc::sockaddr_ll>() };
        for (d, s) in out.iter_mut().zip(ll.sll_addr.iter().take(6)) {
            *d = *s;
        }
    } else if libc::c_int::from(from.ss_family) == libc::AF_INET {
        // SAFETY: as above, for sockaddr_in.
        let sin = unsafe { &*(&raw const from).cast::<libc::sockaddr_in>() };
        let ip = sockaddr_in_to(sin).ip().octets();
        for (d, s) in out.iter_mut().zip(ip) {
            *d = s;
        }
    }
    Ok(Some((n as usize, out)))
}

/// Receives one ARP payload without blocking: `(length, sender MAC)`, `None` when empty.
pub fn recv_arp(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<(usize, [u8; 6])>> {
    Ok(recv_one(fd, buf)?.map(|(n, a)| {
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&a[..6]);
        (n, mac)
    }))
}

/// A raw ICMP socket (`SOCK_RAW`, `IPPROTO_ICMP`), non-blocking. Needs CAP_NET_RAW.
pub fn icmp_socket() -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked and wrapped at once.
    owned(unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::IPPROTO_ICMP,
        )
    })
}

/// Sends one ICMP message (the kernel adds the IP header) to `ip`.
pub fn send_icmp(fd: RawFd, ip: Ipv4Addr, payload: &[u8]) -> io::Result<()> {
    let sa = sockaddr_in_from(SocketAddrV4::new(ip, 0));
    // SAFETY: `payload` and `sa` are valid for the lengths passed and outlive the call.
    let rc = unsafe {
        libc::sendto(
            fd,
            payload.as_ptr().cast(),
            payload.len(),
            0,
            (&raw const sa).cast::<libc::sockaddr>(),
            SOCKADDR_IN_LEN,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Receives one raw ICMP datagram (IP header included) without blocking: `(length, source)`,
/// `None` when empty.
pub fn recv_icmp(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<(usize, Ipv4Addr)>> {
    Ok(recv_one(fd, buf)?.map(|(n, a)| (n, Ipv4Addr::new(a[0], a[1], a[2], a[3]))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_127_0_0_1() {
        let addrs = ipv4_addrs().expect("getifaddrs");
        let lo = addrs
            .iter()
            .find(|a| a.name == "lo" && a.addr == Ipv4Addr::LOCALHOST);
        // A fresh namespace may have lo down without addresses; then there is nothing to check.
        if let Some(lo) = lo {
            assert_eq!(lo.netmask, Ipv4Addr::new(255, 0, 0, 0));
        }
        assert!(if_nametoindex("lo").is_some());
        assert!(if_nametoindex("no-such-if0").is_none());
    }

    #[test]
    fn sockaddr_round_trip() {
        let a = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 67);
        assert_eq!(sockaddr_in_to(&sockaddr_in_from(a)), a);
    }

    /// SO_MEMINFO reports queued bytes while datagrams wait and none once they are read.
    #[test]
    fn receive_queue_counts_waiting_datagrams() {
        use std::os::fd::AsRawFd;
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind rx");
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind tx");
        let (empty, limit) = receive_queue(rx.as_raw_fd()).expect("meminfo");
        assert_eq!(empty, 0);
        assert!(limit > 0);
        for _ in 0..3 {
            tx.send_to(&[0u8; 300], rx.local_addr().expect("addr"))
                .expect("send");
        }
        let (queued, _) = receive_queue(rx.as_raw_fd()).expect("meminfo");
        assert!(queued >= 900, "3 × 300 bytes queued, got {queued}");
        let mut buf = [0u8; 512];
        for _ in 0..3 {
            rx.recv(&mut buf).expect("recv");
        }
        assert_eq!(receive_queue(rx.as_raw_fd()).expect("meminfo").0, 0);
    }

    #[test]
    fn recvmmsg_and_sendmmsg_over_loopback() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind rx");
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind tx");
        let std::net::SocketAddr::V4(rx_addr) = rx.local_addr().expect("addr") else {
            panic!("v4 expected");
        };
        use std::os::fd::AsRawFd;
        let payloads: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10 + usize::from(i)]).collect();
        let mut sb = SendBatch::new(2, false); // smaller than the item count: exercises chunking
        let report = sb.send(
            tx.as_raw_fd(),
            payloads.iter().map(|p| (p.as_slice(), rx_addr)),
            |_, _, e| panic!("send failed: {e}"),
        );
        assert_eq!(report, SendReport { sent: 5, failed: 0 });

        let mut rb = RecvBatch::new(8, 12);
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while got.len() < 5 && std::time::Instant::now() < deadline {
            let mut pfd = [pollfd_in(rx.as_raw_fd())];
            poll_readable(&mut pfd, 100).expect("poll");
            let n = rb.recv(rx.as_raw_fd()).expect("recv");
            for i in 0..n {
                let d = rb.get(i).expect("slot");
                got.push((d.data.to_vec(), d.truncated, d.source));
            }
        }
        assert_eq!(got.len(), 5);
        let tx_port = tx.local_addr().expect("addr").port();
        for (i, (data, truncated, source)) in got.iter().enumerate() {
            let want = &payloads[i];
            assert_eq!(*truncated, want.len() > 12, "datagram {i}");
            assert_eq!(data.as_slice(), &want[..want.len().min(12)]);
            assert_eq!(source.port(), tx_port);
        }
        assert!(rb.get(5).is_none());
    }

    /// Receives datagrams on `fd` until `n` arrived or 5 s passed; returns their payloads.
    fn recv_n(fd: RawFd, n: usize) -> Vec<Vec<u8>> {
        let mut rb = RecvBatch::new(64, 2048);
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while got.len() < n && std::time::Instant::now() < deadline {
            let mut pfd = [pollfd_in(fd)];
            poll_readable(&mut pfd, 100).expect("poll");
            let k = rb.recv(fd).expect("recv");
            for i in 0..k {
                got.push(rb.get(i).expect("slot").data.to_vec());
            }
        }
        got
    }

    fn dest(last: u8) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, last), 67)
    }

    #[test]
    fn gso_runs_group_equal_lengths_to_one_destination() {
        let a = dest(1);
        let b = dest(2);
        let runs = |shape: &[(usize, SocketAddrV4)]| {
            let items: Vec<(Vec<u8>, SocketAddrV4)> =
                shape.iter().map(|&(len, d)| (vec![0; len], d)).collect();
            let mut out = Vec::new();
            gso_runs(&items, &mut out);
            out
        };
        // Equal lengths group; a shorter one ends the run; a longer one starts a new run.
        let items = [(300, a), (300, a), (300, a), (280, a), (300, a), (320, a)];
        assert_eq!(runs(&items), vec![4, 1, 1]);
        // Another destination breaks the run.
        let items = [(300, a), (300, b), (300, b), (300, a)];
        assert_eq!(runs(&items), vec![1, 2, 1]);
        // At most GSO_MAX_SEGMENTS per run; every datagram is covered.
        let items = vec![(300, a); 2 * GSO_MAX_SEGMENTS + 3];
        assert_eq!(runs(&items), vec![GSO_MAX_SEGMENTS, GSO_MAX_SEGMENTS, 3]);
        // Too long for a segment (or empty): alone.
        let items = [(1473, a), (1473, a), (0, a), (0, a)];
        assert_eq!(runs(&items), vec![1, 1, 1, 1]);
        // The payload limit: 65,507 / 1,400 = 46 segments.
        let items = vec![(1400, a); 50];
        assert_eq!(runs(&items), vec![46, 4]);
        assert!(runs(&[]).is_empty());
    }

    /// Real UDP GSO through the kernel (loopback): 150 replies of one length plus a shorter
    /// last one arrive as 151 separate datagrams, in order, each with its own bytes.
    #[test]
    fn gso_send_arrives_as_separate_datagrams() {
        use std::os::fd::AsRawFd;
        let rx = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)
            .expect("socket");
        rx.set_recv_buffer_size(4 << 20).expect("rcvbuf");
        rx.bind(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0).into())
            .expect("bind");
        let rx_addr = rx.local_addr().expect("addr").as_socket_ipv4().expect("v4");
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind tx");
        let mut payloads: Vec<Vec<u8>> = (0..150u32)
            .map(|i| {
                let mut p = vec![0u8; 300];
                p[..4].copy_from_slice(&i.to_be_bytes());
                p
            })
            .collect();
        payloads.push(vec![0xee; 100]);
        let mut sb = SendBatch::new(128, true);
        let report = sb.send(
            tx.as_raw_fd(),
            payloads.iter().map(|p| (p.as_slice(), rx_addr)),
            |_, _, e| panic!("send failed: {e}"),
        );
        assert_eq!(
            report,
            SendReport {
                sent: 151,
                failed: 0
            }
        );
        assert!(
            sb.gso(),
            "loopback accepts UDP GSO: {:?}",
            sb.take_gso_refusal()
        );
        assert_eq!(recv_n(rx.as_raw_fd(), payloads.len()), payloads);
    }

    /// A socket whose GSO sends the kernel refuses (`SO_NO_CHECK`: no UDP checksum, which GSO
    /// needs, so `sendmsg` fails with EINVAL): GSO switches off, the refusal is reported once,
    /// and every datagram still arrives, singly.
    #[test]
    fn refused_gso_falls_back_to_single_sends() {
        use std::os::fd::AsRawFd;
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind rx");
        let std::net::SocketAddr::V4(rx_addr) = rx.local_addr().expect("addr") else {
            panic!("v4 expected");
        };
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind tx");
        let one: libc::c_int = 1;
        // SAFETY: valid fd, option value is a live c_int of the given size.
        let rc = unsafe {
            libc::setsockopt(
                tx.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NO_CHECK,
                (&raw const one).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "SO_NO_CHECK: {}", io::Error::last_os_error());
        let payloads: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i; 200]).collect();
        let mut sb = SendBatch::new(64, true);
        let report = sb.send(
            tx.as_raw_fd(),
            payloads.iter().map(|p| (p.as_slice(), rx_addr)),
            |_, _, e| panic!("send failed: {e}"),
        );
        assert_eq!(report, SendReport { sent: 6, failed: 0 });
        assert!(!sb.gso(), "GSO is off after the refusal");
        let refusal = sb.take_gso_refusal().expect("the refusal is reported");
        assert_eq!(refusal.raw_os_error(), Some(libc::EINVAL));
        assert!(sb.take_gso_refusal().is_none(), "reported once");
        assert_eq!(recv_n(rx.as_raw_fd(), payloads.len()), payloads);
    }

    #[test]
    fn kernel_drop_counter_reaches_us() {
        use std::os::fd::AsRawFd;
        let rx = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)
            .expect("socket");
        rx.set_recv_buffer_size(1).expect("rcvbuf"); // kernel minimum: a few datagrams
        rx.bind(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0).into())
            .expect("bind");
        enable_drop_counter(rx.as_raw_fd()).expect("SO_RXQ_OVFL");
        let rx_addr = rx.local_addr().expect("addr").as_socket_ipv4().expect("v4");
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind tx");
        let payload = [0u8; 1000];
        for _ in 0..64 {
            let _ = tx.send_to(&payload, rx_addr);
        }
        let mut rb = RecvBatch::new(64, 1024);
        while rb.recv(rx.as_raw_fd()).expect("drain") > 0 {}
        // Drops are reported on the next datagram queued after them.
        tx.send_to(&payload, rx_addr).expect("send");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut n = 0;
        while n == 0 && std::time::Instant::now() < deadline {
            let mut pfd = [pollfd_in(rx.as_raw_fd())];
            poll_readable(&mut pfd, 100).expect("poll");
            n = rb.recv(rx.as_raw_fd()).expect("recv");
        }
        assert_eq!(n, 1);
        assert!(
            rb.kernel_drops().is_some_and(|d| d > 0),
            "{:?}",
            rb.kernel_drops()
        );
    }
}
