//! PFCP, the Packet Forwarding Control Protocol between a 5G/EPC control plane and its user
//! plane functions (3GPP TS 29.244; IANA `pfcp`, UDP port 8805). nDPI calls it `PFCP`.
//!
//! Every message starts with the header of TS 29.244 §7.2.2: a first octet holding the version
//! (top three bits, 1), two spare bits and the FO (another message follows), MP (message
//! priority present) and S (SEID present) flags; the message type; and a 16-bit length of what
//! follows the first four octets: the 64-bit SEID when S is set, a 24-bit sequence number and
//! a spare (or priority) octet, then the information elements. The probe wants, on port 8805
//! (the header is short), version 1, a message type of the specification (node messages 1–17,
//! session messages 50–57) and a length at least the header's that ends the datagram, or,
//! with FO set, leaves room for the next message.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const VERSION: u8 = 1;
const FOLLOW_ON: u8 = 0x04;
const SEID: u8 = 0x01;

/// PFCP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct PfcpDissector;

/// `p` starts with a PFCP message that ends the datagram or is followed by another.
fn message(p: &[u8]) -> bool {
    let (Some(&flags), Some(&kind), Some(length)) = (p.first(), p.get(1), be_u16_at(p, 2)) else {
        return false;
    };
    // After the first four octets: the sequence number and its octet, the SEID before them.
    let header = if flags & SEID != 0 { 12 } else { 4 };
    let end = 4 + usize::from(length);
    let ends = end == p.len() || (flags & FOLLOW_ON != 0 && end < p.len());
    flags >> 5 == VERSION && matches!(kind, 1..=17 | 50..=57) && usize::from(length) >= header && ends
}

impl Dissector for PfcpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::PFCP;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::range(VERSION << 5, (VERSION << 5) | 0x1f);
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && Self::port_hint(flow) && message(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[8805]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// pfcp.pcapng, 127.0.0.1:8805 → 127.0.0.2:8805: a session deletion response (type 55,
    /// SEID present) with its cause IE, and a heartbeat request (type 1) with its recovery time
    /// stamp IE.
    const DELETION_RESPONSE: &str = "2137001400000000ffffffff000000000068000400000012";
    const HEARTBEAT: &str = "2001000c00000100006000040000abcd";

    #[test]
    fn pfcp_messages_on_its_port() {
        let f = udp([8805, 8805]);
        for p in [DELETION_RESPONSE, HEARTBEAT] {
            assert_eq!(run_one::<PfcpDissector>(&f, &hex(p)).0, Probe::Certain, "{p}");
            truncations::<PfcpDissector>(&f, &hex(p));
        }
        // Two messages, the first with FO set.
        let mut two = hex(HEARTBEAT);
        two[0] |= FOLLOW_ON;
        two.extend(hex(HEARTBEAT));
        assert_eq!(run_one::<PfcpDissector>(&f, &two).0, Probe::Certain);
    }

    #[test]
    fn other_datagrams_are_not_pfcp() {
        let f = udp([8805, 8805]);
        assert_eq!(run_one::<PfcpDissector>(&udp([40000, 8806]), &hex(HEARTBEAT)).0, Probe::NotForUs);
        // Version 2 (GTPv2-C's first octet); message type 20; a length past the datagram; two
        // messages without FO; a SEID header longer than the length.
        for (at, value) in [(0, 0x41), (1, 20), (3, 0x0d)] {
            let mut p = hex(HEARTBEAT);
            p[at] = value;
            assert_eq!(run_one::<PfcpDissector>(&f, &p).0, Probe::NotForUs, "byte {at} = {value:#x}");
        }
        let two = [hex(HEARTBEAT), hex(HEARTBEAT)].concat();
        assert_eq!(run_one::<PfcpDissector>(&f, &two).0, Probe::NotForUs);
        assert_eq!(run_one::<PfcpDissector>(&f, &hex("21010008000001000000000000")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<PfcpDissector>(&udp([1, 8805]), &[p]);
        }
    }
}
