//! Ubiquiti's device discovery (nDPI's UBNTAC2), UDP port 10001.
//!
//! A discovery packet starts with a version byte (1 or 2), a command byte and a big-endian
//! 16-bit length of what follows the 4-byte header; the body is a list of records, each a type
//! byte, a 16-bit length and that many bytes (MAC and IP addresses, firmware, host name, model
//! …). Version 1's query is the bare header `01 00 00 00`. The probe needs the discovery port
//! and a packet whose length and records add up exactly.

use super::reader::Reader;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const HEADER: usize = 4;

/// Ubiquiti discovery needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct Ubntac2Dissector;

/// `p` is one discovery packet whose records fill it exactly.
fn packet(p: &[u8]) -> bool {
    let mut r = Reader::new(p);
    let (Some(version), Some(_command), Some(length)) = (r.u8(), r.u8(), r.u16()) else {
        return false;
    };
    if !matches!(version, 1 | 2) || usize::from(length) != p.len() - HEADER {
        return false;
    }
    while !r.is_empty() {
        if r.u8().is_none() || r.vec16().is_none() {
            return false;
        }
    }
    true
}

impl Dissector for Ubntac2Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::UBNTAC2;
    const TRANSPORTS: Transports = Transports::UDP;
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(Self::port_hint(flow) && packet(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[10001]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// ubntac2.pcap, 192.168.1.1:34085 → 255.255.255.255:10001: a router's version 2
    /// announcement (MAC+IP records, uptime, host name `ubnt`, model, firmware …).
    const ANNOUNCE: &str = concat!(
        "020600ab02000a802aa88d692bc0a8021502000a802aa88d692cc0a80101010006802aa88d692b0a00040000de600b000475626e740c000455475733030038556e694669536563757269747947617465",
        "7761792e45522d653132302e76342e332e33332e343933363038362e3136313230332e3230333116000e342e332e33332e34393336303836150004554757331700010018000100130006802aa88d692b120004000015cf1b0005342e302e30",
    );

    #[test]
    fn discovery_packets() {
        let f = udp([34085, 10001]);
        assert_eq!(run_one::<Ubntac2Dissector>(&f, &hex(ANNOUNCE)).0, Probe::Certain);
        assert_eq!(run_one::<Ubntac2Dissector>(&f, &hex("01000000")).0, Probe::Certain);
        truncations::<Ubntac2Dissector>(&f, &hex(ANNOUNCE));
    }

    #[test]
    fn other_payloads_are_not_discovery() {
        let f = udp([34085, 10001]);
        let p = hex(ANNOUNCE);
        assert_eq!(run_one::<Ubntac2Dissector>(&f, &p[..p.len() - 1]).0, Probe::NotForUs);
        let mut q = p.clone();
        q[0] = 3;
        assert_eq!(run_one::<Ubntac2Dissector>(&f, &q).0, Probe::NotForUs);
        assert_eq!(run_one::<Ubntac2Dissector>(&udp([34085, 10002]), &p).0, Probe::NotForUs);
        assert_eq!(run_one::<Ubntac2Dissector>(&f, b"hello world").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<Ubntac2Dissector>(&udp([1, 10001]), &[p]);
        }
    }
}
