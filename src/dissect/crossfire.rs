//! CrossFire, Smilegate's online shooter, over UDP (Netify's `Crossfire`, 105).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as a fact
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): a 25-byte datagram starting `c7 d9 19 99 02 00` with `7d 00` at
//! offset 22. Eight fixed bytes at a fixed length name the flow alone. (nDPI also reads the
//! game's HTTP notice requests; HTTP is the HTTP dissector's.)

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const LEN: usize = 25;
const HEAD: [u8; 6] = [0xc7, 0xd9, 0x19, 0x99, 0x02, 0x00];
const AT_22: [u8; 2] = [0x7d, 0x00];

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct CrossfireDissector;

impl Dissector for CrossfireDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CROSSFIRE;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[HEAD[0]]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(p.len() == LEN && p.starts_with(&HEAD) && p[22..24] == AT_22)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    fn datagram() -> Vec<u8> {
        let mut p = HEAD.to_vec();
        p.resize(LEN, 0x31);
        p[22..24].copy_from_slice(&AT_22);
        p
    }

    #[test]
    fn the_datagram_is_crossfire() {
        assert_eq!(protocol::name_of(protocol::CROSSFIRE), "Crossfire");
        let f = udp([50000, 12060]);
        assert_eq!(run_one::<CrossfireDissector>(&f, &datagram()).0, Probe::Certain);
        truncations::<CrossfireDissector>(&f, &datagram());
    }

    #[test]
    fn near_misses_are_not_crossfire() {
        let f = udp([50000, 12060]);
        for at in [0, 3, 4, 22, 23] {
            let mut p = datagram();
            p[at] ^= 0x10;
            assert_eq!(run_one::<CrossfireDissector>(&f, &p).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<CrossfireDissector>(&f, &[&datagram()[..], &[0]].concat()).0, Probe::NotForUs);
        assert_eq!(run_one::<CrossfireDissector>(&tcp([50000, 12060]), &datagram()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..30)) {
            no_panic::<CrossfireDissector>(&udp([1, 2]), &[p]);
        }
    }
}
