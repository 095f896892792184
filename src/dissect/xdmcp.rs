//! The X Display Manager Control Protocol (the X Consortium's XDMCP specification), Netify's
//! `XDMCP` (15): X terminals find and talk to display managers over UDP port 177.
//!
//! Every XDMCP packet starts with a 6-byte header of three 16-bit big-endian fields: the
//! protocol version (1), the opcode (BroadcastQuery 1, Query 2, IndirectQuery 3,
//! ForwardQuery 4, Willing 5, Unwilling 6, Request 7, Accept 8, Decline 9, Manage 10,
//! Refuse 11, Failed 12, KeepAlive 13, Alive 14) and the length of the data that follows.
//! nDPI's wire facts: version 1, opcode 2 (Query), the length equal to the rest of the
//! datagram, sent to port 177. flowsieve takes every opcode with that exact length but, the
//! header being short, only on port 177.
//!
//! nDPI also names `XDMCP` the X11 connection a managed display then opens to TCP ports
//! 6000–6005: a 48-byte connection setup (X Window System Protocol, "Connection Setup")
//! in little-endian byte order (`l`) whose authorization protocol name is 18 bytes long and
//! its data 16 (`MIT-MAGIC-COOKIE-1` and its cookie). flowsieve checks the same setup (either
//! byte order) with the name itself and protocol major version 11.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const VERSION: u16 = 1;
const OPCODES: std::ops::RangeInclusive<u16> = 1..=14;
const HEADER: usize = 6;
const PORT: u16 = 177;
/// X servers listen on 6000 + display number; nDPI takes displays 0 to 5.
const X11_PORTS: std::ops::RangeInclusive<u16> = 6000..=6005;
const X11_SETUP_LEN: usize = 48;
const X11_MAJOR: u16 = 11;
const COOKIE_NAME: &[u8] = b"MIT-MAGIC-COOKIE-1";
const COOKIE_LEN: u16 = 16;

/// XDMCP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct XdmcpDissector;

fn xdmcp(p: &[u8]) -> bool {
    be_u16_at(p, 0) == Some(VERSION)
        && be_u16_at(p, 2).is_some_and(|op| OPCODES.contains(&op))
        && be_u16_at(p, 4).is_some_and(|len| usize::from(len) + HEADER == p.len())
}

/// An X11 connection setup carrying an MIT-MAGIC-COOKIE-1.
fn x11_setup(p: &[u8]) -> bool {
    let u16_at = |at: usize| -> Option<u16> {
        let b = p.get(at..at + 2)?;
        Some(match p.first() {
            Some(b'l') => u16::from_le_bytes([b[0], b[1]]),
            _ => u16::from_be_bytes([b[0], b[1]]),
        })
    };
    p.len() == X11_SETUP_LEN
        && matches!(p.first(), Some(b'l' | b'B'))
        && p.get(1) == Some(&0)
        && u16_at(2) == Some(X11_MAJOR)
        && u16_at(6) == Some(COOKIE_NAME.len() as u16)
        && u16_at(8) == Some(COOKIE_LEN)
        && p.get(12..12 + COOKIE_NAME.len()) == Some(COOKIE_NAME)
}

impl Dissector for XdmcpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::XDMCP;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"\x00lB");
    const PORTS: Ports = Ports::udp(&[PORT]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if flow.is_udp() {
            Probe::certain_if(flow.has_port(PORT) && xdmcp(p))
        } else if flow.is_tcp() {
            Probe::certain_if(flow.ports.iter().any(|port| X11_PORTS.contains(port)) && x11_setup(p))
        } else {
            Probe::NotForUs
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A Query with no authentication names: a one-byte empty ARRAYofARRAY8.
    const QUERY: &[u8] = &[0, 1, 0, 2, 0, 1, 0];

    fn x11(order: u8) -> Vec<u8> {
        let be = order == b'B';
        let w = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut p = vec![order, 0];
        for v in [11, 0, 18, 16, 0] {
            p.extend_from_slice(&w(v));
        }
        p.extend_from_slice(COOKIE_NAME);
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&[0xab; 16]);
        p
    }

    #[test]
    fn xdmcp_packets_on_port_177() {
        let f = udp([40000, 177]);
        assert_eq!(run_one::<XdmcpDissector>(&f, QUERY).0, Probe::Certain);
        // A Willing (5): authentication name, hostname and status, each an ARRAY8.
        let willing = [&[0, 1, 0, 5, 0, 12][..], &[0, 0, 0, 4, b'h', b'o', b's', b't', 0, 2, b'o', b'k']].concat();
        assert_eq!(run_one::<XdmcpDissector>(&f, &willing).0, Probe::Certain);
        truncations::<XdmcpDissector>(&f, &willing);
        // Off port 177, never.
        assert_eq!(run_one::<XdmcpDissector>(&udp([40000, 178]), QUERY).0, Probe::NotForUs);
    }

    #[test]
    fn near_misses_are_not_xdmcp() {
        let f = udp([40000, 177]);
        for p in [
            &[0, 2, 0, 2, 0, 1, 0][..],
            &[0, 1, 0, 15, 0, 1, 0],
            &[0, 1, 0, 0, 0, 1, 0],
            &[0, 1, 0, 2, 0, 2, 0],
            &[0, 1, 0, 2, 0],
        ] {
            assert_eq!(run_one::<XdmcpDissector>(&f, p).0, Probe::NotForUs, "{p:?}");
        }
        // A DNS query to port 177 is not claimed.
        let dns = hex("000101000001000000000000076578616d706c6503636f6d0000010001");
        assert_eq!(run_one::<XdmcpDissector>(&f, &dns).0, Probe::NotForUs);
    }

    #[test]
    fn the_x11_setup_with_a_cookie() {
        let f = tcp([40000, 6000]);
        for order in [b'l', b'B'] {
            assert_eq!(run_one::<XdmcpDissector>(&f, &x11(order)).0, Probe::Certain);
            truncations::<XdmcpDissector>(&f, &x11(order));
        }
        assert_eq!(run_one::<XdmcpDissector>(&tcp([40000, 6010]), &x11(b'l')).0, Probe::NotForUs);
        for (at, value) in [(0, b'x'), (2, 10), (12, b'X')] {
            let mut p = x11(b'l');
            p[at] = value;
            assert_eq!(run_one::<XdmcpDissector>(&f, &p).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<XdmcpDissector>(&f, &[x11(b'l'), vec![0]].concat()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<XdmcpDissector>(&udp([1, 177]), std::slice::from_ref(&p));
            no_panic::<XdmcpDissector>(&tcp([1, 6000]), &[p]);
        }
    }
}
