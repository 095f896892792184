//! Riot Games' game traffic over UDP (Netify's `Riot/Games`). The wire facts nDPI applies to
//! every UDP flow (docs/ARCHITECTURE.md, "nDPI's signatures are wire facts"), in flowsieve's own
//! code: a datagram of more than 8 bytes that ends with the 8-byte trailer aa aa aa aa bb bb bb
//! bb, or a 53-byte datagram that ends with 3c b1 1f 2d ea 23 46 0c. No port hint: the game
//! servers' ports vary.

use super::{protocol, Dissector, Probe, Segment, Transports};

/// The trailer of any length of datagram.
const TRAILER: [u8; 8] = [0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb];
/// The trailer of the 53-byte datagram.
const TRAILER_53: [u8; 8] = [0x3c, 0xb1, 0x1f, 0x2d, 0xea, 0x23, 0x46, 0x0c];
const LENGTH_53: usize = 53;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct RiotGamesDissector;

impl Dissector for RiotGamesDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RIOT_GAMES;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let trailer = p.len() > TRAILER.len() && p.ends_with(&TRAILER);
        Probe::certain_if(trailer || (p.len() == LENGTH_53 && p.ends_with(&TRAILER_53)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_trailers_are_riot_games() {
        // riotgames.pcap, 192.168.2.100:62854 → 162.249.72.1:8181 (36 bytes).
        let ping = hex("7374f60c72324204ab597f811fcc00876bbc000016e37c4014000000aaaaaaaabbbbbbbb");
        let f = udp([62854, 8181]);
        assert_eq!(run_one::<RiotGamesDissector>(&f, &ping).0, Probe::Certain);
        truncations::<RiotGamesDissector>(&f, &ping);
        // 192.168.2.100:59956 → 162.249.72.1:7194 (53 bytes).
        let hello = hex(concat!(
            "a49f9c31a03242040100000000000000000000000000000000000000000000000000000098b99eebc2e012d89",
            "53cb11f2dea23460c"
        ));
        assert_eq!(run_one::<RiotGamesDissector>(&udp([59956, 7194]), &hello).0, Probe::Certain);
    }

    #[test]
    fn near_misses_are_not() {
        let f = udp([59956, 7194]);
        // The trailer alone (no datagram before it), one trailer byte off.
        assert_eq!(run_one::<RiotGamesDissector>(&f, &TRAILER).0, Probe::NotForUs);
        let mut off = vec![1u8; 20];
        off.extend_from_slice(&TRAILER);
        off[27] = 0xba;
        assert_eq!(run_one::<RiotGamesDissector>(&f, &off).0, Probe::NotForUs);
        // The 53-byte trailer on a datagram of another length.
        let mut other = vec![0u8; 46];
        other.extend_from_slice(&TRAILER_53);
        assert_eq!(run_one::<RiotGamesDissector>(&f, &other).0, Probe::NotForUs);
        let mut ping = vec![0u8; 28];
        ping.extend_from_slice(&TRAILER);
        assert_eq!(run_one::<RiotGamesDissector>(&tcp([59956, 7194]), &ping).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<RiotGamesDissector>(&udp([1, 2]), &[p]);
        }
    }
}
