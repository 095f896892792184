//! Munin node protocol (munin-node(1), port 4949): the node greets with
//! `# munin node at <hostname>\n`; that host name names the flow, as nDPI reports it.

use super::text::{fact_string, prefix_agrees, split_line};
use super::{protocol, Dissector, FirstBytes, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const GREETING: &[u8] = b"# munin node at ";

/// Munin needs no state.
#[derive(Debug, Default)]
pub struct MuninDissector;

impl Dissector for MuninDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MUNIN;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[GREETING[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() {
            Probe::NotForUs
        } else if p.starts_with(GREETING) {
            Probe::Certain
        } else if prefix_agrees(p, GREETING) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[4949]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        let line = split_line(p).map_or(p, |(l, _)| l);
        let host = line.strip_prefix(GREETING).unwrap_or_default();
        let plausible = !host.is_empty()
            && host.len() <= 253
            && host.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
        if plausible && facts.detected_hostname().is_none() {
            facts.set_detected_hostname(fact_string(host, 253).to_ascii_lowercase());
        }
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn greeting_names_the_node() {
        // munin.pcap in nDPI's corpus.
        let f = tcp([4949, 45654]);
        let (probe, parsed, facts) = run_one::<MuninDissector>(&f, b"# munin node at kibana-node01\n");
        assert_eq!((probe, parsed), (Probe::Certain, Parsed::Done));
        assert_eq!(facts.detected_hostname(), Some("kibana-node01"));
        assert_eq!(run_one::<MuninDissector>(&f, b"cap multigraph dirtyconfig\n").0, Probe::NotForUs);
        truncations::<MuninDissector>(&f, b"# munin node at kibana-node01\n");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<MuninDissector>(&tcp([1, 4949]), &[p]);
        }
    }
}
