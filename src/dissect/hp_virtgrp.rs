//! The protocol nDPI names `HP_VIRTGRP` ("HP Virtual Machine Group Management", Netify's
//! `HP/VirtGrp`), over TCP. Its messages are framed by a type byte and a 16-bit big-endian
//! length that counts the whole message, header included. The wire fact nDPI applies to every
//! TCP flow (its public source, read for the fact only): the first payload of the flow is one
//! whole message of type 0x16 whose length field equals the payload's length and whose fourth
//! byte is zero.
//!
//! The same framing with other opening types (0x25, 0x26, then 0x30 data frames) is what nDPI
//! calls old-style Jabber over SSL (`dissect::xmpp`'s legacy framing); type 0x16 opens this one.
//! A TLS record also starts with 0x16, but its second and third bytes are the record version
//! (3, 0–4): as a length they would make a 768–772-byte payload whose fourth byte (the record
//! length's high byte) must then be zero, so a TLS hello is not claimed (and TLS probes first).
//!
//! nDPI's signature read as a wire fact (docs/ARCHITECTURE.md, "nDPI's signatures are wire
//! facts"), in flowsieve's own code. No port hint: nDPI guesses nothing from the port.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// The opening message's type.
const OPEN: u8 = 0x16;
/// Type, length, and the zero byte after them.
const HEADER: usize = 4;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct HpVirtGrpDissector;

/// Whether `p` is exactly one opening message.
fn opening(p: &[u8]) -> Probe {
    if p.len() < HEADER {
        return if p.first() == Some(&OPEN) { Probe::Unsure } else { Probe::NotForUs };
    }
    let whole = be_u16_at(p, 1).is_some_and(|n| usize::from(n) == p.len());
    Probe::certain_if(p[0] == OPEN && whole && p[3] == 0)
}

impl Dissector for HpVirtGrpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::HP_VIRTGRP;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[OPEN]);

    fn probe(segment: &Segment<'_>) -> Probe {
        opening(segment.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// hpvirtgrp.pcap, 192.168.2.100:46570 → 160.44.194.66:5223, the first payload (132 bytes:
    /// the header, then 128 bytes shown here in part and padded as the capture's length says).
    fn opening_message() -> Vec<u8> {
        let mut p = hex("16008400aa884262dfab49b28b532ce441239bee9caa8552f9bc40ddbbce1c77391abd8f7387c290");
        p.resize(132, 0x5a);
        p
    }

    #[test]
    fn the_opening_message_is_hp_virtgrp() {
        let f = tcp([46570, 5223]);
        assert_eq!(run_one::<HpVirtGrpDissector>(&f, &opening_message()).0, Probe::Certain);
        truncations::<HpVirtGrpDissector>(&f, &opening_message());
        assert_eq!(run_one::<HpVirtGrpDissector>(&f, &[0x16, 0x00]).0, Probe::Unsure);
    }

    #[test]
    fn near_misses_are_not() {
        let f = tcp([46570, 5223]);
        let p = opening_message();
        // One byte more or less than the length field says.
        assert_eq!(run_one::<HpVirtGrpDissector>(&f, &p[..131]).0, Probe::NotForUs);
        let mut longer = p.clone();
        longer.push(0);
        assert_eq!(run_one::<HpVirtGrpDissector>(&f, &longer).0, Probe::NotForUs);
        // The server's answer (type 0x17) and the data frames (0x30) do not open the flow.
        let mut answer = p.clone();
        answer[0] = 0x17;
        assert_eq!(run_one::<HpVirtGrpDissector>(&f, &answer).0, Probe::NotForUs);
        // A non-zero fourth byte.
        let mut odd = p;
        odd[3] = 1;
        assert_eq!(run_one::<HpVirtGrpDissector>(&f, &odd).0, Probe::NotForUs);
        // A TLS ClientHello record.
        let mut hello = hex("160301007a0100007603035f");
        hello.resize(0x7a + 5, 0);
        assert_eq!(run_one::<HpVirtGrpDissector>(&f, &hello).0, Probe::NotForUs);
        assert_eq!(run_one::<HpVirtGrpDissector>(&udp([46570, 5223]), &opening_message()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<HpVirtGrpDissector>(&tcp([1, 5223]), &[p]);
        }
    }
}
