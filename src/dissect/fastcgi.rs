//! FastCGI (FastCGI Specification 1.0, Open Market 1996): a web server hands requests to an
//! application server over TCP. Every record starts with an 8-byte header (version 1, type,
//! request id, content length, padding length, reserved, §3.3); the request's CGI variables
//! travel as name-value pairs in `FCGI_PARAMS` records (§3.4, §5.2). `HTTP_HOST` names the
//! flow and `HTTP_USER_AGENT` is its user agent, as nDPI reports them; `REQUEST_METHOD` and
//! `REQUEST_URI` fill the HTTP method and URL.
//!
//! A flow is claimed on a well-formed `FCGI_BEGIN_REQUEST` (content `role, flags, 5 reserved
//! zero bytes`, role 1–3) or `FCGI_PARAMS` record whose pairs fill its content exactly: an
//! 8-byte header alone says too little.

use super::http::hostname_of;
use super::reader::{be_len16_at, be_u16_at, be_u32_at};
use super::text::fact_string;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Parsed, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const HEADER: usize = 8;
const BEGIN_REQUEST: u8 = 1;
const PARAMS: u8 = 4;
const STDIN: u8 = 5;
/// Highest record type of the specification (`FCGI_UNKNOWN_TYPE`).
const MAX_TYPE: u8 = 11;
/// Segments looked at before giving up on finding the request's host.
const MAX_SEGMENTS: u8 = 4;
/// Longest fact kept from a variable.
const MAX_FACT: usize = 512;

/// Counts the segments looked at.
#[derive(Debug, Default)]
pub struct FastcgiDissector {
    segments: u8,
}

/// One record: its type, its content as far as the segment holds it, whether it is whole, and
/// the bytes after it (padding skipped).
struct Record<'a> {
    kind: u8,
    content: &'a [u8],
    whole: bool,
    rest: &'a [u8],
}

fn record(p: &[u8]) -> Option<Record<'_>> {
    let h = p.get(..HEADER)?;
    if h[0] != 1 || !(1..=MAX_TYPE).contains(&h[1]) {
        return None;
    }
    let len = be_len16_at(h, 4)?;
    let padding = usize::from(h[6]);
    let body = p.get(HEADER..).unwrap_or_default();
    let content = body.get(..len).unwrap_or(body);
    let whole = body.len() >= len;
    let rest = body.get(len + padding..).unwrap_or_default();
    Some(Record { kind: h[1], content, whole, rest })
}

/// A name or value length (§3.4): one byte below 128, else four with the top bit set.
fn length(data: &[u8]) -> Option<(usize, &[u8])> {
    let first = *data.first()?;
    if first & 0x80 == 0 {
        return Some((usize::from(first), data.get(1..)?));
    }
    let len = be_u32_at(data, 0)? & 0x7fff_ffff;
    Some((usize::try_from(len).ok()?, data.get(4..)?))
}

/// The name-value pairs of a `FCGI_PARAMS` content, up to the first incomplete one.
fn pairs(mut data: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        let (name_len, rest) = length(data)?;
        let (value_len, rest) = length(rest)?;
        let name = rest.get(..name_len)?;
        let value = rest.get(name_len..name_len.checked_add(value_len)?)?;
        data = rest.get(name_len + value_len..).unwrap_or_default();
        Some((name, value))
    })
}

/// True when the content is a list of pairs with CGI-style names, filling it exactly.
fn params_fill(content: &[u8]) -> bool {
    let mut used = 0usize;
    let mut count = 0usize;
    for (name, value) in pairs(content) {
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') {
            return false;
        }
        // The two lengths took 1 or 4 bytes each.
        let width = |n: usize| if n < 128 { 1 } else { 4 };
        used += width(name.len()) + width(value.len()) + name.len() + value.len();
        count += 1;
    }
    count > 0 && used == content.len()
}

fn looks_like_fastcgi(p: &[u8]) -> bool {
    match record(p) {
        Some(Record { kind: BEGIN_REQUEST, content, whole: true, .. }) => {
            content.len() == 8
                && be_u16_at(content, 0).is_some_and(|role| (1..=3).contains(&role))
                && content[3..] == [0; 5]
        }
        Some(Record { kind: PARAMS, content, whole: true, .. }) => params_fill(content),
        _ => false,
    }
}

impl Dissector for FastcgiDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::FASTCGI;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[1]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() {
            Probe::NotForUs
        } else if p.len() < HEADER {
            let version_ok = !matches!(p.first(), Some(&v) if v != 1);
            let type_ok = !matches!(p.get(1), Some(&t) if t != BEGIN_REQUEST && t != PARAMS);
            if version_ok && type_ok {
                Probe::Unsure
            } else {
                Probe::NotForUs
            }
        } else {
            Probe::certain_if(looks_like_fastcgi(p))
        }
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.segments = self.segments.saturating_add(1);
        let mut data = segment.payload;
        let mut params_ended = false;
        while let Some(r) = record(data) {
            match r.kind {
                PARAMS if r.content.is_empty() && r.whole => params_ended = true,
                PARAMS => read_params(r.content, facts),
                STDIN => params_ended = true,
                _ => {}
            }
            if !r.whole {
                break;
            }
            data = r.rest;
        }
        if facts.detected_hostname().is_some() || params_ended || self.segments >= MAX_SEGMENTS {
            Parsed::Done
        } else {
            Parsed::Continue
        }
    }
}

/// The CGI variables we keep from one `FCGI_PARAMS` content.
fn read_params(content: &[u8], facts: &mut FlowFacts) {
    for (name, value) in pairs(content) {
        if value.is_empty() {
            continue;
        }
        match name {
            b"HTTP_HOST" => {
                if facts.detected_hostname().is_none() {
                    facts.set_detected_hostname(hostname_of(value));
                }
                let http = facts.app_protocol.http_mut();
                http.host.get_or_insert_with(|| fact_string(value, 255));
            }
            b"HTTP_USER_AGENT" => {
                let http = facts.app_protocol.http_mut();
                http.user_agent.get_or_insert_with(|| fact_string(value, MAX_FACT));
            }
            b"REQUEST_METHOD" => {
                let http = facts.app_protocol.http_mut();
                if http.method().is_none() {
                    http.set_method(value);
                }
            }
            b"REQUEST_URI" => {
                let http = facts.app_protocol.http_mut();
                http.url.get_or_insert_with(|| fact_string(value, MAX_FACT));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::facts::Direction;
    use proptest::prelude::*;

    /// fastcgi.pcap, 10.0.0.9:38254 → 10.0.0.11:9000: the request's first two segments.
    const BEGIN: &str = "01010001000800000001010000000000";
    const PARAMS_RECORD: &str = concat!(
        "01040001041700000a0c5343524950545f55524c2f6170692f302e362f6d61700a285343524950545f555249687474703a2f2f6170692e6f70656e7374726565746d61702e6f72672f6170692f302e362f6d61700d0e42414c41",
        "4e4345525f4e414d4562616c616e6365723a2f2f6d6170141642414c414e4345525f574f524b45525f4e414d45666367693a2f2f31302e302e302e31313a393030302f150042414c414e4345525f574f524b45525f524f555445",
        "0915485454505f484f53546170692e6f70656e7374726565746d61702e6f72670f19485454505f555345525f4147454e5464756d6d795f6167656e7420202064756d6d795f6167656e740b03485454505f4143434550542a2f2a",
        "1405485454505f4143434550545f4c414e4755414745656e2d7573140d485454505f4143434550545f454e434f44494e47677a69702c206465666c6174650f0a485454505f434f4e4e454354494f4e6b6565702d616c69766504",
        "1c504154482f7573722f6c6f63616c2f62696e3a2f7573722f62696e3a2f62696e10525345525645525f5349474e41545552453c616464726573733e4170616368652f322e322e313420285562756e7475292053657276657220",
        "6174206170692e6f70656e7374726565746d61702e6f726720506f72742038303c2f616464726573733e0a0f165345525645525f534f4654574152454170616368652f322e322e313420285562756e7475290b15534552564552",
        "5f4e414d456170692e6f70656e7374726565746d61702e6f72670b0e5345525645525f414444523132382e34302e3136382e3130350b025345525645525f504f525438300b0d52454d4f54455f414444523231372e3136392e31",
        "372e32370d12444f43554d454e545f524f4f542f686f6d652f7261696c732f7075626c69630c1b5345525645525f41444d494e7765626d6173746572406f70656e7374726565746d61702e6f72670f515343524950545f46494c",
        "454e414d4570726f78793a62616c616e6365723a2f2f6d61702f6170692f302e362f6d61703f62626f783d2d36342e3231373733362c2d33312e3435363831302c2d36342e3138373733362c2d33312e3433323332320b055245",
        "4d4f54455f504f525435303939381107474154455741595f494e544552464143454347492f312e310f085345525645525f50524f544f434f4c485454502f312e310e03524551554553545f4d4554484f444745540c3051554552",
        "595f535452494e4762626f783d2d36342e3231373733362c2d33312e3435363831302c2d36342e3138373733362c2d33312e3433323332320b3d524551554553545f5552492f6170692f302e362f6d61703f62626f783d2d3634",
        "2e3231373733362c2d33312e3435363831302c2d36342e3138373733362c2d33312e3433323332320b0c5343524950545f4e414d452f6170692f302e362f6d6170",
    );

    #[test]
    fn begin_request_then_params() {
        let f = tcp([38254, 9000]);
        let begin = hex(BEGIN);
        let params = hex(PARAMS_RECORD);
        assert_eq!(FastcgiDissector::probe_flow(&f, &segment(&f, Direction::Forward, 0, &begin)), Probe::Certain);
        assert_eq!(FastcgiDissector::probe_flow(&f, &segment(&f, Direction::Forward, 16, &params)), Probe::Certain);
        let mut d = FastcgiDissector::default();
        let mut facts = FlowFacts::default();
        assert_eq!(d.parse(&segment(&f, Direction::Forward, 0, &begin), &mut facts), Parsed::Continue);
        assert_eq!(d.parse(&segment(&f, Direction::Forward, 16, &params), &mut facts), Parsed::Done);
        // nDPI: hostname api.openstreetmap.org, user agent "dummy_agent   dummy_agent".
        assert_eq!(facts.detected_hostname(), Some("api.openstreetmap.org"));
        let http = facts.app_protocol.http().unwrap();
        assert_eq!(http.user_agent.as_deref(), Some("dummy_agent   dummy_agent"));
        assert_eq!(http.method(), Some("GET"));
        assert_eq!(http.url.as_deref(), Some("/api/0.6/map?bbox=-64.217736,-31.456810,-64.187736,-31.432322"));
        truncations::<FastcgiDissector>(&f, &params);
        // A PARAMS record cut short is not claimed on its header alone.
        assert_eq!(run_one::<FastcgiDissector>(&f, &params[..100]).0, Probe::NotForUs);
        assert_eq!(run_one::<FastcgiDissector>(&f, &begin[..5]).0, Probe::Unsure);
        assert_eq!(run_one::<FastcgiDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
    }

    #[test]
    fn long_lengths_use_four_bytes() {
        // A 200-byte value: its length is written as 0x800000c8 (spec §3.4).
        let mut content = vec![9u8, 0x80, 0, 0, 200];
        content.extend_from_slice(b"HTTP_HOST");
        content.extend(std::iter::repeat_n(b'a', 196));
        content.extend_from_slice(b".org");
        let mut record = vec![1, PARAMS, 0, 1, 0, content.len() as u8, 0, 0];
        record.extend_from_slice(&content);
        let (probe, parsed, facts) = run_one::<FastcgiDissector>(&tcp([1, 9000]), &record);
        assert_eq!((probe, parsed), (Probe::Certain, Parsed::Done));
        assert_eq!(facts.detected_hostname().map(|h| h.len()), Some(200));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..120), flip in 0usize..1100, byte in any::<u8>()) {
            no_panic::<FastcgiDissector>(&tcp([1, 9000]), &[p]);
            let mut params = hex(PARAMS_RECORD);
            if let Some(b) = params.get_mut(flip) { *b = byte; }
            no_panic::<FastcgiDissector>(&tcp([1, 9000]), &[hex(BEGIN), params]);
        }
    }
}
