//! KNXnet/IP, building automation over IP (KNX standard, volume 3/8), UDP and TCP port 3671.
//!
//! Every frame starts with a 6-byte header: its length (6), the protocol version (0x10), a
//! 16-bit service type (core 0x02xx, device management 0x03xx, tunnelling 0x04xx, routing
//! 0x05xx, remote logging and configuration 0x06xx–0x07xx, object server 0xf0xx) and the
//! 16-bit total length of the frame. The probe wants that header with a total length equal to
//! the datagram (on TCP, ending inside the segment).

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: [u8; 2] = [0x06, 0x10];
const HEADER_LEN: usize = 6;
/// Service type families (the high byte).
const FAMILIES: [u8; 7] = [0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0xf0];

/// KNXnet/IP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct KnxnetIpDissector;

impl Dissector for KnxnetIpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::KNXNET_IP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_tcp() || flow.is_udp()) || p.len() < HEADER_LEN || p[..2] != HEADER || !FAMILIES.contains(&p[2]) {
            return Probe::NotForUs;
        }
        let total = be_u16_at(p, 4).map_or(0, usize::from);
        let fits = if flow.is_udp() { total == p.len() } else { total >= HEADER_LEN && total <= p.len() };
        Probe::certain_if(fits)
    }

    const PORTS: Ports = Ports::both(&[3671]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn knxnet_frames_name_the_flow() {
        // knxip.pcapng, 192.168.88.231:41343 → 224.0.23.12:3671: a search request (0x020b);
        // 192.168.1.28:3671 → 192.168.1.24:54445: two tunnelling acknowledgements (0x0423, 0x0425).
        let search = hex("0610020b00140801c0a858e7a17f060401020607");
        assert_eq!(run_one::<KnxnetIpDissector>(&udp([41343, 3671]), &search).0, Probe::Certain);
        let tcp_frames = hex("06100423000e040102000600108706100425000e0401030006001087");
        assert_eq!(run_one::<KnxnetIpDissector>(&tcp([3671, 54445]), &tcp_frames).0, Probe::Certain);
        truncations::<KnxnetIpDissector>(&udp([41343, 3671]), &search);
    }

    #[test]
    fn other_payloads_are_not_knxnet() {
        let f = udp([41343, 3671]);
        let search = hex("0610020b00140801c0a858e7a17f060401020607");
        assert_eq!(run_one::<KnxnetIpDissector>(&f, &search[..18]).0, Probe::NotForUs, "length disagrees");
        let mut p = search.clone();
        p[2] = 0x09;
        assert_eq!(run_one::<KnxnetIpDissector>(&f, &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<KnxnetIpDissector>(&udp([1, 3671]), std::slice::from_ref(&p));
            no_panic::<KnxnetIpDissector>(&tcp([1, 3671]), &[p]);
        }
    }
}
