//! Client FQDN option 81 (RFC 4702 §2): flags, two obsolete RCODE octets, and the name in
//! ASCII or, with the E flag, in canonical DNS wire format.

/// RFC 4702 §2.1 S flag: the client asks the server to update the A RR.
pub const FQDN_FLAG_S: u8 = 0x01;
/// RFC 4702 §2.1 O flag: set by servers that override the client's S.
pub const FQDN_FLAG_O: u8 = 0x02;
/// RFC 4702 §2.1 E flag: the name is in canonical wire format.
pub const FQDN_FLAG_E: u8 = 0x04;
/// RFC 4702 §2.1 N flag: the server must not update any RR.
pub const FQDN_FLAG_N: u8 = 0x08;

/// A parsed option 81.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientFqdn {
    /// The flags octet (S, O, E, N).
    pub flags: u8,
    /// The name as dotted text, without a trailing dot (may be a single label, RFC 4702 §2.3).
    pub name: String,
}

impl ClientFqdn {
    /// Parses option 81's value; `None` when shorter than 3 octets, not ASCII, or a wire-format
    /// name is malformed (a label runs past the end).
    pub fn parse(v: &[u8]) -> Option<Self> {
        let (&flags, rest) = v.split_first()?;
        let name = rest.get(2..)?;
        let text = if flags & FQDN_FLAG_E != 0 {
            let mut labels = Vec::new();
            let mut rest = name;
            while let [len, tail @ ..] = rest {
                if *len == 0 {
                    break;
                }
                let (label, next) = tail.split_at_checked(usize::from(*len))?;
                labels.push(std::str::from_utf8(label).ok()?);
                rest = next;
            }
            labels.join(".")
        } else {
            std::str::from_utf8(name)
                .ok()?
                .trim_end_matches('.')
                .to_string()
        };
        text.is_ascii().then_some(Self { flags, name: text })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_wire_format_names() {
        let ascii = ClientFqdn::parse(b"\x01\x00\x00host.lab.test.").unwrap();
        assert_eq!(
            (ascii.flags, ascii.name.as_str()),
            (FQDN_FLAG_S, "host.lab.test")
        );
        let wire = ClientFqdn::parse(b"\x05\xff\xff\x04host\x03lab\x04test\x00").unwrap();
        assert_eq!(
            (wire.flags, wire.name.as_str()),
            (FQDN_FLAG_S | FQDN_FLAG_E, "host.lab.test")
        );
        assert_eq!(
            ClientFqdn::parse(b"\x04\x00\x00\x09host").map(|f| f.name),
            None
        );
        assert_eq!(ClientFqdn::parse(b"\x00\x00"), None);
        assert_eq!(
            ClientFqdn::parse(b"\x00\x00\x00").map(|f| f.name),
            Some(String::new())
        );
    }
}
