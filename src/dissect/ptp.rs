//! The Precision Time Protocol version 2 (PTPv2, IEEE 1588-2008) over UDP: event messages to
//! port 319, general messages to port 320 (IEEE 1588 Annex D and E).
//!
//! Every message starts with a 34-byte common header: the transport-specific nibble and the
//! message type (Sync 0, Delay_Req 1, Pdelay_Req 2, Pdelay_Resp 3, Follow_Up 8, Delay_Resp 9,
//! Pdelay_Resp_Follow_Up 10, Announce 11, Signaling 12, Management 13), the version (2 in the
//! low nibble), the message length, the domain, flags, the correction field, the source port
//! identity, a sequence ID, the control field and the log message interval. The probe wants
//! version 2, a defined type and a message length that fits the datagram (which may carry
//! padding after it), on a PTP port.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 34;
const VERSION: u8 = 2;
const MESSAGE_TYPES: [u8; 10] = [0, 1, 2, 3, 8, 9, 10, 11, 12, 13];

/// PTP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct PtpDissector;

impl Dissector for PtpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::PTPV2;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_udp() || !Self::port_hint(flow) || p.len() < HEADER {
            return Probe::NotForUs;
        }
        let length_ok = be_u16_at(p, 2).is_some_and(|n| (HEADER..=p.len()).contains(&usize::from(n)));
        Probe::certain_if(p[1] & 0x0f == VERSION && MESSAGE_TYPES.contains(&(p[0] & 0x0f)) && length_ok)
    }

    const PORTS: Ports = Ports::udp(&[319, 320]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn ptp_messages_name_the_flow() {
        // ptpv2.pcap, [fe80::20:9400:d]:320 → [fe80::2b0:aeff:fe01:f921]:320: a Signaling
        // message (54 bytes in a 56-byte datagram), its start; and a 44-byte Sync to port 319.
        let mut signaling = hex("0c02003600000400000000000000000000000000002094fffe00000d0001000105ffffffffffffff");
        signaling.resize(56, 0);
        assert_eq!(run_one::<PtpDissector>(&udp([320, 320]), &signaling).0, Probe::Certain);
        let mut sync = hex("0002002c0000040000000000000000000000000000b0aefffe01f92000010001007f000041bf4170");
        sync.resize(44, 0);
        assert_eq!(run_one::<PtpDissector>(&udp([319, 319]), &sync).0, Probe::Certain);
        truncations::<PtpDissector>(&udp([320, 320]), &signaling);
    }

    #[test]
    fn other_payloads_are_not_ptp() {
        let mut signaling = hex("0c02003600000400000000000000000000000000002094fffe00000d0001000105ffffffffffffff");
        signaling.resize(56, 0);
        assert_eq!(run_one::<PtpDissector>(&udp([5000, 5001]), &signaling).0, Probe::NotForUs, "off PTP's ports");
        let f = udp([320, 320]);
        let mut p = signaling.clone();
        p[1] = 0x01;
        assert_eq!(run_one::<PtpDissector>(&f, &p).0, Probe::NotForUs, "PTPv1");
        assert_eq!(run_one::<PtpDissector>(&f, &signaling[..50]).0, Probe::NotForUs, "message past the datagram");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<PtpDissector>(&udp([319, 319]), &[p]);
        }
    }
}
