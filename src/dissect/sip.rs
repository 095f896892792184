//! SIP dissector (RFC 3261 §7): a request line `METHOD sip:… SIP/2.0` or a status line
//! `SIP/2.0 code reason`, over UDP or TCP.

use super::text::prefix_agrees;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

/// RFC 3261 and its extensions (RFC 3262, 3265, 3311, 3428, 3515, 3903, 6086).
const METHODS: &[&[u8]] = &[
    b"INVITE ",
    b"REGISTER ",
    b"OPTIONS ",
    b"ACK ",
    b"BYE ",
    b"CANCEL ",
    b"SUBSCRIBE ",
    b"NOTIFY ",
    b"MESSAGE ",
    b"INFO ",
    b"PRACK ",
    b"UPDATE ",
    b"REFER ",
    b"PUBLISH ",
];

/// SIP needs no state.
#[derive(Debug, Default)]
pub struct SipDissector;

fn classify(p: &[u8]) -> Probe {
    if p.starts_with(b"SIP/2.0 ") {
        return Probe::Certain;
    }
    for m in METHODS {
        if let Some(rest) = p.strip_prefix(*m) {
            let uri = rest.get(..4).map(|u| u.to_ascii_lowercase());
            return match uri.as_deref() {
                Some(b"sip:") | Some(b"sips") | Some(b"tel:") => Probe::Certain,
                Some(_) => Probe::NotForUs,
                None => Probe::Unsure,
            };
        }
    }
    if prefix_agrees(p, b"SIP/2.0 ") || METHODS.iter().any(|m| prefix_agrees(p, m)) {
        Probe::Unsure
    } else {
        Probe::NotForUs
    }
}

impl Dissector for SipDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SIP;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if flow.is_udp() || flow.is_tcp() {
            classify(segment.payload)
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::both(&[5060, 5061]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn requests_and_responses() {
        let f = udp([5060, 5060]);
        let invite = b"INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33\r\n\r\n";
        assert_eq!(run_one::<SipDissector>(&f, invite).0, Probe::Certain);
        assert_eq!(run_one::<SipDissector>(&f, b"SIP/2.0 200 OK\r\n").0, Probe::Certain);
        assert_eq!(run_one::<SipDissector>(&f, b"NOTIFY * HTTP/1.1\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<SipDissector>(&f, b"INV").0, Probe::Unsure);
        truncations::<SipDissector>(&f, invite);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<SipDissector>(&udp([5060, 5060]), &[p]);
        }
    }
}
