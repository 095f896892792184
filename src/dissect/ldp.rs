//! The Label Distribution Protocol (LDP, RFC 5036), UDP and TCP port 646.
//!
//! Every LDP PDU starts with a 10-byte header (RFC 5036 §3.1): version 1, the PDU length (the
//! bytes after the version and length fields), and the 6-byte LDP identifier. Messages follow,
//! each a 16-bit type (the top bit is the U bit) and a length. The probe wants version 1, a PDU
//! length that fits the segment (exactly, on UDP) and a first message type RFC 5036 defines.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const VERSION: u16 = 1;
/// Version, PDU length and LDP identifier.
const HEADER: usize = 10;
/// Message type and length.
const MESSAGE_HEADER: usize = 4;
/// Message types of RFC 5036 §3.5 (Notification, Hello, Initialization, KeepAlive, Address,
/// Address Withdraw, Label Mapping, Label Request, Label Withdraw, Label Release, Label Abort
/// Request).
const MESSAGE_TYPES: [u16; 11] =
    [0x0001, 0x0100, 0x0200, 0x0201, 0x0300, 0x0301, 0x0400, 0x0401, 0x0402, 0x0403, 0x0404];

/// LDP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct LdpDissector;

impl Dissector for LdpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::LDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_tcp() || flow.is_udp()) || be_u16_at(p, 0).is_some_and(|v| v != VERSION) {
            return Probe::NotForUs;
        }
        let (Some(length), Some(kind), Some(message_length)) =
            (be_u16_at(p, 2), be_u16_at(p, HEADER), be_u16_at(p, 12))
        else {
            return if flow.is_tcp() && !p.is_empty() && p[0] == 0 { Probe::Unsure } else { Probe::NotForUs };
        };
        let pdu = usize::from(length) + 4;
        let fits = if flow.is_udp() { pdu == p.len() } else { pdu <= p.len() };
        let message_fits = HEADER + MESSAGE_HEADER + usize::from(message_length) <= pdu;
        Probe::certain_if(fits && message_fits && MESSAGE_TYPES.contains(&(kind & 0x7fff)))
    }

    const PORTS: Ports = Ports::both(&[646]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn hello_and_initialization() {
        // ldp.pcap: 10.0.0.2:646 → 224.0.0.2:646, a link Hello.
        let hello = hex("0001001e0a0000060000010000140000000004000004000f0000040100040a000006");
        assert_eq!(run_one::<LdpDissector>(&udp([646, 646]), &hello).0, Probe::Certain);
        // 10.0.1.1:45334 → 10.0.0.6:646: the session's Initialization message.
        let init = hex("000100200a000101000002000016000000020500000e000100b4000000000a0000060000");
        let f = tcp([45334, 646]);
        assert_eq!(run_one::<LdpDissector>(&f, &init).0, Probe::Certain);
        truncations::<LdpDissector>(&f, &init);
        assert_eq!(run_one::<LdpDissector>(&f, &init[..6]).0, Probe::Unsure);
        // On UDP the PDU is the whole datagram.
        assert_eq!(run_one::<LdpDissector>(&udp([646, 646]), &hello[..30]).0, Probe::NotForUs);
    }

    #[test]
    fn other_payloads_are_not_ldp() {
        let f = tcp([45334, 646]);
        let mut wrong_type = hex("000100200a000101000002000016000000020500000e000100b4000000000a0000060000");
        wrong_type[10] = 0x09;
        assert_eq!(run_one::<LdpDissector>(&f, &wrong_type).0, Probe::NotForUs);
        assert_eq!(run_one::<LdpDissector>(&f, b"SSH-2.0-OpenSSH_9.0\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<LdpDissector>(&tcp([1, 646]), std::slice::from_ref(&p));
            no_panic::<LdpDissector>(&udp([1, 646]), &[p]);
        }
    }
}
