//! The Constrained Application Protocol (CoAP, RFC 7252) over UDP, ports 5683 (5684 with
//! DTLS, which the DTLS dissector names).
//!
//! A message is a 4-byte header (version 1, type, token length 0–8, code, message ID), the
//! token, options (each a delta/length byte, nibble 15 reserved, with extended fields for 13
//! and 14) and, after the `ff` marker, a non-empty payload. The code's class is 0 (an empty
//! message, exactly 4 bytes, or a request 0.01–0.07), 2, 4 or 5 (responses). Four header bytes
//! say little, so the probe needs CoAP's port as well as a message that parses to its end.

use super::reader::Reader;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const HEADER: usize = 4;
const MAX_TOKEN: usize = 8;
const PAYLOAD_MARKER: u8 = 0xff;

/// CoAP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct CoapDissector;

/// An option's delta or length nibble with its extended bytes (RFC 7252 §3.1).
fn extended(r: &mut Reader<'_>, nibble: u8) -> Option<()> {
    match nibble {
        0..=12 => Some(()),
        13 => r.u8().map(drop),
        14 => r.u16().map(drop),
        _ => None,
    }
}

/// `p` is one well-formed CoAP message.
fn message(p: &[u8]) -> bool {
    let (Some(&first), Some(&code)) = (p.first(), p.get(1)) else {
        return false;
    };
    let token = usize::from(first & 0x0f);
    let (class, detail) = (code >> 5, code & 0x1f);
    let code_ok = match class {
        0 if detail == 0 => p.len() == HEADER && token == 0,
        0 => detail <= 7,
        2 | 4 | 5 => true,
        _ => false,
    };
    if first >> 6 != 1 || token > MAX_TOKEN || !code_ok || p.len() < HEADER + token {
        return false;
    }
    let mut r = Reader::new(&p[HEADER + token..]);
    while let Some(b) = r.u8() {
        if b == PAYLOAD_MARKER {
            return !r.is_empty();
        }
        let length = b & 0x0f;
        if extended(&mut r, b >> 4).is_none() {
            return false;
        }
        let len = match length {
            0..=12 => Some(usize::from(length)),
            13 => r.u8().map(|l| usize::from(l) + 13),
            14 => r.u16().map(|l| usize::from(l) + 269),
            _ => None,
        };
        if len.and_then(|n| r.take(n)).is_none() {
            return false;
        }
    }
    true
}

impl Dissector for CoapDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::COAP;
    const TRANSPORTS: Transports = Transports::UDP;
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(Self::port_hint(flow) && message(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[5683]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// coap_mqtt.pcap: GET /.well-known/core (IPv6, port 61043 → 5683).
    const WELL_KNOWN: &str = "430105ca7216332b2e77656c6c2d6b6e6f776e04636f7265";
    /// The same capture: a GET with a token (bbbb::1:33499 → bbbb::3:5683), and the empty ACK.
    const SEPARATE: &str = "4201e91b0790b8736570617261746510d12311";
    const EMPTY_ACK: &str = "6000e91b";
    /// A POST with a payload (bbbb::1:50250 → bbbb::3:5683).
    const POST: &str = "4002cea0b773746f72616765ff6d797265736f75726365";

    #[test]
    fn messages_on_the_coap_port() {
        let f = udp([61043, 5683]);
        for m in [WELL_KNOWN, SEPARATE, EMPTY_ACK, POST] {
            assert_eq!(run_one::<CoapDissector>(&f, &hex(m)).0, Probe::Certain, "{m}");
            truncations::<CoapDissector>(&f, &hex(m));
        }
        assert_eq!(run_one::<CoapDissector>(&udp([61043, 40000]), &hex(WELL_KNOWN)).0, Probe::NotForUs);
    }

    #[test]
    fn other_payloads_are_not_coap() {
        let f = udp([61043, 5683]);
        // Cut inside an option; an empty payload after the marker; version 2; code 3.00.
        let p = hex(WELL_KNOWN);
        assert_eq!(run_one::<CoapDissector>(&f, &p[..p.len() - 1]).0, Probe::NotForUs);
        assert_eq!(run_one::<CoapDissector>(&f, &hex("4002cea0ff")).0, Probe::NotForUs);
        assert_eq!(run_one::<CoapDissector>(&f, &hex("8001cea0")).0, Probe::NotForUs);
        assert_eq!(run_one::<CoapDissector>(&f, &hex("40600001")).0, Probe::NotForUs);
        assert_eq!(run_one::<CoapDissector>(&f, b"M-SEARCH * HTTP/1.1\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<CoapDissector>(&udp([1, 5683]), &[p]);
        }
    }
}
