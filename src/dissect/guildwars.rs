//! Guild Wars, ArenaNet's online game, over TCP (Netify's `Guildwars`, 109).
//!
//! Wire facts (the signature nDPI applies to all TCP traffic, read from its source as facts
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): one payload in one of three forms names the flow:
//!
//! - 64 bytes, `05 0c` at offset 1 and the text `@2&P` at offset 50;
//! - 16 bytes, `04 0c` at offset 1, `a6 72` at offset 4, `01` at offset 8 and `04` at 12;
//! - 21 bytes starting `01 00`, `f1 00 10 00` at offset 5 and `01` at offset 9.

use super::{protocol, Dissector, Probe, Segment, Transports};

fn form(p: &[u8]) -> bool {
    match p.len() {
        64 => p[1..3] == [0x05, 0x0c] && &p[50..54] == b"@2&P",
        16 => p[1..3] == [0x04, 0x0c] && p[4..6] == [0xa6, 0x72] && p[8] == 0x01 && p[12] == 0x04,
        21 => p[..2] == [0x01, 0x00] && p[5..9] == [0xf1, 0x00, 0x10, 0x00] && p[9] == 0x01,
        _ => false,
    }
}

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct GuildwarsDissector;

impl Dissector for GuildwarsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::GUILDWARS;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(form(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    fn forms() -> [Vec<u8>; 3] {
        let mut a = vec![0x22; 64];
        a[1..3].copy_from_slice(&[0x05, 0x0c]);
        a[50..54].copy_from_slice(b"@2&P");
        let mut b = vec![0x22; 16];
        b[1..3].copy_from_slice(&[0x04, 0x0c]);
        b[4..6].copy_from_slice(&[0xa6, 0x72]);
        (b[8], b[12]) = (1, 4);
        let mut c = vec![0x22; 21];
        c[..2].copy_from_slice(&[1, 0]);
        c[5..10].copy_from_slice(&[0xf1, 0, 0x10, 0, 1]);
        [a, b, c]
    }

    #[test]
    fn the_three_forms_are_guild_wars() {
        assert_eq!(protocol::name_of(protocol::GUILDWARS), "Guildwars");
        let f = tcp([50000, 6112]);
        for p in forms() {
            assert_eq!(run_one::<GuildwarsDissector>(&f, &p).0, Probe::Certain, "{p:02x?}");
            truncations::<GuildwarsDissector>(&f, &p);
        }
    }

    #[test]
    fn near_misses_are_not_guild_wars() {
        let f = tcp([50000, 6112]);
        for (p, at) in forms().into_iter().zip([52, 12, 9]) {
            let mut q = p.clone();
            q[at] ^= 0x02;
            assert_eq!(run_one::<GuildwarsDissector>(&f, &q).0, Probe::NotForUs);
            assert_eq!(run_one::<GuildwarsDissector>(&f, &[&p[..], &[0]].concat()).0, Probe::NotForUs);
            assert_eq!(run_one::<GuildwarsDissector>(&udp([50000, 6112]), &p).0, Probe::NotForUs);
        }
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..70)) {
            no_panic::<GuildwarsDissector>(&tcp([1, 2]), &[p]);
        }
    }
}
