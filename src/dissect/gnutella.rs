//! Gnutella dissector (message header: Gnutella Protocol Specification v0.4 §2.2; handshake:
//! the Gnutella 0.6 RFC draft): the TCP handshake `GNUTELLA CONNECT/0.x` /
//! `GNUTELLA/0.6 200`, and over UDP a bare message: 16-byte GUID, payload type, TTL, hops and a
//! little-endian payload length equal to the rest of the datagram.

use super::text::{fact_string, header, prefix_agrees, split_line};
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment};
use crate::facts::FlowFacts;

const HEADER: usize = 23;
const STARTS: &[&[u8]] = &[b"GNUTELLA CONNECT/", b"GNUTELLA/0.6 ", b"GND\x10", b"GND\x02"];

/// Gnutella needs no state.
#[derive(Debug, Default)]
pub struct GnutellaDissector;

/// A whole Gnutella message in one datagram.
fn is_message(p: &[u8]) -> bool {
    let Some(h) = p.get(..HEADER) else { return false };
    // Ping, pong, bye, QRP, vendor messages (0x31, 0x32), push, query, query hit, and 0x44:
    // LimeWire's Mojito DHT messages in the same header (gnutella.pcap's UDP flows, TTL and
    // hops 0).
    let kind_ok = matches!(h[16], 0x00 | 0x01 | 0x02 | 0x30 | 0x31 | 0x32 | 0x40 | 0x44 | 0x80 | 0x81);
    let ttl_hops = u16::from(h[17]) + u16::from(h[18]);
    let len = u32::from_le_bytes([h[19], h[20], h[21], h[22]]) as usize;
    kind_ok && ttl_hops <= 16 && len + HEADER == p.len()
}

impl Dissector for GnutellaDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::GNUTELLA;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if STARTS.iter().any(|s| p.starts_with(s)) {
            return Probe::Certain;
        }
        if flow.is_udp() && is_message(p) {
            return Probe::Certain;
        }
        if flow.is_tcp() && STARTS.iter().any(|s| prefix_agrees(p, s)) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::both(&[6346, 6347]);

    /// The 0.6 handshake carries HTTP-style headers; its User-Agent is kept as HTTP's is.
    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        if p.starts_with(b"GNUTELLA") {
            user_agent(p, facts);
        }
        Parsed::Done
    }
}

/// Record the User-Agent header of an HTTP-style message (request or status line first) as the
/// flow's HTTP user agent, if it has none yet. Shared with SSDP.
pub(crate) fn user_agent(message: &[u8], facts: &mut FlowFacts) -> bool {
    let has = facts.app_protocol.http().is_some_and(|h| h.user_agent.is_some());
    let headers = split_line(message).map_or(&[][..], |(_, rest)| rest);
    match header(headers, b"user-agent").filter(|v| !v.is_empty()) {
        Some(ua) if !has => {
            facts.app_protocol.http_mut().user_agent = Some(fact_string(ua, 512));
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn handshake_and_ping() {
        let f = tcp([40000, 6346]);
        assert_eq!(
            run_one::<GnutellaDissector>(&f, b"GNUTELLA CONNECT/0.6\r\nUser-Agent: x\r\n\r\n").0,
            Probe::Certain
        );
        assert_eq!(run_one::<GnutellaDissector>(&f, b"GNUT").0, Probe::Unsure);
        let mut ping = vec![7u8; 16];
        ping.extend_from_slice(&[0x00, 1, 0, 0, 0, 0, 0]);
        assert_eq!(run_one::<GnutellaDissector>(&udp([1, 6346]), &ping).0, Probe::Certain);
        ping.push(0);
        assert_eq!(run_one::<GnutellaDissector>(&udp([1, 6346]), &ping).0, Probe::NotForUs);
        truncations::<GnutellaDissector>(&udp([1, 6346]), &ping);
    }

    #[test]
    fn mojito_dht_message() {
        // gnutella.pcap, 10.0.2.15:28681 → 103.232.107.100:43508 (message type 0x44, 58 bytes).
        let m = hex("064231022ef96b14544bb5ec5acfc2eb4400003a0000000547544b470000289d0a8d06deffc8263c33897c2c9179fd84ab61045d2fe235700901010000289d0a8d06deffc8263c33897c2c9179fd84ab61");
        assert_eq!(run_one::<GnutellaDissector>(&udp([28681, 43508]), &m).0, Probe::Certain);
        assert_eq!(run_one::<GnutellaDissector>(&udp([28681, 43508]), &m[..m.len() - 1]).0, Probe::NotForUs);
    }

    #[test]
    fn handshake_user_agent() {
        // gnutella.pcap in nDPI's corpus.
        let m = b"GNUTELLA CONNECT/0.6\r\nNode: 1.2.3.4:6346\r\nUser-Agent: gtk-gnutella/1.2.2 (2022-02-25; GTK2; Windows x64)\r\n\r\n";
        let (_, _, f) = run_one::<GnutellaDissector>(&tcp([40000, 6346]), m);
        let ua = f.app_protocol.http().and_then(|h| h.user_agent.as_deref());
        assert_eq!(ua, Some("gtk-gnutella/1.2.2 (2022-02-25; GTK2; Windows x64)"));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([1, 6346]) } else { tcp([1, 6346]) };
            no_panic::<GnutellaDissector>(&f, &[p]);
        }
    }
}
