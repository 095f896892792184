//! LINE's voice and video calls over UDP (Netify's `Line/Call`, 310; nDPI's `LineCall`).
//!
//! Wire facts (read from nDPI's source as facts about the protocol, docs/ARCHITECTURE.md
//! "nDPI's signatures are wire facts"; this is flowsieve's own code). A call's own datagrams
//! carry, before and between its standard RTP and RTCP packets, a per-direction packet number
//! whose low byte is byte 3: nDPI names a UDP flow a LINE call once each direction has sent
//! four datagrams of more than 10 bytes with consecutive numbers (RTP and RTCP passed over),
//! the two directions' first numbers differing. The call opens with datagrams nDPI lists (on
//! LINE's own addresses only): a first byte `0xda` or `0xdb`, `06 02` at offset 4 and at least
//! 738 bytes; or `0xd8` or `0xd9`, a second byte whose high nibble is 9, 13 or 14, `06 02` at
//! offset 4 and at least 150 bytes; or `0xd0` then `0xb3`, `0xb4`, `0xda` or `0xdb`.
//!
//! flowsieve takes no address list: one of those opening datagrams only shortlists the flow,
//! and the numbering confirms it. It is tightened where the wire gives more: the number is the
//! 16-bit big-endian value at offsets 2–3 (as an RTP sequence number is), every numbered
//! datagram starts with a byte from `0xd0` to `0xdf` (the call's own framing; RTP's version 2
//! starts `0x80`–`0xbf`), and a datagram of neither kind, or a number out of turn, gives the
//! flow up, as does a direction that has not confirmed within the flow's first 24 payloads.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

/// Datagrams this short are not the call's (nDPI's floor).
const SHORTEST: usize = 11;
/// Numbered datagrams each direction must send, the first included.
const NEEDED: u8 = 4;
/// Payloads read before a shortlisted flow is given up.
const MAX_PAYLOADS: u8 = 24;

/// One of the call's opening datagrams (nDPI's forms).
fn opening(p: &[u8]) -> bool {
    let tagged = p.get(4..6) == Some(&[0x06, 0x02]);
    match p {
        [0xda | 0xdb, ..] => tagged && p.len() >= 738,
        [0xd8 | 0xd9, b1, ..] => tagged && p.len() >= 150 && matches!(b1 >> 4, 0x9 | 0xd | 0xe),
        [0xd0, 0xb3 | 0xb4 | 0xda | 0xdb, ..] => p.len() >= SHORTEST,
        _ => false,
    }
}

/// The packet number of one of the call's own datagrams.
fn number(p: &[u8]) -> Option<u16> {
    (p.len() >= SHORTEST && p[0] >> 4 == 0xd).then(|| be_u16_at(p, 2)).flatten()
}

/// Whether `p` reads as RTP or RTCP (RFC 3550: version 2).
fn rtp_like(p: &[u8]) -> bool {
    p.len() >= 12 && p[0] >> 6 == 2
}

/// Per direction: the first number, the last and how many followed in turn.
#[derive(Debug, Default)]
pub struct LineCallDissector {
    first: [Option<u16>; 2],
    last: [u16; 2],
    counted: [u8; 2],
    seen: u8,
}

impl Dissector for LineCallDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::LINE_CALL;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0xd0, 0xd8, 0xd9, 0xda, 0xdb]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(opening(segment.payload))
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        self.seen = self.seen.saturating_add(1);
        if self.seen > MAX_PAYLOADS {
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        let side = segment.direction.index();
        let Some(n) = number(p) else {
            return if rtp_like(p) { Parsed::Continue } else { Parsed::Skipped(Skip::Unconfirmed) };
        };
        match self.first[side] {
            None => self.first[side] = Some(n),
            Some(_) if n == self.last[side].wrapping_add(1) => {}
            Some(_) => return Parsed::Skipped(Skip::Unconfirmed),
        }
        self.last[side] = n;
        self.counted[side] = self.counted[side].saturating_add(1);
        if self.counted.iter().all(|&c| c >= NEEDED) {
            if self.first[0] == self.first[1] {
                return Parsed::Skipped(Skip::Unconfirmed);
            }
            facts.protocol = protocol::LINE_CALL;
            return Parsed::Done;
        }
        Parsed::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    /// One of the call's datagrams: first byte `b0`, number `n`, `len` bytes, `06 02` at 4.
    fn datagram(b0: u8, b1: u8, n: u16, len: usize) -> Vec<u8> {
        let mut p = vec![b0, b1];
        p.extend_from_slice(&n.to_be_bytes());
        p.extend_from_slice(&[0x06, 0x02]);
        p.resize(len, 0x4b);
        p
    }

    /// An RTP packet (version 2, dynamic payload type) with sequence number `seq`.
    fn rtp(seq: u16) -> Vec<u8> {
        let mut p = vec![0x90, 0xe5];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x3b, 0xe2, 0x09, 0xbd, 0xa6, 0x78]);
        p.resize(37, 0x11);
        p
    }

    /// A call: each side's numbered datagrams from its own base, RTP between.
    fn call(forward: u16, reverse: u16) -> Vec<(Direction, Vec<u8>)> {
        let mut v = vec![
            (Direction::Forward, datagram(0xdb, 0x64, forward, 872)),
            (Direction::Reverse, datagram(0xd8, 0xee, reverse, 242)),
            (Direction::Forward, rtp(1)),
        ];
        for i in 1..4 {
            v.push((Direction::Reverse, rtp(i)));
            v.push((Direction::Forward, datagram(0xd1, 0x5c, forward.wrapping_add(i), 352)));
            v.push((Direction::Reverse, datagram(0xd2, 0x19, reverse.wrapping_add(i), 135)));
        }
        v
    }

    #[test]
    fn a_numbered_call_is_line() {
        assert_eq!(protocol::name_of(protocol::LINE_CALL), "Line/Call");
        let f = udp([50835, 20610]);
        for p in [datagram(0xda, 0xe0, 0x67, 740), datagram(0xd9, 0x93, 1, 150), datagram(0xd0, 0xb3, 1, 135)] {
            let (probe, parsed, facts) = run_one::<LineCallDissector>(&f, &p);
            assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Continue, protocol::UNKNOWN));
            truncations::<LineCallDissector>(&f, &p);
        }
        let c = call(0x00b9, 0x0066);
        assert_eq!(parse_each::<LineCallDissector>(&f, &c), (Parsed::Done, protocol::LINE_CALL));
        assert_eq!(parse_each::<LineCallDissector>(&f, &c[..c.len() - 2]), (Parsed::Continue, protocol::UNKNOWN));
        // Numbers wrap.
        assert_eq!(parse_each::<LineCallDissector>(&f, &call(0xfffe, 0x10)).0, Parsed::Done);
    }

    #[test]
    fn near_misses_are_not_line() {
        let f = udp([50835, 20610]);
        // Too short, another tag, a second byte out of the list, version-2 RTP.
        for p in [
            datagram(0xda, 0xe0, 1, 737),
            datagram(0xd8, 0xee, 1, 149),
            datagram(0xd8, 0x8e, 1, 400),
            datagram(0xd0, 0xb5, 1, 100),
            rtp(1),
        ] {
            assert_eq!(run_one::<LineCallDissector>(&f, &p).0, Probe::NotForUs, "{:02x?}", &p[..6]);
        }
        let mut untagged = datagram(0xdb, 0x64, 1, 872);
        untagged[5] = 0x03;
        assert_eq!(run_one::<LineCallDissector>(&f, &untagged).0, Probe::NotForUs);
        assert_eq!(run_one::<LineCallDissector>(&tcp([1, 2]), &datagram(0xdb, 0x64, 1, 872)).0, Probe::NotForUs);
        // Both sides from the same base, a number out of turn, a datagram of another kind.
        let same = call(7, 7);
        assert_eq!(parse_each::<LineCallDissector>(&f, &same).0, Parsed::Skipped(Skip::Unconfirmed));
        let mut skipped = call(0xb9, 0x66);
        skipped[4].1 = datagram(0xd1, 0x5c, 0xbb, 352);
        assert_eq!(
            parse_each::<LineCallDissector>(&f, &skipped[..5]),
            (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN)
        );
        let mut other = call(0xb9, 0x66);
        other[2].1 = vec![0x17, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x20];
        assert_eq!(parse_each::<LineCallDissector>(&f, &other[..3]).0, Parsed::Skipped(Skip::Unconfirmed));
        // One side alone never confirms.
        let one_way: Vec<_> = (0..30).map(|i| (Direction::Forward, datagram(0xd1, 0x5c, 0x100 + i, 300))).collect();
        assert_eq!(
            parse_each::<LineCallDissector>(&f, &one_way),
            (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN)
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<LineCallDissector>(&udp([1, 2]), &[p.clone(), p.clone(), p]);
        }
    }
}
