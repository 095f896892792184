//! Oracle's Transparent Network Substrate (TNS), the transport of Oracle Net, TCP port 1521.
//!
//! Every TNS packet starts with an 8-byte header: the 16-bit packet length (header included),
//! a 16-bit packet checksum (zero in practice), the packet type, a flags byte and a 16-bit
//! header checksum (zero). A session opens with the client's CONNECT packet (type 1), whose
//! body starts with the TNS version the client speaks and the oldest it is compatible with
//! (300 up: TNS 3.x and later). The probe wants that CONNECT whole.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const CONNECT: u8 = 1;
/// TNS versions of Oracle Net (8i's 300 to today's 31x), with headroom.
const VERSIONS: std::ops::RangeInclusive<u16> = 300..=399;

/// TNS needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct OracleDissector;

impl Dissector for OracleDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ORACLE;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() || p.get(4).is_some_and(|&t| t != CONNECT) {
            return Probe::NotForUs;
        }
        let (Some(length), Some(checksum), Some(header_checksum), Some(version), Some(compatible)) =
            (be_u16_at(p, 0), be_u16_at(p, 2), be_u16_at(p, 6), be_u16_at(p, 8), be_u16_at(p, 10))
        else {
            return Probe::Unsure;
        };
        let ok = usize::from(length) == p.len()
            && checksum == 0
            && header_checksum == 0
            && VERSIONS.contains(&version)
            && VERSIONS.contains(&compatible)
            && compatible <= version;
        Probe::certain_if(ok)
    }

    const PORTS: Ports = Ports::tcp(&[1521]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// oracle12.pcapng, 10.0.2.15:40226 → 10.0.72.139:1521: the CONNECT packet (212 bytes),
    /// its fixed part and the start of its connect data; the rest is the connect string.
    fn connect() -> Vec<u8> {
        let mut p = hex(concat!(
            "00d4000001000000013b012c0c412000ffff7f0800000100008e00460000080041410000000000000000000000",
            "00000000000000000000000000000020000020000000000000284445534352495054494f4e",
        ));
        p.resize(212, b')');
        p
    }

    #[test]
    fn connect_names_the_flow() {
        let f = tcp([40226, 1521]);
        assert_eq!(run_one::<OracleDissector>(&f, &connect()).0, Probe::Certain);
        assert_eq!(run_one::<OracleDissector>(&tcp([40226, 1522]), &connect()).0, Probe::Certain);
        assert_eq!(run_one::<OracleDissector>(&f, &connect()[..8]).0, Probe::Unsure);
        truncations::<OracleDissector>(&f, &connect());
    }

    #[test]
    fn other_packets_are_not_oracle() {
        let f = tcp([40226, 1521]);
        // The server's RESEND (type 11) alone; a CONNECT cut short; version 2.
        assert_eq!(run_one::<OracleDissector>(&f, &hex("000800000b000000")).0, Probe::NotForUs);
        assert_eq!(run_one::<OracleDissector>(&f, &connect()[..100]).0, Probe::NotForUs);
        let mut p = connect();
        p[8] = 0;
        p[9] = 200;
        assert_eq!(run_one::<OracleDissector>(&f, &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<OracleDissector>(&tcp([1, 1521]), &[p]);
        }
    }
}
