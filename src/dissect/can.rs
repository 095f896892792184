//! Controller Area Network (ISO 11898) frames carried over UDP or TCP by gateways that tag
//! each packet with the ASCII magic `ISO11898` followed by a version byte (1) and the frames.
//! The 8-byte magic and the version decide; no port is fixed.

use super::{protocol, Dissector, FirstBytes, Probe, Segment};

const MAGIC: &[u8; 8] = b"ISO11898";
const VERSION: u8 = 1;

/// CAN needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct CanDissector;

impl Dissector for CanDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CAN;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[MAGIC[0]]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let n = p.len().min(MAGIC.len());
        if p[..n] != MAGIC[..n] {
            Probe::NotForUs
        } else if p.len() <= MAGIC.len() {
            Probe::Unsure
        } else {
            Probe::certain_if(p[MAGIC.len()] == VERSION)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// can.pcap, 207.134.64.89:36251 → 48.220.224.78:11898 (first 24 of 45 bytes).
    const FRAME: &str = "49534f313138393801026a12f109083b20d6700000ff7ffd";

    #[test]
    fn the_magic_decides() {
        let f = udp([36251, 11898]);
        assert_eq!(run_one::<CanDissector>(&f, &hex(FRAME)).0, Probe::Certain);
        assert_eq!(run_one::<CanDissector>(&tcp([1, 2]), &hex(FRAME)).0, Probe::Certain);
        assert_eq!(run_one::<CanDissector>(&f, b"ISO11").0, Probe::Unsure);
        truncations::<CanDissector>(&f, &hex(FRAME));
    }

    #[test]
    fn other_payloads_are_not_can() {
        let f = udp([36251, 11898]);
        assert_eq!(run_one::<CanDissector>(&f, b"ISO11898\x02abc").0, Probe::NotForUs);
        assert_eq!(run_one::<CanDissector>(&f, b"ISO-8859-1 text").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut q = MAGIC.to_vec();
            q.extend_from_slice(&p);
            no_panic::<CanDissector>(&udp([1, 2]), &[p, q]);
        }
    }
}
