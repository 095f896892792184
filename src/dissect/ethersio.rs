//! Saia-Burgess's EtherSIO (Ethernet serial I/O for its PLCs, over UDP). The wire facts nDPI
//! applies to every UDP flow (docs/ARCHITECTURE.md, "nDPI's signatures are wire facts"): a
//! datagram of at least 20 bytes starting with the magic `ESIO`, then a zero byte, a byte of at
//! most 2 and a zero byte. No port hint: nDPI names it from the bytes alone.

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const MAGIC: &[u8] = b"ESIO";
const SHORTEST: usize = 20;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct EtherSioDissector;

impl Dissector for EtherSioDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ETHERSIO;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"E");

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let header = matches!(p.get(4..7), Some(&[0, kind, 0]) if kind <= 2);
        Probe::certain_if(p.len() >= SHORTEST && p.starts_with(MAGIC) && header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// ethersio.pcap, 172.23.2.27:1024 → 172.23.2.15:6060 (49 bytes).
    const DATAGRAM: &str = concat!(
        "4553494f0001000000317616000000180000000d01000000005c00000001001100000b3000000000",
        "000000000000000000"
    );

    #[test]
    fn an_esio_datagram_is_ethersio() {
        let f = udp([1024, 6060]);
        assert_eq!(run_one::<EtherSioDissector>(&f, &hex(DATAGRAM)).0, Probe::Certain);
        truncations::<EtherSioDissector>(&f, &hex(DATAGRAM));
    }

    #[test]
    fn near_misses_are_not() {
        let f = udp([1024, 6060]);
        let p = hex(DATAGRAM);
        assert_eq!(run_one::<EtherSioDissector>(&f, &p[..19]).0, Probe::NotForUs);
        for (at, value) in [(3, b'P'), (4, 1), (5, 3), (6, 1)] {
            let mut q = p.clone();
            q[at] = value;
            assert_eq!(run_one::<EtherSioDissector>(&f, &q).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<EtherSioDissector>(&tcp([1024, 6060]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<EtherSioDissector>(&udp([1, 6060]), &[p]);
        }
    }
}
