//! The Dynamic Link Exchange Protocol (RFC 8175), between routers and radio modems: Peer
//! Discovery signals over UDP port 854 and the session over TCP 854. Not in Netify's table, so
//! a flowsieve-only ID with nDPI's name `DLEP`.
//!
//! RFC 8175 §11: a UDP signal is the 4-byte prefix `DLEP`, a 16-bit signal type (1 Peer
//! Discovery, 2 Peer Offer) and a 16-bit length of the data items after it; a TCP message is a
//! 16-bit message type (1 Session Initialization to 16 Heartbeat) and the same length; a data
//! item is a 16-bit type, a 16-bit length and that many bytes. nDPI's wire facts: a UDP
//! payload of more than 27 bytes starting `DLEP`; on TCP port 854, a message type below 17
//! and a length equal to the rest of the payload. flowsieve checks the signal's type and
//! length too, and that the data items fill the signal or message exactly; on TCP it also
//! takes several whole messages back to back and, like nDPI, needs the port (a 4-byte header
//! is too plain to stand alone).

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const PREFIX: &[u8] = b"DLEP";
const PORT: u16 = 854;
const SIGNALS: std::ops::RangeInclusive<u16> = 1..=2;
const MESSAGES: std::ops::RangeInclusive<u16> = 1..=16;
const HEADER: usize = 4;

/// DLEP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct DlepDissector;

/// Data items that fill `p` exactly.
fn data_items(mut p: &[u8]) -> bool {
    while !p.is_empty() {
        let Some(len) = be_u16_at(p, 2).map(usize::from) else { return false };
        match p.get(HEADER + len..) {
            Some(rest) => p = rest,
            None => return false,
        }
    }
    true
}

/// A header of a type in `types` and a length, then its data items; the bytes after it.
fn unit(p: &[u8], types: std::ops::RangeInclusive<u16>) -> Option<&[u8]> {
    let kind = be_u16_at(p, 0)?;
    let len = usize::from(be_u16_at(p, 2)?);
    let items = p.get(HEADER..HEADER + len)?;
    (types.contains(&kind) && data_items(items)).then(|| &p[HEADER + len..])
}

fn signal(p: &[u8]) -> bool {
    p.strip_prefix(PREFIX).and_then(|rest| unit(rest, SIGNALS)).is_some_and(<[u8]>::is_empty)
}

fn messages(mut p: &[u8]) -> bool {
    if p.is_empty() {
        return false;
    }
    while !p.is_empty() {
        match unit(p, MESSAGES) {
            Some(rest) => p = rest,
            None => return false,
        }
    }
    true
}

impl Dissector for DlepDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DLEP;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const PORTS: Ports = Ports::both(&[PORT]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let yes = if flow.is_udp() { signal(p) } else { flow.is_tcp() && flow.has_port(PORT) && messages(p) };
        Probe::certain_if(yes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    fn item(kind: u16, value: &[u8]) -> Vec<u8> {
        [&kind.to_be_bytes()[..], &(value.len() as u16).to_be_bytes(), value].concat()
    }

    fn unit_of(kind: u16, items: &[Vec<u8>]) -> Vec<u8> {
        let body = items.concat();
        [&kind.to_be_bytes()[..], &(body.len() as u16).to_be_bytes(), &body].concat()
    }

    /// A Peer Discovery signal (no data items needed) and a Peer Offer with a Peer Type and an
    /// IPv4 Connection Point.
    fn offer() -> Vec<u8> {
        let items = [item(4, b"\x00modem"), item(2, &[0, 192, 0, 2, 1, 0x03, 0x56])];
        [PREFIX, &unit_of(2, &items)[..]].concat()
    }

    /// A Session Initialization: Heartbeat Interval and Peer Type.
    fn session_init() -> Vec<u8> {
        unit_of(1, &[item(5, &60000u32.to_be_bytes()), item(4, b"\x00router")])
    }

    #[test]
    fn signals_and_messages_are_dlep() {
        let u = udp([40000, 854]);
        assert_eq!(run_one::<DlepDissector>(&u, &[PREFIX, &unit_of(1, &[])[..]].concat()).0, Probe::Certain);
        assert_eq!(run_one::<DlepDissector>(&u, &offer()).0, Probe::Certain);
        assert_eq!(run_one::<DlepDissector>(&udp([40000, 40001]), &offer()).0, Probe::Certain);
        truncations::<DlepDissector>(&u, &offer());
        let t = tcp([40000, 854]);
        assert_eq!(run_one::<DlepDissector>(&t, &session_init()).0, Probe::Certain);
        let two = [session_init(), unit_of(16, &[])].concat();
        assert_eq!(run_one::<DlepDissector>(&t, &two).0, Probe::Certain);
        truncations::<DlepDissector>(&t, &session_init());
    }

    #[test]
    fn near_misses_are_not_dlep() {
        let u = udp([40000, 854]);
        // Signal type 3, a length one too long or short, a data item overrunning the signal.
        let mut three = offer();
        three[5] = 3;
        let mut long = offer();
        long[7] += 1;
        let mut overrun = offer();
        overrun[11] += 1;
        for p in [three, long, overrun, [&offer()[..], &[0]].concat(), b"DLEPHELLO WORLD".to_vec()] {
            assert_eq!(run_one::<DlepDissector>(&u, &p).0, Probe::NotForUs, "{p:02x?}");
        }
        // Messages off port 854, message type 17, a message without its items.
        let t = tcp([40000, 854]);
        assert_eq!(run_one::<DlepDissector>(&tcp([40000, 855]), &session_init()).0, Probe::NotForUs);
        let mut seventeen = session_init();
        seventeen[1] = 17;
        assert_eq!(run_one::<DlepDissector>(&t, &seventeen).0, Probe::NotForUs);
        assert_eq!(run_one::<DlepDissector>(&t, &session_init()[..4]).0, Probe::NotForUs);
        assert_eq!(run_one::<DlepDissector>(&t, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<DlepDissector>(&udp([1, 854]), &[[PREFIX, &p[..]].concat()]);
            no_panic::<DlepDissector>(&tcp([1, 854]), &[p]);
        }
    }
}
