//! Flow export: Cisco NetFlow version 5 and version 9 (RFC 3954) and IPFIX (NetFlow version 10,
//! RFC 7011), over UDP. Each datagram starts with a 16-bit version. The probe checks the
//! header's own sizes:
//! - version 5: a record count of 1–30 and a datagram of exactly 24 bytes of header plus 48
//!   per record;
//! - version 9: a 20-byte header and a first FlowSet whose ID is 0 or 1 (templates) or 256 and
//!   up (data), its length at least 4 and inside the datagram;
//! - IPFIX: the message length (the second 16-bit word) equal to the datagram, a 16-byte header
//!   and a first Set whose ID is 2 or 3 (templates) or 256 and up, its length inside.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

/// The first (Flow)Set after a header of `header` bytes: its ID is a template set's
/// (`templates`) or a data set's, and its length fits.
fn first_set_fits(p: &[u8], header: usize, templates: [u16; 2]) -> bool {
    let (Some(id), Some(length)) = (be_u16_at(p, header), be_u16_at(p, header + 2)) else {
        return false;
    };
    let length = usize::from(length);
    (templates.contains(&id) || id >= 256) && length >= 4 && header + length <= p.len()
}

/// NetFlow needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct NetflowDissector;

impl Dissector for NetflowDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NETFLOW;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let Some(version) = be_u16_at(p, 0) else {
            return Probe::NotForUs;
        };
        let count = be_u16_at(p, 2).map_or(0, usize::from);
        Probe::certain_if(match version {
            5 => (1..=30).contains(&count) && p.len() == 24 + 48 * count,
            9 => count >= 1 && first_set_fits(p, 20, [0, 1]),
            10 => count == p.len() && first_set_fits(p, 16, [2, 3]),
            _ => false,
        })
    }

    /// IANA's `ipfix` port 4739, and 2055, Cisco's customary NetFlow collector port.
    const PORTS: Ports = Ports::udp(&[2055, 4739]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// netflow-fritz.pcap, 192.168.0.1:23384 → 192.168.1.1:2055: an IPFIX message of 180 bytes
    /// (its first 24, then the rest filled) with a template set (ID 2) of 112 bytes.
    fn ipfix() -> Vec<u8> {
        let mut p = hex("000a00b4594ac59d025965c4000401000002007001cd0016");
        p.resize(180, 0);
        p
    }

    #[test]
    fn export_headers_name_the_flow() {
        let f = udp([23384, 2055]);
        assert_eq!(run_one::<NetflowDissector>(&f, &ipfix()).0, Probe::Certain);
        let mut v5 = hex("00050002");
        v5.resize(24 + 2 * 48, 0);
        assert_eq!(run_one::<NetflowDissector>(&f, &v5).0, Probe::Certain);
        let mut v9 = hex("00090001");
        v9.resize(20, 0);
        v9.extend_from_slice(&hex("0000000c01000002"));
        v9.resize(32, 0);
        assert_eq!(run_one::<NetflowDissector>(&f, &v9).0, Probe::Certain);
        truncations::<NetflowDissector>(&f, &ipfix());
    }

    #[test]
    fn headers_whose_sizes_disagree_are_not_netflow() {
        let f = udp([23384, 2055]);
        assert_eq!(run_one::<NetflowDissector>(&f, &ipfix()[..179]).0, Probe::NotForUs, "IPFIX length");
        let mut p = ipfix();
        p[16] = 0;
        p[17] = 7;
        assert_eq!(run_one::<NetflowDissector>(&f, &p).0, Probe::NotForUs, "set ID 7");
        let mut v5 = hex("00050002");
        v5.resize(24 + 48, 0);
        assert_eq!(run_one::<NetflowDissector>(&f, &v5).0, Probe::NotForUs, "v5 count");
        assert_eq!(run_one::<NetflowDissector>(&tcp([23384, 2055]), &ipfix()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<NetflowDissector>(&udp([1, 2055]), &[p]);
        }
    }
}
