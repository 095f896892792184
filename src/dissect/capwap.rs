//! Control And Provisioning of Wireless Access Points (CAPWAP, RFC 5415): control channel UDP
//! port 5246, data channel 5247.
//!
//! Every packet starts with the preamble (RFC 5415 §4.1): version 0 and a type, 0 for a
//! CAPWAP header, 1 for a DTLS header (3 reserved zero bytes, then a DTLS record). The CAPWAP
//! header's first word holds HLEN (the header length in 4-byte words, at least 2), the radio
//! ID, the wireless binding (WBID: 1 IEEE 802.11, 3 EPCGlobal, RFC 5415 §4.3) and flags. The
//! preamble is one zero-ish byte, so the probe wants CAPWAP's ports as well as a header that
//! holds together.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const PLAIN: u8 = 0x00;
const DTLS: u8 = 0x01;
/// DTLS record content types (change cipher spec, alert, handshake, application data).
const DTLS_CONTENT: std::ops::RangeInclusive<u8> = 20..=23;
/// Wireless binding identifiers RFC 5415 §4.3 assigns.
const BINDINGS: [u32; 2] = [1, 3];
/// Shortest CAPWAP header: 2 words.
const MIN_HEADER_WORDS: usize = 2;

/// CAPWAP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct CapwapDissector;

fn capwap(p: &[u8]) -> bool {
    match p.first() {
        Some(&DTLS) => {
            p.get(1..4) == Some(&[0, 0, 0])
                && p.get(4).is_some_and(|t| DTLS_CONTENT.contains(t))
                && p.get(5) == Some(&0xfe)
        }
        Some(&PLAIN) => {
            let Some(word) = p.get(..4).map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]])) else {
                return false;
            };
            let words = ((word >> 19) & 0x1f) as usize;
            let binding = (word >> 9) & 0x1f;
            words >= MIN_HEADER_WORDS && words * 4 <= p.len() && BINDINGS.contains(&binding)
        }
        _ => false,
    }
}

impl Dissector for CapwapDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CAPWAP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && Self::port_hint(flow) && capwap(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[5246, 5247]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn capwap_headers_name_the_flow() {
        // capwap.pcap: 192.168.10.10:12380 → 255.255.255.255:5246, a discovery request (HLEN 4,
        // 802.11, with the radio MAC); the controller's answer (HLEN 2); a data packet to 5247;
        // and a DTLS alert from 192.168.10.9:5246.
        let discovery = hex("002002100000000006580a20690e20e8000000010000660000140001000027002802020001004096");
        assert_eq!(run_one::<CapwapDissector>(&udp([12380, 5246]), &discovery).0, Probe::Certain);
        let answer = hex("0010020000000000000000020000650000010024000003e800000005020100030040960000010004");
        assert_eq!(run_one::<CapwapDissector>(&udp([5246, 12380]), &answer).0, Probe::Certain);
        let data = hex("0020032000000000010400000000000000400000580a20690e20000000000000580a20690e200000");
        assert_eq!(run_one::<CapwapDissector>(&udp([12380, 5247]), &data).0, Probe::Certain);
        let dtls = hex("0100000015feff0001000000000001003091525de0381a81cffbbc5c495068756e8580383b27a1c2");
        assert_eq!(run_one::<CapwapDissector>(&udp([5246, 12379]), &dtls).0, Probe::Certain);
        truncations::<CapwapDissector>(&udp([12380, 5246]), &discovery);
    }

    #[test]
    fn other_payloads_are_not_capwap() {
        let discovery = hex("002002100000000006580a20690e20e8000000010000660000140001000027002802020001004096");
        assert_eq!(run_one::<CapwapDissector>(&udp([12380, 5000]), &discovery).0, Probe::NotForUs, "off port");
        let f = udp([12380, 5246]);
        let mut p = discovery.clone();
        p[2] = 0x04;
        assert_eq!(run_one::<CapwapDissector>(&f, &p).0, Probe::NotForUs, "binding 2 is reserved");
        assert_eq!(run_one::<CapwapDissector>(&f, &hex("0100000099feff")).0, Probe::NotForUs);
        assert_eq!(run_one::<CapwapDissector>(&f, &hex("1020021000000000")).0, Probe::NotForUs, "version 1");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<CapwapDissector>(&udp([1, 5246]), &[p]);
        }
    }
}
