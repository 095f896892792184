//! BitTorrent dissector: the peer wire handshake (BEP 3: byte 19 then `BitTorrent protocol`)
//! over TCP, and the DHT's bencoded KRPC messages over UDP (BEP 5: `d1:ad2:id20:` queries,
//! `d1:rd2:id20:` responses).

use super::text::prefix_agrees;
use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment};
use crate::flow::facts::FlowFacts;

const HANDSHAKE: &[u8] = b"\x13BitTorrent protocol";

/// BitTorrent needs no state.
#[derive(Debug, Default)]
pub struct BitTorrentDissector;

/// A KRPC message: a bencoded dictionary with the keys BEP 5 requires.
fn is_krpc(p: &[u8]) -> bool {
    (p.starts_with(b"d1:ad2:id20:") || p.starts_with(b"d1:rd2:id20:") || p.starts_with(b"d1:eli"))
        && p.last() == Some(&b'e')
}

impl Dissector for BitTorrentDissector {
    const PROTOCOL: u16 = protocol::BITTORRENT;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if flow.is_tcp() {
            if p.starts_with(HANDSHAKE) {
                Probe::Certain
            } else if prefix_agrees(p, HANDSHAKE) {
                Probe::Unsure
            } else {
                Probe::NotForUs
            }
        } else if flow.is_udp() && (is_krpc(p) || p.starts_with(HANDSHAKE)) {
            Probe::Certain
        } else {
            Probe::NotForUs
        }
    }

    fn port_hint(flow: &FlowInfo) -> bool {
        flow.has_port(6881) || flow.has_port(6889) || flow.has_port(51413)
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
    fn handshake_and_dht() {
        let mut h = HANDSHAKE.to_vec();
        h.extend_from_slice(&[0; 48]);
        assert_eq!(run_one::<BitTorrentDissector>(&tcp([1, 6881]), &h).0, Probe::Certain);
        assert_eq!(run_one::<BitTorrentDissector>(&tcp([1, 6881]), &h[..5]).0, Probe::Unsure);
        let q = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
        assert_eq!(run_one::<BitTorrentDissector>(&udp([1, 6881]), q).0, Probe::Certain);
        truncations::<BitTorrentDissector>(&tcp([1, 6881]), &h);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([1, 6881]) } else { tcp([1, 6881]) };
            no_panic::<BitTorrentDissector>(&f, &[p]);
        }
    }
}
