//! PPTP's control connection (RFC 2637), TCP port 1723. Every control message starts with its
//! 16-bit length, the PPTP message type (1 control, 2 management) and the magic cookie
//! `0x1a2b3c4d` (§2.1). The probe wants that header, its length covering at least the header.

use super::reader::{be_u16_at, be_u32_at};
use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const MAGIC_COOKIE: u32 = 0x1a2b_3c4d;
/// Length, message type, magic cookie, control message type, reserved.
const HEADER: usize = 12;

/// PPTP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct PptpDissector;

impl Dissector for PptpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::PPTP;
    const TRANSPORTS: Transports = Transports::TCP;
    /// Control messages are at most a few hundred bytes: the length's high byte is 0 or 1.
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0, 1]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.len() < 8 {
            return if p.first().is_some_and(|&b| b <= 1) { Probe::Unsure } else { Probe::NotForUs };
        }
        let length = be_u16_at(p, 0).map_or(0, usize::from);
        let kind = be_u16_at(p, 2);
        Probe::certain_if(length >= HEADER && matches!(kind, Some(1 | 2)) && be_u32_at(p, 4) == Some(MAGIC_COOKIE))
    }

    const PORTS: Ports = Ports::tcp(&[1723]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// pptp.pcap, 192.168.43.22:41366 → 191.101.61.1:1723: Start-Control-Connection-Request
    /// (156 bytes), its first 24.
    const START: &str = "009c00011a2b3c4d00010000010000000000000300000003";

    #[test]
    fn control_messages_name_the_flow() {
        let f = tcp([41366, 1723]);
        assert_eq!(run_one::<PptpDissector>(&f, &hex(START)).0, Probe::Certain);
        assert_eq!(run_one::<PptpDissector>(&f, &hex("009c")).0, Probe::Unsure);
        truncations::<PptpDissector>(&f, &hex(START));
    }

    #[test]
    fn other_payloads_are_not_pptp() {
        let f = tcp([41366, 1723]);
        let mut p = hex(START);
        p[7] = 0x4e;
        assert_eq!(run_one::<PptpDissector>(&f, &p).0, Probe::NotForUs, "cookie");
        let mut p = hex(START);
        p[3] = 3;
        assert_eq!(run_one::<PptpDissector>(&f, &p).0, Probe::NotForUs, "message type");
        assert_eq!(run_one::<PptpDissector>(&f, &hex("000800011a2b3c4d")).0, Probe::NotForUs, "too short a length");
        assert_eq!(run_one::<PptpDissector>(&udp([41366, 1723]), &hex(START)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<PptpDissector>(&tcp([1, 1723]), &[p]);
        }
    }
}
