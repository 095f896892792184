//! Agora SD-RTN (the real-time network behind Agora's voice and video SDKs), UDP. No public
//! specification: the shape is read from nDPI's agora-sd-rtn.pcap, where every client's first
//! datagram has the bytes `00 00 21 00` at offset 4 and, at offset 12, a tag list that opens
//! with a one-byte tag length, the tag `SNI\0`, a little-endian 16-bit value length and the
//! edge server's name (`23-248-186-179.edge.agora.io`). That name is the flow's hostname, as
//! nDPI reports it.

use super::text::fact_string;
use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const MARK: [u8; 4] = [0x00, 0x00, 0x21, 0x00];
const SNI_TAG: [u8; 5] = [0x04, b'S', b'N', b'I', 0x00];

/// SD-RTN needs no state.
#[derive(Debug, Default)]
pub struct SdRtnDissector;

/// The server name of a client's opening datagram.
fn server_name(p: &[u8]) -> Option<&[u8]> {
    if p.get(4..8)? != MARK || p.get(12..17)? != SNI_TAG {
        return None;
    }
    let len = usize::from(u16::from_le_bytes([*p.get(17)?, *p.get(18)?]));
    let name = p.get(19..19 + len)?;
    let hostname_like =
        !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    hostname_like.then_some(name)
}

impl Dissector for SdRtnDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SD_RTN;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && server_name(segment.payload).is_some())
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if facts.detected_hostname().is_none() {
            if let Some(name) = server_name(segment.payload) {
                facts.set_detected_hostname(fact_string(name, 255).to_ascii_lowercase());
            }
        }
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// The first 0x30 payload bytes of a client datagram in agora-sd-rtn.pcap.
    fn opening() -> Vec<u8> {
        let mut p = vec![0x00, 0x5a, 0x38, 0x4c, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00];
        p.extend_from_slice(&SNI_TAG);
        p.extend_from_slice(&[0x1c, 0x00]);
        p.extend_from_slice(b"23-248-186-179.edge.agora.io");
        p.extend_from_slice(b"PDMD\0\0CPTO");
        p
    }

    #[test]
    fn edge_name_is_the_hostname() {
        let f = udp([35778, 8130]);
        let (probe, parsed, facts) = run_one::<SdRtnDissector>(&f, &opening());
        assert_eq!(probe, Probe::Certain);
        assert_eq!(parsed, Parsed::Done);
        assert_eq!(facts.detected_hostname(), Some("23-248-186-179.edge.agora.io"));
        assert_eq!(run_one::<SdRtnDissector>(&tcp([35778, 8130]), &opening()).0, Probe::NotForUs);
        truncations::<SdRtnDissector>(&f, &opening());
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<SdRtnDissector>(&udp([1, 8130]), &[p]);
        }
    }
}
