//! Heroes of the Storm's game datagrams (Blizzard's game over UDP), which nDPI names
//! `Heroes_of_the_Storm` (flowsieve-only ID, nDPI's name; application `netify.blizzard`).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as a fact
//! about the protocol; this is flowsieve's own code): on one of Blizzard's game ports (1119,
//! 1120, 3724, 6113) a datagram of 20 to 122 bytes with `40 00` at offset 14, whose bytes 2–3
//! are `03 00` or `34 00` (the client's) or whose first 14 bytes are zero (the server's). One
//! datagram names the flow, as in nDPI. nDPI declares no port of its own for the game (1119 is
//! Battle.net's, `Starcraft`, 3724 World of Warcraft's), so there is no port guess for it: the
//! ports only gate the probe.

use super::{protocol, Dissector, FlowInfo, Probe, Segment};

/// The game's ports, either side.
const GAME_PORTS: [u16; 4] = [1119, 1120, 3724, 6113];
const LEN: std::ops::RangeInclusive<usize> = 20..=122;

/// Heroes of the Storm needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct HotsDissector;

fn is_hots(p: &[u8]) -> bool {
    let client = matches!(p.get(2..4), Some([0x03 | 0x34, 0x00]));
    let server = p.get(..14).is_some_and(|h| h.iter().all(|&b| b == 0));
    LEN.contains(&p.len()) && p.get(14..16) == Some(&[0x40, 0x00][..]) && (client || server)
}

impl Dissector for HotsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::HOTS;
    const TRANSPORTS: super::Transports = super::Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let port = GAME_PORTS.iter().any(|&p| flow.has_port(p));
        Probe::certain_if(flow.is_udp() && port && is_hots(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// hots.pcapng, 192.168.0.73:54598 ↔ 24.105.56.13:3724: the client's and the server's
    /// first datagrams.
    const CLIENT: &str = "e65d3400972714f73f95aae03e3640001abc63b32ac9fda5";
    const SERVER: &str = "00000000000000000000000000004000bcb64a77d8dde9c9e6be094ffa5330ea";

    #[test]
    fn game_datagrams_name_the_flow() {
        let f = udp([54598, 3724]);
        assert_eq!(run_one::<HotsDissector>(&f, &hex(CLIENT)).0, Probe::Certain);
        assert_eq!(run_one::<HotsDissector>(&f, &hex(SERVER)).0, Probe::Certain);
        assert_eq!(run_one::<HotsDissector>(&udp([1119, 50609]), &hex(SERVER)).0, Probe::Certain);
        truncations::<HotsDissector>(&f, &hex(CLIENT));
    }

    #[test]
    fn near_misses_are_not_hots() {
        let f = udp([54598, 3724]);
        let probe = |flow: &FlowInfo, p: &[u8]| run_one::<HotsDissector>(flow, p).0;
        // Not on a game port, not on UDP.
        assert_eq!(probe(&udp([54598, 3725]), &hex(CLIENT)), Probe::NotForUs);
        assert_eq!(probe(&tcp([54598, 3724]), &hex(CLIENT)), Probe::NotForUs);
        // Another flag word, another client type, a server header with a non-zero byte.
        let mut p = hex(CLIENT);
        p[14] = 0x41;
        assert_eq!(probe(&f, &p), Probe::NotForUs);
        let mut p = hex(CLIENT);
        p[2] = 0x35;
        assert_eq!(probe(&f, &p), Probe::NotForUs);
        let mut p = hex(SERVER);
        p[13] = 1;
        assert_eq!(probe(&f, &p), Probe::NotForUs);
        // Too short, too long.
        assert_eq!(probe(&f, &hex(SERVER)[..19]), Probe::NotForUs);
        assert_eq!(probe(&f, &[&hex(SERVER)[..], &[0; 91]].concat()), Probe::NotForUs);
        // No port guess: 1119 stays Battle.net's.
        assert!(!HotsDissector::port_hint(&udp([1119, 50609])));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..130)) {
            no_panic::<HotsDissector>(&udp([1, 3724]), &[p]);
        }
    }
}
