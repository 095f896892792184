//! Siemens S7 communication (S7comm) over ISO transport (RFC 1006 TPKT and ISO 8073 COTP), TCP
//! port 102 (ISO-TSAP).
//!
//! Every packet is a TPKT header (version 3, a zero byte, the 16-bit length of the packet) and
//! a COTP PDU: its length indicator, then the PDU type: connection request `e0`, confirm `d0`,
//! data `f0`. S7comm messages ride in COTP data PDUs and start with the protocol ID `32` and a
//! message type (job 1, ack 2, ack-data 3, userdata 7). The connection setup says ISO transport,
//! not which application: on port 102 the probe waits through it (unsure) and names the flow on
//! the first S7comm header.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const TPKT: [u8; 2] = [0x03, 0x00];
const CONNECT_REQUEST: u8 = 0xe0;
const CONNECT_CONFIRM: u8 = 0xd0;
const DATA: u8 = 0xf0;
const S7_PROTOCOL_ID: u8 = 0x32;
const MESSAGE_TYPES: [u8; 4] = [1, 2, 3, 7];

/// S7comm needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct S7commDissector;

impl Dissector for S7commDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::S7COMM;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || !Self::port_hint(flow) || p.len() < 6 || p[..2] != TPKT {
            return Probe::NotForUs;
        }
        if be_u16_at(p, 2).is_none_or(|n| usize::from(n) != p.len()) {
            return Probe::NotForUs;
        }
        let (li, kind) = (usize::from(p[4]), p[5]);
        match kind {
            CONNECT_REQUEST | CONNECT_CONFIRM if 5 + li == p.len() => Probe::Unsure,
            DATA => {
                let s7 = p.get(5 + li).is_some_and(|&id| id == S7_PROTOCOL_ID)
                    && p.get(6 + li).is_some_and(|t| MESSAGE_TYPES.contains(t));
                Probe::certain_if(s7)
            }
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::tcp(&[102]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_s7_header_names_the_flow() {
        // s7comm.pcap, 192.168.1.10:4185 → 192.168.1.40:102: the COTP connection request, the
        // confirm, then a job (setup communication).
        let f = tcp([4185, 102]);
        assert_eq!(
            run_one::<S7commDissector>(&f, &hex("0300001611e00000000700c1020100c2020102c0010a")).0,
            Probe::Unsure
        );
        assert_eq!(
            run_one::<S7commDissector>(&f, &hex("0300001611d00007000300c0010ac1020100c2020102")).0,
            Probe::Unsure
        );
        let job = hex("0300001902f08032010000020000080000f0000001000101e0");
        assert_eq!(run_one::<S7commDissector>(&f, &job).0, Probe::Certain);
        truncations::<S7commDissector>(&f, &job);
    }

    #[test]
    fn other_iso_transport_is_not_s7() {
        let job = hex("0300001902f08032010000020000080000f0000001000101e0");
        assert_eq!(run_one::<S7commDissector>(&tcp([4185, 3389]), &job).0, Probe::NotForUs, "off port 102");
        let f = tcp([4185, 102]);
        let mut p = job.clone();
        p[7] = 0x72;
        assert_eq!(run_one::<S7commDissector>(&f, &p).0, Probe::NotForUs, "S7comm-plus is another protocol");
        assert_eq!(run_one::<S7commDissector>(&f, &job[..20]).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<S7commDissector>(&tcp([1, 102]), &[p]);
        }
    }
}
