//! The UDP game traffic of NetEase's games (Lost Light, Badlanders, Naraka: Bladepoint), which
//! nDPI names `NetEaseGames` (flowsieve-only ID, nDPI's name; application `netify.netease`).
//!
//! Wire facts (the signatures nDPI applies to all UDP traffic, read from its source as facts
//! about the protocol; this is flowsieve's own code):
//!
//! - the client's 12-byte hello, common to those games: byte 0 is 1, bytes 2–3 are 0x01d0
//!   (little-endian), bytes 8–11 are `00 01 01 01`;
//! - Lost Light's datagrams, at least 30 bytes, open with `b3 af 8d e8`;
//! - Naraka: Bladepoint's, more than 30 bytes, open with `07 08 08 0c`.
//!
//! nDPI names a flow on any one of them. The hello names the flow when the flow's initiator
//! sends it; a four-byte magic, plainer, only shortlists the flow (it stays unnamed), which the
//! parse names when the other side's datagram carries the same magic within the flow's first
//! four datagrams, as both games' servers answer.

use super::answered::Answered;
use super::reader::{be_u32_at, le_u32_at};
use super::{protocol, Direction, Dissector, FirstBytes, Parsed, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const HELLO_LEN: usize = 12;
/// (magic, the shortest datagram that carries it).
const MAGICS: [(u32, usize); 2] = [(0xb3af_8de8, 30), (0x0708_080c, 31)];
/// Datagrams within which the other side's magic must come, the first included.
const WITHIN: u8 = 4;

/// The magic of the first datagram, once read.
#[derive(Debug, Default)]
pub struct NeteaseGamesDissector(Answered);

fn hello(segment: &Segment<'_>) -> bool {
    let p = segment.payload;
    segment.direction == Direction::Forward
        && p.len() == HELLO_LEN
        && p.first() == Some(&1)
        && p.get(2..4) == Some(&[0xd0, 0x01][..])
        && le_u32_at(p, 8) == Some(0x0101_0100)
}

fn magic(p: &[u8]) -> Option<u32> {
    let word = be_u32_at(p, 0)?;
    MAGICS.iter().find(|&&(m, min)| m == word && p.len() >= min).map(|&(m, _)| m)
}

impl Dissector for NeteaseGamesDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NETEASE_GAMES;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x01, 0xb3, 0x07]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(hello(segment) || magic(segment.payload).is_some())
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if hello(segment) {
            facts.protocol = protocol::NETEASE_GAMES;
            return Parsed::Done;
        }
        let answers = |first, p: &[u8]| magic(p) == Some(first);
        self.0.parse(segment, facts, (protocol::NETEASE_GAMES, WITHIN), magic, answers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::{FlowInfo, Skip};
    use proptest::prelude::*;

    /// netease_games.pcapng, 192.168.88.231:56588 → 35.246.207.19:4513: the hello.
    const HELLO: &str = "01b5d001112a3d0300010101";
    /// 192.168.88.231:41040 ↔ 35.228.32.209:4170 (Lost Light): both sides' first datagrams.
    const LOST_LIGHT_C: &str = "b3af8de8ff007257355c5c6e6663716a492f545a6763747455537a69422b";
    const LOST_LIGHT_S: &str = "b3af8de8ff000328c2069a1fe90cf50601008c3c14ec43f579faae16f601";
    /// 192.168.88.231:58951 ↔ 34.141.75.90:28203 (Naraka): the client's third datagram (34
    /// bytes) and the start of the server's first.
    const NARAKA_C: &str = "0708080cbe7cb50a00007e04000000010002c622830b6d28c067ccae2c3b84047df4";
    const NARAKA_S: &str = "0708080ce8ed83450000000100007e040001033ca7378be780c0a599c15882ea1591b455915838e4689431a8";

    #[test]
    fn the_hello_names_the_flow() {
        let f = udp([56588, 4513]);
        let (probe, parsed, facts) = run_one::<NeteaseGamesDissector>(&f, &hex(HELLO));
        assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Done, protocol::NETEASE_GAMES));
        truncations::<NeteaseGamesDissector>(&f, &hex(HELLO));
    }

    #[test]
    fn a_magic_both_ways_names_the_flow() {
        let f = udp([41040, 4170]);
        for (c, s) in [(LOST_LIGHT_C, LOST_LIGHT_S), (NARAKA_C, NARAKA_S)] {
            assert_eq!(run_one::<NeteaseGamesDissector>(&f, &hex(c)).0, Probe::Certain);
            let one = [(Direction::Forward, hex(c))];
            assert_eq!(
                parse_each::<NeteaseGamesDissector>(&f, &one),
                (Parsed::Continue, protocol::UNKNOWN),
                "shortlisted, unnamed"
            );
            let both = [(Direction::Forward, hex(c)), (Direction::Reverse, hex(s))];
            assert_eq!(parse_each::<NeteaseGamesDissector>(&f, &both).1, protocol::NETEASE_GAMES);
        }
    }

    #[test]
    fn near_misses_are_not_netease() {
        let f = udp([56588, 4513]);
        let probe = |flow: &FlowInfo, direction, p: &[u8]| {
            NeteaseGamesDissector::probe_flow(flow, &segment(flow, direction, 0, p))
        };
        // The hello from the server, a byte longer, with another trailer.
        assert_eq!(probe(&f, Direction::Reverse, &hex(HELLO)), Probe::NotForUs);
        assert_eq!(probe(&f, Direction::Forward, &[&hex(HELLO)[..], &[1]].concat()), Probe::NotForUs);
        assert_eq!(probe(&f, Direction::Forward, &hex("01b5d001112a3d0300010102")), Probe::NotForUs);
        // A magic in a datagram too short, the server answering with the other game's magic.
        assert_eq!(probe(&f, Direction::Forward, &hex(NARAKA_C)[..30]), Probe::NotForUs);
        let mixed = [(Direction::Forward, hex(LOST_LIGHT_C)), (Direction::Reverse, hex(NARAKA_S))];
        assert_eq!(
            parse_each::<NeteaseGamesDissector>(&f, &mixed),
            (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN)
        );
        let silent = vec![(Direction::Forward, hex(LOST_LIGHT_C)); 4];
        assert_eq!(parse_each::<NeteaseGamesDissector>(&f, &silent).0, Parsed::Skipped(Skip::Unconfirmed));
        assert_eq!(probe(&tcp([56588, 4513]), Direction::Forward, &hex(HELLO)), Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<NeteaseGamesDissector>(&udp([1, 2]), &[p.clone(), p]);
        }
    }
}
