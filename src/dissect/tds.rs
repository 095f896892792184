//! Microsoft SQL Server's TDS (MS-TDS §2.2.3.1): an 8-byte packet header (type, status, a
//! big-endian length counting the header, SPID, packet ID, window 0). A flow opens with a
//! PRELOGIN (0x12), a TDS 7 LOGIN (0x10), or, from old clients, a SQL batch, pre-TDS7 login or
//! RPC; the server answers with a tabular result (0x04).

use super::reader::be_len16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const HEADER: usize = 8;

fn is_packet(p: &[u8]) -> bool {
    let Some(h) = p.get(..HEADER) else { return false };
    let Some(len) = be_len16_at(h, 2) else { return false };
    let kind_ok = matches!(h[0], 0x01 | 0x02 | 0x03 | 0x04 | 0x10 | 0x12);
    // Status bits: end of message, ignore, reset connection (MS-TDS §2.2.3.1.2).
    kind_ok && h[1] & !0x1f == 0 && len == p.len() && h[7] == 0
}

/// TDS needs no state.
#[derive(Debug, Default)]
pub struct TdsDissector;

impl Dissector for TdsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MSSQL_TDS;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_tcp() && is_packet(segment.payload))
    }

    const PORTS: Ports = Ports::tcp(&[1433, 1434]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// The server's tabular result in mssql_tds.pcap in nDPI's corpus.
    const RESULT: &str = "0401002200350100fd0100f9000000000000000000fd0000ba000000000000000000";

    #[test]
    fn tabular_result() {
        let m = hex(RESULT);
        let f = tcp([1433, 1111]);
        assert_eq!(run_one::<TdsDissector>(&f, &m).0, Probe::Certain);
        assert_eq!(run_one::<TdsDissector>(&f, &m[..m.len() - 1]).0, Probe::NotForUs);
        truncations::<TdsDissector>(&f, &m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<TdsDissector>(&tcp([1, 1433]), &[p]);
        }
    }
}
