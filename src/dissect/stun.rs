//! STUN dissector (RFC 8489 §5, and the RFC 3489 "classic" format): a 20-byte header whose
//! top two bits are zero, a message length matching the payload, and (RFC 5389 onwards) the
//! magic cookie 0x2112A442; without the cookie, a length that is a multiple of 4. TURN (RFC 8656) uses the same header.
//!
//! WebRTC multiplexes STUN, DTLS and RTP on one 5-tuple; RFC 7983 §7 tells them apart by the
//! first byte (0–3 STUN, 20–63 DTLS, 128–191 RTP/RTCP). The dissector keeps reading a STUN
//! flow for a few packets: a REALM attribute (RFC 8489 §14.9) names the flow's host, and a DTLS
//! handshake that follows is handed to the TLS dissector (the flow is then DTLS, with its
//! hellos' facts), as nDPI reports such flows.
//!
//! Some relays name their operator (docs/FLOW-ACTIONS.md §5, "Wire signatures"): WhatsApp's
//! clients send, and its relays answer with, attributes from the comprehension-required range
//! IANA leaves to expert review (RFC 8489 §18.3, 0x4000–0x7FFF, none of 0x4000–0x4007
//! registered), which a standard TURN server rejects (420 Unknown Attribute, RFC 8489 §6.3.1),
//! and message types outside RFC 8489's methods (0x0800–0x0802). Either one marks the flow
//! [`StunClient::WhatsApp`] in [`StunFacts`].
//!
//! Microsoft's clients and relays (Skype for Business, Teams, Skype) speak Microsoft's published
//! ICE and TURN extensions ([MS-ICE2] §2.2.2: CANDIDATE-IDENTIFIER 0x8054, IMPLEMENTATION-VERSION
//! 0x8070; [MS-TURN] §2.2.2: MS-SERVICE-QUALITY 0x8055, MS-MULTIPLEXED-TURN-SESSION-ID 0x8095),
//! attribute numbers IANA has not registered to anyone (RFC 8489 §18.3): one of them marks the
//! flow [`StunClient::Microsoft`]. nDPI names such flows the same way.
//!
//! A relay's REALM names its operator's calls when it is one of the domains
//! [`crate::facts::stun::realm_client`] knows (Google's, Signal's, Telegram's relays).
//!
//! The same facts, read from single datagrams, teach the flow table's call hint cache
//! (`classify::call_hints`, docs/FLOW-ACTIONS.md §5, "A call's other flows"): [`call_message`]
//! finds a UDP datagram that is one STUN message with the cookie, [`message_client`] what it
//! names, and [`xor_peer_addresses`] the peers a TURN client asks its relay to reach.

use super::reader::{be_len16_at, be_u16_at};
use super::text::fact_string;
use super::tls::TlsDissector;
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::stun::{realm_client, StunClient, MAGIC_COOKIE as MAGIC};
use crate::facts::FlowFacts;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const HEADER: usize = 20;
/// RFC 8489 §14.9: REALM, a quoted-string of at most 763 bytes.
const ATTR_REALM: u16 = 0x0014;
/// RFC 8656 §18.3: XOR-PEER-ADDRESS, the peer a TURN client has its relay send to.
const ATTR_XOR_PEER_ADDRESS: u16 = 0x0012;
const MAX_REALM: usize = 763;
/// WhatsApp's private attributes (comprehension-required, unregistered) and message types.
const WHATSAPP_ATTRIBUTES: [u16; 6] = [0x4000, 0x4001, 0x4002, 0x4003, 0x4004, 0x4007];
const WHATSAPP_TYPES: [u16; 3] = [0x0800, 0x0801, 0x0802];
/// Microsoft's ICE and TURN extension attributes ([MS-ICE2], [MS-TURN]).
const MICROSOFT_ATTRIBUTES: [u16; 4] = [0x8054, 0x8055, 0x8070, 0x8095];
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

/// The attributes of a message (RFC 8489 §14): type and value, up to the first one that does
/// not fit.
fn attributes(msg: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = msg.get(HEADER..).unwrap_or_default();
    std::iter::from_fn(move || {
        let (kind, len) = (be_u16_at(rest, 0)?, be_len16_at(rest, 2)?);
        let value = rest.get(4..4 + len)?;
        // Values are padded to a multiple of 4 bytes (the last one may end the message early).
        rest = rest.get(4 + len.next_multiple_of(4)..).unwrap_or_default();
        Some((kind, value))
    })
}

/// The REALM attribute's value, if the message has one.
fn realm(msg: &[u8]) -> Option<&[u8]> {
    attributes(msg).find(|&(kind, _)| kind == ATTR_REALM).map(|(_, value)| value)
}

/// A REALM's value without the quotes RFC 8489 §14.9's quoted-string may carry.
fn unquoted(name: &[u8]) -> &[u8] {
    name.strip_prefix(b"\"").and_then(|n| n.strip_suffix(b"\"")).unwrap_or(name)
}

/// The application a message names, if any (see the module doc): WhatsApp's or Microsoft's
/// attributes, else a REALM of a known operator.
pub fn message_client(msg: &[u8]) -> StunClient {
    let kind = be_u16_at(msg, 0).unwrap_or_default();
    if WHATSAPP_TYPES.contains(&kind) || attributes(msg).any(|(a, _)| WHATSAPP_ATTRIBUTES.contains(&a)) {
        StunClient::WhatsApp
    } else if attributes(msg).any(|(a, _)| MICROSOFT_ATTRIBUTES.contains(&a)) {
        StunClient::Microsoft
    } else {
        realm(msg).and_then(|name| std::str::from_utf8(unquoted(name)).ok()).map_or(StunClient::Unknown, realm_client)
    }
}

/// A UDP datagram that is one STUN message with the magic cookie (RFC 8489 §5, §6): what the
/// call hint cache learns from. (Classic RFC 3489 messages have no cookie and no attribute
/// that names an application.)
pub fn call_message(payload: &[u8]) -> Option<&[u8]> {
    (payload.get(4..8) == Some(&MAGIC[..]) && is_stun(payload)).then_some(payload)
}

/// The XOR-PEER-ADDRESS attributes of a message (RFC 8656 §18.3, encoded as RFC 8489 §14.2's
/// XOR-MAPPED-ADDRESS): family 1 (IPv4, 8 bytes) or 2 (IPv6, 20 bytes); the port is XOR'ed with
/// the cookie's first 16 bits, an IPv4 address with the cookie, an IPv6 address with the cookie
/// followed by the 96-bit transaction ID. Values of another length or family are skipped.
pub fn xor_peer_addresses(msg: &[u8]) -> impl Iterator<Item = (IpAddr, u16)> + '_ {
    let mut key = [0u8; 16];
    key[..4].copy_from_slice(&MAGIC);
    if let Some(id) = msg.get(8..HEADER) {
        key[4..].copy_from_slice(id);
    }
    attributes(msg).filter(|&(kind, _)| kind == ATTR_XOR_PEER_ADDRESS).filter_map(move |(_, v)| {
        let port = be_u16_at(v, 2)? ^ u16::from_be_bytes([MAGIC[0], MAGIC[1]]);
        let ip = match (v.get(1), v.len()) {
            (Some(1), 8) => {
                let a: [u8; 4] = std::array::from_fn(|i| v.get(4 + i).copied().unwrap_or_default() ^ key[i]);
                IpAddr::V4(Ipv4Addr::from(a))
            }
            (Some(2), 20) => {
                let a: [u8; 16] = std::array::from_fn(|i| v.get(4 + i).copied().unwrap_or_default() ^ key[i]);
                IpAddr::V6(Ipv6Addr::from(a))
            }
            _ => return None,
        };
        Some((ip, port))
    })
}

/// True when `msg` (without TCP framing) is one STUN message.
fn is_stun(msg: &[u8]) -> bool {
    let (Some(kind), Some(len)) = (be_u16_at(msg, 0), be_len16_at(msg, 2)) else { return false };
    if kind & 0xc000 != 0 || HEADER + len != msg.len() {
        return false;
    }
    // With the cookie, a length that is not a multiple of 4 is still STUN: WhatsApp's clients
    // leave their last attribute unpadded (RFC 8489 §14 asks for padding).
    if msg.get(4..8) == Some(&MAGIC[..]) {
        return true;
    }
    // Classic STUN has no cookie: accept only its binding and shared-secret messages.
    len % 4 == 0 && matches!(kind, 0x0001 | 0x0101 | 0x0111 | 0x0002 | 0x0102 | 0x0112) && len > 0
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
            // 0x08: WhatsApp's message types 0x0800-0x0802.
            Some(0..=3 | 8) => {
                let tcp = segment.tcp_seq.is_some();
                let msg = message(tcp, p);
                let found = msg.map_or(StunClient::Unknown, message_client);
                // The first application a message names stays.
                if found != StunClient::Unknown
                    && facts.app_protocol.stun().is_none_or(|s| s.client == StunClient::Unknown)
                {
                    facts.app_protocol.stun_mut().client = found;
                    outcome = Parsed::Updated;
                }
                if let Some(name) = msg.and_then(realm) {
                    let name = unquoted(name);
                    if facts.detected_hostname().is_none() && !name.is_empty() && name.iter().all(u8::is_ascii_graphic)
                    {
                        facts.set_detected_hostname(fact_string(name, MAX_REALM));
                        facts.app_protocol.stun_mut().realm = true;
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
        assert_eq!(facts.app_protocol.stun().map(|s| s.realm), Some(true));
        // A truncated attribute names nothing.
        let (_, _, facts) = run_one::<StunDissector>(&udp([40000, 3478]), &m[..m.len() - 1]);
        assert_eq!(facts.detected_hostname(), None);
    }

    /// A WhatsApp call's TURN Allocate request (its client to a Meta relay on 3478; its
    /// attribute 0x4000 of 102 bytes is left unpadded, so the length is 106) and the relay's
    /// answer, from a capture of a WhatsApp voice call (nDPI's `wa_voice.pcap`).
    const WA_ALLOCATE: &str = "0003006a2112a442a6674f75f0ad2c001315b3364000006605030826d884ea2ea4c4944ba39f\
        29867bf241bc1d1f5228195ff7602f3302e61e3ef4de0deb97989fa132933e675e3981c454d16a5a8caae9521d0421dba60b3b3\
        29f858a72e5dd741369a6808d8481672dade584a273d399fe31d3f91e4545549b729bd734";
    const WA_ALLOCATE_OK: &str =
        "010300182112a442a6674f75f0ad2c001315b336002000080001ed8671a60672400200080000016b8e034333";
    /// A binding request between the two callers (MESSAGE-INTEGRITY only), same capture.
    const PEER_BINDING: &str =
        "000100182112a442598b5154d52991564c4666040008001460299848dfab932358548c7d235e82768b4958a7";

    #[test]
    fn whatsapp_relays_are_named_by_their_private_attributes() {
        for (h, direction) in [(WA_ALLOCATE, [56328, 3478]), (WA_ALLOCATE_OK, [3478, 56328])] {
            let (probe, parsed, facts) = run_one::<StunDissector>(&udp(direction), &hex(h));
            assert_eq!((probe, parsed), (Probe::Certain, Parsed::Updated));
            assert_eq!(facts.app_protocol.stun().map(|s| s.client), Some(StunClient::WhatsApp));
        }
        // A standard binding request names no application.
        let (probe, _, facts) = run_one::<StunDissector>(&udp([56328, 32704]), &hex(PEER_BINDING));
        assert_eq!(probe, Probe::Certain);
        assert_eq!(facts.app_protocol.stun(), None);
        // The same attribute number outside 0x4000-0x4004/0x4007 (0x4005) names nothing.
        let mut other = hex(WA_ALLOCATE_OK);
        other[32..34].copy_from_slice(&[0x40, 0x05]);
        assert_eq!(run_one::<StunDissector>(&udp([3478, 56328]), &other).2.app_protocol.stun(), None);
        // WhatsApp's message types (no attributes needed).
        let mut typed = hex(PEER_BINDING);
        typed[..2].copy_from_slice(&[0x08, 0x01]);
        assert_eq!(
            run_one::<StunDissector>(&udp([56328, 3478]), &typed).2.app_protocol.stun().map(|s| s.client),
            Some(StunClient::WhatsApp)
        );
        truncations::<StunDissector>(&udp([56328, 3478]), &hex(WA_ALLOCATE));
    }

    /// A Teams relay's binding success response (MS-ICE2 IMPLEMENTATION-VERSION 0x8070 first),
    /// from a capture of a Teams call (nDPI's `stun_msteams_unidir.pcapng`).
    const TEAMS_BINDING_OK: &str = "010100342112a442567009c2ae00e698d98f01908070000400000007002000080001e24473a0\
        9b3900080014081c187c4cf903476de30538dee3554682a1e5d080280004513d0c54";

    #[test]
    fn microsoft_extension_attributes_name_microsofts_calls() {
        let flow = udp([3479, 50006]);
        let (probe, parsed, facts) = run_one::<StunDissector>(&flow, &hex(TEAMS_BINDING_OK));
        assert_eq!((probe, parsed), (Probe::Certain, Parsed::Updated));
        assert_eq!(facts.app_protocol.stun().map(|s| s.client), Some(StunClient::Microsoft));
        // The same message with the attribute renumbered to an unassigned 0x8071 names nothing.
        let mut other = hex(TEAMS_BINDING_OK);
        other[20..22].copy_from_slice(&[0x80, 0x71]);
        let (probe, _, facts) = run_one::<StunDissector>(&flow, &other);
        assert_eq!(probe, Probe::Certain);
        assert_eq!(facts.app_protocol.stun(), None);
        // The first application named stays: WhatsApp's message after Microsoft's changes nothing.
        let mut d = StunDissector::default();
        let mut facts = FlowFacts::default();
        d.parse(&segment(&flow, Direction::Forward, 0, &hex(TEAMS_BINDING_OK)), &mut facts);
        d.parse(&segment(&flow, Direction::Forward, 0, &hex(WA_ALLOCATE_OK)), &mut facts);
        assert_eq!(facts.app_protocol.stun().map(|s| s.client), Some(StunClient::Microsoft));
        truncations::<StunDissector>(&flow, &hex(TEAMS_BINDING_OK));
    }

    /// A TURN CreatePermission (RFC 8656 §9) with an IPv4 and an IPv6 XOR-PEER-ADDRESS.
    fn create_permission(peers: &[(IpAddr, u16)]) -> Vec<u8> {
        let id: [u8; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        let mut key = MAGIC.to_vec();
        key.extend_from_slice(&id);
        let mut body = Vec::new();
        for &(ip, port) in peers {
            let (family, addr) = match ip {
                IpAddr::V4(a) => (1u8, a.octets().to_vec()),
                IpAddr::V6(a) => (2u8, a.octets().to_vec()),
            };
            body.extend_from_slice(&[0x00, 0x12, 0x00, 4 + addr.len() as u8, 0, family]);
            body.extend_from_slice(&(port ^ 0x2112).to_be_bytes());
            body.extend(addr.iter().zip(&key).map(|(a, k)| a ^ k));
        }
        let mut m = vec![0x00, 0x08];
        m.extend_from_slice(&(body.len() as u16).to_be_bytes());
        m.extend_from_slice(&MAGIC);
        m.extend_from_slice(&id);
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn xor_peer_addresses_are_decoded_for_both_families() {
        let v4: (IpAddr, u16) = ("192.0.2.1".parse().unwrap(), 50000);
        let v6: (IpAddr, u16) = ("2001:db8::7:1".parse().unwrap(), 3478);
        let m = create_permission(&[v4, v6]);
        assert_eq!(call_message(&m), Some(&m[..]));
        assert_eq!(xor_peer_addresses(&m).collect::<Vec<_>>(), vec![v4, v6]);
        // A CreatePermission names no application by itself.
        assert_eq!(message_client(&m), StunClient::Unknown);
        // A value of the wrong length for its family is skipped.
        let mut bad = m.clone();
        bad[25] = 2;
        assert_eq!(xor_peer_addresses(&bad).collect::<Vec<_>>(), vec![v6]);
        // Without the cookie, or with a length that does not match, it is no call message.
        let mut classic = m.clone();
        classic[4] = 0;
        assert_eq!(call_message(&classic), None);
        assert_eq!(call_message(&m[..m.len() - 1]), None);
        // A REALM of a known operator names its calls; WhatsApp's attributes win over it.
        let mut realm = vec![0x01, 0x13, 0x00, 0x10];
        realm.extend_from_slice(&MAGIC);
        realm.extend_from_slice(&[7; 12]);
        realm.extend_from_slice(&[0x00, 0x14, 0x00, 0x0c]);
        realm.extend_from_slice(b"\"signal.org\"");
        assert_eq!(message_client(&realm), StunClient::Signal);
        assert_eq!(message_client(&hex(WA_ALLOCATE_OK)), StunClient::WhatsApp);
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
