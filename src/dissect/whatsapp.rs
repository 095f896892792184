//! WhatsApp's chat connection (TCP, port 5222 or 443). The client opens with a prologue before
//! its first handshake frame: `WA` and two version bytes (`WA 01 05` in the older FunXMPP
//! clients, `WA 05 02` and the like in the Noise-protocol ones). Clients that go through an
//! edge server put a routing header first: `ED 00 01`, a 24-bit length and that many routing
//! bytes, then the `WA` prologue. Clients often send `ED 00 01` alone in its own segment; the
//! probe waits for the next one, which starts with the routing header's length.
//!
//! No port hint: 5222 is XMPP's port (WhatsApp's protocol began as an XMPP variant, and other
//! messengers use the port too), so a 5222 flow nothing claimed is guessed XMPP.

use super::reader::be_u24_at;
use super::{protocol, Dissector, FlowInfo, Probe, Segment, Transports};

/// The edge routing header's magic.
const EDGE: [u8; 4] = *b"ED\x00\x01";
/// Longest routing data taken for one (seen: 4 bytes).
const MAX_ROUTING: usize = 64;

/// WhatsApp needs no state: the prologue says all there is.
#[derive(Debug, Default)]
pub struct WhatsappDissector;

/// `p` starts with the `WA` prologue, or could once more bytes come.
fn prologue(p: &[u8]) -> Probe {
    match p {
        [b'W', b'A', major, minor, ..] => Probe::certain_if((1..=9).contains(major) && *minor < 16),
        [b'W', b'A'] | [b'W'] | [] => Probe::Unsure,
        [b'W', b'A', major] => {
            if (1..=9).contains(major) {
                Probe::Unsure
            } else {
                Probe::NotForUs
            }
        }
        _ => Probe::NotForUs,
    }
}

/// `p` is a routing header (24-bit length and the routing bytes) followed by the prologue.
fn routed(p: &[u8]) -> Probe {
    match be_u24_at(p, 0) {
        Some(len) if (1..=MAX_ROUTING).contains(&len) => p.get(3 + len..).map_or(Probe::Unsure, prologue),
        Some(_) => Probe::NotForUs,
        None => Probe::Unsure,
    }
}

impl Dissector for WhatsappDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::WHATSAPP;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() {
            return Probe::NotForUs;
        }
        if p.len() < EDGE.len() && EDGE.starts_with(p) {
            return Probe::Unsure;
        }
        if let Some(rest) = p.strip_prefix(&EDGE) {
            // `ED 00 01` alone: the routing header and prologue follow in the next segment.
            return if rest.is_empty() { Probe::Unsure } else { routed(rest) };
        }
        match prologue(p) {
            Probe::NotForUs if p.first() == Some(&0) => routed(p),
            Probe::Unsure if p.is_empty() => Probe::NotForUs,
            probe => probe,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn prologues_are_whatsapp() {
        let f = tcp([44804, 5222]);
        // wa_voice.pcap, 192.168.2.12:49355 → 157.240.20.53:5222: header and prologue together.
        let edge = hex("4544000100000408050802574102010000ee12eb010a20");
        assert_eq!(run_one::<WhatsappDissector>(&f, &edge).0, Probe::Certain);
        truncations::<WhatsappDissector>(&f, &edge);
        // whatsapp.pcap, 192.168.2.100:44804: `ED 00 01` alone, then the rest.
        assert_eq!(run_one::<WhatsappDissector>(&f, b"ED\x00\x01").0, Probe::Unsure);
        let rest = hex("000004080908025741050200010e128b020a20");
        assert_eq!(run_one::<WhatsappDissector>(&f, &rest).0, Probe::Certain);
        // waze.pcap, 10.8.0.1:50828 → 108.168.176.228:443: the old FunXMPP prologue.
        let old = hex("57410105000018f80501a59189fc10416e64726f6964");
        assert_eq!(run_one::<WhatsappDissector>(&tcp([50828, 443]), &old).0, Probe::Certain);
    }

    #[test]
    fn other_payloads_are_not() {
        let f = tcp([44804, 5222]);
        // The server's first frame, an XMPP stream, a TLS ClientHello, UDP.
        for p in [&hex("000005f803013a91000003f8019c80003d")[..], b"<?xml version='1.0'?>", &hex("160301020001")] {
            assert_eq!(run_one::<WhatsappDissector>(&f, p).0, Probe::NotForUs, "{p:02x?}");
        }
        assert_eq!(run_one::<WhatsappDissector>(&f, b"WAIT 1").0, Probe::NotForUs);
        assert_eq!(run_one::<WhatsappDissector>(&udp([1, 5222]), b"WA\x05\x02").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<WhatsappDissector>(&tcp([1, 5222]), &[p]);
        }
    }
}
