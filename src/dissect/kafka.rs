//! Apache Kafka's wire protocol (TCP, port 9092).
//!
//! Every message is a big-endian 32-bit size of what follows, then a header. A request header is
//! the API key (16 bits; Kafka defines fewer than 100), the API version (16 bits, small), a
//! 32-bit correlation ID and the client ID, a 16-bit length (-1 for none) and that many bytes.
//! A response header is the correlation ID alone. We claim a flow on a request whose size
//! agrees with the payload (or runs past it: a request split over segments) and whose client
//! ID is printable; requests without a client ID, and responses, which carry too little to
//! tell, only on Kafka's port.

use super::reader::{be_u16_at, be_u32_at};
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

/// Size field, API key, API version, correlation ID, client ID length.
const REQUEST_HEADER: usize = 14;
/// Size field and correlation ID.
const RESPONSE_HEADER: usize = 8;
/// Above every API key Kafka defines.
const MAX_API_KEY: u16 = 100;
/// Above every API version Kafka defines.
const MAX_API_VERSION: u16 = 30;
/// Larger than Kafka's default socket request limit (100 MB).
const MAX_SIZE: u32 = 100 << 20;

/// Kafka needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct KafkaDissector;

/// How the message size at the start of `p` compares with the payload: `Some(true)` exactly
/// the payload, `Some(false)` longer than it.
fn size_fits(p: &[u8], least: usize) -> Option<bool> {
    let size = be_u32_at(p, 0)?;
    if size > MAX_SIZE || (size as usize) < least - 4 {
        return None;
    }
    let end = 4 + size as usize;
    match end.cmp(&p.len()) {
        std::cmp::Ordering::Equal => Some(true),
        std::cmp::Ordering::Greater => Some(false),
        std::cmp::Ordering::Less => None,
    }
}

/// `p` starts a request: sizes agree, key and version in range, a printable client ID inside
/// the payload (or, when `anonymous`, none).
fn request(p: &[u8], anonymous: bool) -> bool {
    let (Some(key), Some(version), Some(id_len)) = (be_u16_at(p, 4), be_u16_at(p, 6), be_u16_at(p, 12)) else {
        return false;
    };
    if size_fits(p, REQUEST_HEADER).is_none() || key >= MAX_API_KEY || version >= MAX_API_VERSION {
        return false;
    }
    match id_len {
        0xffff => anonymous,
        0 => false,
        n => p
            .get(REQUEST_HEADER..REQUEST_HEADER + n as usize)
            .is_some_and(|id| id.iter().all(|&b| b.is_ascii_graphic() || b == b' ')),
    }
}

impl Dissector for KafkaDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::KAFKA;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.first() != Some(&0) {
            Probe::NotForUs
        } else if p.len() < REQUEST_HEADER {
            Probe::Unsure
        } else if request(p, false)
            || (Self::port_hint(flow) && (request(p, true) || size_fits(p, RESPONSE_HEADER) == Some(true)))
        {
            Probe::Certain
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[9092]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// kafka.pcapng, 172.16.17.101:49280 → 172.30.0.237:9092: ApiVersions v0, client `rdkafka`.
    const API_VERSIONS: &str = "000000150012000000000081000772646b61666b6100000000";
    /// The same flow: a Metadata v2 request (first 40 of 44 bytes: split).
    const METADATA: &str = "000000280003000200000082000772646b61666b610000000100114c425f4d41494e5f4c4f475f49";

    #[test]
    fn requests_are_certain() {
        let off = tcp([49280, 40000]);
        assert_eq!(run_one::<KafkaDissector>(&off, &hex(API_VERSIONS)).0, Probe::Certain);
        assert_eq!(run_one::<KafkaDissector>(&off, &hex(METADATA)).0, Probe::Certain);
        truncations::<KafkaDissector>(&off, &hex(API_VERSIONS));
        // A response only on Kafka's port (kafka.pcapng: a 120-byte one cut to 16, its size set to fit).
        let response = hex("0000000c0000008d00000001000003e9");
        assert_eq!(run_one::<KafkaDissector>(&tcp([58052, 9092]), &response).0, Probe::Certain);
        assert_eq!(run_one::<KafkaDissector>(&off, &response).0, Probe::NotForUs);
    }

    #[test]
    fn other_payloads_are_not_kafka() {
        let f = tcp([49280, 9092]);
        let mut p = hex(API_VERSIONS);
        p[3] -= 1; // the size ends before the payload does
        assert_eq!(run_one::<KafkaDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = hex(API_VERSIONS);
        p[15] = 0x01; // unprintable client ID
        assert_eq!(run_one::<KafkaDissector>(&tcp([49280, 40000]), &p).0, Probe::NotForUs);
        assert_eq!(run_one::<KafkaDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
        // A MySQL greeting starts with a small little-endian length: not a Kafka size.
        let mysql = hex("4a0000000a352e372e3238000b000000");
        assert_eq!(run_one::<KafkaDissector>(&tcp([1, 3306]), &mysql).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<KafkaDissector>(&tcp([1, 9092]), &[p]);
        }
    }
}
