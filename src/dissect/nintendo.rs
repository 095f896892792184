//! Nintendo's Pia, the networking library of Nintendo's console games (Wii U, 3DS, Switch):
//! UDP between consoles and to Nintendo's relay and monitoring servers. Its packet format is
//! documented by the community that re-implements Nintendo's servers (the NintendoClients
//! wiki's "Pia Protocol" page, Pretendo's Pia pages).
//!
//! Every Pia packet starts with an unencrypted header: the magic number `32 ab 98 64`, then a
//! byte that is the encryption flag in the oldest versions (1 not encrypted, 2 encrypted; 0/1
//! in some) and from Pia 5.11 a version number (3 and up) with 0x80 for encryption, then at
//! least a connection or variable ID and a packet ID: 12 bytes or more. The probe wants the
//! magic, a known version byte and that much header.

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const MAGIC: [u8; 4] = [0x32, 0xab, 0x98, 0x64];
/// The shortest header (Pia up to 5.6): magic, flag, connection ID, packet ID, two timers.
const MIN_HEADER: usize = 12;
/// The highest version number the probe accepts in the low bits of the version byte (the
/// documented ones reach 11 with Pia 6.x; a margin for later ones).
const MAX_VERSION: u8 = 15;

/// Pia needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct NintendoDissector;

/// The byte after the magic: an encryption flag (0–2) or a version number with 0x80 set when
/// the packet is encrypted.
fn known_version(b: u8) -> bool {
    b & 0x7f <= MAX_VERSION
}

impl Dissector for NintendoDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NINTENDO;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[MAGIC[0]]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(p.len() >= MIN_HEADER && p[..4] == MAGIC && known_version(p[4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// nintendo.pcap, 192.168.12.114:52119 → 91.8.243.35:49432: a console-to-console packet,
    /// encrypted (flag 2), first 24 of 60 bytes.
    const PEER: &str = "32ab9864025603cb960133e0c648f83493fb68c9e9cdf041";
    /// nintendo.pcap, 192.168.12.114:55915 → 35.158.74.61:33335: to Nintendo's server, not
    /// encrypted (flag 1), first 32 of 64 bytes.
    const SERVER: &str = "32ab986401010000e54f000008fd00100000000000654d480400000300000000";

    #[test]
    fn pia_packets_name_the_flow() {
        let f = udp([52119, 49432]);
        assert_eq!(run_one::<NintendoDissector>(&f, &hex(PEER)).0, Probe::Certain);
        assert_eq!(run_one::<NintendoDissector>(&udp([55915, 33335]), &hex(SERVER)).0, Probe::Certain);
        // Pia 5.11 and later: version 9, encrypted.
        let mut v9 = hex(PEER);
        v9[4] = 0x89;
        assert_eq!(run_one::<NintendoDissector>(&f, &v9).0, Probe::Certain);
        truncations::<NintendoDissector>(&f, &hex(PEER));
    }

    #[test]
    fn other_payloads_are_not_pia() {
        let f = udp([52119, 49432]);
        let mut p = hex(PEER);
        p[3] = 0x65;
        assert_eq!(run_one::<NintendoDissector>(&f, &p).0, Probe::NotForUs, "magic");
        let mut p = hex(PEER);
        p[4] = 0x40;
        assert_eq!(run_one::<NintendoDissector>(&f, &p).0, Probe::NotForUs, "version");
        assert_eq!(run_one::<NintendoDissector>(&f, &hex(PEER)[..MIN_HEADER - 1]).0, Probe::NotForUs);
        // The NAT test datagram the same console sends to Nintendo's server is not Pia.
        assert_eq!(run_one::<NintendoDissector>(&f, &[0; 16]).0, Probe::NotForUs);
        assert_eq!(run_one::<NintendoDissector>(&tcp([52119, 49432]), &hex(PEER)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<NintendoDissector>(&udp([1, 2]), &[p]);
        }
    }
}
