//! The connection handshake of Epic Games' Unreal Engine game servers over UDP, which nDPI
//! names `EpicGames` (flowsieve-only ID, nDPI's name; application `netify.epic-games`).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as a fact
//! about the protocol; this is flowsieve's own code): the flow's first datagram, of at least
//! 34 bytes, opens with a 32-bit word whose bit 3 (`0x08`) is clear, and its bytes 10 to 33 are
//! zero (the handshake's empty cookie); the peer's answer, a later datagram the other way
//! within the flow's first four, opens with the same word with bit 3 set (the handshake's
//! "response" flag). Either side may start the flow. flowsieve also wants the answer to be a
//! handshake packet as long as the request's minimum (it carries the cookie: 48 bytes and more
//! on the wire), where nDPI takes any answer over 4 bytes.
//!
//! The probe shortlists a flow whose first datagram is such a request (the flow stays unnamed)
//! and the parse names it when the other side's answer carries the word with the flag set; up
//! to two more datagrams the same way (the client repeats its request) may come first. Any
//! other answer, or no answer within four datagrams, gives the flow up.

use super::answered::Answered;
use super::reader::be_u32_at;
use super::{protocol, Dissector, Parsed, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// The request's length at least: the word, six bytes, 24 zero bytes.
const REQUEST_MIN: usize = 34;
/// The zero cookie, bytes 10..34.
const COOKIE: std::ops::Range<usize> = 10..34;
/// The response flag in the first word.
const RESPONSE: u32 = 0x08;
/// Datagrams within which the answer must come (nDPI's bound, the request included).
const WITHIN: u8 = 4;

/// The request's first word, once read.
#[derive(Debug, Default)]
pub struct EpicGamesDissector(Answered);

/// The handshake request's first word, when `p` is one.
fn request_word(p: &[u8]) -> Option<u32> {
    let word = be_u32_at(p, 0)?;
    let cookie = p.get(COOKIE)?;
    (p.len() >= REQUEST_MIN && word & RESPONSE == 0 && cookie.iter().all(|&b| b == 0)).then_some(word)
}

impl Dissector for EpicGamesDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::EPIC_GAMES;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(request_word(segment.payload).is_some())
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let answers = |word, p: &[u8]| p.len() >= REQUEST_MIN && be_u32_at(p, 0) == Some(word | RESPONSE);
        self.0.parse(segment, facts, (protocol::EPIC_GAMES, WITHIN), request_word, answers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::{Direction, Skip};
    use proptest::prelude::*;

    /// epicgames.pcapng, 192.168.12.156:39322 → 18.157.15.184:9011: the client's request
    /// and the server's answer.
    const REQUEST: &str = concat!(
        "471a200008982265740400000000000000000000000000000000000000000000",
        "0000000000000070550f8a268e79a2dd77c0e828b018"
    );
    const ANSWER: &str = concat!(
        "471a20080898226574040000406229fcaa0d0e84170067c3a4ae7427cc594cbc",
        "ec2daa8a950b50486e75ce62f581f2d72aea173079c7151a"
    );

    #[test]
    fn the_handshake_names_the_flow() {
        let f = udp([39322, 9011]);
        assert_eq!(run_one::<EpicGamesDissector>(&f, &hex(REQUEST)).0, Probe::Certain);
        assert_eq!(
            parse_each::<EpicGamesDissector>(&f, &[(Direction::Forward, hex(REQUEST))]),
            (Parsed::Continue, protocol::UNKNOWN),
            "shortlisted, unnamed"
        );
        let both = [(Direction::Forward, hex(REQUEST)), (Direction::Reverse, hex(ANSWER))];
        assert_eq!(parse_each::<EpicGamesDissector>(&f, &both), (Parsed::Done, protocol::EPIC_GAMES));
        // Two repeated requests before the answer (the fourth datagram) still name it.
        let repeated = [
            (Direction::Forward, hex(REQUEST)),
            (Direction::Forward, hex(REQUEST)),
            (Direction::Forward, hex(REQUEST)),
            (Direction::Reverse, hex(ANSWER)),
        ];
        assert_eq!(parse_each::<EpicGamesDissector>(&f, &repeated).1, protocol::EPIC_GAMES);
        truncations::<EpicGamesDissector>(&f, &hex(REQUEST));
    }

    #[test]
    fn near_misses_are_not_the_handshake() {
        let f = udp([39322, 9011]);
        // The answer alone (flag set), a non-zero cookie byte, a request too short.
        assert_eq!(run_one::<EpicGamesDissector>(&f, &hex(ANSWER)).0, Probe::NotForUs);
        let mut cookie = hex(REQUEST);
        cookie[20] = 1;
        assert_eq!(run_one::<EpicGamesDissector>(&f, &cookie).0, Probe::NotForUs);
        assert_eq!(run_one::<EpicGamesDissector>(&f, &hex(REQUEST)[..33]).0, Probe::NotForUs);
        assert_eq!(run_one::<EpicGamesDissector>(&tcp([39322, 9011]), &hex(REQUEST)).0, Probe::NotForUs);
        // An answer without the flag, or too short for the handshake, gives the flow up.
        let short = [(Direction::Forward, hex(REQUEST)), (Direction::Reverse, hex(ANSWER)[..33].to_vec())];
        assert_eq!(parse_each::<EpicGamesDissector>(&f, &short).0, Parsed::Skipped(Skip::Unconfirmed));
        let mut unflagged = hex(ANSWER);
        unflagged[3] = 0;
        let other = [(Direction::Forward, hex(REQUEST)), (Direction::Reverse, unflagged)];
        assert_eq!(
            parse_each::<EpicGamesDissector>(&f, &other),
            (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN)
        );
        // No answer within four datagrams.
        let silent = vec![(Direction::Forward, hex(REQUEST)); 4];
        assert_eq!(parse_each::<EpicGamesDissector>(&f, &silent).0, Parsed::Skipped(Skip::Unconfirmed));
        // A zero-filled datagram, e.g. padding, is a request only until its answer fails.
        let zeros = [(Direction::Forward, vec![0; 40]), (Direction::Reverse, vec![0; 40])];
        assert_eq!(parse_each::<EpicGamesDissector>(&f, &zeros).1, protocol::UNKNOWN);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<EpicGamesDissector>(&udp([1, 2]), &[p.clone(), p.clone(), p]);
        }
    }
}
