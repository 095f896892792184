//! Mumble's UDP ping (the Mumble protocol documentation, "UDP Ping"), on Mumble's default port
//! 64738, where its servers also take the voice datagrams and, over TCP, the TLS control
//! channel.
//!
//! A client asks a server for its status with 12 bytes: a 32-bit request type 0 and a 64-bit
//! identifier of its choosing. The server answers with 24 bytes: its version (32 bits, 0 then
//! major, minor and patch), the identifier echoed, then the current and maximum user counts
//! and the allowed bandwidth (32 bits each). The probe wants either on port 64738: a request
//! (type 0, 12 bytes) or an answer whose version's first byte is 0 and whose maximum user count
//! is at least the current one. Voice datagrams are encrypted (OCB2-AES128): only the port
//! would name them, which the port guess does. Netify's table has no Mumble, so the protocol
//! is flowsieve-only with nDPI's name; its application is `netify.mumble`.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const REQUEST: usize = 12;
const ANSWER: usize = 24;

/// Mumble needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct MumbleDissector;

/// `p` is a ping request or its answer.
fn ping(p: &[u8]) -> bool {
    match p.len() {
        REQUEST => be_u32_at(p, 0) == Some(0),
        ANSWER => {
            let (Some(users), Some(max_users)) = (be_u32_at(p, 12), be_u32_at(p, 16)) else {
                return false;
            };
            p.first() == Some(&0) && users <= max_users
        }
        _ => false,
    }
}

impl Dissector for MumbleDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MUMBLE;
    const TRANSPORTS: Transports = Transports::UDP;
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && Self::port_hint(flow) && ping(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[64738]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// mumble.pcapng in nDPI's corpus, 192.168.88.208:50085 ↔ 5.39.185.162:64738 (nDPI:
    /// Mumble): the ping and the answer of a version 1.3.4 server, 0 of 100 users.
    const REQUEST_BYTES: &str = "0000000003d72000fa76287e";
    const ANSWER_BYTES: &str = "0001030403d72000fa76287e000000000000006400011940";

    #[test]
    fn ping_and_answer() {
        let f = udp([50085, 64738]);
        for p in [REQUEST_BYTES, ANSWER_BYTES] {
            assert_eq!(run_one::<MumbleDissector>(&f, &hex(p)).0, Probe::Certain, "{p}");
            truncations::<MumbleDissector>(&f, &hex(p));
        }
    }

    #[test]
    fn other_payloads_are_not_mumble() {
        let f = udp([50085, 64738]);
        // Off the port; a request type other than 0; more users than the maximum; a version
        // whose first byte is not 0; other lengths.
        assert_eq!(run_one::<MumbleDissector>(&udp([50085, 64739]), &hex(REQUEST_BYTES)).0, Probe::NotForUs);
        let mut p = hex(REQUEST_BYTES);
        p[3] = 1;
        assert_eq!(run_one::<MumbleDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = hex(ANSWER_BYTES);
        p[12] = 1;
        assert_eq!(run_one::<MumbleDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = hex(ANSWER_BYTES);
        p[0] = 1;
        assert_eq!(run_one::<MumbleDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = hex(REQUEST_BYTES);
        p.push(0);
        assert_eq!(run_one::<MumbleDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<MumbleDissector>(&tcp([50085, 64738]), &hex(REQUEST_BYTES)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<MumbleDissector>(&udp([1, 64738]), &[p]);
        }
    }
}
