//! EAQ, the broadband quality measurement of Brazil's Entidade Aferidora da Qualidade
//! (brasilbandalarga.com.br), over UDP (Netify's `EAQ`, 190).
//!
//! Wire facts (the signature nDPI applies to UDP traffic on the test's port, read from its
//! source as a fact about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire
//! facts"; this is flowsieve's own code): the test sends 16-byte datagrams to or from UDP port
//! 6000 whose first four bytes are a counter written one decimal digit per byte
//! (`b0·1000 + b1·100 + b2·10 + b3`); each datagram's counter is the previous one's or the
//! next. nDPI names the flow at the fourth such datagram, and so does flowsieve: the first
//! shortlists the flow, one of another length or counter gives it up. The port is required.

use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

const PORT: u16 = 6000;
const SIZE: usize = 16;
/// Datagrams that name the flow.
const NEEDED: u8 = 4;

/// The counter of a test datagram.
fn counter(p: &[u8]) -> Option<u32> {
    match p {
        &[a, b, c, d, ..] if p.len() == SIZE => {
            Some(u32::from(a) * 1000 + u32::from(b) * 100 + u32::from(c) * 10 + u32::from(d))
        }
        _ => None,
    }
}

/// The last counter and the datagrams that agreed.
#[derive(Debug, Default)]
pub struct EaqDissector {
    last: u32,
    seen: u8,
}

impl Dissector for EaqDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::EAQ;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;
    const NEEDS_PORT: bool = true;
    const PORTS: Ports = Ports::udp(&[PORT]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && Self::port_hint(flow) && counter(segment.payload).is_some())
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let Some(n) = counter(segment.payload) else { return Parsed::Skipped(Skip::Unconfirmed) };
        if self.seen > 0 && n != self.last && n != self.last.wrapping_add(1) {
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        self.last = n;
        self.seen += 1;
        if self.seen >= NEEDED {
            facts.protocol = protocol::EAQ;
            return Parsed::Done;
        }
        Parsed::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    /// A test datagram with counter digits `d`.
    fn datagram(d: [u8; 4]) -> Vec<u8> {
        [&d[..], &[0x5a; 12]].concat()
    }

    #[test]
    fn four_counted_datagrams_name_the_flow() {
        assert_eq!(protocol::name_of(protocol::EAQ), "EAQ");
        let f = udp([40000, PORT]);
        let first = datagram([0, 1, 2, 8]);
        let (probe, parsed, facts) = run_one::<EaqDissector>(&f, &first);
        assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Continue, protocol::UNKNOWN));
        truncations::<EaqDissector>(&f, &first);
        // 128, 129, its echo, 130 across a digit carry.
        let run = [
            (Direction::Forward, first.clone()),
            (Direction::Forward, datagram([0, 1, 2, 9])),
            (Direction::Reverse, datagram([0, 1, 2, 9])),
            (Direction::Forward, datagram([0, 1, 3, 0])),
        ];
        assert_eq!(parse_each::<EaqDissector>(&f, &run), (Parsed::Done, protocol::EAQ));
        assert_eq!(parse_each::<EaqDissector>(&f, &run[..3]), (Parsed::Continue, protocol::UNKNOWN));
    }

    #[test]
    fn near_misses_are_not_eaq() {
        let f = udp([40000, PORT]);
        let first = datagram([0, 1, 2, 8]);
        // Off the port, over TCP, 15 or 17 bytes.
        assert_eq!(run_one::<EaqDissector>(&udp([40000, 6001]), &first).0, Probe::NotForUs);
        assert_eq!(run_one::<EaqDissector>(&tcp([40000, PORT]), &first).0, Probe::NotForUs);
        assert_eq!(run_one::<EaqDissector>(&f, &first[..15]).0, Probe::NotForUs);
        assert_eq!(run_one::<EaqDissector>(&f, &[&first[..], &[0]].concat()).0, Probe::NotForUs);
        // A counter that jumps, one that goes back.
        for next in [[0, 1, 3, 1], [0, 1, 2, 7]] {
            let run = [(Direction::Forward, first.clone()), (Direction::Forward, datagram(next))];
            assert_eq!(parse_each::<EaqDissector>(&f, &run), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
        }
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<EaqDissector>(&udp([1, PORT]), &[p.clone(), p.clone(), p.clone(), p]);
        }
    }
}
