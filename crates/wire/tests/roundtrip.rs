//! Property tests: builder → parser round trips, and the parser never panics on any input.

use std::net::Ipv4Addr;

use hyperdhcp_wire::{
    MIN_MESSAGE_LEN, Message, MessageBuilder, MessageType, OPTIONS_OFFSET, code, fuzz_exercise,
};
use proptest::prelude::*;

/// Any option code that carries a length byte and is not interpreted by parse itself.
fn option_code() -> impl Strategy<Value = u8> {
    (1u8..=254).prop_filter("overload is structural", |c| *c != code::OVERLOAD)
}

fn options() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    prop::collection::vec(
        (
            option_code(),
            prop_oneof![
                3 => prop::collection::vec(any::<u8>(), 0..20),
                1 => prop::collection::vec(any::<u8>(), 250..700),
            ],
        ),
        0..20,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn build_then_parse_round_trips(
        t in prop::sample::select(MessageType::ALL.to_vec()),
        xid in any::<u32>(), secs in any::<u16>(), flags in any::<u16>(), hops in any::<u8>(),
        addrs in any::<[u32; 4]>(),
        chaddr in prop::collection::vec(any::<u8>(), 0..=16),
        sname in prop::collection::vec(any::<u8>(), 0..64),
        file in prop::collection::vec(any::<u8>(), 0..128),
        opts in options(),
    ) {
        let [ci, yi, si, gi] = addrs.map(Ipv4Addr::from);
        let mut b = MessageBuilder::request(t, xid, &chaddr);
        b.set_secs(secs).set_flags(flags).set_hops(hops).set_ciaddr(ci).set_yiaddr(yi)
            .set_siaddr(si).set_giaddr(gi).set_sname(&sname).set_file(&file);
        for (c, v) in &opts {
            b.option(*c, v);
        }
        let predicted = b.encoded_len();
        let bytes = b.finish();
        prop_assert_eq!(bytes.len(), predicted);
        prop_assert!(bytes.len() >= MIN_MESSAGE_LEN);
        let m = Message::parse(&bytes).unwrap();
        prop_assert_eq!((m.xid(), m.secs(), m.flags(), m.hops()), (xid, secs, flags, hops));
        prop_assert_eq!([m.ciaddr(), m.yiaddr(), m.siaddr(), m.giaddr()], [ci, yi, si, gi]);
        prop_assert_eq!(m.chaddr(), &chaddr[..]);
        prop_assert_eq!(&m.sname()[..sname.len()], &sname[..]);
        prop_assert_eq!(&m.file()[..file.len()], &file[..]);
        // RFC 3396: all instances of a code, joined in order, equal the values given.
        for (c, _) in &opts {
            let want: Vec<u8> = opts.iter().filter(|(k, _)| k == c).flat_map(|(_, v)| v.clone()).collect();
            let want = if *c == code::MESSAGE_TYPE {
                [&[t as u8][..], &want].concat()
            } else {
                want
            };
            prop_assert_eq!(m.option(*c).map(|v| v.into_owned()), Some(want), "option {}", c);
        }
        if !opts.iter().any(|(c, _)| *c == code::MESSAGE_TYPE) {
            prop_assert_eq!(m.message_type(), Some(t));
        }
        fuzz_exercise(&bytes);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..700)) {
        fuzz_exercise(&data);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_options(opts in prop::collection::vec(any::<u8>(), 0..400),
                                               overload in 0u8..=4, fields in prop::collection::vec(any::<u8>(), 192)) {
        // A valid header and cookie followed by random option bytes: exercises the option walk.
        let mut b = MessageBuilder::request(MessageType::Discover, 1, &[1, 2, 3, 4, 5, 6]);
        b.set_sname(&fields[..64]).set_file(&fields[64..]);
        let mut bytes = b.finish();
        bytes.truncate(OPTIONS_OFFSET);
        if overload > 0 {
            bytes.extend([code::OVERLOAD, 1, overload]);
        }
        bytes.extend(&opts);
        fuzz_exercise(&bytes);
    }

    #[test]
    fn parse_never_panics_on_mutated_valid_packets(
        opts in options(),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut b = MessageBuilder::request(MessageType::Request, 7, &[2, 0, 0, 0, 0, 1]);
        for (c, v) in &opts {
            b.option(*c, v);
        }
        let mut bytes = b.finish();
        for (i, v) in &mutations {
            let i = i.index(bytes.len());
            bytes[i] = *v;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        fuzz_exercise(&bytes);
    }
}
