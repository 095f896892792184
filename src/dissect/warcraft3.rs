//! Warcraft III's game protocol and the Battle.net messages around it, over TCP or UDP
//! (Netify's `Warcraft3`, 116).
//!
//! Wire facts (the signature nDPI applies to all TCP and UDP traffic, read from its source as a
//! fact about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): every message has a 4-byte header, a class byte (`0xf7` for the game
//! protocol, `0xff` for Battle.net's chat-server protocol), a message ID and a 16-bit
//! little-endian length of the whole message, header included, as BNETDocs' public protocol
//! documentation describes both; a payload is whole messages back to back: the first of
//! either class, the next ones game messages (`0xf7`) of at most 1,500 bytes. A connection to
//! Battle.net may open with a lone protocol-selector byte, `0x01`. nDPI names a flow once its
//! third payload frames so. Here a framed payload shortlists the flow (a lone `0x01` leaves it
//! open), and the flow is named once a second framed payload comes from the other side, or a
//! third from either; a payload that does not frame gives it up. Lengths shorter than the
//! header are refused (nDPI lets a first length of 3 or less through).

use super::reader::le_u32_at;
use super::{protocol, Direction, Dissector, FirstBytes, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

const HEADER: usize = 4;
const GAME: u8 = 0xf7;
const BATTLE_NET: u8 = 0xff;
/// The Battle.net protocol selector a connection may open with.
const SELECTOR: &[u8] = &[0x01];
/// The longest game message nDPI walks over after the first.
const MAX_NEXT: usize = 1500;

/// The length field of the message at `at`, if a header is there.
fn length_at(p: &[u8], at: usize) -> Option<usize> {
    le_u32_at(p, at).map(|h| (h >> 16) as usize)
}

/// Whether `p` is whole messages: the first of either class, then game messages.
fn framed(p: &[u8]) -> bool {
    let Some(first) = length_at(p, 0) else { return false };
    if !matches!(p[0], GAME | BATTLE_NET) || first < HEADER {
        return false;
    }
    let mut at = first;
    while at < p.len() {
        match length_at(p, at) {
            Some(len) if p[at] == GAME && (HEADER..=MAX_NEXT).contains(&len) => at += len,
            _ => return false,
        }
    }
    at == p.len()
}

/// Framed payloads seen, and from which sides.
#[derive(Debug, Default)]
pub struct Warcraft3Dissector {
    framed: u8,
    sides: [bool; 2],
}

impl Dissector for Warcraft3Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::WARCRAFT3;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[GAME, BATTLE_NET, 0x01]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if framed(p) {
            Probe::Certain
        } else if p == SELECTOR {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if !framed(segment.payload) {
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        self.framed = self.framed.saturating_add(1);
        self.sides[segment.direction.index()] = true;
        let both = self.sides[Direction::Forward.index()] && self.sides[Direction::Reverse.index()];
        if self.framed >= 3 || both {
            facts.protocol = protocol::WARCRAFT3;
            return Parsed::Done;
        }
        Parsed::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A message of `class`, ID `id` and `body`, its length in the header.
    fn message(class: u8, id: u8, body: &[u8]) -> Vec<u8> {
        let len = (HEADER + body.len()) as u16;
        [&[class, id][..], &len.to_le_bytes(), body].concat()
    }

    #[test]
    fn framed_payloads_from_both_sides_name_the_flow() {
        assert_eq!(protocol::name_of(protocol::WARCRAFT3), "Warcraft3");
        // A join request, the host's answer; a Battle.net ping; two game messages in one.
        let join = message(GAME, 0x1e, &[0x11; 21]);
        let slots = message(GAME, 0x04, &[0x22; 40]);
        let ping = message(BATTLE_NET, 0x25, &[1, 2, 3, 4]);
        let both = [message(BATTLE_NET, 0x0a, &[0; 8]), message(GAME, 0x01, &[7; 4])].concat();
        for f in [tcp([50000, 6112]), udp([6112, 6112])] {
            for p in [&join, &slots, &ping, &both] {
                let (probe, parsed, facts) = run_one::<Warcraft3Dissector>(&f, p);
                assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Continue, protocol::UNKNOWN));
                truncations::<Warcraft3Dissector>(&f, p);
            }
            let answered = [(Direction::Forward, join.clone()), (Direction::Reverse, slots.clone())];
            assert_eq!(parse_each::<Warcraft3Dissector>(&f, &answered), (Parsed::Done, protocol::WARCRAFT3));
            let one_way = [(Direction::Forward, join.clone()), (Direction::Forward, both.clone())];
            assert_eq!(parse_each::<Warcraft3Dissector>(&f, &one_way), (Parsed::Continue, protocol::UNKNOWN));
            let three = [one_way[0].clone(), one_way[1].clone(), (Direction::Forward, ping.clone())];
            assert_eq!(parse_each::<Warcraft3Dissector>(&f, &three), (Parsed::Done, protocol::WARCRAFT3));
        }
        assert_eq!(run_one::<Warcraft3Dissector>(&tcp([50000, 6112]), SELECTOR).0, Probe::Unsure);
    }

    #[test]
    fn payloads_that_do_not_frame_are_not_warcraft3() {
        let f = tcp([50000, 6112]);
        let join = message(GAME, 0x1e, &[0x11; 21]);
        // One byte more or less than the length says, a header claiming 3 bytes, a second
        // message of the chat class, another first byte.
        assert_eq!(run_one::<Warcraft3Dissector>(&f, &join[..join.len() - 1]).0, Probe::NotForUs);
        assert_eq!(run_one::<Warcraft3Dissector>(&f, &[&join[..], &[0]].concat()).0, Probe::NotForUs);
        assert_eq!(run_one::<Warcraft3Dissector>(&f, &[GAME, 1, 3, 0]).0, Probe::NotForUs);
        let chat_next = [message(GAME, 1, &[1; 4]), message(BATTLE_NET, 1, &[1; 4])].concat();
        assert_eq!(run_one::<Warcraft3Dissector>(&f, &chat_next).0, Probe::NotForUs);
        let mut other = join.clone();
        other[0] = 0xf6;
        assert_eq!(run_one::<Warcraft3Dissector>(&f, &other).0, Probe::NotForUs);
        // Valve's connectionless header, a TLS record, a later payload that does not frame.
        assert_eq!(
            run_one::<Warcraft3Dissector>(&udp([1, 2]), b"\xff\xff\xff\xffTSource Engine Query\0").0,
            Probe::NotForUs
        );
        assert_eq!(run_one::<Warcraft3Dissector>(&f, &hex("160301002f0100002b0303")).0, Probe::NotForUs);
        let broken = [(Direction::Forward, join.clone()), (Direction::Reverse, vec![GAME, 1, 9])];
        assert_eq!(
            parse_each::<Warcraft3Dissector>(&f, &broken),
            (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN)
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<Warcraft3Dissector>(&tcp([1, 6112]), &[p.clone(), p.clone(), p]);
        }

        #[test]
        fn any_messages_back_to_back_frame(bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..30), 1..5)) {
            let p: Vec<u8> = bodies.iter().map(|b| message(GAME, 7, b)).collect::<Vec<_>>().concat();
            prop_assert!(framed(&p));
        }
    }
}
