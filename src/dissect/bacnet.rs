//! BACnet/IP (ASHRAE 135 Annex J), building automation over UDP port 47808 (0xBAC0). Every
//! datagram starts with the BACnet Virtual Link Control header: type 0x81 (BACnet/IP), a
//! function code (0x00–0x0c), and the 16-bit length of the whole datagram. The functions that
//! carry a message (0x04 forwarded, after a 6-byte original address; 0x09 to the broadcast
//! distribution table, 0x0a unicast, 0x0b broadcast) continue with the network layer header,
//! whose version byte is 1.

use super::reader::be_len16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const BVLC_TYPE: u8 = 0x81;
const LAST_FUNCTION: u8 = 0x0c;
const NPDU_VERSION: u8 = 0x01;

/// BACnet needs no state.
#[derive(Debug, Default)]
pub struct BacnetDissector;

/// `p` is one BVLC datagram.
fn bvlc(p: &[u8]) -> bool {
    let (Some(&kind), Some(&function)) = (p.first(), p.get(1)) else { return false };
    let npdu_at = match function {
        0x04 => Some(10),
        0x09..=0x0b => Some(4),
        _ => None,
    };
    kind == BVLC_TYPE
        && function <= LAST_FUNCTION
        && be_len16_at(p, 2) == Some(p.len())
        && npdu_at.is_none_or(|at| p.get(at) == Some(&NPDU_VERSION))
}

impl Dissector for BacnetDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::BACNET;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && bvlc(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[47808]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn who_is_is_bacnet() {
        // bacnet.pcap, 65.49.20.98:53234 → 90.147.69.219:47808: a unicast read-property.
        let f = udp([53234, 47808]);
        let read = hex("810a001101040005a90c0c023fffff194b");
        assert_eq!(run_one::<BacnetDissector>(&f, &read).0, Probe::Certain);
        truncations::<BacnetDissector>(&f, &read);
        assert_eq!(run_one::<BacnetDissector>(&f, &read[..16]).0, Probe::NotForUs, "length must match");
        let mut bad = read.clone();
        bad[4] = 2;
        assert_eq!(run_one::<BacnetDissector>(&f, &bad).0, Probe::NotForUs, "NPDU version");
        assert_eq!(run_one::<BacnetDissector>(&tcp([53234, 47808]), &read).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<BacnetDissector>(&udp([1, 47808]), &[p]);
        }
    }
}
