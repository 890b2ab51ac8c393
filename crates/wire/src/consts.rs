//! Protocol constants: ports, magic cookie, fixed-header layout and size limits (RFC 2131 §2).

/// UDP port DHCP servers listen on (RFC 2131 §4.1).
pub const SERVER_PORT: u16 = 67;
/// UDP port DHCP clients listen on (RFC 2131 §4.1).
pub const CLIENT_PORT: u16 = 68;
/// The four octets that start the options field (RFC 2131 §3, RFC 2132 §2).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// `op` value of a message sent by a client (RFC 2131 §2).
pub const BOOTREQUEST: u8 = 1;
/// `op` value of a message sent by a server (RFC 2131 §2).
pub const BOOTREPLY: u8 = 2;
/// `htype` for 10 Mb Ethernet (RFC 1700 "Hardware Types").
pub const HTYPE_ETHERNET: u8 = 1;
/// Leftmost bit of `flags`: the client wants replies broadcast (RFC 2131 §2, figure 2).
pub const FLAG_BROADCAST: u16 = 0x8000;
/// Minimum BOOTP message length we pad replies to (RFC 1542 §3.3 / RFC 2131 §2: 300 bytes).
pub const MIN_MESSAGE_LEN: usize = 300;
/// Default max DHCP message size a client accepts (RFC 2131 §2: 576-byte IP datagram).
pub const DEFAULT_MAX_MESSAGE_SIZE: u16 = 576;

/// Length of the fixed BOOTP header, up to and excluding the magic cookie (RFC 2131 §2).
pub const HEADER_LEN: usize = 236;
/// Offset of the options field: the header plus the 4-byte magic cookie.
pub const OPTIONS_OFFSET: usize = HEADER_LEN + MAGIC_COOKIE.len();
/// Size of the `chaddr` field; `hlen` may not exceed it.
pub const CHADDR_LEN: usize = 16;
/// Size of the `sname` field.
pub const SNAME_LEN: usize = 64;
/// Size of the `file` field.
pub const FILE_LEN: usize = 128;
/// Longest value a single option instance can carry; longer values are split (RFC 3396).
pub const MAX_OPTION_LEN: usize = 255;

/// Offset of `op` in the fixed header.
pub(crate) const OFF_OP: usize = 0;
/// Offset of `htype`.
pub(crate) const OFF_HTYPE: usize = 1;
/// Offset of `hlen`.
pub(crate) const OFF_HLEN: usize = 2;
/// Offset of `hops`.
pub(crate) const OFF_HOPS: usize = 3;
/// Offset of `xid`.
pub(crate) const OFF_XID: usize = 4;
/// Offset of `secs`.
pub(crate) const OFF_SECS: usize = 8;
/// Offset of `flags`.
pub(crate) const OFF_FLAGS: usize = 10;
/// Offset of `ciaddr`.
pub(crate) const OFF_CIADDR: usize = 12;
/// Offset of `yiaddr`.
pub(crate) const OFF_YIADDR: usize = 16;
/// Offset of `siaddr`.
pub(crate) const OFF_SIADDR: usize = 20;
/// Offset of `giaddr`.
pub(crate) const OFF_GIADDR: usize = 24;
/// Offset of `chaddr`.
pub(crate) const OFF_CHADDR: usize = 28;
/// Offset of `sname`.
pub(crate) const OFF_SNAME: usize = 44;
/// Offset of `file`.
pub(crate) const OFF_FILE: usize = 108;
/// Offset of the magic cookie.
pub(crate) const OFF_COOKIE: usize = HEADER_LEN;
