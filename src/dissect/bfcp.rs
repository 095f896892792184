//! The Binary Floor Control Protocol (BFCP, RFC 8855, formerly RFC 4582), over TCP or UDP. Its
//! 12-byte common header (RFC 8855 §5.1): a 3-bit version (1; 2 only over an unreliable
//! transport, UDP), the R and F flags (defined for version 2 only) and three reserved bits that
//! are zero, an 8-bit primitive (1–17 in RFC 8855's registry), a 16-bit payload length, a 32-bit
//! conference ID, a 16-bit transaction ID and a 16-bit user ID.
//!
//! The wire fact nDPI applies to every flow (docs/ARCHITECTURE.md, "nDPI's signatures are wire
//! facts"): a version-1 header with a known primitive, then a second one carrying the same
//! conference ID. flowsieve tightens the header with the RFC (version 2 only on UDP, zero
//! reserved bits) and keeps the two-message rule: a first header shortlists the flow, unnamed;
//! a second with the same conference ID names it, anything else gives it up to the port guess.
//! The payload length is not checked (nDPI's capture carries headers whose attributes are cut
//! off). No port hint: BFCP's ports are negotiated in SDP (RFC 8856).

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

const HEADER: usize = 12;
const PRIMITIVES: std::ops::RangeInclusive<u8> = 1..=17;

/// The conference ID of the flow's first header, once read.
#[derive(Debug, Default)]
pub struct BfcpDissector {
    conference: Option<u32>,
}

/// Whether the first byte is a valid version and flags byte on this transport.
fn first_byte_ok(b: u8, udp: bool) -> bool {
    match b >> 5 {
        1 => b & 0x1f == 0,
        2 => udp && b & 0x07 == 0,
        _ => false,
    }
}

/// The conference ID of a valid common header at the start of `p`.
fn header(p: &[u8], udp: bool) -> Option<u32> {
    let ok = p.len() >= HEADER && first_byte_ok(p[0], udp) && PRIMITIVES.contains(&p[1]);
    ok.then(|| be_u32_at(p, 4)).flatten()
}

impl Dissector for BfcpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::BFCP;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    /// Version 1 without flags; version 2 with or without R and F.
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x20, 0x40, 0x48, 0x50, 0x58]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if !Self::TRANSPORTS.allows(flow.ip_protocol) {
            return Probe::NotForUs;
        }
        let (p, udp) = (segment.payload, flow.is_udp());
        if p.len() < HEADER {
            let start =
                p.first().is_some_and(|&b| first_byte_ok(b, udp)) && p.get(1).is_none_or(|b| PRIMITIVES.contains(b));
            return if start { Probe::Unsure } else { Probe::NotForUs };
        }
        Probe::certain_if(header(p, udp).is_some())
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let udp = segment.tcp_seq.is_none();
        match (header(segment.payload, udp), self.conference) {
            (Some(id), None) => {
                self.conference = Some(id);
                Parsed::Continue
            }
            (Some(id), Some(first)) if id == first => {
                facts.protocol = protocol::BFCP;
                Parsed::Done
            }
            _ => Parsed::Skipped(Skip::Unconfirmed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    /// bfcp.pcapng, 127.0.0.1:44450 ⇄ 127.0.0.1:5070: a request (primitive 3) and its answer
    /// (primitive 4) in conference 1.
    const REQUEST: &str = "200300010000000100020504";
    const ANSWER: &str = "200400010000000100020504";

    #[test]
    fn two_headers_of_one_conference_are_bfcp() {
        for f in [tcp([44450, 5070]), udp([47706, 5070])] {
            assert_eq!(run_one::<BfcpDissector>(&f, &hex(REQUEST)).0, Probe::Certain);
            truncations::<BfcpDissector>(&f, &hex(REQUEST));
            let both = [(Direction::Forward, hex(REQUEST)), (Direction::Reverse, hex(ANSWER))];
            let (parsed, facts) = parse_all::<BfcpDissector>(&f, &both[..1]);
            assert_eq!((parsed, facts.protocol), (Parsed::Continue, protocol::UNKNOWN), "shortlisted, unnamed");
            let (parsed, facts) = parse_all::<BfcpDissector>(&f, &both);
            assert_eq!((parsed, facts.protocol), (Parsed::Done, protocol::BFCP));
        }
        // Version 2 (RFC 8855) over UDP.
        let mut v2 = hex(REQUEST);
        v2[0] = 0x40;
        assert_eq!(run_one::<BfcpDissector>(&udp([1, 2]), &v2).0, Probe::Certain);
    }

    #[test]
    fn near_misses_are_not() {
        let f = tcp([44450, 5070]);
        let request = hex(REQUEST);
        // Version 2 over TCP, version 3, set reserved bits, primitives 0 and 18.
        for (at, value) in [(0, 0x40), (0, 0x60), (0, 0x21), (1, 0), (1, 18)] {
            let mut q = request.clone();
            q[at] = value;
            assert_eq!(run_one::<BfcpDissector>(&f, &q).0, Probe::NotForUs, "byte {at} = {value:#x}");
        }
        // An answer from another conference gives the flow up.
        let mut other = hex(ANSWER);
        other[7] = 2;
        let (parsed, facts) =
            parse_all::<BfcpDissector>(&f, &[(Direction::Forward, request), (Direction::Reverse, other)]);
        assert_eq!((parsed, facts.protocol), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
        assert_eq!(run_one::<BfcpDissector>(&f, b"GET / HTTP/1.1\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<BfcpDissector>(&tcp([1, 2]), &[p.clone(), p.clone()]);
            no_panic::<BfcpDissector>(&udp([1, 2]), &[p.clone(), p]);
        }
    }
}
