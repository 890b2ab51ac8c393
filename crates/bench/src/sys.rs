//! The crate's only unsafe code: batched UDP syscalls (`sendmmsg`, `recvmmsg`), `ppoll` with a
//! sub-millisecond timeout, and `SO_RCVBUFFORCE`/`SO_SNDBUFFORCE`, none of which std or
//! socket2 expose.
#![allow(unsafe_code)]

use std::io;
use std::net::SocketAddrV4;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Largest datagram received; DHCP replies are at most a few hundred bytes.
pub const RECV_BUF_LEN: usize = 1536;

/// Most messages handed to the kernel in one `sendmmsg` call (Linux `UIO_MAXIOV`).
pub const MAX_BATCH: usize = 1024;

/// Converts an address to the C `sockaddr_in` layout.
fn sockaddr_in(addr: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(addr.ip().octets()),
        },
        sin_zero: [0; 8],
    }
}

/// `UDP_SEGMENT` (linux/udp.h): cmsg carrying a UDP GSO segment size.
const UDP_SEGMENT: libc::c_int = 103;

/// Most datagrams per GSO send (the kernel's `UDP_MAX_SEGMENTS` before Linux 6.10).
const GSO_MAX_SEGMENTS: usize = 64;

/// Largest GSO segment we form (fits a 1500-byte MTU with IP and UDP headers).
const GSO_MAX_SEGMENT_LEN: usize = 1472;

/// True when the kernel refused a GSO send for a reason that a plain send would not hit.
pub fn is_gso_refusal(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP)
    )
}

/// Sends the first up to [`MAX_BATCH`] of `packets` to `dest` with one `sendmmsg` call and
/// returns how many packets the kernel took (on a blocking socket: all of them unless an error
/// stopped it). An error is returned only when not even the first message was sent.
///
/// With `gso`, consecutive packets of equal length (the generator pads every request to the
/// same 300 bytes) go as one message with a `UDP_SEGMENT` cmsg, up to 64 per message: the
/// kernel walks its UDP/IP path once per group, and the server still receives one datagram per
/// packet. A refused GSO send comes back as an error for which [`is_gso_refusal`] holds.
pub fn send_batch(
    sock: &impl AsRawFd,
    packets: &[Vec<u8>],
    dest: SocketAddrV4,
    gso: bool,
) -> io::Result<usize> {
    let packets = packets
        .get(..packets.len().min(MAX_BATCH))
        .unwrap_or(packets);
    if packets.is_empty() {
        return Ok(0);
    }
    // Runs of packets per message: equal lengths (the last of a run may be shorter).
    let mut runs: Vec<usize> = Vec::new();
    let mut i = 0;
    while let Some(first) = packets.get(i) {
        let len = first.len();
        let mut n = 1;
        if gso && len > 0 && len <= GSO_MAX_SEGMENT_LEN {
            let max = GSO_MAX_SEGMENTS.min(65_507 / len);
            while n < max {
                match packets.get(i + n).map(Vec::len) {
                    Some(l) if l == len => n += 1,
                    Some(l) if l > 0 && l < len => {
                        n += 1;
                        break;
                    }
                    _ => break,
                }
            }
        }
        runs.push(n);
        i += n;
    }
    let mut addr = sockaddr_in(dest);
    let mut iovecs: Vec<libc::iovec> = packets
        .iter()
        .map(|p| libc::iovec {
            iov_base: p.as_ptr() as *mut libc::c_void,
            iov_len: p.len(),
        })
        .collect();
    // SAFETY: CMSG_SPACE only does arithmetic.
    let ctrl_words = (unsafe { libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) } as usize)
        .div_ceil(std::mem::size_of::<u64>());
    let mut ctrl: Vec<u64> = vec![0; ctrl_words * runs.len()];
    let mut headers: Vec<libc::mmsghdr> = Vec::with_capacity(runs.len());
    let mut first = 0;
    for (m, &n) in runs.iter().enumerate() {
        // SAFETY: msghdr is a plain C struct for which all-zero is a valid value.
        let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
        hdr.msg_name = (&raw mut addr).cast::<libc::c_void>();
        hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        hdr.msg_iov = iovecs[first..].as_mut_ptr();
        hdr.msg_iovlen = n;
        if n > 1 {
            let c = &mut ctrl[m * ctrl_words..(m + 1) * ctrl_words];
            hdr.msg_control = c.as_mut_ptr().cast();
            hdr.msg_controllen = ctrl_words * std::mem::size_of::<u64>();
            // SAFETY: msg_control points at ctrl_words u64s, room for one cmsg with a u16.
            unsafe {
                let cm = libc::CMSG_FIRSTHDR(&raw const hdr);
                (*cm).cmsg_level = libc::SOL_UDP;
                (*cm).cmsg_type = UDP_SEGMENT;
                (*cm).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as usize;
                libc::CMSG_DATA(cm)
                    .cast::<u16>()
                    .write_unaligned(packets[first].len() as u16);
            }
        }
        headers.push(libc::mmsghdr {
            msg_hdr: hdr,
            msg_len: 0,
        });
        first += n;
    }
    loop {
        // SAFETY: `headers` holds `headers.len()` initialised mmsghdr whose name, iovec and
        // control pointers refer to `addr`, `iovecs`, `ctrl` and `packets`, all alive and
        // unmoved until the call returns; the kernel only reads the buffers and writes
        // `msg_len`.
        let n = unsafe {
            libc::sendmmsg(
                sock.as_raw_fd(),
                headers.as_mut_ptr(),
                headers.len() as libc::c_uint,
                0,
            )
        };
        if n >= 0 {
            return Ok(runs.iter().take(n as usize).sum());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Reusable receive buffers for [`recv_batch`].
#[derive(Debug)]
pub struct RecvBuffers {
    /// `slots * RECV_BUF_LEN` bytes, one slot per datagram.
    data: Vec<u8>,
    /// Length of the datagram in each slot after the last receive.
    lens: Vec<usize>,
    /// How many slots the last receive filled.
    filled: usize,
}

impl RecvBuffers {
    /// Buffers for up to `slots` datagrams per call (at least 1, at most [`MAX_BATCH`]).
    pub fn new(slots: usize) -> Self {
        let slots = slots.clamp(1, MAX_BATCH);
        Self {
            data: vec![0; slots * RECV_BUF_LEN],
            lens: vec![0; slots],
            filled: 0,
        }
    }

    /// The datagrams of the last receive.
    pub fn datagrams(&self) -> impl Iterator<Item = &[u8]> {
        self.data
            .chunks(RECV_BUF_LEN)
            .zip(&self.lens)
            .take(self.filled)
            .map(|(chunk, &len)| chunk.get(..len).unwrap_or(chunk))
    }
}

/// Receives as many datagrams as are queued (up to the buffer's slots) without blocking.
/// Returns the count, 0 when nothing was waiting.
pub fn recv_batch(sock: &impl AsRawFd, bufs: &mut RecvBuffers) -> io::Result<usize> {
    bufs.filled = 0;
    let mut iovecs: Vec<libc::iovec> = bufs
        .data
        .chunks_mut(RECV_BUF_LEN)
        .map(|c| libc::iovec {
            iov_base: c.as_mut_ptr().cast::<libc::c_void>(),
            iov_len: c.len(),
        })
        .collect();
    let mut headers: Vec<libc::mmsghdr> = iovecs
        .iter_mut()
        .map(|iov| {
            // SAFETY: msghdr is a plain C struct for which all-zero is a valid value.
            let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
            hdr.msg_iov = iov;
            hdr.msg_iovlen = 1;
            libc::mmsghdr {
                msg_hdr: hdr,
                msg_len: 0,
            }
        })
        .collect();
    loop {
        // SAFETY: each header points at one iovec covering a distinct RECV_BUF_LEN chunk of
        // `bufs.data`, all alive and exclusively borrowed for the call; no name buffer is
        // given (msg_name null); a null timeout with MSG_DONTWAIT never blocks.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                headers.as_mut_ptr(),
                headers.len() as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n >= 0 {
            let n = n as usize;
            for (len, hdr) in bufs.lens.iter_mut().zip(&headers).take(n) {
                *len = (hdr.msg_len as usize).min(RECV_BUF_LEN);
            }
            bufs.filled = n;
            return Ok(n);
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(0),
            _ => return Err(err),
        }
    }
}

/// Waits until `sock` is readable or `timeout` passes; true when readable.
pub fn wait_readable(sock: &impl AsRawFd, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: one valid pollfd and a valid timespec, both alive for the call; null sigmask.
    let n = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
    if n < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(err);
    }
    Ok(n > 0)
}

/// Sets the receive and send buffers to `bytes`, above `rmem_max` (needs CAP_NET_ADMIN).
pub fn force_buffer_sizes(sock: &impl AsRawFd, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE] {
        // SAFETY: passes a pointer to a live c_int and its exact size, as setsockopt expects.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&raw const value).cast::<libc::c_void>(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
