//! Client classes: which `[[class]]` tables a request matches, evaluated once per request
//! into a 64-bit set (bit i = `Config::classes[i]`).

use hyperdhcp_wire::{Message, RelayAgentInfo};

use crate::lease::HwAddr;
use hyperdhcp_config::{ClassConfig, ClassMatch};

/// The set of matched classes: bit `i` is `Config::classes[i]`.
pub type ClassSet = u64;

/// The classes `msg` matches (all conditions of a class must hold).
pub(crate) fn evaluate(
    classes: &[ClassConfig],
    msg: &Message<'_>,
    hw: &HwAddr,
    relay: &RelayAgentInfo<'_>,
) -> ClassSet {
    let mut set = 0;
    for (i, c) in classes.iter().enumerate().take(64) {
        if matches(&c.matcher, msg, hw, relay) {
            set |= 1 << i;
        }
    }
    set
}

/// True when every condition given in `m` holds for the request.
fn matches(m: &ClassMatch, msg: &Message<'_>, hw: &HwAddr, relay: &RelayAgentInfo<'_>) -> bool {
    let text = |pat: &Option<String>, value: Option<&[u8]>| {
        pat.as_deref()
            .is_none_or(|p| value.is_some_and(|v| glob(p.as_bytes(), v)))
    };
    m.mac_prefix
        .as_deref()
        .is_none_or(|p| hw.as_bytes().starts_with(p))
        && m.client_arch.is_none_or(|a| msg.client_arch() == Some(a))
        && text(&m.vendor_class, msg.vendor_class_id().as_deref())
        && text(&m.hostname, msg.hostname().as_deref())
        && text(&m.circuit_id, relay.circuit_id)
        && text(&m.remote_id, relay.remote_id)
        && text(&m.subscriber_id, relay.subscriber_id)
        && m.user_class
            .as_deref()
            .is_none_or(|p| msg.user_class().is_some_and(|v| user_class_matches(p, &v)))
}

/// Option 77: the whole value, or any one RFC 3004 §2 instance (`len, data` pairs).
fn user_class_matches(pattern: &str, value: &[u8]) -> bool {
    if glob(pattern.as_bytes(), value) {
        return true;
    }
    let mut rest = value;
    while let [len, tail @ ..] = rest {
        let Some((data, next)) = tail.split_at_checked(usize::from(*len)) else {
            return false;
        };
        if glob(pattern.as_bytes(), data) {
            return true;
        }
        rest = next;
    }
    false
}

/// Glob match: `*` any run of bytes, `?` any one byte, everything else literally.
pub(crate) fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative with one backtrack point: O(len(pattern) * len(text)) worst case.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// Names of the classes in `set`, in config order.
pub(crate) fn names(classes: &[ClassConfig], set: ClassSet) -> Vec<String> {
    classes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 64 && set & (1 << i) != 0)
        .map(|(_, c)| c.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use hyperdhcp_wire::{MessageBuilder, MessageType, code};

    use super::*;
    use hyperdhcp_config::DhcpOptions;

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("PXEClient*", "PXEClient:Arch:00007", true),
            ("PXEClient*", "iPXE", false),
            ("eth?", "eth0", true),
            ("eth?", "eth10", false),
            ("*", "", true),
            ("a*b*c", "a-x-b-y-c", true),
            ("a*b*c", "a-x-c", false),
            ("printer-*", "printer-3f", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(glob(p.as_bytes(), t.as_bytes()), want, "{p} ~ {t}");
        }
    }

    fn class(name: &str, matcher: ClassMatch) -> ClassConfig {
        ClassConfig {
            name: name.into(),
            matcher,
            next_server: None,
            boot_file: None,
            options: DhcpOptions::default(),
            always_send: Vec::new(),
        }
    }

    #[test]
    fn every_condition_must_hold() {
        let classes = vec![
            class(
                "efi",
                ClassMatch {
                    vendor_class: Some("PXEClient*".into()),
                    client_arch: Some(7),
                    ..ClassMatch::default()
                },
            ),
            class(
                "bios",
                ClassMatch {
                    client_arch: Some(0),
                    ..ClassMatch::default()
                },
            ),
            class(
                "lab-macs",
                ClassMatch {
                    mac_prefix: Some(vec![2, 0, 0]),
                    ..ClassMatch::default()
                },
            ),
            class(
                "port",
                ClassMatch {
                    circuit_id: Some("eth*".into()),
                    ..ClassMatch::default()
                },
            ),
            class(
                "subscriber",
                ClassMatch {
                    subscriber_id: Some("sub-*".into()),
                    ..ClassMatch::default()
                },
            ),
            class(
                "ipxe-user",
                ClassMatch {
                    user_class: Some("iPXE".into()),
                    hostname: Some("pc-*".into()),
                    ..ClassMatch::default()
                },
            ),
        ];
        let mac = [2, 0, 0, 1, 2, 3];
        let hw = HwAddr::ethernet(mac);
        let mut b = MessageBuilder::request(MessageType::Discover, 1, &mac);
        b.option(code::VENDOR_CLASS_ID, b"PXEClient:Arch:00007:UNDI:003016")
            .option(code::CLIENT_ARCH, &[0, 7])
            .option(code::USER_CLASS, &[4, b'i', b'P', b'X', b'E'])
            .option(code::HOSTNAME, b"pc-12");
        let pkt = b.finish();
        let msg = Message::parse(&pkt).unwrap();
        let relay = RelayAgentInfo::parse(&[1, 4, b'e', b't', b'h', b'1']);
        let set = evaluate(&classes, &msg, &hw, &relay);
        assert_eq!(
            names(&classes, set),
            ["efi", "lab-macs", "port", "ipxe-user"]
        );
        // RFC 3993 subscriber-id (sub-option 6) next to the circuit-id.
        let relay = RelayAgentInfo::parse(&[
            1, 4, b'e', b't', b'h', b'1', 6, 5, b's', b'u', b'b', b'-', b'7',
        ]);
        let set = evaluate(&classes, &msg, &hw, &relay);
        assert_eq!(
            names(&classes, set),
            ["efi", "lab-macs", "port", "subscriber", "ipxe-user"]
        );
        // Not relayed, other MAC, no option 93: only the vendor class would match, and the
        // "efi" class also needs arch 7.
        let other = [4, 0, 0, 0, 0, 1];
        let mut b = MessageBuilder::request(MessageType::Discover, 1, &other);
        b.option(code::VENDOR_CLASS_ID, b"PXEClient");
        let pkt = b.finish();
        let msg = Message::parse(&pkt).unwrap();
        let set = evaluate(
            &classes,
            &msg,
            &HwAddr::ethernet(other),
            &RelayAgentInfo::default(),
        );
        assert_eq!(set, 0);
    }
}
