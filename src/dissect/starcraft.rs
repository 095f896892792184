//! Blizzard's Battle.net game protocol, IANA's `bnetgame` port 1119 (TCP and UDP), which
//! StarCraft uses. Its wire format is not public, so flowsieve names no flow from its bytes: a
//! flow on port 1119 that no dissector claims gets Starcraft as its port guess
//! (`detection_guessed`), as nDPI's port match does. This dissector is that port table.

use super::{protocol, Dissector, Ports};

/// Battle.net is only guessed: the probe never claims a flow.
#[derive(Debug, Default)]
pub struct StarcraftDissector;

impl Dissector for StarcraftDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::STARCRAFT;

    const PORTS: Ports = Ports::both(&[1119]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::{FlowInfo, Probe};
    use proptest::prelude::*;

    #[test]
    fn only_the_port_names_battle_net() {
        // starcraft_battle.pcap, 192.168.1.100:53146 → 5.42.180.154:1119: two bytes.
        let f = udp([53146, 1119]);
        assert_eq!(run_one::<StarcraftDissector>(&f, &hex("0901")).0, Probe::NotForUs);
        assert!(StarcraftDissector::port_hint(&f));
        assert!(StarcraftDissector::port_hint(&tcp([3427, 1119])));
        assert!(!StarcraftDissector::port_hint(&FlowInfo {
            ip_protocol: 132,
            ports: [1, 1119],
            ..FlowInfo::default()
        }));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<StarcraftDissector>(&tcp([1, 1119]), &[p]);
        }
    }
}
