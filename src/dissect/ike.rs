//! IKE dissector (IKEv1 RFC 2408 §3.1, IKEv2 RFC 7296 §3.1): the 28-byte ISAKMP header with a
//! non-zero initiator SPI, major version 1 or 2, a known exchange type and a length that
//! matches the datagram. On UDP 4500 (NAT traversal, RFC 3948 §2.2) IKE is preceded by a
//! four-byte zero non-ESP marker. nDPI names this IPSec; so do we.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const HEADER: usize = 28;

/// IKE needs no state.
#[derive(Debug, Default)]
pub struct IkeDissector;

fn is_ike(p: &[u8]) -> bool {
    let Some(h) = p.get(..HEADER) else { return false };
    let version = h[17];
    let exchange = h[18];
    let Some(len) = be_u32_at(h, 24).map(|l| l as usize) else { return false };
    let exchange_ok = match version >> 4 {
        // Identity protection, aggressive, informational, transaction (mode config), quick mode.
        1 => matches!(exchange, 1..=6 | 32 | 33),
        // IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL, IKE_SESSION_RESUME.
        2 => matches!(exchange, 34..=38),
        _ => false,
    };
    h[..8] != [0; 8] && exchange_ok && len == p.len()
}

impl Dissector for IkeDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::IPSEC;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let yes = flow.is_udp()
            && (is_ike(p) || (p.get(..4) == Some(&[0, 0, 0, 0][..]) && is_ike(p.get(4..).unwrap_or_default())));
        Probe::certain_if(yes)
    }

    const PORTS: Ports = Ports::udp(&[500, 4500]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn ikev2_sa_init() {
        let mut m = vec![0u8; 40];
        m[..8].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        m[16] = 33;
        m[17] = 0x20;
        m[18] = 34;
        m[27] = 40;
        assert_eq!(run_one::<IkeDissector>(&udp([500, 500]), &m).0, Probe::Certain);
        let mut natt = vec![0, 0, 0, 0];
        natt.extend_from_slice(&m);
        assert_eq!(run_one::<IkeDissector>(&udp([4500, 4500]), &natt).0, Probe::Certain);
        assert_eq!(run_one::<IkeDissector>(&udp([500, 500]), &m[..39]).0, Probe::NotForUs);
        truncations::<IkeDissector>(&udp([500, 500]), &m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<IkeDissector>(&udp([500, 500]), &[p]);
        }
    }
}
