//! OpenVPN dissector (OpenVPN's protocol description, `ssl.h`/`reliable.h` of the reference
//! implementation's documentation): a control packet opens with opcode << 3 | key id; the
//! client's first packet is P_CONTROL_HARD_RESET_CLIENT_V2 (7) or _V3 (10), followed by an
//! 8-byte session id, an optional HMAC + packet id + time (tls-auth), an empty ACK array and
//! message packet id 0. Over TCP each packet has a two-byte length prefix.
//!
//! The server's P_CONTROL_HARD_RESET_SERVER_V2 (8) acknowledges the client's packet 0: an ACK
//! array of one packet id 0, the client's session id, then its own message packet id 0. With
//! tls-crypt the ACK and packet id are encrypted, so a TCP flow whose client opened with a
//! hard-reset opcode is confirmed by the server answering with one.

use super::reader::be_len16_at;
use super::{protocol, Direction, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const HARD_RESET_CLIENT_V1: u8 = 1;
const HARD_RESET_CLIENT_V2: u8 = 7;
const HARD_RESET_CLIENT_V3: u8 = 10;
const HARD_RESET_SERVER_V2: u8 = 8;

/// OpenVPN needs no state.
#[derive(Debug, Default)]
pub struct OpenvpnDissector;

/// The opcode byte of a hard reset (key id 0), or `None`.
fn reset_opcode(p: &[u8]) -> Option<u8> {
    let first = *p.first()?;
    let opcode = first >> 3;
    (matches!(opcode, HARD_RESET_CLIENT_V1 | HARD_RESET_CLIENT_V2 | HARD_RESET_CLIENT_V3 | HARD_RESET_SERVER_V2)
        && first & 7 == 0)
        .then_some(opcode)
}

/// A server hard reset whose plaintext tail is readable (no tls-crypt): ACK array of one id 0,
/// the client's session id, message packet id 0. Without tls-auth it is 26 bytes.
fn is_server_reset(p: &[u8]) -> bool {
    let n = p.len();
    reset_opcode(p) == Some(HARD_RESET_SERVER_V2)
        && (26..=132).contains(&n)
        && p.get(n - 17) == Some(&1)
        && p.get(n - 16..n - 12) == Some(&[0, 0, 0, 0][..])
        && p.get(n - 4..) == Some(&[0, 0, 0, 0][..])
}

/// The packet inside one TCP frame: the two-byte length must cover the rest exactly.
fn framed(p: &[u8]) -> Option<&[u8]> {
    let len = be_len16_at(p, 0)?;
    p.get(2..).filter(|rest| rest.len() == len)
}

/// A hard-reset packet (without TCP framing) whose tail is readable.
fn is_reset(p: &[u8]) -> bool {
    let Some(opcode) = reset_opcode(p) else { return false };
    if opcode == HARD_RESET_SERVER_V2 {
        return is_server_reset(p);
    }
    // No tls-auth: 1 + 8 + ack len 0 + packet id 0. With tls-auth the HMAC and replay fields
    // sit in between; the packet still ends with ack len 0 + packet id 0.
    if p.len() == 14 {
        return p.get(9..14) == Some(&[0, 0, 0, 0, 0][..]);
    }
    (22..=120).contains(&p.len()) && p.get(p.len() - 5..) == Some(&[0, 0, 0, 0, 0][..])
}

impl Dissector for OpenvpnDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::OPENVPN;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if flow.is_udp() {
            return Probe::certain_if(is_reset(p));
        }
        if !flow.is_tcp() {
            return Probe::NotForUs;
        }
        let Some(packet) = framed(p) else { return Probe::NotForUs };
        if is_reset(packet) {
            return Probe::Certain;
        }
        // tls-crypt: the client's reset (its tail encrypted) leaves the question open; the
        // server answering with a reset settles it. A flow still probing here had only such
        // client resets before (anything else rules OpenVPN out).
        let plausible = (22..=200).contains(&packet.len());
        match (reset_opcode(packet), segment.direction) {
            (Some(HARD_RESET_SERVER_V2), Direction::Reverse) if plausible => Probe::Certain,
            (Some(op), Direction::Forward) if plausible && op != HARD_RESET_SERVER_V2 => Probe::Unsure,
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::both(&[1194]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn client_reset() {
        let mut m = vec![HARD_RESET_CLIENT_V2 << 3];
        m.extend_from_slice(&[9; 8]);
        m.extend_from_slice(&[0; 5]);
        assert_eq!(run_one::<OpenvpnDissector>(&udp([40000, 1194]), &m).0, Probe::Certain);
        let mut framed = vec![0, m.len() as u8];
        framed.extend_from_slice(&m);
        assert_eq!(run_one::<OpenvpnDissector>(&tcp([40000, 1194]), &framed).0, Probe::Certain);
        m[10] = 1;
        assert_eq!(run_one::<OpenvpnDissector>(&udp([40000, 1194]), &m).0, Probe::NotForUs);
        truncations::<OpenvpnDissector>(&tcp([1, 1194]), &framed);
    }

    #[test]
    fn server_reset_alone() {
        // nDPI's openvpn.pcap, flow 9: only the server's side of the flow was captured; its
        // first packet is a hard reset acknowledging the client's packet 0.
        let reset = hex("40d31c3a6964602fa00100000000334857703d96db3900000000");
        assert_eq!(run_one::<OpenvpnDissector>(&udp([443, 60201]), &reset).0, Probe::Certain);
        let mut other = reset.clone();
        other[9] = 2; // two acknowledgements would need 4 more bytes
        assert_eq!(run_one::<OpenvpnDissector>(&udp([443, 60201]), &other).0, Probe::NotForUs);
        truncations::<OpenvpnDissector>(&udp([443, 60201]), &reset);
    }

    #[test]
    fn tls_crypt_reset_confirmed_by_the_server() {
        // nDPI's openvpn.pcap, flow 6 (TCP 443, tls-crypt): the client's reset has an
        // encrypted tail; the server's answer is another reset.
        let client = hex(concat!(
            "0036382a56d979d99eccf40000000163cf4ff5b89824b0aa4e93c089c1e24af5443766b5cab18c23c17d",
            "51081eb196a229085eec179d0d88"
        ));
        let server = hex(concat!(
            "0042402f64c09039de36230000000163cf4ff53036751e70bae8a84698d78c132edcf685ea93abfb4eda",
            "16e29f47208abaeeb8b2c6d71c379474de67682231f35717fb54"
        ));
        let f = tcp([36138, 443]);
        let probe = |dir, p| OpenvpnDissector::probe_flow(&f, &segment(&f, dir, 0, p));
        assert_eq!(probe(Direction::Forward, &client), Probe::Unsure);
        assert_eq!(probe(Direction::Reverse, &server), Probe::Certain);
        // A server reset that opens the flow, or a client reset as the answer, proves nothing.
        assert_eq!(probe(Direction::Forward, &server), Probe::NotForUs);
        assert_eq!(probe(Direction::Reverse, &client), Probe::NotForUs);
        // The length prefix must cover the packet.
        assert_eq!(probe(Direction::Forward, &client[..client.len() - 1]), Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..130), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([1, 1194]) } else { tcp([1, 1194]) };
            no_panic::<OpenvpnDissector>(&f, &[p.clone(), p]);
        }
    }
}
