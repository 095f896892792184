//! Service Location Protocol (SLPv2, RFC 2608 §8; SLPv1, RFC 2165 §7): version byte 1 or 2,
//! a function id 1–11, and (v2) a 3-byte length equal to the datagram's.

use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment};
use crate::facts::FlowFacts;

/// SLP needs no state.
#[derive(Debug, Default)]
pub struct SlpDissector;

fn is_slp(p: &[u8]) -> bool {
    let Some(h) = p.get(..12) else { return false };
    match (h[0], h[1]) {
        (2, 1..=11) => {
            let len = usize::from(h[2]) << 16 | usize::from(h[3]) << 8 | usize::from(h[4]);
            // Flags: only O, F, R defined; the next-extension offset and XID follow.
            len == p.len() && h[6] == 0
        }
        (1, 1..=10) => {
            let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
            len == p.len()
        }
        _ => false,
    }
}

impl Dissector for SlpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SLP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if((flow.is_udp() || flow.is_tcp()) && is_slp(segment.payload))
    }

    fn port_hint(flow: &FlowInfo) -> bool {
        flow.has_port(427)
    }

    fn parse(&mut self, _segment: &Segment<'_>, _facts: &mut FlowFacts) -> Parsed {
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn service_request() {
        let mut m = vec![2, 1, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 1, 0, 2, b'e', b'n'];
        m.extend_from_slice(&[0; 10]);
        m[4] = m.len() as u8;
        assert_eq!(run_one::<SlpDissector>(&udp([40000, 427]), &m).0, Probe::Certain);
        assert_eq!(run_one::<SlpDissector>(&udp([40000, 427]), &m[..20]).0, Probe::NotForUs);
        truncations::<SlpDissector>(&udp([1, 427]), &m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<SlpDissector>(&udp([427, 427]), &[p]);
        }
    }
}
