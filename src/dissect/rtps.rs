//! The Real-Time Publish-Subscribe protocol (RTPS, OMG "DDS Interoperability Wire Protocol"),
//! DDS's wire protocol, over UDP (ports from 7400 by the specification's port mapping).
//!
//! Every message starts with the 4-byte protocol identifier `RTPS`, the protocol version
//! (major 1 or 2, then the minor), a 2-byte vendor ID and, in a full header, the 12-byte GUID
//! prefix of the sender. The probe wants the identifier and a known major version.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const MAGIC: &[u8] = b"RTPS";
/// Identifier, version, vendor ID.
const MIN: usize = 8;

/// RTPS needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct RtpsDissector;

impl Dissector for RtpsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RTPS;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let major = p.get(MAGIC.len()).copied().unwrap_or(0);
        Probe::certain_if(flow.is_udp() && p.len() >= MIN && p.starts_with(MAGIC) && (major == 1 || major == 2))
    }

    const PORTS: Ports = Ports::udp(&[7400, 7401, 7410, 7411]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn rtps_messages_name_the_flow() {
        // rtps.pcap, 127.0.0.1:28108 → 127.0.0.1:7410: RTPS 2.1, vendor 01.01, a ping.
        let f = udp([28108, 7410]);
        let ping = hex("52545053020101014e44445350494e47");
        assert_eq!(run_one::<RtpsDissector>(&f, &ping).0, Probe::Certain);
        truncations::<RtpsDissector>(&f, &ping);
    }

    #[test]
    fn other_payloads_are_not_rtps() {
        let f = udp([28108, 7410]);
        assert_eq!(run_one::<RtpsDissector>(&f, &hex("52545053090101014e44445350494e47")).0, Probe::NotForUs);
        assert_eq!(
            run_one::<RtpsDissector>(&tcp([28108, 7410]), &hex("52545053020101014e44445350494e47")).0,
            Probe::NotForUs
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<RtpsDissector>(&udp([1, 7400]), &[p]);
        }
    }
}
