//! RDP dissector (MS-RDPBCGR §2.2.1.1–2.2.1.2): a TPKT header (RFC 1006: version 3, reserved
//! 0, length) carrying an X.224 Connection Request (0xE0) or Confirm (0xD0). Other protocols
//! use TPKT/X.224 too (S7comm, ISO-TSAP), so we also require the RDP parts: the
//! `Cookie: mstshash=` routing token, an RDP_NEG_REQ/RSP/FAILURE, or a bare request.

use super::reader::be_len16_at;
use super::starttls::StartTls;
use super::text::contains_ci;
use super::{protocol, Dissector, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// RDP: after the X.224 negotiation most sessions switch to TLS (MS-RDPBCGR §5.4.5.1,
/// PROTOCOL_SSL/HYBRID), which is read like a STARTTLS upgrade; the flow stays RDP.
#[derive(Debug, Default)]
pub struct RdpDissector {
    starttls: StartTls,
}

fn classify(p: &[u8]) -> Probe {
    let Some(h) = p.get(..7) else {
        return if p.first().is_none_or(|&b| b == 3) && p.get(1).is_none_or(|&b| b == 0) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        };
    };
    let Some(len) = be_len16_at(h, 2) else { return Probe::NotForUs };
    if h[0] != 3 || h[1] != 0 || len != p.len() || usize::from(h[4]) + 5 != len {
        return Probe::NotForUs;
    }
    let code = h[5] & 0xf0;
    let x224 = p.get(11..).unwrap_or_default();
    // RDP_NEG_REQ (1), RDP_NEG_RSP (2), RDP_NEG_FAILURE (3): type, flags, length 8 (LE).
    let neg = p.len() >= 19
        && matches!(p.get(p.len() - 8), Some(1..=3))
        && p.get(p.len() - 6..p.len() - 4) == Some(&[8, 0][..]);
    match code {
        0xe0 if contains_ci(x224, b"Cookie: mstshash=") || neg => Probe::Certain,
        0xd0 if neg => Probe::Certain,
        _ => Probe::NotForUs,
    }
}

impl Dissector for RdpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RDP;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe(segment: &Segment<'_>) -> Probe {
        classify(segment.payload)
    }

    const PORTS: Ports = Ports::both(&[3389]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.starttls.parse(segment, facts, protocol::RDP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn connection_request() {
        let mut x224 = vec![0xe0, 0, 0, 0, 0, 0];
        x224.extend_from_slice(b"Cookie: mstshash=user\r\n");
        x224.extend_from_slice(&[1, 0, 8, 0, 3, 0, 0, 0]);
        let mut m = vec![3, 0, 0, 0, x224.len() as u8];
        m.extend_from_slice(&x224);
        m[3] = m.len() as u8;
        assert_eq!(run_one::<RdpDissector>(&tcp([40000, 3389]), &m).0, Probe::Certain);
        assert_eq!(run_one::<RdpDissector>(&tcp([40000, 3389]), &m[..2]).0, Probe::Unsure);
        truncations::<RdpDissector>(&tcp([1, 3389]), &m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<RdpDissector>(&tcp([1, 3389]), &[p]);
        }
    }
}
