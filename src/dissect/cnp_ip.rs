//! CNP/IP, the LonWorks control network protocol tunnelled over IP (EN 14908-4; IANA
//! `lon-works` UDP 1628/1629). Its common header starts with a 16-bit big-endian packet size
//! (the whole datagram), a version byte (1), then a byte whose low five bits are the packet
//! type. The wire facts nDPI applies to every UDP flow (docs/ARCHITECTURE.md, "nDPI's signatures
//! are wire facts"): a datagram of more than 20 bytes whose size field is its length, whose
//! packet type is 1 (data), whose fifth byte is zero and whose sixth byte's low five bits are
//! below 3. flowsieve also requires the version byte to be 1. No port hint: nDPI names it from
//! the bytes alone.

use super::reader::be_u16_at;
use super::{protocol, Dissector, Probe, Segment, Transports};

const SHORTEST: usize = 20;
const VERSION: u8 = 1;
const DATA_PACKET: u8 = 0x01;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct CnpIpDissector;

impl Dissector for CnpIpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CNP_IP;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.len() <= SHORTEST {
            return Probe::NotForUs;
        }
        let sized = be_u16_at(p, 0).is_some_and(|n| usize::from(n) == p.len());
        let header = p[2] == VERSION && p[3] & 0x1f == DATA_PACKET && p[4] == 0 && p[5] & 0x1f < 3;
        Probe::certain_if(sized && header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// cnp_ip.pcapng, 127.0.0.1:39819 → 127.0.0.1:1628 (32 bytes).
    const DATAGRAM: &str = "00200101000000006b8b45670000000000000000010901aa01a90103810d00ca";

    #[test]
    fn a_data_packet_is_cnp_ip() {
        let f = udp([39819, 1628]);
        assert_eq!(run_one::<CnpIpDissector>(&f, &hex(DATAGRAM)).0, Probe::Certain);
        truncations::<CnpIpDissector>(&f, &hex(DATAGRAM));
    }

    #[test]
    fn near_misses_are_not() {
        let f = udp([39819, 1628]);
        let p = hex(DATAGRAM);
        assert_eq!(run_one::<CnpIpDissector>(&f, &p[..31]).0, Probe::NotForUs);
        for (at, value) in [(2, 2), (3, 0x02), (4, 1), (5, 0x03)] {
            let mut q = p.clone();
            q[at] = value;
            assert_eq!(run_one::<CnpIpDissector>(&f, &q).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<CnpIpDissector>(&tcp([39819, 1628]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<CnpIpDissector>(&udp([1, 1628]), &[p]);
        }
    }
}
