//! The Short Message Peer-to-Peer protocol (SMPP v3.4 and v5.0 specifications), over TCP (2775
//! by IANA, operators' own ports in practice).
//!
//! Every PDU starts with a 16-byte header: the 32-bit length of the whole PDU, the command ID,
//! the command status and a sequence number. A session opens with a bind (bind_receiver 1,
//! bind_transmitter 2, bind_transceiver 9) or an outbind (11) from one side, status zero, whose
//! body starts with the system ID, a printable C string. The probe wants that opening PDU whole.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 16;
const BINDS: [u32; 4] = [0x01, 0x02, 0x09, 0x0b];
/// The specification's largest system ID, with its terminating NUL.
const MAX_SYSTEM_ID: usize = 16;

/// SMPP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct SmppDissector;

impl Dissector for SmppDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SMPP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let (Some(length), Some(command), Some(status)) = (be_u32_at(p, 0), be_u32_at(p, 4), be_u32_at(p, 8)) else {
            return Probe::NotForUs;
        };
        if !flow.is_tcp() || p.len() <= HEADER || usize::try_from(length).ok() != Some(p.len()) {
            return Probe::NotForUs;
        }
        let body = &p[HEADER..];
        let system_id = body
            .iter()
            .position(|&b| b == 0)
            .is_some_and(|end| end < MAX_SYSTEM_ID && body[..end].iter().all(|b| b.is_ascii_graphic() || *b == b' '));
        Probe::certain_if(BINDS.contains(&command) && status == 0 && system_id)
    }

    const PORTS: Ports = Ports::tcp(&[2775]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn binds_name_the_flow() {
        // smpp_in_general.pcap, 10.226.202.118:1770 → 10.226.202.53:9000: bind_transmitter,
        // system ID `abhik`.
        let f = tcp([1770, 9000]);
        let bind = hex("00000028000000020000000000000001616268696b0070617373776f726400534d50500001000000");
        assert_eq!(run_one::<SmppDissector>(&f, &bind).0, Probe::Certain);
        truncations::<SmppDissector>(&f, &bind);
    }

    #[test]
    fn other_payloads_are_not_smpp() {
        let f = tcp([1770, 9000]);
        let bind = hex("00000028000000020000000000000001616268696b0070617373776f726400534d50500001000000");
        assert_eq!(run_one::<SmppDissector>(&f, &bind[..30]).0, Probe::NotForUs);
        let mut p = bind.clone();
        p[7] = 0x04;
        assert_eq!(run_one::<SmppDissector>(&f, &p).0, Probe::NotForUs, "submit_sm does not open a session");
        let mut p = bind.clone();
        p[16] = 0x01;
        assert_eq!(run_one::<SmppDissector>(&f, &p).0, Probe::NotForUs, "a printable system ID");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<SmppDissector>(&tcp([1, 2775]), &[p]);
        }
    }
}
