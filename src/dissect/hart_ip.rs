//! HART-IP, the FieldComm Group's HART protocol over IP (HCF_SPEC-85), UDP and TCP port 5094.
//!
//! Every message starts with an 8-byte header: the version (1), the message type (request 0,
//! response 1, publish 2, error 3, NAK 15), the message ID (session initiate 0, session close
//! 1, keep alive 2, HART PDU 3, discovery 128), a status byte, a 16-bit sequence number and
//! the 16-bit byte count of the whole message, header included. The probe wants that header
//! with a byte count equal to the segment (or, on TCP, ending inside it).

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 8;
const VERSION: u8 = 1;
const TYPES: [u8; 5] = [0, 1, 2, 3, 15];
const MESSAGE_IDS: [u8; 5] = [0, 1, 2, 3, 128];

/// HART-IP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct HartIpDissector;

impl Dissector for HartIpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::HART_IP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let start_ok = p.first() == Some(&VERSION)
            && p.get(1).is_none_or(|t| TYPES.contains(t))
            && p.get(2).is_none_or(|m| MESSAGE_IDS.contains(m));
        if !(flow.is_tcp() || flow.is_udp()) || !start_ok {
            return Probe::NotForUs;
        }
        let Some(count) = be_u16_at(p, 6).map(usize::from) else {
            return if flow.is_tcp() { Probe::Unsure } else { Probe::NotForUs };
        };
        let fits = if flow.is_udp() { count == p.len() } else { count >= HEADER && count <= p.len() };
        Probe::certain_if(fits)
    }

    const PORTS: Ports = Ports::both(&[5094]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn sessions_name_the_flow() {
        // hart_ip.pcap, 192.168.0.101:49905 → 192.168.0.10:5094: Session Initiate, its
        // response, then a HART PDU request.
        let f = udp([49905, 5094]);
        let initiate = hex("010000000002000d0100007530");
        assert_eq!(run_one::<HartIpDissector>(&f, &initiate).0, Probe::Certain);
        assert_eq!(run_one::<HartIpDissector>(&f, &hex("010100000002000d010000ea60")).0, Probe::Certain);
        assert_eq!(run_one::<HartIpDissector>(&f, &hex("010003000003001182264e0000d2000038")).0, Probe::Certain);
        let t = tcp([49559, 5094]);
        assert_eq!(run_one::<HartIpDissector>(&t, &initiate).0, Probe::Certain);
        assert_eq!(run_one::<HartIpDissector>(&t, &initiate[..5]).0, Probe::Unsure);
        truncations::<HartIpDissector>(&t, &initiate);
    }

    #[test]
    fn other_payloads_are_not_hart_ip() {
        let f = udp([49905, 5094]);
        let initiate = hex("010000000002000d0100007530");
        assert_eq!(run_one::<HartIpDissector>(&f, &initiate[..12]).0, Probe::NotForUs, "count disagrees");
        let mut p = initiate.clone();
        p[0] = 2;
        assert_eq!(run_one::<HartIpDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = initiate.clone();
        p[1] = 7;
        assert_eq!(run_one::<HartIpDissector>(&f, &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<HartIpDissector>(&udp([1, 5094]), std::slice::from_ref(&p));
            no_panic::<HartIpDissector>(&tcp([1, 5094]), &[p]);
        }
    }
}
