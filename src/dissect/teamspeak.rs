//! TeamSpeak 3's voice protocol over UDP (default port 9987).
//!
//! A client opens a connection with init packets whose 8-byte MAC field holds the text
//! `TS3INIT1`, followed by the packet ID 101 and the client ID; the server answers with the same
//! MAC. The probe wants that MAC at the start of a datagram.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const INIT: &[u8] = b"TS3INIT1";

/// TeamSpeak needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct TeamspeakDissector;

impl Dissector for TeamspeakDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TEAMSPEAK;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(flow.is_udp() && p.len() > INIT.len() && p.starts_with(INIT))
    }

    const PORTS: Ports = Ports::udp(&[9987]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn init_packets_name_the_flow() {
        // teamspeak3.pcap, 10.0.0.1:53187 → 10.0.0.2:9987: the client's first init packet.
        let f = udp([53187, 9987]);
        let init = hex("545333494e49543100650000880dd05766005f5916e0ade76b610000000000000000");
        assert_eq!(run_one::<TeamspeakDissector>(&f, &init).0, Probe::Certain);
        truncations::<TeamspeakDissector>(&f, &init);
    }

    #[test]
    fn other_payloads_are_not_teamspeak() {
        let f = udp([53187, 9987]);
        assert_eq!(run_one::<TeamspeakDissector>(&f, b"TS3INIT1").0, Probe::NotForUs, "the MAC alone");
        assert_eq!(run_one::<TeamspeakDissector>(&f, b"TS3INIT2\x00\x65").0, Probe::NotForUs);
        assert_eq!(run_one::<TeamspeakDissector>(&tcp([53187, 9987]), &hex("545333494e4954310065")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<TeamspeakDissector>(&udp([1, 9987]), &[p]);
        }
    }
}
