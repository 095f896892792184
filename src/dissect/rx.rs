//! AFS's Rx remote procedure call protocol over UDP (the AFS servers' ports 7000–7009), which
//! Netify names `RX` (223).
//!
//! Wire facts (the Rx specification, and the signature nDPI applies to every UDP flow, read
//! from its source as a fact about the protocol: docs/ARCHITECTURE.md, "nDPI's signatures are
//! wire facts"): every datagram starts with a 28-byte header — the 32-bit connection epoch,
//! connection ID, call number, sequence number and serial number, then the packet type (1 data
//! to 13 version), flags, user status and security index bytes, a 16-bit checksum (or spare) and
//! the 16-bit service ID. nDPI takes a header whose type is 1 to 13, whose flags are one of the
//! combinations seen in practice (none, client-initiated, request-ack, last-packet and their
//! pairs, more-packets with client-initiated, and the slow-start bit with client-initiated or
//! request-ack: 0, 1, 2, 3, 4, 5, 6, 9, 33, 34) and whose security index is at most 3, and
//! names the flow when the other side answers with a header of the same form carrying the same
//! epoch and connection ID. flowsieve does the same (the first header shortlists the flow, the
//! answer names it) on flows to or from the AFS services' IANA ports, 7000 (file server) to
//! 7009: so few fixed bits would otherwise shortlist, and so take from the other dissectors,
//! datagrams of any protocol with a small number at byte 20 and zeros around it.

use super::answered::Answered;
use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const HEADER_LEN: usize = 28;
const TYPE: usize = 20;
const FLAGS: usize = 21;
const SECURITY: usize = 23;
const TYPES: std::ops::RangeInclusive<u8> = 1..=13;
const FLAG_SETS: [u8; 10] = [0, 1, 2, 3, 4, 5, 6, 9, 33, 34];
const MAX_SECURITY: u8 = 3;
/// The answer comes within the flow's first four datagrams.
const WITHIN: u8 = 4;

/// The first header's epoch and connection ID, once read.
#[derive(Debug, Default)]
pub struct RxDissector(Answered<u64>);

/// The connection (epoch and ID) of an Rx header at the start of `p`.
fn header(p: &[u8]) -> Option<u64> {
    let well_formed = p.len() >= HEADER_LEN
        && p.get(TYPE).is_some_and(|t| TYPES.contains(t))
        && p.get(FLAGS).is_some_and(|f| FLAG_SETS.contains(f))
        && p.get(SECURITY).is_some_and(|&s| s <= MAX_SECURITY);
    well_formed.then_some(u64::from(be_u32_at(p, 0)?) << 32 | u64::from(be_u32_at(p, 4)?))
}

impl Dissector for RxDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RX;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;
    const PORTS: Ports = Ports::udp(&[7000, 7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009]);

    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && Self::port_hint(flow) && header(segment.payload).is_some())
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.0.parse(segment, facts, (protocol::RX, WITHIN), header, |connection, p| header(p) == Some(connection))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::{Direction, Skip};
    use proptest::prelude::*;

    /// An Rx header: epoch, connection ID, call, sequence, serial, type, flags, user status,
    /// security index, spare, service ID; then `body`.
    fn packet(epoch: u32, cid: u32, kind: u8, flags: u8, body: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        for word in [epoch, cid, 1, 1, 1] {
            p.extend_from_slice(&word.to_be_bytes());
        }
        p.extend_from_slice(&[kind, flags, 0, 0, 0, 0]);
        p.extend_from_slice(&52u16.to_be_bytes()); // the VL server's service ID
        p.extend_from_slice(body);
        p
    }

    #[test]
    fn a_call_answered_on_its_connection_is_rx() {
        let f = udp([7001, 7003]);
        // A client's data packet (client-initiated, last packet) and the server's ack.
        let call = packet(0x5f3a_1c00, 0x8c4e_0004, 1, 5, &[0, 0, 0x01, 0xfe]);
        let ack = packet(0x5f3a_1c00, 0x8c4e_0004, 2, 0, &[0; 18]);
        assert_eq!(run_one::<RxDissector>(&f, &call).0, Probe::Certain);
        let one = [(Direction::Forward, call.clone())];
        assert_eq!(parse_each::<RxDissector>(&f, &one), (Parsed::Continue, protocol::UNKNOWN), "unnamed alone");
        let both = [(Direction::Forward, call.clone()), (Direction::Reverse, ack)];
        assert_eq!(parse_each::<RxDissector>(&f, &both), (Parsed::Done, protocol::RX));
        truncations::<RxDissector>(&f, &call);
        assert_eq!(protocol::name_of(protocol::RX), "RX");
    }

    #[test]
    fn near_misses_are_not_rx() {
        let f = udp([7001, 7003]);
        let call = packet(1, 2, 1, 5, &[]);
        // Type 0 and 14, flags 7, security index 4, a header cut short.
        for (at, value) in [(TYPE, 0), (TYPE, 14), (FLAGS, 7), (SECURITY, 4)] {
            let mut q = call.clone();
            q[at] = value;
            assert_eq!(run_one::<RxDissector>(&f, &q).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<RxDissector>(&f, &call[..27]).0, Probe::NotForUs);
        // An answer on another connection, or of another form, gives the flow up.
        for answer in [packet(1, 3, 2, 0, &[]), packet(9, 2, 2, 0, &[]), packet(1, 2, 2, 8, &[])] {
            let pair = [(Direction::Forward, call.clone()), (Direction::Reverse, answer)];
            assert_eq!(parse_each::<RxDissector>(&f, &pair), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
        }
        // Nothing from the other side within four datagrams.
        let alone = vec![(Direction::Forward, call.clone()); 4];
        assert_eq!(parse_each::<RxDissector>(&f, &alone).0, Parsed::Skipped(Skip::Unconfirmed));
        assert_eq!(run_one::<RxDissector>(&tcp([7001, 7003]), &call).0, Probe::NotForUs);
        assert_eq!(run_one::<RxDissector>(&udp([40000, 8000]), &call).0, Probe::NotForUs, "not an AFS port");
    }

    proptest! {
        #[test]
        fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..40), b in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<RxDissector>(&udp([1, 7000]), &[a, b]);
        }
    }
}
