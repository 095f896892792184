//! Icecast's source protocol over TCP (Netify's `IceCast`, 52): how a source client (an
//! encoder: libshout, ices, butt, ffmpeg's `icecast` output) feeds a stream to an Icecast
//! server.
//!
//! Wire facts (Icecast's and libshout's documented source protocol, and the signature nDPI
//! applies to every TCP flow, read from its source as a fact about the protocol:
//! docs/ARCHITECTURE.md, "nDPI's signatures are wire facts"): the source opens with an HTTP-like
//! request whose method is `SOURCE`, `SOURCE /mountpoint HTTP/1.0` (or the older
//! `SOURCE /mountpoint ICE/1.0`), followed by header lines that describe the stream with
//! `ice-` names (`ice-name`, `ice-public`, `ice-description`, `ice-audio-info` …). nDPI takes a
//! first payload of fewer than 500 bytes starting `SOURCE ` with an `ice-` header line in it or
//! in the client's next payload. flowsieve tightens the request line (a mount point starting
//! with `/`, and `HTTP/1.x` or `ICE/1.0`) and takes `ice-` headers ASCII case-insensitively.
//!
//! Not here: a listener's `GET` answered with Icecast's `Server: Icecast` header or
//! SHOUTcast's `ICY 200 OK` status line is an HTTP flow, which the HTTP dissector owns; a
//! source that uses `PUT` (Icecast 2.4's HTTP form) likewise.

use super::text::{prefix_agrees, split_line, starts_with_ci};
use super::{protocol, Direction, Dissector, FirstBytes, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

const METHOD: &[u8] = b"SOURCE /";
const VERSIONS: [&[u8]; 3] = [b" HTTP/1.0", b" HTTP/1.1", b" ICE/1.0"];
const ICE_HEADER: &[u8] = b"ice-";
/// nDPI's bound on the request's payload.
const LONGEST: usize = 500;
/// The client's payloads read for an `ice-` header.
const WITHIN: u8 = 2;

/// The client's direction, once its request line is read; the client's payloads seen.
#[derive(Debug, Default)]
pub struct IcecastDissector {
    client: Option<Direction>,
    seen: u8,
}

/// Whether `p` opens with a source request line.
fn request_line(p: &[u8]) -> bool {
    split_line(p).is_some_and(|(line, _)| {
        line.starts_with(METHOD)
            && VERSIONS.iter().any(|v| line.ends_with(v))
            && line.iter().filter(|&&b| b == b' ').count() == 2
    })
}

/// Whether the header lines in `p` hold an `ice-` header (`name: value`).
fn ice_header(mut p: &[u8]) -> bool {
    while let Some((line, rest)) = split_line(p) {
        if starts_with_ci(line, ICE_HEADER) && line.contains(&b':') {
            return true;
        }
        p = rest;
    }
    false
}

impl Dissector for IcecastDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ICECAST;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"S");

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.len() < LONGEST && request_line(p) {
            Probe::Certain
        } else if p.len() < METHOD.len() && !p.is_empty() && prefix_agrees(p, METHOD) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        let lines = match self.client {
            None if request_line(p) => {
                self.client = Some(segment.direction);
                split_line(p).map_or(&[][..], |(_, rest)| rest)
            }
            None => return Parsed::Skipped(Skip::Unconfirmed),
            // The server's answer: the client's headers are what names the flow.
            Some(client) if client != segment.direction => return Parsed::Continue,
            Some(_) => p,
        };
        self.seen = self.seen.saturating_add(1);
        if ice_header(lines) {
            facts.protocol = protocol::ICECAST;
            return Parsed::Done;
        }
        if self.seen >= WITHIN {
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        Parsed::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A source request as libshout sends it to an Icecast 2 server.
    const REQUEST: &[u8] = b"SOURCE /live.ogg HTTP/1.0\r\nAuthorization: Basic c291cmNlOmhhY2ttZQ==\r\nHost: radio.example:8000\r\nUser-Agent: libshout/2.4.6\r\nContent-Type: application/ogg\r\nice-name: Example Radio\r\nice-public: 0\r\n\r\n";

    #[test]
    fn a_source_request_with_ice_headers_is_icecast() {
        let f = tcp([50000, 8000]);
        let (probe, parsed, facts) = run_one::<IcecastDissector>(&f, REQUEST);
        assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Done, protocol::ICECAST));
        // The older ICE/1.0 form, its headers in the client's next payload.
        let line = b"SOURCE /stream ICE/1.0\r\n".to_vec();
        let headers = b"content-type: audio/mpeg\r\nICE-Name: x\r\n\r\n".to_vec();
        assert_eq!(run_one::<IcecastDissector>(&f, &line).0, Probe::Certain);
        let split = [(Direction::Forward, line.clone()), (Direction::Forward, headers)];
        assert_eq!(parse_each::<IcecastDissector>(&f, &split), (Parsed::Done, protocol::ICECAST));
        assert_eq!(run_one::<IcecastDissector>(&f, b"SOUR").0, Probe::Unsure);
        truncations::<IcecastDissector>(&f, REQUEST);
        assert_eq!(protocol::name_of(protocol::ICECAST), "IceCast");
    }

    #[test]
    fn near_misses_are_not_icecast() {
        let f = tcp([50000, 8000]);
        // Another method, no mount point, another version, an unfinished line, too long.
        for p in [
            &b"GET /live.ogg HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"[..],
            b"SOURCE live.ogg HTTP/1.0\r\nice-name: x\r\n\r\n",
            b"SOURCE /live.ogg RTSP/1.0\r\nice-name: x\r\n\r\n",
            b"SOURCE /live.ogg HTTP/1.0",
            b"SOURCE /a b HTTP/1.0\r\n",
        ] {
            assert_eq!(run_one::<IcecastDissector>(&f, p).0, Probe::NotForUs, "{}", String::from_utf8_lossy(p));
        }
        let mut long = b"SOURCE /live.ogg HTTP/1.0\r\n".to_vec();
        long.resize(LONGEST, b'x');
        assert_eq!(run_one::<IcecastDissector>(&f, &long).0, Probe::NotForUs);
        // A source request without any ice- header stays unnamed and is given up.
        let bare = [
            (Direction::Forward, b"SOURCE /live HTTP/1.0\r\nAuthorization: Basic eDp5\r\n\r\n".to_vec()),
            (Direction::Reverse, b"HTTP/1.0 200 OK\r\n\r\n".to_vec()),
            (Direction::Forward, b"OggS\x00\x02".to_vec()),
        ];
        assert_eq!(parse_each::<IcecastDissector>(&f, &bare), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
        assert_eq!(run_one::<IcecastDissector>(&udp([50000, 8000]), REQUEST).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..60), b in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<IcecastDissector>(&tcp([1, 8000]), &[REQUEST.to_vec(), a.clone(), b]);
            no_panic::<IcecastDissector>(&tcp([1, 8000]), &[a]);
        }
    }
}
