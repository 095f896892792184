//! OpenVPN dissector (OpenVPN's protocol description, `ssl.h`/`reliable.h` of the reference
//! implementation's documentation): a control packet opens with opcode << 3 | key id; the
//! client's first packet is P_CONTROL_HARD_RESET_CLIENT_V2 (7) or _V3 (10), followed by an
//! 8-byte session id, an optional HMAC + packet id + time (tls-auth), an empty ACK array and
//! message packet id 0. Over TCP each packet has a two-byte length prefix.

use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment};
use crate::flow::facts::FlowFacts;

const HARD_RESET_CLIENT_V1: u8 = 1;
const HARD_RESET_CLIENT_V2: u8 = 7;
const HARD_RESET_CLIENT_V3: u8 = 10;
const HARD_RESET_SERVER_V2: u8 = 8;

/// OpenVPN needs no state.
#[derive(Debug, Default)]
pub struct OpenvpnDissector;

/// A hard-reset packet (without TCP framing).
fn is_reset(p: &[u8]) -> bool {
    let Some(&first) = p.first() else { return false };
    let opcode = first >> 3;
    if !matches!(opcode, HARD_RESET_CLIENT_V1 | HARD_RESET_CLIENT_V2 | HARD_RESET_CLIENT_V3 | HARD_RESET_SERVER_V2)
        || first & 7 != 0
    {
        return false;
    }
    // No tls-auth: 1 + 8 + ack len 0 + packet id 0. With tls-auth/tls-crypt the HMAC and
    // replay fields sit in between; the packet still ends with ack len 0 + packet id 0 for a
    // client reset (a server reset acknowledges the client's, so its tail differs).
    if p.len() == 14 {
        return p.get(9..14) == Some(&[0, 0, 0, 0, 0][..]);
    }
    let client = opcode != HARD_RESET_SERVER_V2;
    client && (22..=120).contains(&p.len()) && p.get(p.len() - 5..) == Some(&[0, 0, 0, 0, 0][..])
}

impl Dissector for OpenvpnDissector {
    const PROTOCOL: u16 = protocol::OPENVPN;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let yes = if flow.is_udp() {
            is_reset(p)
        } else if flow.is_tcp() {
            p.get(..2).is_some_and(|l| usize::from(u16::from_be_bytes([l[0], l[1]])) + 2 == p.len())
                && is_reset(p.get(2..).unwrap_or_default())
        } else {
            false
        };
        Probe::certain_if(yes)
    }

    fn port_hint(flow: &FlowInfo) -> bool {
        flow.has_port(1194)
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
    fn client_reset() {
        let mut m = vec![HARD_RESET_CLIENT_V2 << 3];
        m.extend_from_slice(&[9; 8]);
        m.extend_from_slice(&[0; 5]);
        assert_eq!(run_one::<OpenvpnDissector>(&udp([40000, 1194]), &m).0, Probe::Certain);
        let mut framed = vec![0, m.len() as u8];
        framed.extend_from_slice(&m);
        assert_eq!(run_one::<OpenvpnDissector>(&tcp([40000, 1194]), &framed).0, Probe::Certain);
        m[10] = 1;
        assert_eq!(run_one::<OpenvpnDissector>(&udp([40000, 1194]), &m).0, Probe::NotForUs);
        truncations::<OpenvpnDissector>(&tcp([1, 1194]), &framed);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..130), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([1, 1194]) } else { tcp([1, 1194]) };
            no_panic::<OpenvpnDissector>(&f, &[p]);
        }
    }
}
