//! Threema's chat protocol (the message transport layer between the app and Threema's chat
//! servers), TCP port 5222. Threema's Cryptography Whitepaper ("Chat Protocol") and the open
//! clients built on it describe its handshake, which is NaCl boxes of fixed sizes:
//!
//! - client hello: the client's ephemeral public key (32 bytes) and its cookie (16): 48 bytes;
//! - server hello: the server's cookie (16) and a box (16 bytes of authenticator) holding the
//!   server's ephemeral public key (32) and the client's cookie (16): 80 bytes;
//! - then the client's login box, then length-prefixed boxes both ways.
//!
//! Nothing in those bytes is in the clear, so only their sizes on the protocol's port tell: a
//! 48-byte first payload from the flow's initiator on port 5222 shortlists the flow (the probe
//! is certain, the flow stays unnamed), and the parse names it when the next payload is the
//! 80-byte server hello, else gives the flow up to the port guess. Port 5222 is IANA's
//! `xmpp-client`, so it is no port guess for Threema: the dissector declares no ports.

use super::{protocol, Direction, Dissector, FlowInfo, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

/// The chat servers' port.
const PORT: u16 = 5222;
const CLIENT_HELLO: usize = 32 + 16;
const SERVER_HELLO: usize = 16 + 16 + 32 + 16;

/// Whether the client hello was read (the shortlisting payload).
#[derive(Debug, Default)]
pub struct ThreemaDissector {
    client_hello: bool,
}

impl Dissector for ThreemaDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::THREEMA;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let hello = segment.direction == Direction::Forward && segment.payload.len() == CLIENT_HELLO;
        Probe::certain_if(flow.is_tcp() && flow.has_port(PORT) && hello)
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        match (segment.direction, segment.payload.len(), self.client_hello) {
            (Direction::Forward, CLIENT_HELLO, false) => {
                self.client_hello = true;
                Parsed::Continue
            }
            (Direction::Reverse, SERVER_HELLO, true) => {
                facts.protocol = protocol::THREEMA;
                Parsed::Done
            }
            _ => Parsed::Skipped(Skip::Unconfirmed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// threema.pcap, 192.168.2.100:50484 → 185.88.236.110:5222: the client hello.
    const CLIENT: &str =
        concat!("f311eae3ae90ba57d118a3d9a8dfa7cf19078a494e6808845e29e1e574888770", "9501f0088068501b360fce1d5d29f9ab");
    /// The server hello that answers it.
    const SERVER: &str = concat!(
        "380ba1d30d2e5a12d3d44012df98c4adf743f10fc03c58cc79bb8158bf5562ae",
        "4d250c51ab8c2eb1db6b4fb484569decd4b47dcfa10d72033c14d1b2e5c14d8f",
        "e41722e4fdfa49f393074749f8f49b35"
    );

    fn probe(flow: &FlowInfo, direction: Direction, payload: &[u8]) -> Probe {
        ThreemaDissector::probe_flow(flow, &segment(flow, direction, 0, payload))
    }

    /// Parse the payloads in order; the last parse result and the facts.
    #[test]
    fn the_handshake_names_the_flow() {
        let f = tcp([50484, 5222]);
        assert_eq!(probe(&f, Direction::Forward, &hex(CLIENT)), Probe::Certain);
        let hellos = [(Direction::Forward, hex(CLIENT)), (Direction::Reverse, hex(SERVER))];
        let (parsed, facts) = parse_all::<ThreemaDissector>(&f, &hellos[..1]);
        assert_eq!((parsed, facts.protocol), (Parsed::Continue, protocol::UNKNOWN), "shortlisted, unnamed");
        let (parsed, facts) = parse_all::<ThreemaDissector>(&f, &hellos);
        assert_eq!((parsed, facts.protocol), (Parsed::Done, protocol::THREEMA));
        truncations::<ThreemaDissector>(&f, &hex(CLIENT));
    }

    #[test]
    fn other_flows_are_not_threema() {
        let f = tcp([50484, 5222]);
        // Only the initiator's 48-byte payload shortlists; the server hello alone does not.
        assert_eq!(probe(&f, Direction::Reverse, &hex(CLIENT)), Probe::NotForUs);
        assert_eq!(probe(&f, Direction::Reverse, &hex(SERVER)), Probe::NotForUs);
        assert_eq!(probe(&f, Direction::Forward, &[0x50; 191]), Probe::NotForUs);
        // Not on another port, not on UDP.
        assert_eq!(probe(&tcp([50484, 5223]), Direction::Forward, &hex(CLIENT)), Probe::NotForUs);
        assert_eq!(probe(&udp([50484, 5222]), Direction::Forward, &hex(CLIENT)), Probe::NotForUs);
        // A shortlisted flow whose answer is not the server hello is given up.
        let answer = [(Direction::Forward, hex(CLIENT)), (Direction::Reverse, vec![0x17; 79])];
        let (parsed, facts) = parse_all::<ThreemaDissector>(&f, &answer);
        assert_eq!((parsed, facts.protocol), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
        let twice = [(Direction::Forward, hex(CLIENT)), (Direction::Forward, hex(CLIENT))];
        assert_eq!(parse_all::<ThreemaDissector>(&f, &twice).0, Parsed::Skipped(Skip::Unconfirmed));
        // Port 5222 is XMPP's: no port guess for Threema there.
        assert!(!ThreemaDissector::port_hint(&f));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..100)) {
            no_panic::<ThreemaDissector>(&tcp([1, 5222]), &[p.clone(), p]);
        }
    }
}
