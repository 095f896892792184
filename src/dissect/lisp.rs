//! The Locator/ID Separation Protocol (RFC 9300 data plane, RFC 9301 control plane), Netify's
//! `LISP` (236). Encapsulated data travels on UDP port 4341, control messages on UDP 4342,
//! and map servers may take registrations over TCP 4342.
//!
//! nDPI names LISP by its ports alone (UDP with both ends on 4341, or both on 4342) and, on
//! TCP 4342, by a message whose 16-bit length (bytes 2–3) covers the payload and that ends in
//! the end marker `9f ac ad e9` of the reliable-transport draft (the wire facts). flowsieve
//! keeps the ports as a requirement, since the headers are short, and checks the contents
//! RFC 9300/9301 give:
//! - data (4341): an 8-byte LISP header whose flags do not set both N (nonce) and V (map
//!   version), then an inner IPv4 or IPv6 packet whose own length field covers the rest of the
//!   datagram exactly;
//! - control (4342): the type in the first byte's top four bits, Map-Request 1, Map-Reply 2,
//!   Map-Register 3, Map-Notify 4 or Map-Notify-Ack 5 with a record count (byte 3) of at
//!   least 1 and room for the 12-byte header and one record's fixed part, or an Encapsulated
//!   Control Message 8 whose 4-byte header is followed by an inner IP packet as above;
//! - TCP 4342: messages back to back, each at least 12 bytes, as long as its length field and
//!   ending in the end marker.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const DATA_PORT: u16 = 4341;
const CONTROL_PORT: u16 = 4342;
const DATA_HEADER: usize = 8;
const NONCE_PRESENT: u8 = 0x80;
const MAP_VERSION_PRESENT: u8 = 0x10;
const ECM: u8 = 8;
const ECM_HEADER: usize = 4;
/// A control message's header (type, flags, record count, 8-byte nonce) plus the fixed part
/// of a record (TTL, counts, flags, version, EID-prefix AFI).
const CONTROL_MIN: usize = 12 + 12;
const END_MARKER: [u8; 4] = [0x9f, 0xac, 0xad, 0xe9];
const TCP_MESSAGE_MIN: usize = 12;
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;

/// LISP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct LispDissector;

/// `p` is one whole IPv4 or IPv6 packet, by its own length field.
fn inner_ip(p: &[u8]) -> bool {
    match p.first().map(|b| (b >> 4, b & 0x0f)) {
        Some((4, ihl)) => {
            usize::from(ihl) * 4 >= IPV4_HEADER && be_u16_at(p, 2).is_some_and(|len| usize::from(len) == p.len())
        }
        Some((6, _)) => be_u16_at(p, 4).is_some_and(|len| usize::from(len) + IPV6_HEADER == p.len()),
        _ => false,
    }
}

fn data(p: &[u8]) -> bool {
    let flags = p.first().copied().unwrap_or(0);
    let both = NONCE_PRESENT | MAP_VERSION_PRESENT;
    flags & both != both && p.get(DATA_HEADER..).is_some_and(inner_ip)
}

fn control(p: &[u8]) -> bool {
    let Some(&first) = p.first() else { return false };
    match first >> 4 {
        1..=5 => p.len() >= CONTROL_MIN && p.get(3).is_some_and(|&records| records > 0),
        ECM => p.get(ECM_HEADER..).is_some_and(inner_ip),
        _ => false,
    }
}

fn tcp_messages(mut p: &[u8]) -> bool {
    if p.is_empty() {
        return false;
    }
    while !p.is_empty() {
        let Some(len) = be_u16_at(p, 2).map(usize::from) else { return false };
        match p.get(..len) {
            Some(message) if len >= TCP_MESSAGE_MIN && message.ends_with(&END_MARKER) => p = &p[len..],
            _ => return false,
        }
    }
    true
}

impl Dissector for LispDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::LISP;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const NEEDS_PORT: bool = true;
    const PORTS: Ports = Ports { tcp: &[CONTROL_PORT], udp: &[DATA_PORT, CONTROL_PORT] };

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let yes = if flow.is_udp() {
            (flow.has_port(DATA_PORT) && data(p)) || (flow.has_port(CONTROL_PORT) && control(p))
        } else {
            flow.is_tcp() && flow.has_port(CONTROL_PORT) && tcp_messages(p)
        };
        Probe::certain_if(yes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// An IPv4 packet of `len` bytes (header and zeros).
    fn ipv4(len: u16) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        p[2..4].copy_from_slice(&len.to_be_bytes());
        p.resize(usize::from(len), 0);
        p
    }

    fn ipv6(payload: u16) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, 0, 17, 64];
        p[4..6].copy_from_slice(&payload.to_be_bytes());
        p.resize(40 + usize::from(payload), 0);
        p
    }

    #[test]
    fn encapsulated_data_on_4341() {
        let f = udp([4341, 4341]);
        // N and I set, nonce, instance ID.
        let header = [0x88, 0x12, 0x34, 0x56, 0, 0, 0x01, 0];
        for inner in [ipv4(28), ipv6(8)] {
            let p = [&header[..], &inner].concat();
            assert_eq!(run_one::<LispDissector>(&f, &p).0, Probe::Certain);
            truncations::<LispDissector>(&f, &p);
            // One byte more or less than the inner length says, N and V at once, another port.
            assert_eq!(run_one::<LispDissector>(&f, &[&p[..], &[0]].concat()).0, Probe::NotForUs);
            assert_eq!(run_one::<LispDissector>(&f, &p[..p.len() - 1]).0, Probe::NotForUs);
            let mut nv = p.clone();
            nv[0] = 0x98;
            assert_eq!(run_one::<LispDissector>(&f, &nv).0, Probe::NotForUs);
            assert_eq!(run_one::<LispDissector>(&udp([4343, 4344]), &p).0, Probe::NotForUs);
        }
    }

    #[test]
    fn control_messages_on_4342() {
        let f = udp([40000, 4342]);
        // A Map-Request with one record; an Encapsulated Control Message around an IPv4 packet.
        let mut request = vec![0x10, 0, 0, 1];
        request.resize(CONTROL_MIN, 0);
        assert_eq!(run_one::<LispDissector>(&f, &request).0, Probe::Certain);
        let ecm = [&[0x80, 0, 0, 0][..], &ipv4(60)].concat();
        assert_eq!(run_one::<LispDissector>(&f, &ecm).0, Probe::Certain);
        truncations::<LispDissector>(&f, &ecm);
        // No record, type 7, too short, and a data packet on the control port.
        let mut none = request.clone();
        none[3] = 0;
        let mut seven = request.clone();
        seven[0] = 0x70;
        for p in [none, seven, request[..CONTROL_MIN - 1].to_vec()] {
            assert_eq!(run_one::<LispDissector>(&f, &p).0, Probe::NotForUs);
        }
        assert_eq!(run_one::<LispDissector>(&udp([40000, 4341]), &request).0, Probe::NotForUs);
    }

    #[test]
    fn reliable_transport_on_tcp_4342() {
        let f = tcp([40000, 4342]);
        let message = [&[0, 3, 0, 16, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd][..], &END_MARKER].concat();
        assert_eq!(run_one::<LispDissector>(&f, &message).0, Probe::Certain);
        assert_eq!(run_one::<LispDissector>(&f, &[message.clone(), message.clone()].concat()).0, Probe::Certain);
        truncations::<LispDissector>(&f, &message);
        let mut unmarked = message.clone();
        unmarked[15] = 0;
        assert_eq!(run_one::<LispDissector>(&f, &unmarked).0, Probe::NotForUs);
        assert_eq!(run_one::<LispDissector>(&tcp([40000, 4341]), &message).0, Probe::NotForUs);
        assert_eq!(run_one::<LispDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<LispDissector>(&udp([4341, 4342]), std::slice::from_ref(&p));
            no_panic::<LispDissector>(&tcp([1, 4342]), &[p]);
        }
    }
}
