//! DHCPv4 wire format (RFC 2131 §2, RFC 2132, RFC 3396): a zero-copy [`Message`] view over a
//! received datagram and a [`MessageBuilder`] that encodes replies and requests.
//!
//! This crate owns bytes only: it never does I/O and never panics on any input. Data comes from
//! the server's sockets (or the bench generator) as `&[u8]`; parsed messages go to the engine.
//!
//! API CONTRACT (other crates are written against exactly these signatures):
//!
//! ```ignore
//! pub const SERVER_PORT: u16 = 67;
//! pub const CLIENT_PORT: u16 = 68;
//! pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
//! pub const BOOTREQUEST: u8 = 1;
//! pub const BOOTREPLY: u8 = 2;
//! pub const HTYPE_ETHERNET: u8 = 1;
//! pub const FLAG_BROADCAST: u16 = 0x8000;
//! /// Minimum BOOTP message length we pad replies to (RFC 1542 §3.3 / RFC 2131 §2: 300 bytes).
//! pub const MIN_MESSAGE_LEN: usize = 300;
//! /// Default max DHCP message size a client accepts (RFC 2131 §2: 576-byte IP datagram).
//! pub const DEFAULT_MAX_MESSAGE_SIZE: u16 = 576;
//!
//! /// Option codes (RFC 2132 and friends) as constants.
//! pub mod code { pub const PAD: u8 = 0; pub const SUBNET_MASK: u8 = 1; pub const ROUTER: u8 = 3;
//!   pub const DNS_SERVERS: u8 = 6; pub const HOSTNAME: u8 = 12; pub const DOMAIN_NAME: u8 = 15;
//!   pub const INTERFACE_MTU: u8 = 26; pub const BROADCAST_ADDRESS: u8 = 28; pub const NTP_SERVERS: u8 = 42;
//!   pub const REQUESTED_IP: u8 = 50; pub const LEASE_TIME: u8 = 51; pub const OVERLOAD: u8 = 52;
//!   pub const MESSAGE_TYPE: u8 = 53; pub const SERVER_ID: u8 = 54; pub const PARAMETER_REQUEST_LIST: u8 = 55;
//!   pub const MESSAGE: u8 = 56; pub const MAX_MESSAGE_SIZE: u8 = 57; pub const RENEWAL_TIME: u8 = 58;
//!   pub const REBINDING_TIME: u8 = 59; pub const VENDOR_CLASS_ID: u8 = 60; pub const CLIENT_ID: u8 = 61;
//!   pub const RELAY_AGENT_INFO: u8 = 82; pub const DOMAIN_SEARCH: u8 = 119;
//!   pub const CLASSLESS_STATIC_ROUTE: u8 = 121; pub const END: u8 = 255; }
//!
//! #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)] #[repr(u8)]
//! pub enum MessageType { Discover = 1, Offer = 2, Request = 3, Decline = 4, Ack = 5, Nak = 6, Release = 7, Inform = 8 }
//! impl MessageType { pub fn from_u8(v: u8) -> Option<Self>; pub fn as_str(self) -> &'static str /* "DISCOVER" ... */ }
//!
//! /// Why a datagram was rejected. Small and Copy: the hot path allocates nothing on error.
//! #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
//! pub enum ParseError { TooShort, BadCookie, BadHlen, OptionOverrun, MissingEnd, BadOverload, BadOptionLength { code: u8 } }
//! impl ParseError { pub fn as_str(self) -> &'static str /* stable snake_case reason for counters: "too_short" ... */ }
//! impl std::fmt::Display for ParseError; impl std::error::Error for ParseError;
//!
//! /// Zero-copy view over one received datagram; options are located at parse time.
//! #[derive(Clone, Debug)]
//! pub struct Message<'a> { .. }
//! impl<'a> Message<'a> {
//!     /// Validates the fixed header (236 bytes), the magic cookie, walks options (and the
//!     /// sname/file fields when option 52 says so) and records where each option lives.
//!     pub fn parse(buf: &'a [u8]) -> Result<Message<'a>, ParseError>;
//!     pub fn as_bytes(&self) -> &'a [u8];
//!     pub fn op(&self) -> u8; pub fn htype(&self) -> u8; pub fn hlen(&self) -> u8; pub fn hops(&self) -> u8;
//!     pub fn xid(&self) -> u32; pub fn secs(&self) -> u16; pub fn flags(&self) -> u16;
//!     pub fn broadcast(&self) -> bool;
//!     pub fn ciaddr(&self) -> Ipv4Addr; pub fn yiaddr(&self) -> Ipv4Addr;
//!     pub fn siaddr(&self) -> Ipv4Addr; pub fn giaddr(&self) -> Ipv4Addr;
//!     /// The first `hlen` bytes of chaddr (parse rejects hlen > 16 with BadHlen).
//!     pub fn chaddr(&self) -> &'a [u8];
//!     pub fn sname(&self) -> &'a [u8]; pub fn file(&self) -> &'a [u8];
//!     /// Value of option `code`; several instances are concatenated in order (RFC 3396 §5),
//!     /// borrowed when there is one instance.
//!     pub fn option(&self, code: u8) -> Option<Cow<'a, [u8]>>;
//!     pub fn has_option(&self, code: u8) -> bool;
//!     /// Every option instance in wire order, (code, value), fragments not joined.
//!     pub fn raw_options(&self) -> impl Iterator<Item = (u8, &'a [u8])> + '_;
//!     // typed accessors: None when absent or malformed (wrong length)
//!     pub fn message_type(&self) -> Option<MessageType>;            // 53
//!     pub fn subnet_mask(&self) -> Option<Ipv4Addr>;                 // 1
//!     pub fn routers(&self) -> Option<Vec<Ipv4Addr>>;                // 3
//!     pub fn dns_servers(&self) -> Option<Vec<Ipv4Addr>>;            // 6
//!     pub fn hostname(&self) -> Option<Cow<'a, [u8]>>;               // 12
//!     pub fn domain_name(&self) -> Option<Cow<'a, [u8]>>;            // 15
//!     pub fn broadcast_address(&self) -> Option<Ipv4Addr>;           // 28
//!     pub fn ntp_servers(&self) -> Option<Vec<Ipv4Addr>>;            // 42
//!     pub fn requested_ip(&self) -> Option<Ipv4Addr>;                // 50
//!     pub fn lease_time(&self) -> Option<u32>;                       // 51
//!     pub fn server_id(&self) -> Option<Ipv4Addr>;                   // 54
//!     pub fn parameter_request_list(&self) -> Option<Cow<'a, [u8]>>; // 55
//!     pub fn max_message_size(&self) -> Option<u16>;                 // 57
//!     pub fn renewal_time(&self) -> Option<u32>;                     // 58
//!     pub fn rebinding_time(&self) -> Option<u32>;                   // 59
//!     pub fn vendor_class_id(&self) -> Option<Cow<'a, [u8]>>;        // 60
//!     pub fn client_id(&self) -> Option<Cow<'a, [u8]>>;              // 61
//!     pub fn relay_agent_info(&self) -> Option<Cow<'a, [u8]>>;       // 82 (raw, to echo back)
//!     pub fn domain_search(&self) -> Option<Cow<'a, [u8]>>;          // 119 (raw RFC 1035 names)
//!     pub fn classless_routes(&self) -> Option<Vec<(Ipv4Net-like (Ipv4Addr, u8), Ipv4Addr)>>; // 121
//! }
//!
//! /// Encodes one message. Options longer than 255 bytes are split into several instances
//! /// (RFC 3396). `finish` appends END and pads to MIN_MESSAGE_LEN.
//! pub struct MessageBuilder { .. }
//! impl MessageBuilder {
//!     /// A BOOTREPLY for `req`: copies htype, hlen, xid, flags, giaddr, chaddr (RFC 2131 §4.3.1
//!     /// table 3), sets op = BOOTREPLY and option 53 = `msg_type`.
//!     pub fn reply(req: &Message<'_>, msg_type: MessageType) -> Self;
//!     /// A BOOTREQUEST from a client (tests, bench): htype 1, hlen = chaddr.len() (<= 16).
//!     pub fn request(msg_type: MessageType, xid: u32, chaddr: &[u8]) -> Self;
//!     pub fn set_op(&mut self, op: u8) -> &mut Self; pub fn set_hops(&mut self, v: u8) -> &mut Self;
//!     pub fn set_secs(&mut self, v: u16) -> &mut Self; pub fn set_flags(&mut self, v: u16) -> &mut Self;
//!     pub fn set_ciaddr(&mut self, a: Ipv4Addr) -> &mut Self; pub fn set_yiaddr(&mut self, a: Ipv4Addr) -> &mut Self;
//!     pub fn set_siaddr(&mut self, a: Ipv4Addr) -> &mut Self; pub fn set_giaddr(&mut self, a: Ipv4Addr) -> &mut Self;
//!     pub fn set_sname(&mut self, v: &[u8]) -> &mut Self; pub fn set_file(&mut self, v: &[u8]) -> &mut Self;
//!     /// Appends option `code` with `value` (split per RFC 3396 when longer than 255).
//!     pub fn option(&mut self, code: u8, value: &[u8]) -> &mut Self;
//!     pub fn option_ip(&mut self, code: u8, a: Ipv4Addr) -> &mut Self;
//!     pub fn option_u32(&mut self, code: u8, v: u32) -> &mut Self;
//!     pub fn encoded_len(&self) -> usize;   // length finish() would produce
//!     pub fn finish(self) -> Vec<u8>;
//! }
//! ```
