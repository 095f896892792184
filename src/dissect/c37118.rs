//! IEEE C37.118.2 synchrophasor data transfer, between phasor measurement units and data
//! concentrators over TCP port 4712 and UDP 4713; not in Netify's table, so a flowsieve-only
//! ID with nDPI's name `IEEE-C37118`.
//!
//! Every frame (C37.118.2-2011 §6.2) starts with the 16-bit SYNC word, `0xAA` then a byte of a
//! reserved zero bit, the 3-bit frame type (0 data, 1 header, 2 configuration 1,
//! 3 configuration 2, 4 command, 5 configuration 3) and the 4-bit version (1 for the 2005
//! standard, 2 for 2011); then FRAMESIZE, the frame's whole length in bytes, IDCODE, SOC and
//! FRACSEC (16 bytes with the trailer at least), and ends with CHK, the CRC-CCITT of every
//! byte before it (polynomial 0x1021, initial value 0xFFFF, no reflection). nDPI's wire
//! facts: `0xAA`, a frame type below 6, FRAMESIZE equal to the payload and a sound CRC.
//! flowsieve adds the version (1 or 2) and takes several whole frames back to back.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const SYNC: u8 = 0xaa;
const MIN_FRAME: usize = 16;
const LAST_TYPE: u8 = 5;
const VERSIONS: std::ops::RangeInclusive<u8> = 1..=2;

/// C37.118 needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct C37118Dissector;

/// CRC-CCITT as C37.118.2 Annex B computes it (the "false" variant).
fn crc_ccitt(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

fn frame(f: &[u8]) -> bool {
    let Some(&kind) = f.get(1) else { return false };
    let Some((body, chk)) = f.len().checked_sub(2).map(|n| f.split_at(n)) else { return false };
    f.first() == Some(&SYNC)
        && kind >> 4 <= LAST_TYPE
        && VERSIONS.contains(&(kind & 0x0f))
        && f.len() >= MIN_FRAME
        && be_u16_at(chk, 0) == Some(crc_ccitt(body))
}

/// `p` is whole frames back to back.
fn frames(mut p: &[u8]) -> bool {
    if p.is_empty() {
        return false;
    }
    while !p.is_empty() {
        let Some(size) = be_u16_at(p, 2).map(usize::from) else { return false };
        match p.get(..size) {
            Some(f) if frame(f) => p = &p[size..],
            _ => return false,
        }
    }
    true
}

impl Dissector for C37118Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::IEEE_C37118;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[SYNC]);
    const PORTS: Ports = Ports { tcp: &[4712], udp: &[4713] };

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(frames(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A command frame (type 4, version 1) from a concentrator: IDCODE 7, SOC, FRACSEC,
    /// CMD 2 (turn transmission on), CHK.
    fn command() -> Vec<u8> {
        let mut f = vec![0xaa, 0x41, 0, 18, 0, 7, 0x5f, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 2];
        let crc = crc_ccitt(&f);
        f.extend_from_slice(&crc.to_be_bytes());
        f
    }

    #[test]
    fn the_crc_is_ccitt_false() {
        // The CRC catalogue's check value for CRC-16/CCITT-FALSE.
        assert_eq!(crc_ccitt(b"123456789"), 0x29b1);
    }

    #[test]
    fn frames_are_c37118() {
        for f in [tcp([40000, 4712]), udp([40000, 4713]), tcp([1, 2])] {
            assert_eq!(run_one::<C37118Dissector>(&f, &command()).0, Probe::Certain);
            assert_eq!(run_one::<C37118Dissector>(&f, &[command(), command()].concat()).0, Probe::Certain);
            truncations::<C37118Dissector>(&f, &command());
        }
    }

    #[test]
    fn near_misses_are_not_c37118() {
        let f = tcp([40000, 4712]);
        // Frame type 6, version 3, the reserved bit, a wrong FRAMESIZE, a bad CRC.
        for (at, value) in [(1, 0x61), (1, 0x43), (1, 0xc1), (3, 20)] {
            let mut p = command();
            p[at] = value;
            assert_eq!(run_one::<C37118Dissector>(&f, &p).0, Probe::NotForUs, "byte {at}");
        }
        let mut bad_crc = command();
        bad_crc[17] ^= 0xff;
        assert_eq!(run_one::<C37118Dissector>(&f, &bad_crc).0, Probe::NotForUs);
        assert_eq!(run_one::<C37118Dissector>(&f, &[command(), vec![0xaa]].concat()).0, Probe::NotForUs);
        assert_eq!(run_one::<C37118Dissector>(&f, &[0xaa; 18]).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<C37118Dissector>(&udp([1, 4713]), &[[&[0xaa, 0x41, 0, 18][..], &p].concat(), p]);
        }
    }
}
