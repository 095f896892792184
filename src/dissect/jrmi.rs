//! Java RMI's transport protocol (Java RMI specification, chapter 10; registry on TCP port
//! 1099): the client opens with the magic `JRMI`, a 16-bit version (2) and the sub-protocol
//! byte: 0x4b StreamProtocol, 0x4c SingleOpProtocol, 0x4d MultiplexProtocol.

use super::text::prefix_agrees;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const MAGIC: &[u8] = b"JRMI";
/// Magic, version, sub-protocol.
const HEADER: usize = 7;

/// Java RMI needs no state.
#[derive(Debug, Default)]
pub struct JrmiDissector;

impl Dissector for JrmiDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::JRMI;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[MAGIC[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() {
            Probe::NotForUs
        } else if p.starts_with(MAGIC) && matches!(p.get(4..HEADER), Some([0, 1 | 2, 0x4b..=0x4d])) {
            Probe::Certain
        } else if p.len() < HEADER && prefix_agrees(p, MAGIC) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[1099]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_header_names_the_flow() {
        // jrmi.pcap in nDPI's corpus: 127.0.0.1:34450 → 127.0.1.1:1099.
        let header = hex("4a524d4900024b");
        let f = tcp([34450, 1099]);
        assert_eq!(run_one::<JrmiDissector>(&f, &header).0, Probe::Certain);
        assert_eq!(run_one::<JrmiDissector>(&f, b"JR").0, Probe::Unsure);
        truncations::<JrmiDissector>(&f, &header);
        assert_eq!(run_one::<JrmiDissector>(&f, b"JRMI\x00\x02Z").0, Probe::NotForUs);
        // The server's answer (ProtocolAck and the client's address): not a start.
        assert_eq!(run_one::<JrmiDissector>(&f, &hex("4e00093132372e302e302e3100008692")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<JrmiDissector>(&tcp([1, 1099]), &[p]);
        }
    }
}
