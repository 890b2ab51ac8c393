//! [`HwAddr`]: a client hardware address (`htype` + up to 16 bytes of `chaddr`), shared by the
//! configuration (reservations), the engine (client identity) and the tools.

use std::fmt;
use std::str::FromStr;

/// Longest hardware address `chaddr` can carry (RFC 2131 §2: 16 octets).
const MAX_HWADDR_LEN: usize = 16;

/// A client hardware address (RFC 2131 §2 `htype`/`hlen`/`chaddr`), at most 16 bytes, `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HwAddr {
    /// ARP hardware type (1 = Ethernet).
    pub htype: u8,
    len: u8,
    bytes: [u8; MAX_HWADDR_LEN],
}

impl HwAddr {
    /// Builds an address from `htype` and the first `hlen` bytes of chaddr; `None` if longer than 16.
    pub fn new(htype: u8, addr: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; MAX_HWADDR_LEN];
        bytes.get_mut(..addr.len())?.copy_from_slice(addr);
        Some(Self {
            htype,
            len: addr.len() as u8,
            bytes,
        })
    }

    /// An Ethernet (htype 1) address.
    pub fn ethernet(mac: [u8; 6]) -> Self {
        let mut bytes = [0u8; MAX_HWADDR_LEN];
        for (dst, src) in bytes.iter_mut().zip(mac) {
            *dst = src;
        }
        Self {
            htype: 1,
            len: 6,
            bytes,
        }
    }

    /// The significant bytes.
    pub fn as_bytes(&self) -> &[u8] {
        // `len` is at most 16 by construction; `get` keeps this free of a panic path anyway.
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl fmt::Display for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.as_bytes().iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Error for a hardware address string that is not `xx:xx:...` (1 to 16 hex octets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HwAddrParseError(pub String);

impl fmt::Display for HwAddrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid hardware address {:?}: expected hex octets separated by ':' or '-'",
            self.0
        )
    }
}

impl std::error::Error for HwAddrParseError {}

impl FromStr for HwAddr {
    type Err = HwAddrParseError;
    /// Parses `02:00:00:00:00:aa` (or with `-`); six octets give htype 1 (Ethernet).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || HwAddrParseError(s.to_string());
        let mut out = Vec::with_capacity(6);
        for part in s.split([':', '-']) {
            if part.is_empty() || part.len() > 2 {
                return Err(err());
            }
            out.push(u8::from_str_radix(part, 16).map_err(|_| err())?);
        }
        if out.is_empty() {
            return Err(err());
        }
        HwAddr::new(1, &out).ok_or_else(err)
    }
}
