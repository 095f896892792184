//! EtherNet/IP, CIP over TCP/IP (ODVA's encapsulation protocol, TCP and UDP port 44818).
//!
//! Every encapsulation message starts with a 24-byte little-endian header: a command (NOP,
//! ListServices, ListIdentity, ListInterfaces, RegisterSession, UnRegisterSession, SendRRData,
//! SendUnitData, IndicateStatus, Cancel), the length of the data after the header, a session
//! handle, a status, 8 bytes of sender context and 32 bits of options, which must be zero.
//! The probe wants a known command, zero options and a length that fits the segment: exactly,
//! or, on EtherNet/IP's port, with more messages after it.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 24;
/// The encapsulation commands ODVA defines.
const COMMANDS: [u16; 10] = [0x0000, 0x0004, 0x0063, 0x0064, 0x0065, 0x0066, 0x006f, 0x0070, 0x0072, 0x0073];

/// EtherNet/IP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct EthernetIpDissector;

impl Dissector for EthernetIpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ETHERNET_IP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_tcp() || flow.is_udp()) {
            return Probe::NotForUs;
        }
        let Some(header) = p.get(..HEADER) else {
            let known = p.len() >= 2 && COMMANDS.contains(&u16::from_le_bytes([p[0], p[1]]));
            return if flow.is_tcp() && (p.len() < 2 || known) { Probe::Unsure } else { Probe::NotForUs };
        };
        let command = u16::from_le_bytes([header[0], header[1]]);
        let data = usize::from(u16::from_le_bytes([header[2], header[3]]));
        let fits = HEADER + data == p.len() || (HEADER + data < p.len() && Self::port_hint(flow));
        Probe::certain_if(COMMANDS.contains(&command) && le_u32_at(header, 20) == Some(0) && fits)
    }

    const PORTS: Ports = Ports::both(&[44818]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// ethernetIP.pcap, 141.81.0.10:50275 → 141.81.0.83:44818: a SendUnitData with 58 bytes
    /// of data (the header, then the capture's first 16 data bytes and filler).
    fn send_unit_data() -> Vec<u8> {
        let mut p = hex("70003a0000010210000000001a392f000000000000000000000000000a000200a100040009133500");
        p.resize(82, 0);
        p
    }

    #[test]
    fn encapsulation_header_names_the_flow() {
        let f = tcp([50275, 44818]);
        assert_eq!(run_one::<EthernetIpDissector>(&f, &send_unit_data()).0, Probe::Certain);
        assert_eq!(run_one::<EthernetIpDissector>(&tcp([50275, 1]), &send_unit_data()).0, Probe::Certain);
        // Two messages in one segment, on the port.
        let two = [send_unit_data(), send_unit_data()].concat();
        assert_eq!(run_one::<EthernetIpDissector>(&f, &two).0, Probe::Certain);
        truncations::<EthernetIpDissector>(&f, &send_unit_data());
        assert_eq!(run_one::<EthernetIpDissector>(&f, &send_unit_data()[..10]).0, Probe::Unsure);
    }

    #[test]
    fn other_payloads_are_not_ethernet_ip() {
        let f = tcp([50275, 44818]);
        let mut p = send_unit_data();
        p[0] = 0x71;
        assert_eq!(run_one::<EthernetIpDissector>(&f, &p).0, Probe::NotForUs, "unknown command");
        let mut p = send_unit_data();
        p[20] = 1;
        assert_eq!(run_one::<EthernetIpDissector>(&f, &p).0, Probe::NotForUs, "options must be zero");
        assert_eq!(run_one::<EthernetIpDissector>(&f, &send_unit_data()[..40]).0, Probe::NotForUs);
        let two = [send_unit_data(), send_unit_data()].concat();
        assert_eq!(run_one::<EthernetIpDissector>(&tcp([50275, 1]), &two).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<EthernetIpDissector>(&tcp([1, 44818]), &[p]);
        }
    }
}
