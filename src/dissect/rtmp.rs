//! The Real-Time Messaging Protocol (RTMP, Adobe's RTMP specification 1.0, §5.2), TCP port 1935.
//!
//! A connection opens with a handshake: the client sends C0, one version byte (3), and C1,
//! 1536 bytes that start with a 4-byte time and 4 zero bytes; the server answers S0 and S1 of
//! the same shape and S2. C0 and C1 arrive together or, split by the segment size, as a first
//! segment of at least [`MIN_FIRST`] bytes. One version byte and four zeros say little, so the
//! probe wants C0+C1 whole (1537 bytes) or S0+S1(+S2), or a large first segment on RTMP's port.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const VERSION: u8 = 3;
/// C1 and S1 (and S2) are this long.
const HANDSHAKE: usize = 1536;
/// A first segment shorter than this is not a segment-size cut of C0+C1.
const MIN_FIRST: usize = 512;

/// RTMP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct RtmpDissector;

impl Dissector for RtmpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RTMP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.first() != Some(&VERSION) {
            return Probe::NotForUs;
        }
        let zeros = p.get(5..9).is_some_and(|z| z == [0; 4]);
        let whole = p.len() == 1 + HANDSHAKE || p.len() == 1 + 2 * HANDSHAKE;
        let cut = (MIN_FIRST..1 + 2 * HANDSHAKE).contains(&p.len()) && Self::port_hint(flow);
        Probe::certain_if(zeros && (whole || cut))
    }

    const PORTS: Ports = Ports::tcp(&[1935]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// rtmp.pcap, 192.168.43.1:1177 → 192.168.43.128:1935: the start of C0+C1 (time 0x0007aa57,
    /// then the zero field); the rest of C1 is filler.
    fn c0_c1(len: usize) -> Vec<u8> {
        let mut p = hex("030007aa5700000000c4ff95ff1affe3ffc000c1003600af00fc002d0092ffbbff7807d97c2e0607");
        p.resize(len, 0x5a);
        p
    }

    #[test]
    fn handshake_names_the_flow() {
        let f = tcp([1177, 1935]);
        // The capture's first segment: 1460 bytes of the 1537.
        assert_eq!(run_one::<RtmpDissector>(&f, &c0_c1(1460)).0, Probe::Certain);
        // Whole, on any port.
        assert_eq!(run_one::<RtmpDissector>(&tcp([1177, 8080]), &c0_c1(1537)).0, Probe::Certain);
        truncations::<RtmpDissector>(&f, &c0_c1(1537));
    }

    #[test]
    fn other_payloads_are_not_rtmp() {
        let f = tcp([1177, 1935]);
        // Cut, but off RTMP's port; too short; a non-zero zero field.
        assert_eq!(run_one::<RtmpDissector>(&tcp([1177, 8080]), &c0_c1(1460)).0, Probe::NotForUs);
        assert_eq!(run_one::<RtmpDissector>(&f, &c0_c1(100)).0, Probe::NotForUs);
        let mut p = c0_c1(1537);
        p[6] = 1;
        assert_eq!(run_one::<RtmpDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<RtmpDissector>(&udp([1177, 1935]), &c0_c1(1537)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<RtmpDissector>(&tcp([1, 1935]), &[p]);
        }
    }
}
