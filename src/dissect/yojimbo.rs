//! netcode.io, the secure UDP connection protocol of the Yojimbo game-networking library
//! (flowsieve-only ID with nDPI's name, `Yojimbo`).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as a fact
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): a datagram whose first byte is zero (netcode's connection request
//! packet type) followed by the text `NETCODE ` — the start of the version field netcode.io's
//! public specification (its `STANDARD.md`) puts there, `NETCODE 1.02` and a NUL. flowsieve
//! also wants the rest of that 13-byte field: four printable version characters and the NUL.

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const PREFIX: &[u8] = b"\0NETCODE ";
/// The packet-type byte and the 13-byte version field.
const VERSION_END: usize = 14;

fn request(p: &[u8]) -> bool {
    p.len() >= VERSION_END
        && p.starts_with(PREFIX)
        && p[PREFIX.len()..VERSION_END - 1].iter().all(u8::is_ascii_graphic)
        && p[VERSION_END - 1] == 0
}

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct YojimboDissector;

impl Dissector for YojimboDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::YOJIMBO;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(request(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A connection request: type 0, the version, a protocol ID, then the rest (1078 bytes).
    fn connection_request() -> Vec<u8> {
        let mut p = b"\0NETCODE 1.02\0".to_vec();
        p.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        p.resize(1078, 0x9d);
        p
    }

    #[test]
    fn a_connection_request_is_yojimbo() {
        assert_eq!(protocol::name_of(protocol::YOJIMBO), "Yojimbo");
        let f = udp([50000, 40000]);
        assert_eq!(run_one::<YojimboDissector>(&f, &connection_request()).0, Probe::Certain);
        truncations::<YojimboDissector>(&f, &connection_request());
    }

    #[test]
    fn near_misses_are_not_yojimbo() {
        let f = udp([50000, 40000]);
        let p = connection_request();
        // Another packet type, no NUL after the version, a control byte in it, too short, TCP.
        for (at, value) in [(0, 1), (13, b'3'), (11, 0x01)] {
            let mut q = p.clone();
            q[at] = value;
            assert_eq!(run_one::<YojimboDissector>(&f, &q).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<YojimboDissector>(&f, &p[..13]).0, Probe::NotForUs);
        assert_eq!(run_one::<YojimboDissector>(&tcp([50000, 40000]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..30)) {
            no_panic::<YojimboDissector>(&udp([1, 2]), &[p]);
        }
    }
}
