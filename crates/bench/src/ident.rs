//! Client identities: the MAC address of each simulated client and the xid of each exchange.
//!
//! A client is a plain index `0..clients`. Its MAC is derived from that index and the
//! `--mac-seed`, and every exchange's xid carries the index in its low bits, so a reply is
//! matched to its client with a shift and a mask instead of a hash map.

/// Number of xid bits that hold the client index; the upper bits hold a per-client sequence.
pub const CLIENT_INDEX_BITS: u32 = 24;

/// Largest number of distinct clients one run can simulate (2^24).
pub const MAX_CLIENTS: u32 = 1 << CLIENT_INDEX_BITS;

/// Mask selecting the client index from an xid.
const CLIENT_INDEX_MASK: u32 = MAX_CLIENTS - 1;

/// First octet of every generated MAC: locally administered (bit 1), unicast (bit 0 clear).
pub const MAC_PREFIX: u8 = 0x02;

/// Length of an Ethernet hardware address.
pub const MAC_LEN: usize = 6;

/// The MAC address of client `index`: `02:SS:II:II:II:II` where `SS` is the seed and the last
/// four octets are the index, big endian. Distinct indexes give distinct MACs for one seed.
pub fn client_mac(seed: u8, index: u32) -> [u8; MAC_LEN] {
    let i = index.to_be_bytes();
    [MAC_PREFIX, seed, i[0], i[1], i[2], i[3]]
}

/// Formats a MAC as `aa:bb:cc:dd:ee:ff` (lower case), the form written to the ACK log.
pub fn format_mac(mac: &[u8]) -> String {
    let mut out = String::with_capacity(mac.len() * 3);
    for (n, b) in mac.iter().enumerate() {
        if n > 0 {
            out.push(':');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The xid of exchange number `seq` (wrapping, 8 bits kept) of client `index`.
///
/// Distinct consecutive exchanges of one client get distinct xids, so a late reply to an
/// exchange that already timed out is recognised as stale instead of completing a newer one.
pub fn make_xid(index: u32, seq: u8) -> u32 {
    (u32::from(seq) << CLIENT_INDEX_BITS) | (index & CLIENT_INDEX_MASK)
}

/// The client index an xid belongs to, or `None` when it is outside `0..clients` (a reply
/// that is not ours).
pub fn xid_client(xid: u32, clients: u32) -> Option<u32> {
    let index = xid & CLIENT_INDEX_MASK;
    (index < clients).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn macs_are_distinct_locally_administered_unicast() {
        let macs: HashSet<[u8; 6]> = (0..10_000).map(|i| client_mac(7, i)).collect();
        assert_eq!(macs.len(), 10_000);
        for m in &macs {
            assert_eq!(m[0] & 0x01, 0, "unicast");
            assert_eq!(m[0] & 0x02, 0x02, "locally administered");
            assert_eq!(m[1], 7, "seed octet");
        }
        assert_eq!(client_mac(0xab, 0x0102_0304), [0x02, 0xab, 1, 2, 3, 4]);
        assert_ne!(client_mac(1, 5), client_mac(2, 5), "seed changes the MAC");
    }

    #[test]
    fn mac_formatting() {
        assert_eq!(
            format_mac(&client_mac(0xab, 0x0102_03ff)),
            "02:ab:01:02:03:ff"
        );
    }

    #[test]
    fn xid_round_trips_to_client_index() {
        for (index, seq) in [(0u32, 0u8), (1, 1), (12_345, 200), (MAX_CLIENTS - 1, 255)] {
            let xid = make_xid(index, seq);
            assert_eq!(xid_client(xid, MAX_CLIENTS), Some(index));
            assert_eq!(xid >> CLIENT_INDEX_BITS, u32::from(seq));
        }
    }

    #[test]
    fn xid_outside_client_range_is_rejected() {
        assert_eq!(xid_client(make_xid(100, 3), 100), None);
        assert_eq!(xid_client(make_xid(99, 3), 100), Some(99));
        assert_eq!(xid_client(0xdead_beef, 10), None);
    }

    #[test]
    fn consecutive_exchanges_of_one_client_differ() {
        assert_ne!(make_xid(42, 0), make_xid(42, 1));
        assert_eq!(make_xid(42, 0), make_xid(42, 0u8.wrapping_add(0)));
    }
}
