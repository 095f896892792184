//! Z39.50, the library information retrieval protocol (ANSI/NISO Z39.50, ISO 23950), TCP port
//! 210.
//!
//! Its messages are BER-encoded APDUs. A session opens with an InitializeRequest (context tag
//! 20, constructed: `b4`), answered by an InitializeResponse (`b5`); the APDU's first element is
//! the protocol version, tag 3 (`83`). The probe wants that opening, its BER length agreeing
//! with the segment.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const INIT_TAGS: [u8; 2] = [0xb4, 0xb5];
const PROTOCOL_VERSION: u8 = 0x83;

/// Z39.50 needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct Z3950Dissector;

/// The BER length at the start of `p` and the bytes it took, short or long form (up to 2 bytes).
fn ber_length(p: &[u8]) -> Option<(usize, usize)> {
    match *p.first()? {
        n @ 0..=0x7f => Some((usize::from(n), 1)),
        0x81 => Some((usize::from(*p.get(1)?), 2)),
        0x82 => Some((usize::from(u16::from_be_bytes([*p.get(1)?, *p.get(2)?])), 3)),
        _ => None,
    }
}

impl Dissector for Z3950Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::Z39_50;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.first().is_none_or(|t| !INIT_TAGS.contains(t)) {
            return Probe::NotForUs;
        }
        let Some((length, size)) = ber_length(&p[1..]) else { return Probe::NotForUs };
        let whole = 1 + size + length == p.len();
        Probe::certain_if(whole && p.get(1 + size) == Some(&PROTOCOL_VERSION))
    }

    const PORTS: Ports = Ports::tcp(&[210]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn initialize_names_the_flow() {
        // z3950.pcapng, 192.168.0.20:46524 → 129.187.139.43:9991: an InitializeRequest of 84
        // bytes (its start, then filler inside the last element).
        let f = tcp([46524, 9991]);
        let mut init = hex("b452830200e0840300e9a28504040000008604040000009f6e0238319f6f0359415a9f702f352e32");
        init.resize(84, b'0');
        assert_eq!(run_one::<Z3950Dissector>(&f, &init).0, Probe::Certain);
        truncations::<Z3950Dissector>(&f, &init);
    }

    #[test]
    fn other_payloads_are_not_z3950() {
        let f = tcp([46524, 210]);
        let mut init = hex("b452830200e0840300e9a28504040000008604040000009f6e0238319f6f0359415a9f702f352e32");
        init.resize(80, b'0');
        assert_eq!(run_one::<Z3950Dissector>(&f, &init).0, Probe::NotForUs, "length disagrees");
        assert_eq!(run_one::<Z3950Dissector>(&f, &hex("b4038402ff00")).0, Probe::NotForUs, "no version first");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<Z3950Dissector>(&tcp([1, 210]), &[p]);
        }
    }
}
