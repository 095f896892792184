//! Web Services Dynamic Discovery (WS-Discovery, OASIS), SOAP over UDP to port 3702
//! (multicast 239.255.255.250 and ff02::c).
//!
//! Every message is a SOAP envelope, an XML document, whose header names a WS-Discovery
//! action: the 2005/04 namespace `http://schemas.xmlsoap.org/ws/2005/04/discovery` or the
//! OASIS 1.1 one `http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01`. The probe wants an
//! XML or envelope start and one of those namespaces; a datagram that starts otherwise costs
//! one byte compare.

use super::text::starts_with_ci;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

/// The two WS-Discovery namespaces, without their scheme and host.
const NAMESPACES: [&[u8]; 2] = [b"/ws/2005/04/discovery", b"/ws-dd/ns/discovery/2009/01"];

/// WS-Discovery needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct WsdDissector;

impl Dissector for WsdDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::WSD;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let xml = p.first() == Some(&b'<')
            && (starts_with_ci(p, b"<?xml") || p.windows(9).take(64).any(|w| w.eq_ignore_ascii_case(b":Envelope")));
        if !flow.is_udp() || !xml {
            return Probe::NotForUs;
        }
        Probe::certain_if(NAMESPACES.iter().any(|ns| p.windows(ns.len()).any(|w| w == *ns)))
    }

    const PORTS: Ports = Ports::udp(&[3702]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// gnutella.pcap, 10.0.2.15:63957 → 239.255.255.250:3702: a Probe's start (the capture's
    /// bytes up to the discovery namespace, then the envelope closed).
    const PROBE: &str = concat!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" "#,
        r#"xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
        r#"xmlns:wsd="http://schemas.xmlsoap.org/ws/2005/04/discovery"><soap:Header/></soap:Envelope>"#
    );

    #[test]
    fn discovery_envelopes_name_the_flow() {
        let f = udp([63957, 3702]);
        assert_eq!(run_one::<WsdDissector>(&f, PROBE.as_bytes()).0, Probe::Certain);
        let oasis = r#"<s:Envelope xmlns:d="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01"></s:Envelope>"#;
        assert_eq!(run_one::<WsdDissector>(&f, oasis.as_bytes()).0, Probe::Certain);
        truncations::<WsdDissector>(&f, PROBE.as_bytes());
    }

    #[test]
    fn other_xml_is_not_wsd() {
        let f = udp([63957, 3702]);
        let soap = r#"<?xml version="1.0"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"/>"#;
        assert_eq!(run_one::<WsdDissector>(&f, soap.as_bytes()).0, Probe::NotForUs);
        assert_eq!(run_one::<WsdDissector>(&tcp([63957, 3702]), PROBE.as_bytes()).0, Probe::NotForUs);
        assert_eq!(run_one::<WsdDissector>(&f, b"M-SEARCH * HTTP/1.1\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<WsdDissector>(&udp([1, 3702]), &[p]);
        }
    }
}
