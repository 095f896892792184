//! Avast's proprietary client-to-cloud protocol, which its antivirus runs over TCP port 80
//! next to plain HTTP. Each message starts with the four ASCII bytes `NOSA` ("Avast" read
//! backwards, without the `t`) and a 16-bit big-endian length that counts the whole message,
//! these six bytes included. The probe wants that framing with the length equal to the
//! segment's payload, in either direction, on any port: the bytes decide, not port 80, so
//! HTTP keeps every flow whose bytes are HTTP. A message longer than the segment (split by
//! TCP) leaves the probe unsure for the next one. Netify's table names the protocol `AVAST`
//! (306).

use super::reader::be_len16_at;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const MAGIC: &[u8] = b"NOSA";
/// The magic and the length.
const HEADER: usize = 6;

/// Avast's protocol needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct AvastDissector;

impl Dissector for AvastDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::AVAST;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"N");

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.is_empty() || !p.starts_with(MAGIC) && !MAGIC.starts_with(p) {
            return Probe::NotForUs;
        }
        let Some(length) = be_len16_at(p, MAGIC.len()) else {
            // A prefix of the header: the rest is in the next segment.
            return Probe::Unsure;
        };
        match length {
            l if l < HEADER => Probe::NotForUs,
            l if l == p.len() => Probe::Certain,
            l if l > p.len() => Probe::Unsure,
            _ => Probe::NotForUs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// avast.pcap in nDPI's corpus, 192.168.2.100:64357 → 5.62.54.29:80 (nDPI: AVAST): the
    /// first 24 bytes of the client's 96-byte message and the server's whole 16-byte answer.
    const REQUEST_HEAD: &str = "4e4f5341006001010000030108b25a294252451400000000";
    const ANSWER: &str = "4e4f53410010010200000000e8e67a0c";

    /// The client's message padded to its stated 96 bytes.
    fn request() -> Vec<u8> {
        let mut p = hex(REQUEST_HEAD);
        p.resize(0x60, 0xa5);
        p
    }

    #[test]
    fn nosa_messages_name_the_flow() {
        let f = tcp([64357, 80]);
        assert_eq!(run_one::<AvastDissector>(&f, &request()).0, Probe::Certain);
        assert_eq!(run_one::<AvastDissector>(&f, &hex(ANSWER)).0, Probe::Certain);
        // Any port: the framing decides.
        assert_eq!(run_one::<AvastDissector>(&tcp([50000, 8080]), &hex(ANSWER)).0, Probe::Certain);
        // A message split across segments, a prefix of the header.
        assert_eq!(run_one::<AvastDissector>(&f, &request()[..40]).0, Probe::Unsure);
        assert_eq!(run_one::<AvastDissector>(&f, b"NOS").0, Probe::Unsure);
        truncations::<AvastDissector>(&f, &request());
    }

    #[test]
    fn http_and_other_payloads_are_not_avast() {
        let f = tcp([64357, 80]);
        assert_eq!(run_one::<AvastDissector>(&f, b"GET / HTTP/1.1\r\nHost: avast.com\r\n\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<AvastDissector>(&f, b"NOTIFY * HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
        // A length shorter than the payload, or than the header itself.
        let mut p = hex(ANSWER);
        p.push(0);
        assert_eq!(run_one::<AvastDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<AvastDissector>(&f, &hex("4e4f53410004")).0, Probe::NotForUs);
        assert_eq!(run_one::<AvastDissector>(&udp([64357, 80]), &hex(ANSWER)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(tail in proptest::collection::vec(any::<u8>(), 0..40), magic in any::<bool>()) {
            let p = if magic { [MAGIC, &tail].concat() } else { tail };
            no_panic::<AvastDissector>(&tcp([1, 80]), &[p]);
        }
    }
}
