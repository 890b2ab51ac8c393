//! Per-interface listening sockets (UDP 0.0.0.0:67 bound to one device) and the interface
//! address table the engine needs for subnet selection and the server identifier.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};

use ipnet::Ipv4Net;
use socket2::{Domain, Protocol, Socket, Type};

use crate::ServerError;
use crate::sys::{self, IfAddr};

/// One interface we serve: its socket and its current IPv4 addresses.
#[derive(Debug)]
pub struct ListenSocket {
    /// Interface name (`server.interfaces` entry).
    pub name: String,
    /// IPv4 addresses with prefix, refreshed on SIGHUP and every few seconds.
    pub addrs: Vec<Ipv4Net>,
    /// The kernel's cumulative drop count for this socket (receive buffer full), as last
    /// reported through `SO_RXQ_OVFL`.
    pub kernel_drops: u32,
    /// DISCOVERs are being shed: the receive queue was found over half full and has not
    /// drained below an eighth since ([`crate::overload`]).
    pub shedding: bool,
    socket: Socket,
}

impl ListenSocket {
    /// Opens `0.0.0.0:67` bound to `interface`, broadcast-capable, non-blocking, with a
    /// receive buffer of `receive_buffer` bytes (forced past `rmem_max` when allowed).
    pub fn open(interface: &str, receive_buffer: usize) -> Result<Self, ServerError> {
        // The interface must exist in this namespace; its index itself is not kept.
        sys::if_nametoindex(interface).ok_or_else(|| ServerError::NoSuchInterface {
            interface: interface.to_string(),
        })?;
        let fail = |what: &'static str| {
            move |source: io::Error| ServerError::Socket {
                interface: interface.to_string(),
                what,
                source,
            }
        };
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
            .map_err(fail("create UDP socket"))?;
        socket
            .set_reuse_address(true)
            .map_err(fail("set SO_REUSEADDR"))?;
        socket
            .set_broadcast(true)
            .map_err(fail("set SO_BROADCAST"))?;
        // Several sockets share 0.0.0.0:67, one per device: the kernel delivers each datagram
        // to the socket bound to the interface it arrived on.
        socket
            .bind_device(Some(interface.as_bytes()))
            .map_err(fail("bind to device (SO_BINDTODEVICE, needs CAP_NET_RAW)"))?;
        set_receive_buffer(&socket, receive_buffer);
        if let Err(e) = sys::enable_drop_counter(socket.as_raw_fd()) {
            tracing::debug!(interface, error = %e, "SO_RXQ_OVFL unavailable: kernel drops not counted");
        }
        socket
            .set_nonblocking(true)
            .map_err(fail("set non-blocking"))?;
        let bind_addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, hyperdhcp_wire::SERVER_PORT);
        socket.bind(&bind_addr.into()).map_err(fail(
            "bind 0.0.0.0:67 (another DHCP server running? needs CAP_NET_BIND_SERVICE)",
        ))?;
        Ok(Self {
            name: interface.to_string(),
            addrs: Vec::new(),
            kernel_drops: 0,
            shedding: false,
            socket,
        })
    }

    /// The raw descriptor, for poll/recvmmsg/sendmmsg/ioctl.
    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Applies a new receive buffer size (on reload).
    pub fn set_receive_buffer(&self, bytes: usize) {
        set_receive_buffer(&self.socket, bytes);
    }

    /// Human-readable address list for logs: `198.18.0.1/16, 198.19.0.1/24` or `no IPv4 address`.
    pub fn addrs_display(&self) -> String {
        if self.addrs.is_empty() {
            return "no IPv4 address".to_string();
        }
        self.addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
impl ListenSocket {
    /// A socket that is neither bound nor used to send: carries a name and addresses for
    /// pipeline tests that must not put packets on any real interface.
    pub(crate) fn detached_for_test(name: &str, addrs: Vec<Ipv4Net>) -> Self {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
            .unwrap_or_else(|e| panic!("socket: {e}"));
        Self {
            name: name.to_string(),
            addrs,
            kernel_drops: 0,
            shedding: false,
            socket,
        }
    }
}

/// SO_RCVBUFFORCE when we have CAP_NET_ADMIN (it can exceed `net.core.rmem_max`, which cannot
/// be raised from inside a network namespace), else SO_RCVBUF capped by the kernel.
fn set_receive_buffer(socket: &Socket, bytes: usize) {
    if sys::set_recv_buffer_force(socket.as_raw_fd(), bytes).is_ok() {
        return;
    }
    if let Err(e) = socket.set_recv_buffer_size(bytes) {
        tracing::warn!(bytes, error = %e, "cannot set the socket receive buffer");
    }
    // Linux reports double the requested size (bookkeeping overhead), so compare to half.
    if let Ok(got) = socket.recv_buffer_size()
        && got / 2 < bytes
    {
        tracing::warn!(
            requested = bytes,
            granted = got / 2,
            "receive buffer capped by net.core.rmem_max (SO_RCVBUFFORCE needs CAP_NET_ADMIN)"
        );
    }
}

/// The IPv4 networks of `interface` in a getifaddrs snapshot, in kernel order.
pub fn addrs_of(all: &[IfAddr], interface: &str) -> Vec<Ipv4Net> {
    all.iter()
        .filter(|a| a.name == interface)
        .map(|a| {
            // A non-contiguous netmask cannot happen for IPv4 interface addresses on Linux;
            // fall back to a host route rather than panic.
            Ipv4Net::with_netmask(a.addr, a.netmask).unwrap_or_else(|_| Ipv4Net::from(a.addr))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ifaddr(name: &str, addr: [u8; 4], mask: [u8; 4]) -> IfAddr {
        IfAddr {
            name: name.to_string(),
            addr: addr.into(),
            netmask: mask.into(),
        }
    }

    #[test]
    fn addrs_of_filters_by_interface_and_keeps_host_bits() {
        let all = [
            ifaddr("lo", [127, 0, 0, 1], [255, 0, 0, 0]),
            ifaddr("srv0", [198, 18, 0, 1], [255, 254, 0, 0]),
            ifaddr("srv1", [198, 19, 1, 1], [255, 255, 255, 0]),
            ifaddr("srv0", [198, 19, 200, 1], [255, 255, 255, 255]),
        ];
        let got = addrs_of(&all, "srv0");
        let want: Vec<Ipv4Net> = vec![
            "198.18.0.1/15".parse().expect("net"),
            "198.19.200.1/32".parse().expect("net"),
        ];
        assert_eq!(got, want);
        assert_eq!(got[0].addr(), Ipv4Addr::new(198, 18, 0, 1));
        assert!(addrs_of(&all, "eth9").is_empty());
    }

    #[test]
    fn loopback_addresses_via_getifaddrs() {
        let all = sys::ipv4_addrs().expect("getifaddrs");
        for net in addrs_of(&all, "lo") {
            assert!(net.addr().is_loopback(), "{net}");
        }
    }

    #[test]
    fn missing_interface_is_named_in_the_error() {
        let err = ListenSocket::open("hd-nosuch0", 1 << 20).expect_err("must fail");
        assert!(matches!(err, ServerError::NoSuchInterface { .. }));
        assert!(err.to_string().contains("hd-nosuch0"), "{err}");
    }
}
