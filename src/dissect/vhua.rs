//! VHUA, the Chinese internet telephony service's protocol over UDP (Netify's `VHUA`, 184; its
//! port 58267 a tie-breaker only).
//!
//! Wire facts (the signature nDPI applies to every UDP flow, read from its source as a fact
//! about the protocol: docs/ARCHITECTURE.md, "nDPI's signatures are wire facts"; no public
//! specification exists): one of the flow's first three datagrams starts with the nine bytes
//! `05 14 3a 05 08 f8 a1 b1 03`. A nine-byte magic fixes enough to name the flow alone, so
//! flowsieve takes it on the first datagram it probes, in either direction.

use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const MAGIC: [u8; 9] = [0x05, 0x14, 0x3a, 0x05, 0x08, 0xf8, 0xa1, 0xb1, 0x03];

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct VhuaDissector;

impl Dissector for VhuaDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::VHUA;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[MAGIC[0]]);
    const PORTS: Ports = Ports::udp(&[58267]);

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
        let f = udp([40000, 58267]);
        let p = [&MAGIC[..], &[0x00, 0x10, 0x22, 0x7e]].concat();
        assert_eq!(run_one::<VhuaDissector>(&f, &p).0, Probe::Certain);
        assert_eq!(run_one::<VhuaDissector>(&f, &MAGIC).0, Probe::Certain);
        assert_eq!(run_one::<VhuaDissector>(&f, &MAGIC[..4]).0, Probe::Unsure);
        truncations::<VhuaDissector>(&f, &p);
        assert_eq!(protocol::name_of(protocol::VHUA), "VHUA");
    }

    #[test]
    fn near_misses_are_not_vhua() {
        let f = udp([40000, 58267]);
        for at in 0..MAGIC.len() {
            let mut q = MAGIC.to_vec();
            q[at] ^= 0x01;
            assert_eq!(run_one::<VhuaDissector>(&f, &q).0, Probe::NotForUs, "byte {at}");
        }
        // A SOCKS 5 greeting-like datagram, and the magic over TCP.
        assert_eq!(run_one::<VhuaDissector>(&f, &[0x05, 0x01, 0x00]).0, Probe::NotForUs);
        assert_eq!(run_one::<VhuaDissector>(&tcp([40000, 58267]), &MAGIC).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<VhuaDissector>(&udp([1, 58267]), &[p]);
        }
    }
}
