//! HiSLIP, the IVI Foundation's High-Speed LAN Instrument Protocol (IVI-6.1, TCP port 4880):
//! every message has a 16-byte header, the prologue `HS`, a message type, a control
//! code, 32 bits of message parameter and a 64-bit payload length; the payload follows. The
//! probe wants one whole message whose length agrees with the segment.

use super::reader::be_u32_at;
use super::text::prefix_agrees;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const PROLOGUE: &[u8] = b"HS";
const HEADER: usize = 16;
/// Highest standard message type: 128–255 are vendor-specific, and those we do not take.
const MAX_TYPE: u8 = 127;

/// HiSLIP needs no state.
#[derive(Debug, Default)]
pub struct HislipDissector;

impl Dissector for HislipDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::HISLIP;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[PROLOGUE[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() || !prefix_agrees(p, PROLOGUE) {
            return Probe::NotForUs;
        }
        if p.len() < HEADER {
            return if p.get(2).is_none_or(|&t| t <= MAX_TYPE) { Probe::Unsure } else { Probe::NotForUs };
        }
        let high = be_u32_at(p, 8).unwrap_or(u32::MAX);
        let low = be_u32_at(p, 12).unwrap_or(u32::MAX);
        let whole = high == 0 && usize::try_from(low).is_ok_and(|n| n == p.len() - HEADER);
        if p.get(2).is_some_and(|&t| t <= MAX_TYPE) && whole {
            Probe::Certain
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[4880]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_header_names_the_flow() {
        // hislip.pcap in nDPI's corpus: 10.64.0.127:51053 → 10.64.0.72:4880, Initialize with
        // the sub-address `hislip0`, and the server's InitializeResponse.
        let initialize = hex("485300000100525300000000000000076869736c697030");
        let f = tcp([51053, 4880]);
        assert_eq!(run_one::<HislipDissector>(&f, &initialize).0, Probe::Certain);
        assert_eq!(run_one::<HislipDissector>(&f, &hex("48530100010000010000000000000000")).0, Probe::Certain);
        assert_eq!(run_one::<HislipDissector>(&f, &initialize[..5]).0, Probe::Unsure);
        truncations::<HislipDissector>(&f, &initialize);
        // Cut short or with a payload past its length: not one whole message.
        assert_eq!(run_one::<HislipDissector>(&f, &initialize[..20]).0, Probe::NotForUs);
        assert_eq!(run_one::<HislipDissector>(&f, b"HTTP/1.1 200 OK\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<HislipDissector>(&tcp([1, 4880]), &[p]);
        }
    }
}
