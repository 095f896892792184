//! NAT-PMP (RFC 6886) and its successor PCP (RFC 6887), UDP port 5351 (announcements to the
//! clients' port 5350). nDPI names both NAT-PMP.
//!
//! NAT-PMP messages start with version 0 and an opcode: requests 0 (external address, 2 bytes)
//! and 1/2 (map UDP/TCP, 12 bytes, reserved field zero); responses are the opcode plus 128 with
//! a result code (0–5) and are 12 (address) or 16 (mapping) bytes long. PCP messages start
//! with version 2 and the R bit with an opcode (0 announce, 1 map, 2 peer); they are a multiple
//! of 4 bytes, at least 24 and at most 1100. The messages are short and have no magic, so the
//! probe needs the NAT-PMP port as well as an exact layout.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

/// Largest PCP message (RFC 6887 §7).
const PCP_MAX: usize = 1100;
/// PCP's common header (RFC 6887 §7.1, §7.2).
const PCP_HEADER: usize = 24;
/// Highest NAT-PMP result code (RFC 6886 §3.5) and PCP result code (RFC 6887 §7.4).
const NATPMP_MAX_RESULT: u16 = 5;
const PCP_MAX_RESULT: u8 = 13;

/// NAT-PMP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct NatPmpDissector;

/// `p` is one NAT-PMP or PCP message.
fn message(p: &[u8]) -> bool {
    match (p.first(), p.get(1)) {
        (Some(0), Some(&op)) => match (op, p.len()) {
            (0, 2) => true,
            (1 | 2, 12) => be_u16_at(p, 2) == Some(0),
            (128, 12) | (129 | 130, 16) => be_u16_at(p, 2).is_some_and(|r| r <= NATPMP_MAX_RESULT),
            _ => false,
        },
        (Some(2), Some(&op)) => {
            let request = op & 0x80 == 0;
            (op & 0x7f) <= 2
                && (PCP_HEADER..=PCP_MAX).contains(&p.len())
                && p.len().is_multiple_of(4)
                && (if request { p[2..4] == [0, 0] } else { p[2] == 0 && p[3] <= PCP_MAX_RESULT })
        }
        _ => false,
    }
}

impl Dissector for NatPmpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NAT_PMP;
    const TRANSPORTS: Transports = Transports::UDP;
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(Self::port_hint(flow) && message(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[5351]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn requests_and_responses() {
        // natpmp.pcap, 192.168.1.128:36852 ↔ 192.168.1.254:5351.
        let f = udp([36852, 5351]);
        for m in ["0000", "00800000002b3add0ac9d5ae", "00020000c8d5c8d500000e10", "00820000002b3ae5c8d5c8d500000e10"] {
            assert_eq!(run_one::<NatPmpDissector>(&f, &hex(m)).0, Probe::Certain, "{m}");
            truncations::<NatPmpDissector>(&f, &hex(m));
        }
        // iphone.pcap: the gateway's PCP announcement to 224.0.0.1:5350.
        let pcp = hex("028000000000000000000021000000000000000000000000");
        assert_eq!(run_one::<NatPmpDissector>(&udp([5351, 5350]), &pcp).0, Probe::Certain);
    }

    #[test]
    fn other_payloads_are_not_nat_pmp() {
        let f = udp([36852, 5351]);
        assert_eq!(run_one::<NatPmpDissector>(&f, &hex("0001")).0, Probe::NotForUs);
        assert_eq!(run_one::<NatPmpDissector>(&f, &hex("00020001c8d5c8d500000e10")).0, Probe::NotForUs);
        assert_eq!(run_one::<NatPmpDissector>(&f, &hex("00800009002b3add0ac9d5ae")).0, Probe::NotForUs);
        // Right layout, wrong port or transport.
        assert_eq!(run_one::<NatPmpDissector>(&udp([36852, 5353]), &hex("0000")).0, Probe::NotForUs);
        assert_eq!(run_one::<NatPmpDissector>(&tcp([36852, 5351]), &hex("0000")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<NatPmpDissector>(&udp([1, 5351]), &[p]);
        }
    }
}
