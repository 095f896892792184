//! HTTP/2 over cleartext TCP with prior knowledge (RFC 9113 §3.3): the client's connection
//! preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (§3.4), opens the connection. The probe wants
//! that preface. HTTP/2 over TLS is TLS's (its ALPN `h2`); `h2c` upgrades from HTTP/1.1 are
//! HTTP's.

use super::text::banner_probe;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// HTTP/2 needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct Http2Dissector;

impl Dissector for Http2Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::HTTP2;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"P");

    fn probe(segment: &Segment<'_>) -> Probe {
        banner_probe(segment.payload, PREFACE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_preface_names_the_flow() {
        // http2.pcapng, 127.0.0.1:37824 → 127.0.0.1:29518: the preface, then a SETTINGS frame.
        let f = tcp([37824, 29518]);
        let p = hex("505249202a20485454502f322e300d0a0d0a534d0d0a0d0a00001204000000000000020000000000");
        assert_eq!(run_one::<Http2Dissector>(&f, &p).0, Probe::Certain);
        assert_eq!(run_one::<Http2Dissector>(&f, b"PRI * HT").0, Probe::Unsure);
        truncations::<Http2Dissector>(&f, &p);
    }

    #[test]
    fn other_requests_are_not_the_preface() {
        let f = tcp([37824, 29518]);
        assert_eq!(run_one::<Http2Dissector>(&f, b"PRI * HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<Http2Dissector>(&f, b"POST / HTTP/1.1\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<Http2Dissector>(&udp([37824, 29518]), PREFACE).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..30)) {
            no_panic::<Http2Dissector>(&tcp([1, 2]), &[p]);
        }
    }
}
