//! Elasticsearch's transport protocol (node-to-node and transport clients, TCP port 9300).
//!
//! Every message starts with a 6-byte frame header: the bytes `ES` and a big-endian 32-bit
//! length of what follows. A ping is the header alone with length -1 (`ff ff ff ff`). Any other
//! message continues with its header: an 8-byte request ID, a status byte (bit 0 response,
//! bit 1 error, bit 2 compressed, bit 3 handshake) and a 4-byte version. We claim a flow when
//! its first payload is such a frame whose length agrees with the payload: the whole payload,
//! or a frame followed by another `ES` frame; a message larger than the payload (split over
//! segments) is taken only on the transport port.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const MAGIC: &[u8; 2] = b"ES";
/// Magic and length.
const FRAME: usize = 6;
/// Request ID, status and version: the least a message other than a ping carries.
const MESSAGE_HEADER: usize = 13;
/// Larger than any message the transport layer accepts by default (100 MB).
const MAX_LENGTH: u32 = 100 << 20;
/// The status byte's defined bits.
const STATUS_BITS: u8 = 0x0f;
/// A ping frame's length field (-1).
const PING: u32 = u32::MAX;

/// Elasticsearch needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct ElasticsearchDissector;

/// What the frame at the start of `p` says: `Some(true)` when it is whole and well formed (and
/// whatever follows it starts another frame), `Some(false)` when it is well formed but runs
/// past the payload, `None` when it is not a frame.
fn frame(p: &[u8]) -> Option<bool> {
    if !p.starts_with(MAGIC) {
        return None;
    }
    let length = be_u32_at(p, 2)?;
    if length == PING {
        return Some(p.len() == FRAME || p[FRAME..].starts_with(MAGIC));
    }
    if !(MESSAGE_HEADER as u32..=MAX_LENGTH).contains(&length) || p.get(FRAME + 8)? & !STATUS_BITS != 0 {
        return None;
    }
    let end = FRAME + length as usize;
    Some(match p.len() {
        n if n == end => true,
        n if n > end => p[end..].starts_with(MAGIC),
        _ => false,
    })
    .filter(|&whole| whole || p.len() < end)
}

impl Dissector for ElasticsearchDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ELASTICSEARCH;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[MAGIC[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.first() != Some(&b'E') {
            return Probe::NotForUs;
        }
        match frame(p) {
            Some(true) => Probe::Certain,
            Some(false) if Self::port_hint(flow) => Probe::Certain,
            None if p.len() < FRAME + 9 && MAGIC.starts_with(&p[..p.len().min(2)]) => Probe::Unsure,
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::tcp(&[9300]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Parsed;
    use proptest::prelude::*;

    /// elasticsearch.pcap, 172.16.16.107:9300 → 172.16.17.102:40282: the handshake response.
    const HANDSHAKE_RESPONSE: &str = "455300000013000000000000000109005cc6630000cbf6ae03";

    #[test]
    fn a_whole_frame_is_certain() {
        let f = tcp([40282, 9300]);
        let p = hex(HANDSHAKE_RESPONSE);
        assert_eq!(run_one::<ElasticsearchDissector>(&f, &p).0, Probe::Certain);
        assert_eq!(run_one::<ElasticsearchDissector>(&f, &p).1, Parsed::Done);
        // Off the transport port the length must agree with the payload.
        let off = tcp([40282, 40000]);
        assert_eq!(run_one::<ElasticsearchDissector>(&off, &p).0, Probe::Certain);
        assert_eq!(run_one::<ElasticsearchDissector>(&off, &p[..p.len() - 1]).0, Probe::NotForUs);
        assert_eq!(run_one::<ElasticsearchDissector>(&f, &p[..p.len() - 1]).0, Probe::Certain);
        // Two frames in one payload; a ping.
        let two = [&p[..], &p[..]].concat();
        assert_eq!(run_one::<ElasticsearchDissector>(&off, &two).0, Probe::Certain);
        assert_eq!(run_one::<ElasticsearchDissector>(&off, &hex("4553ffffffff")).0, Probe::Certain);
        assert_eq!(run_one::<ElasticsearchDissector>(&off, b"ES").0, Probe::Unsure);
        truncations::<ElasticsearchDissector>(&f, &p);
    }

    #[test]
    fn other_payloads_are_not_elasticsearch() {
        let f = tcp([40282, 9300]);
        assert_eq!(run_one::<ElasticsearchDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<ElasticsearchDissector>(&f, b"ESMTP ready to serve you\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<ElasticsearchDissector>(&udp([1, 9300]), &hex(HANDSHAKE_RESPONSE)).0, Probe::NotForUs);
        // A bad status byte.
        let mut p = hex(HANDSHAKE_RESPONSE);
        p[14] = 0xf0;
        assert_eq!(run_one::<ElasticsearchDissector>(&f, &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut q = b"ES".to_vec();
            q.extend_from_slice(&p);
            no_panic::<ElasticsearchDissector>(&tcp([1, 9300]), &[p, q]);
        }
    }
}
