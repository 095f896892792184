//! Gnutella dissector (message header: Gnutella Protocol Specification v0.4 §2.2; handshake:
//! the Gnutella 0.6 RFC draft): the TCP handshake `GNUTELLA CONNECT/0.x` /
//! `GNUTELLA/0.6 200`, and over UDP a bare message: 16-byte GUID, payload type, TTL, hops and a
//! little-endian payload length equal to the rest of the datagram.

use super::text::prefix_agrees;
use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment};
use crate::flow::facts::FlowFacts;

const HEADER: usize = 23;
const STARTS: &[&[u8]] = &[b"GNUTELLA CONNECT/", b"GNUTELLA/0.6 ", b"GND\x10", b"GND\x02"];

/// Gnutella needs no state.
#[derive(Debug, Default)]
pub struct GnutellaDissector;

/// A whole Gnutella message in one datagram.
fn is_message(p: &[u8]) -> bool {
    let Some(h) = p.get(..HEADER) else { return false };
    // Ping, pong, bye, QRP, vendor messages (0x31, 0x32), push, query, query hit.
    let kind_ok = matches!(h[16], 0x00 | 0x01 | 0x02 | 0x30 | 0x31 | 0x32 | 0x40 | 0x80 | 0x81);
    let ttl_hops = u16::from(h[17]) + u16::from(h[18]);
    let len = u32::from_le_bytes([h[19], h[20], h[21], h[22]]) as usize;
    kind_ok && ttl_hops <= 16 && len + HEADER == p.len()
}

impl Dissector for GnutellaDissector {
    const PROTOCOL: u16 = protocol::GNUTELLA;

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

    fn port_hint(flow: &FlowInfo) -> bool {
        flow.has_port(6346) || flow.has_port(6347)
    }

    fn parse(&mut self, _segment: &Segment<'_>, _facts: &mut FlowFacts) -> Parsed {
        Parsed::Done
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

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([1, 6346]) } else { tcp([1, 6346]) };
            no_panic::<GnutellaDissector>(&f, &[p]);
        }
    }
}
