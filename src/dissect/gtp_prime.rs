//! GTP' (3GPP TS 32.295), the protocol that carries charging data records from GSNs to charging
//! gateways, over UDP on its registered port 3386.
//!
//! Its header (TS 32.295 §6.1) opens with one octet: the version in the top three bits, the
//! protocol type bit (0 for GTP', 1 would be GTP), three spare bits set to 1 and the header
//! length bit (a 20-octet or a 6-octet header); then the message type, the length of what
//! follows the first 6 octets, and a sequence number. Message types (§6.2): echo request and
//! response (1, 2), version not supported (3), node alive request and response (4, 5),
//! redirection request and response (6, 7), data record transfer request and response (240,
//! 241). The probe wants a datagram on port 3386 whose first octet, message type and length
//! agree with that; Netify names GTP' `GTP/P`. The port names nothing on its own: nDPI does not
//! guess GTP' from it (its `gtp_false_positive.pcapng` has a flow on 3386 it leaves Unknown),
//! so 3386 is not among the dissector's guessing [`Dissector::PORTS`].

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Probe, Segment, Transports};

/// The mandatory part of the header, which the length field does not count.
const MANDATORY: usize = 6;
/// Protocol type bit and spare bits of the first octet, and their values in GTP'.
const TYPE_AND_SPARE: u8 = 0x1e;
const GTP_PRIME_SPARE: u8 = 0x0e;
/// Highest version TS 32.295 defines (versions 0, 1 and 2).
const MAX_VERSION: u8 = 2;
const MESSAGE_TYPES: [u8; 9] = [1, 2, 3, 4, 5, 6, 7, 240, 241];
/// The UDP port IANA registered for GTP'.
const PORT: u16 = 3386;

/// GTP' needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct GtpPrimeDissector;

/// `p` is one whole GTP' message.
fn message(p: &[u8]) -> bool {
    let (Some(&first), Some(&kind), Some(length)) = (p.first(), p.get(1), be_u16_at(p, 2)) else {
        return false;
    };
    first & TYPE_AND_SPARE == GTP_PRIME_SPARE
        && first >> 5 <= MAX_VERSION
        && MESSAGE_TYPES.contains(&kind)
        && usize::from(length) + MANDATORY == p.len()
}

impl Dissector for GtpPrimeDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::GTP_P;
    const TRANSPORTS: Transports = Transports::UDP;
    /// Versions 0–2, the GTP' type bit clear, the spare bits set, either header length.
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x0e, 0x0f, 0x2e, 0x2f, 0x4e, 0x4f]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && flow.has_port(PORT) && message(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// gtp_prime.pcapng in nDPI's corpus, 10.10.54.1:64580 → 10.10.39.10:3386: a data record
    /// transfer request (version 1, 6-octet header), its first 64 bytes; the length field
    /// (244) is set below to what the test keeps.
    const TRANSFER: &str = concat!(
        "2ef000f400047e01fc00ef01011c0600e9bf608200e4800160830813002100000000f0a4068004",
        "0a0a3501850407900000870565687270648802f121",
    );

    fn transfer() -> Vec<u8> {
        let mut p = hex(TRANSFER);
        let length = u16::try_from(p.len() - MANDATORY).unwrap();
        p[2..4].copy_from_slice(&length.to_be_bytes());
        p
    }

    #[test]
    fn data_record_transfer_and_echo() {
        let f = udp([64580, 3386]);
        assert_eq!(run_one::<GtpPrimeDissector>(&f, &transfer()).0, Probe::Certain);
        truncations::<GtpPrimeDissector>(&f, &transfer());
        // An echo request with its 6-octet header only (version 2, header length bit set).
        assert_eq!(run_one::<GtpPrimeDissector>(&f, &[0x4f, 1, 0, 0, 0, 7]).0, Probe::Certain);
    }

    #[test]
    fn other_payloads_are_not_gtp_prime() {
        let f = udp([64580, 3386]);
        // Off its port; GTP's protocol type bit; spare bits cleared; version 3; an unknown
        // message type; a length that disagrees with the datagram.
        assert_eq!(run_one::<GtpPrimeDissector>(&udp([64580, 3387]), &transfer()).0, Probe::NotForUs);
        for (at, value) in [(0, 0x3e), (0, 0x20), (0, 0x6e), (1, 16), (3, 0)] {
            let mut p = transfer();
            p[at] = value;
            assert_eq!(run_one::<GtpPrimeDissector>(&f, &p).0, Probe::NotForUs, "byte {at} = {value:#x}");
        }
        assert_eq!(run_one::<GtpPrimeDissector>(&tcp([64580, 3386]), &transfer()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<GtpPrimeDissector>(&udp([1, 3386]), &[p]);
        }
    }
}
