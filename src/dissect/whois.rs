//! Whois (RFC 3912): the client sends one line, the query, to TCP port 43 and the server
//! answers in free text and closes; the Domain Availability Service uses port 4343 the same
//! way. nDPI names the flow by the query line; we take its last word, the object asked about
//! (`example.com` of `domain example.com`).
//!
//! The protocol has no marker of its own: one short printable line ending in a line break could
//! start many text protocols. So, unlike the other dissectors, the probe needs the whois port
//! as well as that line; the port alone never claims a flow (it only names one nothing else
//! claimed, as every port hint does).

use super::http::hostname_of;
use super::text::{split_line, trim};
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment};
use crate::facts::FlowFacts;

/// Longest query line taken for one: a name and a few flags.
const MAX_QUERY: usize = 300;

/// Whois needs no state.
#[derive(Debug, Default)]
pub struct WhoisDissector;

/// The object asked about when `p` is exactly one query line.
fn query(p: &[u8]) -> Option<&[u8]> {
    let (line, rest) = split_line(p)?;
    if !rest.is_empty() || line.len() > MAX_QUERY || !line.iter().all(|&b| b.is_ascii_graphic() || b == b' ') {
        return None;
    }
    let object = trim(line).rsplit(|&b| b == b' ').next().filter(|o| !o.is_empty())?;
    object.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':')).then_some(object)
}

impl Dissector for WhoisDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::WHOIS_DAS;
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !Self::port_hint(flow) {
            Probe::NotForUs
        } else if query(p).is_some() {
            Probe::Certain
        } else if split_line(p).is_none() && p.len() < MAX_QUERY && p.iter().all(|&b| b.is_ascii_graphic() || b == b' ')
        {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[43, 4343]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if let Some(object) = query(segment.payload) {
            if facts.detected_hostname().is_none() {
                // An IPv6 address keeps its colons; `hostname_of` only drops a `:port`.
                facts.set_detected_hostname(hostname_of(object));
            }
        }
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_query_names_the_flow() {
        // whois.pcapng in nDPI's corpus: 10.0.2.15:44188 → 192.0.47.59:43, nDPI: example.com.
        let f = tcp([44188, 43]);
        let (probe, parsed, facts) = run_one::<WhoisDissector>(&f, b"example.com\r\n");
        assert_eq!((probe, parsed), (Probe::Certain, Parsed::Done));
        assert_eq!(facts.detected_hostname(), Some("example.com"));
        truncations::<WhoisDissector>(&f, b"example.com\r\n");
        assert_eq!(run_one::<WhoisDissector>(&f, b"example.c").0, Probe::Unsure);
        let named =
            |q: &[u8]| run_one::<WhoisDissector>(&tcp([4343, 50000]), q).2.detected_hostname().map(Box::<str>::from);
        assert_eq!(named(b"-T domain EXAMPLE.org\n").as_deref(), Some("example.org"));
        // The server's answer (the first payload of a capture that missed the query).
        let answer = b"% IANA WHOIS server\n% for more information on IANA, visit http://www.iana.org\n";
        assert_eq!(run_one::<WhoisDissector>(&f, answer).0, Probe::NotForUs);
        // Not on a whois port: never claimed.
        assert_eq!(run_one::<WhoisDissector>(&tcp([44188, 80]), b"example.com\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<WhoisDissector>(&tcp([1, 43]), &[p]);
        }
    }
}
