//! The Apache JServ Protocol 1.3 (AJP13) between a web server and a servlet container (TCP,
//! port 8009).
//!
//! Packets from the web server start with `12 34`, packets from the container with `AB`
//! (`41 42`); then a big-endian 16-bit length of the rest, which starts with a type byte. The
//! web server opens with a forward request (2), a shutdown (7), a ping (8) or a CPing (10); the
//! container sends body chunks (3), headers (4), end of response (5), a body chunk request (6)
//! or a CPong (9). The probe takes a packet whose magic, length and type agree; a forward
//! request longer than the payload (split over segments) only on the AJP port.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const TO_CONTAINER: [u8; 2] = [0x12, 0x34];
const FROM_CONTAINER: [u8; 2] = *b"AB";
const HEADER: usize = 4;
/// Packet types each side opens with.
const TO_CONTAINER_TYPES: [u8; 4] = [2, 7, 8, 10];
const FROM_CONTAINER_TYPES: [u8; 5] = [3, 4, 5, 6, 9];

/// AJP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct AjpDissector;

/// What the packet at the start of `p` is: `Some(true)` whole, `Some(false)` a forward request
/// longer than the payload, `None` not AJP.
fn packet(p: &[u8]) -> Option<bool> {
    let magic = p.get(..2)?;
    let types: &[u8] = if magic == TO_CONTAINER {
        &TO_CONTAINER_TYPES
    } else if magic == FROM_CONTAINER {
        &FROM_CONTAINER_TYPES
    } else {
        return None;
    };
    let length = usize::from(be_u16_at(p, 2)?);
    let kind = *p.get(HEADER)?;
    if length == 0 || !types.contains(&kind) {
        return None;
    }
    match (HEADER + length).cmp(&p.len()) {
        std::cmp::Ordering::Equal => Some(true),
        std::cmp::Ordering::Greater if magic == TO_CONTAINER && kind == 2 => Some(false),
        _ => None,
    }
}

impl Dissector for AjpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::AJP;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x12, b'A']);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || !matches!(p.first(), Some(0x12 | b'A')) {
            return Probe::NotForUs;
        }
        match packet(p) {
            Some(true) => Probe::Certain,
            Some(false) if Self::port_hint(flow) => Probe::Certain,
            None if p.len() <= HEADER
                && (TO_CONTAINER.starts_with(&p[..p.len().min(2)])
                    || FROM_CONTAINER.starts_with(&p[..p.len().min(2)])) =>
            {
                Probe::Unsure
            }
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::tcp(&[8009, 8010]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// ajp.pcap, 172.29.9.146:38856 ↔ 172.29.9.147:8009: the web server's CPing, the
    /// container's CPong, and the start of a forward request (first 20 of 826 bytes).
    const CPING: &str = "123400010a";
    const CPONG: &str = "4142000109";
    const FORWARD: &str = "1234033602040008485454502f312e310000342f";

    #[test]
    fn packets_are_certain() {
        let off = tcp([38856, 40000]);
        assert_eq!(run_one::<AjpDissector>(&off, &hex(CPING)).0, Probe::Certain);
        assert_eq!(run_one::<AjpDissector>(&off, &hex(CPONG)).0, Probe::Certain);
        assert_eq!(run_one::<AjpDissector>(&tcp([38856, 8009]), &hex(FORWARD)).0, Probe::Certain);
        assert_eq!(run_one::<AjpDissector>(&off, &hex(FORWARD)).0, Probe::NotForUs);
        assert_eq!(run_one::<AjpDissector>(&off, &hex("1234")).0, Probe::Unsure);
        truncations::<AjpDissector>(&off, &hex(CPING));
    }

    #[test]
    fn other_payloads_are_not_ajp() {
        let f = tcp([38856, 8009]);
        assert_eq!(run_one::<AjpDissector>(&f, &hex("123400010b")).0, Probe::NotForUs);
        // A CPong whose length runs past the payload.
        assert_eq!(run_one::<AjpDissector>(&f, &hex("4142000309")).0, Probe::NotForUs);
        assert_eq!(run_one::<AjpDissector>(&f, b"ABOR\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<AjpDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<AjpDissector>(&tcp([1, 8009]), &[p]);
        }
    }
}
