//! World of Kung Fu, an online game, over TCP (Netify's `WoKungFu`, 117; nDPI's
//! `WorldOfKungFu`).
//!
//! Wire facts (the signature nDPI applies to all TCP traffic, read from its source as a fact
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): a 16-byte payload starting `0c 00 00 00` (a little-endian length,
//! 12, of the rest) then `d2 00 0c 00`, with `16` at offset 9 and zeros at offsets 10, 11, 14
//! and 15. Eleven fixed bytes and a length that agrees name the flow alone.

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const LEN: usize = 16;
const HEAD: [u8; 8] = [0x0c, 0, 0, 0, 0xd2, 0x00, 0x0c, 0x00];

fn message(p: &[u8]) -> bool {
    p.len() == LEN && p.starts_with(&HEAD) && p[9..12] == [0x16, 0, 0] && p[14..16] == [0, 0]
}

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct WoKungFuDissector;

impl Dissector for WoKungFuDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::WOKUNGFU;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[HEAD[0]]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(message(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    fn msg() -> Vec<u8> {
        [&HEAD[..], &[0x07, 0x16, 0, 0, 0x21, 0x43, 0, 0]].concat()
    }

    #[test]
    fn the_message_is_world_of_kung_fu() {
        assert_eq!(protocol::name_of(protocol::WOKUNGFU), "WoKungFu");
        let f = tcp([50000, 7000]);
        assert_eq!(run_one::<WoKungFuDissector>(&f, &msg()).0, Probe::Certain);
        truncations::<WoKungFuDissector>(&f, &msg());
    }

    #[test]
    fn near_misses_are_not_world_of_kung_fu() {
        let f = tcp([50000, 7000]);
        for at in [0, 4, 6, 9, 10, 15] {
            let mut p = msg();
            p[at] ^= 0x01;
            assert_eq!(run_one::<WoKungFuDissector>(&f, &p).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<WoKungFuDissector>(&f, &[&msg()[..], &[0]].concat()).0, Probe::NotForUs);
        assert_eq!(run_one::<WoKungFuDissector>(&udp([50000, 7000]), &msg()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<WoKungFuDissector>(&tcp([1, 2]), &[p]);
        }
    }
}
