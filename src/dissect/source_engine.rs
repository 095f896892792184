//! Valve's Source engine server queries (A2S, UDP, game servers on port 27015 and nearby).
//! A query or reply that fits one datagram starts with the 32-bit header `ff ff ff ff`, then
//! a type byte: `T` and `Source Engine Query\0` (A2S_INFO), `U` or `V` and a 32-bit challenge
//! (player and rules queries, exactly 9 bytes), `A` and a challenge (the server's challenge,
//! also 9 bytes), `I`, a protocol version and the server's NUL-terminated name (the info reply).

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const SINGLE: [u8; 4] = [0xff; 4];
const INFO_QUERY: &[u8] = b"TSource Engine Query\x00";
/// Header, type and a 32-bit challenge.
const CHALLENGE_LEN: usize = 9;
/// Longest server name read in an info reply.
const MAX_NAME: usize = 256;

/// Source engine queries need no state.
#[derive(Debug, Default)]
pub struct SourceEngineDissector;

/// `p` is an A2S query or reply.
fn a2s(p: &[u8]) -> bool {
    let Some(body) = p.strip_prefix(&SINGLE) else { return false };
    match body.first() {
        Some(b'T') => body.starts_with(INFO_QUERY),
        Some(b'U' | b'V' | b'A') => p.len() == CHALLENGE_LEN,
        Some(b'I') => body.get(2..).is_some_and(|name| {
            let name = &name[..name.len().min(MAX_NAME)];
            name.iter().position(|&b| b == 0).is_some_and(|end| name[..end].iter().all(|&b| b >= 0x20))
        }),
        _ => false,
    }
}

impl Dissector for SourceEngineDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SOURCE_ENGINE;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && a2s(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[27015]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn queries_are_source_engine() {
        // source_engine.pcap, 222.204.159.87:20595 → 206.125.246.211:27015: A2S_INFO.
        let f = udp([20595, 27015]);
        let info = hex("ffffffff54536f7572636520456e67696e6520517565727900");
        assert_eq!(run_one::<SourceEngineDissector>(&f, &info).0, Probe::Certain);
        truncations::<SourceEngineDissector>(&f, &info);
        assert_eq!(run_one::<SourceEngineDissector>(&f, b"\xff\xff\xff\xffU\xff\xff\xff\xff").0, Probe::Certain);
        assert_eq!(
            run_one::<SourceEngineDissector>(&f, b"\xff\xff\xff\xffI\x11My server\x00de_dust\x00").0,
            Probe::Certain
        );
    }

    #[test]
    fn others_are_not() {
        let f = udp([20595, 27015]);
        // A Quake 3 status query has the same header and a text command.
        assert_eq!(run_one::<SourceEngineDissector>(&f, b"\xff\xff\xff\xffgetstatus\n").0, Probe::NotForUs);
        assert_eq!(run_one::<SourceEngineDissector>(&f, b"\xff\xff\xff\xffU\xff\xff\xff\xff\x00").0, Probe::NotForUs);
        assert_eq!(
            run_one::<SourceEngineDissector>(&tcp([20595, 27015]), b"\xff\xff\xff\xffU\x00\x00\x00\x00").0,
            Probe::NotForUs
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<SourceEngineDissector>(&udp([1, 27015]), &[p]);
        }
    }
}
