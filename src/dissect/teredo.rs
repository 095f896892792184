//! Teredo (RFC 4380, UDP port 3544): IPv6 carried in UDP. A packet is an IPv6 packet,
//! optionally preceded by an authentication indicator (`00 01`, client-ID length,
//! authentication-value length, both values, an 8-byte nonce and a confirmation byte) and/or
//! an origin indication (`00 00`, port and IPv4 address: 8 bytes). The probe wants an IPv6
//! header (version 6) whose payload length is exactly what remains of the datagram; a bubble
//! (no payload, next header 59) passes the same way.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const IPV6_HEADER: usize = 40;
/// Authentication indicator without its two variable-length values.
const AUTH_FIXED: usize = 4 + 8 + 1;
const ORIGIN: usize = 8;

/// Teredo needs no state.
#[derive(Debug, Default)]
pub struct TeredoDissector;

/// The IPv6 packet inside `p`, past the optional indicators.
fn ipv6_packet(mut p: &[u8]) -> Option<&[u8]> {
    if p.get(..2)? == [0, 1] {
        let skip = AUTH_FIXED + usize::from(*p.get(2)?) + usize::from(*p.get(3)?);
        p = p.get(skip..)?;
    }
    if p.get(..2)? == [0, 0] {
        p = p.get(ORIGIN..)?;
    }
    Some(p)
}

/// True when `p` is one whole IPv6 packet.
fn is_ipv6(p: &[u8]) -> bool {
    p.len() >= IPV6_HEADER
        && p.first().is_some_and(|b| b >> 4 == 6)
        && be_u16_at(p, 4).is_some_and(|n| usize::from(n) == p.len() - IPV6_HEADER)
}

impl Dissector for TeredoDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TEREDO;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if flow.is_udp() && ipv6_packet(segment.payload).is_some_and(is_ipv6) {
            Probe::Certain
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::udp(&[3544]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn tunnelled_ipv6_names_the_flow() {
        // teredo.pcap in nDPI's corpus: 10.112.16.106:52513 → 194.136.28.76:3544, a router
        // solicitation behind an authentication indicator.
        let solicitation = hex(concat!(
            "00010000b11b3fea46a9afe900",
            "6000000000083afffe800000000000000000fffffffffffeff020000000000000000000000000002",
            "85007d3800000000"
        ));
        let f = udp([52513, 3544]);
        assert_eq!(run_one::<TeredoDissector>(&f, &solicitation).0, Probe::Certain);
        truncations::<TeredoDissector>(&f, &solicitation);
        assert_eq!(run_one::<TeredoDissector>(&f, &solicitation[..50]).0, Probe::NotForUs);
        // The bare IPv6 packet, and behind an origin indication.
        let bare = &solicitation[13..];
        assert_eq!(run_one::<TeredoDissector>(&f, bare).0, Probe::Certain);
        let origin = [&hex("00000032de46f93f")[..], bare].concat();
        assert_eq!(run_one::<TeredoDissector>(&f, &origin).0, Probe::Certain);
        // An IPv4 packet or a DNS query: not Teredo.
        assert_eq!(run_one::<TeredoDissector>(&f, &[0x45; 60]).0, Probe::NotForUs);
        let dns = hex("12340100000100000000000003777777076578616d706c6503636f6d0000010001");
        assert_eq!(run_one::<TeredoDissector>(&f, &dns).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<TeredoDissector>(&udp([1, 3544]), &[p]);
        }
    }
}
