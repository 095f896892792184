//! The protocol of the Checkmk monitoring agent (its output, sent on connecting, starts with the
//! section header `<<<check_mk>>>`), TCP port 6556. The probe wants that banner at the start of the
//! flow.

use super::text::banner_probe;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const BANNER: &[u8] = b"<<<check_mk>>>";

/// Checkmk needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct CheckmkDissector;

impl Dissector for CheckmkDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CHECKMK;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if flow.is_tcp() {
            banner_probe(segment.payload, BANNER)
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[6556]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_banner_names_the_flow() {
        // check_mk_new.pcap, 192.168.100.50:6556 → 192.168.100.22:58998: the agent's first line.
        let f = tcp([6556, 58998]);
        let banner = hex("3c3c3c636865636b5f6d6b3e3e3e0a");
        assert_eq!(run_one::<CheckmkDissector>(&f, &banner).0, Probe::Certain);
        assert_eq!(run_one::<CheckmkDissector>(&f, &banner[..5]).0, Probe::Unsure);
        truncations::<CheckmkDissector>(&f, &banner);
    }

    #[test]
    fn other_text_is_not_checkmk() {
        let f = tcp([6556, 58998]);
        assert_eq!(run_one::<CheckmkDissector>(&f, b"<<<df>>>\n").0, Probe::NotForUs);
        assert_eq!(run_one::<CheckmkDissector>(&udp([6556, 58998]), BANNER).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<CheckmkDissector>(&tcp([1, 6556]), &[p]);
        }
    }
}
