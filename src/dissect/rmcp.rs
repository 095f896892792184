//! The Remote Management Control Protocol (DMTF's ASF specification; IPMI over LAN), UDP port
//! 623.
//!
//! Every message starts with a 4-byte header: version 6, a reserved zero byte, a sequence
//! number (255 when no acknowledgement is wanted) and a class byte (bit 7 set for an
//! acknowledgement; low bits 6 ASF, 7 IPMI, 8 OEM). An ASF message then carries the IANA
//! enterprise number 4542 (`00 00 11 be`); an IPMI message an authentication type (0 none, 1
//! MD2, 2 MD5, 4 password, 5 OEM, 6 RMCP+). The probe needs the port and that header.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const VERSION: u8 = 6;
const CLASS_ASF: u8 = 6;
const CLASS_IPMI: u8 = 7;
const CLASS_OEM: u8 = 8;
const ACK: u8 = 0x80;
/// ASF's IANA enterprise number.
const ASF_IANA: u32 = 4542;
const HEADER: usize = 4;

/// RMCP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct RmcpDissector;

/// `p` is an RMCP message.
fn message(p: &[u8]) -> bool {
    let [VERSION, 0, _, class, ..] = *p else {
        return false;
    };
    match class & !ACK {
        _ if class & ACK != 0 => p.len() == HEADER,
        CLASS_ASF => be_u32_at(p, HEADER) == Some(ASF_IANA),
        CLASS_IPMI => p.get(HEADER).is_some_and(|auth| matches!(auth, 0 | 1 | 2 | 4 | 5 | 6)),
        CLASS_OEM => p.len() > HEADER,
        _ => false,
    }
}

impl Dissector for RmcpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RMCP;
    const TRANSPORTS: Transports = Transports::UDP;
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(Self::port_hint(flow) && message(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[623]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn asf_and_ipmi() {
        // rmcp.pcap: an ASF presence ping, and an IPMI 1.5 Get Channel Authentication
        // Capabilities request.
        let f = udp([59937, 623]);
        let ping = hex("0600ff06000011be80000000");
        assert_eq!(run_one::<RmcpDissector>(&f, &ping).0, Probe::Certain);
        let ipmi = hex("0600ff07000000000000000000092018c88100388e04b5");
        assert_eq!(run_one::<RmcpDissector>(&f, &ipmi).0, Probe::Certain);
        truncations::<RmcpDissector>(&f, &ipmi);
        // An acknowledgement is the header alone.
        assert_eq!(run_one::<RmcpDissector>(&f, &hex("0600ff86")).0, Probe::Certain);
    }

    #[test]
    fn other_payloads_are_not_rmcp() {
        let f = udp([59937, 623]);
        assert_eq!(run_one::<RmcpDissector>(&f, &hex("0600ff06000011bf80000000")).0, Probe::NotForUs);
        assert_eq!(run_one::<RmcpDissector>(&f, &hex("0601ff06000011be80000000")).0, Probe::NotForUs);
        assert_eq!(run_one::<RmcpDissector>(&f, &hex("0600ff0903")).0, Probe::NotForUs);
        assert_eq!(run_one::<RmcpDissector>(&udp([59937, 624]), &hex("0600ff06000011be80000000")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<RmcpDissector>(&udp([1, 623]), &[p]);
        }
    }
}
