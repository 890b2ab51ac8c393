//! DHCPv4 wire format (RFC 2131 §2, RFC 2132, RFC 3396): a zero-copy [`Message`] view over a
//! received datagram and a [`MessageBuilder`] that encodes replies and requests.
//!
//! This crate owns bytes only: it never does I/O and never panics on any input. Data comes from
//! the server's sockets (or the bench generator) as `&[u8]`; parsed messages go to the engine,
//! and the engine's decisions come back here to be encoded by [`MessageBuilder`].
//!
//! Map:
//! * [`consts`] — ports, magic cookie, header layout, size limits (also re-exported at the root).
//! * [`code`] — option code constants (RFC 2132 and friends).
//! * `message_type` — [`MessageType`], the value of option 53.
//! * `error` — [`ParseError`], the small `Copy` reason a datagram was rejected.
//! * `message` — [`Message`], the zero-copy parsed view with typed option accessors.
//! * `builder` — [`MessageBuilder`], the encoder (RFC 3396 splitting, END, padding).
//! * `encoding` — helpers for structured option values: classless routes (RFC 3442) and
//!   domain search lists (RFC 3397).
//! * [`relay`] — [`RelayAgentInfo`], option 82 sub-options (RFC 3046, 3527, 3993).
//! * [`fqdn`] — [`ClientFqdn`], option 81 (RFC 4702).
//! * `hwaddr` — [`HwAddr`], a client hardware address (htype + chaddr bytes), parsed from
//!   `02:00:…` text.
//! * `fuzz` — [`fuzz_exercise`], shared by the fuzz target and the corpus replay test.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![forbid(unsafe_code)]

mod builder;
pub mod code;
pub mod consts;
mod encoding;
mod error;
pub mod fqdn;
mod fuzz;
mod hwaddr;
mod message;
mod message_type;
pub mod relay;

pub use builder::MessageBuilder;
pub use consts::*;
pub use encoding::{
    ClasslessRoute, DomainSearchError, decode_classless_routes, decode_domain_search,
    encode_classless_routes, encode_domain_search,
};
pub use error::ParseError;
pub use fqdn::ClientFqdn;
#[doc(hidden)]
pub use fuzz::fuzz_exercise;
pub use hwaddr::{HwAddr, HwAddrParseError};
pub use message::Message;
pub use message_type::MessageType;
pub use relay::RelayAgentInfo;
