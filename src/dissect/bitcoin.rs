//! Bitcoin's peer-to-peer protocol (TCP, port 8333 on the main network, 18333 testnet, 38333
//! signet, 18444 regtest).
//!
//! Every message has a 24-byte header: the network's 4-byte magic (`f9 be b4 d9` main,
//! `0b 11 09 07` testnet3, `1c 16 3f 28` testnet4, `0a 03 cf 40` signet, `fa bf b5 da`
//! regtest), a 12-byte command name in ASCII padded with NULs (`version`, `verack`, …), the
//! payload's length (32-bit little-endian, at most 32 MB) and a 4-byte checksum. The magic and a
//! well-formed command decide.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const MAGICS: [[u8; 4]; 5] = [
    [0xf9, 0xbe, 0xb4, 0xd9],
    [0x0b, 0x11, 0x09, 0x07],
    [0x1c, 0x16, 0x3f, 0x28],
    [0x0a, 0x03, 0xcf, 0x40],
    [0xfa, 0xbf, 0xb5, 0xda],
];
/// Magic, command, length, checksum.
const HEADER: usize = 24;
/// The command field.
const COMMAND: std::ops::Range<usize> = 4..16;
/// The protocol's largest message (`MAX_SIZE`, 32 MB).
const MAX_PAYLOAD: u32 = 32 << 20;

/// Bitcoin needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct BitcoinDissector;

/// A command name: lowercase ASCII letters, then NUL padding only.
fn command(c: &[u8]) -> bool {
    let name = c.iter().take_while(|&&b| b != 0).count();
    name > 0 && c[..name].iter().all(u8::is_ascii_lowercase) && c[name..].iter().all(|&b| b == 0)
}

impl Dissector for BitcoinDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::BITCOIN;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes =
        FirstBytes::of(&[MAGICS[0][0], MAGICS[1][0], MAGICS[2][0], MAGICS[3][0], MAGICS[4][0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || !MAGICS.iter().any(|m| m.starts_with(&p[..p.len().min(4)])) || p.is_empty() {
            Probe::NotForUs
        } else if p.len() < HEADER {
            Probe::Unsure
        } else {
            Probe::certain_if(command(&p[COMMAND]) && le_u32_at(p, 16).is_some_and(|l| l <= MAX_PAYLOAD))
        }
    }

    const PORTS: Ports = Ports::tcp(&[8333, 18333, 38333, 18444]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// bitcoin.pcap, 192.168.1.142:55317 → 188.165.213.169:8333: `version`'s header, and the
    /// `verack` answering it.
    const VERSION: &str = "f9beb4d976657273696f6e000000000055000000017d0000";
    const VERACK: &str = "f9beb4d976657261636b00000000000000000000f9beb4d967657461646472";

    #[test]
    fn the_header_decides() {
        let f = tcp([55317, 40000]);
        assert_eq!(run_one::<BitcoinDissector>(&f, &hex(VERSION)).0, Probe::Certain);
        assert_eq!(run_one::<BitcoinDissector>(&f, &hex(VERACK)).0, Probe::Certain);
        assert_eq!(run_one::<BitcoinDissector>(&f, &hex(&VERSION[..16])).0, Probe::Unsure);
        truncations::<BitcoinDissector>(&f, &hex(VERSION));
    }

    #[test]
    fn other_payloads_are_not_bitcoin() {
        let f = tcp([55317, 8333]);
        let mut p = hex(VERSION);
        p[11] = b'X'; // `versioX`: not a command name
        assert_eq!(run_one::<BitcoinDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = hex(VERSION);
        p[13] = b'a'; // letters after the padding
        assert_eq!(run_one::<BitcoinDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<BitcoinDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<BitcoinDissector>(&udp([1, 8333]), &hex(VERSION)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut q = hex(VERSION);
            q.extend_from_slice(&p);
            no_panic::<BitcoinDissector>(&tcp([1, 8333]), &[p, q]);
        }
    }
}
