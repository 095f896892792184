//! The TCP protocols of Tencent's game servers (Honor of Kings, PUBG Mobile and others), which
//! nDPI names `TencentGames` (flowsieve-only ID, nDPI's name; application
//! `netify.tencent-games`).
//!
//! Wire facts (the signatures nDPI applies to all TCP traffic, read from its source as facts
//! about the protocol; this is flowsieve's own code). The flow's first payload, more than 50
//! bytes, is one of:
//!
//! - a message opening `33 66 00 0b 00 0b`;
//! - a message opening `43 66 aa 00` with `10 e6 86 01` at offset 12, or its answer, opening
//!   `aa 00 00 00` with the same four bytes at offset 10;
//! - a 32-bit big-endian length (below 65,536) that counts the rest of the payload, then a
//!   zlib stream (RFC 1950 header `78 01`: deflate, 32 KiB window, fastest level);
//! - a message opening `42 15 f7 87` whose bytes 6 and 7 are zero.
//!
//! nDPI names the flow on that one payload, and so does the probe. The length-prefixed zlib
//! message is the plainest of them: its length must be the payload's exactly, as nDPI's rule.

use super::reader::{be_u16_at, be_u32_at};
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// nDPI's bound: the first payload is longer than this.
const MIN_LEN: usize = 50;
/// The marker of the `43 66 aa 00` message and its answer.
const MARK: u32 = 0x10e6_8601;
/// The zlib header with the fastest compression level and no dictionary.
const ZLIB: u16 = 0x7801;

/// Tencent's game protocols need no state: the probe decides.
#[derive(Debug, Default)]
pub struct TencentGamesDissector;

fn is_tencent(p: &[u8]) -> bool {
    if p.len() <= MIN_LEN {
        return false;
    }
    let word = |at| be_u32_at(p, at).unwrap_or(0);
    match word(0) {
        0x3366_000b => be_u16_at(p, 4) == Some(0x000b),
        0x4366_aa00 => word(12) == MARK,
        0xaa00_0000 => word(10) == MARK,
        0x4215_f787 => be_u16_at(p, 6) == Some(0),
        len => {
            len < 0x1_0000 && usize::try_from(len).is_ok_and(|len| len == p.len() - 4) && be_u16_at(p, 4) == Some(ZLIB)
        }
    }
}

impl Dissector for TencentGamesDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TENCENT_GAMES;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x33, 0x43, 0xaa, 0x42, 0x00]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(is_tencent(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// tencent_games.pcap, 10.215.173.1:43300 → 43.130.19.227:65010: the client's first
    /// message (76 bytes).
    const GAME_33: &str = concat!(
        "3366000b000b100100000000010000004c000000000203000027100000006500",
        "0303000000143930383934393935363531343933323034333000000000000000",
        "000000000300000000000000"
    );
    /// 10.215.173.1:42864 → 162.62.116.201:20731: a length and a zlib stream (the first 56 of
    /// its 338 bytes; the probe wants the length to be the payload's, so the tests fill the rest).
    const ZLIB_HEAD: &str = concat!(
        "0000014e78013551cb6ac33010fc973dbb46ef476e39949c02a5d09bc1c8d63a",
        "98d8962b8b9410f2ef95ed04e9a01ded6867460f58f0b7ee"
    );
    /// 10.215.173.1:46658 → 162.62.97.166:8085, the client's message and the server's answer
    /// (their first 56 bytes, where the markers are).
    const AA_REQUEST: &str = concat!(
        "4366aa00000094150000001710e6860120003001408120500061007001800100",
        "900100250000006e95800400000067110025000000020100"
    );
    const AA_ANSWER: &str = concat!(
        "aa0000005d150000001b10e686012000300140822050c7dde9af066101700180",
        "01009001202500000033a580040000002c11032102350000"
    );
    /// 10.215.173.1:47046 → 129.226.103.74:31003 (its first 56 bytes).
    const F787: &str = concat!(
        "4215f78703e9000001c0ea07a23f7dabc634e5a894ff94fce2ddea1f04a555d9",
        "f54c3a189ca2bcd866bf728a5ebe67706c826dfe27f7e15d"
    );

    fn zlib_message() -> Vec<u8> {
        let mut m = hex(ZLIB_HEAD);
        m.resize(0x14e + 4, 0x5a);
        m
    }

    #[test]
    fn each_signature_names_the_flow() {
        let f = tcp([43300, 65010]);
        for p in [hex(GAME_33), zlib_message(), hex(AA_REQUEST), hex(AA_ANSWER), hex(F787)] {
            assert_eq!(run_one::<TencentGamesDissector>(&f, &p).0, Probe::Certain, "{p:02x?}");
        }
        truncations::<TencentGamesDissector>(&f, &hex(GAME_33));
    }

    #[test]
    fn near_misses_are_not_tencent() {
        let f = tcp([43300, 65010]);
        let probe = |p: &[u8]| run_one::<TencentGamesDissector>(&f, p).0;
        // 50 bytes or fewer.
        assert_eq!(probe(&hex(GAME_33)[..50]), Probe::NotForUs);
        // A length one short of the payload, a zlib header with another level.
        let mut m = zlib_message();
        m.push(0);
        assert_eq!(probe(&m), Probe::NotForUs);
        let mut m = zlib_message();
        m[5] = 0x9c;
        assert_eq!(probe(&m), Probe::NotForUs);
        // Markers moved or missing.
        let mut m = hex(AA_REQUEST);
        m[12] = 0;
        assert_eq!(probe(&m), Probe::NotForUs);
        let mut m = hex(F787);
        m[6] = 1;
        assert_eq!(probe(&m), Probe::NotForUs);
        let mut m = hex(GAME_33);
        m[5] = 0x0c;
        assert_eq!(probe(&m), Probe::NotForUs);
        // An HTTP request, a TLS record, and not on UDP.
        assert_eq!(
            probe(&[b"GET / HTTP/1.1\r\nHost: example.com\r\n".as_slice(), &[b'a'; 40]].concat()),
            Probe::NotForUs
        );
        assert_eq!(probe(&[&[0x16, 0x03, 0x01, 0x00, 0x3b][..], &[0; 0x3b]].concat()), Probe::NotForUs);
        assert_eq!(run_one::<TencentGamesDissector>(&udp([43300, 65010]), &hex(GAME_33)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<TencentGamesDissector>(&tcp([1, 2]), &[p]);
        }
    }
}
