//! WireGuard dissector (WireGuard whitepaper §5.4): a message type byte 1–4, three reserved
//! zero bytes, and a fixed size per type (initiation 148, response 92, cookie reply 64,
//! transport data 32 + a multiple of 16).
//!
//! TunnelBear's VPN client and servers speak WireGuard with longer handshake messages: an
//! initiation of 204 bytes (148 + 56) from the client, answered by a response of 100 (92 + 8),
//! types and reserved bytes as the whitepaper's. nDPI's wireguard.c names such flows
//! `WireGuard.TunnelBear` (read from its source as a wire fact). Here the initiation alone is
//! only a hint (one 204-byte datagram starting `01 00 00 00`); the flow is WireGuard, with the
//! TunnelBear handshake noted ([`crate::facts::wireguard::WireGuardFacts`]), once the other side
//! answers with a 100-byte response whose sender and receiver indexes are set. A probe keeps no
//! state, so the receiver index is not compared with the initiation's sender index (nDPI
//! compares them); but WireGuard is ruled out for the flow by any earlier datagram from the
//! client that was neither such an initiation nor WireGuard transport data, so the response
//! answers WireGuard-shaped datagrams only.
//!
//! Tailscale runs WireGuard and, on the same UDP socket (default port 41641), its own "disco"
//! messages for path discovery and NAT traversal (Tailscale's `disco` package): the 6-byte
//! magic `TS💬` (`54 53 f0 9f 92 ac`), the sender's 32-byte disco public key, a 24-byte nonce
//! and a NaCl box (16-byte tag, then the message: a type and a version byte at least). A
//! datagram with that magic and room for the rest names the flow Netify's `Tailscale`.

use super::{protocol, Direction, Dissector, FirstBytes, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// Tailscale's disco magic, `TS💬`.
const DISCO_MAGIC: &[u8] = b"TS\xf0\x9f\x92\xac";
/// The magic, the sender's key, the nonce, the box's tag and a message's type and version.
const DISCO_MIN: usize = 6 + 32 + 24 + 16 + 2;

/// `p` is a Tailscale disco message.
fn disco(p: &[u8]) -> bool {
    p.len() >= DISCO_MIN && p.starts_with(DISCO_MAGIC)
}

/// TunnelBear's handshake sizes: initiation and response (see the module docs).
const TUNNELBEAR_INITIATION: usize = 204;
const TUNNELBEAR_RESPONSE: usize = 100;

/// The message type and the three reserved zero bytes every WireGuard message opens with.
fn message_type(p: &[u8]) -> Option<u8> {
    (p.get(1..4) == Some(&[0, 0, 0][..])).then(|| p[0])
}

/// A TunnelBear handshake response: 100 bytes, a sender index (bytes 4–7) and the receiver
/// index it answers (bytes 8–11), both set.
fn is_tunnelbear_response(p: &[u8]) -> bool {
    p.len() == TUNNELBEAR_RESPONSE && message_type(p) == Some(2) && p[4..8] != [0; 4] && p[8..12] != [0; 4]
}

/// WireGuard needs no state.
#[derive(Debug, Default)]
pub struct WireguardDissector;

impl Dissector for WireguardDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::WIREGUARD;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::range(1, 4).with(DISCO_MAGIC[0]);

    /// Certain for a handshake message of the right size. Transport data alone is only a hint
    /// (its size rule matches many UDP payloads), so it stays unsure until the other side
    /// answers with transport data too (a capture that starts mid-session): a flow still
    /// probing then had nothing but transport data before. Its 64-bit little-endian counter
    /// restarts with every key (REKEY_AFTER_TIME is 120 s, whitepaper §6.1), so its high half
    /// is zero.
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if flow.is_udp() && disco(p) {
            return Probe::Certain;
        }
        if !flow.is_udp() {
            return Probe::NotForUs;
        }
        match (message_type(p), p.len()) {
            (Some(1), 148) | (Some(2), 92) | (Some(3), 64) => Probe::Certain,
            // TunnelBear's initiation is a hint; its response names the flow.
            (Some(1), TUNNELBEAR_INITIATION) if segment.direction == Direction::Forward => Probe::Unsure,
            (Some(2), TUNNELBEAR_RESPONSE) if segment.direction == Direction::Reverse && is_tunnelbear_response(p) => {
                Probe::Certain
            }
            (Some(4), n) if n >= 32 && n % 16 == 0 && p.get(12..16) == Some(&[0; 4][..]) => match segment.direction {
                Direction::Forward => Probe::Unsure,
                Direction::Reverse => Probe::Certain,
            },
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::udp(&[51820]);

    /// A flow claimed on a disco message is Tailscale's; one claimed on TunnelBear's handshake
    /// response is WireGuard with that handshake noted; any other is plain WireGuard.
    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        if disco(p) {
            facts.protocol = protocol::TAILSCALE;
        } else if segment.direction == Direction::Reverse && is_tunnelbear_response(p) {
            facts.app_protocol.wireguard_mut().tunnelbear_handshake = true;
        }
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn handshake_sizes() {
        let f = udp([40000, 51820]);
        let mut init = vec![0u8; 148];
        init[0] = 1;
        assert_eq!(run_one::<WireguardDissector>(&f, &init).0, Probe::Certain);
        assert_eq!(run_one::<WireguardDissector>(&f, &init[..147]).0, Probe::NotForUs);
        let mut data = vec![0u8; 64];
        data[0] = 4;
        assert_eq!(run_one::<WireguardDissector>(&f, &data).0, Probe::Unsure);
        truncations::<WireguardDissector>(&f, &init);
    }

    #[test]
    fn tunnelbear_handshake() {
        // nDPI's tunnelbear.pcap, 10.0.2.15:57636 → 142.93.78.79:51820 (nDPI:
        // WireGuard.TunnelBear): the initiation's and the response's opening bytes (indexes as
        // sent: the response's receiver index is the initiation's sender index), the rest filler.
        let mut init = hex("01000000316618ac09ad0e1ccda196d9f8af6627c303d6d9811fa0a060b52f55d3e536f87df38d");
        init.resize(204, 0x5a);
        let mut response = hex("0200000002ca1a00316618ac0a000533ac110301131365569c1ed86608418d59e9350dca4c94ce");
        response.resize(100, 0x5a);
        let f = udp([57636, 51820]);
        let probe = |dir, p: &[u8]| WireguardDissector::probe_flow(&f, &segment(&f, dir, 0, p));
        assert_eq!(probe(Direction::Forward, &init), Probe::Unsure);
        assert_eq!(probe(Direction::Reverse, &response), Probe::Certain);
        let mut facts = FlowFacts::default();
        let parsed = WireguardDissector.parse(&segment(&f, Direction::Reverse, 0, &response), &mut facts);
        assert_eq!(parsed, Parsed::Done);
        assert_eq!(facts.app_protocol.wireguard().map(|w| w.tunnelbear_handshake), Some(true));
        // A standard handshake notes nothing.
        let mut plain = response.clone();
        plain.truncate(92);
        let mut facts = FlowFacts::default();
        assert_eq!(probe(Direction::Reverse, &plain), Probe::Certain);
        WireguardDissector.parse(&segment(&f, Direction::Reverse, 0, &plain), &mut facts);
        assert_eq!(facts.app_protocol.wireguard(), None);
        // Near misses: the sizes the wrong way round, an index left zero, other lengths.
        assert_eq!(probe(Direction::Reverse, &init), Probe::NotForUs);
        assert_eq!(probe(Direction::Forward, &response), Probe::NotForUs);
        let mut unanswered = response.clone();
        unanswered[8..12].fill(0);
        assert_eq!(probe(Direction::Reverse, &unanswered), Probe::NotForUs);
        assert_eq!(probe(Direction::Forward, &init[..203]), Probe::NotForUs);
        assert_eq!(probe(Direction::Reverse, &response[..99]), Probe::NotForUs);
    }

    #[test]
    fn transport_data_both_ways() {
        // nDPI's mullvad_wireguard.pcap, flow 1 (UDP 5060, mid-session): transport data each
        // way, 96 bytes, counters 0x13 and 0x0f.
        let out = hex(concat!(
            "040000001576497913000000000000003bc85395c81aa144b19f96e639fb04b89c8880767cf1142a03a1ec",
            "927c93f14471f015aca7fab94ec21d632e0e94af5a3b50604bd5f5c3280cfe33233e6e04dcc64cd10007c4",
            "0ff94e1dbb0d31b619bf"
        ));
        let back = hex(concat!(
            "04000000b048101c0f000000000000000b084e9cecdcdaa3fe69e005cc0bb9cb40d096d1d35e314bf0e815",
            "35c3ae4f30d6c71f7f03c65d542193cf4f59bf2fb70fa938fad9372a285aee6d1e6f4a71756ae2189eaf5e",
            "042a71293edaead29cbe"
        ));
        let f = udp([22595, 5060]);
        let probe = |dir, p: &[u8]| WireguardDissector::probe_flow(&f, &segment(&f, dir, 0, p));
        assert_eq!(probe(Direction::Forward, &out), Probe::Unsure);
        assert_eq!(probe(Direction::Reverse, &back), Probe::Certain);
        // A counter beyond 2^32 is not a live session's.
        let mut high = back.clone();
        high[15] = 1;
        assert_eq!(probe(Direction::Reverse, &high), Probe::NotForUs);
        assert_eq!(probe(Direction::Reverse, &back[..95]), Probe::NotForUs);
    }

    /// tailscale.pcap in nDPI's corpus, 192.168.88.3:41641 → 18.196.71.179:41641 (nDPI:
    /// Tailscale): the first 40 of a 92-byte disco message.
    const DISCO: &str = "5453f09f92acb6847dd212ae777bfae214b36d0d971152f0c7e0524e0c28b0a0105b5fa616170321";

    fn disco_message() -> Vec<u8> {
        let mut p = hex(DISCO);
        p.resize(92, 0x5a);
        p
    }

    #[test]
    fn tailscale_disco_names_the_flow() {
        let f = udp([41641, 41641]);
        let (probe, parsed, facts) = run_one::<WireguardDissector>(&f, &disco_message());
        assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Done, protocol::TAILSCALE));
        // Any port: NAT traversal moves it off 41641.
        assert_eq!(run_one::<WireguardDissector>(&udp([50000, 3478]), &disco_message()).0, Probe::Certain);
        // Too short for the key, nonce and box; the magic's UTF-8 cut; TCP.
        assert_eq!(run_one::<WireguardDissector>(&f, &disco_message()[..DISCO_MIN - 1]).0, Probe::NotForUs);
        let mut p = disco_message();
        p[5] = 0xad;
        assert_eq!(run_one::<WireguardDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<WireguardDissector>(&tcp([41641, 41641]), &disco_message()).0, Probe::NotForUs);
        // A WireGuard handshake on Tailscale's port stays WireGuard.
        let mut init = vec![0u8; 148];
        init[0] = 1;
        assert_eq!(run_one::<WireguardDissector>(&f, &init).2.protocol, protocol::UNKNOWN);
        truncations::<WireguardDissector>(&f, &disco_message());
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..200)) {
            no_panic::<WireguardDissector>(&udp([1, 51820]), &[p.clone(), p]);
        }
    }
}
