//! [`ParseError`]: why a datagram was rejected; small and `Copy` so the hot path never allocates.

/// Why a datagram was rejected. Small and Copy: the hot path allocates nothing on error.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// Shorter than the 236-byte header plus the 4-byte magic cookie.
    TooShort,
    /// The four bytes after the header are not the DHCP magic cookie (RFC 2131 §3), and the
    /// datagram is not a plain RFC 951 BOOTREQUEST with a zero vendor area.
    BadCookie,
    /// `hlen` is larger than the 16-byte `chaddr` field.
    BadHlen,
    /// An option's length byte is missing or its value runs past the end of its area.
    OptionOverrun,
    /// An area that option 52 says holds options (`file`/`sname`) has no END option.
    MissingEnd,
    /// Option 52 (overload) has a value other than 1, 2 or 3 (RFC 2132 §9.3).
    BadOverload,
    /// An option that parse itself must interpret (option 52) has the wrong length.
    BadOptionLength {
        /// The offending option code.
        code: u8,
    },
}

impl ParseError {
    /// Stable snake_case reason, suitable as a metric label ("too_short", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ParseError::TooShort => "too_short",
            ParseError::BadCookie => "bad_cookie",
            ParseError::BadHlen => "bad_hlen",
            ParseError::OptionOverrun => "option_overrun",
            ParseError::MissingEnd => "missing_end",
            ParseError::BadOverload => "bad_overload",
            ParseError::BadOptionLength { .. } => "bad_option_length",
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::BadOptionLength { code } => {
                write!(f, "bad_option_length (option {code})")
            }
            other => f.write_str(other.as_str()),
        }
    }
}

impl std::error::Error for ParseError {}
