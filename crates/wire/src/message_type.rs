//! [`MessageType`]: the value of option 53 (RFC 2132 §9.6).

/// DHCP message type carried in option 53 (RFC 2132 §9.6).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// DHCPDISCOVER: client looks for servers.
    Discover = 1,
    /// DHCPOFFER: server offers an address.
    Offer = 2,
    /// DHCPREQUEST: client asks for / renews an address.
    Request = 3,
    /// DHCPDECLINE: client found the address in use.
    Decline = 4,
    /// DHCPACK: server commits the lease.
    Ack = 5,
    /// DHCPNAK: server refuses the request.
    Nak = 6,
    /// DHCPRELEASE: client gives the address back.
    Release = 7,
    /// DHCPINFORM: client wants configuration only.
    Inform = 8,
}

impl MessageType {
    /// Every message type, in code order.
    pub const ALL: [MessageType; 8] = [
        MessageType::Discover,
        MessageType::Offer,
        MessageType::Request,
        MessageType::Decline,
        MessageType::Ack,
        MessageType::Nak,
        MessageType::Release,
        MessageType::Inform,
    ];

    /// The message type for option-53 value `v`, or `None` for unknown values.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => MessageType::Discover,
            2 => MessageType::Offer,
            3 => MessageType::Request,
            4 => MessageType::Decline,
            5 => MessageType::Ack,
            6 => MessageType::Nak,
            7 => MessageType::Release,
            8 => MessageType::Inform,
            _ => return None,
        })
    }

    /// Upper-case name without the "DHCP" prefix, for logs and metric labels ("DISCOVER", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Discover => "DISCOVER",
            MessageType::Offer => "OFFER",
            MessageType::Request => "REQUEST",
            MessageType::Decline => "DECLINE",
            MessageType::Ack => "ACK",
            MessageType::Nak => "NAK",
            MessageType::Release => "RELEASE",
            MessageType::Inform => "INFORM",
        }
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_u8_round_trips_and_rejects_unknown() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::from_u8(t as u8), Some(t));
        }
        assert_eq!(MessageType::from_u8(0), None);
        assert_eq!(MessageType::from_u8(9), None);
        assert_eq!(MessageType::Discover.as_str(), "DISCOVER");
        assert_eq!(MessageType::Nak.to_string(), "NAK");
    }
}
