//! Cisco's Skinny Client Control Protocol (SCCP), TCP port 2000.
//!
//! Every message starts with a 12-byte little-endian header: the length of what follows the
//! first 8 bytes (the message ID and its data), a header version (0 for the basic format, or
//! one of the protocol versions 10–22 that carry it) and a 32-bit message ID. Those fields are
//! small numbers, which many protocols' first bytes could be, so the probe wants SCCP's port
//! as well as a header whose length agrees with the segment and a message ID in SCCP's
//! ranges (station messages below 0x200, the 0x8000 call-manager range).

use super::reader::le_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 12;
/// Header versions in use: basic (0) and the protocol versions 10–22.
const VERSIONS: std::ops::RangeInclusive<u32> = 0x0a..=0x16;

/// SCCP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct SkinnyDissector;

/// `p` starts with an SCCP message that fits it.
fn message(p: &[u8]) -> bool {
    let (Some(length), Some(version), Some(id)) = (le_u32_at(p, 0), le_u32_at(p, 4), le_u32_at(p, 8)) else {
        return false;
    };
    let fits = usize::try_from(length).is_ok_and(|n| n >= 4 && n + 8 <= p.len());
    fits && (version == 0 || VERSIONS.contains(&version)) && (id < 0x200 || (0x8000..0x8200).contains(&id))
}

impl Dissector for SkinnyDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CISCO_SKINNY;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || !Self::port_hint(flow) || p.is_empty() {
            return Probe::NotForUs;
        }
        if p.len() < HEADER {
            return Probe::Unsure;
        }
        Probe::certain_if(message(p))
    }

    const PORTS: Ports = Ports::tcp(&[2000]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn station_messages_name_the_flow() {
        let f = tcp([49399, 2000]);
        // skinny.pcap, 192.168.195.58:49399 → 192.168.193.12:2000 (header version 0x14), and
        // the call manager's answer.
        let request = hex("100000001400000026000000010000000000000000000000");
        assert_eq!(run_one::<SkinnyDissector>(&f, &request).0, Probe::Certain);
        let answer = hex("14000000140000008500000001000000010000000000000000000000");
        assert_eq!(run_one::<SkinnyDissector>(&f, &answer).0, Probe::Certain);
        // sccp_hw_conf_register.pcapng: a basic-format RegisterMessage (ID 1), its start.
        let mut register = hex("8000000000000000010000004e4f4e5345435552455f434f4e4600000000000001000000ac126e3a");
        register.resize(136, 0);
        assert_eq!(run_one::<SkinnyDissector>(&f, &register).0, Probe::Certain);
        truncations::<SkinnyDissector>(&f, &request);
        assert_eq!(run_one::<SkinnyDissector>(&f, &request[..8]).0, Probe::Unsure);
    }

    #[test]
    fn other_payloads_are_not_skinny() {
        let request = hex("100000001400000026000000010000000000000000000000");
        // Off SCCP's port; a length past the segment; an unknown header version.
        assert_eq!(run_one::<SkinnyDissector>(&tcp([49399, 2001]), &request).0, Probe::NotForUs);
        let f = tcp([49399, 2000]);
        assert_eq!(run_one::<SkinnyDissector>(&f, &request[..20]).0, Probe::NotForUs);
        let mut p = request.clone();
        p[4] = 0x40;
        assert_eq!(run_one::<SkinnyDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<SkinnyDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<SkinnyDissector>(&tcp([1, 2000]), &[p]);
        }
    }
}
