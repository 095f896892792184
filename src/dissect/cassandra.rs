//! Apache Cassandra: the CQL native protocol (TCP port 9042) and the internode messaging
//! protocol (TCP port 7000).
//!
//! A CQL frame starts with a 9-byte header (the protocol's `native_protocol_v3/v4/v5.spec`):
//! the version (3–5, with the top bit set in responses), flags, a 16-bit stream, an opcode and
//! a 32-bit body length. A connection opens with OPTIONS or STARTUP, answered by SUPPORTED,
//! READY, AUTHENTICATE or ERROR: the probe wants one of those with a length that agrees with
//! the segment. Internode connections open with Cassandra's 32-bit protocol magic `CA552DFA`.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 9;
/// The internode messaging protocol's magic number.
const INTERNODE_MAGIC: [u8; 4] = [0xca, 0x55, 0x2d, 0xfa];
/// Flags the specifications define (compression, tracing, custom payload, warning, beta).
const FLAGS: u8 = 0x1f;
/// Opcodes that open a connection: STARTUP and OPTIONS from the client; ERROR, READY,
/// AUTHENTICATE and SUPPORTED from the server.
const REQUESTS: [u8; 2] = [0x01, 0x05];
const RESPONSES: [u8; 4] = [0x00, 0x02, 0x03, 0x06];
/// Far above any opening frame.
const MAX_BODY: u32 = 1 << 16;

/// Cassandra needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct CassandraDissector;

/// `p` is one whole opening CQL frame.
fn cql_frame(p: &[u8]) -> bool {
    let (Some(&version), Some(&flags), Some(&opcode), Some(length)) = (p.first(), p.get(1), p.get(4), be_u32_at(p, 5))
    else {
        return false;
    };
    let opcodes: &[u8] = match version {
        3..=5 => &REQUESTS,
        0x83..=0x85 => &RESPONSES,
        _ => return false,
    };
    flags & !FLAGS == 0 && opcodes.contains(&opcode) && length < MAX_BODY && length as usize == p.len() - HEADER
}

impl Dissector for CassandraDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CASSANDRA;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() {
            return Probe::NotForUs;
        }
        if p.starts_with(&INTERNODE_MAGIC) {
            return Probe::Certain;
        }
        if p.len() < HEADER {
            let opening = matches!(p[0], 3..=5 | 0x83..=0x85) || INTERNODE_MAGIC.starts_with(p);
            return if opening { Probe::Unsure } else { Probe::NotForUs };
        }
        Probe::certain_if(cql_frame(p))
    }

    const PORTS: Ports = Ports::tcp(&[9042, 7000]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn opening_frames_name_the_flow() {
        // cassandra.pcap, 127.0.0.1:46536 → 127.0.0.1:9042: OPTIONS (v4), then SUPPORTED.
        let f = tcp([46536, 9042]);
        let options = hex("040000000500000000");
        assert_eq!(run_one::<CassandraDissector>(&f, &options).0, Probe::Certain);
        let supported = hex(concat!(
            "8400000006000000340002000b434f4d5052455353494f4e00020006736e6170707900036c7a34000b",
            "43514c5f56455253494f4e00010005332e332e31"
        ));
        assert_eq!(run_one::<CassandraDissector>(&f, &supported).0, Probe::Certain);
        // 198.18.0.3:37892 → 198.18.0.2:9042: OPTIONS in protocol v5.
        assert_eq!(run_one::<CassandraDissector>(&f, &hex("050000000500000000")).0, Probe::Certain);
        // 198.18.0.2:37184 → 198.18.0.3:7000: an internode connection's first bytes.
        let internode = hex("ca552dfa0c0a0c1106c61200021b58f3cb19b3");
        assert_eq!(run_one::<CassandraDissector>(&tcp([37184, 7000]), &internode).0, Probe::Certain);
        truncations::<CassandraDissector>(&f, &options);
        assert_eq!(run_one::<CassandraDissector>(&f, &options[..4]).0, Probe::Unsure);
    }

    #[test]
    fn other_frames_are_not_cassandra() {
        let f = tcp([46536, 9042]);
        // A QUERY as the first frame, a length past the segment, an unknown version.
        assert_eq!(run_one::<CassandraDissector>(&f, &hex("040000000700000000")).0, Probe::NotForUs);
        assert_eq!(run_one::<CassandraDissector>(&f, &hex("040000000500000004")).0, Probe::NotForUs);
        assert_eq!(run_one::<CassandraDissector>(&f, &hex("060000000500000000")).0, Probe::NotForUs);
        assert_eq!(run_one::<CassandraDissector>(&udp([1, 9042]), &hex("040000000500000000")).0, Probe::NotForUs);
        assert_eq!(run_one::<CassandraDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<CassandraDissector>(&tcp([1, 9042]), &[p]);
        }
    }
}
