//! The session handshake of Activision's game servers (Call of Duty's peer and dedicated
//! servers) over UDP, which nDPI names `Activision` (flowsieve-only ID, nDPI's name;
//! application `netify.activision`).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as a fact
//! about the protocol; this is flowsieve's own code): each side's first datagram is at least 29
//! bytes and opens with a 16-bit type, `0x0c02` one way and `0x0d02` the other, and carries the
//! bytes `c0 a8 00 15 02 0c` at offset 17. nDPI tells the two ways apart by address order and
//! names the flow on one datagram; flowsieve wants both: the probe shortlists a flow whose
//! first datagram is either hello (the flow stays unnamed) and the parse names it when the
//! other side's first datagram is the other hello, within the flow's first four datagrams.

use super::answered::Answered;
use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, Parsed, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// The two hellos' types.
const HELLOS: [u16; 2] = [0x0c02, 0x0d02];
const HELLO_MIN: usize = 29;
/// The bytes every hello carries at [`MARK_AT`].
const MARK: [u8; 6] = [0xc0, 0xa8, 0x00, 0x15, 0x02, 0x0c];
const MARK_AT: usize = 17;
/// Datagrams within which the other hello must come, the first included.
const WITHIN: u8 = 4;

/// The first hello's type, once read.
#[derive(Debug, Default)]
pub struct ActivisionDissector(Answered);

/// The hello's type, when `p` is one.
fn hello(p: &[u8]) -> Option<u16> {
    let kind = be_u16_at(p, 0).filter(|k| HELLOS.contains(k))?;
    (p.len() >= HELLO_MIN && p.get(MARK_AT..MARK_AT + MARK.len()) == Some(&MARK[..])).then_some(kind)
}

impl Dissector for ActivisionDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ACTIVISION;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x0c, 0x0d]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(hello(segment.payload).is_some())
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let first = |p: &[u8]| hello(p).map(u32::from);
        let answers = |first, p: &[u8]| hello(p).is_some_and(|kind| u32::from(kind) != first);
        self.0.parse(segment, facts, (protocol::ACTIVISION, WITHIN), first, answers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::{Direction, Skip};
    use proptest::prelude::*;

    /// activision.pcap, 192.168.2.100:3074 → 108.61.235.31:33441: the two hellos.
    const CLIENT: &str = "0d0200d3dded03961669981a27af4f381bc0a80015020c6c3deb1fa182";
    const SERVER: &str = "0c0200d3dded03961669981a27af4f381bc0a80015020c6c3deb1fa182";
    /// The game datagram that follows them.
    const GAME: &str = "2837303e4800000000280000005a1000c600";

    #[test]
    fn the_two_hellos_name_the_flow() {
        let f = udp([3074, 33441]);
        assert_eq!(run_one::<ActivisionDissector>(&f, &hex(CLIENT)).0, Probe::Certain);
        assert_eq!(run_one::<ActivisionDissector>(&f, &hex(SERVER)).0, Probe::Certain);
        let one = [(Direction::Forward, hex(CLIENT))];
        assert_eq!(
            parse_each::<ActivisionDissector>(&f, &one),
            (Parsed::Continue, protocol::UNKNOWN),
            "shortlisted, unnamed"
        );
        let both = [(Direction::Forward, hex(CLIENT)), (Direction::Reverse, hex(SERVER))];
        assert_eq!(parse_each::<ActivisionDissector>(&f, &both).1, protocol::ACTIVISION);
        // Either hello may come first.
        let swapped = [(Direction::Forward, hex(SERVER)), (Direction::Reverse, hex(CLIENT))];
        assert_eq!(parse_each::<ActivisionDissector>(&f, &swapped).1, protocol::ACTIVISION);
        truncations::<ActivisionDissector>(&f, &hex(CLIENT));
    }

    #[test]
    fn near_misses_are_not_activision() {
        let f = udp([3074, 33441]);
        // The game datagram, a hello without the mark, one cut short.
        assert_eq!(run_one::<ActivisionDissector>(&f, &hex(GAME)).0, Probe::NotForUs);
        let mut unmarked = hex(CLIENT);
        unmarked[MARK_AT] = 0x0a;
        assert_eq!(run_one::<ActivisionDissector>(&f, &unmarked).0, Probe::NotForUs);
        assert_eq!(run_one::<ActivisionDissector>(&f, &hex(CLIENT)[..28]).0, Probe::NotForUs);
        assert_eq!(run_one::<ActivisionDissector>(&tcp([3074, 33441]), &hex(CLIENT)).0, Probe::NotForUs);
        // The same hello echoed, or a game datagram, as the answer gives the flow up.
        let echoed = [(Direction::Forward, hex(CLIENT)), (Direction::Reverse, hex(CLIENT))];
        assert_eq!(
            parse_each::<ActivisionDissector>(&f, &echoed),
            (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN)
        );
        let game = [(Direction::Forward, hex(CLIENT)), (Direction::Reverse, hex(GAME))];
        assert_eq!(parse_each::<ActivisionDissector>(&f, &game).0, Parsed::Skipped(Skip::Unconfirmed));
        let silent = vec![(Direction::Forward, hex(CLIENT)); 4];
        assert_eq!(parse_each::<ActivisionDissector>(&f, &silent).0, Parsed::Skipped(Skip::Unconfirmed));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<ActivisionDissector>(&udp([1, 2]), &[p.clone(), p]);
        }
    }
}
