//! MongoDB's wire protocol (TCP, port 27017; 27018/27019 for shards and config servers).
//!
//! Every message starts with a 16-byte header of little-endian 32-bit fields: the message's
//! whole length, a request ID, the ID it answers and an opcode (1 reply, 2001–2007 the legacy
//! operations, 2012 compressed, 2013 `OP_MSG`). We claim a flow when the first payload's
//! length agrees with it and the opcode is one of these; a message longer than the payload
//! (split over segments) only on MongoDB's ports.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const HEADER: usize = 16;
/// The server's default largest message (48 MB).
const MAX_MESSAGE: u32 = 48_000_000;
const OPCODES: [u32; 10] = [1, 2001, 2002, 2004, 2005, 2006, 2007, 2010, 2012, 2013];

/// MongoDB needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct MongodbDissector;

/// What the header at the start of `p` says: `Some(true)` the message is the payload,
/// `Some(false)` it runs past it, `None` not MongoDB.
fn message(p: &[u8]) -> Option<bool> {
    let (length, opcode) = (le_u32_at(p, 0)?, le_u32_at(p, 12)?);
    if !(HEADER as u32 + 1..=MAX_MESSAGE).contains(&length) || !OPCODES.contains(&opcode) {
        return None;
    }
    match (length as usize).cmp(&p.len()) {
        std::cmp::Ordering::Equal => Some(true),
        std::cmp::Ordering::Greater => Some(false),
        std::cmp::Ordering::Less => None,
    }
}

impl Dissector for MongodbDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MONGODB;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() {
            return Probe::NotForUs;
        }
        match message(p) {
            Some(true) => Probe::Certain,
            Some(false) if Self::port_hint(flow) => Probe::Certain,
            None if p.len() < HEADER && Self::port_hint(flow) => Probe::Unsure,
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::tcp(&[27017, 27018, 27019]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// mongodb.pcap, 10.10.10.14:61503 → 10.10.10.15:27017: an `OP_QUERY` on `admin.$cmd`
    /// (`isMaster`), 58 bytes.
    const QUERY: &str = concat!(
        "3a0000004c04000000000000d40700000000000061646d696e2e24636d6400000000000100000013000000",
        "1069734d6173746572000100000000",
    );

    #[test]
    fn a_whole_message_is_certain() {
        let q = hex(QUERY);
        assert_eq!(q.len(), 58);
        let off = tcp([61503, 40000]);
        assert_eq!(run_one::<MongodbDissector>(&off, &q).0, Probe::Certain);
        assert_eq!(run_one::<MongodbDissector>(&off, &q[..40]).0, Probe::NotForUs);
        assert_eq!(run_one::<MongodbDissector>(&tcp([61503, 27017]), &q[..40]).0, Probe::Certain);
        truncations::<MongodbDissector>(&tcp([61503, 27017]), &q);
    }

    #[test]
    fn other_payloads_are_not_mongodb() {
        let f = tcp([61503, 27017]);
        let mut q = hex(QUERY);
        q[12] = 0xd3; // opcode 2003 (retired)
        assert_eq!(run_one::<MongodbDissector>(&f, &q).0, Probe::NotForUs);
        assert_eq!(run_one::<MongodbDissector>(&f, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<MongodbDissector>(&tcp([1, 27017]), &[p]);
        }
    }
}
