//! sFlow version 5 (sflow.org's sFlow Version 5 specification), UDP port 6343 (IANA `sflow`).
//! A datagram starts with the version (5), the agent's address type (1 IPv4, 2 IPv6) and
//! address, a sub-agent ID, a sequence number, the agent's uptime and the number of samples;
//! each sample is a data format word and its length. The probe wants that header and a first
//! sample whose length fits the datagram.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const VERSION: u32 = 5;

/// sFlow needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct SflowDissector;

impl Dissector for SflowDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SFLOW;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let address = match be_u32_at(p, 4) {
            Some(1) => 4,
            Some(2) => 16,
            _ => return Probe::NotForUs,
        };
        // Version, address type and address, sub-agent, sequence, uptime, sample count.
        let header = 8 + address + 16;
        let samples = be_u32_at(p, header - 4).unwrap_or(0);
        let first_fits =
            be_u32_at(p, header + 4).and_then(|n| usize::try_from(n).ok()).is_some_and(|n| n <= p.len() - header - 8);
        Probe::certain_if(be_u32_at(p, 0) == Some(VERSION) && samples >= 1 && first_fits)
    }

    const PORTS: Ports = Ports::udp(&[6343]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// sflow.pcap, 172.21.35.17:1027 → 172.21.35.199:6343: a datagram of 144 bytes, its header
    /// and its sample's head (the rest filled): agent 172.21.35.17, one sample of 108 bytes.
    fn datagram() -> Vec<u8> {
        let mut p = hex("0000000500000001ac152311000000010000019f673dd71000000001000000020000006c");
        p.resize(144, 0);
        p
    }

    #[test]
    fn sflow_headers_name_the_flow() {
        let f = udp([1027, 6343]);
        assert_eq!(run_one::<SflowDissector>(&f, &datagram()).0, Probe::Certain);
        truncations::<SflowDissector>(&f, &datagram());
    }

    #[test]
    fn other_datagrams_are_not_sflow() {
        let f = udp([1027, 6343]);
        let mut p = datagram();
        p[3] = 4;
        assert_eq!(run_one::<SflowDissector>(&f, &p).0, Probe::NotForUs, "version");
        let mut p = datagram();
        p[7] = 3;
        assert_eq!(run_one::<SflowDissector>(&f, &p).0, Probe::NotForUs, "address type");
        assert_eq!(run_one::<SflowDissector>(&f, &datagram()[..100]).0, Probe::NotForUs, "sample cut");
        assert_eq!(run_one::<SflowDissector>(&tcp([1027, 6343]), &datagram()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<SflowDissector>(&udp([1, 6343]), &[p]);
        }
    }
}
