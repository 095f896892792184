//! Syncthing's local discovery (UDP port 21027, broadcast on IPv4 and multicast to ff12::8384):
//! each announcement is the 32-bit magic `0x2EA7D90B` followed by a protobuf `Announce`
//! message whose first field is the 32-byte device ID (field 1, length-delimited: `0a 20`).

use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const MAGIC: [u8; 4] = [0x2e, 0xa7, 0xd9, 0x0b];
/// Field 1 (the device ID), length-delimited, 32 bytes.
const DEVICE_ID: [u8; 2] = [0x0a, 0x20];

/// Syncthing needs no state.
#[derive(Debug, Default)]
pub struct SyncthingDissector;

impl Dissector for SyncthingDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SYNCTHING;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[MAGIC[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if flow.is_udp()
            && p.len() >= MAGIC.len() + DEVICE_ID.len() + 32
            && p.get(..4) == Some(&MAGIC[..])
            && p.get(4..6) == Some(&DEVICE_ID[..])
        {
            Probe::Certain
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::udp(&[21027]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_announcement_names_the_flow() {
        // syncthing.pcap in nDPI's corpus: 192.168.2.100:33927 → 192.168.2.255:21027.
        let announce = hex(concat!(
            "2ea7d90b0a2092b76262996294825fc6cce6cf34794288282d73b5ecdf2dcb29bfd484c42d6f121a",
            "717569633a2f2f3139322e3136382e322e313030"
        ));
        let f = udp([33927, 21027]);
        assert_eq!(run_one::<SyncthingDissector>(&f, &announce).0, Probe::Certain);
        truncations::<SyncthingDissector>(&f, &announce);
        assert_eq!(run_one::<SyncthingDissector>(&f, &announce[..20]).0, Probe::NotForUs);
        let mut other = announce.clone();
        other[3] = 0x0c;
        assert_eq!(run_one::<SyncthingDissector>(&f, &other).0, Probe::NotForUs);
        assert_eq!(run_one::<SyncthingDissector>(&tcp([33927, 21027]), &announce).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<SyncthingDissector>(&udp([1, 21027]), &[p]);
        }
    }
}
