//! NATS, the messaging system's client protocol (the NATS documentation's "Client Protocol"),
//! TCP port 4222.
//!
//! The server speaks first: `INFO {…}`, a JSON object describing it, on one line; the client
//! answers `CONNECT {…}`. The probe wants either, with the JSON object's opening.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const OPENINGS: [&[u8]; 2] = [b"INFO {\"", b"CONNECT {\""];

/// NATS needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct NatsDissector;

impl Dissector for NatsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NATS;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() {
            Probe::NotForUs
        } else if OPENINGS.iter().any(|o| p.starts_with(o)) {
            Probe::Certain
        } else if OPENINGS.iter().any(|o| o.starts_with(p)) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[4222]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn info_and_connect_name_the_flow() {
        // nats.pcap, 127.0.0.1:4222 → 127.0.0.1:54820: the server's INFO, its start.
        let f = tcp([4222, 54820]);
        let info = hex("494e464f207b227365727665725f6964223a224e414c47353648515a344334494c5248434759574d");
        assert_eq!(run_one::<NatsDissector>(&f, &info).0, Probe::Certain);
        assert_eq!(run_one::<NatsDissector>(&f, b"CONNECT {\"verbose\":false}\r\n").0, Probe::Certain);
        assert_eq!(run_one::<NatsDissector>(&f, b"INF").0, Probe::Unsure);
        truncations::<NatsDissector>(&f, &info);
    }

    #[test]
    fn other_payloads_are_not_nats() {
        let f = tcp([4222, 54820]);
        assert_eq!(run_one::<NatsDissector>(&f, b"CONNECT example.com:443 HTTP/1.1\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<NatsDissector>(&f, b"INFO: started\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<NatsDissector>(&tcp([1, 4222]), &[p]);
        }
    }
}
