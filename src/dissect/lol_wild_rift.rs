//! League of Legends: Wild Rift, Riot Games' mobile game, over UDP (flowsieve-only ID with
//! nDPI's name, `LoLWildRift`).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as facts
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code):
//!
//! - a 22-byte datagram starting `01 02 c8 41` and ending with the text `A0B1` names the flow;
//! - a 69-byte datagram starting `04 00 00 00` followed, as the flow's very next datagram, by
//!   a 359-byte one starting `10 00 00 00` names it too. The first alone is a short magic: it
//!   only shortlists the flow.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

fn hello(p: &[u8]) -> bool {
    p.len() == 22 && be_u32_at(p, 0) == Some(0x0102_c841) && p.ends_with(b"A0B1")
}

fn opening(p: &[u8]) -> bool {
    p.len() == 69 && be_u32_at(p, 0) == Some(0x0400_0000)
}

fn follow_up(p: &[u8]) -> bool {
    p.len() == 359 && be_u32_at(p, 0) == Some(0x1000_0000)
}

/// Whether the 69-byte opening was the last datagram.
#[derive(Debug, Default)]
pub struct LolWildRiftDissector {
    opened: bool,
}

impl Dissector for LolWildRiftDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::LOL_WILD_RIFT;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x01, 0x04]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(hello(p) || opening(p))
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        let opened = std::mem::take(&mut self.opened);
        if hello(p) || (opened && follow_up(p)) {
            facts.protocol = protocol::LOL_WILD_RIFT;
            return Parsed::Done;
        }
        if !opened && opening(p) {
            self.opened = true;
            return Parsed::Continue;
        }
        Parsed::Skipped(Skip::Unconfirmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    fn datagram(head: [u8; 4], len: usize) -> Vec<u8> {
        let mut p = head.to_vec();
        p.resize(len, 0x27);
        p
    }

    fn hello_msg() -> Vec<u8> {
        let mut p = datagram([0x01, 0x02, 0xc8, 0x41], 22);
        p[18..].copy_from_slice(b"A0B1");
        p
    }

    #[test]
    fn the_hello_or_the_two_datagrams_name_the_flow() {
        assert_eq!(protocol::name_of(protocol::LOL_WILD_RIFT), "LoLWildRift");
        let f = udp([50000, 5100]);
        let (probe, parsed, facts) = run_one::<LolWildRiftDissector>(&f, &hello_msg());
        assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Done, protocol::LOL_WILD_RIFT));
        truncations::<LolWildRiftDissector>(&f, &hello_msg());
        let open = datagram([4, 0, 0, 0], 69);
        let (probe, parsed, facts) = run_one::<LolWildRiftDissector>(&f, &open);
        assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Continue, protocol::UNKNOWN));
        let two = [(Direction::Forward, open.clone()), (Direction::Reverse, datagram([0x10, 0, 0, 0], 359))];
        assert_eq!(parse_each::<LolWildRiftDissector>(&f, &two), (Parsed::Done, protocol::LOL_WILD_RIFT));
    }

    #[test]
    fn near_misses_are_not_wild_rift() {
        let f = udp([50000, 5100]);
        let mut other_tail = hello_msg();
        other_tail[21] = b'2';
        for p in [other_tail, datagram([4, 0, 0, 0], 68), datagram([4, 0, 0, 1], 69), hello_msg()[..21].to_vec()] {
            assert_eq!(run_one::<LolWildRiftDissector>(&f, &p).0, Probe::NotForUs, "{p:02x?}");
        }
        assert_eq!(run_one::<LolWildRiftDissector>(&tcp([50000, 5100]), &hello_msg()).0, Probe::NotForUs);
        // The follow-up of another length, or after another datagram.
        let open = datagram([4, 0, 0, 0], 69);
        for later in [vec![datagram([0x10, 0, 0, 0], 358)], vec![vec![1; 30], datagram([0x10, 0, 0, 0], 359)]] {
            let mut run = vec![(Direction::Forward, open.clone())];
            run.extend(later.into_iter().map(|p| (Direction::Reverse, p)));
            assert_eq!(
                parse_each::<LolWildRiftDissector>(&f, &run),
                (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN)
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<LolWildRiftDissector>(&udp([1, 2]), &[p.clone(), p]);
        }
    }
}
