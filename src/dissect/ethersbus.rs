//! Saia-Burgess's Ether-S-Bus (the S-Bus PLC protocol over UDP, commonly port 5050). The wire
//! facts nDPI applies to every UDP flow (docs/ARCHITECTURE.md, "nDPI's signatures are wire
//! facts"): a datagram of more than 12 bytes whose first four bytes are its length (32-bit
//! big-endian), whose fifth byte (the protocol version) is 0 or 1 and sixth byte zero, and whose
//! last two bytes are the CRC-16/XMODEM (polynomial 0x1021, initial value 0, big-endian) of all
//! the bytes before them. The checksum makes the rule strong; no port is needed.

use super::reader::{be_u16_at, be_u32_at};
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// The shortest datagram nDPI takes is one byte longer.
const SHORTEST: usize = 12;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct EtherSbusDissector;

/// CRC-16/XMODEM of `bytes`.
fn crc16_xmodem(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (0..8).fold(crc ^ (u16::from(b) << 8), |c, _| if c & 0x8000 != 0 { (c << 1) ^ 0x1021 } else { c << 1 })
    })
}

impl Dissector for EtherSbusDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ETHER_S_BUS;
    const TRANSPORTS: Transports = Transports::UDP;
    /// The length's high byte: zero for any datagram.
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.len() <= SHORTEST {
            return Probe::NotForUs;
        }
        let sized = be_u32_at(p, 0).and_then(|n| usize::try_from(n).ok()) == Some(p.len());
        let header = p[4] < 2 && p[5] == 0;
        let checked = be_u16_at(p, p.len() - 2) == Some(crc16_xmodem(&p[..p.len() - 2]));
        Probe::certain_if(sized && header && checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn a_checked_telegram_is_ether_s_bus() {
        // ethersbus.pcap, 172.16.1.120:2467 → 172.16.1.135:5050 and the answer.
        let f = udp([2467, 5050]);
        for p in ["0000000d01000001000a205318", "00000014000000010144324d343830323000fac9"] {
            assert_eq!(run_one::<EtherSbusDissector>(&f, &hex(p)).0, Probe::Certain, "{p}");
            truncations::<EtherSbusDissector>(&f, &hex(p));
        }
    }

    #[test]
    fn near_misses_are_not() {
        let f = udp([2467, 5050]);
        let p = hex("0000000d01000001000a205318");
        // A wrong checksum, length, version; TCP.
        for (at, value) in [(12, 0x19), (3, 0x0c), (4, 2)] {
            let mut q = p.clone();
            q[at] = value;
            assert_eq!(run_one::<EtherSbusDissector>(&f, &q).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<EtherSbusDissector>(&tcp([2467, 5050]), &p).0, Probe::NotForUs);
        // The checksum's standard check value: CRC-16/XMODEM of "123456789" is 0x31c3.
        assert_eq!(crc16_xmodem(b"123456789"), 0x31c3);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<EtherSbusDissector>(&udp([1, 5050]), &[p]);
        }
    }
}
