//! i3D.net's game-server traffic over UDP (Netify's `i3D`, 289): the patterns nDPI reads on
//! the dedicated game servers i3D.net hosts.
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as facts
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code), on a datagram of at least 74 bytes:
//!
//! - a 16-bit type 1 or 2, the 16-bit length 70 (`00 46`: the datagram holds the 4-byte header
//!   and 70 bytes, hence the 74) and `00 03 cf a8` next;
//! - or an RTP header (RFC 3550 §5.1: version 2 with the extension bit, `90`, then payload type
//!   120 or 103, `78` or `67`) whose SSRC is `00 03 cf a9`, followed by a one-byte-header
//!   extension of three words (RFC 8285 §4.2: the profile `be de`, then `00 03`).
//!
//! Each fixes at least 64 bits, so one datagram names the flow.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// The 4-byte header and the 70 bytes its length gives.
const MIN_LEN: usize = 74;

fn framed(p: &[u8]) -> bool {
    matches!(be_u32_at(p, 0), Some(0x0001_0046 | 0x0002_0046)) && be_u32_at(p, 4) == Some(0x0003_cfa8)
}

fn rtp(p: &[u8]) -> bool {
    matches!(p.get(..2), Some([0x90, 0x78 | 0x67]))
        && be_u32_at(p, 8) == Some(0x0003_cfa9)
        && be_u32_at(p, 12) == Some(0xbede_0003)
}

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct I3dDissector;

impl Dissector for I3dDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::I3D;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x00, 0x90]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(p.len() >= MIN_LEN && (framed(p) || rtp(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    fn framed_msg(kind: u8) -> Vec<u8> {
        let mut p = vec![0, kind, 0, 0x46, 0, 3, 0xcf, 0xa8];
        p.resize(MIN_LEN, 0x5c);
        p
    }

    fn rtp_msg(pt: u8) -> Vec<u8> {
        let mut p = vec![0x90, pt, 0x12, 0x34, 0, 0, 0x10, 0, 0, 3, 0xcf, 0xa9, 0xbe, 0xde, 0, 3];
        p.resize(120, 0x5c);
        p
    }

    #[test]
    fn both_forms_are_i3d() {
        assert_eq!(protocol::name_of(protocol::I3D), "i3D");
        let f = udp([50000, 27015]);
        for p in [framed_msg(1), framed_msg(2), rtp_msg(0x78), rtp_msg(0x67)] {
            assert_eq!(run_one::<I3dDissector>(&f, &p).0, Probe::Certain, "{p:02x?}");
            truncations::<I3dDissector>(&f, &p);
        }
    }

    #[test]
    fn near_misses_are_not_i3d() {
        let f = udp([50000, 27015]);
        let short = &framed_msg(1)[..MIN_LEN - 1];
        assert_eq!(run_one::<I3dDissector>(&f, short).0, Probe::NotForUs);
        for p in [framed_msg(3), rtp_msg(0x60)] {
            assert_eq!(run_one::<I3dDissector>(&f, &p).0, Probe::NotForUs);
        }
        // Another SSRC, another extension length, over TCP.
        let mut p = rtp_msg(0x78);
        p[11] = 0xaa;
        assert_eq!(run_one::<I3dDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = rtp_msg(0x78);
        p[15] = 2;
        assert_eq!(run_one::<I3dDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<I3dDissector>(&tcp([50000, 27015]), &framed_msg(1)).0, Probe::NotForUs);
        // A STUN binding request (RFC 5389) of the same type.
        let mut stun = hex("000100442112a442");
        stun.resize(88, 0);
        assert_eq!(run_one::<I3dDissector>(&f, &stun).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..90)) {
            no_panic::<I3dDissector>(&udp([1, 2]), &[p]);
        }
    }
}
