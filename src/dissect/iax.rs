//! The Inter-Asterisk eXchange protocol, version 2 (IAX2, RFC 5456), UDP port 4569.
//!
//! A call opens with full frames (RFC 5456 §8.1.1): the F bit and a 15-bit source call number,
//! the R bit and the destination call number (0 until the peer has answered), a 32-bit
//! timestamp, the outbound and inbound sequence numbers, the frame type (IAX control is 6) and
//! the subclass. The first frame of a call or a poke is an IAX control frame NEW (1) or POKE
//! (0x1e) with both sequence numbers and the destination call number zero: the probe wants that.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

/// Full frame header.
const HEADER: usize = 12;
const FULL_FRAME: u8 = 0x80;
const IAX_CONTROL: u8 = 6;
/// NEW and POKE.
const OPENINGS: [u8; 2] = [0x01, 0x1e];

/// IAX2 needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct IaxDissector;

impl Dissector for IaxDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::IAX;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let Some(h) = p.get(..HEADER) else { return Probe::NotForUs };
        let opening = h[0] & FULL_FRAME != 0
            && h[2..4] == [0, 0]
            && h[8..10] == [0, 0]
            && h[10] == IAX_CONTROL
            && OPENINGS.contains(&h[11]);
        Probe::certain_if(flow.is_udp() && opening)
    }

    const PORTS: Ports = Ports::udp(&[4569]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn new_names_the_flow() {
        // iax.pcap, 82.110.36.84:4569 → 192.168.2.120:4566: NEW from call number 4.
        let f = udp([4569, 4566]);
        let new = hex("8004000000000001000006010b020002010c343432303838323035313535020c3434373738323236");
        assert_eq!(run_one::<IaxDissector>(&f, &new).0, Probe::Certain);
        truncations::<IaxDissector>(&f, &new);
    }

    #[test]
    fn other_payloads_are_not_iax() {
        let f = udp([4569, 4566]);
        let new = hex("8004000000000001000006010b020002010c343432303838323035313535020c3434373738323236");
        let mut p = new.clone();
        p[0] = 0x00;
        assert_eq!(run_one::<IaxDissector>(&f, &p).0, Probe::NotForUs, "a mini frame says too little");
        let mut p = new.clone();
        p[11] = 0x04;
        assert_eq!(run_one::<IaxDissector>(&f, &p).0, Probe::NotForUs, "HANGUP does not open a call");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<IaxDissector>(&udp([1, 4569]), &[p]);
        }
    }
}
