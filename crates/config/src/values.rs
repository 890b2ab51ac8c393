//! Value syntax used by the config file: durations, hex octets, DNS names and the typed values
//! of custom options, each parsed into what the wire needs or refused with a reason.

use std::net::Ipv4Addr;

/// Duration unit suffixes with their length in seconds, largest first.
const DURATION_UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// What a duration may look like, for error messages.
pub(super) const DURATION_HINT: &str = r#"expected an integer number of seconds or a duration such as "90s", "30m", "1h", "1d", "1h30m""#;

/// Longest DNS name in text form, without the trailing dot (RFC 1035 §2.3.4: 255 octets encoded).
const MAX_DNS_NAME_LEN: usize = 253;
/// Longest DNS label (RFC 1035 §2.3.4).
const MAX_DNS_LABEL_LEN: usize = 63;
/// Longest value a single option carries without RFC 3396 splitting (RFC 2132 §2: one length octet).
pub(super) const MAX_OPTION_LEN: usize = 255;

/// Parses `"90s"`, `"30m"`, `"1h"`, `"1d"`, `"1h30m"` or `"600"` into seconds. Units go from
/// largest to smallest, each at most once; `None` on anything else or on overflow.
pub(super) fn parse_duration(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let mut total: u64 = 0;
    let mut rest = text;
    // Index into DURATION_UNITS of the last unit seen; the next must come strictly after it.
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let (number, tail) = rest.split_at(digits);
        let unit = tail.chars().next()?;
        let position = DURATION_UNITS
            .iter()
            .skip(next_unit)
            .position(|(c, _)| *c == unit)?
            + next_unit;
        let (_, seconds) = DURATION_UNITS.get(position)?;
        total = total.checked_add(number.parse::<u64>().ok()?.checked_mul(*seconds)?)?;
        next_unit = position + 1;
        rest = &tail[unit.len_utf8()..];
    }
    Some(total)
}

/// Renders seconds the way the file writes them: `"1h30m"`, `"45s"`, `"0s"`.
pub(super) fn format_duration(seconds: u64) -> String {
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut rest = seconds;
    for (unit, length) in DURATION_UNITS {
        let count = rest / length;
        if count > 0 {
            out.push_str(&format!("{count}{unit}"));
            rest %= length;
        }
    }
    out
}

/// Parses hex octets written `"01:02:ab"` (one or two digits per octet) or `"0102ab"`.
pub(super) fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if text.contains(':') {
        return text
            .split(':')
            .map(|part| {
                let ok =
                    (1..=2).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_hexdigit());
                ok.then(|| u8::from_str_radix(part, 16).ok()).flatten()
            })
            .collect();
    }
    if text.is_empty()
        || !text.len().is_multiple_of(2)
        || !text.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// Checks a DNS name (RFC 1035 §2.3.1 / RFC 1123 §2.1 host name syntax: letters, digits and
/// inner hyphens; one trailing dot allowed). The error says why, for "is not a valid DNS name: …".
pub(super) fn check_dns_name(name: &str) -> Result<(), String> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err("it is empty".to_owned());
    }
    if trimmed.len() > MAX_DNS_NAME_LEN {
        return Err(format!(
            "it is {} characters long (at most {MAX_DNS_NAME_LEN})",
            trimmed.len()
        ));
    }
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err("it has an empty label".to_owned());
        }
        if label.len() > MAX_DNS_LABEL_LEN {
            return Err(format!(
                "label {label:?} is longer than {MAX_DNS_LABEL_LEN} characters"
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!("label {label:?} contains {c:?}"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with '-'"));
        }
    }
    Ok(())
}

/// The value types a custom `[[subnet.option]]` can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OptionType {
    /// One IPv4 address.
    Ip,
    /// A non-empty list of IPv4 addresses.
    Ips,
    /// Text, sent as its UTF-8 bytes.
    String,
    /// Unsigned 8-bit integer.
    U8,
    /// Unsigned 16-bit integer, network byte order.
    U16,
    /// Unsigned 32-bit integer, network byte order.
    U32,
    /// Signed 32-bit integer, network byte order (e.g. option 2, time offset).
    I32,
    /// One octet, 1 or 0.
    Bool,
    /// Raw octets written in hex.
    Hex,
}

/// Every option type with its name in the file.
pub(super) const OPTION_TYPES: [(&str, OptionType); 9] = [
    ("ip", OptionType::Ip),
    ("ips", OptionType::Ips),
    ("string", OptionType::String),
    ("u8", OptionType::U8),
    ("u16", OptionType::U16),
    ("u32", OptionType::U32),
    ("i32", OptionType::I32),
    ("bool", OptionType::Bool),
    ("hex", OptionType::Hex),
];

impl OptionType {
    /// The type named `name` in the file.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        OPTION_TYPES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
    }

    /// The name of this type in the file.
    pub(super) fn name(self) -> &'static str {
        OPTION_TYPES
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }

    /// Encodes `value` as this type's wire bytes, or says why it does not fit.
    pub(super) fn encode(self, value: &toml::Value) -> Result<Vec<u8>, String> {
        let name = self.name();
        let wrong = |wanted: &str| {
            format!(
                "type {name:?} needs {wanted}, found {} {value}",
                value.type_str()
            )
        };
        match self {
            OptionType::Ip => {
                let text = value
                    .as_str()
                    .ok_or_else(|| wrong("an IPv4 address string"))?;
                let ip: Ipv4Addr = text
                    .parse()
                    .map_err(|_| format!("{text:?} is not an IPv4 address"))?;
                Ok(ip.octets().to_vec())
            }
            OptionType::Ips => {
                let items = value
                    .as_array()
                    .ok_or_else(|| wrong("an array of IPv4 address strings"))?;
                if items.is_empty() {
                    return Err(format!("type {name:?} needs at least one address"));
                }
                let mut out = Vec::with_capacity(items.len() * 4);
                for item in items {
                    let text = item
                        .as_str()
                        .ok_or_else(|| wrong("an array of IPv4 address strings"))?;
                    let ip: Ipv4Addr = text
                        .parse()
                        .map_err(|_| format!("{text:?} is not an IPv4 address"))?;
                    out.extend_from_slice(&ip.octets());
                }
                Ok(out)
            }
            OptionType::String => {
                let text = value.as_str().ok_or_else(|| wrong("a string"))?;
                if text.is_empty() {
                    return Err(
                        "the string is empty (an option carries at least one octet)".to_owned()
                    );
                }
                Ok(text.as_bytes().to_vec())
            }
            OptionType::U8 => integer(value, name, 0, u8::MAX.into(), &wrong)
                .map(|v| vec![u8::try_from(v).unwrap_or_default()]),
            OptionType::U16 => integer(value, name, 0, u16::MAX.into(), &wrong)
                .map(|v| u16::try_from(v).unwrap_or_default().to_be_bytes().to_vec()),
            OptionType::U32 => integer(value, name, 0, u32::MAX.into(), &wrong)
                .map(|v| u32::try_from(v).unwrap_or_default().to_be_bytes().to_vec()),
            OptionType::I32 => integer(value, name, i32::MIN.into(), i32::MAX.into(), &wrong)
                .map(|v| i32::try_from(v).unwrap_or_default().to_be_bytes().to_vec()),
            OptionType::Bool => {
                let flag = value.as_bool().ok_or_else(|| wrong("true or false"))?;
                Ok(vec![u8::from(flag)])
            }
            OptionType::Hex => {
                let text = value
                    .as_str()
                    .ok_or_else(|| wrong("a string of hex octets"))?;
                parse_hex(text).ok_or_else(|| {
                    format!(r#"{text:?} is not hex octets (expected "01:02:ab" or "0102ab")"#)
                })
            }
        }
    }
}

/// An integer option value within `min..=max`.
fn integer(
    value: &toml::Value,
    name: &str,
    min: i64,
    max: i64,
    wrong: &dyn Fn(&str) -> String,
) -> Result<i64, String> {
    let v = value.as_integer().ok_or_else(|| wrong("an integer"))?;
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{v} is out of range for type {name:?} ({min}..={max})"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases: &[(&str, Option<u64>)] = &[
            ("90s", Some(90)),
            ("30m", Some(1_800)),
            ("1h", Some(3_600)),
            ("1d", Some(86_400)),
            ("1h30m", Some(5_400)),
            ("1d2h3m4s", Some(93_784)),
            ("600", Some(600)),
            ("0s", Some(0)),
            ("", None),
            ("h", None),
            ("1x", None),
            ("30m1h", None),
            ("1h1h", None),
            ("1h 30m", None),
            ("-5s", None),
            ("99999999999999999999d", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), *want, "{text:?}");
        }
        for secs in [0, 45, 60, 5_400, 86_400, 93_784] {
            assert_eq!(parse_duration(&format_duration(secs)), Some(secs));
        }
        assert_eq!(format_duration(5_400), "1h30m");
    }

    #[test]
    fn hex() {
        assert_eq!(parse_hex("01:02:ab"), Some(vec![1, 2, 0xab]));
        assert_eq!(parse_hex("0102AB"), Some(vec![1, 2, 0xab]));
        assert_eq!(parse_hex("1:2"), Some(vec![1, 2]));
        for bad in ["", "012", "zz", "01::02", "001:02", "01 02"] {
            assert_eq!(parse_hex(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn dns_names() {
        for good in ["lab.example", "lab.example.", "a-b.c1", "printer"] {
            assert_eq!(check_dns_name(good), Ok(()), "{good:?}");
        }
        assert_eq!(
            check_dns_name("a..b"),
            Err("it has an empty label".to_owned())
        );
        assert_eq!(
            check_dns_name("foo_bar"),
            Err(r#"label "foo_bar" contains '_'"#.to_owned())
        );
        assert_eq!(
            check_dns_name("-a.b"),
            Err(r#"label "-a" starts or ends with '-'"#.to_owned())
        );
        assert!(check_dns_name(&"a".repeat(64)).is_err());
    }

    #[test]
    fn option_types_encode() {
        use toml::Value;
        type Case = (OptionType, Value, Result<Vec<u8>, &'static str>);
        let cases: Vec<Case> = vec![
            (
                OptionType::Ip,
                Value::from("198.18.0.9"),
                Ok(vec![198, 18, 0, 9]),
            ),
            (
                OptionType::Ips,
                Value::Array(vec!["198.18.0.1".into(), "198.18.0.2".into()]),
                Ok(vec![198, 18, 0, 1, 198, 18, 0, 2]),
            ),
            (OptionType::String, Value::from("pxe"), Ok(b"pxe".to_vec())),
            (OptionType::U8, Value::from(7), Ok(vec![7])),
            (OptionType::U16, Value::from(1500), Ok(vec![0x05, 0xdc])),
            (
                OptionType::U32,
                Value::from(4_294_967_295_i64),
                Ok(vec![0xff; 4]),
            ),
            (
                OptionType::I32,
                Value::from(-3600),
                Ok((-3600_i32).to_be_bytes().to_vec()),
            ),
            (OptionType::Bool, Value::from(true), Ok(vec![1])),
            (
                OptionType::Hex,
                Value::from("01:02:ab"),
                Ok(vec![1, 2, 0xab]),
            ),
            (
                OptionType::U8,
                Value::from(300),
                Err(r#"300 is out of range for type "u8" (0..=255)"#),
            ),
            (
                OptionType::Ip,
                Value::from(5),
                Err(r#"type "ip" needs an IPv4 address string, found integer 5"#),
            ),
            (
                OptionType::Ips,
                Value::Array(vec![]),
                Err(r#"type "ips" needs at least one address"#),
            ),
            (
                OptionType::Hex,
                Value::from("xyz"),
                Err(r#""xyz" is not hex octets (expected "01:02:ab" or "0102ab")"#),
            ),
        ];
        for (kind, value, want) in cases {
            assert_eq!(
                kind.encode(&value),
                want.map_err(str::to_owned),
                "{kind:?} {value}"
            );
        }
        for (name, kind) in OPTION_TYPES {
            assert_eq!(OptionType::from_name(name), Some(kind));
            assert_eq!(kind.name(), name);
        }
    }
}
