//! MapleStory, Nexon's online game, over TCP (Netify's `MapleStory`, 113).
//!
//! Wire facts (the signature nDPI applies to all TCP traffic, read from its source as a fact
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): the server's 16-byte handshake, starting with the bytes
//! `0e 00` (a little-endian length, 14, of the rest), a client version of `3a 00`, `3b 00` or
//! `42 00` (58, 59 or 66), `01 00` (a one-character patch string) and that character, `2` or
//! `3`. That is seven fixed bytes and a length that agrees, at a fixed length: it names the flow
//! alone. (nDPI also reads the patcher's HTTP requests; HTTP is the HTTP dissector's.)

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const LEN: usize = 16;
/// The versions nDPI lists, as their first byte (the second is zero).
const VERSIONS: [u8; 3] = [0x3a, 0x3b, 0x42];

fn handshake(p: &[u8]) -> bool {
    p.len() == LEN
        && p[..2] == [0x0e, 0x00]
        && VERSIONS.contains(&p[2])
        && p[3..6] == [0x00, 0x01, 0x00]
        && matches!(p[6], b'2' | b'3')
}

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct MapleStoryDissector;

impl Dissector for MapleStoryDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MAPLESTORY;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x0e]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(handshake(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// The handshake of version `v`, patch `patch`, then the two IVs and a locale.
    fn hello(v: u8, patch: u8) -> Vec<u8> {
        [&[0x0e, 0x00, v, 0x00, 0x01, 0x00, patch][..], &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x08]]
            .concat()
    }

    #[test]
    fn the_handshake_is_maplestory() {
        assert_eq!(protocol::name_of(protocol::MAPLESTORY), "MapleStory");
        let f = tcp([8484, 50000]);
        for v in VERSIONS {
            for patch in [b'2', b'3'] {
                assert_eq!(run_one::<MapleStoryDissector>(&f, &hello(v, patch)).0, Probe::Certain);
            }
        }
        truncations::<MapleStoryDissector>(&f, &hello(0x3a, b'2'));
    }

    #[test]
    fn near_misses_are_not_maplestory() {
        let f = tcp([8484, 50000]);
        for p in [
            hello(0x3c, b'2'),
            hello(0x3a, b'4'),
            hello(0x3a, b'2')[..15].to_vec(),
            [&hello(0x3a, b'2')[..], &[0]].concat(),
        ] {
            assert_eq!(run_one::<MapleStoryDissector>(&f, &p).0, Probe::NotForUs, "{p:02x?}");
        }
        assert_eq!(run_one::<MapleStoryDissector>(&udp([8484, 50000]), &hello(0x3a, b'2')).0, Probe::NotForUs);
        assert_eq!(run_one::<MapleStoryDissector>(&f, b"GET /maple HTTP/1.1\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<MapleStoryDissector>(&tcp([1, 2]), &[p]);
        }
    }
}
