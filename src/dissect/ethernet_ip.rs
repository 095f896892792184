//! EtherNet/IP, CIP over TCP/IP (ODVA's encapsulation protocol, TCP and UDP port 44818).
//!
//! Every encapsulation message starts with a 24-byte little-endian header: a command (NOP,
//! ListServices, ListIdentity, ListInterfaces, RegisterSession, UnRegisterSession, SendRRData,
//! SendUnitData, IndicateStatus, Cancel), the length of the data after the header, a session
//! handle, a status, 8 bytes of sender context and 32 bits of options, which must be zero.
//! The probe wants a known command, zero options and a length that fits the segment: exactly,
//! or, on EtherNet/IP's port, with more messages after it.
//!
//! Implicit (I/O) messages travel apart, in UDP datagrams to port 2222 (IANA `EtherNet-IP-1`),
//! with no encapsulation header: just the Common Packet Format, a little-endian item count
//! then items of a type and a length. A class 0/1 I/O datagram holds two: an address item
//! (sequenced address `8002` of 8 bytes, or connected address `00a1` of 4) and the connected
//! data item `00b1` whose length runs to the end of the datagram. On port 2222 the probe wants
//! exactly that shape, and `parse` names the flow `CIP` (nDPI's name for CIP I/O).

use super::reader::le_u32_at;
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment};
use crate::facts::FlowFacts;

const HEADER: usize = 24;
/// The encapsulation commands ODVA defines.
const COMMANDS: [u16; 10] = [0x0000, 0x0004, 0x0063, 0x0064, 0x0065, 0x0066, 0x006f, 0x0070, 0x0072, 0x0073];

/// The UDP port of implicit (I/O) messages.
const IO_PORT: u16 = 2222;
/// Common Packet Format item types: sequenced and connected address, connected data.
const SEQUENCED_ADDRESS: u16 = 0x8002;
const CONNECTED_ADDRESS: u16 = 0x00a1;
const CONNECTED_DATA: u16 = 0x00b1;

/// EtherNet/IP needs no state: the probe decides, `parse` names CIP I/O.
#[derive(Debug, Default)]
pub struct EthernetIpDissector;

/// `p` is a whole class 0/1 I/O datagram on port 2222: two items, an address item of its
/// type's length, then connected data to the end.
fn io_datagram(flow: &FlowInfo, p: &[u8]) -> bool {
    let le16 = |at: usize| p.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let address_ok =
        matches!((le16(2), le16(4)), (Some(SEQUENCED_ADDRESS), Some(8)) | (Some(CONNECTED_ADDRESS), Some(4)));
    if !(flow.is_udp() && flow.has_port(IO_PORT) && le16(0) == Some(2) && address_ok) {
        return false;
    }
    let data = 6 + usize::from(le16(4).unwrap_or(0));
    le16(data) == Some(CONNECTED_DATA) && le16(data + 2).is_some_and(|n| data + 4 + usize::from(n) == p.len())
}

impl Dissector for EthernetIpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ETHERNET_IP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_tcp() || flow.is_udp()) {
            return Probe::NotForUs;
        }
        if io_datagram(flow, p) {
            return Probe::Certain;
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

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let flow = super::registry::flow_info(facts);
        if io_datagram(&flow, segment.payload) {
            facts.protocol = protocol::CIP;
        }
        Parsed::Done
    }
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

    /// cip_io.pcap, 192.168.5.62:2222 ↔ 192.168.5.50:2222: an I/O datagram each way (sequenced
    /// address item, connected data of 12 and 16 bytes).
    const IO: [&str; 2] = [
        "020002800800787b3a00e8cb5e04b1000c000300fdffffffffffffff0000",
        "020002800800ebb4917654cc5e04b1001000c6e401000000fdffffffffffffff0000",
    ];

    #[test]
    fn io_datagrams_are_cip() {
        let f = udp([2222, 2222]);
        for p in IO {
            let (probe, _, facts) = run_one::<EthernetIpDissector>(&f, &hex(p));
            assert_eq!((probe, facts.protocol), (Probe::Certain, protocol::CIP), "{p}");
            truncations::<EthernetIpDissector>(&f, &hex(p));
        }
        // A connected address item of 4 bytes instead of the sequenced one.
        let p = hex("0200a10004000a0b0c0db1000200beef");
        assert_eq!(run_one::<EthernetIpDissector>(&f, &p).2.protocol, protocol::CIP);
        // Off port 2222; a data length short of the datagram; a third item; over TCP.
        assert_eq!(run_one::<EthernetIpDissector>(&udp([2223, 5000]), &hex(IO[0])).0, Probe::NotForUs);
        let mut p = hex(IO[0]);
        p.push(0);
        assert_eq!(run_one::<EthernetIpDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = hex(IO[0]);
        p[0] = 3;
        assert_eq!(run_one::<EthernetIpDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<EthernetIpDissector>(&tcp([2222, 2222]), &hex(IO[0])).0, Probe::NotForUs);
        // The encapsulation keeps its name.
        assert_eq!(
            run_one::<EthernetIpDissector>(&tcp([50275, 44818]), &send_unit_data()).2.protocol,
            protocol::UNKNOWN
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<EthernetIpDissector>(&tcp([1, 44818]), std::slice::from_ref(&p));
            no_panic::<EthernetIpDissector>(&udp([2222, 2222]), &[p]);
        }
    }
}
