//! Half-Life 2 (and its mods') game server handshake over UDP, which nDPI names `HalfLife2`
//! (Netify's 75).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as a fact
//! about the protocol; this is flowsieve's own code): a datagram of at least 20 bytes in the
//! connectionless framing of Valve's engines (the 32-bit header `ff ff ff ff`) that ends with
//! `30 30 30 00` (the text `000` and its NUL), answered by the other side with a datagram of
//! the same form. As in nDPI, the first such datagram only shortlists the flow (it stays
//! unnamed) and the answer names it; any other next datagram the other way gives it up.

use super::answered::Answered;
use super::{protocol, Dissector, FirstBytes, Parsed, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const HEADER: [u8; 4] = [0xff; 4];
const TRAILER: [u8; 4] = *b"000\0";
const MIN_LEN: usize = 20;

/// The first datagram, once read.
#[derive(Debug, Default)]
pub struct HalfLife2Dissector(Answered);

/// The answer is the flow's second datagram (nDPI's rule).
const WITHIN: u8 = 2;

fn handshake(p: &[u8]) -> bool {
    p.len() >= MIN_LEN && p.starts_with(&HEADER) && p.ends_with(&TRAILER)
}

impl Dissector for HalfLife2Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::HALF_LIFE2;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0xff]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(handshake(segment.payload))
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let first = |p: &[u8]| handshake(p).then_some(0);
        self.0.parse(segment, facts, (protocol::HALF_LIFE2, WITHIN), first, |_, p| handshake(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::{Direction, Skip};
    use proptest::prelude::*;

    /// The 20-byte request and its answer in nDPI's `ossfuzz_seed_fake_traces_1.pcapng`.
    const REQUEST: &str = "ffffffff00000000000000000000000030303000";

    #[test]
    fn the_answered_handshake_names_the_flow() {
        let f = udp([1, 2]);
        assert_eq!(run_one::<HalfLife2Dissector>(&f, &hex(REQUEST)).0, Probe::Certain);
        let one = [(Direction::Forward, hex(REQUEST))];
        assert_eq!(
            parse_each::<HalfLife2Dissector>(&f, &one),
            (Parsed::Continue, protocol::UNKNOWN),
            "shortlisted, unnamed"
        );
        let both = [(Direction::Forward, hex(REQUEST)), (Direction::Reverse, hex(REQUEST))];
        assert_eq!(parse_each::<HalfLife2Dissector>(&f, &both).1, protocol::HALF_LIFE2);
        truncations::<HalfLife2Dissector>(&f, &hex(REQUEST));
    }

    #[test]
    fn near_misses_are_not_half_life_2() {
        let f = udp([1, 2]);
        // 19 bytes, another trailer, a Source engine info query.
        assert_eq!(run_one::<HalfLife2Dissector>(&f, &hex(REQUEST)[1..]).0, Probe::NotForUs);
        assert_eq!(
            run_one::<HalfLife2Dissector>(&f, &hex("ffffffff00000000000000000000000030303030")).0,
            Probe::NotForUs
        );
        assert_eq!(run_one::<HalfLife2Dissector>(&f, b"\xff\xff\xff\xffTSource Engine Query\x00").0, Probe::NotForUs);
        // The same side twice, an answer of another form.
        let twice = [(Direction::Forward, hex(REQUEST)), (Direction::Forward, hex(REQUEST))];
        assert_eq!(parse_each::<HalfLife2Dissector>(&f, &twice).0, Parsed::Skipped(Skip::Unconfirmed));
        let other = [(Direction::Forward, hex(REQUEST)), (Direction::Reverse, vec![0xff; 20])];
        assert_eq!(
            parse_each::<HalfLife2Dissector>(&f, &other),
            (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN)
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..30)) {
            no_panic::<HalfLife2Dissector>(&udp([1, 2]), &[p.clone(), p]);
        }
    }
}
