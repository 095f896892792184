//! The ping of Valve's Steam Datagram Relay (the relay network Steam's games reach their
//! servers through), which nDPI names `SteamDatagramRelay` (flowsieve-only ID, nDPI's name;
//! application `netify.steam`).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as a fact
//! about the protocol; this is flowsieve's own code): a datagram of at least 100 bytes (the
//! client pads its ping with zeros) with `sdping` at offset 2.

use super::{protocol, Dissector, Probe, Segment, Transports};

const PING: &[u8] = b"sdping";
const PING_AT: usize = 2;
const MIN_LEN: usize = 100;

/// The ping needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct SteamSdrDissector;

impl Dissector for SteamSdrDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::STEAM_DATAGRAM_RELAY;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(p.len() >= MIN_LEN && p.get(PING_AT..PING_AT + PING.len()) == Some(PING))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// steam.pcapng, 192.168.88.231:46604 → 155.133.252.86:27045: the ping's first 32 bytes;
    /// the other 68 are zeros.
    const PING_HEAD: &str = "0181736470696e677ebe627ec7288817000000000659566591d40d8c62410b00";

    fn ping() -> Vec<u8> {
        let mut p = hex(PING_HEAD);
        p.resize(MIN_LEN, 0);
        p
    }

    #[test]
    fn the_ping_names_the_flow() {
        let f = udp([46604, 27045]);
        assert_eq!(run_one::<SteamSdrDissector>(&f, &ping()).0, Probe::Certain);
        truncations::<SteamSdrDissector>(&f, &ping());
    }

    #[test]
    fn near_misses_are_not_the_relay_ping() {
        let f = udp([46604, 27045]);
        // 99 bytes, the word one byte later, TCP.
        assert_eq!(run_one::<SteamSdrDissector>(&f, &ping()[..99]).0, Probe::NotForUs);
        assert_eq!(run_one::<SteamSdrDissector>(&f, &[&[0][..], &ping()].concat()).0, Probe::NotForUs);
        assert_eq!(run_one::<SteamSdrDissector>(&tcp([46604, 27045]), &ping()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..120)) {
            no_panic::<SteamSdrDissector>(&udp([1, 2]), &[p]);
        }
    }
}
