//! SSDP dissector (UPnP Device Architecture 2.0 §1): HTTP-formatted messages over UDP,
//! `M-SEARCH * HTTP/1.1`, `NOTIFY * HTTP/1.1` and `HTTP/1.1 200 OK` search responses.

use super::text::{contains_ci, fact_string, header, split_line};
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const STARTS: &[&[u8]] = &[b"M-SEARCH * HTTP/1.1", b"NOTIFY * HTTP/1.1", b"HTTP/1.1 200 OK"];

/// SSDP needs no state.
#[derive(Debug, Default)]
pub struct SsdpDissector;

impl Dissector for SsdpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SSDP;
    const TRANSPORTS: Transports = Transports::UDP;

    /// Certain for a request line over UDP; a response line (`HTTP/1.1 200`) is certain on
    /// port 1900, or (search responses go to the searcher's own port) when it carries the
    /// `USN` header every SSDP response has.
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_udp() {
            return Probe::NotForUs;
        }
        for (i, start) in STARTS.iter().enumerate() {
            if p.starts_with(start) && (i < 2 || flow.has_port(1900) || contains_ci(p, b"\nUSN:")) {
                return Probe::Certain;
            }
        }
        Probe::NotForUs
    }

    const PORTS: Ports = Ports::udp(&[1900]);

    /// The HOST header becomes the flow's hostname as sent (`239.255.255.250:1900`), as
    /// nDPI and Netify report it.
    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if facts.detected_hostname().is_none() {
            let headers = split_line(segment.payload).map_or(&[][..], |(_, rest)| rest);
            if let Some(host) = header(headers, b"host").filter(|h| !h.is_empty()) {
                facts.set_detected_hostname(fact_string(host, 255).to_ascii_lowercase());
            }
        }
        super::gnutella::user_agent(segment.payload, facts);
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn search_and_notify() {
        let f = udp([40000, 1900]);
        let m = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\r\n";
        let (probe, _, facts) = run_one::<SsdpDissector>(&f, m);
        assert_eq!(probe, Probe::Certain);
        assert_eq!(facts.detected_hostname(), Some("239.255.255.250:1900"));
        let m = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nUSER-AGENT: Microsoft Edge/99.0.1150.30 Windows\r\n\r\n";
        let ua = run_one::<SsdpDissector>(&f, m).2.app_protocol.http().and_then(|h| h.user_agent.clone());
        assert_eq!(ua.as_deref(), Some("Microsoft Edge/99.0.1150.30 Windows"));
        assert_eq!(run_one::<SsdpDissector>(&f, b"NOTIFY * HTTP/1.1\r\n").0, Probe::Certain);
        assert_eq!(run_one::<SsdpDissector>(&udp([1, 2]), b"HTTP/1.1 200 OK\r\n").0, Probe::NotForUs);
        let response = b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nUSN: uuid:1::upnp:rootdevice\r\n\r\n";
        assert_eq!(run_one::<SsdpDissector>(&udp([1, 2]), response).0, Probe::Certain);
        assert_eq!(run_one::<SsdpDissector>(&tcp([1, 1900]), m).0, Probe::NotForUs);
        truncations::<SsdpDissector>(&f, m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<SsdpDissector>(&udp([1900, 1900]), &[p]);
        }
    }
}
