//! Amazon Prime Video's own framing over TCP and UDP (flowsieve-only ID with nDPI's name,
//! `AmazonVideo`; its twin application is `netify.amazon-prime`).
//!
//! Wire facts (the signature nDPI applies to every TCP and UDP flow, read from its source as
//! facts about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): a payload longer than 4 bytes that starts `fe ed fa ce` over TCP or
//! `de ad be ef` over UDP.
//!
//! Four bytes are a weak magic on their own, and both are well-known test patterns (`deadbeef`
//! fills memory and test packets; `feedface` is also the magic of a 32-bit big-endian Mach-O
//! binary). So flowsieve takes it only where the protocol puts it: at the start of the flow's
//! first payload (the probe rules itself out on any other), sent by the side that opened the
//! flow (the client), with more than the magic. The dissector comes after every other in the
//! registry, so a protocol whose probe knows the payload names it first; what is left is a
//! client whose very first bytes are one of these patterns.

use super::text::prefix_agrees;
use super::{protocol, Direction, Dissector, FirstBytes, FlowInfo, Probe, Segment, Transports};

/// The TCP magic.
const TCP_MAGIC: [u8; 4] = [0xfe, 0xed, 0xfa, 0xce];
/// The UDP magic.
const UDP_MAGIC: [u8; 4] = [0xde, 0xad, 0xbe, 0xef];

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct AmazonVideoDissector;

impl Dissector for AmazonVideoDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::AMAZON_VIDEO;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[TCP_MAGIC[0], UDP_MAGIC[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let magic = match () {
            _ if flow.is_tcp() => &TCP_MAGIC,
            _ if flow.is_udp() => &UDP_MAGIC,
            _ => return Probe::NotForUs,
        };
        let p = segment.payload;
        if segment.direction != Direction::Forward || !prefix_agrees(p, magic) {
            Probe::NotForUs
        } else if p.len() > magic.len() {
            Probe::Certain
        } else if flow.is_tcp() {
            // A TCP segment with the magic alone or part of it: the rest follows.
            Probe::Unsure
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

    #[test]
    fn the_client_magic_names_the_flow() {
        assert_eq!(protocol::name_of(protocol::AMAZON_VIDEO), "AmazonVideo");
        // nDPI's corpus has no such flow: payloads built from the magics.
        let tcp_opening = [&TCP_MAGIC[..], &[0x00, 0x01, 0x02, 0x03]].concat();
        let udp_opening = [&UDP_MAGIC[..], &[0x00, 0x10]].concat();
        let (t, u) = (tcp([50000, 443]), udp([50000, 40000]));
        assert_eq!(run_one::<AmazonVideoDissector>(&t, &tcp_opening).0, Probe::Certain);
        assert_eq!(run_one::<AmazonVideoDissector>(&u, &udp_opening).0, Probe::Certain);
        truncations::<AmazonVideoDissector>(&t, &tcp_opening);
        assert_eq!(run_one::<AmazonVideoDissector>(&t, &TCP_MAGIC[..2]).0, Probe::Unsure);
        // Through the registry: the client's opening names the flow, the server's does not.
        assert_eq!(through_registry(&u, &[(Direction::Forward, udp_opening.clone())]).0, protocol::AMAZON_VIDEO);
        assert_eq!(through_registry(&u, &[(Direction::Reverse, udp_opening)]).0, protocol::UNKNOWN);
    }

    #[test]
    fn near_misses_are_not_amazon_video() {
        let (t, u) = (tcp([50000, 443]), udp([50000, 40000]));
        let tcp_opening = [&TCP_MAGIC[..], &[0x00, 0x01]].concat();
        let udp_opening = [&UDP_MAGIC[..], &[0x00, 0x10]].concat();
        // Each magic on the other transport; the server's payload; a byte off; a datagram of
        // the magic alone.
        assert_eq!(run_one::<AmazonVideoDissector>(&u, &tcp_opening).0, Probe::NotForUs);
        assert_eq!(run_one::<AmazonVideoDissector>(&t, &udp_opening).0, Probe::NotForUs);
        let reply = segment(&t, Direction::Reverse, 0, &tcp_opening);
        assert_eq!(AmazonVideoDissector::probe_flow(&t, &reply), Probe::NotForUs);
        let mut off = udp_opening.clone();
        off[3] = 0xee;
        assert_eq!(run_one::<AmazonVideoDissector>(&u, &off).0, Probe::NotForUs);
        assert_eq!(run_one::<AmazonVideoDissector>(&u, &UDP_MAGIC).0, Probe::NotForUs);
        // The little-endian Mach-O magic and AliCloud's, both `ce fa …`; a TLS ClientHello.
        for p in [hex("cefaedfe07000001"), hex("cefabeba00000004"), hex("1603010200010001fc0303")] {
            assert_eq!(run_one::<AmazonVideoDissector>(&t, &p).0, Probe::NotForUs);
        }
        assert_eq!(
            AmazonVideoDissector::probe_flow(
                &FlowInfo { ip_protocol: 132, ports: [1, 2], ..FlowInfo::default() },
                &reply
            ),
            Probe::NotForUs
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<AmazonVideoDissector>(&tcp([1, 2]), &[[&TCP_MAGIC[..], &p].concat(), p.clone()]);
            no_panic::<AmazonVideoDissector>(&udp([1, 2]), &[[&UDP_MAGIC[..], &p].concat(), p]);
        }
    }
}
