//! Relay agent information (option 82, RFC 3046) sub-options, parsed from the option's raw value.

use std::net::Ipv4Addr;

/// RFC 3046 §2.0 sub-option 1: agent circuit ID.
pub const SUBOPT_CIRCUIT_ID: u8 = 1;
/// RFC 3046 §2.0 sub-option 2: agent remote ID.
pub const SUBOPT_REMOTE_ID: u8 = 2;
/// RFC 3527 §3: link selection, 4-byte address of the client's link.
pub const SUBOPT_LINK_SELECTION: u8 = 5;
/// RFC 3993 §3: subscriber ID.
pub const SUBOPT_SUBSCRIBER_ID: u8 = 6;

/// The sub-options of one option 82 value this server uses; borrowed from the value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayAgentInfo<'a> {
    /// Sub-option 1 (circuit ID).
    pub circuit_id: Option<&'a [u8]>,
    /// Sub-option 2 (remote ID).
    pub remote_id: Option<&'a [u8]>,
    /// Sub-option 5 (RFC 3527 link selection), when exactly 4 bytes.
    pub link_selection: Option<Ipv4Addr>,
    /// Sub-option 6 (RFC 3993 subscriber ID).
    pub subscriber_id: Option<&'a [u8]>,
}

impl<'a> RelayAgentInfo<'a> {
    /// Parses the sub-options (`code, len, value` triples, RFC 3046 §2.0). A truncated trailing
    /// sub-option ends the walk; what was read before it is kept. The first instance of each
    /// sub-option wins.
    pub fn parse(value: &'a [u8]) -> Self {
        let mut info = Self::default();
        let mut rest = value;
        while let [code, len, tail @ ..] = rest {
            let len = usize::from(*len);
            let Some((body, next)) = tail.split_at_checked(len) else {
                break;
            };
            match *code {
                SUBOPT_CIRCUIT_ID => {
                    info.circuit_id.get_or_insert(body);
                }
                SUBOPT_REMOTE_ID => {
                    info.remote_id.get_or_insert(body);
                }
                SUBOPT_LINK_SELECTION => {
                    if let Ok(a) = <[u8; 4]>::try_from(body) {
                        info.link_selection.get_or_insert(Ipv4Addr::from(a));
                    }
                }
                SUBOPT_SUBSCRIBER_ID => {
                    info.subscriber_id.get_or_insert(body);
                }
                _ => {}
            }
            rest = next;
        }
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_sub_options_and_skips_others() {
        let raw = [
            1, 4, b'e', b't', b'h', b'0', // circuit id
            9, 2, 0xde, 0xad, // unknown
            2, 3, b'r', b'i', b'd', // remote id
            5, 4, 198, 18, 5, 0, // link selection
            6, 3, b's', b'u', b'b', // subscriber id
        ];
        let info = RelayAgentInfo::parse(&raw);
        assert_eq!(info.circuit_id, Some(&b"eth0"[..]));
        assert_eq!(info.remote_id, Some(&b"rid"[..]));
        assert_eq!(info.link_selection, Some(Ipv4Addr::new(198, 18, 5, 0)));
        assert_eq!(info.subscriber_id, Some(&b"sub"[..]));
    }

    #[test]
    fn truncated_or_odd_values_never_panic() {
        assert_eq!(RelayAgentInfo::parse(&[]), RelayAgentInfo::default());
        assert_eq!(RelayAgentInfo::parse(&[1]), RelayAgentInfo::default());
        let cut = RelayAgentInfo::parse(&[1, 1, b'x', 2, 9, b'y']);
        assert_eq!(cut.circuit_id, Some(&b"x"[..]));
        assert_eq!(cut.remote_id, None);
        // Link selection must be exactly 4 bytes (RFC 3527 §3).
        assert_eq!(RelayAgentInfo::parse(&[5, 3, 1, 2, 3]).link_selection, None);
    }
}
