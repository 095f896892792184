//! DHCPv6 (RFC 8415): clients on UDP port 546, servers and relays on 547.
//!
//! A client/server message is a message type (1–11 and the later ones up to 36, RFC 8415 §7.3
//! and IANA's registry), a 3-byte transaction ID and options; a relay message (12 relay-forward,
//! 13 relay-reply) is the type, a hop count and two IPv6 addresses before its options. Each
//! option is a 16-bit code and a 16-bit length. The probe needs the DHCPv6 ports and options
//! that fill the message exactly.

use super::reader::Reader;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

/// Highest message type IANA has assigned.
const MAX_TYPE: u8 = 36;
const RELAY_FORW: u8 = 12;
const RELAY_REPL: u8 = 13;
/// Type and transaction ID; type, hop count, link and peer addresses.
const HEADER: usize = 4;
const RELAY_HEADER: usize = 34;

/// DHCPv6 needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct Dhcpv6Dissector;

/// `p` is one DHCPv6 message whose options fill it.
fn message(p: &[u8]) -> bool {
    let header = match p.first() {
        Some(&RELAY_FORW | &RELAY_REPL) => RELAY_HEADER,
        Some(&t) if (1..=MAX_TYPE).contains(&t) => HEADER,
        _ => return false,
    };
    let Some(options) = p.get(header..) else {
        return false;
    };
    let mut r = Reader::new(options);
    while !r.is_empty() {
        if r.u16().is_none() || r.vec16().is_none() {
            return false;
        }
    }
    true
}

impl Dissector for Dhcpv6Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DHCPV6;
    const TRANSPORTS: Transports = Transports::UDP;
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(Self::port_hint(flow) && message(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[546, 547]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// 1kxun.pcap, [fe80::406:55a8:6453:25dd]:546 → [ff02::1:2]:547: an Information-request
    /// (client ID, option request, elapsed time).
    const INFO_REQUEST: &str = "0b27731d0001000e000100011db8e6fb703eacf0f0070006000400170018000800020000";

    #[test]
    fn messages_on_the_dhcpv6_ports() {
        let f = udp([546, 547]);
        assert_eq!(run_one::<Dhcpv6Dissector>(&f, &hex(INFO_REQUEST)).0, Probe::Certain);
        truncations::<Dhcpv6Dissector>(&f, &hex(INFO_REQUEST));
    }

    #[test]
    fn other_payloads_are_not_dhcpv6() {
        let f = udp([546, 547]);
        let p = hex(INFO_REQUEST);
        assert_eq!(run_one::<Dhcpv6Dissector>(&f, &p[..p.len() - 1]).0, Probe::NotForUs);
        let mut q = p.clone();
        q[0] = 0;
        assert_eq!(run_one::<Dhcpv6Dissector>(&f, &q).0, Probe::NotForUs);
        assert_eq!(run_one::<Dhcpv6Dissector>(&udp([5000, 5001]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<Dhcpv6Dissector>(&udp([546, 547]), &[p]);
        }
    }
}
