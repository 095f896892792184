//! Armagetron Advanced, the open-source light-cycle game, over UDP (Netify's `Armagetron`,
//! 104).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as facts
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code). A datagram is messages of a 16-bit descriptor, a 16-bit message ID
//! and a 16-bit data length counted in 16-bit words, then the data (the game's own network
//! code, `nNetwork`, is public); the datagram ends with two zero bytes. nDPI names a flow from
//! one datagram of more than 10 bytes in one of three forms, all big-endian:
//!
//! - the login: descriptor 11, ID 0, a non-zero data length with `8 + 2·length` the whole
//!   datagram, and `00 08` next;
//! - a sync message: 16 bytes, descriptor 28 (`0x001c`), a non-zero ID, length 4, then
//!   `00 00 05 00 00 01 00 00`;
//! - a net-sync combination: more than 50 bytes, descriptor 24 (`0x0018`), a non-zero ID, a
//!   non-zero length whose data fits, the same 16 bits at offsets 8 and 12, and at offset
//!   `16 + n` (`n` the 16-bit value at offset 14, with 4 more bytes before the end) the word
//!   `00 01 00 00` or `00 00 00 01`.

use super::reader::{be_u16_at, be_u32_at};
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// The two zero bytes every form ends with, when `p` is long enough to hold a header.
fn ends_with_zero(p: &[u8]) -> bool {
    p.len() > 10 && p.ends_with(&[0, 0])
}

/// The data length in bytes, when it is non-zero.
fn data_bytes(p: &[u8]) -> Option<usize> {
    be_u16_at(p, 4).filter(|&n| n != 0).map(|n| 2 * usize::from(n))
}

fn login(p: &[u8]) -> bool {
    be_u32_at(p, 0) == Some(0x000b_0000)
        && data_bytes(p).is_some_and(|n| n + 8 == p.len())
        && be_u16_at(p, 6) == Some(0x0008)
}

fn sync(p: &[u8]) -> bool {
    p.len() == 16
        && be_u16_at(p, 0) == Some(0x001c)
        && be_u16_at(p, 2).is_some_and(|id| id != 0)
        && be_u16_at(p, 4) == Some(4)
        && p[6..14] == [0, 0, 5, 0, 0, 1, 0, 0]
}

fn net_sync(p: &[u8]) -> bool {
    let fits = data_bytes(p).is_some_and(|n| n + 8 <= p.len());
    let header = p.len() > 50
        && be_u16_at(p, 0) == Some(0x0018)
        && be_u16_at(p, 2).is_some_and(|id| id != 0)
        && fits
        && be_u16_at(p, 8) == be_u16_at(p, 12);
    let Some(at) = be_u16_at(p, 14).map(|n| 16 + usize::from(n)) else { return false };
    header && at + 4 < p.len() && matches!(be_u32_at(p, at), Some(0x0001_0000 | 0x0000_0001))
}

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct ArmagetronDissector;

impl Dissector for ArmagetronDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ARMAGETRON;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(ends_with_zero(p) && (login(p) || sync(p) || net_sync(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A login with `words` 16-bit words of data (the first `00 08`), ending in zeros.
    fn login_msg(words: u16) -> Vec<u8> {
        let mut p = vec![0, 0x0b, 0, 0];
        p.extend_from_slice(&words.to_be_bytes());
        p.extend_from_slice(&[0, 8]);
        p.resize(8 + 2 * usize::from(words), 0x41);
        let n = p.len();
        p[n - 2..].copy_from_slice(&[0, 0]);
        p
    }

    const SYNC: &str = "001c0007000400000500000100000000";

    /// A net-sync combination: the value at 14 is 4, the word at 20 is `00 01 00 00`.
    fn net_sync_msg() -> Vec<u8> {
        let mut p = vec![0, 0x18, 0, 3, 0, 10, 0, 0, 0x12, 0x34, 0, 0, 0x12, 0x34, 0, 4];
        p.extend_from_slice(&[9, 9, 9, 9, 0, 1, 0, 0]);
        p.resize(60, 0x41);
        p[58..].copy_from_slice(&[0, 0]);
        p
    }

    #[test]
    fn the_three_forms_are_armagetron() {
        assert_eq!(protocol::name_of(protocol::ARMAGETRON), "Armagetron");
        let f = udp([4534, 4534]);
        let sync_msg = hex(SYNC);
        for p in [login_msg(6), sync_msg, net_sync_msg()] {
            assert_eq!(run_one::<ArmagetronDissector>(&f, &p).0, Probe::Certain, "{p:02x?}");
            truncations::<ArmagetronDissector>(&f, &p);
        }
    }

    #[test]
    fn near_misses_are_not_armagetron() {
        let f = udp([4534, 4534]);
        // A login whose length is one word off, one not ending in zeros, over TCP.
        let mut p = login_msg(6);
        p[5] = 5;
        assert_eq!(run_one::<ArmagetronDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = login_msg(6);
        p[19] = 1;
        assert_eq!(run_one::<ArmagetronDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<ArmagetronDissector>(&tcp([4534, 4534]), &login_msg(6)).0, Probe::NotForUs);
        // A sync with ID 0, a net sync whose offsets 8 and 12 differ.
        let mut s = hex(SYNC);
        s[3] = 0;
        assert_eq!(run_one::<ArmagetronDissector>(&f, &s).0, Probe::NotForUs);
        let mut n = net_sync_msg();
        n[13] = 0x35;
        assert_eq!(run_one::<ArmagetronDissector>(&f, &n).0, Probe::NotForUs);
        // A DNS query.
        let dns = hex("000b0100000100000000000003777777076578616d706c6503636f6d0000010001");
        assert_eq!(run_one::<ArmagetronDissector>(&f, &dns).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<ArmagetronDissector>(&udp([1, 2]), &[p]);
        }

        #[test]
        fn any_login_length_that_agrees_is_armagetron(words in 2u16..200) {
            prop_assert_eq!(run_one::<ArmagetronDissector>(&udp([1, 2]), &login_msg(words)).0, Probe::Certain);
        }
    }
}
