//! Path of Exile's login to its game servers over TCP, which nDPI names `PathofExile`
//! (flowsieve-only ID, nDPI's name; Netify's list has no application for the game).
//!
//! Wire facts (the signature nDPI applies to all TCP traffic, read from its source as a fact
//! about the protocol; this is flowsieve's own code): the client's first message is 26 to 49
//! bytes: byte 0 is zero, bytes 1–2 are `03 00`, byte 6 is zero, bytes 7–8 are `02 00`, and it
//! ends with the eight bytes `00 00 00 00 40 00 00 01`; it carries the character's name (4 to
//! 23 characters). flowsieve reads the name as the length-prefixed string it is (its length in
//! byte 9, the name from byte 10, 12 bytes after it) and wants that length to account for the
//! message exactly, and the name to be printable.

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const LEN: std::ops::Range<usize> = 26..50;
const TRAILER: [u8; 8] = [0, 0, 0, 0, 0x40, 0, 0, 1];
const NAME_AT: usize = 10;
/// Bytes after the name: four, then the trailer.
const AFTER_NAME: usize = 4 + TRAILER.len();

/// The login needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct PathOfExileDissector;

fn is_login(p: &[u8]) -> bool {
    let header = matches!(p, [0, 0x03, 0x00, _, _, _, 0, 0x02, 0x00, ..]);
    let name = p.get(9).and_then(|&n| p.get(NAME_AT..NAME_AT + usize::from(n)));
    let named = name
        .is_some_and(|name| NAME_AT + name.len() + AFTER_NAME == p.len() && name.iter().all(|b| b.is_ascii_graphic()));
    LEN.contains(&p.len()) && header && p.ends_with(&TRAILER) && named
}

impl Dissector for PathOfExileDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::PATH_OF_EXILE;
    const TRANSPORTS: Transports = Transports::TCP;
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

    /// path_of_exile.pcapng, 192.168.88.231:36262 → 198.50.120.150:6112: the login of a
    /// character named `nDPI_Test`.
    const LOGIN: &str = "000300377560000200096e4450495f54657374ec8fecf20000000040000001";

    #[test]
    fn the_login_names_the_flow() {
        let f = tcp([36262, 6112]);
        assert_eq!(run_one::<PathOfExileDissector>(&f, &hex(LOGIN)).0, Probe::Certain);
        truncations::<PathOfExileDissector>(&f, &hex(LOGIN));
    }

    #[test]
    fn near_misses_are_not_path_of_exile() {
        let f = tcp([36262, 6112]);
        let probe = |p: &[u8]| run_one::<PathOfExileDissector>(&f, p).0;
        // The name's length one off, a control byte in the name, another trailer.
        let mut p = hex(LOGIN);
        p[9] = 10;
        assert_eq!(probe(&p), Probe::NotForUs);
        let mut p = hex(LOGIN);
        p[12] = 0x07;
        assert_eq!(probe(&p), Probe::NotForUs);
        let mut p = hex(LOGIN);
        p[30] = 2;
        assert_eq!(probe(&p), Probe::NotForUs);
        let mut p = hex(LOGIN);
        p[7] = 3;
        assert_eq!(probe(&p), Probe::NotForUs);
        assert_eq!(run_one::<PathOfExileDissector>(&udp([36262, 6112]), &hex(LOGIN)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<PathOfExileDissector>(&tcp([1, 2]), &[p]);
        }
    }
}
