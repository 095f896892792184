//! UltraSurf, the censorship-circumvention proxy's own protocol over TCP (Netify's
//! `UltraSurf`, 296).
//!
//! Wire facts (the signature nDPI applies to all TCP traffic, read from its source as a fact
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): a payload of at least 8 bytes opening with the 64-bit magic
//! `cc 1c 30 41 5b a4 38 66`. Sixty-four fixed bits are not met by chance, so the magic names
//! the flow alone; a shorter first payload that agrees with its start leaves the flow open.

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const MAGIC: [u8; 8] = [0xcc, 0x1c, 0x30, 0x41, 0x5b, 0xa4, 0x38, 0x66];

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct UltraSurfDissector;

impl Dissector for UltraSurfDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ULTRASURF;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[MAGIC[0]]);

    fn probe(segment: &Segment<'_>) -> Probe {
        super::text::banner_probe(segment.payload, &MAGIC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_magic_names_the_flow() {
        assert_eq!(protocol::name_of(protocol::ULTRASURF), "UltraSurf");
        let f = tcp([51000, 443]);
        let p = [&MAGIC[..], &[0x42; 56]].concat();
        assert_eq!(run_one::<UltraSurfDissector>(&f, &p).0, Probe::Certain);
        assert_eq!(run_one::<UltraSurfDissector>(&f, &MAGIC).0, Probe::Certain);
        assert_eq!(run_one::<UltraSurfDissector>(&f, &MAGIC[..5]).0, Probe::Unsure);
        truncations::<UltraSurfDissector>(&f, &p);
    }

    #[test]
    fn near_misses_are_not_ultrasurf() {
        let f = tcp([51000, 443]);
        for at in 0..MAGIC.len() {
            let mut p = [&MAGIC[..], &[0; 8]].concat();
            p[at] ^= 0x01;
            assert_eq!(run_one::<UltraSurfDissector>(&f, &p).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<UltraSurfDissector>(&udp([51000, 443]), &MAGIC).0, Probe::NotForUs);
        // A TLS ClientHello's record header.
        assert_eq!(run_one::<UltraSurfDissector>(&f, &hex("16030100c8010000c40303")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<UltraSurfDissector>(&tcp([1, 443]), &[p]);
        }
    }
}
