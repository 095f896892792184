//! Raft consensus peer messages over TCP, as the canonical Raft library frames them (the
//! framing nDPI reads; Raft itself, Ongaro and Ousterhout 2014, defines the messages but no wire
//! format). The wire fact nDPI applies to every TCP flow (docs/ARCHITECTURE.md, "nDPI's
//! signatures are wire facts"): a message opens with a little-endian 64-bit type, 1 to 6 (append
//! entries, its result, request vote, its result, install snapshot, timeout now), and a
//! little-endian 64-bit length of the body that follows; a payload holding exactly one such
//! message (length = payload − 16) is Raft. A connection starts with the library's handshake
//! (protocol version 1, the server's ID, its address), which has the same first eight bytes but
//! no such length: it keeps Raft in the running and the next payload decides. nDPI also names a
//! flow Raft after three payloads that merely start with a valid type; flowsieve does not.
//! No port hint: cluster ports are configured per deployment.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// Message type and body length, 64 bits each.
const HEADER: usize = 16;
/// The message types, 1 to 6.
const TYPES: std::ops::RangeInclusive<u8> = 1..=6;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct RaftDissector;

/// A little-endian 64-bit value at `at`, when `p` holds it.
fn le_u64_at(p: &[u8], at: usize) -> Option<u64> {
    let low = le_u32_at(p, at)?;
    let high = le_u32_at(p, at + 4)?;
    Some(u64::from(high) << 32 | u64::from(low))
}

impl Dissector for RaftDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RAFT;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::range(1, 6);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        // The type's first byte is 1–6, its other seven bytes zero.
        let typed = p.first().is_some_and(|b| TYPES.contains(b)) && p.iter().skip(1).take(7).all(|&b| b == 0);
        if !typed {
            return Probe::NotForUs;
        }
        match le_u64_at(p, 8) {
            None => Probe::Unsure,
            Some(n) if u64::try_from(p.len() - HEADER).is_ok_and(|body| body == n) => Probe::Certain,
            Some(_) => Probe::Unsure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// raft.pcap, 127.0.0.1:38488 → 127.0.0.1:9001: the handshake (version 1, server 2, a
    /// 16-byte address) and the message after it (type 4, a 24-byte body).
    const HANDSHAKE: &str = "0100000000000000020000000000000010000000000000003132372e302e302e313a393030320000";
    const MESSAGE: &str = "04000000000000001800000000000000060000000000000001000000000000000100000000000000";

    #[test]
    fn a_whole_message_is_raft() {
        let f = tcp([38488, 9001]);
        assert_eq!(run_one::<RaftDissector>(&f, &hex(HANDSHAKE)).0, Probe::Unsure);
        assert_eq!(run_one::<RaftDissector>(&f, &hex(MESSAGE)).0, Probe::Certain);
        truncations::<RaftDissector>(&f, &hex(MESSAGE));
    }

    #[test]
    fn near_misses_are_not() {
        let f = tcp([38488, 9001]);
        let m = hex(MESSAGE);
        // Type 7, a non-zero high byte of the type, TCP only.
        for (at, value) in [(0, 7), (0, 0), (5, 1)] {
            let mut q = m.clone();
            q[at] = value;
            assert_eq!(run_one::<RaftDissector>(&f, &q).0, Probe::NotForUs, "byte {at} = {value}");
        }
        // A length that does not fit the payload keeps Raft unsure, never certain.
        assert_eq!(run_one::<RaftDissector>(&f, &m[..39]).0, Probe::Unsure);
        assert_eq!(run_one::<RaftDissector>(&udp([38488, 9001]), &m).0, Probe::NotForUs);
        assert_eq!(run_one::<RaftDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<RaftDissector>(&tcp([1, 9001]), &[p]);
        }
    }
}
