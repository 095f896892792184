//! Gearman, the job server's binary protocol (gearman.org's `protocol` document), TCP port 4730.
//!
//! Every binary packet starts with a 12-byte header: the magic `\0REQ` (requests) or `\0RES`
//! (responses), a 32-bit packet type (1–43 in the document) and the 32-bit size of the data
//! that follows. The probe wants the magic, a known type and a size that fits the segment.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const REQUEST: &[u8] = b"\0REQ";
const RESPONSE: &[u8] = b"\0RES";
const HEADER: usize = 12;
const MAX_TYPE: u32 = 43;

/// Gearman needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct GearmanDissector;

impl Dissector for GearmanDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::GEARMAN;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let magic = |m: &[u8]| p.starts_with(m) || (p.len() < m.len() && m.starts_with(p));
        if !flow.is_tcp() || p.is_empty() || !(magic(REQUEST) || magic(RESPONSE)) {
            return Probe::NotForUs;
        }
        let (Some(kind), Some(size)) = (be_u32_at(p, 4), be_u32_at(p, 8)) else { return Probe::Unsure };
        let fits = usize::try_from(size).is_ok_and(|n| n <= p.len() - HEADER);
        Probe::certain_if((1..=MAX_TYPE).contains(&kind) && fits)
    }

    const PORTS: Ports = Ports::tcp(&[4730]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn packets_name_the_flow() {
        // gearman.pcap, 192.168.80.1:23405 → 192.168.80.128:4730: CAN_DO (type 1) "wc".
        let f = tcp([23405, 4730]);
        let can_do = hex("0052455100000001000000027763");
        assert_eq!(run_one::<GearmanDissector>(&f, &can_do).0, Probe::Certain);
        assert_eq!(run_one::<GearmanDissector>(&f, &can_do[..6]).0, Probe::Unsure);
        truncations::<GearmanDissector>(&f, &can_do);
    }

    #[test]
    fn other_payloads_are_not_gearman() {
        let f = tcp([23405, 4730]);
        assert_eq!(run_one::<GearmanDissector>(&f, &hex("0052455100000063000000027763")).0, Probe::NotForUs);
        assert_eq!(run_one::<GearmanDissector>(&f, &hex("0052455100000001000000097763")).0, Probe::NotForUs);
        assert_eq!(run_one::<GearmanDissector>(&f, b"\0RE\x01").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<GearmanDissector>(&tcp([1, 4730]), &[p]);
        }
    }
}
