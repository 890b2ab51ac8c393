//! Structured option values: classless static routes (RFC 3442) and domain search (RFC 3397).

use std::net::Ipv4Addr;

/// One classless static route: ((destination, prefix length), router).
pub type ClasslessRoute = ((Ipv4Addr, u8), Ipv4Addr);

/// Longest prefix an IPv4 route can have.
const MAX_PREFIX: u8 = 32;
/// Longest DNS label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;
/// Longest encoded DNS name, length bytes included (RFC 1035 §2.3.4).
const MAX_NAME_LEN: usize = 255;
/// Top two bits of a compression pointer (RFC 1035 §4.1.4).
const POINTER_TAG: u8 = 0xC0;
/// Largest offset a compression pointer can hold (14 bits).
const MAX_POINTER_OFFSET: usize = 0x3FFF;

/// Decodes option 121 (RFC 3442 §3): per route a width byte, the `ceil(width / 8)` significant
/// destination octets, then the 4-byte router. `None` when empty, truncated or width > 32.
pub fn decode_classless_routes(v: &[u8]) -> Option<Vec<ClasslessRoute>> {
    if v.is_empty() {
        return None;
    }
    let mut routes = Vec::with_capacity(v.len() / 5);
    let mut rest = v;
    while let Some((&width, tail)) = rest.split_first() {
        if width > MAX_PREFIX {
            return None;
        }
        let significant = usize::from(width).div_ceil(8);
        let dest_bytes = tail.get(..significant)?;
        let router = <[u8; 4]>::try_from(tail.get(significant..significant + 4)?).ok()?;
        let mut dest = [0u8; 4];
        dest.iter_mut().zip(dest_bytes).for_each(|(d, s)| *d = *s);
        routes.push(((Ipv4Addr::from(dest), width), Ipv4Addr::from(router)));
        rest = tail.get(significant + 4..)?;
    }
    Some(routes)
}

/// Encodes option 121 (RFC 3442 §3) from (destination, prefix length, router) triples.
/// Prefix lengths above 32 are clamped to 32; destination bits beyond the prefix are dropped
/// with the insignificant octets (the encoding cannot carry them).
pub fn encode_classless_routes(routes: &[(Ipv4Addr, u8, Ipv4Addr)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(routes.len() * 9);
    for &(dest, width, router) in routes {
        let width = width.min(MAX_PREFIX);
        let significant = usize::from(width).div_ceil(8);
        out.push(width);
        out.extend(dest.octets().iter().take(significant));
        out.extend_from_slice(&router.octets());
    }
    out
}

/// Why a domain search list could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainSearchError {
    /// A name is empty, or has an empty label ("a..b").
    EmptyLabel(String),
    /// A label is longer than 63 bytes.
    LabelTooLong(String),
    /// The encoded name is longer than 255 bytes.
    NameTooLong(String),
}

impl std::fmt::Display for DomainSearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DomainSearchError::EmptyLabel(n) => write!(f, "domain search name {n:?}: empty label"),
            DomainSearchError::LabelTooLong(n) => {
                write!(f, "domain search name {n:?}: label longer than 63 bytes")
            }
            DomainSearchError::NameTooLong(n) => {
                write!(f, "domain search name {n:?}: longer than 255 bytes encoded")
            }
        }
    }
}

impl std::error::Error for DomainSearchError {}

/// Encodes option 119 (RFC 3397 §2): each name as RFC 1035 labels, with suffixes already
/// written replaced by compression pointers (offsets into the concatenated option value, which
/// is what RFC 3397 specifies even when the option is split per RFC 3396). A trailing dot is
/// accepted; names are written as given (no case folding).
pub fn encode_domain_search(names: &[&str]) -> Result<Vec<u8>, DomainSearchError> {
    let mut out = Vec::with_capacity(names.iter().map(|n| n.len() + 2).sum());
    // (suffix, offset) of every suffix already written, for compression.
    let mut written: Vec<(String, usize)> = Vec::new();
    for &name in names {
        let trimmed = name.strip_suffix('.').unwrap_or(name);
        let labels: Vec<&str> = trimmed.split('.').collect();
        if labels.iter().any(|l| l.is_empty()) {
            return Err(DomainSearchError::EmptyLabel(name.to_owned()));
        }
        if labels.iter().any(|l| l.len() > MAX_LABEL_LEN) {
            return Err(DomainSearchError::LabelTooLong(name.to_owned()));
        }
        if trimmed.len() + 2 > MAX_NAME_LEN {
            return Err(DomainSearchError::NameTooLong(name.to_owned()));
        }
        for i in 0..labels.len() {
            let suffix = labels
                .get(i..)
                .unwrap_or(&[])
                .join(".")
                .to_ascii_lowercase();
            if let Some(&(_, off)) = written.iter().find(|(s, _)| *s == suffix) {
                let [hi, lo] = u16::try_from(off).unwrap_or(0).to_be_bytes();
                out.extend_from_slice(&[POINTER_TAG | hi, lo]);
                break;
            }
            if out.len() <= MAX_POINTER_OFFSET {
                written.push((suffix, out.len()));
            }
            let label = labels.get(i).copied().unwrap_or("");
            out.push(u8::try_from(label.len()).unwrap_or(0));
            out.extend_from_slice(label.as_bytes());
            if i + 1 == labels.len() {
                out.push(0);
            }
        }
    }
    Ok(out)
}

/// Decodes option 119 into dotted names (no trailing dot), following compression pointers.
/// `None` when malformed (truncated, pointer loop, forward-only rules not enforced).
pub fn decode_domain_search(v: &[u8]) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut pos = 0;
    while pos < v.len() {
        let mut labels: Vec<String> = Vec::new();
        let mut cur = pos;
        let mut next_name = None;
        // Each pointer jump must go strictly backwards, which bounds the walk.
        let mut limit = cur;
        loop {
            let len = *v.get(cur)?;
            if len == 0 {
                next_name.get_or_insert(cur + 1);
                break;
            }
            if len & POINTER_TAG == POINTER_TAG {
                let lo = *v.get(cur + 1)?;
                let target = usize::from(u16::from_be_bytes([len & !POINTER_TAG, lo]));
                next_name.get_or_insert(cur + 2);
                if target >= limit {
                    return None;
                }
                limit = target;
                cur = target;
                continue;
            }
            if len & POINTER_TAG != 0 {
                return None;
            }
            let label = v.get(cur + 1..cur + 1 + usize::from(len))?;
            labels.push(String::from_utf8_lossy(label).into_owned());
            cur += 1 + usize::from(len);
        }
        names.push(labels.join("."));
        pos = next_name?;
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classless_routes_rfc3442_examples() {
        // RFC 3442 §3: "subnet number 10.17.0.0/16 router 10.0.0.1" etc.
        let routes = [
            (Ipv4Addr::new(0, 0, 0, 0), 0, Ipv4Addr::new(10, 0, 0, 1)),
            (Ipv4Addr::new(10, 0, 0, 0), 8, Ipv4Addr::new(10, 0, 0, 2)),
            (Ipv4Addr::new(10, 17, 0, 0), 16, Ipv4Addr::new(10, 0, 0, 3)),
            (
                Ipv4Addr::new(10, 229, 0, 128),
                25,
                Ipv4Addr::new(10, 0, 0, 4),
            ),
            (Ipv4Addr::new(198, 18, 1, 1), 32, Ipv4Addr::new(10, 0, 0, 5)),
        ];
        let enc = encode_classless_routes(&routes);
        assert_eq!(
            enc,
            [
                0, 10, 0, 0, 1, 8, 10, 10, 0, 0, 2, 16, 10, 17, 10, 0, 0, 3, 25, 10, 229, 0, 128,
                10, 0, 0, 4, 32, 198, 18, 1, 1, 10, 0, 0, 5
            ]
        );
        let dec = decode_classless_routes(&enc).unwrap_or_default();
        let back: Vec<_> = dec.into_iter().map(|((d, w), r)| (d, w, r)).collect();
        assert_eq!(back, routes);
    }

    #[test]
    fn classless_routes_reject_malformed() {
        assert_eq!(decode_classless_routes(&[]), None);
        assert_eq!(decode_classless_routes(&[33, 1, 2, 3, 4, 5, 6, 7, 8]), None);
        assert_eq!(decode_classless_routes(&[24, 10, 0, 0, 10, 0, 0]), None);
    }

    #[test]
    fn domain_search_compresses_and_round_trips() {
        let enc = encode_domain_search(&["eng.example.com", "example.com.", "lab.example.com"]);
        let enc = enc.unwrap_or_default();
        // RFC 3397 §3 example shape: second name is a pure pointer to offset 4.
        assert_eq!(
            enc,
            b"\x03eng\x07example\x03com\x00\xc0\x04\x03lab\xc0\x04".to_vec()
        );
        assert_eq!(
            decode_domain_search(&enc),
            Some(vec![
                "eng.example.com".to_owned(),
                "example.com".to_owned(),
                "lab.example.com".to_owned()
            ])
        );
    }

    #[test]
    fn domain_search_rejects_bad_names() {
        assert!(matches!(
            encode_domain_search(&["a..b"]),
            Err(DomainSearchError::EmptyLabel(_))
        ));
        assert!(matches!(
            encode_domain_search(&[""]),
            Err(DomainSearchError::EmptyLabel(_))
        ));
        let long_label = "x".repeat(64);
        assert!(matches!(
            encode_domain_search(&[long_label.as_str()]),
            Err(DomainSearchError::LabelTooLong(_))
        ));
        let long_name = ["a".repeat(60).as_str(); 5].join(".");
        assert!(matches!(
            encode_domain_search(&[long_name.as_str()]),
            Err(DomainSearchError::NameTooLong(_))
        ));
        // Pointer loops and truncation are rejected, not followed forever.
        assert_eq!(decode_domain_search(&[0xc0, 0x00]), None);
        assert_eq!(decode_domain_search(&[3, b'a']), None);
    }
}
