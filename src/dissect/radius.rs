//! RADIUS (RFC 2865 §3, accounting RFC 2866, dynamic authorization RFC 5176): code, identifier,
//! a 16-bit length equal to the datagram's, a 16-byte authenticator, then attributes (type,
//! length ≥ 2, value) that fill the rest exactly.

use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment};
use crate::flow::facts::FlowFacts;

const HEADER: usize = 20;

/// Access-Request/Accept/Reject, Accounting-Request/Response, Access-Challenge, Status-Server/
/// Client, Disconnect and CoA requests, ACKs and NAKs.
fn known_code(code: u8) -> bool {
    matches!(code, 1..=5 | 11..=13 | 40..=45)
}

fn is_message(p: &[u8]) -> bool {
    let (Some(&code), Some(len)) = (p.first(), p.get(2..4)) else { return false };
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    if !known_code(code) || len != p.len() || len < HEADER {
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
    const PROTOCOL: u16 = protocol::RADIUS;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && is_message(segment.payload))
    }

    fn port_hint(flow: &FlowInfo) -> bool {
        [1812, 1813, 1645, 1646, 3799].iter().any(|&p| flow.has_port(p))
    }

    fn parse(&mut self, _segment: &Segment<'_>, _facts: &mut FlowFacts) -> Parsed {
        Parsed::Done
    }
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

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<RadiusDissector>(&udp([1, 1812]), &[p]);
        }
    }
}
