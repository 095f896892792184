//! Service Location Protocol (SLPv2, RFC 2608 §8; SLPv1, RFC 2165 §7): version byte 1 or 2,
//! a function id 1–11, and (v2) a 3-byte length equal to the datagram's.

use super::reader::{be_len16_at, be_u24_at};
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

/// SLP needs no state.
#[derive(Debug, Default)]
pub struct SlpDissector;

fn is_slp(p: &[u8]) -> bool {
    let Some(h) = p.get(..12) else { return false };
    match (h[0], h[1]) {
        (2, 1..=11) => {
            // Flags: only O, F, R defined; the next-extension offset and XID follow.
            be_u24_at(h, 2) == Some(p.len()) && h[6] == 0
        }
        (1, 1..=10) => be_len16_at(h, 2) == Some(p.len()),
        _ => false,
    }
}

impl Dissector for SlpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SLP;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if((flow.is_udp() || flow.is_tcp()) && is_slp(segment.payload))
    }

    const PORTS: Ports = Ports::both(&[427]);
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
