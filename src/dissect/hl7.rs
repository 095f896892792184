//! HL7 version 2 messages over MLLP, the Minimal Lower Layer Protocol (HL7's implementation
//! guide), over TCP (no assigned port; 2575 is IANA's).
//!
//! MLLP frames each message between a start byte `0x0b` and the end bytes `0x1c 0x0d`. Every HL7
//! v2 message starts with its MSH segment: `MSH`, the field separator (`|` in practice) and the
//! encoding characters. The probe wants the start byte and `MSH|` after it.

use super::text::banner_probe;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const START: &[u8] = b"\x0bMSH|";

/// HL7 needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct Hl7Dissector;

impl Dissector for Hl7Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::HL7;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if flow.is_tcp() {
            banner_probe(segment.payload, START)
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[2575]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn mllp_framed_messages_name_the_flow() {
        // hl7.pcap, 10.0.0.155:49242 → 10.0.0.126:6661: the message's start.
        let f = tcp([49242, 6661]);
        let message = hex("0b4d53487c5e7e5c267c53454e44494e475f4150504c49434154494f4e7c53454e44494e475f4641");
        assert_eq!(run_one::<Hl7Dissector>(&f, &message).0, Probe::Certain);
        assert_eq!(run_one::<Hl7Dissector>(&f, &message[..3]).0, Probe::Unsure);
        truncations::<Hl7Dissector>(&f, &message);
    }

    #[test]
    fn other_payloads_are_not_hl7() {
        let f = tcp([49242, 6661]);
        assert_eq!(run_one::<Hl7Dissector>(&f, b"MSH|^~\\&|").0, Probe::NotForUs, "no MLLP start byte");
        assert_eq!(run_one::<Hl7Dissector>(&f, b"\x0bPID|").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<Hl7Dissector>(&tcp([1, 2575]), &[p]);
        }
    }
}
