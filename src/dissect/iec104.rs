//! IEC 60870-5-104, the telecontrol protocol of power grids over TCP port 2404, Netify's
//! `IEC60870/5/104` (277; nDPI calls it `IEC60870`).
//!
//! A TCP stream of APDUs, each an APCI of a start byte `0x68`, a length octet (4 to 253: the
//! bytes after it) and a 4-byte control field, then for I-format APDUs an ASDU. nDPI's wire
//! facts: APDUs of start byte `0x68` and non-zero length back to back, filling the payload
//! exactly. flowsieve tightens them from IEC 60870-5-104 §5: the length is 4 to 253; the
//! control field is one of the three formats, I (first bit 0: send and receive sequence
//! numbers, the receive number's first bit 0) with an ASDU of at least its 6-byte header
//! (type ID non-zero, then variable structure qualifier, cause of transmission and common
//! address), S (`01 00`, then the receive number) of length exactly 4, or U (`..11` with
//! exactly one of STARTDT, STOPDT, TESTFR act/con set and three zero octets) of length exactly 4.

use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const START: u8 = 0x68;
const CONTROL: usize = 4;
const MAX_LEN: usize = 253;
const ASDU_HEADER: usize = 6;
/// U-format functions: STARTDT act/con, STOPDT act/con, TESTFR act/con (bits 2–7).
const U_FUNCTIONS: [u8; 6] = [0x04, 0x08, 0x10, 0x20, 0x40, 0x80];

/// IEC 104 needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct Iec104Dissector;

/// One APDU body (control field and ASDU) of the length its APCI gave.
fn apdu(body: &[u8]) -> bool {
    let [c0, c1, c2, c3] = match body.get(..CONTROL) {
        Some(&[a, b, c, d]) => [a, b, c, d],
        _ => return false,
    };
    if c0 & 1 == 0 {
        // I format: the receive sequence number's low bit is zero.
        c2 & 1 == 0 && body.len() >= CONTROL + ASDU_HEADER && body.get(CONTROL).is_some_and(|&t| t != 0)
    } else if c0 & 3 == 1 {
        body.len() == CONTROL && c0 == 1 && c1 == 0 && c2 & 1 == 0
    } else {
        body.len() == CONTROL && U_FUNCTIONS.contains(&(c0 & 0xfc)) && [c1, c2, c3] == [0, 0, 0]
    }
}

/// `p` is APDUs back to back, filling it.
fn apdus(mut p: &[u8]) -> bool {
    if p.is_empty() {
        return false;
    }
    while let Some((&start, rest)) = p.split_first() {
        let Some((&len, rest)) = rest.split_first() else { return false };
        let len = usize::from(len);
        match rest.get(..len) {
            Some(body) if start == START && (CONTROL..=MAX_LEN).contains(&len) && apdu(body) => p = &rest[len..],
            _ => return false,
        }
    }
    true
}

impl Dissector for Iec104Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::IEC60870_5_104;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[START]);
    const PORTS: Ports = Ports::tcp(&[2404]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(apdus(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    const STARTDT_ACT: &[u8] = &[0x68, 4, 0x07, 0, 0, 0];
    const STARTDT_CON: &[u8] = &[0x68, 4, 0x0b, 0, 0, 0];
    const S_FRAME: &[u8] = &[0x68, 4, 0x01, 0, 0x0a, 0];
    /// An interrogation command (type 100, activation) as an I-format APDU.
    const INTERROGATION: &[u8] = &[0x68, 0x0e, 0, 0, 0, 0, 100, 1, 6, 0, 1, 0, 0, 0, 0, 20];

    #[test]
    fn apdus_are_iec_104() {
        let f = tcp([40000, 2404]);
        for p in [STARTDT_ACT, STARTDT_CON, S_FRAME, INTERROGATION] {
            assert_eq!(run_one::<Iec104Dissector>(&f, p).0, Probe::Certain, "{p:02x?}");
            truncations::<Iec104Dissector>(&f, p);
        }
        assert_eq!(run_one::<Iec104Dissector>(&f, &[STARTDT_CON, INTERROGATION, S_FRAME].concat()).0, Probe::Certain);
    }

    #[test]
    fn near_misses_are_not_iec_104() {
        let f = tcp([40000, 2404]);
        for p in [
            &[0x68, 4, 0x0f, 0, 0, 0][..],        // two U functions
            &[0x68, 4, 0x07, 0, 1, 0],            // U with a non-zero octet
            &[0x68, 5, 0x07, 0, 0, 0, 0],         // U longer than 4
            &[0x68, 4, 0x01, 1, 0, 0],            // S with a non-zero second octet
            &[0x68, 8, 0, 0, 0, 0, 100, 1, 6, 0], // I with a short ASDU
            &[0x68, 2, 0x07, 0],                  // too short an APCI
            &[0x69, 4, 0x07, 0, 0, 0],
        ] {
            assert_eq!(run_one::<Iec104Dissector>(&f, p).0, Probe::NotForUs, "{p:02x?}");
        }
        // A whole APDU followed by a partial one, an HTTP request, a TLS record.
        assert_eq!(run_one::<Iec104Dissector>(&f, &[STARTDT_ACT, &STARTDT_ACT[..3]].concat()).0, Probe::NotForUs);
        assert_eq!(run_one::<Iec104Dissector>(&f, b"hello world\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<Iec104Dissector>(&udp([40000, 2404]), STARTDT_ACT).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<Iec104Dissector>(&tcp([1, 2404]), std::slice::from_ref(&p));
            no_panic::<Iec104Dissector>(&tcp([1, 2404]), &[[&[0x68, 4][..], &p].concat()]);
        }
    }
}
