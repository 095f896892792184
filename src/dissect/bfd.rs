//! Bidirectional Forwarding Detection (BFD, RFC 5880) over UDP: single-hop control packets to
//! port 3784 and echo packets to 3785 (RFC 5881), multihop control packets to 4784 (RFC 5883).
//!
//! A control packet (RFC 5880 §4.1) is version 1 in the top 3 bits, a diagnostic code (0–8),
//! the state and flags (the multipoint bit M must be zero), a non-zero detect multiplier, the
//! packet length (24, or more with authentication, then the A bit is set), a non-zero "my
//! discriminator" and three intervals. The probe wants such a packet, as long as the datagram,
//! on a BFD control port. Echo packets carry whatever the sender chose (RFC 5881 §4): only
//! their port names them, through the port guess.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const VERSION: u8 = 1;
/// Control packet without authentication.
const CONTROL: usize = 24;
/// Highest diagnostic code RFC 5880 §4.1 defines.
const MAX_DIAGNOSTIC: u8 = 8;
/// Flags byte: authentication present (A) and multipoint (M).
const AUTH: u8 = 0x04;
const MULTIPOINT: u8 = 0x01;
/// Control-packet ports (RFC 5881 §4, RFC 5883 §5).
const CONTROL_PORTS: [u16; 2] = [3784, 4784];

/// BFD needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct BfdDissector;

/// `p` is one whole BFD control packet.
fn control(p: &[u8]) -> bool {
    let (Some(&first), Some(&flags), Some(&multiplier), Some(&length)) = (p.first(), p.get(1), p.get(2), p.get(3))
    else {
        return false;
    };
    let auth = flags & AUTH != 0;
    let length_ok = usize::from(length) == p.len() && (if auth { p.len() > CONTROL } else { p.len() == CONTROL });
    first >> 5 == VERSION
        && first & 0x1f <= MAX_DIAGNOSTIC
        && flags & MULTIPOINT == 0
        && multiplier != 0
        && length_ok
        && be_u32_at(p, 4).is_some_and(|mine| mine != 0)
}

impl Dissector for BfdDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::BFD;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let on_port = flow.is_udp() && CONTROL_PORTS.iter().any(|&port| flow.has_port(port));
        Probe::certain_if(on_port && control(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[3784, 3785, 4784]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn control_packets_name_the_flow() {
        // bfd.pcap, 155.1.13.1:49152 → 155.1.13.3:3784: Down, then Init and Up.
        let f = udp([49152, 3784]);
        for p in [
            "204003180000000100000000000f4240000f42400007a120",
            "208003180000000100000001000f4240000f42400007a120",
            "20c003180000000100000001000f4240000f42400007a120",
        ] {
            assert_eq!(run_one::<BfdDissector>(&f, &hex(p)).0, Probe::Certain, "{p}");
            truncations::<BfdDissector>(&f, &hex(p));
        }
    }

    #[test]
    fn other_payloads_are_not_bfd() {
        let down = hex("204003180000000100000000000f4240000f42400007a120");
        // An echo port carries no control packet; version 0; a zero discriminator; a length
        // that disagrees with the datagram.
        assert_eq!(run_one::<BfdDissector>(&udp([49152, 3785]), &down).0, Probe::NotForUs);
        let f = udp([49152, 3784]);
        let mut p = down.clone();
        p[0] = 0x00;
        assert_eq!(run_one::<BfdDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = down.clone();
        p[7] = 0;
        assert_eq!(run_one::<BfdDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = down.clone();
        p.push(0);
        assert_eq!(run_one::<BfdDissector>(&f, &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<BfdDissector>(&udp([1, 3784]), &[p]);
        }
    }
}
