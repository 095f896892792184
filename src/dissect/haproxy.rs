//! The PROXY protocol (HAProxy's "The PROXY protocol" specification, versions 1 and 2): a
//! header a proxy or load balancer puts before a relayed TCP connection's own bytes, to pass
//! on the client's addresses. Version 1 is a text line, `PROXY TCP4 `, `PROXY TCP6 ` or
//! `PROXY UNKNOWN` and the addresses, ending with CRLF; version 2 starts with the 12-byte
//! signature `0d0a0d0a000d0a515549540a` and then a version-and-command byte whose high nibble
//! is 2. The probe wants either at the start of the connection; the flow is named `HAProxy`,
//! as Netify and nDPI name it, whatever protocol follows the header.

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const V1: [&[u8]; 3] = [b"PROXY TCP4 ", b"PROXY TCP6 ", b"PROXY UNKNOWN"];
const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";

/// The PROXY protocol needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct HaproxyDissector;

impl Dissector for HaproxyDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::HAPROXY;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"P\r");

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.is_empty() {
            return Probe::NotForUs;
        }
        if let Some(&version) = p.get(V2_SIGNATURE.len()) {
            if p.starts_with(V2_SIGNATURE) {
                return Probe::certain_if(version >> 4 == 2);
            }
        } else if V2_SIGNATURE.starts_with(p) {
            return Probe::Unsure;
        }
        for header in V1 {
            if p.starts_with(header) {
                return Probe::Certain;
            }
            if header.starts_with(p) {
                return Probe::Unsure;
            }
        }
        Probe::NotForUs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// haproxy.pcap, 1.1.1.1:48502 → 2.2.2.2:443: a version 1 header, then a TLS ClientHello.
    const V1_LINE: &[u8] = b"PROXY TCP4 11.111.11.111 222.222.222.22 52176 443\r\n\x16\x03\x01\x00\xfd";

    #[test]
    fn proxy_headers_name_the_flow() {
        let f = tcp([48502, 443]);
        assert_eq!(run_one::<HaproxyDissector>(&f, V1_LINE).0, Probe::Certain);
        let v2 = [V2_SIGNATURE, &[0x21, 0x11, 0x00, 0x0c]].concat();
        assert_eq!(run_one::<HaproxyDissector>(&f, &v2).0, Probe::Certain);
        assert_eq!(run_one::<HaproxyDissector>(&f, b"PROX").0, Probe::Unsure);
        assert_eq!(run_one::<HaproxyDissector>(&f, b"\r\n\r\n").0, Probe::Unsure);
        truncations::<HaproxyDissector>(&f, V1_LINE);
    }

    #[test]
    fn other_payloads_are_not_proxy_headers() {
        let f = tcp([48502, 443]);
        assert_eq!(run_one::<HaproxyDissector>(&f, b"PROXY TCP5 1 2 3 4\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<HaproxyDissector>(&f, b"POST / HTTP/1.1\r\n").0, Probe::NotForUs);
        let v3 = [V2_SIGNATURE, &[0x31]].concat();
        assert_eq!(run_one::<HaproxyDissector>(&f, &v3).0, Probe::NotForUs);
        assert_eq!(run_one::<HaproxyDissector>(&f, b"\r\n\r\nHello").0, Probe::NotForUs);
        assert_eq!(run_one::<HaproxyDissector>(&udp([48502, 443]), V1_LINE).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..30)) {
            no_panic::<HaproxyDissector>(&tcp([1, 443]), &[p]);
        }
    }
}
