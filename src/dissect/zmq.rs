//! ZeroMQ's message transport protocol, ZMTP (TCP, no well-known port), which Netify names
//! `ZMQ` (177) and nDPI `ZeroMQ`.
//!
//! Wire facts (ZMTP 3.0/3.1, rfc.zeromq.org specs 23 and 37; ZMTP 2.0, spec 15): both peers open
//! with a greeting whose first 10 bytes are the signature, `0xFF`, eight padding bytes and
//! `0x7F`; libzmq sends it alone first (the padding `00 … 00 01`, the ZMTP 1.0 length of an
//! empty identity, for backward compatibility) and the rest once the peer's signature arrived.
//! A ZMTP 2.0 greeting goes on with the revision `0x01` and the socket type; a ZMTP 3.x one with
//! the version (major 3, minor 0 or 1), the security mechanism's name (`NULL`, `PLAIN`,
//! `CURVE`, `GSSAPI`: upper-case letters, digits, `-` and `_`) padded with NULs to 20 bytes,
//! the as-server byte (0 or 1) and 31 bytes of filler: 64 bytes in all. The signature nDPI
//! applies to every TCP flow (docs/ARCHITECTURE.md, "nDPI's signatures are wire facts"): the
//! libzmq signature in both of the flow's first two payloads, or followed by ZMTP 2.0's
//! revision and socket type.
//!
//! Here a signature (padding free, as the specification says; when the version byte follows,
//! 1 or 3) only shortlists the flow, and the other side's signature names it; a whole ZMTP 3.x
//! greeting in one payload names it at once. nDPI's other two forms key on the bytes of one
//! application's identity (`flow`) and are not taken.

use super::answered::Answered;
use super::{protocol, Dissector, FirstBytes, Parsed, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const SIGNATURE_LEN: usize = 10;
const SIGNATURE_START: u8 = 0xff;
const SIGNATURE_END: u8 = 0x7f;
/// ZMTP 2.0's revision byte and ZMTP 3.x's major version.
const VERSIONS: [u8; 2] = [0x01, 0x03];
const GREETING_LEN: usize = 64;
const MECHANISM: std::ops::Range<usize> = 12..32;
const AS_SERVER: usize = 32;

/// The first signature, once read.
#[derive(Debug, Default)]
pub struct ZmqDissector(Answered);

/// The other side's signature comes within the flow's first four payloads.
const WITHIN: u8 = 4;

/// Whether `p` opens with a greeting's signature (and, when it goes on, a known version).
fn signature(p: &[u8]) -> bool {
    p.len() >= SIGNATURE_LEN
        && p.first() == Some(&SIGNATURE_START)
        && p.get(SIGNATURE_LEN - 1) == Some(&SIGNATURE_END)
        && p.get(SIGNATURE_LEN).is_none_or(|v| VERSIONS.contains(v))
}

/// Whether `p` opens with a whole ZMTP 3.x greeting.
fn greeting(p: &[u8]) -> bool {
    let mechanism = p.get(MECHANISM).unwrap_or_default();
    let name_len = mechanism.iter().position(|&b| b == 0).unwrap_or(mechanism.len());
    let (name, padding) = mechanism.split_at(name_len);
    p.len() >= GREETING_LEN
        && signature(p)
        && p.get(SIGNATURE_LEN) == Some(&3)
        && p.get(SIGNATURE_LEN + 1).is_some_and(|&minor| minor <= 1)
        && !name.is_empty()
        && name.iter().all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && padding.iter().all(|&b| b == 0)
        && p.get(AS_SERVER).is_some_and(|&s| s <= 1)
}

impl Dissector for ZmqDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ZMQ;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[SIGNATURE_START]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if signature(p) {
            Probe::Certain
        } else if p.len() < SIGNATURE_LEN && p.first() == Some(&SIGNATURE_START) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if facts.protocol == protocol::UNKNOWN && greeting(segment.payload) {
            facts.protocol = protocol::ZMQ;
            return Parsed::Done;
        }
        let opening = |p: &[u8]| signature(p).then_some(0);
        self.0.parse(segment, facts, (protocol::ZMQ, WITHIN), opening, |_, p| signature(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::{Direction, Skip};
    use proptest::prelude::*;

    /// libzmq's signature: `0xFF`, the padding `00 … 00 01`, `0x7F`.
    const SIGNATURE: [u8; 10] = [0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f];

    /// A whole ZMTP 3.0 greeting with the `mechanism` and as-server byte given.
    fn greeting_with(mechanism: &[u8], as_server: u8) -> Vec<u8> {
        let mut g = SIGNATURE.to_vec();
        g.extend_from_slice(&[3, 0]);
        let mut name = [0u8; 20];
        name[..mechanism.len()].copy_from_slice(mechanism);
        g.extend_from_slice(&name);
        g.push(as_server);
        g.extend_from_slice(&[0; 31]);
        g
    }

    #[test]
    fn signatures_both_ways_name_the_flow() {
        let f = tcp([50000, 5555]);
        assert_eq!(run_one::<ZmqDissector>(&f, &SIGNATURE).0, Probe::Certain);
        let one = [(Direction::Forward, SIGNATURE.to_vec())];
        assert_eq!(parse_each::<ZmqDissector>(&f, &one), (Parsed::Continue, protocol::UNKNOWN), "unnamed alone");
        let both = [(Direction::Forward, SIGNATURE.to_vec()), (Direction::Reverse, SIGNATURE.to_vec())];
        assert_eq!(parse_each::<ZmqDissector>(&f, &both), (Parsed::Done, protocol::ZMQ));
        // ZMTP 2.0: the signature, then revision 1 and a socket type; zero padding.
        let mut zmtp2 = [0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f].to_vec();
        zmtp2.extend_from_slice(&[1, 5]);
        let answered = [(Direction::Forward, zmtp2.clone()), (Direction::Reverse, zmtp2)];
        assert_eq!(parse_each::<ZmqDissector>(&f, &answered).1, protocol::ZMQ);
        assert_eq!(run_one::<ZmqDissector>(&f, &SIGNATURE[..4]).0, Probe::Unsure);
        truncations::<ZmqDissector>(&f, &greeting_with(b"NULL", 0));
        assert_eq!(protocol::name_of(protocol::ZMQ), "ZMQ");
    }

    #[test]
    fn a_whole_greeting_names_the_flow_at_once() {
        let f = tcp([50000, 5555]);
        for (mechanism, as_server) in [(&b"NULL"[..], 0), (b"PLAIN", 1), (b"CURVE", 0), (b"GSSAPI", 0)] {
            let (probe, parsed, facts) = run_one::<ZmqDissector>(&f, &greeting_with(mechanism, as_server));
            assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Done, protocol::ZMQ));
        }
    }

    #[test]
    fn near_misses_are_not_zmq() {
        let f = tcp([50000, 5555]);
        // No 0x7F, another version, a lower-case or unpadded mechanism, as-server 2: a greeting
        // that is not whole only shortlists (or is not ZMTP at all).
        let mut no_end = SIGNATURE;
        no_end[9] = 0x7e;
        assert_eq!(run_one::<ZmqDissector>(&f, &no_end).0, Probe::NotForUs);
        let mut version = greeting_with(b"NULL", 0);
        version[10] = 2;
        assert_eq!(run_one::<ZmqDissector>(&f, &version).0, Probe::NotForUs);
        for bad in [greeting_with(b"null", 0), greeting_with(b"NULL", 2), {
            let mut g = greeting_with(b"NULL", 0);
            g[20] = b'X';
            g
        }] {
            let (probe, parsed, facts) = run_one::<ZmqDissector>(&f, &bad);
            assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Continue, protocol::UNKNOWN));
        }
        // The same side twice, an answer that is not a signature, Telnet's negotiation, UDP.
        let twice = [
            (Direction::Forward, SIGNATURE.to_vec()),
            (Direction::Forward, vec![3]),
            (Direction::Forward, vec![0; 53]),
            (Direction::Forward, SIGNATURE.to_vec()),
        ];
        assert_eq!(parse_each::<ZmqDissector>(&f, &twice), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
        let other = [(Direction::Forward, SIGNATURE.to_vec()), (Direction::Reverse, b"HTTP/1.1 400 Bad".to_vec())];
        assert_eq!(parse_each::<ZmqDissector>(&f, &other).0, Parsed::Skipped(Skip::Unconfirmed));
        assert_eq!(run_one::<ZmqDissector>(&f, &hex("fffd18fffd20fffd23fffd27")).0, Probe::NotForUs);
        assert_eq!(run_one::<ZmqDissector>(&udp([50000, 5555]), &SIGNATURE).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..70), b in proptest::collection::vec(any::<u8>(), 0..70)) {
            no_panic::<ZmqDissector>(&tcp([1, 2]), &[SIGNATURE.to_vec(), a.clone(), b]);
            no_panic::<ZmqDissector>(&tcp([1, 2]), &[a]);
        }
    }
}
