//! The Elder Scrolls Online's login to its game servers over TCP, which nDPI names
//! `TES_Online` (flowsieve-only ID, nDPI's name; application `netify.bethesda`).
//!
//! Wire facts (the signature nDPI applies to all TCP traffic, read from its source as a fact
//! about the protocol; this is flowsieve's own code): the client's first message is at least
//! 600 bytes, opens with a 32-bit big-endian length counting the rest of the message, and holds
//! the client's version string (`eso.live.…`) or the bytes `8b 78 9c 01` (the start of its
//! zlib-compressed part), at an offset that varies with the account name. flowsieve also wants
//! the message's second length, the 32-bit field at offset 8, to count the bytes after it, as
//! it does in the game's login.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// nDPI's bound: the login is at least this long.
const MIN_LEN: usize = 600;
const VERSION: &[u8] = b"eso.live";
const COMPRESSED: &[u8] = &[0x8b, 0x78, 0x9c, 0x01];

/// The login needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct TesoDissector;

/// The 32-bit length at `at` counts the bytes after it.
fn counts_rest(p: &[u8], at: usize) -> bool {
    be_u32_at(p, at).and_then(|l| usize::try_from(l).ok()).is_some_and(|l| Some(l) == p.len().checked_sub(at + 4))
}

fn is_login(p: &[u8]) -> bool {
    let holds = |needle: &[u8]| p.windows(needle.len()).any(|w| w == needle);
    p.len() >= MIN_LEN && counts_rest(p, 0) && counts_rest(p, 8) && (holds(VERSION) || holds(COMPRESSED))
}

impl Dissector for TesoDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TES_ONLINE;
    const TRANSPORTS: Transports = Transports::TCP;
    /// A length below 16 MiB.
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(is_login(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// teso.pcapng, 192.168.88.231:47860 → 159.100.232.114:24504: the first 128 bytes of the
    /// client's 835-byte login (version string at 55, compressed part at 89); the test fills
    /// the rest.
    const LOGIN_HEAD: &str = concat!(
        "0000033f00010001000003372bf0002437386461663639362d616331322d3465",
        "36302d613361372d38656132393766656437653300001665736f2e6c6976652e",
        "392e332e362e323834393930330006b50ae0000000800000008b789c0180007f",
        "ff6208a0f9b82ee8a0b7e0e83ffaa2eeaddef9e2026539a68a726c08095dccd0"
    );
    const LOGIN_LEN: usize = 835;

    fn login() -> Vec<u8> {
        let mut m = hex(LOGIN_HEAD);
        m.resize(LOGIN_LEN, 0x17);
        m
    }

    #[test]
    fn the_login_names_the_flow() {
        let f = tcp([47860, 24504]);
        assert_eq!(run_one::<TesoDissector>(&f, &login()).0, Probe::Certain);
        // Either marker alone is enough.
        let mut no_version = login();
        no_version[55] = b'E';
        assert_eq!(run_one::<TesoDissector>(&f, &no_version).0, Probe::Certain);
        let mut no_zlib = login();
        no_zlib[89] = 0;
        assert_eq!(run_one::<TesoDissector>(&f, &no_zlib).0, Probe::Certain);
        truncations::<TesoDissector>(&f, &login());
    }

    #[test]
    fn near_misses_are_not_teso() {
        let f = tcp([47860, 24504]);
        let probe = |p: &[u8]| run_one::<TesoDissector>(&f, p).0;
        // Neither marker.
        let mut neither = login();
        neither[55] = b'E';
        neither[89] = 0;
        assert_eq!(probe(&neither), Probe::NotForUs);
        // A byte more than the lengths count; the inner length off by one.
        assert_eq!(probe(&[&login()[..], &[0]].concat()), Probe::NotForUs);
        let mut inner = login();
        inner[11] ^= 1;
        assert_eq!(probe(&inner), Probe::NotForUs);
        // Under 600 bytes with consistent lengths.
        let mut short = hex(LOGIN_HEAD);
        short.resize(599, 0);
        short[..4].copy_from_slice(&595u32.to_be_bytes());
        short[8..12].copy_from_slice(&587u32.to_be_bytes());
        assert_eq!(probe(&short), Probe::NotForUs);
        assert_eq!(run_one::<TesoDissector>(&udp([47860, 24504]), &login()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..700)) {
            no_panic::<TesoDissector>(&tcp([1, 2]), &[p]);
        }
    }
}
