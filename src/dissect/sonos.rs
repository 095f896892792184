//! Sonos players' UDP traffic to one another on the local network, which nDPI names `Sonos`
//! (flowsieve-only ID 1455 with nDPI's name: Netify's protocol table has no Sonos; the
//! protocol's twin is the application `netify.sonos`, which the players' TLS certificates
//! name too, `crate::facts::KNOWN_SUBJECTS`).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as a fact
//! about the protocol; this is flowsieve's own code). Both parts need a datagram sent to a
//! private IPv4 address (RFC 1918; nDPI also takes loopback, which two players never use, and
//! never a multicast group):
//! - **port 7080**: a datagram to UDP port 7080 of fewer than 200 bytes or of 1001 to 1099
//!   bytes (nDPI names the flow on one);
//! - **port 12301**: a 48-byte datagram from or to UDP port 12301 (nDPI names the flow on one;
//!   so does flowsieve, the wire giving nothing more to check).
//!
//! Tightened from the wire for port 7080: a player's datagrams to another's port 7080 open
//! with a 16-bit word that is the same in each and a 16-bit big-endian sequence number that
//! grows by one per datagram (a capture may miss some). The first datagram to port 7080 only
//! shortlists the flow (it stays unnamed); the flow is named once a later datagram to port
//! 7080, of nDPI's sizes too, repeats the first word and carries a sequence number 1 to
//! [`MAX_STEP`] ahead (modulo 2^16). Datagrams the other way are passed over; a datagram to
//! port 7080 that does not continue the first gives the flow up, as does reading
//! [`MAX_DATAGRAMS`] without a confirmation. RTP has the same shape (a first word constant
//! but for the marker bit, then a sequence number, RFC 3550 §5.1), so a datagram whose first
//! two bits are RTP's version 2 is left to RTP: nDPI's rule would name an RTP stream to port
//! 7080 Sonos. No port guess: nothing about port 7080 or 12301 alone says Sonos.

use super::{protocol, Direction, Dissector, FlowInfo, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;
use std::net::IpAddr;

/// The players' streaming port and its datagram sizes (nDPI's: below 200, or 1001–1099).
const STREAM_PORT: u16 = 7080;
/// The port of the 48-byte datagrams.
const CLOCK_PORT: u16 = 12301;
const CLOCK_LEN: usize = 48;
/// The header read on port 7080: the constant word and the sequence number.
const HEADER: usize = 4;
/// How far ahead the second datagram's sequence number may be (datagrams lost in between).
const MAX_STEP: u16 = 64;
/// Datagrams read before giving a shortlisted flow up.
const MAX_DATAGRAMS: u8 = 6;

/// The first datagram to port 7080: its constant word and sequence number; datagrams read.
#[derive(Debug, Default)]
pub struct SonosDissector {
    first: Option<(u16, u16)>,
    seen: u8,
}

/// A size nDPI's rule allows on port 7080, with room for the header.
fn stream_size(len: usize) -> bool {
    (HEADER..200).contains(&len) || (1001..1100).contains(&len)
}

/// RTP's and RTCP's version 2 in the first two bits (RFC 3550 §5.1, §6.4.1).
const RTP_VERSION: u8 = 0b10;

/// The constant word and the sequence number of a datagram to port 7080.
fn stream_header(p: &[u8]) -> Option<(u16, u16)> {
    if !stream_size(p.len()) || p.first().is_some_and(|b| b >> 6 == RTP_VERSION) {
        return None;
    }
    let word = |at: usize| p.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    Some((word(0)?, word(2)?))
}

/// The address and port `segment` is sent to.
fn destination(facts: &FlowFacts, direction: Direction) -> (IpAddr, u16) {
    if (direction == Direction::Forward) == facts.local_origin {
        (facts.other_ip, facts.other_port)
    } else {
        (facts.local_ip, facts.local_port)
    }
}

/// A private IPv4 address (RFC 1918): what nDPI's rule wants a datagram sent to.
fn private_v4(address: IpAddr) -> bool {
    matches!(address, IpAddr::V4(a) if a.is_private())
}

impl Dissector for SonosDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SONOS;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let stream = flow.has_port(STREAM_PORT) && stream_header(p).is_some();
        let clock = flow.has_port(CLOCK_PORT) && p.len() == CLOCK_LEN;
        Probe::certain_if(flow.is_udp() && (stream || clock))
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.seen = self.seen.saturating_add(1);
        let p = segment.payload;
        let (to, port) = destination(facts, segment.direction);
        let from_port = if port == facts.local_port { facts.other_port } else { facts.local_port };
        if private_v4(to) && p.len() == CLOCK_LEN && (port == CLOCK_PORT || from_port == CLOCK_PORT) {
            facts.protocol = protocol::SONOS;
            return Parsed::Done;
        }
        let header = (port == STREAM_PORT && private_v4(to)).then(|| stream_header(p)).flatten();
        match (self.first, header) {
            (None, Some(first)) => self.first = Some(first),
            (Some((word, seq)), Some((next_word, next_seq))) => {
                let step = next_seq.wrapping_sub(seq);
                if next_word != word || !(1..=MAX_STEP).contains(&step) {
                    return Parsed::Skipped(Skip::Unconfirmed);
                }
                facts.protocol = protocol::SONOS;
                return Parsed::Done;
            }
            // Not to port 7080 (an answer, or the other flow shape): passed over.
            (_, None) => {}
        }
        if self.seen >= MAX_DATAGRAMS {
            Parsed::Skipped(Skip::Unconfirmed)
        } else {
            Parsed::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// sonos.pcapng in nDPI's corpus, 192.168.15.37:44467 → 192.168.15.36:7080: the flow's
    /// first three datagrams (the third cut to its first 40 of 1,032 bytes, padded back to
    /// its length).
    const FIRST: &str = "0013598400000000fc";
    const SECOND: &str = "0013598501000000fd00000c";
    const THIRD: &str = "0013598a0000ffff5601002000000442061964104208218514528829a698720a32c880d090550000";

    fn third() -> Vec<u8> {
        let mut p = hex(THIRD);
        p.resize(1032, 0x55);
        p
    }

    /// The flow's facts: the sender at `from`, the flow opened by it (local origin).
    fn facts(from: &str, to: &str, ports: [u16; 2]) -> FlowFacts {
        FlowFacts {
            ip_protocol: FlowInfo::UDP,
            local_ip: from.parse().unwrap(),
            local_port: ports[0],
            other_ip: to.parse().unwrap(),
            other_port: ports[1],
            local_origin: true,
            ..FlowFacts::default()
        }
    }

    /// Parse `payloads` (each with its direction) on a fresh dissector: each result and the
    /// protocol named.
    fn run(facts_in: FlowFacts, payloads: &[(Direction, Vec<u8>)]) -> (Vec<Parsed>, protocol::ProtocolId) {
        let mut facts = facts_in;
        let flow = udp([facts.local_port, facts.other_port]);
        let mut d = SonosDissector::default();
        let results = payloads.iter().map(|(dir, p)| d.parse(&segment(&flow, *dir, 0, p), &mut facts)).collect();
        (results, facts.protocol)
    }

    fn lan() -> FlowFacts {
        facts("192.168.15.37", "192.168.15.36", [44467, 7080])
    }

    #[test]
    fn two_datagrams_in_sequence_name_the_flow() {
        let f = udp([44467, 7080]);
        assert_eq!(run_one::<SonosDissector>(&f, &hex(FIRST)).0, Probe::Certain);
        assert_eq!(run_one::<SonosDissector>(&f, &third()).0, Probe::Certain);
        let fwd = |p: Vec<u8>| (Direction::Forward, p);
        let (results, named) = run(lan(), &[fwd(hex(FIRST))]);
        assert_eq!((results[0], named), (Parsed::Continue, protocol::UNKNOWN), "one datagram only shortlists");
        let (results, named) = run(lan(), &[fwd(hex(FIRST)), fwd(hex(SECOND))]);
        assert_eq!((results[1], named), (Parsed::Done, protocol::SONOS));
        // Datagrams lost in between: 0x5985 then 0x598a.
        assert_eq!(run(lan(), &[fwd(hex(SECOND)), fwd(third())]).1, protocol::SONOS);
        // The flow seen from the receiver's side (its first packet still the sender's).
        let receiver = FlowFacts { local_origin: false, ..facts("192.168.15.36", "192.168.15.37", [7080, 44467]) };
        assert_eq!(run(receiver, &[fwd(hex(FIRST)), fwd(hex(SECOND))]).1, protocol::SONOS);
        truncations::<SonosDissector>(&f, &hex(SECOND));
    }

    #[test]
    fn near_misses_are_not_sonos() {
        let fwd = |p: Vec<u8>| (Direction::Forward, p);
        let pair = [fwd(hex(FIRST)), fwd(hex(SECOND))];
        // A public destination, a multicast group, another port.
        assert_eq!(run(facts("192.168.15.37", "203.0.113.9", [44467, 7080]), &pair).1, protocol::UNKNOWN);
        assert_eq!(run(facts("192.168.15.37", "239.255.255.250", [44467, 7080]), &pair).1, protocol::UNKNOWN);
        assert_eq!(run(facts("192.168.15.37", "192.168.15.36", [44467, 7081]), &pair).1, protocol::UNKNOWN);
        assert_eq!(run_one::<SonosDissector>(&udp([44467, 7081]), &hex(FIRST)).0, Probe::NotForUs);
        assert_eq!(run_one::<SonosDissector>(&tcp([44467, 7080]), &hex(FIRST)).0, Probe::NotForUs);
        // Sizes outside nDPI's rule: 200 bytes, 1,100 bytes.
        assert_eq!(run_one::<SonosDissector>(&udp([44467, 7080]), &[0; 200]).0, Probe::NotForUs);
        assert_eq!(run_one::<SonosDissector>(&udp([44467, 7080]), &[0; 1100]).0, Probe::NotForUs);
        // The sequence number repeated, going back, too far ahead; another first word.
        for second in ["001359840100", "001359830100", "00135a000100", "001459850100"] {
            let (results, named) = run(lan(), &[fwd(hex(FIRST)), fwd(hex(second))]);
            assert_eq!((results[1], named), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN), "{second}");
        }
        // RTP to port 7080 (version 2, payload type 0, sequence numbers 1 and 2).
        let rtp = |seq: u8| [&[0x80, 0, 0, seq][..], &[0; 8], &[0x7f; 160]].concat();
        assert_eq!(run_one::<SonosDissector>(&udp([44467, 7080]), &rtp(1)).0, Probe::NotForUs);
        assert_eq!(run(lan(), &[fwd(rtp(1)), fwd(rtp(2))]).1, protocol::UNKNOWN);
        // The datagram the other way (from port 7080) does not confirm.
        let answer = [fwd(hex(FIRST)), (Direction::Reverse, hex(SECOND))];
        assert_eq!(run(lan(), &answer), (vec![Parsed::Continue, Parsed::Continue], protocol::UNKNOWN));
        let many = vec![(Direction::Reverse, hex(FIRST)); usize::from(MAX_DATAGRAMS)];
        assert_eq!(run(lan(), &many).0.last(), Some(&Parsed::Skipped(Skip::Unconfirmed)));
    }

    #[test]
    fn a_48_byte_datagram_on_12301_names_the_flow() {
        let p = [0x1b; CLOCK_LEN];
        assert_eq!(run_one::<SonosDissector>(&udp([50000, 12301]), &p).0, Probe::Certain);
        let clock = facts("10.0.0.5", "10.0.0.7", [12301, 12301]);
        assert_eq!(run(clock.clone(), &[(Direction::Forward, p.to_vec())]), (vec![Parsed::Done], protocol::SONOS));
        // 47 or 49 bytes, a public destination.
        assert_eq!(run_one::<SonosDissector>(&udp([50000, 12301]), &p[1..]).0, Probe::NotForUs);
        assert_eq!(run(clock, &[(Direction::Forward, [&p[..], &[0]].concat())]).1, protocol::UNKNOWN);
        let public = facts("10.0.0.5", "198.51.100.7", [50000, 12301]);
        assert_eq!(run(public, &[(Direction::Forward, p.to_vec())]).1, protocol::UNKNOWN);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..64), q in proptest::collection::vec(any::<u8>(), 0..64)) {
            no_panic::<SonosDissector>(&udp([1, 7080]), &[p.clone(), q.clone(), p.clone()]);
            no_panic::<SonosDissector>(&udp([12301, 12301]), &[p, q]);
        }
    }
}
