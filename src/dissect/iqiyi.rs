//! PPStream, the peer-to-peer streaming protocol of iQIYI's video service, over UDP (Netify's
//! `PPStream`, 54: nDPI's protocol number 54 too, which nDPI now calls `iQIYI`; its twin
//! application is `netify.iqiyi`).
//!
//! Wire facts (the signature nDPI applies to every UDP flow, read from its source as a fact
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): a datagram of 121 to 299 bytes that carries the protocol's name,
//! the text `PPStream`, is one of its messages. As in nDPI the datagram must be the flow's
//! first payload (either direction; the probe rules itself out on any other): eight letters
//! in a datagram of bounded size, and the dissector comes after every other in the registry,
//! so a protocol whose probe knows the datagram (a DNS answer naming such a host, say) names
//! it first.

use super::{protocol, Dissector, Probe, Segment, Transports};

/// The protocol's name, carried in its messages.
const NAME: &[u8] = b"PPStream";
/// The sizes of datagram taken.
const SIZES: std::ops::RangeInclusive<usize> = 121..=299;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct IqiyiDissector;

impl Dissector for IqiyiDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::PPSTREAM;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(SIZES.contains(&p.len()) && p.windows(NAME.len()).any(|w| w == NAME))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A datagram of `len` bytes with the name at `at`.
    fn datagram(len: usize, at: usize) -> Vec<u8> {
        let mut p = vec![0x1c; len];
        p[at..at + NAME.len()].copy_from_slice(NAME);
        p
    }

    #[test]
    fn a_named_datagram_is_ppstream() {
        assert_eq!(protocol::name_of(protocol::PPSTREAM), "PPStream");
        let f = udp([50412, 16600]);
        for (len, at) in [(121, 0), (135, 88), (299, 291)] {
            assert_eq!(run_one::<IqiyiDissector>(&f, &datagram(len, at)).0, Probe::Certain, "{len} {at}");
        }
        truncations::<IqiyiDissector>(&f, &datagram(135, 88));
        let first = (crate::dissect::Direction::Forward, datagram(135, 88));
        assert_eq!(through_registry(&f, &[first]), (protocol::PPSTREAM, Some(1)));
    }

    #[test]
    fn near_misses_are_not_ppstream() {
        let f = udp([50412, 16600]);
        // Too short, too long, the name cut or in another case, no name; TCP.
        let mut lower = datagram(135, 88);
        lower[88..96].copy_from_slice(b"ppstream");
        for p in [datagram(120, 0), datagram(300, 10), datagram(136, 128)[..135].to_vec(), lower, vec![0x1c; 150]] {
            assert_eq!(run_one::<IqiyiDissector>(&f, &p).0, Probe::NotForUs, "{} bytes", p.len());
        }
        assert_eq!(run_one::<IqiyiDissector>(&tcp([50412, 16600]), &datagram(135, 88)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..320)) {
            no_panic::<IqiyiDissector>(&udp([1, 2]), &[p]);
        }
    }
}
