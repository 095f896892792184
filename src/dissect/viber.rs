//! Viber's own protocol to its servers and between callers (Netify's `Viber`, 144), on the
//! ports nDPI lists as Viber's: TCP 4244, 5242, 5243 and 7985, UDP 4244, 5242, 5243, 7985 and
//! 7987.
//!
//! Wire facts (the signature nDPI applies to every flow, read from its source as a fact about
//! the protocol: docs/ARCHITECTURE.md, "nDPI's signatures are wire facts"): over TCP, a payload
//! of at least 11 bytes whose first 16 bits, little-endian, are its length, with either
//! `fc ff` at bytes 6–7 and `80` at byte 9, or `03 80` at bytes 4–5 and `0a` at byte 10; over
//! UDP, a datagram of more than 5 bytes whose bytes 2–3 are `03 00`, or `01 00` followed by
//! `05 00`, or `09 00` in a 20-byte datagram, or `19 00` or `1b 00` in a 34-byte one. The UDP
//! rules fix only two to four bytes, so flowsieve applies both forms on Viber's ports only
//! (nDPI relies on its probing order instead), and, as nDPI, leaves RTP to the RTP dissector
//! (an RTP version 2 header at the start is not Viber).

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const TCP_SHORTEST: usize = 11;
const UDP_SHORTER_THAN: usize = 6;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct ViberDissector;

fn tcp_message(p: &[u8]) -> bool {
    let sized = p.get(..2).is_some_and(|n| usize::from(u16::from_le_bytes([n[0], n[1]])) == p.len());
    let first = be_u16_at(p, 6) == Some(0xfcff) && p.get(9) == Some(&0x80);
    let second = be_u16_at(p, 4) == Some(0x0380) && p.get(10) == Some(&0x0a);
    p.len() >= TCP_SHORTEST && sized && (first || second)
}

fn udp_datagram(p: &[u8]) -> bool {
    let rtp =
        p.first().is_some_and(|b| b >> 6 == 2) && p.get(1).is_some_and(|&pt| matches!(pt & 0x7f, 0..=34 | 96..=127));
    let kind = p.get(2..4);
    let form = match (p.len(), kind) {
        (_, Some([0x03, 0x00])) => true,
        (_, Some([0x01, 0x00])) => p.get(4..6) == Some(&[0x05, 0x00]),
        (20, Some([0x09, 0x00])) => true,
        (34, Some([0x19 | 0x1b, 0x00])) => true,
        _ => false,
    };
    p.len() >= UDP_SHORTER_THAN && !rtp && form
}

impl Dissector for ViberDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::VIBER;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const NEEDS_PORT: bool = true;
    const PORTS: Ports = Ports { tcp: &[4244, 5242, 5243, 7985], udp: &[4244, 5242, 5243, 7985, 7987] };

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let yes =
            Self::port_hint(flow) && if flow.is_tcp() { tcp_message(p) } else { flow.is_udp() && udp_datagram(p) };
        Probe::certain_if(yes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A TCP message of `len` bytes (little-endian length first) with the first form's bytes.
    fn tcp_first(len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[..2].copy_from_slice(&(len as u16).to_le_bytes());
        p[6..8].copy_from_slice(&[0xfc, 0xff]);
        p[9] = 0x80;
        p
    }

    #[test]
    fn viber_messages_on_its_ports_are_viber() {
        let t = tcp([50000, 5242]);
        assert_eq!(run_one::<ViberDissector>(&t, &tcp_first(24)).0, Probe::Certain);
        let mut second = vec![0u8; 16];
        second[..2].copy_from_slice(&16u16.to_le_bytes());
        second[4..6].copy_from_slice(&[0x03, 0x80]);
        second[10] = 0x0a;
        assert_eq!(run_one::<ViberDissector>(&t, &second).0, Probe::Certain);
        truncations::<ViberDissector>(&t, &tcp_first(24));
        let u = udp([50000, 7985]);
        for p in [
            hex("1a2b030011223344"),
            hex("1a2b01000500aabb"),
            [hex("1a2b0900"), vec![0; 16]].concat(),
            [hex("1a2b1900"), vec![0; 30]].concat(),
            [hex("1a2b1b00"), vec![0; 30]].concat(),
        ] {
            assert_eq!(run_one::<ViberDissector>(&u, &p).0, Probe::Certain, "{p:02x?}");
        }
        assert_eq!(protocol::name_of(protocol::VIBER), "Viber");
    }

    #[test]
    fn near_misses_are_not_viber() {
        let t = tcp([50000, 5242]);
        // A length that disagrees, a changed marker, too short, another port.
        let mut q = tcp_first(24);
        q[0] = 23;
        assert_eq!(run_one::<ViberDissector>(&t, &q).0, Probe::NotForUs);
        let mut q = tcp_first(24);
        q[9] = 0x81;
        assert_eq!(run_one::<ViberDissector>(&t, &q).0, Probe::NotForUs);
        assert_eq!(run_one::<ViberDissector>(&t, &tcp_first(10)).0, Probe::NotForUs);
        assert_eq!(run_one::<ViberDissector>(&tcp([50000, 443]), &tcp_first(24)).0, Probe::NotForUs);
        let u = udp([50000, 7985]);
        for p in [
            hex("1a2b0300aa"),                       // five bytes
            [hex("1a2b0900"), vec![0; 17]].concat(), // 21 bytes
            hex("1a2b01000600aabb"),                 // 01 00 06 00
            hex("80000300aabbccdd00000001"),         // RTP, payload type 0
        ] {
            assert_eq!(run_one::<ViberDissector>(&u, &p).0, Probe::NotForUs, "{p:02x?}");
        }
        assert_eq!(run_one::<ViberDissector>(&udp([50000, 53]), &hex("1a2b030011223344")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<ViberDissector>(&tcp([1, 5242]), std::slice::from_ref(&p));
            no_panic::<ViberDissector>(&udp([1, 7985]), &[p]);
        }
    }
}
