//! SOME/IP, AUTOSAR's Scalable service-Oriented MiddlewarE over IP (AUTOSAR "SOME/IP Protocol
//! Specification"), over UDP or TCP; its service discovery (SOME/IP-SD) uses port 30490.
//!
//! Every message starts with a 16-byte header: the message ID (service and method), a 32-bit
//! length of what follows the length field, the request ID, the protocol version (1), the
//! interface version, the message type (request, request without return, notification,
//! response or error, with the TP flag 0x20 for segmented messages and the 0x40 acknowledge
//! variants) and a return code (E_OK 0 up to the 0x5e reserved range's end). The probe wants
//! that header with a length that ends inside the segment (a datagram or segment may carry
//! several messages).

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 16;
const PROTOCOL_VERSION: u8 = 1;
/// Message ID, length.
const LENGTH_END: usize = 8;
/// Highest return code: the ones the specification defines and its reserved ranges.
const MAX_RETURN_CODE: u8 = 0x5e;

/// SOME/IP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct SomeipDissector;

/// A message type the specification defines: REQUEST, REQUEST_NO_RETURN, NOTIFICATION,
/// RESPONSE, ERROR, their TP variants (0x20) and the acknowledgements (0x40).
fn message_type(t: u8) -> bool {
    matches!(t & !0x60, 0x00 | 0x01 | 0x02 | 0x80 | 0x81) && t & 0x60 != 0x60
}

impl Dissector for SomeipDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SOMEIP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_tcp() || flow.is_udp()) || p.len() < HEADER {
            return Probe::NotForUs;
        }
        let Some(length) = be_u32_at(p, 4).and_then(|n| usize::try_from(n).ok()) else {
            return Probe::NotForUs;
        };
        let fits = length >= HEADER - LENGTH_END && LENGTH_END.checked_add(length).is_some_and(|end| end <= p.len());
        Probe::certain_if(fits && p[12] == PROTOCOL_VERSION && message_type(p[14]) && p[15] <= MAX_RETURN_CODE)
    }

    const PORTS: Ports = Ports::both(&[30490]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn method_calls_and_segments() {
        // someip-udp-method-call.pcapng: 192.168.0.125:49191 → 192.168.0.1:49201, a REQUEST,
        // and its RESPONSE (type 0x80).
        let f = udp([49191, 49201]);
        let request = hex("1234000800000011000000010101000000000005ababababab");
        assert_eq!(run_one::<SomeipDissector>(&f, &request).0, Probe::Certain);
        let response = hex("1234000800000011000000010101800000000005ababababab");
        assert_eq!(run_one::<SomeipDissector>(&f, &response).0, Probe::Certain);
        // The same capture's service discovery offer to 224.0.0.1:49190, its header.
        let mut sd = hex("ffff810000000140000007dd01010200c0000000000000c001000020123400fc0100000300000000");
        sd.resize(328, 0);
        assert_eq!(run_one::<SomeipDissector>(&udp([49190, 49190]), &sd).0, Probe::Certain);
        // someip-tp.pcap: a segmented (TP) request of 1412 bytes, its header.
        let mut tp = hex("010100090000057c00000005010120000000000100003000000102030405060708090a0b0c0d0e0f");
        tp.resize(1412, 0x11);
        assert_eq!(run_one::<SomeipDissector>(&udp([56772, 18193]), &tp).0, Probe::Certain);
        truncations::<SomeipDissector>(&f, &request);
    }

    #[test]
    fn other_payloads_are_not_someip() {
        let f = udp([49191, 49201]);
        let request = hex("1234000800000011000000010101000000000005ababababab");
        // Cut short of its length, another protocol version, an unknown message type.
        assert_eq!(run_one::<SomeipDissector>(&f, &request[..24]).0, Probe::NotForUs);
        let mut p = request.clone();
        p[12] = 2;
        assert_eq!(run_one::<SomeipDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = request.clone();
        p[14] = 0x03;
        assert_eq!(run_one::<SomeipDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<SomeipDissector>(&f, &[0u8; 24]).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<SomeipDissector>(&udp([1, 30490]), std::slice::from_ref(&p));
            no_panic::<SomeipDissector>(&tcp([1, 30490]), &[p]);
        }
    }
}
