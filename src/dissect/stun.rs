//! STUN dissector (RFC 8489 §5, and the RFC 3489 "classic" format): a 20-byte header whose
//! top two bits are zero, a message length that is a multiple of 4 matching the payload, and
//! (RFC 5389 onwards) the magic cookie 0x2112A442. TURN (RFC 8656) uses the same header.
//!
//! WebRTC multiplexes STUN, DTLS and RTP on one 5-tuple; RFC 7983 §7 tells them apart by the
//! first byte (0–3 STUN, 20–63 DTLS, 128–191 RTP/RTCP). The dissector keeps reading a STUN
//! flow for a few packets: a REALM attribute (RFC 8489 §14.9) names the flow's host, and a DTLS
//! handshake that follows is handed to the TLS dissector (the flow is then DTLS, with its
//! hellos' facts), as nDPI reports such flows.

use super::reader::{be_len16_at, be_u16_at};
use super::text::fact_string;
use super::tls::TlsDissector;
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const HEADER: usize = 20;
const MAGIC: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
/// RFC 8489 §14.9: REALM, a quoted-string of at most 763 bytes.
const ATTR_REALM: u16 = 0x0014;
const MAX_REALM: usize = 763;
/// Packets read without a DTLS handshake before the flow is left as plain STUN.
const STUN_PACKETS: u16 = 24;

/// Per-flow state: packets seen, and the DTLS handshake once one starts.
#[derive(Debug, Default)]
pub struct StunDissector {
    packets: u16,
    dtls: Option<Box<TlsDissector>>,
}

/// The STUN message in a payload: the whole datagram, or after RFC 4571's 2-byte length over
/// TCP.
fn message(flow_is_tcp: bool, p: &[u8]) -> Option<&[u8]> {
    if is_stun(p) {
        Some(p)
    } else if flow_is_tcp {
        p.get(2..).filter(|m| is_stun(m))
    } else {
        None
    }
}

/// The REALM attribute's value, if the message has one.
fn realm(msg: &[u8]) -> Option<&[u8]> {
    let mut rest = msg.get(HEADER..)?;
    while rest.len() >= 4 {
        let (kind, len) = (be_u16_at(rest, 0)?, be_len16_at(rest, 2)?);
        let value = rest.get(4..4 + len)?;
        if kind == ATTR_REALM {
            return Some(value);
        }
        // Values are padded to a multiple of 4 bytes.
        rest = rest.get(4 + len.next_multiple_of(4)..)?;
    }
    None
}

/// True when `msg` (without TCP framing) is one STUN message.
fn is_stun(msg: &[u8]) -> bool {
    let (Some(kind), Some(len)) = (be_u16_at(msg, 0), be_len16_at(msg, 2)) else { return false };
    if kind & 0xc000 != 0 || len % 4 != 0 || HEADER + len != msg.len() {
        return false;
    }
    if msg.get(4..8) == Some(&MAGIC[..]) {
        return true;
    }
    // Classic STUN has no cookie: accept only its binding and shared-secret messages.
    matches!(kind, 0x0001 | 0x0101 | 0x0111 | 0x0002 | 0x0102 | 0x0112) && len > 0
}

impl Dissector for StunDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::STUN;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let yes = if flow.is_udp() {
            is_stun(p)
        } else if flow.is_tcp() {
            // RFC 4571 framing over TCP is used by some; plain messages by others.
            is_stun(p) || (p.len() > 2 && is_stun(p.get(2..).unwrap_or_default()))
        } else {
            false
        };
        Probe::certain_if(yes)
    }

    const PORTS: Ports = Ports::both(&[3478, 5349]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.packets = self.packets.saturating_add(1);
        let p = segment.payload;
        let udp = segment.tcp_seq.is_none();
        if let Some(dtls) = self.dtls.as_mut() {
            if p.first().is_some_and(|b| (20..=63).contains(b)) {
                return match dtls.parse(segment, facts) {
                    Parsed::Skipped(_) => Parsed::Done,
                    other => other,
                };
            }
            return Parsed::Continue;
        }
        let mut outcome = Parsed::Continue;
        match p.first() {
            Some(0..=3) => {
                let tcp = segment.tcp_seq.is_some();
                if let Some(name) = message(tcp, p).and_then(realm) {
                    let name = name.strip_prefix(b"\"").and_then(|n| n.strip_suffix(b"\"")).unwrap_or(name);
                    if facts.detected_hostname().is_none() && !name.is_empty() && name.iter().all(u8::is_ascii_graphic)
                    {
                        facts.set_detected_hostname(fact_string(name, MAX_REALM));
                        outcome = Parsed::Updated;
                    }
                }
            }
            Some(20..=63) if udp && TlsDissector::probe(segment) == Probe::Certain => {
                let dtls = self.dtls.insert(Box::default());
                return match dtls.parse(segment, facts) {
                    // Claiming the handshake is news even before a hello is whole.
                    Parsed::Continue => Parsed::Updated,
                    Parsed::Skipped(_) => Parsed::Done,
                    other => other,
                };
            }
            _ => {}
        }
        if self.packets >= STUN_PACKETS {
            Parsed::Done
        } else {
            outcome
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::facts::Direction;
    use proptest::prelude::*;

    #[test]
    fn binding_request() {
        let mut m = vec![0x00, 0x01, 0x00, 0x08];
        m.extend_from_slice(&MAGIC);
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&[0x80, 0x22, 0x00, 0x04, b'a', b'b', b'c', b'd']);
        assert_eq!(run_one::<StunDissector>(&udp([1, 3478]), &m).0, Probe::Certain);
        assert_eq!(run_one::<StunDissector>(&udp([1, 3478]), &m[..27]).0, Probe::NotForUs);
        truncations::<StunDissector>(&udp([1, 3478]), &m);
    }

    #[test]
    fn realm_names_the_flow() {
        let mut m = vec![0x01, 0x13, 0x00, 0x18];
        m.extend_from_slice(&MAGIC);
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&[0x00, 0x19, 0x00, 0x04, 0x11, 0, 0, 0]);
        m.extend_from_slice(&[0x00, 0x14, 0x00, 0x0c]);
        m.extend_from_slice(b"telegram.org");
        let (probe, parsed, facts) = run_one::<StunDissector>(&udp([40000, 3478]), &m);
        assert_eq!(probe, Probe::Certain);
        assert_eq!(parsed, Parsed::Updated);
        assert_eq!(facts.detected_hostname(), Some("telegram.org"));
        // A truncated attribute names nothing.
        let (_, _, facts) = run_one::<StunDissector>(&udp([40000, 3478]), &m[..m.len() - 1]);
        assert_eq!(facts.detected_hostname(), None);
    }

    #[test]
    fn dtls_after_stun_is_read() {
        let flow = udp([40000, 3478]);
        let mut m = vec![0x00, 0x01, 0x00, 0x00];
        m.extend_from_slice(&MAGIC);
        m.extend_from_slice(&[7; 12]);
        let mut d = StunDissector::default();
        let mut facts = FlowFacts { ip_protocol: 17, ..FlowFacts::default() };
        assert_eq!(d.parse(&segment(&flow, Direction::Forward, 0, &m), &mut facts), Parsed::Continue);
        let hello = crate::dissect::tls::tests::dtls_client_hello();
        let parsed = d.parse(&segment(&flow, Direction::Forward, 0, &hello), &mut facts);
        assert_ne!(parsed, Parsed::Continue);
        assert_eq!(facts.protocol, protocol::DTLS);
        assert!(facts.tls.ja3().is_some());
        // RTP (RFC 7983: first byte 128-191) in between is ignored.
        assert_eq!(d.parse(&segment(&flow, Direction::Reverse, 0, &[0x80, 0, 1, 2]), &mut facts), Parsed::Continue);
    }

    #[test]
    fn plain_stun_ends_after_a_few_packets() {
        let flow = udp([40000, 3478]);
        let mut m = vec![0x00, 0x01, 0x00, 0x00];
        m.extend_from_slice(&MAGIC);
        m.extend_from_slice(&[7; 12]);
        let mut d = StunDissector::default();
        let mut facts = FlowFacts::default();
        let outcomes: Vec<Parsed> =
            (0..STUN_PACKETS).map(|_| d.parse(&segment(&flow, Direction::Forward, 0, &m), &mut facts)).collect();
        assert_eq!(outcomes.last(), Some(&Parsed::Done));
        assert!(outcomes[..outcomes.len() - 1].iter().all(|&o| o == Parsed::Continue));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([1, 3478]) } else { tcp([1, 3478]) };
            no_panic::<StunDissector>(&f, &[p.clone(), p]);
        }
    }
}
