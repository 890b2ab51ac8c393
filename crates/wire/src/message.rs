//! [`Message`]: zero-copy view over one received datagram, options located once at parse time.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::code;
use crate::consts::*;
use crate::encoding::{ClasslessRoute, decode_classless_routes};
use crate::error::ParseError;
use crate::message_type::MessageType;

/// How many option instances [`Message::parse`] records in its inline table. Real clients send
/// 5–15; a message with more is still accepted, its accessors then re-walk the buffer.
const MAX_SPANS: usize = 64;

/// Option 52 bit: the `file` field carries options (RFC 2132 §9.3).
const OVERLOAD_FILE: u8 = 1;
/// Option 52 bit: the `sname` field carries options (RFC 2132 §9.3).
const OVERLOAD_SNAME: u8 = 2;

/// Where one option instance's value lives in the buffer.
#[derive(Copy, Clone, Debug, Default)]
struct Span {
    /// Offset of the first value byte.
    start: u32,
    /// Option code.
    code: u8,
    /// Value length (one instance is at most 255 bytes).
    len: u8,
}

/// Zero-copy view over one received datagram; options are located at parse time.
///
/// Parsing allocates nothing: option instances are recorded in a fixed inline table of
/// [`MAX_SPANS`] entries. Accessors return borrowed slices except when an option was split
/// into several instances (RFC 3396), which are then joined into an owned buffer.
///
/// Leniency choices (documented here because clients differ):
/// * A missing END at the end of the `options` field is accepted: the options simply stop at
///   the end of the datagram (several embedded clients omit END or pad oddly). An option whose
///   value would run past the end is still rejected ([`ParseError::OptionOverrun`]).
/// * The `file`/`sname` fields, when option 52 says they carry options, must contain an END
///   ([`ParseError::MissingEnd`]): these are fixed-size fields, and a missing END there means
///   the sender put something else (a file name) in them.
/// * Bytes after END are ignored (padding).
/// * Option 52 found inside `file`/`sname` is not interpreted again.
/// * A BOOTREQUEST without the magic cookie is a plain RFC 951 BOOTP request when its vendor
///   area (everything after the 236-byte header, possibly nothing) is all zeros: it parses as a
///   message without options ([`Message::has_magic_cookie`] is false). A missing cookie with
///   anything else in the vendor area, or on a BOOTREPLY, is still [`ParseError::BadCookie`]
///   (or [`ParseError::TooShort`] below 240 bytes).
#[derive(Clone)]
pub struct Message<'a> {
    /// The whole datagram: at least [`OPTIONS_OFFSET`] bytes with a valid cookie, or a plain
    /// RFC 951 BOOTREQUEST (at least [`HEADER_LEN`] bytes, zero vendor area, no options).
    buf: &'a [u8],
    /// The RFC 1497 magic cookie is present (false: RFC 951 BOOTP without vendor extensions).
    cookie: bool,
    /// The first `count` option instances in wire order (options, then file, then sname).
    spans: [Span; MAX_SPANS],
    /// Number of valid entries in `spans`.
    count: u8,
    /// More instances than fit in `spans`: accessors walk the buffer instead.
    overflow: bool,
    /// Validated option 52 value (0 when absent).
    overload: u8,
}

impl std::fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("op", &self.op())
            .field("xid", &format_args!("{:#010x}", self.xid()))
            .field("message_type", &self.message_type())
            .field("chaddr", &self.chaddr())
            .field("len", &self.buf.len())
            .field("options", &self.raw_options().collect::<Vec<_>>())
            .finish()
    }
}

/// One step of the option walk at `pos` within an area ending at `end`.
enum Step {
    /// A PAD byte.
    Pad,
    /// END: the area is finished.
    End,
    /// An option instance: code, value start, value length.
    Opt(u8, usize, usize),
    /// The length byte or the value runs past `end`.
    Overrun,
    /// `pos` reached `end` without END.
    Exhausted,
}

/// Decodes the option at `pos` (RFC 2132 §2: code, length, value; PAD and END are one byte).
fn step(buf: &[u8], pos: usize, end: usize) -> Step {
    if pos >= end {
        return Step::Exhausted;
    }
    match buf.get(pos) {
        None => Step::Exhausted,
        Some(&code::PAD) => Step::Pad,
        Some(&code::END) => Step::End,
        Some(&c) => {
            let len = match buf.get(pos + 1) {
                Some(&l) if pos + 1 < end => usize::from(l),
                _ => return Step::Overrun,
            };
            let start = pos + 2;
            if start + len > end || start + len > buf.len() {
                Step::Overrun
            } else {
                Step::Opt(c, start, len)
            }
        }
    }
}

/// The option-carrying areas in interpretation order (RFC 2131 §4.1: options, then file, then
/// sname), as (start, end, END required) triples; absent areas are empty ranges.
fn areas(buf_len: usize, overload: u8) -> [(usize, usize, bool); 3] {
    let file = if overload & OVERLOAD_FILE != 0 {
        (OFF_FILE, OFF_FILE + FILE_LEN, true)
    } else {
        (0, 0, false)
    };
    let sname = if overload & OVERLOAD_SNAME != 0 {
        (OFF_SNAME, OFF_SNAME + SNAME_LEN, true)
    } else {
        (0, 0, false)
    };
    [(OPTIONS_OFFSET, buf_len, false), file, sname]
}

/// Walks one area, calling `f(code, start, len)` for each instance, and validates framing.
fn walk_area(
    buf: &[u8],
    (start, end, require_end): (usize, usize, bool),
    f: &mut impl FnMut(u8, usize, usize),
) -> Result<(), ParseError> {
    let mut pos = start;
    loop {
        match step(buf, pos, end) {
            Step::Pad => pos += 1,
            Step::End => return Ok(()),
            Step::Opt(c, s, l) => {
                f(c, s, l);
                pos = s + l;
            }
            Step::Overrun => return Err(ParseError::OptionOverrun),
            Step::Exhausted if require_end => return Err(ParseError::MissingEnd),
            Step::Exhausted => return Ok(()),
        }
    }
}

/// Reads `N` bytes at `off`, or zeros when out of range (never, after parse validated length).
fn array_at<const N: usize>(buf: &[u8], off: usize) -> [u8; N] {
    buf.get(off..off + N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .unwrap_or([0; N])
}

/// A list of IPv4 addresses: non-empty and a multiple of 4 bytes, else `None`.
fn ip_list(v: &[u8]) -> Option<Vec<Ipv4Addr>> {
    if v.is_empty() || !v.len().is_multiple_of(4) {
        return None;
    }
    Some(
        v.chunks_exact(4)
            .filter_map(|c| <[u8; 4]>::try_from(c).ok().map(Ipv4Addr::from))
            .collect(),
    )
}

impl<'a> Message<'a> {
    /// Validates the fixed header (236 bytes), the magic cookie, walks options (and the
    /// sname/file fields when option 52 says so) and records where each option lives.
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>, ParseError> {
        // RFC 951 §3: a BOOTP client need not use the vendor area (RFC 1497's cookie); one
        // that leaves it zero (or sends only the header) is answered without vendor extensions.
        let rfc951 = buf.len() >= HEADER_LEN
            && buf.first() == Some(&BOOTREQUEST)
            && buf
                .get(HEADER_LEN..)
                .is_some_and(|v| v.iter().all(|&b| b == 0));
        if rfc951 {
            if usize::from(buf.get(OFF_HLEN).copied().unwrap_or(0)) > CHADDR_LEN {
                return Err(ParseError::BadHlen);
            }
            return Ok(Message {
                buf,
                spans: [Span::default(); MAX_SPANS],
                count: 0,
                overflow: false,
                overload: 0,
                cookie: false,
            });
        }
        if buf.len() < OPTIONS_OFFSET {
            return Err(ParseError::TooShort);
        }
        if array_at::<4>(buf, OFF_COOKIE) != MAGIC_COOKIE {
            return Err(ParseError::BadCookie);
        }
        if usize::from(buf.get(OFF_HLEN).copied().unwrap_or(0)) > CHADDR_LEN {
            return Err(ParseError::BadHlen);
        }
        let mut msg = Message {
            buf,
            spans: [Span::default(); MAX_SPANS],
            count: 0,
            // Offsets are stored as u32; absurdly large buffers use the walking fallback.
            overflow: u32::try_from(buf.len()).is_err(),
            overload: 0,
            cookie: true,
        };
        // RFC 2132 §9.3: option 52 lives in the options field; several instances would be
        // concatenated (RFC 3396), so its total length must be exactly 1.
        let (mut ov_len, mut ov_val) = (0usize, 0u8);
        let [main, file, sname] = areas(buf.len(), OVERLOAD_FILE | OVERLOAD_SNAME);
        walk_area(buf, main, &mut |c, s, l| {
            if c == code::OVERLOAD {
                ov_len += l;
                ov_val = buf.get(s).copied().unwrap_or(0);
            }
            msg.record(c, s, l);
        })?;
        let overload = match (ov_len, ov_val) {
            (0, _) => 0,
            (1, v @ 1..=3) => v,
            (1, _) => return Err(ParseError::BadOverload),
            _ => {
                return Err(ParseError::BadOptionLength {
                    code: code::OVERLOAD,
                });
            }
        };
        // RFC 2131 §4.1: file is interpreted before sname. Option 52 found there is recorded
        // but not interpreted again.
        if overload & OVERLOAD_FILE != 0 {
            walk_area(buf, file, &mut |c, s, l| msg.record(c, s, l))?;
        }
        if overload & OVERLOAD_SNAME != 0 {
            walk_area(buf, sname, &mut |c, s, l| msg.record(c, s, l))?;
        }
        msg.overload = overload;
        Ok(msg)
    }

    /// Records one option instance, switching to the walking fallback when the table is full.
    fn record(&mut self, code: u8, start: usize, len: usize) {
        let n = usize::from(self.count);
        match (
            self.spans.get_mut(n),
            u32::try_from(start),
            u8::try_from(len),
        ) {
            (Some(slot), Ok(start), Ok(len)) if !self.overflow => {
                *slot = Span { start, code, len };
                self.count += 1;
            }
            _ => self.overflow = true,
        }
    }

    /// False for a plain RFC 951 BOOTREQUEST without the RFC 1497 magic cookie (and so without
    /// options): its reply must not carry vendor extensions either (RFC 1542 §3.3 pads the
    /// vendor area with zeros).
    pub fn has_magic_cookie(&self) -> bool {
        self.cookie
    }

    /// The whole datagram this view borrows.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Byte at header offset `off` (always present after parse).
    fn byte(&self, off: usize) -> u8 {
        self.buf.get(off).copied().unwrap_or(0)
    }

    /// `op`: [`BOOTREQUEST`] or [`BOOTREPLY`].
    pub fn op(&self) -> u8 {
        self.byte(OFF_OP)
    }
    /// `htype`: hardware address type.
    pub fn htype(&self) -> u8 {
        self.byte(OFF_HTYPE)
    }
    /// `hlen`: hardware address length (<= 16, checked by parse).
    pub fn hlen(&self) -> u8 {
        self.byte(OFF_HLEN)
    }
    /// `hops`: relay hop count.
    pub fn hops(&self) -> u8 {
        self.byte(OFF_HOPS)
    }
    /// `xid`: transaction id chosen by the client.
    pub fn xid(&self) -> u32 {
        u32::from_be_bytes(array_at(self.buf, OFF_XID))
    }
    /// `secs`: seconds since the client began acquisition.
    pub fn secs(&self) -> u16 {
        u16::from_be_bytes(array_at(self.buf, OFF_SECS))
    }
    /// `flags` (only [`FLAG_BROADCAST`] is defined).
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes(array_at(self.buf, OFF_FLAGS))
    }
    /// Whether the broadcast bit of `flags` is set (RFC 2131 §4.1).
    pub fn broadcast(&self) -> bool {
        self.flags() & FLAG_BROADCAST != 0
    }
    /// `ciaddr`: client address, only filled in BOUND/RENEW/REBINDING.
    pub fn ciaddr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<4>(self.buf, OFF_CIADDR))
    }
    /// `yiaddr`: "your" address (set by servers).
    pub fn yiaddr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<4>(self.buf, OFF_YIADDR))
    }
    /// `siaddr`: next server address.
    pub fn siaddr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<4>(self.buf, OFF_SIADDR))
    }
    /// `giaddr`: relay agent address, 0.0.0.0 when not relayed.
    pub fn giaddr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array_at::<4>(self.buf, OFF_GIADDR))
    }
    /// The first `hlen` bytes of chaddr (parse rejects hlen > 16 with BadHlen).
    pub fn chaddr(&self) -> &'a [u8] {
        let n = usize::from(self.hlen()).min(CHADDR_LEN);
        self.buf.get(OFF_CHADDR..OFF_CHADDR + n).unwrap_or(&[])
    }
    /// The raw 64-byte `sname` field (holds options instead when option 52 says so).
    pub fn sname(&self) -> &'a [u8] {
        self.buf
            .get(OFF_SNAME..OFF_SNAME + SNAME_LEN)
            .unwrap_or(&[])
    }
    /// The raw 128-byte `file` field (holds options instead when option 52 says so).
    pub fn file(&self) -> &'a [u8] {
        self.buf.get(OFF_FILE..OFF_FILE + FILE_LEN).unwrap_or(&[])
    }
    /// The validated option 52 value: 0 (none), 1 (file), 2 (sname) or 3 (both).
    pub fn overload(&self) -> u8 {
        self.overload
    }

    /// Value of option `code`; several instances are concatenated in order (RFC 3396 §5),
    /// borrowed when there is one instance.
    pub fn option(&self, code: u8) -> Option<Cow<'a, [u8]>> {
        let mut values = self
            .raw_options()
            .filter(|&(c, _)| c == code)
            .map(|(_, v)| v);
        let first = values.next()?;
        match values.next() {
            None => Some(Cow::Borrowed(first)),
            Some(second) => {
                let mut joined = Vec::with_capacity(first.len() + second.len() + 64);
                joined.extend_from_slice(first);
                joined.extend_from_slice(second);
                values.for_each(|v| joined.extend_from_slice(v));
                Some(Cow::Owned(joined))
            }
        }
    }

    /// Whether option `code` appears at least once.
    pub fn has_option(&self, code: u8) -> bool {
        self.raw_options().any(|(c, _)| c == code)
    }

    /// Every option instance in wire order, (code, value), fragments not joined.
    pub fn raw_options(&self) -> impl Iterator<Item = (u8, &'a [u8])> + '_ {
        let buf = self.buf;
        let recorded = if self.overflow {
            &[][..]
        } else {
            self.spans.get(..usize::from(self.count)).unwrap_or(&[])
        };
        let from_spans = recorded.iter().map(move |s| {
            let start = s.start as usize;
            let value = buf.get(start..start + usize::from(s.len)).unwrap_or(&[]);
            (s.code, value)
        });
        let walked = self.overflow.then(|| Walker {
            buf,
            areas: areas(buf.len(), self.overload),
            area: 0,
            pos: None,
        });
        from_spans.chain(walked.into_iter().flatten())
    }

    /// Exactly `N` bytes of option `code`, else `None`.
    fn fixed<const N: usize>(&self, code: u8) -> Option<[u8; N]> {
        <[u8; N]>::try_from(self.option(code)?.as_ref()).ok()
    }

    /// A 4-byte address option.
    fn ip(&self, code: u8) -> Option<Ipv4Addr> {
        self.fixed::<4>(code).map(Ipv4Addr::from)
    }

    /// A 4-byte big-endian integer option.
    fn u32_opt(&self, code: u8) -> Option<u32> {
        self.fixed::<4>(code).map(u32::from_be_bytes)
    }

    /// Option 53 (RFC 2132 §9.6); `None` when absent, not 1 byte, or unknown.
    pub fn message_type(&self) -> Option<MessageType> {
        let [v] = self.fixed::<1>(code::MESSAGE_TYPE)?;
        MessageType::from_u8(v)
    }
    /// Option 1 (RFC 2132 §3.3).
    pub fn subnet_mask(&self) -> Option<Ipv4Addr> {
        self.ip(code::SUBNET_MASK)
    }
    /// Option 3 (RFC 2132 §3.5); `None` when empty or not a multiple of 4 bytes.
    pub fn routers(&self) -> Option<Vec<Ipv4Addr>> {
        ip_list(&self.option(code::ROUTER)?)
    }
    /// Option 6 (RFC 2132 §3.8).
    pub fn dns_servers(&self) -> Option<Vec<Ipv4Addr>> {
        ip_list(&self.option(code::DNS_SERVERS)?)
    }
    /// Option 12 (RFC 2132 §3.14), raw bytes.
    pub fn hostname(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::HOSTNAME)
    }
    /// Option 15 (RFC 2132 §3.17), raw bytes.
    pub fn domain_name(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::DOMAIN_NAME)
    }
    /// Option 28 (RFC 2132 §5.3).
    pub fn broadcast_address(&self) -> Option<Ipv4Addr> {
        self.ip(code::BROADCAST_ADDRESS)
    }
    /// Option 42 (RFC 2132 §8.3).
    pub fn ntp_servers(&self) -> Option<Vec<Ipv4Addr>> {
        ip_list(&self.option(code::NTP_SERVERS)?)
    }
    /// Option 50 (RFC 2132 §9.1).
    pub fn requested_ip(&self) -> Option<Ipv4Addr> {
        self.ip(code::REQUESTED_IP)
    }
    /// Option 51 (RFC 2132 §9.2), seconds.
    pub fn lease_time(&self) -> Option<u32> {
        self.u32_opt(code::LEASE_TIME)
    }
    /// Option 54 (RFC 2132 §9.7).
    pub fn server_id(&self) -> Option<Ipv4Addr> {
        self.ip(code::SERVER_ID)
    }
    /// Option 55 (RFC 2132 §9.8): the requested option codes, in client preference order.
    pub fn parameter_request_list(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::PARAMETER_REQUEST_LIST)
    }
    /// Option 57 (RFC 2132 §9.10); values below 576 are returned as sent (the caller clamps).
    pub fn max_message_size(&self) -> Option<u16> {
        self.fixed::<2>(code::MAX_MESSAGE_SIZE)
            .map(u16::from_be_bytes)
    }
    /// Option 58 (RFC 2132 §9.11), seconds.
    pub fn renewal_time(&self) -> Option<u32> {
        self.u32_opt(code::RENEWAL_TIME)
    }
    /// Option 59 (RFC 2132 §9.12), seconds.
    pub fn rebinding_time(&self) -> Option<u32> {
        self.u32_opt(code::REBINDING_TIME)
    }
    /// Option 60 (RFC 2132 §9.13), raw bytes.
    pub fn vendor_class_id(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::VENDOR_CLASS_ID)
    }
    /// Option 61 (RFC 2132 §9.14): type byte followed by the identifier; `None` when empty.
    pub fn client_id(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::CLIENT_ID).filter(|v| !v.is_empty())
    }
    /// Option 82 (RFC 3046), raw sub-options, to echo back verbatim.
    pub fn relay_agent_info(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::RELAY_AGENT_INFO)
    }
    /// Option 77 (RFC 3004), raw user class data.
    pub fn user_class(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::USER_CLASS)
    }
    /// Option 81 (RFC 4702 §2): flags, two obsolete RCODE bytes, then the name.
    pub fn client_fqdn(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::CLIENT_FQDN).filter(|v| v.len() >= 3)
    }
    /// Option 93 (RFC 4578 §2.1): the first architecture type.
    pub fn client_arch(&self) -> Option<u16> {
        let v = self.option(code::CLIENT_ARCH)?;
        let b: [u8; 2] = v.get(..2)?.try_into().ok()?;
        Some(u16::from_be_bytes(b))
    }
    /// Option 118 (RFC 3011 §3): the subnet the client's address should come from.
    pub fn subnet_selection(&self) -> Option<Ipv4Addr> {
        let v = self.option(code::SUBNET_SELECTION)?;
        let b: [u8; 4] = v.as_ref().try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }
    /// Option 119 (RFC 3397), raw RFC 1035 names (possibly compressed).
    pub fn domain_search(&self) -> Option<Cow<'a, [u8]>> {
        self.option(code::DOMAIN_SEARCH)
    }
    /// Option 121 (RFC 3442): ((destination, prefix length), router); `None` when malformed.
    pub fn classless_routes(&self) -> Option<Vec<ClasslessRoute>> {
        decode_classless_routes(&self.option(code::CLASSLESS_STATIC_ROUTE)?)
    }
}

/// Walks a validated buffer lazily; used when a message has more than [`MAX_SPANS`] options.
struct Walker<'a> {
    /// The datagram.
    buf: &'a [u8],
    /// Areas in interpretation order.
    areas: [(usize, usize, bool); 3],
    /// Index of the current area.
    area: usize,
    /// Position inside the current area (`None` before its first step).
    pos: Option<usize>,
}

impl<'a> Iterator for Walker<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (start, end, _) = *self.areas.get(self.area)?;
            let pos = self.pos.unwrap_or(start);
            match step(self.buf, pos, end) {
                Step::Pad => self.pos = Some(pos + 1),
                Step::Opt(c, s, l) => {
                    self.pos = Some(s + l);
                    return Some((c, self.buf.get(s..s + l)?));
                }
                Step::End | Step::Exhausted | Step::Overrun => {
                    self.area += 1;
                    self.pos = None;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];

    /// A BOOTREQUEST header + cookie followed by `opts` verbatim.
    fn raw(opts: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; OFF_COOKIE];
        b[OFF_OP] = BOOTREQUEST;
        b[OFF_HTYPE] = HTYPE_ETHERNET;
        b[OFF_HLEN] = 6;
        b[OFF_HOPS] = 1;
        b[OFF_XID..OFF_XID + 4].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        b[OFF_SECS..OFF_SECS + 2].copy_from_slice(&7u16.to_be_bytes());
        b[OFF_FLAGS..OFF_FLAGS + 2].copy_from_slice(&FLAG_BROADCAST.to_be_bytes());
        b[OFF_CIADDR..OFF_CIADDR + 4].copy_from_slice(&[198, 18, 0, 10]);
        b[OFF_YIADDR..OFF_YIADDR + 4].copy_from_slice(&[198, 18, 0, 11]);
        b[OFF_SIADDR..OFF_SIADDR + 4].copy_from_slice(&[198, 18, 0, 12]);
        b[OFF_GIADDR..OFF_GIADDR + 4].copy_from_slice(&[198, 18, 0, 13]);
        b[OFF_CHADDR..OFF_CHADDR + 6].copy_from_slice(&MAC);
        b.extend_from_slice(&MAGIC_COOKIE);
        b.extend_from_slice(opts);
        b
    }

    #[test]
    fn header_fields() {
        let buf = raw(&[53, 1, 1, 255]);
        let m = Message::parse(&buf).unwrap();
        assert_eq!(m.op(), BOOTREQUEST);
        assert_eq!(m.htype(), HTYPE_ETHERNET);
        assert_eq!(m.hlen(), 6);
        assert_eq!(m.hops(), 1);
        assert_eq!(m.xid(), 0xdead_beef);
        assert_eq!(m.secs(), 7);
        assert_eq!(m.flags(), FLAG_BROADCAST);
        assert!(m.broadcast());
        assert_eq!(m.ciaddr(), Ipv4Addr::new(198, 18, 0, 10));
        assert_eq!(m.yiaddr(), Ipv4Addr::new(198, 18, 0, 11));
        assert_eq!(m.siaddr(), Ipv4Addr::new(198, 18, 0, 12));
        assert_eq!(m.giaddr(), Ipv4Addr::new(198, 18, 0, 13));
        assert_eq!(m.chaddr(), &MAC);
        assert_eq!(m.sname(), &[0u8; SNAME_LEN][..]);
        assert_eq!(m.file(), &[0u8; FILE_LEN][..]);
        assert_eq!(m.as_bytes(), &buf[..]);
        assert_eq!(m.message_type(), Some(MessageType::Discover));
        assert!(format!("{m:?}").contains("Discover"));
    }

    #[test]
    fn cookieless_bootrequest_is_rfc951_bootp_without_options() {
        let header = raw(&[])[..HEADER_LEN].to_vec();
        for vend in [0, 4, 64] {
            let mut b = header.clone();
            b.resize(HEADER_LEN + vend, 0);
            let m = Message::parse(&b).unwrap();
            assert!(!m.has_magic_cookie(), "vendor area {vend}");
            assert_eq!(m.message_type(), None);
            assert_eq!(m.raw_options().count(), 0);
            assert_eq!(m.xid(), 0xdead_beef);
            assert_eq!(m.chaddr(), &MAC);
        }
        assert!(Message::parse(&raw(&[255])).unwrap().has_magic_cookie());
        // Garbage is still refused: a non-zero vendor area without the cookie, a BOOTREPLY
        // without it, a short header, a bad hlen.
        let mut vendor = header.clone();
        vendor.extend_from_slice(b"CMU\0");
        assert_eq!(Message::parse(&vendor).err(), Some(ParseError::BadCookie));
        let mut reply = header.clone();
        reply[OFF_OP] = BOOTREPLY;
        reply.resize(HEADER_LEN + 64, 0);
        assert_eq!(Message::parse(&reply).err(), Some(ParseError::BadCookie));
        assert_eq!(
            Message::parse(&header[..HEADER_LEN - 1]).err(),
            Some(ParseError::TooShort)
        );
        let mut hlen = header;
        hlen[OFF_HLEN] = 17;
        assert_eq!(Message::parse(&hlen).err(), Some(ParseError::BadHlen));
    }

    #[test]
    fn errors_table() {
        let mut bad_cookie = raw(&[255]);
        bad_cookie[OFF_COOKIE] = 98;
        let mut bad_hlen = raw(&[255]);
        bad_hlen[OFF_HLEN] = 17;
        let mut no_end_in_file = raw(&[52, 1, 1, 255]);
        no_end_in_file[OFF_FILE..OFF_FILE + 4].copy_from_slice(b"pxel");
        let cases: &[(&str, Vec<u8>, ParseError)] = &[
            ("empty", vec![], ParseError::TooShort),
            ("239 bytes", raw(&[])[..239].to_vec(), ParseError::TooShort),
            ("bad cookie", bad_cookie, ParseError::BadCookie),
            ("hlen 17", bad_hlen, ParseError::BadHlen),
            (
                "value past end",
                raw(&[53, 1, 1, 12, 10, b'a']),
                ParseError::OptionOverrun,
            ),
            (
                "length byte missing",
                raw(&[53, 1, 1, 12]),
                ParseError::OptionOverrun,
            ),
            ("overload 0", raw(&[52, 1, 0, 255]), ParseError::BadOverload),
            ("overload 4", raw(&[52, 1, 4, 255]), ParseError::BadOverload),
            (
                "overload len 2",
                raw(&[52, 2, 1, 1, 255]),
                ParseError::BadOptionLength { code: 52 },
            ),
            (
                "overloaded file without END",
                no_end_in_file,
                ParseError::MissingEnd,
            ),
        ];
        for (name, buf, want) in cases {
            assert_eq!(Message::parse(buf).err(), Some(*want), "{name}");
        }
        let reasons: Vec<_> = cases.iter().map(|c| c.2.as_str()).collect();
        assert!(reasons.contains(&"too_short") && reasons.contains(&"bad_option_length"));
        assert_eq!(
            ParseError::BadOptionLength { code: 52 }.to_string(),
            "bad_option_length (option 52)"
        );
    }

    #[test]
    fn leniency() {
        // Exactly 240 bytes, no options at all, no END: accepted.
        let buf = raw(&[]);
        let m = Message::parse(&buf).unwrap();
        assert_eq!(m.raw_options().count(), 0);
        // Missing END after complete options: accepted.
        let buf = raw(&[53, 1, 3, 0, 0]);
        let m = Message::parse(&buf).unwrap();
        assert_eq!(m.message_type(), Some(MessageType::Request));
        // Garbage after END is ignored.
        let buf = raw(&[53, 1, 3, 255, 12, 200]);
        let m = Message::parse(&buf).unwrap();
        assert!(!m.has_option(12));
        // PAD between options.
        let buf = raw(&[0, 0, 53, 1, 5, 0, 51, 4, 0, 0, 14, 16, 255]);
        let m = Message::parse(&buf).unwrap();
        assert_eq!(m.message_type(), Some(MessageType::Ack));
        assert_eq!(m.lease_time(), Some(3600));
    }

    #[test]
    fn typed_accessors() {
        let opts: Vec<u8> = [
            &[53, 1, 3][..],
            &[1, 4, 255, 255, 255, 0],
            &[3, 8, 198, 18, 0, 1, 198, 18, 0, 2],
            &[6, 4, 198, 18, 0, 53],
            &[12, 4, b'h', b'o', b's', b't'],
            &[15, 3, b'l', b'a', b'b'],
            &[28, 4, 198, 18, 255, 255],
            &[42, 4, 198, 18, 0, 123],
            &[50, 4, 198, 18, 0, 50],
            &[51, 4, 0, 1, 81, 128],
            &[54, 4, 198, 18, 0, 1],
            &[55, 4, 1, 3, 6, 15],
            &[57, 2, 5, 220],
            &[58, 4, 0, 0, 0, 60],
            &[59, 4, 0, 0, 0, 90],
            &[60, 3, b'M', b'S', b'F'],
            &[61, 7, 1, 2, 0, 0x5e, 0x10, 0x20, 0x30],
            &[82, 4, 1, 2, b'e', b'0'],
            &[119, 5, 3, b'l', b'a', b'b', 0],
            &[121, 5, 0, 198, 18, 0, 1],
            &[255],
        ]
        .concat();
        let buf = raw(&opts);
        let m = Message::parse(&buf).unwrap();
        let ip = Ipv4Addr::new;
        assert_eq!(m.message_type(), Some(MessageType::Request));
        assert_eq!(m.subnet_mask(), Some(ip(255, 255, 255, 0)));
        assert_eq!(
            m.routers(),
            Some(vec![ip(198, 18, 0, 1), ip(198, 18, 0, 2)])
        );
        assert_eq!(m.dns_servers(), Some(vec![ip(198, 18, 0, 53)]));
        assert_eq!(m.hostname().as_deref(), Some(&b"host"[..]));
        assert_eq!(m.domain_name().as_deref(), Some(&b"lab"[..]));
        assert_eq!(m.broadcast_address(), Some(ip(198, 18, 255, 255)));
        assert_eq!(m.ntp_servers(), Some(vec![ip(198, 18, 0, 123)]));
        assert_eq!(m.requested_ip(), Some(ip(198, 18, 0, 50)));
        assert_eq!(m.lease_time(), Some(86400));
        assert_eq!(m.server_id(), Some(ip(198, 18, 0, 1)));
        assert_eq!(
            m.parameter_request_list().as_deref(),
            Some(&[1, 3, 6, 15][..])
        );
        assert_eq!(m.max_message_size(), Some(1500));
        assert_eq!(m.renewal_time(), Some(60));
        assert_eq!(m.rebinding_time(), Some(90));
        assert_eq!(m.vendor_class_id().as_deref(), Some(&b"MSF"[..]));
        assert_eq!(
            m.client_id().as_deref(),
            Some(&[1, 2, 0, 0x5e, 0x10, 0x20, 0x30][..])
        );
        assert_eq!(
            m.relay_agent_info().as_deref(),
            Some(&[1, 2, b'e', b'0'][..])
        );
        assert_eq!(
            m.domain_search().as_deref(),
            Some(&[3, b'l', b'a', b'b', 0][..])
        );
        assert_eq!(
            m.classless_routes(),
            Some(vec![((ip(0, 0, 0, 0), 0), ip(198, 18, 0, 1))])
        );
        assert!(matches!(m.hostname(), Some(Cow::Borrowed(_))));
        assert!(!m.has_option(code::INTERFACE_MTU));
        assert_eq!(m.option(code::INTERFACE_MTU), None);
    }

    #[test]
    fn wrong_lengths_give_none() {
        let opts: Vec<u8> = [
            &[53, 2, 1, 1][..],
            &[1, 3, 255, 255, 255],
            &[3, 5, 198, 18, 0, 1, 9],
            &[6, 0],
            &[51, 2, 0, 1],
            &[57, 1, 5],
            &[61, 0],
            &[121, 2, 33, 1],
            &[255],
        ]
        .concat();
        let buf = raw(&opts);
        let m = Message::parse(&buf).unwrap();
        assert_eq!(m.message_type(), None);
        assert_eq!(m.subnet_mask(), None);
        assert_eq!(m.routers(), None);
        assert_eq!(m.dns_servers(), None);
        assert_eq!(m.lease_time(), None);
        assert_eq!(m.max_message_size(), None);
        assert_eq!(m.client_id(), None);
        assert_eq!(m.classless_routes(), None);
        // Unknown message type value.
        let buf = raw(&[53, 1, 9, 255]);
        assert_eq!(Message::parse(&buf).unwrap().message_type(), None);
    }

    #[test]
    fn split_options_are_concatenated() {
        // RFC 3396 §5: instances of the same code are joined in order, even when not adjacent.
        let buf = raw(&[12, 2, b'a', b'b', 53, 1, 1, 12, 1, b'c', 255]);
        let m = Message::parse(&buf).unwrap();
        assert_eq!(m.hostname().as_deref(), Some(&b"abc"[..]));
        assert!(matches!(m.hostname(), Some(Cow::Owned(_))));
        assert_eq!(
            m.raw_options().collect::<Vec<_>>(),
            vec![(12, &b"ab"[..]), (53, &[1][..]), (12, &b"c"[..])]
        );
        // A split message type of total length 1 still works.
        let buf = raw(&[53, 0, 53, 1, 2, 255]);
        let m = Message::parse(&buf).unwrap();
        assert_eq!(m.message_type(), Some(MessageType::Offer));
    }

    #[test]
    fn overload_file_then_sname() {
        // RFC 2132 §9.3 / RFC 2131 §4.1: options, then file, then sname.
        let mut buf = raw(&[53, 1, 1, 52, 1, 3, 12, 1, b'a', 255]);
        buf[OFF_FILE..OFF_FILE + 4].copy_from_slice(&[12, 1, b'b', 255]);
        buf[OFF_SNAME..OFF_SNAME + 7].copy_from_slice(&[12, 1, b'c', 0, 60, 0, 255]);
        let m = Message::parse(&buf).unwrap();
        assert_eq!(m.overload(), 3);
        assert_eq!(m.hostname().as_deref(), Some(&b"abc"[..]));
        assert_eq!(m.vendor_class_id().as_deref(), Some(&[][..]));
        // Only file overloaded: sname is not interpreted even if it looks like options.
        let mut buf = raw(&[52, 1, 1, 255]);
        buf[OFF_FILE..OFF_FILE + 4].copy_from_slice(&[15, 1, b'x', 255]);
        buf[OFF_SNAME..OFF_SNAME + 4].copy_from_slice(&[12, 1, b'c', 255]);
        let m = Message::parse(&buf).unwrap();
        assert_eq!(m.domain_name().as_deref(), Some(&b"x"[..]));
        assert!(!m.has_option(12));
        // An option in the overloaded sname must not run past the field.
        let mut buf = raw(&[52, 1, 2, 255]);
        buf[OFF_SNAME + 62..OFF_SNAME + 64].copy_from_slice(&[12, 5]);
        assert_eq!(Message::parse(&buf).err(), Some(ParseError::OptionOverrun));
    }

    #[test]
    fn more_than_max_spans_falls_back_to_walking() {
        let mut opts = vec![53, 1, 1];
        for i in 0..100u8 {
            opts.extend_from_slice(&[224, 1, i]);
        }
        opts.extend_from_slice(&[12, 2, b'h', b'i', 52, 1, 1, 255]);
        let mut buf = raw(&opts);
        buf[OFF_FILE..OFF_FILE + 4].copy_from_slice(&[15, 1, b'x', 255]);
        let m = Message::parse(&buf).unwrap();
        assert_eq!(m.raw_options().count(), 1 + 100 + 2 + 1);
        assert_eq!(m.option(224).unwrap().len(), 100);
        assert_eq!(m.hostname().as_deref(), Some(&b"hi"[..]));
        assert_eq!(m.domain_name().as_deref(), Some(&b"x"[..]));
        assert_eq!(m.message_type(), Some(MessageType::Discover));
    }
}
