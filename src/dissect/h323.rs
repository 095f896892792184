//! H.323 call signalling: H.225.0 messages in Q.931 form over TPKT (RFC 1006), TCP port 1720
//! (the RAS channel, UDP 1719, is ASN.1 PER without a signature: only its port names it).
//!
//! A TPKT packet is version 3, a reserved zero byte and the 16-bit length of the whole packet.
//! H.225.0 call signalling puts a Q.931 message in it (ITU-T H.225.0 §7): the protocol
//! discriminator 8, a call reference of length 2 (its flag and value) and a message type
//! (Alerting, Call Proceeding, Progress, Setup, Connect, Release Complete, Facility, Notify,
//! Information, Status Enquiry, Status). ISO transport over TPKT (RDP, S7) has an X.224 length
//! indicator and code where Q.931 has its discriminator and call reference length.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

/// TPKT header, Q.931 discriminator, call reference length and value, message type.
const MIN: usize = 9;
const TPKT_VERSION: u8 = 3;
const Q931: u8 = 0x08;
const CALL_REFERENCE_LENGTH: u8 = 2;
/// Q.931 message types H.225.0 uses.
const MESSAGE_TYPES: [u8; 11] = [0x01, 0x02, 0x03, 0x05, 0x07, 0x5a, 0x62, 0x6e, 0x7b, 0x75, 0x7d];

/// H.323 needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct H323Dissector;

impl Dissector for H323Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::H323;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.first().is_some_and(|&v| v != TPKT_VERSION) || p.get(1).is_some_and(|&r| r != 0) {
            return Probe::NotForUs;
        }
        if p.len() < MIN {
            let q931 = p.get(4).is_none_or(|&d| d == Q931) && p.get(5).is_none_or(|&l| l == CALL_REFERENCE_LENGTH);
            return if q931 { Probe::Unsure } else { Probe::NotForUs };
        }
        let fits = be_u16_at(p, 2).is_some_and(|n| usize::from(n) >= MIN && usize::from(n) <= p.len());
        Probe::certain_if(fits && p[4] == Q931 && p[5] == CALL_REFERENCE_LENGTH && MESSAGE_TYPES.contains(&p[8]))
    }

    /// IANA's `h323gatestat` (1719, RAS) and `h323hostcall` (1720, call signalling), both
    /// registered for TCP and UDP.
    const PORTS: Ports = Ports::both(&[1719, 1720]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A Setup as H.225.0 §7 lays it out: TPKT (length 20), discriminator 8, call reference
    /// 0x1234 from the originating side, message type Setup, a Bearer capability element.
    /// nDPI's corpus has no H.323 call, so these bytes follow the standard.
    const SETUP: &str = "0300001408021234050403808890180183a100";

    #[test]
    fn q931_over_tpkt_is_h323() {
        let f = tcp([40000, 1720]);
        let mut setup = hex(SETUP);
        setup.push(0);
        assert_eq!(setup.len(), 20);
        assert_eq!(run_one::<H323Dissector>(&f, &setup).0, Probe::Certain);
        assert_eq!(run_one::<H323Dissector>(&f, &setup[..6]).0, Probe::Unsure);
        truncations::<H323Dissector>(&f, &setup);
    }

    #[test]
    fn other_tpkt_payloads_are_not_h323() {
        let f = tcp([40000, 3389]);
        // rdp.pcap-style X.224 Connection Request: length indicator 0x0e, code 0xe0.
        let x224 = hex("030000130ee000000000000100080003000000");
        assert_eq!(run_one::<H323Dissector>(&f, &x224).0, Probe::NotForUs);
        let mut setup = hex(SETUP);
        setup.push(0);
        setup[8] = 0x99;
        assert_eq!(run_one::<H323Dissector>(&f, &setup).0, Probe::NotForUs, "unknown message type");
        assert_eq!(run_one::<H323Dissector>(&udp([40000, 1720]), &hex(SETUP)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<H323Dissector>(&tcp([1, 1720]), &[p]);
        }
    }
}
