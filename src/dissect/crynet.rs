//! CryNetwork, the network protocol of Crytek's CryEngine games, over UDP. The wire fact nDPI
//! applies to every UDP flow (docs/ARCHITECTURE.md, "nDPI's signatures are wire facts"): a
//! datagram whose first byte is 0x3c and ten less than its length (so 70 bytes), with byte 16
//! equal to 1, byte 20 equal to 7 and bytes 24–25 equal to 0x0307 (big-endian). flowsieve's own
//! code for that fact; nothing else in the format is published. No port hint: the game servers
//! listen on ports of their own choosing.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// The first byte, which is also the datagram's length less [`LENGTH_OFFSET`].
const FIRST: u8 = 0x3c;
const LENGTH_OFFSET: usize = 10;
/// The fixed bytes at their offsets.
const AT_16: u8 = 0x01;
const AT_20: u8 = 0x07;
const AT_24: u16 = 0x0307;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct CrynetDissector;

impl Dissector for CrynetDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CRYNETWORK;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[FIRST]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let sized = p.len() == usize::from(FIRST) + LENGTH_OFFSET;
        let fixed = p.first() == Some(&FIRST)
            && p.get(16) == Some(&AT_16)
            && p.get(20) == Some(&AT_20)
            && be_u16_at(p, 24) == Some(AT_24);
        Probe::certain_if(sized && fixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// crynet.pcap, 192.168.2.100:61837 → 78.159.118.97:25383, the first datagram (70 bytes: the
    /// first 40 as captured, the rest zero as in the capture's next bytes).
    fn first_datagram() -> Vec<u8> {
        let mut p = hex("3c000008ed0000000000000000000000010000000700000003070000000400000000000000044766");
        p.resize(70, 0);
        p
    }

    #[test]
    fn the_opening_datagram_is_crynetwork() {
        let f = udp([61837, 25383]);
        assert_eq!(run_one::<CrynetDissector>(&f, &first_datagram()).0, Probe::Certain);
        truncations::<CrynetDissector>(&f, &first_datagram());
    }

    #[test]
    fn near_misses_are_not() {
        let f = udp([61837, 25383]);
        let p = first_datagram();
        assert_eq!(run_one::<CrynetDissector>(&f, &p[..69]).0, Probe::NotForUs);
        for at in [0, 16, 20, 24, 25] {
            let mut q = p.clone();
            q[at] ^= 0x40;
            assert_eq!(run_one::<CrynetDissector>(&f, &q).0, Probe::NotForUs, "byte {at}");
        }
        // The server's answer (0x87, 133 bytes) alone does not name the flow.
        let mut answer = vec![0u8; 133];
        answer[0] = 0x87;
        assert_eq!(run_one::<CrynetDissector>(&f, &answer).0, Probe::NotForUs);
        assert_eq!(run_one::<CrynetDissector>(&tcp([61837, 25383]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<CrynetDissector>(&udp([1, 2]), &[p]);
        }
    }
}
