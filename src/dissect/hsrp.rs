//! Cisco's Hot Standby Router Protocol (RFC 2281 for version 1), UDP port 1985 (IPv4) and
//! 2029 (version 2 over IPv6).
//!
//! A version 1 message is 20 bytes: version 0, an op code (0 hello, 1 coup, 2 resign), a state
//! (0 initial, 1 learn, 2 listen, 4 speak, 8 standby, 16 active), hello and hold times, a
//! priority, a group, a reserved byte, 8 bytes of authentication data and the virtual IPv4
//! address. Version 2 messages are a list of records, each a type (1 group state, 2 interface
//! state, 3 text authentication, 4 MD5 authentication), a length and that many bytes. The probe
//! needs HSRP's ports and a message of exactly that shape.

use super::reader::Reader;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const V1_LEN: usize = 20;
const V1_STATES: [u8; 6] = [0, 1, 2, 4, 8, 16];

/// HSRP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct HsrpDissector;

/// `p` is one HSRP version 1 message, or version 2 records that fill it exactly.
fn message(p: &[u8]) -> bool {
    if p.len() == V1_LEN && p[0] == 0 && p[1] <= 2 && V1_STATES.contains(&p[2]) {
        return true;
    }
    let mut r = Reader::new(p);
    let mut records = 0;
    while !r.is_empty() {
        match (r.u8(), r.vec8()) {
            (Some(1..=4), Some(_)) => records += 1,
            _ => return false,
        }
    }
    records > 0
}

impl Dissector for HsrpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::HSRP;
    const TRANSPORTS: Transports = Transports::UDP;
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(Self::port_hint(flow) && message(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[1985, 2029]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn both_versions() {
        // hsrp0.pcap, 10.28.168.253:1985 → 224.0.0.2:1985: a version 1 hello, state active,
        // authentication `cisco`.
        let v1 = hex("000010030a5a0a00636973636f0000000a1ca8fe");
        assert_eq!(run_one::<HsrpDissector>(&udp([1985, 1985]), &v1).0, Probe::Certain);
        truncations::<HsrpDissector>(&udp([1985, 1985]), &v1);
        // hsrp2_ipv6.pcapng, [fe80::1]:2029 → [ff02::66]:2029: an interface state record.
        let v2 = hex("020400000001");
        assert_eq!(run_one::<HsrpDissector>(&udp([2029, 2029]), &v2).0, Probe::Certain);
    }

    #[test]
    fn other_payloads_are_not_hsrp() {
        let f = udp([1985, 1985]);
        assert_eq!(run_one::<HsrpDissector>(&f, &hex("000010030a5a0a00636973636f0000000a1ca8")).0, Probe::NotForUs);
        assert_eq!(run_one::<HsrpDissector>(&f, &hex("0204000000")).0, Probe::NotForUs);
        assert_eq!(run_one::<HsrpDissector>(&f, &hex("090400000001")).0, Probe::NotForUs);
        assert_eq!(run_one::<HsrpDissector>(&udp([1, 2]), &hex("020400000001")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<HsrpDissector>(&udp([1985, 1985]), &[p]);
        }
    }
}
