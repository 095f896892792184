//! FLUTE, file delivery over unidirectional transport (RFC 6726; RFC 3926 before it): files
//! multicast over UDP in ALC (RFC 5775) packets, whose first part is the Layered Coding
//! Transport header (LCT, RFC 5651). nDPI calls it `FLUTE`.
//!
//! The LCT header (RFC 5651 §5.1) opens with the version (top four bits, 1), the congestion
//! control information's size (C) and two protocol-specific bits; then the S, O and H flags
//! sizing the transport session and transport object identifiers (TSI: 32·S + 16·H bits; TOI:
//! 32·O + 16·H bits), two reserved bits and the close flags; the header's length in 32-bit
//! words (HDR_LEN) and a codepoint. After the congestion control information (32·(C+1) bits),
//! the TSI and the TOI come the header extensions, up to HDR_LEN: an extension type (HET)
//! below 128 is followed by its length in words (HEL), one from 128 up is one word long.
//!
//! FLUTE describes the files of a session in File Delivery Table instances, sent as object 0
//! (TOI 0), and every packet of one carries the EXT_FDT extension (HET 192) with the FLUTE
//! version (1 in RFC 3926, 2 in RFC 6726) and the instance's ID (RFC 6726 §3.4.1). The probe
//! wants such a packet: version 1 LCT, reserved bits clear, TOI 0, extensions that fill the
//! header exactly, EXT_FDT among them. Packets of other objects carry nothing that says FLUTE
//! rather than another ALC use; they do not name a flow.

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const LCT_VERSION: u8 = 1;
const EXT_FDT: u8 = 192;
/// The FLUTE versions EXT_FDT may carry.
const FLUTE_VERSIONS: [u8; 2] = [1, 2];

/// FLUTE needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct FluteDissector;

/// `p` is an ALC packet of a File Delivery Table instance.
fn fdt_packet(p: &[u8]) -> bool {
    let [first, flags, hdr_len, _codepoint, ..] = *p else { return false };
    if first >> 4 != LCT_VERSION || flags & 0x0c != 0 {
        return false;
    }
    let (c, s, o, h) = (usize::from((first >> 2) & 0x03), flags >> 7, (flags >> 5) & 0x03, (flags >> 4) & 1);
    let tsi = 4 * usize::from(s) + 2 * usize::from(h);
    let toi = 4 * usize::from(o) + 2 * usize::from(h);
    let toi_at = 4 + 4 * (c + 1) + tsi;
    let mut at = toi_at + toi;
    let end = 4 * usize::from(hdr_len);
    if end > p.len() || at > end {
        return false;
    }
    // The object is the table (TOI 0); an absent TOI is no object.
    if toi == 0 || p[toi_at..toi_at + toi].iter().any(|&b| b != 0) {
        return false;
    }
    let mut fdt = false;
    while at < end {
        let het = p[at];
        let length = if het < 128 { 4 * usize::from(p.get(at + 1).copied().unwrap_or(0)) } else { 4 };
        if length == 0 || at + length > end {
            return false;
        }
        fdt |= het == EXT_FDT && FLUTE_VERSIONS.contains(&(p[at + 1] >> 4));
        at += length;
    }
    fdt
}

impl Dissector for FluteDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::FLUTE;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::range(LCT_VERSION << 4, (LCT_VERSION << 4) | 0x0f);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(fdt_packet(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// flute.pcapng, 192.168.88.231:40717 → 238.1.1.95:40085: the first packet of FDT instance
    /// 2 (H set: a 16-bit TSI 0 and TOI 0; EXT_FDT version 1, EXT_FTI), the FEC payload ID and the
    /// table's first bytes.
    const FDT: &str = "101008000000000000000000c010000240040000000002360000059c00000040000000003c3f786d6c";
    /// The same session's object 1, "Hello World!": no EXT_FDT.
    const OBJECT: &str = "1010030000000000000000010000000048656c6c6f20576f726c64210a";

    #[test]
    fn fdt_instances_are_flute() {
        let f = udp([40717, 40085]);
        assert_eq!(run_one::<FluteDissector>(&f, &hex(FDT)).0, Probe::Certain);
        truncations::<FluteDissector>(&f, &hex(FDT));
        // RFC 6726's version 2 (instance 7), with a 32-bit TSI and TOI (S set, O = 1).
        let v2 = hex("10a00500000000000000000700000000c0200007");
        assert_eq!(run_one::<FluteDissector>(&f, &v2).0, Probe::Certain);
        assert_eq!(run_one::<FluteDissector>(&f, &v2[..19]).0, Probe::NotForUs, "header past the packet");
    }

    #[test]
    fn other_lct_packets_are_not_named() {
        let f = udp([40717, 40085]);
        assert_eq!(run_one::<FluteDissector>(&f, &hex(OBJECT)).0, Probe::NotForUs);
        // Another TOI; LCT version 2; reserved bits; EXT_FDT with FLUTE version 3; a header
        // length that ends inside an extension.
        for (at, value) in [(11, 1), (0, 0x20), (1, 0x14), (13, 0x30), (2, 0x07)] {
            let mut p = hex(FDT);
            p[at] = value;
            assert_eq!(run_one::<FluteDissector>(&f, &p).0, Probe::NotForUs, "byte {at} = {value:#x}");
        }
        assert_eq!(run_one::<FluteDissector>(&tcp([40717, 40085]), &hex(FDT)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..48)) {
            let mut m = p;
            m.insert(0, 0x10);
            no_panic::<FluteDissector>(&udp([1, 2]), &[m]);
        }
    }
}
