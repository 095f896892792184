//! Tuya's local protocol (smart plugs, bulbs and the like; UDP broadcasts to ports 6666 and
//! 6667; TCP 6668 for control, no port hint there: nDPI names no bare TCP 6668 flow). Every frame starts with the prefix `00 00 55 aa`, a 32-bit
//! sequence number, a 32-bit command and a 32-bit length of what follows the 16-byte header
//! (payload, check value and the suffix), and ends with the suffix `00 00 aa 55`.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const PREFIX: [u8; 4] = [0x00, 0x00, 0x55, 0xaa];
const SUFFIX: [u8; 4] = [0x00, 0x00, 0xaa, 0x55];
const HEADER: usize = 16;

/// Tuya needs no state.
#[derive(Debug, Default)]
pub struct TuyaDissector;

/// `p` is one whole frame.
fn frame(p: &[u8]) -> bool {
    let whole = be_u32_at(p, 12)
        .and_then(|len| usize::try_from(len).ok())
        .is_some_and(|len| len >= SUFFIX.len() && Some(len) == p.len().checked_sub(HEADER));
    p.starts_with(&PREFIX) && p.ends_with(&SUFFIX) && whole
}

impl Dissector for TuyaDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TUYA_LP;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if((flow.is_udp() || flow.is_tcp()) && frame(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[6666, 6667]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// tuya_lp.pcap, 192.168.242.202:59727 → 255.255.255.255:6667: the first bytes of a
    /// 172-byte discovery broadcast, its encrypted middle zeroed, and its suffix.
    fn broadcast() -> Vec<u8> {
        let mut p = hex("000055aa00000000000000130000009c0000000097b93fee4b69c95feeb3d33bda3529521cc4eac0");
        p.resize(172 - SUFFIX.len(), 0);
        p.extend_from_slice(&SUFFIX);
        p
    }

    #[test]
    fn framed_broadcast_is_tuya() {
        let f = udp([59727, 6667]);
        let b = broadcast();
        assert_eq!(run_one::<TuyaDissector>(&f, &b).0, Probe::Certain);
        truncations::<TuyaDissector>(&f, &b);
        assert_eq!(run_one::<TuyaDissector>(&f, &b[..171]).0, Probe::NotForUs);
        let mut longer = b.clone();
        longer.insert(20, 0);
        assert_eq!(run_one::<TuyaDissector>(&f, &longer).0, Probe::NotForUs, "length must match");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<TuyaDissector>(&udp([1, 6667]), &[p]);
        }
    }
}
