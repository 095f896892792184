//! Dofus, Ankama's online game, over TCP (Netify's `Dofus`, 106).
//!
//! Wire facts (the signatures nDPI applies to all TCP traffic, read from its source as facts
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code). One payload in one of these forms names the flow (big-endian
//! integers):
//!
//! - Dofus 1: 13 bytes with `05 08` at offset 1, `04 a0` at offset 5 and ending `01 94`;
//! - Dofus 2's opening: 11, 13 or 49 bytes starting `00 05 08 00 00 05`, `00 05` at offset 8
//!   and `18` at offset 10; the 13-byte form ends `01 94`, the 49-byte one holds a 16-bit
//!   length at offset 15 that counts the 32 bytes after the first 17;
//! - at least 41 bytes starting `01 b9 26`, then two length-prefixed fields (16-bit lengths at
//!   offset 3 and right after the first field) that fill the payload exactly;
//! - 56 bytes starting `00 11 35 02 03 00 93 96 01 00`, then two length-prefixed fields and a
//!   final `01` that fill the payload exactly.
//!
//! nDPI also reads Dofus 1's NUL-terminated text messages over two payloads (`HG`, `HC`, `Ax`
//! … then `AT`); they are short text and not taken here.

use super::reader::be_u16_at;
use super::{protocol, Dissector, Probe, Segment, Transports};

const TRAILER: [u8; 2] = [0x01, 0x94];
const V2_HEAD: [u8; 6] = [0x00, 0x05, 0x08, 0x00, 0x00, 0x05];
const LONG_HEAD: [u8; 10] = [0x00, 0x11, 0x35, 0x02, 0x03, 0x00, 0x93, 0x96, 0x01, 0x00];

fn dofus1(p: &[u8]) -> bool {
    p.len() == 13 && p[1..3] == [0x05, 0x08] && p[5..7] == [0x04, 0xa0] && p.ends_with(&TRAILER)
}

fn dofus2_opening(p: &[u8]) -> bool {
    let tail = match p.len() {
        11 => true,
        13 => p.ends_with(&TRAILER),
        49 => be_u16_at(p, 15) == Some(49 - 17),
        _ => false,
    };
    tail && p.starts_with(&V2_HEAD) && p[8..10] == [0x00, 0x05] && p[10] == 0x18
}

/// The end of the 16-bit-length-prefixed field at `at`.
fn field_end(p: &[u8], at: usize) -> Option<usize> {
    be_u16_at(p, at).map(|n| at + 2 + usize::from(n)).filter(|&end| end <= p.len())
}

fn two_fields(p: &[u8]) -> bool {
    p.len() >= 41 && p.starts_with(&[0x01, 0xb9, 0x26]) && {
        let end = field_end(p, 3).and_then(|at| field_end(p, at));
        end == Some(p.len())
    }
}

fn long_opening(p: &[u8]) -> bool {
    p.len() == 56 && p.starts_with(&LONG_HEAD) && {
        let end = field_end(p, 10).and_then(|at| field_end(p, at));
        end.is_some_and(|at| at + 1 == p.len() && p[at] == 0x01)
    }
}

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct DofusDissector;

impl Dissector for DofusDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DOFUS;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(dofus1(p) || dofus2_opening(p) || two_fields(p) || long_opening(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    fn forms() -> Vec<Vec<u8>> {
        let mut v1 = vec![0x33; 13];
        v1[1..3].copy_from_slice(&[0x05, 0x08]);
        v1[5..7].copy_from_slice(&[0x04, 0xa0]);
        v1[11..].copy_from_slice(&TRAILER);
        let opening = |len: usize| {
            let mut p = [&V2_HEAD[..], &[0x44, 0x44, 0x00, 0x05, 0x18]].concat();
            p.resize(len, 0x55);
            p
        };
        let mut v2_13 = opening(13);
        v2_13[11..].copy_from_slice(&TRAILER);
        let mut v2_49 = opening(49);
        v2_49[15..17].copy_from_slice(&32u16.to_be_bytes());
        // 3 + (2 + 20) + (2 + 16) = 43 bytes.
        let fields = [&[0x01, 0xb9, 0x26, 0, 20][..], &[0x61; 20], &[0, 16], &[0x62; 16]].concat();
        // 10 + (2 + 20) + (2 + 21) + 1 = 56 bytes.
        let long = [&LONG_HEAD[..], &[0, 20], &[0x61; 20], &[0, 21], &[0x62; 21], &[0x01]].concat();
        vec![v1, opening(11), v2_13, v2_49, fields, long]
    }

    #[test]
    fn the_forms_are_dofus() {
        assert_eq!(protocol::name_of(protocol::DOFUS), "Dofus");
        let f = tcp([50000, 5555]);
        for p in forms() {
            assert_eq!(run_one::<DofusDissector>(&f, &p).0, Probe::Certain, "{p:02x?}");
            truncations::<DofusDissector>(&f, &p);
        }
    }

    #[test]
    fn near_misses_are_not_dofus() {
        let f = tcp([50000, 5555]);
        // Each form with a fixed byte or a length changed, or a byte more.
        for (p, at) in forms().into_iter().zip([12, 10, 12, 16, 4, 55]) {
            let mut q = p.clone();
            q[at] ^= 0x80;
            let grown = [&p[..], &[0]].concat();
            assert_eq!(run_one::<DofusDissector>(&f, &q).0, Probe::NotForUs, "{q:02x?}");
            assert_eq!(run_one::<DofusDissector>(&f, &grown).0, Probe::NotForUs, "{grown:02x?}");
            assert_eq!(run_one::<DofusDissector>(&udp([50000, 5555]), &p).0, Probe::NotForUs);
        }
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<DofusDissector>(&tcp([1, 2]), &[p]);
        }
    }
}
