//! [`MessageBuilder`]: encodes one DHCP message into a single pre-sized `Vec<u8>`.

use std::net::Ipv4Addr;

use crate::code;
use crate::consts::*;
use crate::message::Message;
use crate::message_type::MessageType;

/// Capacity reserved up front: the largest message every client must accept (RFC 2131 §2),
/// so typical replies never reallocate.
const INITIAL_CAPACITY: usize = DEFAULT_MAX_MESSAGE_SIZE as usize;

/// IPv4 (20) and UDP (8) header bytes inside option 57's datagram size.
const IP_UDP_HEADERS: usize = 28;

/// Encodes one message. Options longer than 255 bytes are split into several instances
/// (RFC 3396). `finish` appends END and pads to MIN_MESSAGE_LEN.
///
/// Options are written to the `options` field in call order; only
/// [`MessageBuilder::finish_within`] moves them into `file`/`sname` (option 52 overload) when
/// the client's maximum message size requires it. `sname`/`file` values longer than their
/// fields are truncated.
#[derive(Clone, Debug)]
pub struct MessageBuilder {
    /// Header, cookie and the options written so far (no END yet).
    buf: Vec<u8>,
}

impl MessageBuilder {
    /// An all-zero header with the magic cookie and `op` set.
    fn empty(op: u8) -> Self {
        let mut buf = Vec::with_capacity(INITIAL_CAPACITY);
        buf.resize(OFF_COOKIE, 0);
        buf.extend_from_slice(&MAGIC_COOKIE);
        let mut b = MessageBuilder { buf };
        b.set_op(op);
        b
    }

    /// Copies `src` into the header at `off` (header offsets are always in range).
    fn put(&mut self, off: usize, src: &[u8]) -> &mut Self {
        if let Some(dst) = self.buf.get_mut(off..off + src.len()) {
            dst.copy_from_slice(src);
        }
        self
    }

    /// Writes `v` into a fixed field of `field_len` bytes, truncating and zero-filling.
    fn put_field(&mut self, off: usize, field_len: usize, v: &[u8]) -> &mut Self {
        let n = v.len().min(field_len);
        if let Some(dst) = self.buf.get_mut(off..off + field_len) {
            dst.fill(0);
        }
        self.put(off, v.get(..n).unwrap_or(&[]))
    }

    /// A BOOTREPLY for `req`: copies htype, hlen, xid, flags, giaddr, chaddr (RFC 2131 §4.3.1
    /// table 3), sets op = BOOTREPLY and option 53 = `msg_type`.
    pub fn reply(req: &Message<'_>, msg_type: MessageType) -> Self {
        let mut b = Self::empty(BOOTREPLY);
        let raw = req.as_bytes();
        // The whole 16-byte chaddr field is echoed, not only hlen bytes (table 3: "chaddr
        // from client").
        let chaddr = raw.get(OFF_CHADDR..OFF_CHADDR + CHADDR_LEN).unwrap_or(&[]);
        b.put(OFF_HTYPE, &[req.htype(), req.hlen()])
            .put(OFF_XID, &req.xid().to_be_bytes())
            .put(OFF_CHADDR, chaddr)
            .set_flags(req.flags())
            .set_giaddr(req.giaddr());
        b.option(code::MESSAGE_TYPE, &[msg_type as u8]);
        b
    }

    /// A BOOTP reply (RFC 951, RFC 1542) for `req`: like [`MessageBuilder::reply`] but without
    /// option 53 (BOOTP has no message types); the vendor area keeps the RFC 1497 cookie.
    pub fn bootp_reply(req: &Message<'_>) -> Self {
        let mut b = Self::empty(BOOTREPLY);
        let raw = req.as_bytes();
        let chaddr = raw.get(OFF_CHADDR..OFF_CHADDR + CHADDR_LEN).unwrap_or(&[]);
        b.put(OFF_HTYPE, &[req.htype(), req.hlen()])
            .put(OFF_XID, &req.xid().to_be_bytes())
            .put(OFF_CHADDR, chaddr)
            .set_flags(req.flags())
            .set_giaddr(req.giaddr());
        b
    }

    /// A BOOTP request (tests): like [`MessageBuilder::request`] without option 53.
    pub fn bootp_request(xid: u32, chaddr: &[u8]) -> Self {
        let mut b = Self::empty(BOOTREQUEST);
        let n = chaddr.len().min(CHADDR_LEN);
        let hlen = u8::try_from(n).unwrap_or(0);
        b.put(OFF_HTYPE, &[HTYPE_ETHERNET, hlen])
            .put(OFF_XID, &xid.to_be_bytes())
            .put(OFF_CHADDR, chaddr.get(..n).unwrap_or(&[]));
        b
    }

    /// A BOOTREQUEST from a client (tests, bench): htype 1, hlen = chaddr.len() (<= 16).
    ///
    /// A `chaddr` longer than 16 bytes is truncated to 16.
    pub fn request(msg_type: MessageType, xid: u32, chaddr: &[u8]) -> Self {
        let mut b = Self::empty(BOOTREQUEST);
        let n = chaddr.len().min(CHADDR_LEN);
        let hlen = u8::try_from(n).unwrap_or(0);
        b.put(OFF_HTYPE, &[HTYPE_ETHERNET, hlen])
            .put(OFF_XID, &xid.to_be_bytes())
            .put(OFF_CHADDR, chaddr.get(..n).unwrap_or(&[]));
        b.option(code::MESSAGE_TYPE, &[msg_type as u8]);
        b
    }

    /// Sets `op` ([`BOOTREQUEST`] / [`BOOTREPLY`]).
    pub fn set_op(&mut self, op: u8) -> &mut Self {
        self.put(OFF_OP, &[op])
    }
    /// Sets `htype`.
    pub fn set_htype(&mut self, v: u8) -> &mut Self {
        self.put(OFF_HTYPE, &[v])
    }
    /// Sets `hlen` as is (a value above 16 makes the message unparseable, useful in tests).
    pub fn set_hlen(&mut self, v: u8) -> &mut Self {
        self.put(OFF_HLEN, &[v])
    }
    /// Sets the 16-byte `chaddr` field (truncated / zero-filled) without touching `hlen`.
    pub fn set_chaddr(&mut self, v: &[u8]) -> &mut Self {
        self.put_field(OFF_CHADDR, CHADDR_LEN, v)
    }
    /// Sets `xid`.
    pub fn set_xid(&mut self, v: u32) -> &mut Self {
        self.put(OFF_XID, &v.to_be_bytes())
    }
    /// Sets `hops`.
    pub fn set_hops(&mut self, v: u8) -> &mut Self {
        self.put(OFF_HOPS, &[v])
    }
    /// Sets `secs`.
    pub fn set_secs(&mut self, v: u16) -> &mut Self {
        self.put(OFF_SECS, &v.to_be_bytes())
    }
    /// Sets `flags`.
    pub fn set_flags(&mut self, v: u16) -> &mut Self {
        self.put(OFF_FLAGS, &v.to_be_bytes())
    }
    /// Sets `ciaddr`.
    pub fn set_ciaddr(&mut self, a: Ipv4Addr) -> &mut Self {
        self.put(OFF_CIADDR, &a.octets())
    }
    /// Sets `yiaddr`.
    pub fn set_yiaddr(&mut self, a: Ipv4Addr) -> &mut Self {
        self.put(OFF_YIADDR, &a.octets())
    }
    /// Sets `siaddr`.
    pub fn set_siaddr(&mut self, a: Ipv4Addr) -> &mut Self {
        self.put(OFF_SIADDR, &a.octets())
    }
    /// Sets `giaddr`.
    pub fn set_giaddr(&mut self, a: Ipv4Addr) -> &mut Self {
        self.put(OFF_GIADDR, &a.octets())
    }
    /// Sets the 64-byte `sname` field (truncated / zero-filled).
    pub fn set_sname(&mut self, v: &[u8]) -> &mut Self {
        self.put_field(OFF_SNAME, SNAME_LEN, v)
    }
    /// Sets the 128-byte `file` field (truncated / zero-filled).
    pub fn set_file(&mut self, v: &[u8]) -> &mut Self {
        self.put_field(OFF_FILE, FILE_LEN, v)
    }

    /// Appends option `code` with `value` (split per RFC 3396 when longer than 255).
    ///
    /// PAD (0) and END (255) have no length byte (RFC 2132 §3.1–3.2): `value` is ignored and
    /// only the code byte is written. An empty value is written as a zero-length option.
    pub fn option(&mut self, code: u8, value: &[u8]) -> &mut Self {
        if code == code::PAD || code == code::END {
            self.buf.push(code);
            return self;
        }
        if value.is_empty() {
            self.buf.extend_from_slice(&[code, 0]);
            return self;
        }
        // RFC 3396 §7: split into consecutive instances of at most 255 bytes.
        for chunk in value.chunks(MAX_OPTION_LEN) {
            let len = u8::try_from(chunk.len()).unwrap_or(u8::MAX);
            self.buf.extend_from_slice(&[code, len]);
            self.buf.extend_from_slice(chunk);
        }
        self
    }

    /// Appends a 4-byte address option.
    pub fn option_ip(&mut self, code: u8, a: Ipv4Addr) -> &mut Self {
        self.option(code, &a.octets())
    }

    /// Appends a list-of-addresses option (routers, DNS, NTP).
    pub fn option_ips(&mut self, code: u8, addrs: &[Ipv4Addr]) -> &mut Self {
        let mut v = Vec::with_capacity(addrs.len() * 4);
        addrs.iter().for_each(|a| v.extend_from_slice(&a.octets()));
        self.option(code, &v)
    }

    /// Appends a 4-byte big-endian integer option (lease times).
    pub fn option_u32(&mut self, code: u8, v: u32) -> &mut Self {
        self.option(code, &v.to_be_bytes())
    }

    /// Appends a 2-byte big-endian integer option (MTU, max message size).
    pub fn option_u16(&mut self, code: u8, v: u16) -> &mut Self {
        self.option(code, &v.to_be_bytes())
    }

    /// Length `finish()` would produce: current bytes plus END, at least [`MIN_MESSAGE_LEN`].
    pub fn encoded_len(&self) -> usize {
        (self.buf.len() + 1).max(MIN_MESSAGE_LEN)
    }

    /// Like [`MessageBuilder::finish`], but keeps the message within what the client accepts:
    /// `max_message_size` is option 57 (RFC 2132 §9.10: the largest IP datagram, at least
    /// 576; `None` means 576). When the options do not fit, later options move into the
    /// unused `file` and then `sname` fields with option 52 (RFC 2132 §9.3); options that fit
    /// nowhere are dropped, last first (callers write the most important first).
    pub fn finish_within(self, max_message_size: Option<u16>) -> Vec<u8> {
        let ip_max = max_message_size
            .unwrap_or(DEFAULT_MAX_MESSAGE_SIZE)
            .max(DEFAULT_MAX_MESSAGE_SIZE);
        let limit = usize::from(ip_max) - IP_UDP_HEADERS;
        if self.buf.len() < limit {
            return self.finish();
        }
        self.overload(limit)
    }

    /// Re-lays the options over the options field, then `file`, then `sname` (each only when
    /// empty), adding option 52.
    fn overload(mut self, limit: usize) -> Vec<u8> {
        let options = self.buf.split_off(OPTIONS_OFFSET.min(self.buf.len()));
        // Whole TLVs in order (the builder never writes PAD or END before finish).
        let mut tlvs: Vec<&[u8]> = Vec::new();
        let mut rest = options.as_slice();
        while let [_, len, ..] = rest {
            let n = 2 + usize::from(*len);
            let Some((tlv, next)) = rest.split_at_checked(n) else {
                break;
            };
            tlvs.push(tlv);
            rest = next;
        }
        let empty = |b: &Self, off: usize, len: usize| {
            b.buf
                .get(off..off + len)
                .is_some_and(|f| f.iter().all(|&c| c == 0))
        };
        let file_free = empty(&self, OFF_FILE, FILE_LEN);
        let sname_free = empty(&self, OFF_SNAME, SNAME_LEN);
        // Room in the options field: END and option 52 (3 bytes) must fit too.
        let mut main_room = limit.saturating_sub(OPTIONS_OFFSET + 1 + 3);
        let mut file = Vec::new();
        let mut sname = Vec::new();
        let mut main = Vec::new();
        for tlv in tlvs {
            let is_type = tlv.first() == Some(&code::MESSAGE_TYPE);
            if tlv.len() <= main_room || is_type {
                main.extend_from_slice(tlv);
                main_room = main_room.saturating_sub(tlv.len());
            } else if file_free && file.len() + tlv.len() < FILE_LEN {
                file.extend_from_slice(tlv);
            } else if sname_free && sname.len() + tlv.len() < SNAME_LEN {
                sname.extend_from_slice(tlv);
            }
            // Else: no room anywhere; dropped.
        }
        let overload = u8::from(!file.is_empty()) | (u8::from(!sname.is_empty()) << 1);
        if overload != 0 {
            self.buf.extend_from_slice(&[code::OVERLOAD, 1, overload]);
        }
        self.buf.extend_from_slice(&main);
        for (area, off, len) in [(&file, OFF_FILE, FILE_LEN), (&sname, OFF_SNAME, SNAME_LEN)] {
            if !area.is_empty() {
                let mut field = area.clone();
                field.push(code::END);
                field.resize(len, code::PAD);
                self.put(off, &field);
            }
        }
        self.finish()
    }

    /// Finishes a plain RFC 951 message: the header with a zero-filled 64-byte vendor area, no
    /// magic cookie and no options (the answer to a BOOTREQUEST that carried no cookie, RFC 951
    /// §3 and RFC 1542 §3.3); options written so far are dropped.
    pub fn finish_without_vendor_extensions(mut self) -> Vec<u8> {
        self.buf.truncate(OFF_COOKIE);
        self.buf.resize(MIN_MESSAGE_LEN, 0);
        self.buf
    }

    /// Appends END and pads with zeros (PAD) to [`MIN_MESSAGE_LEN`] (RFC 1542 §3.3).
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(code::END);
        if self.buf.len() < MIN_MESSAGE_LEN {
            self.buf.resize(MIN_MESSAGE_LEN, code::PAD);
        }
        self.buf
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::error::ParseError;

    const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];

    #[test]
    fn rfc951_reply_has_a_zero_vendor_area_and_parses_back() {
        let mut b = MessageBuilder::bootp_request(7, &MAC);
        b.option(code::HOSTNAME, b"dropped");
        let bytes = b.finish_without_vendor_extensions();
        assert_eq!(bytes.len(), MIN_MESSAGE_LEN);
        assert!(bytes[OFF_COOKIE..].iter().all(|&x| x == 0));
        let m = Message::parse(&bytes).unwrap();
        assert!(!m.has_magic_cookie());
        assert_eq!(m.raw_options().count(), 0);
        assert_eq!(m.chaddr(), &MAC);
    }

    #[test]
    fn request_then_reply_copies_table3_fields() {
        let mut req = MessageBuilder::request(MessageType::Request, 0x1234_5678, &MAC);
        req.set_flags(FLAG_BROADCAST)
            .set_giaddr(Ipv4Addr::new(198, 18, 0, 254))
            .set_hops(2)
            .set_secs(9)
            .set_ciaddr(Ipv4Addr::new(198, 18, 0, 7))
            .option_ip(code::REQUESTED_IP, Ipv4Addr::new(198, 18, 0, 7));
        let req_bytes = req.finish();
        assert_eq!(req_bytes.len(), MIN_MESSAGE_LEN);
        let req = Message::parse(&req_bytes).unwrap();
        assert_eq!(req.op(), BOOTREQUEST);
        assert_eq!(req.htype(), HTYPE_ETHERNET);
        assert_eq!(req.chaddr(), &MAC);
        assert_eq!(req.message_type(), Some(MessageType::Request));

        let mut rep = MessageBuilder::reply(&req, MessageType::Ack);
        rep.set_yiaddr(Ipv4Addr::new(198, 18, 0, 7))
            .option_ip(code::SERVER_ID, Ipv4Addr::new(198, 18, 0, 1))
            .option_u32(code::LEASE_TIME, 3600)
            .option_ips(code::ROUTER, &[Ipv4Addr::new(198, 18, 0, 1)])
            .option_u16(code::INTERFACE_MTU, 1500);
        let bytes = rep.finish();
        // Option 53 comes first (right after the cookie).
        assert_eq!(&bytes[OPTIONS_OFFSET..OPTIONS_OFFSET + 3], &[53, 1, 5]);
        let m = Message::parse(&bytes).unwrap();
        assert_eq!(m.op(), BOOTREPLY);
        assert_eq!((m.htype(), m.hlen()), (req.htype(), req.hlen()));
        assert_eq!(m.xid(), 0x1234_5678);
        assert_eq!(m.flags(), FLAG_BROADCAST);
        assert_eq!(m.giaddr(), Ipv4Addr::new(198, 18, 0, 254));
        assert_eq!(m.chaddr(), &MAC);
        // RFC 2131 table 3: hops, secs, ciaddr are not copied.
        assert_eq!((m.hops(), m.secs()), (0, 0));
        assert_eq!(m.ciaddr(), Ipv4Addr::UNSPECIFIED);
        assert_eq!(m.yiaddr(), Ipv4Addr::new(198, 18, 0, 7));
        assert_eq!(m.lease_time(), Some(3600));
        assert_eq!(m.server_id(), Some(Ipv4Addr::new(198, 18, 0, 1)));
        assert_eq!(m.routers(), Some(vec![Ipv4Addr::new(198, 18, 0, 1)]));
        assert_eq!(
            m.option(code::INTERFACE_MTU).as_deref(),
            Some(&[5, 220][..])
        );
    }

    #[test]
    fn long_options_are_split_rfc3396() {
        let value: Vec<u8> = (0..600u32).map(|i| (i % 251) as u8).collect();
        let mut b = MessageBuilder::request(MessageType::Discover, 1, &MAC);
        b.option(code::VENDOR_CLASS_ID, &value)
            .option(code::HOSTNAME, &[]);
        let predicted = b.encoded_len();
        let bytes = b.finish();
        assert_eq!(bytes.len(), predicted);
        assert_eq!(
            bytes.len(),
            OPTIONS_OFFSET + 3 + (2 + 255) * 2 + (2 + 90) + 2 + 1
        );
        let m = Message::parse(&bytes).unwrap();
        let lens: Vec<usize> = m
            .raw_options()
            .filter(|(c, _)| *c == code::VENDOR_CLASS_ID)
            .map(|(_, v)| v.len())
            .collect();
        assert_eq!(lens, vec![255, 255, 90]);
        assert_eq!(m.vendor_class_id().as_deref(), Some(&value[..]));
        assert_eq!(m.hostname().as_deref(), Some(&[][..]));
        assert_eq!(*bytes.last().unwrap(), code::END);
    }

    #[test]
    fn fields_truncate_and_hlen_is_settable() {
        let mut b = MessageBuilder::request(MessageType::Inform, 1, &[7u8; 20]);
        b.set_sname(&[b's'; 100]).set_file(b"pxelinux.0");
        b.option(code::PAD, &[1, 2, 3]);
        let bytes = b.clone().finish();
        let m = Message::parse(&bytes).unwrap();
        assert_eq!(m.hlen(), 16);
        assert_eq!(m.sname(), &[b's'; SNAME_LEN][..]);
        assert_eq!(&m.file()[..10], b"pxelinux.0");
        assert!(m.file()[10..].iter().all(|&x| x == 0));
        b.set_hlen(17);
        assert_eq!(Message::parse(&b.finish()).err(), Some(ParseError::BadHlen));
    }

    #[test]
    fn finish_within_overloads_file_then_sname_and_parses_back() {
        let req_bytes = MessageBuilder::request(MessageType::Discover, 7, &MAC).finish();
        let req = Message::parse(&req_bytes).unwrap();
        let mut b = MessageBuilder::reply(&req, MessageType::Offer);
        // 10 options of 60 bytes: 600+ bytes, more than the 548-byte default.
        for c in 200..210u8 {
            b.option(c, &[c; 58]);
        }
        let small = b.clone().finish_within(None);
        assert!(small.len() <= 548, "{}", small.len());
        let m = Message::parse(&small).unwrap();
        assert_eq!(m.overload(), 3, "file and sname used");
        assert_eq!(m.message_type(), Some(MessageType::Offer));
        // Everything that fitted is readable, in order; what did not fit was dropped from
        // the end.
        let codes: Vec<u8> = (200..210u8).filter(|c| m.option(*c).is_some()).collect();
        assert_eq!(codes, (200..200 + codes.len() as u8).collect::<Vec<_>>());
        assert!(codes.len() >= 7, "{codes:?}");
        for c in &codes {
            assert_eq!(m.option(*c).unwrap().as_ref(), &[*c; 58]);
        }
        // A client accepting 1500 bytes gets everything without overload.
        let big = b.finish_within(Some(1500));
        let m = Message::parse(&big).unwrap();
        assert_eq!(m.overload(), 0);
        assert!((200..210u8).all(|c| m.option(c).is_some()));
    }

    #[test]
    fn finish_within_leaves_a_used_file_field_alone() {
        let req_bytes = MessageBuilder::request(MessageType::Discover, 7, &MAC).finish();
        let req = Message::parse(&req_bytes).unwrap();
        let mut b = MessageBuilder::reply(&req, MessageType::Offer);
        b.set_file(b"ipxe.efi");
        for c in 200..210u8 {
            b.option(c, &[c; 58]);
        }
        let out = b.finish_within(Some(576));
        let m = Message::parse(&out).unwrap();
        assert_eq!(m.overload(), 2, "sname only");
        assert_eq!(&m.file()[..8], b"ipxe.efi");
    }
}
