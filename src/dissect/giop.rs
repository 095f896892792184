//! CORBA's General Inter-ORB Protocol (GIOP, OMG CORBA 3 part 2 §9.4) over TCP (IIOP), and its
//! multicast form MIOP (OMG MIOP specification) over UDP.
//!
//! A GIOP message starts with a 12-byte header: the magic `GIOP`, the version (1.0–1.3), flags
//! (bit 0 the byte order), a message type (Request 0 … Fragment 7) and the 32-bit size of the
//! body in that byte order. A MIOP packet starts with `MIOP` and its version, 1.0 (0x10). The
//! probe wants the magic with a known version, and for GIOP a type and a size that fit.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const GIOP: &[u8] = b"GIOP";
const MIOP: &[u8] = b"MIOP";
const HEADER: usize = 12;
const MAX_TYPE: u8 = 7;
const MIOP_VERSION: u8 = 0x10;

/// GIOP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct GiopDissector;

/// `p` starts with a GIOP message header whose body fits the segment.
fn giop(p: &[u8]) -> bool {
    let Some(h) = p.get(..HEADER) else { return false };
    let size = [h[8], h[9], h[10], h[11]];
    let size = if h[6] & 1 == 0 { u32::from_be_bytes(size) } else { u32::from_le_bytes(size) };
    h.starts_with(GIOP)
        && h[4] == 1
        && h[5] <= 3
        && h[7] <= MAX_TYPE
        && usize::try_from(size).is_ok_and(|n| n <= p.len() - HEADER)
}

impl Dissector for GiopDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CORBA;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_tcp() || flow.is_udp()) || p.is_empty() {
            return Probe::NotForUs;
        }
        if p.starts_with(MIOP) {
            return Probe::certain_if(flow.is_udp() && p.get(4) == Some(&MIOP_VERSION));
        }
        if p.len() < HEADER {
            return if flow.is_tcp() && (p.starts_with(GIOP) || GIOP.starts_with(p)) {
                Probe::Unsure
            } else {
                Probe::NotForUs
            };
        }
        Probe::certain_if(giop(p))
    }

    const PORTS: Ports = Ports::tcp(&[683]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn giop_and_miop_name_the_flow() {
        // corba.pcap, 127.0.1.1:42717 → 127.0.1.1:56899: a GIOP 1.2 Request, 216 bytes of body
        // (its start here, then filler); 10.95.28.46:34477 → :15984, a MIOP packet.
        let f = tcp([42717, 56899]);
        let mut request = hex("47494f5001020000000000d80000000003000000000000000000003c000000000000000100000010");
        request.resize(228, 0);
        assert_eq!(run_one::<GiopDissector>(&f, &request).0, Probe::Certain);
        let miop = hex("4d494f501003e40000000000010000000c00000000000000000000000000000047494f5001020100");
        assert_eq!(run_one::<GiopDissector>(&udp([34477, 15984]), &miop).0, Probe::Certain);
        assert_eq!(run_one::<GiopDissector>(&f, b"GIO").0, Probe::Unsure);
        truncations::<GiopDissector>(&f, &request);
    }

    #[test]
    fn other_payloads_are_not_giop() {
        let f = tcp([42717, 56899]);
        let mut request = hex("47494f5001020000000000d80000000003000000000000000000003c000000000000000100000010");
        request.resize(100, 0);
        assert_eq!(run_one::<GiopDissector>(&f, &request).0, Probe::NotForUs, "body past the segment");
        assert_eq!(run_one::<GiopDissector>(&f, b"GIOP\x02\x00\x00\x00\x00\x00\x00\x00").0, Probe::NotForUs);
        assert_eq!(run_one::<GiopDissector>(&f, b"GET / HTTP/1.1\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<GiopDissector>(&tcp([1, 683]), std::slice::from_ref(&p));
            no_panic::<GiopDissector>(&udp([1, 683]), &[p]);
        }
    }
}
