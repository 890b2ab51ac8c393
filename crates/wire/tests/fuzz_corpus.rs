//! Replays every file of the fuzz corpus (`fuzz/corpus/parse`) through the fuzz target's code.

use std::path::PathBuf;

use hyperdhcp_wire::{Message, MessageType, ParseError, fuzz_exercise};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/parse")
}

#[test]
fn replay_fuzz_corpus() -> anyhow_free::Result {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus_dir())? {
        let path = entry?.path();
        if path.is_file() {
            fuzz_exercise(&std::fs::read(&path)?);
            n += 1;
        }
    }
    assert!(n > 0, "fuzz corpus at {} is empty", corpus_dir().display());
    Ok(())
}

/// The hand-written seeds parse (or fail) the way their names say.
#[test]
fn seeds_have_the_expected_outcome() -> anyhow_free::Result {
    let read = |name: &str| std::fs::read(corpus_dir().join(format!("seed-{name}")));
    let cases: &[(&str, Result<Option<MessageType>, ParseError>)] = &[
        ("dhclient-discover", Ok(Some(MessageType::Discover))),
        ("udhcpc-request", Ok(Some(MessageType::Request))),
        ("relayed-discover", Ok(Some(MessageType::Discover))),
        ("server-ack", Ok(Some(MessageType::Ack))),
        ("overload-both", Ok(Some(MessageType::Discover))),
        ("many-options", Ok(Some(MessageType::Discover))),
        ("no-end-no-pad", Ok(Some(MessageType::Discover))),
        ("msg-type-wrong-length", Ok(None)),
        ("truncated-option", Err(ParseError::OptionOverrun)),
        ("truncated-header", Err(ParseError::TooShort)),
        ("bad-cookie", Err(ParseError::BadCookie)),
        // RFC 951 BOOTREQUEST without the cookie, zero vendor area: parsed, no options.
        ("bootp-no-cookie", Ok(None)),
        ("hlen-17", Err(ParseError::BadHlen)),
        ("bad-overload-value", Err(ParseError::BadOverload)),
    ];
    for (name, want) in cases {
        let data = read(name)?;
        let got = Message::parse(&data).map(|m| m.message_type());
        assert_eq!(&got, want, "seed {name}");
    }
    let data = read("overload-both")?;
    let m = Message::parse(&data).map_err(|e| e.to_string())?;
    assert_eq!(m.hostname().as_deref(), Some(&b"abcdef"[..]));
    let data = read("relayed-request")?;
    let m = Message::parse(&data).map_err(|e| e.to_string())?;
    assert!(m.relay_agent_info().is_some());
    let data = read("split-long-vendor-class")?;
    let m = Message::parse(&data).map_err(|e| e.to_string())?;
    assert_eq!(m.vendor_class_id().map(|v| v.len()), Some(276));
    Ok(())
}

/// Boxed-error result without pulling anyhow into this crate's dev-dependencies.
mod anyhow_free {
    /// Test result carrying any error.
    pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;
}
