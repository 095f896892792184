//! Ookla Speedtest's test protocol over TCP (Netify's `OOKLA`, 191): the text commands a
//! Speedtest client sends a Speedtest Server (by Ookla's server documentation it listens on TCP
//! 8080 and 5060) to measure latency and throughput. The client opens with `HI` (alone or with
//! its identifier, `HI <uuid>`) and the server answers `HELLO <version> …`, before `PING`,
//! `DOWNLOAD` and `UPLOAD` commands. nDPI names a flow `Ookla` from the same exchange (on port
//! 8080 only, its first two packets): here the greeting shortlists the flow on any port and the
//! server's `HELLO` line names it, the greeting being too short to tell alone.

use super::answered::Answered;
use super::{protocol, Dissector, FirstBytes, Parsed, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// The longest greeting line taken (`HI`, a space and a UUID or a build tag).
const MAX_GREETING: usize = 64;

/// The greeting, once read.
#[derive(Debug, Default)]
pub struct OoklaDissector(Answered);

/// The answer comes before the client's third payload.
const WITHIN: u8 = 3;

/// Whether `p` is the client's greeting: one line, `HI` alone or followed by a space and
/// printable text.
fn greeting(p: &[u8]) -> bool {
    let Some(line) = p.strip_suffix(b"\n") else { return false };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.len() <= MAX_GREETING
        && match line.strip_prefix(b"HI") {
            Some(b"") => true,
            Some([b' ', rest @ ..]) => !rest.is_empty() && rest.iter().all(u8::is_ascii_graphic),
            _ => false,
        }
}

/// Whether `p` is the server's answer: a line starting `HELLO ` and a version digit.
fn hello(p: &[u8]) -> bool {
    p.strip_prefix(b"HELLO ").and_then(|v| v.first()).is_some_and(u8::is_ascii_digit) && p.contains(&b'\n')
}

impl Dissector for OoklaDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::OOKLA;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"H");

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if greeting(p) {
            Probe::Certain
        } else if p.len() < 3 && b"HI\n".starts_with(p) && !p.is_empty() {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let opening = |p: &[u8]| greeting(p).then_some(0);
        self.0.parse(segment, facts, (protocol::OOKLA, WITHIN), opening, |_, p| hello(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    /// A Speedtest Server's answer to the greeting (version, build, date, server ID).
    const HELLO: &[u8] = b"HELLO 2.9 (2.9.5) 2021-03-17.1622.7e2d6a9 1234 5f0c7a1e-8b3c\n";

    #[test]
    fn the_answered_greeting_names_the_flow() {
        // nDPI's corpus has no such exchange: the commands as Ookla's server protocol has them.
        let f = tcp([51234, 8080]);
        for hi in [&b"HI\n"[..], b"HI 0b1c7a3e-5f2d-4f0e-9c8a-2d6b1e4f7a90\n", b"HI\r\n"] {
            assert_eq!(run_one::<OoklaDissector>(&f, hi).0, Probe::Certain, "{hi:?}");
            let one = [(Direction::Forward, hi.to_vec())];
            assert_eq!(parse_each::<OoklaDissector>(&f, &one), (Parsed::Continue, protocol::UNKNOWN), "unnamed alone");
            let both = [(Direction::Forward, hi.to_vec()), (Direction::Reverse, HELLO.to_vec())];
            assert_eq!(parse_each::<OoklaDissector>(&f, &both).1, protocol::OOKLA);
        }
        assert_eq!(run_one::<OoklaDissector>(&f, b"HI").0, Probe::Unsure);
        truncations::<OoklaDissector>(&f, b"HI\n");
    }

    #[test]
    fn near_misses_are_not_ookla() {
        let f = tcp([51234, 8080]);
        for p in [&b"HIT\n"[..], b"HI \n", b"HI there\nPING\n", b"HEAD / HTTP/1.1\r\n", b"HI\x00\n", b"hi\n"] {
            assert_eq!(run_one::<OoklaDissector>(&f, p).0, Probe::NotForUs, "{p:?}");
        }
        // A greeting answered otherwise gives the flow up.
        let other = [(Direction::Forward, b"HI\n".to_vec()), (Direction::Reverse, b"HELLO world\n".to_vec())];
        assert_eq!(parse_each::<OoklaDissector>(&f, &other).1, protocol::UNKNOWN);
        assert_eq!(run_one::<OoklaDissector>(&udp([51234, 8080]), b"HI\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..40), b in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<OoklaDissector>(&tcp([1, 8080]), &[b"HI\n".to_vec(), a, b]);
        }
    }
}
