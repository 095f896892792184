//! STUN dissector (RFC 8489 §5, and the RFC 3489 "classic" format): a 20-byte header whose
//! top two bits are zero, a message length that is a multiple of 4 matching the payload, and
//! (RFC 5389 onwards) the magic cookie 0x2112A442. TURN (RFC 8656) uses the same header.

use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment};
use crate::flow::facts::FlowFacts;

const HEADER: usize = 20;
const MAGIC: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// STUN needs no state.
#[derive(Debug, Default)]
pub struct StunDissector;

/// True when `msg` (without TCP framing) is one STUN message.
fn is_stun(msg: &[u8]) -> bool {
    let (Some(head), Some(len)) = (msg.get(..2), msg.get(2..4)) else { return false };
    let kind = u16::from_be_bytes([head[0], head[1]]);
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    if kind & 0xc000 != 0 || len % 4 != 0 || HEADER + len != msg.len() {
        return false;
    }
    if msg.get(4..8) == Some(&MAGIC[..]) {
        return true;
    }
    // Classic STUN has no cookie: accept only its binding and shared-secret messages.
    matches!(kind, 0x0001 | 0x0101 | 0x0111 | 0x0002 | 0x0102 | 0x0112) && len > 0
}

impl Dissector for StunDissector {
    const PROTOCOL: u16 = protocol::STUN;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let yes = if flow.is_udp() {
            is_stun(p)
        } else if flow.is_tcp() {
            // RFC 4571 framing over TCP is used by some; plain messages by others.
            is_stun(p) || (p.len() > 2 && is_stun(p.get(2..).unwrap_or_default()))
        } else {
            false
        };
        if yes {
            Probe::Certain
        } else {
            Probe::NotForUs
        }
    }

    fn port_hint(flow: &FlowInfo) -> bool {
        flow.has_port(3478) || flow.has_port(5349)
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
    fn binding_request() {
        let mut m = vec![0x00, 0x01, 0x00, 0x08];
        m.extend_from_slice(&MAGIC);
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&[0x80, 0x22, 0x00, 0x04, b'a', b'b', b'c', b'd']);
        assert_eq!(run_one::<StunDissector>(&udp([1, 3478]), &m).0, Probe::Certain);
        assert_eq!(run_one::<StunDissector>(&udp([1, 3478]), &m[..27]).0, Probe::NotForUs);
        truncations::<StunDissector>(&udp([1, 3478]), &m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([1, 3478]) } else { tcp([1, 3478]) };
            no_panic::<StunDissector>(&f, &[p]);
        }
    }
}
