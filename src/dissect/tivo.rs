//! TiVo Connect discovery beacons (TiVo's "TiVo Connect Automatic Machine Discovery
//! Protocol"), UDP broadcasts and TCP connections on port 2190.
//!
//! A beacon is text: `key=value` lines, the first `tivoconnect=1` (then `swversion`, `method`,
//! `identity`, `machine`, `platform`, `services`). The probe wants that first line.

use super::text::starts_with_ci;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const FIRST_LINE: &[u8] = b"tivoconnect=1";

/// TiVo Connect needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct TivoDissector;

impl Dissector for TivoDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TIVO_CONNECT;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_tcp() || flow.is_udp()) || p.first().is_none_or(|b| !b.eq_ignore_ascii_case(&b't')) {
            return Probe::NotForUs;
        }
        if p.len() <= FIRST_LINE.len() {
            let prefix = FIRST_LINE.get(..p.len()).is_some_and(|f| f.eq_ignore_ascii_case(p));
            return if flow.is_tcp() && prefix { Probe::Unsure } else { Probe::NotForUs };
        }
        Probe::certain_if(starts_with_ci(p, FIRST_LINE) && matches!(p[FIRST_LINE.len()], b'\n' | b'\r'))
    }

    const PORTS: Ports = Ports::both(&[2190]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// TivoDVR.pcap, 98.245.242.69:2190 → 255.255.255.255:2190: the beacon's first lines.
    const BEACON: &[u8] = b"TiVoConnect=1\nswversion=1.0\nmethod=broadcast\n";

    #[test]
    fn beacons_name_the_flow() {
        let f = udp([2190, 2190]);
        assert_eq!(run_one::<TivoDissector>(&f, BEACON).0, Probe::Certain);
        assert_eq!(run_one::<TivoDissector>(&tcp([40000, 2190]), b"tivoconnect=1\r\n").0, Probe::Certain);
        assert_eq!(run_one::<TivoDissector>(&tcp([40000, 2190]), b"TiVoCon").0, Probe::Unsure);
        truncations::<TivoDissector>(&f, BEACON);
    }

    #[test]
    fn other_text_is_not_tivo() {
        let f = udp([2190, 2190]);
        assert_eq!(run_one::<TivoDissector>(&f, b"TiVoConnect=10\n").0, Probe::NotForUs);
        assert_eq!(run_one::<TivoDissector>(&f, b"TiVoCon").0, Probe::NotForUs);
        assert_eq!(run_one::<TivoDissector>(&f, b"tftp").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<TivoDissector>(&udp([1, 2190]), &[p]);
        }
    }
}
