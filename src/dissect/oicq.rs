//! OICQ, the UDP protocol of Tencent's QQ messenger (servers on port 8000, clients often on
//! 4000). Every packet is framed by a start byte 0x02 and an end byte 0x03, and its plain
//! header is a 16-bit client version, a 16-bit command and a 16-bit sequence number (the QQ
//! number follows in client packets).
//!
//! Two fixed bytes are a weak signature, so, like Whois, the probe needs the flow on an OICQ
//! port as well as the framing.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const START: u8 = 0x02;
const END: u8 = 0x03;
/// Start, version, command, sequence, QQ number, end: the least a packet has.
const MIN_LEN: usize = 12;
const MAX_LEN: usize = 2048;

/// OICQ needs no state.
#[derive(Debug, Default)]
pub struct OicqDissector;

/// `p` is one framed packet.
fn packet(p: &[u8]) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&p.len())
        && p.first() == Some(&START)
        && p.last() == Some(&END)
        && be_u16_at(p, 1).is_some_and(|version| version != 0)
        && be_u16_at(p, 3).is_some_and(|command| command != 0)
}

impl Dissector for OicqDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::OICQ;
    const TRANSPORTS: Transports = Transports::UDP;
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(Self::port_hint(flow) && packet(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[8000, 4000]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// oicq.pcap, 90.147.69.210:60213 → 58.60.10.45:8000.
    const LOGIN: &str = "023b0b00010017561f0c7b0000000000000000030c949fb3510c59cbd527d19e6953482ec8770801030e4703";

    #[test]
    fn framed_packet_on_its_port_is_oicq() {
        let f = udp([60213, 8000]);
        let p = hex(LOGIN);
        assert_eq!(run_one::<OicqDissector>(&f, &p).0, Probe::Certain);
        truncations::<OicqDissector>(&f, &p);
        assert_eq!(run_one::<OicqDissector>(&f, &p[..p.len() - 1]).0, Probe::NotForUs);
        assert_eq!(run_one::<OicqDissector>(&udp([60213, 9000]), &p).0, Probe::NotForUs, "port needed");
        assert_eq!(run_one::<OicqDissector>(&tcp([60213, 8000]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<OicqDissector>(&udp([1, 8000]), &[p]);
        }
    }
}
