//! RADIUS (RFC 2865 §3, accounting RFC 2866, dynamic authorization RFC 5176): code, identifier,
//! a 16-bit length equal to the datagram's, a 16-byte authenticator, then attributes (type,
//! length ≥ 2, value) that fill the rest exactly.

use super::reader::be_len16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const HEADER: usize = 20;

/// Access-Request/Accept/Reject, Accounting-Request/Response, Access-Challenge, Status-Server/
/// Client, Disconnect and CoA requests, ACKs and NAKs.
fn known_code(code: u8) -> bool {
    matches!(code, 1..=5 | 11..=13 | 40..=45)
}

/// A known code and a length field equal to the datagram's.
fn is_header(p: &[u8]) -> bool {
    let (Some(&code), Some(len)) = (p.first(), be_len16_at(p, 2)) else { return false };
    known_code(code) && len == p.len() && len >= HEADER
}

fn is_message(p: &[u8]) -> bool {
    if !is_header(p) {
        return false;
    }
    let mut at = HEADER;
    while at < p.len() {
        match p.get(at + 1) {
            Some(&l) if l >= 2 => at += usize::from(l),
            _ => return false,
        }
    }
    at == p.len()
}

/// RADIUS needs no state.
#[derive(Debug, Default)]
pub struct RadiusDissector;

impl Dissector for RadiusDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RADIUS;
    const TRANSPORTS: Transports = Transports::UDP;

    /// Certain for a whole message; on RADIUS's own ports the header suffices (as in nDPI), so
    /// a message with one malformed attribute is still RADIUS there.
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(flow.is_udp() && (is_message(p) || (Self::port_hint(flow) && is_header(p))))
    }

    const PORTS: Ports = Ports::both(&[1812, 1813, 1645, 1646, 3799]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// An Access-Challenge from fuzz-2020-02-16-11740.pcap in nDPI's corpus.
    const ACCESS_CHALLENGE: &str = concat!(
        "0b0a0089233801169f99c3b95259d98164bf56b101353033317134383032373135313634383040776c616e2e6d6e6334",
        "38302e7d63633331312e336770706e6574776f726b2e6f72672c2035623232613064312f66633a64623a62333a30383a",
        "76663a31342f3230354f0e0102000c170c00000c0140005012938ae66a3493f142c60b5873477a7488",
    );

    #[test]
    fn access_challenge() {
        let m = hex(ACCESS_CHALLENGE);
        let f = udp([29200, 1812]);
        assert_eq!(run_one::<RadiusDissector>(&f, &m).0, Probe::Certain);
        assert_eq!(run_one::<RadiusDissector>(&f, &m[..m.len() - 1]).0, Probe::NotForUs);
        assert_eq!(run_one::<RadiusDissector>(&tcp([29200, 1812]), &m).0, Probe::NotForUs);
        truncations::<RadiusDissector>(&f, &m);
    }

    /// The Access-Request of the same capture: nDPI fuzzed it, and its 19th attribute (at
    /// offset 323) has length 0.
    const FUZZED_ACCESS_REQUEST: &str = concat!(
        "010a02bf5e0e2b78773314628ae3d5ea0efe915e1a0a000057c80e0455531a0c000057c80d06776966691a0f000057c8",
        "0909574953505231301a09000038a40d033637065b22a0e301353033313134383032379a35313634383040776c616e2e",
        "6d6e633438302e6d63633331312e336770706e6574776f726b2e6f72675903107e0831636973636f8306000000011f13",
        "66632d64622d62332d30382d66662d31341e2530302d61372d34322d64302d65302d30303a566572697a6f6e57564669",
        "7763636573730506000000081a3100000009012b61756469742d73657373696f6e2d49643d3130666631306163303030",
        "303030623164316130323235622c2035623232613064312f66633a64623a62333a30383a66663a31342f3230350406ac",
        "140110200e565a574332546573744c61623a0c000037630106000000020606000000442500000005143d060000001340",
        "060000000d410600000006514535364f3a02010038013033313134383032373135313634383040776c616e2e6d6e6334",
        "38302e6d63633331312e336770706e6574776f726b2e6faaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    );

    #[test]
    fn malformed_attributes_on_the_radius_port() {
        let m = hex(FUZZED_ACCESS_REQUEST);
        assert!(!is_message(&m));
        assert_eq!(run_one::<RadiusDissector>(&udp([29200, 1812]), &m).0, Probe::Certain);
        // Off RADIUS's ports the attributes must hold together.
        assert_eq!(run_one::<RadiusDissector>(&udp([29200, 4000]), &m).0, Probe::NotForUs);
        assert_eq!(run_one::<RadiusDissector>(&udp([29200, 1812]), &m[..m.len() - 1]).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<RadiusDissector>(&udp([1, 1812]), std::slice::from_ref(&p));
            no_panic::<RadiusDissector>(&udp([1, 4000]), &[p]);
        }
    }
}
