//! OPC UA's binary connection protocol (OPC 10000-6 §7.1, "UA TCP"), TCP port 4840.
//!
//! Every message chunk starts with an 8-byte header: a 3-letter message type (`HEL`, `ACK`,
//! `ERR`, `RHE` for the connection protocol; `OPN`, `MSG`, `CLO` for secure channels), a chunk
//! type (`F` final; `C` and `A` for the secure channel messages) and the 32-bit little-endian
//! size of the chunk, header included. A connection opens with HEL (or the server's reverse
//! hello, RHE), whole in the first segment: the probe wants a type and a size that agrees.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 8;
const CONNECTION_TYPES: [&[u8; 3]; 4] = [b"HEL", b"ACK", b"ERR", b"RHE"];
const CHANNEL_TYPES: [&[u8; 3]; 3] = [b"OPN", b"MSG", b"CLO"];

/// OPC UA needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct OpcuaDissector;

impl Dissector for OpcuaDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::OPC_UA;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let (Some(kind), Some(&chunk), Some(size)) = (p.get(..3), p.get(3), le_u32_at(p, 4)) else {
            return Probe::NotForUs;
        };
        let chunk_ok = if CONNECTION_TYPES.iter().any(|t| &t[..] == kind) {
            chunk == b'F'
        } else {
            CHANNEL_TYPES.iter().any(|t| &t[..] == kind) && matches!(chunk, b'F' | b'C' | b'A')
        };
        let size_ok = usize::try_from(size).is_ok_and(|n| n >= HEADER && n <= p.len());
        Probe::certain_if(flow.is_tcp() && chunk_ok && size_ok)
    }

    const PORTS: Ports = Ports::tcp(&[4840]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn hello_names_the_flow() {
        // opc-ua.pcap, 127.0.0.1:57420 → 127.0.0.1:4840: HEL, 56 bytes (its start, then the
        // endpoint URL's filler).
        let f = tcp([57420, 4840]);
        let mut hello = hex("48454c46380000000000000000000200000002000000004000800000180000006f70632e7463703a");
        hello.resize(56, b'x');
        assert_eq!(run_one::<OpcuaDissector>(&f, &hello).0, Probe::Certain);
        truncations::<OpcuaDissector>(&f, &hello);
    }

    #[test]
    fn other_payloads_are_not_opcua() {
        let f = tcp([57420, 4840]);
        let mut hello = hex("48454c46380000000000000000000200000002000000004000800000180000006f70632e7463703a");
        hello.resize(40, b'x');
        assert_eq!(run_one::<OpcuaDissector>(&f, &hello).0, Probe::NotForUs, "size past the segment");
        assert_eq!(run_one::<OpcuaDissector>(&f, b"HELC\x08\x00\x00\x00").0, Probe::NotForUs);
        assert_eq!(run_one::<OpcuaDissector>(&f, b"HELLO world\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<OpcuaDissector>(&tcp([1, 4840]), &[p]);
        }
    }
}
