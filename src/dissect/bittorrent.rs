//! BitTorrent dissector: the peer wire handshake (BEP 3: byte 19 then `BitTorrent protocol`)
//! over TCP, and the DHT's bencoded KRPC messages over UDP (BEP 5: `d1:ad2:id20:` queries,
//! `d1:rd2:id20:` responses), and uTP connections (BEP 29): the initiator's ST_SYN answered
//! by an ST_STATE; and Local Service Discovery (BEP 14), a client's `BT-SEARCH * HTTP/1.1`
//! announce multicast to 239.192.152.143:6771 or [ff15::efc0:988f]:6771.

use super::text::prefix_agrees;
use super::{protocol, Direction, Dissector, FlowInfo, Ports, Probe, Segment};

const HANDSHAKE: &[u8] = b"\x13BitTorrent protocol";

/// The request line of a Local Service Discovery announce (BEP 14).
const LSD_ANNOUNCE: &[u8] = b"BT-SEARCH * HTTP/1.1\r\n";

/// BitTorrent needs no state.
#[derive(Debug, Default)]
pub struct BitTorrentDissector;

/// A KRPC message: a bencoded dictionary with the keys BEP 5 requires.
fn is_krpc(p: &[u8]) -> bool {
    (p.starts_with(b"d1:ad2:id20:") || p.starts_with(b"d1:rd2:id20:") || p.starts_with(b"d1:eli"))
        && p.last() == Some(&b'e')
}

/// uTP packet types (BEP 29), the high nibble of the first byte; the low one is version 1.
const UTP_STATE: u8 = 2;
const UTP_SYN: u8 = 4;

/// The uTP packet type of a header as BEP 29 lays it out (20 bytes: type/version, first
/// extension, connection id, timestamps, window, seq_nr, ack_nr; extensions chained after),
/// or `None`.
fn utp_type(p: &[u8]) -> Option<u8> {
    let (&first, &ext) = (p.first()?, p.get(1)?);
    if first & 0x0f != 1 || first >> 4 > 4 || p.len() < 20 {
        return None;
    }
    // Walk the extension chain (type, length, data) to the payload.
    let (mut next, mut at) = (ext, 20usize);
    while next != 0 {
        next = *p.get(at)?;
        let len = usize::from(*p.get(at + 1)?);
        at = at.checked_add(2 + len).filter(|&end| end <= p.len())?;
    }
    Some(first >> 4)
}

/// The opening of a uTP connection: an ST_SYN carries no data, no acknowledgement and no
/// timestamp difference yet.
fn is_utp_syn(p: &[u8]) -> bool {
    utp_type(p) == Some(UTP_SYN) && p.get(8..12) == Some(&[0; 4][..]) && p.get(18..20) == Some(&[0; 2][..])
}

impl Dissector for BitTorrentDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::BITTORRENT;

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
        } else if flow.is_udp() && (is_krpc(p) || p.starts_with(HANDSHAKE) || p.starts_with(LSD_ANNOUNCE)) {
            Probe::Certain
        } else if flow.is_udp() {
            // uTP: a SYN leaves the question open, the other side's ST_STATE answer settles it
            // (a flow still probing here had only SYNs before).
            match segment.direction {
                Direction::Forward if is_utp_syn(p) => Probe::Unsure,
                Direction::Reverse if utp_type(p) == Some(UTP_STATE) => Probe::Certain,
                _ => Probe::NotForUs,
            }
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::both(&[6881, 6889, 51413]);
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

    #[test]
    fn local_service_discovery_announces() {
        // BEP 14's announce, as a client multicasts it for each torrent.
        let announce = b"BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 51413\r\n\
            Infohash: 2d066c94480adcf5bf8f2e3f22e4b2c5f8a7c9e1\r\ncookie: a1b2\r\n\r\n\r\n";
        assert_eq!(run_one::<BitTorrentDissector>(&udp([6771, 6771]), announce).0, Probe::Certain);
        // SSDP's search and another request line are not.
        for p in [&b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n"[..], b"BT-SEARCH / HTTP/1.1\r\n"] {
            assert_eq!(run_one::<BitTorrentDissector>(&udp([6771, 6771]), p).0, Probe::NotForUs, "{p:?}");
        }
    }

    #[test]
    fn utp_syn_then_state() {
        // nDPI's bittorrent_utp.pcap, flow 2: ST_SYN, the ST_STATE answer, then ST_DATA.
        let syn = hex("41004567ed639296000000000010000023c60000");
        let state = hex("21004567ed6393410000000000100000456723c6");
        let data = hex("01004568ed7a591d000000a70010000023c74566626c610a");
        let f = udp([49861, 33333]);
        let probe = |dir, p: &[u8]| BitTorrentDissector::probe_flow(&f, &segment(&f, dir, 0, p));
        assert_eq!(probe(Direction::Forward, &syn), Probe::Unsure);
        assert_eq!(probe(Direction::Reverse, &state), Probe::Certain);
        // Data first, or a STATE that opens the flow, is not a connection's start.
        assert_eq!(probe(Direction::Forward, &data), Probe::NotForUs);
        assert_eq!(probe(Direction::Forward, &state), Probe::NotForUs);
        // A SYN with data or an acknowledgement is none.
        let mut odd = syn.clone();
        odd[19] = 1;
        assert_eq!(probe(Direction::Forward, &odd), Probe::NotForUs);
        // An extension chain running past the packet.
        let mut ext = syn.clone();
        ext[1] = 1;
        assert_eq!(probe(Direction::Forward, &ext), Probe::NotForUs);
        ext.extend([0, 8]);
        assert_eq!(probe(Direction::Forward, &ext), Probe::NotForUs);
        ext.extend([0; 8]);
        assert_eq!(probe(Direction::Forward, &ext), Probe::Unsure);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([1, 6881]) } else { tcp([1, 6881]) };
            no_panic::<BitTorrentDissector>(&f, &[p.clone(), p]);
        }
    }
}
