//! Omron's FINS (Factory Interface Network Service), the PLC messaging protocol over UDP and
//! TCP port 9600. Not in Netify's table, so a flowsieve-only ID with nDPI's name `FINS`.
//!
//! FINS/UDP carries a FINS frame as is: a 10-byte header, the ICF (0x80 a command wanting a
//! response, 0xC0 or 0xC1 a response), a reserved zero, the gateway count 2, the destination
//! and source network, node and unit addresses, the service ID, then the command code. nDPI
//! applies these wire facts to all UDP traffic: one of those ICFs, the reserved byte zero, a
//! gateway count of 2, networks of at most 0x7F and units 0x00, 0xFE, 0xE1 or 0x10–0x1F (the
//! CPU unit, the controller link, the inner board, CPU bus units); flowsieve does the same
//! and requires the 2-byte command code after the header. FINS/TCP wraps each frame in a
//! 16-byte header: the magic `FINS`, a 32-bit length of the bytes after it, a 32-bit command
//! (0 and 1 the client's and server's node address exchange, 2 a FINS frame, 3 an error
//! notice, 6 connection confirmation) and a 32-bit error code. nDPI takes a TCP payload of
//! at least 20 bytes starting `FINS`; flowsieve also checks the command and that the lengths
//! chain (each message at least the 8 bytes of command and error code, the last one allowed
//! to continue in the next segment).

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const MAGIC: &[u8] = b"FINS";
const ICFS: [u8; 3] = [0x80, 0xc0, 0xc1];
const GATEWAYS: u8 = 2;
const MAX_NETWORK: u8 = 0x7f;
const UDP_HEADER: usize = 10;
const COMMAND_CODE: usize = 2;
const TCP_MIN: usize = 20;
const TCP_HEADER: usize = 8;
const TCP_COMMANDS: [u32; 5] = [0, 1, 2, 3, 6];
/// Command and error code, counted by the length field.
const TCP_MIN_LEN: usize = 8;

/// FINS needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct FinsDissector;

fn unit(u: u8) -> bool {
    matches!(u, 0x00 | 0xfe | 0xe1 | 0x10..=0x1f)
}

fn udp_frame(p: &[u8]) -> bool {
    match p.get(..UDP_HEADER) {
        Some(&[icf, rsv, gct, dna, _, da2, sna, _, sa2, _]) => {
            p.len() >= UDP_HEADER + COMMAND_CODE
                && ICFS.contains(&icf)
                && rsv == 0
                && gct == GATEWAYS
                && dna <= MAX_NETWORK
                && sna <= MAX_NETWORK
                && unit(da2)
                && unit(sa2)
        }
        _ => false,
    }
}

fn tcp_frames(mut p: &[u8]) -> bool {
    if p.len() < TCP_MIN {
        return false;
    }
    while !p.is_empty() {
        let (Some(len), Some(command)) = (be_u32_at(p, 4), be_u32_at(p, TCP_HEADER)) else { return false };
        let Ok(len) = usize::try_from(len) else { return false };
        if !p.starts_with(MAGIC) || len < TCP_MIN_LEN || !TCP_COMMANDS.contains(&command) {
            return false;
        }
        match p.get(TCP_HEADER + len..) {
            Some(rest) => p = rest,
            None => return true, // continues in the next segment
        }
    }
    true
}

impl Dissector for FinsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::FINS;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[b'F', 0x80, 0xc0, 0xc1]);
    const PORTS: Ports = Ports::both(&[9600]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if((flow.is_udp() && udp_frame(p)) || (flow.is_tcp() && tcp_frames(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A memory area read (0101) from node 0x22 to node 0x0a, both CPU units on network 0.
    const READ: &[u8] = &[0x80, 0, 2, 0, 0x0a, 0, 0, 0x22, 0, 0x01, 0x01, 0x01, 0x82, 0, 0x64, 0, 0, 0x0a];

    /// The client's node address request over TCP (length 12: command, error, node 0).
    fn node_request() -> Vec<u8> {
        [MAGIC, &[0, 0, 0, 12], &[0; 4], &[0; 4], &[0; 4]].concat()
    }

    #[test]
    fn fins_frames() {
        let u = udp([40000, 9600]);
        assert_eq!(run_one::<FinsDissector>(&u, READ).0, Probe::Certain);
        let mut response = READ.to_vec();
        response[0] = 0xc0;
        assert_eq!(run_one::<FinsDissector>(&u, &response).0, Probe::Certain);
        truncations::<FinsDissector>(&u, READ);
        let t = tcp([40000, 9600]);
        assert_eq!(run_one::<FinsDissector>(&t, &node_request()).0, Probe::Certain);
        // A FINS frame send (command 2) carrying the read, and two messages in one segment.
        let send = [MAGIC, &(8 + READ.len() as u32).to_be_bytes(), &[0, 0, 0, 2], &[0; 4], READ].concat();
        assert_eq!(run_one::<FinsDissector>(&t, &send).0, Probe::Certain);
        assert_eq!(run_one::<FinsDissector>(&t, &[node_request(), send.clone()].concat()).0, Probe::Certain);
        assert_eq!(run_one::<FinsDissector>(&t, &send[..24]).0, Probe::Certain);
        truncations::<FinsDissector>(&t, &send);
    }

    #[test]
    fn near_misses_are_not_fins() {
        let u = udp([40000, 9600]);
        // Another ICF, a reserved byte, a gateway count, a network above 0x7F, a unit 0x20.
        for (at, value) in [(0, 0x81), (1, 1), (2, 7), (3, 0x80), (5, 0x20), (8, 0x20)] {
            let mut p = READ.to_vec();
            p[at] = value;
            assert_eq!(run_one::<FinsDissector>(&u, &p).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<FinsDissector>(&u, &READ[..11]).0, Probe::NotForUs);
        let t = tcp([40000, 9600]);
        let mut bad_command = node_request();
        bad_command[11] = 4;
        let mut short = node_request();
        short[7] = 4;
        let mut magic = node_request();
        magic[3] = b'X';
        for p in [bad_command, short, magic, node_request()[..19].to_vec()] {
            assert_eq!(run_one::<FinsDissector>(&t, &p).0, Probe::NotForUs, "{p:02x?}");
        }
        assert_eq!(run_one::<FinsDissector>(&t, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<FinsDissector>(&udp([1, 9600]), std::slice::from_ref(&p));
            no_panic::<FinsDissector>(&tcp([1, 9600]), &[[MAGIC, &p[..]].concat()]);
        }
    }
}
