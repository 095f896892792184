//! OpenFlow, the switch control protocol (Open Networking Foundation's OpenFlow Switch
//! Specifications 1.0–1.5), TCP port 6653 (6633 before IANA's assignment).
//!
//! Every message starts with an 8-byte header: the version (1 for 1.0 … 6 for 1.5), a message
//! type, the 16-bit message length (header included) and a transaction ID. Both sides open with
//! HELLO (type 0). Eight bytes of small numbers could be many things, so the probe wants
//! OpenFlow's port as well as a HELLO whose length fits the segment.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 8;
const VERSIONS: std::ops::RangeInclusive<u8> = 1..=6;
const HELLO: u8 = 0;

/// OpenFlow needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct OpenflowDissector;

impl Dissector for OpenflowDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::OPENFLOW;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || !Self::port_hint(flow) || p.len() < HEADER {
            return Probe::NotForUs;
        }
        let length_ok = be_u16_at(p, 2).is_some_and(|n| usize::from(n) >= HEADER && usize::from(n) <= p.len());
        Probe::certain_if(VERSIONS.contains(&p[0]) && p[1] == HELLO && length_ok)
    }

    const PORTS: Ports = Ports::tcp(&[6653, 6633]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn hello_names_the_flow() {
        // openflow.pcap, 107.110.12.153:49234 → :6653: an OpenFlow 1.5 HELLO with a bitmap
        // element.
        let f = tcp([49234, 6653]);
        let hello = hex("06000010000000010001000800000040");
        assert_eq!(run_one::<OpenflowDissector>(&f, &hello).0, Probe::Certain);
        truncations::<OpenflowDissector>(&f, &hello);
    }

    #[test]
    fn other_payloads_are_not_openflow() {
        let hello = hex("06000010000000010001000800000040");
        assert_eq!(run_one::<OpenflowDissector>(&tcp([49234, 6000]), &hello).0, Probe::NotForUs);
        let f = tcp([49234, 6653]);
        assert_eq!(run_one::<OpenflowDissector>(&f, &hex("06000020000000010001000800000040")).0, Probe::NotForUs);
        assert_eq!(run_one::<OpenflowDissector>(&f, &hex("09000010000000010001000800000040")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<OpenflowDissector>(&tcp([1, 6653]), &[p]);
        }
    }
}
