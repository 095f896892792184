//! Lotus (HCL) Notes/Domino's NRPC, on TCP 1352 (IANA `lotusnote`), named from the client's
//! opening message on any port.
//!
//! NRPC is unpublished. The wire fact nDPI applies to all traffic (its lotus_notes.c): a
//! client's first message, longer than 16 bytes, carries `00 00 02 00 00 40 02 0F` at offset 6.
//! Here that must be the flow's first payload and the client's, whole in one segment, as in
//! nDPI; a flow opened by anything else is left to the other dissectors and, on 1352, to the
//! port's guess.

use super::{protocol, Direction, Dissector, Ports, Probe, Segment, Transports};

/// The octets at offset 6 of a client's opening message.
const OPENING: [u8; 8] = [0x00, 0x00, 0x02, 0x00, 0x00, 0x40, 0x02, 0x0F];
const AT: usize = 6;

/// The opening message is longer than this.
const MIN_LEN: usize = 16;

/// NRPC needs no state: the opening message names the flow.
#[derive(Debug, Default)]
pub struct LotusNotesDissector;

impl Dissector for LotusNotesDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::LOTUS_NOTES;
    const TRANSPORTS: Transports = Transports::TCP;

    /// Certain for a client's first payload longer than 16 bytes with the fixed octets; a
    /// shorter first payload is not the opening (nDPI does not look further either).
    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(
            segment.direction == Direction::Forward
                && p.len() > MIN_LEN
                && p.get(AT..AT + OPENING.len()) == Some(&OPENING[..]),
        )
    }

    const PORTS: Ports = Ports::tcp(&[1352]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A client's opening message: six octets, the fixed octets, then more of the request.
    fn opening() -> Vec<u8> {
        let mut p = vec![0x2c, 0x00, 0x00, 0x00, 0x01, 0x00];
        p.extend_from_slice(&OPENING);
        p.extend_from_slice(&[0x00; 30]);
        p
    }

    #[test]
    fn the_clients_opening_names_nrpc() {
        let f = tcp([50123, 1352]);
        assert_eq!(run_one::<LotusNotesDissector>(&f, &opening()).0, Probe::Certain);
        assert_eq!(run_one::<LotusNotesDissector>(&tcp([50123, 8000]), &opening()).0, Probe::Certain);
        assert_eq!(run_one::<LotusNotesDissector>(&f, &opening()[..10]).0, Probe::NotForUs, "a short opening");
        truncations::<LotusNotesDissector>(&f, &opening());
    }

    #[test]
    fn near_misses_are_not_nrpc() {
        let f = tcp([50123, 1352]);
        let mut other = opening();
        other[AT + 5] = 0x41;
        // Exactly 16 bytes is not long enough, and the server's side does not open.
        let short = opening()[..MIN_LEN].to_vec();
        for p in [other, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), vec![0xff; 40]] {
            assert_eq!(run_one::<LotusNotesDissector>(&f, &p).0, Probe::NotForUs, "{p:?}");
        }
        assert_ne!(run_one::<LotusNotesDissector>(&f, &short).0, Probe::Certain);
        let client_opening = opening();
        let reverse = segment(&f, Direction::Reverse, 0, &client_opening);
        assert_eq!(LotusNotesDissector::probe(&reverse), Probe::NotForUs);
        assert_eq!(run_one::<LotusNotesDissector>(&udp([50123, 1352]), &opening()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..48)) {
            no_panic::<LotusNotesDissector>(&tcp([1, 1352]), &[p]);
        }
    }
}
