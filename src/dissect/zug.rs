//! The UDP protocol nDPI names `ZUG`. The wire fact nDPI applies to every UDP flow
//! (docs/ARCHITECTURE.md, "nDPI's signatures are wire facts"): a datagram starting with the
//! bytes 00 7a 55 47 ("\0zUG") followed by 0x10. On the wire the first two of those bytes are a
//! 16-bit big-endian length equal to the datagram's (0x007a in nDPI's 122-byte datagrams, 0x019a
//! in a 410-byte one of the same flows), so flowsieve reads them as that length and keeps the
//! fixed `UG` and 0x10 after it: the length rule is at least as tight as nDPI's constant. No port
//! hint: nDPI names it from the bytes alone.

use super::reader::be_u16_at;
use super::{protocol, Dissector, Probe, Segment, Transports};

/// The fixed bytes after the length.
const MAGIC: &[u8] = b"UG\x10";
/// Length field and magic.
const HEADER: usize = 2 + MAGIC.len();

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct ZugDissector;

impl Dissector for ZugDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ZUG;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let sized = be_u16_at(p, 0).is_some_and(|n| usize::from(n) == p.len());
        Probe::certain_if(p.len() > HEADER && sized && p.get(2..HEADER) == Some(MAGIC))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// zug.pcap, 197.130.35.95:39594 → 163.40.238.205:19000 (122 bytes: the first 24 as
    /// captured, the rest filled).
    fn datagram() -> Vec<u8> {
        let mut p = hex("007a554710aea041006ebc2a68b26e7743938878727cb285");
        p.resize(122, 0x3c);
        p
    }

    #[test]
    fn a_zug_datagram_is_zug() {
        let f = udp([39594, 19000]);
        assert_eq!(run_one::<ZugDissector>(&f, &datagram()).0, Probe::Certain);
        truncations::<ZugDissector>(&f, &datagram());
        // The longer datagram of the same framing (0x019a = 410 bytes).
        let mut long = hex("019a554710b98ebf0188b5c659b9721c159cc683a9620c07");
        long.resize(410, 0);
        assert_eq!(run_one::<ZugDissector>(&f, &long).0, Probe::Certain);
    }

    #[test]
    fn near_misses_are_not() {
        let f = udp([39594, 19000]);
        let p = datagram();
        // The length field no longer the datagram's, a changed magic byte, TCP.
        assert_eq!(run_one::<ZugDissector>(&f, &p[..121]).0, Probe::NotForUs);
        for at in 2..5 {
            let mut q = p.clone();
            q[at] ^= 0x01;
            assert_eq!(run_one::<ZugDissector>(&f, &q).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<ZugDissector>(&tcp([39594, 19000]), &p).0, Probe::NotForUs);
        // A DNS query of the same size is not ZUG.
        let mut dns = hex("12340100000100000000000003777777");
        dns.resize(122, 0);
        assert_eq!(run_one::<ZugDissector>(&f, &dns).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<ZugDissector>(&udp([1, 19000]), &[p]);
        }
    }
}
