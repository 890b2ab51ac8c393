//! Option codes (RFC 2132 and friends) as constants.

/// Padding, no length byte (RFC 2132 §3.1).
pub const PAD: u8 = 0;
/// Subnet mask, 4 bytes (RFC 2132 §3.3).
pub const SUBNET_MASK: u8 = 1;
/// Routers, list of addresses (RFC 2132 §3.5).
pub const ROUTER: u8 = 3;
/// Domain name servers, list of addresses (RFC 2132 §3.8).
pub const DNS_SERVERS: u8 = 6;
/// Host name (RFC 2132 §3.14).
pub const HOSTNAME: u8 = 12;
/// Domain name (RFC 2132 §3.17).
pub const DOMAIN_NAME: u8 = 15;
/// Interface MTU, 2 bytes (RFC 2132 §5.1).
pub const INTERFACE_MTU: u8 = 26;
/// Broadcast address, 4 bytes (RFC 2132 §5.3).
pub const BROADCAST_ADDRESS: u8 = 28;
/// NTP servers, list of addresses (RFC 2132 §8.3).
pub const NTP_SERVERS: u8 = 42;
/// Requested IP address, 4 bytes (RFC 2132 §9.1).
pub const REQUESTED_IP: u8 = 50;
/// IP address lease time in seconds, 4 bytes (RFC 2132 §9.2).
pub const LEASE_TIME: u8 = 51;
/// Option overload, 1 byte: 1 = file, 2 = sname, 3 = both (RFC 2132 §9.3).
pub const OVERLOAD: u8 = 52;
/// DHCP message type, 1 byte (RFC 2132 §9.6).
pub const MESSAGE_TYPE: u8 = 53;
/// Server identifier, 4 bytes (RFC 2132 §9.7).
pub const SERVER_ID: u8 = 54;
/// Parameter request list, list of codes (RFC 2132 §9.8).
pub const PARAMETER_REQUEST_LIST: u8 = 55;
/// Error message text (RFC 2132 §9.9).
pub const MESSAGE: u8 = 56;
/// Maximum DHCP message size, 2 bytes (RFC 2132 §9.10).
pub const MAX_MESSAGE_SIZE: u8 = 57;
/// Renewal (T1) time in seconds, 4 bytes (RFC 2132 §9.11).
pub const RENEWAL_TIME: u8 = 58;
/// Rebinding (T2) time in seconds, 4 bytes (RFC 2132 §9.12).
pub const REBINDING_TIME: u8 = 59;
/// Vendor class identifier (RFC 2132 §9.13).
pub const VENDOR_CLASS_ID: u8 = 60;
/// Client identifier (RFC 2132 §9.14).
pub const CLIENT_ID: u8 = 61;
/// User class (RFC 3004).
pub const USER_CLASS: u8 = 77;
/// Client FQDN (RFC 4702).
pub const CLIENT_FQDN: u8 = 81;
/// Client system architecture, 2-byte types (RFC 4578 §2.1).
pub const CLIENT_ARCH: u8 = 93;
/// Subnet selection, 4 bytes (RFC 3011).
pub const SUBNET_SELECTION: u8 = 118;
/// TFTP server name (RFC 2132 §9.4).
pub const TFTP_SERVER_NAME: u8 = 66;
/// Boot file name (RFC 2132 §9.5).
pub const BOOTFILE_NAME: u8 = 67;
/// Vendor-specific information (RFC 2132 §8.4).
pub const VENDOR_SPECIFIC: u8 = 43;
/// Relay agent information, echoed back verbatim (RFC 3046).
pub const RELAY_AGENT_INFO: u8 = 82;
/// Domain search list, RFC 1035 encoded names (RFC 3397).
pub const DOMAIN_SEARCH: u8 = 119;
/// Classless static routes (RFC 3442).
pub const CLASSLESS_STATIC_ROUTE: u8 = 121;
/// End of options, no length byte (RFC 2132 §3.2).
pub const END: u8 = 255;
