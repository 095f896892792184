//! The protocol of the Kismet wireless monitor's server (the line `*KISMET: ` and its version, sent
//! on connecting), TCP port 2501. The probe wants that banner at the start of the flow.

use super::text::banner_probe;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const BANNER: &[u8] = b"*KISMET: ";

/// Kismet needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct KismetDissector;

impl Dissector for KismetDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::KISMET;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if flow.is_tcp() {
            banner_probe(segment.payload, BANNER)
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[2501]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_banner_names_the_flow() {
        // kismet.pcap, 127.0.0.1:2501 → 127.0.0.1:34065: the server's banner, its start.
        let f = tcp([2501, 34065]);
        let banner = hex("2a4b49534d45543a20302e302e30203131343430303433383120014b69736d657401203230303530");
        assert_eq!(run_one::<KismetDissector>(&f, &banner).0, Probe::Certain);
        assert_eq!(run_one::<KismetDissector>(&f, &banner[..5]).0, Probe::Unsure);
        truncations::<KismetDissector>(&f, &banner);
    }

    #[test]
    fn other_text_is_not_kismet() {
        let f = tcp([2501, 34065]);
        assert_eq!(run_one::<KismetDissector>(&f, b"*KISMET:1").0, Probe::NotForUs);
        assert_eq!(run_one::<KismetDissector>(&udp([2501, 34065]), BANNER).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<KismetDissector>(&tcp([1, 2501]), &[p]);
        }
    }
}
