//! [`fuzz_exercise`]: the "touch everything" routine shared by the fuzz target and corpus test.

use crate::builder::MessageBuilder;
use crate::code;
use crate::encoding::decode_domain_search;
use crate::message::Message;
use crate::message_type::MessageType;

/// Parses `data`; when it parses, calls every accessor, re-encodes the message with
/// [`MessageBuilder`] and checks the re-parsed copy has the same header and option values.
///
/// Panics (via `assert!`) only when an invariant of this crate is broken — that is what the
/// fuzzer looks for. Not part of the stable API.
#[allow(clippy::panic)] // Panicking on a broken invariant is this function's purpose.
pub fn fuzz_exercise(data: &[u8]) {
    let Ok(msg) = Message::parse(data) else {
        return;
    };
    let _ = format!("{msg:?}");
    let _ = (
        msg.op(),
        msg.htype(),
        msg.hops(),
        msg.secs(),
        msg.broadcast(),
    );
    let _ = (msg.ciaddr(), msg.yiaddr(), msg.siaddr(), msg.giaddr());
    let _ = (msg.sname(), msg.file(), msg.as_bytes(), msg.overload());
    let _ = (
        msg.message_type(),
        msg.subnet_mask(),
        msg.routers(),
        msg.dns_servers(),
    );
    let _ = (msg.hostname(), msg.domain_name(), msg.broadcast_address());
    let _ = (
        msg.ntp_servers(),
        msg.requested_ip(),
        msg.lease_time(),
        msg.server_id(),
    );
    let _ = (
        msg.parameter_request_list(),
        msg.max_message_size(),
        msg.renewal_time(),
    );
    let _ = (msg.rebinding_time(), msg.vendor_class_id(), msg.client_id());
    let _ = (msg.relay_agent_info(), msg.classless_routes());
    if let Some(v) = msg.domain_search() {
        let _ = decode_domain_search(&v);
    }
    assert!(msg.chaddr().len() == usize::from(msg.hlen()));

    // Re-encode. Option 52 and the overloaded fields are dropped: their options are moved
    // into the options field by the loop below.
    let mut b2 = MessageBuilder::reply(&msg, MessageType::Ack);
    b2.option(code::SERVER_ID, &[198, 18, 0, 1]);
    let reply = b2.finish();
    assert!(Message::parse(&reply).is_ok());

    let mut fresh = rebuild_header(
        MessageBuilder::request(MessageType::Discover, msg.xid(), msg.chaddr()),
        &msg,
    );
    let mut codes: Vec<u8> = Vec::new();
    for (c, v) in msg.raw_options() {
        if c != code::OVERLOAD {
            fresh.option(c, v);
            codes.push(c);
        }
    }
    let predicted = fresh.encoded_len();
    let bytes = fresh.finish();
    assert!(
        bytes.len() == predicted,
        "encoded_len disagrees with finish"
    );
    let again = match Message::parse(&bytes) {
        Ok(m) => m,
        Err(e) => panic!("re-encoded message does not parse: {e}"),
    };
    assert!(again.xid() == msg.xid() && again.chaddr() == msg.chaddr());
    assert!(again.flags() == msg.flags() && again.giaddr() == msg.giaddr());
    for c in codes {
        if c == code::MESSAGE_TYPE {
            // `fresh` carries its own option 53 first, then the original instances.
            continue;
        }
        assert!(
            again.option(c) == msg.option(c),
            "option {c} differs after re-encode"
        );
    }
}

/// Copies every header field except options from `msg` into `b`.
fn rebuild_header(mut b: MessageBuilder, msg: &Message<'_>) -> MessageBuilder {
    b.set_op(msg.op())
        .set_htype(msg.htype())
        .set_hlen(msg.hlen())
        .set_hops(msg.hops())
        .set_secs(msg.secs())
        .set_flags(msg.flags())
        .set_ciaddr(msg.ciaddr())
        .set_yiaddr(msg.yiaddr())
        .set_siaddr(msg.siaddr())
        .set_giaddr(msg.giaddr());
    if msg.overload() == 0 {
        b.set_sname(msg.sname()).set_file(msg.file());
    }
    b
}
