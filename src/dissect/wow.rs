//! World of Warcraft's game server connection (Blizzard's game over TCP; 3724 is the port
//! Blizzard lists for it). The community documentation of its protocol (the WoWDev wiki's
//! packets pages, and the open server implementations) describes how a connection opens in
//! the game's later versions: each side first sends a 16-bit little-endian length and the
//! NUL-terminated text `WORLD OF WARCRAFT CONNECTION - SERVER TO CLIENT` (the server) or
//! `… - CLIENT TO SERVER` (the client). The probe wants that text after its length, on any port.

use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const TEXT: &[u8] = b"WORLD OF WARCRAFT CONNECTION - ";
/// Where the text starts: after the length.
const AT: usize = 2;

/// The connection string needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct WowDissector;

impl Dissector for WowDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::WOW;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x30, 0x31]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let length = p.get(..AT).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])));
        // The two texts are 48 bytes with their NUL; the length counts them.
        if length.is_none_or(|n| !(n == 48 || n == 49)) {
            return Probe::NotForUs;
        }
        let text = &p[AT..];
        if text.len() < TEXT.len() {
            return if TEXT.starts_with(text) { Probe::Unsure } else { Probe::NotForUs };
        }
        Probe::certain_if(text.starts_with(TEXT))
    }

    const PORTS: Ports = Ports::tcp(&[3724]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// wow.pcap, 12.129.228.153:3724 → 192.168.178.20:39329: the server's string, and the
    /// client's answer.
    const SERVER: &[u8] = b"\x30\x00WORLD OF WARCRAFT CONNECTION - SERVER TO CLIENT\x00";
    const CLIENT: &[u8] = b"\x30\x00WORLD OF WARCRAFT CONNECTION - CLIENT TO SERVER\x00";

    #[test]
    fn the_connection_string_names_the_flow() {
        let f = tcp([39329, 3724]);
        assert_eq!(SERVER.len(), 50);
        assert_eq!(run_one::<WowDissector>(&f, SERVER).0, Probe::Certain);
        assert_eq!(run_one::<WowDissector>(&tcp([39329, 8085]), CLIENT).0, Probe::Certain, "any port");
        assert_eq!(run_one::<WowDissector>(&f, &SERVER[..12]).0, Probe::Unsure);
        truncations::<WowDissector>(&f, SERVER);
    }

    #[test]
    fn other_payloads_are_not_wow() {
        let f = tcp([39329, 3724]);
        assert_eq!(
            run_one::<WowDissector>(&f, b"\x30\x00WORLD OF TANKS CONNECTION - SERVER TO CLIENT\x00").0,
            Probe::NotForUs
        );
        assert_eq!(
            run_one::<WowDissector>(&f, b"\x20\x00WORLD OF WARCRAFT CONNECTION - SERVER TO CLIENT\x00").0,
            Probe::NotForUs
        );
        assert_eq!(run_one::<WowDissector>(&f, b"0").0, Probe::NotForUs);
        assert_eq!(run_one::<WowDissector>(&udp([39329, 3724]), SERVER).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            let mut q = vec![0x30, 0x00];
            q.extend_from_slice(&p);
            no_panic::<WowDissector>(&tcp([1, 3724]), &[p, q]);
        }
    }
}
