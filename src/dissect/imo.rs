//! The imo.im messenger's calls over UDP (flowsieve-only ID with nDPI's name, `IMO`; its twin
//! application is `netify.imo`).
//!
//! Wire facts (the signature nDPI applies to every UDP flow, read from its source as facts
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): a 10-byte datagram starting `09 02`, an 11-byte one starting
//! `00 09 03` and a 1099-byte one starting `88 49 1a 00` are imo's; so are two consecutive
//! one-byte datagrams carrying the same byte.
//!
//! How strict flowsieve is, and why:
//!
//! - The three sized datagrams name the flow when one is its first payload (either direction;
//!   the probe rules itself out on any other payload). nDPI also looks at up to five earlier
//!   datagrams of the flow; a probe has no count of them, and staying a candidate on every
//!   datagram would keep each UDP flow nothing names probing up to the packet limit instead
//!   of guessing it from its ports at once. imo's calls open with such datagrams after other
//!   ones, so flowsieve misses calls that nDPI names: it prefers that to a rule that delays
//!   every unnamed flow.
//! - A one-byte datagram (imo's calls open with them) keeps the probe waiting: one byte says
//!   nothing, and the next datagram decides.
//! - The pair of one-byte datagrams alone is not taken: naming, or even shortlisting, a flow
//!   on a one-byte datagram would take it from every other dissector (one-byte datagrams are
//!   the NAT keepalives and hole punches of many peer-to-peer and call protocols, which other
//!   dissectors name on their later packets).
//!
//! The dissector comes after every other in the registry, so another protocol's probe that is
//! certain of the same datagram names it first.

use super::{protocol, Dissector, Probe, Segment, Transports};

/// Whether `p` is one of imo's sized datagrams.
fn sized(p: &[u8]) -> bool {
    matches!(p, [0x09, 0x02, ..] if p.len() == 10)
        || matches!(p, [0x00, 0x09, 0x03, ..] if p.len() == 11)
        || matches!(p, [0x88, 0x49, 0x1a, 0x00, ..] if p.len() == 1099)
}

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct ImoDissector;

impl Dissector for ImoDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::IMO;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if sized(p) {
            Probe::Certain
        } else if p.len() == 1 {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    /// A datagram of `len` bytes opening with `start`.
    fn datagram(start: &[u8], len: usize) -> Vec<u8> {
        let mut p = start.to_vec();
        p.resize(len, 0x5c);
        p
    }

    #[test]
    fn sized_datagrams_name_the_flow() {
        assert_eq!(protocol::name_of(protocol::IMO), "IMO");
        let f = udp([49207, 36535]);
        for p in
            [datagram(&[0x09, 0x02], 10), datagram(&[0x00, 0x09, 0x03], 11), datagram(&[0x88, 0x49, 0x1a, 0x00], 1099)]
        {
            assert_eq!(run_one::<ImoDissector>(&f, &p).0, Probe::Certain, "{:02x?}", &p[..4]);
            truncations::<ImoDissector>(&f, &p);
        }
        // One byte waits.
        assert_eq!(run_one::<ImoDissector>(&f, &[0x07]).0, Probe::Unsure);
    }

    #[test]
    fn near_misses_are_not_imo() {
        let f = udp([49207, 36535]);
        // Each pattern one byte longer or shorter, or with a byte off; TCP.
        for p in [
            datagram(&[0x09, 0x02], 11),
            datagram(&[0x09, 0x02], 9),
            datagram(&[0x09, 0x03], 10),
            datagram(&[0x00, 0x09, 0x03], 10),
            datagram(&[0x00, 0x09, 0x04], 11),
            datagram(&[0x88, 0x49, 0x1a, 0x00], 1098),
            datagram(&[0x88, 0x49, 0x1a, 0x01], 1099),
            vec![0x07, 0x07],
            vec![],
        ] {
            assert_eq!(run_one::<ImoDissector>(&f, &p).0, Probe::NotForUs, "{p:02x?}");
        }
        assert_eq!(run_one::<ImoDissector>(&tcp([49207, 36535]), &datagram(&[0x09, 0x02], 10)).0, Probe::NotForUs);
        // Other protocols' datagrams: a DNS query, a STUN Binding Request.
        let dns = hex("1a2b01000001000000000000076578616d706c6503636f6d0000010001");
        let stun = hex("000100002112a442b7e7a701bc34d686fa87dfae");
        for p in [dns, stun] {
            assert_eq!(run_one::<ImoDissector>(&f, &p).0, Probe::NotForUs);
        }
    }

    #[test]
    fn the_registry_names_imo_and_still_guesses_other_flows_at_once() {
        let f = udp([49207, 36535]);
        let one = |p: &[u8]| (Direction::Forward, p.to_vec());
        let opening = datagram(&[0x00, 0x09, 0x03], 11);
        assert_eq!(through_registry(&f, &[one(&opening)]), (protocol::IMO, Some(1)));
        // After one-byte datagrams too.
        assert_eq!(through_registry(&f, &[one(&[0x07]), one(&[0x07]), one(&opening)]).0, protocol::IMO);
        // A datagram nothing names ends detection there, as before: IMO waits on no other.
        assert_eq!(through_registry(&f, &[one(&[0xa5; 200]), one(&opening)]), (protocol::UNKNOWN, Some(1)));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<ImoDissector>(&udp([1, 2]), &[p.clone(), datagram(&p, 10)]);
        }
    }
}
