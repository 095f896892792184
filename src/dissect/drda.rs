//! IBM's Distributed Relational Database Architecture (DRDA, The Open Group's DRDA and DDM
//! specifications), the DB2 wire protocol, over TCP (446; DB2 for Linux uses 50000).
//!
//! Every data stream structure (DSS) starts with a 6-byte header: its 16-bit length, the magic
//! byte `0xd0`, a format byte (the DSS type, 1–5, in the low nibble; chaining flags above) and
//! a request correlation ID; the DDM command inside starts with its own length (the DSS's less
//! the 6 header bytes) and code point. The probe wants that header, the lengths agreeing and the
//! DSS ending inside the segment.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const MAGIC: u8 = 0xd0;
const DSS_HEADER: usize = 6;
/// DSS header, DDM length and code point.
const MIN: usize = 10;

/// DRDA needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct DrdaDissector;

impl Dissector for DrdaDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DRDA;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.len() < MIN || p[2] != MAGIC || !(1..=5).contains(&(p[3] & 0x0f)) {
            return Probe::NotForUs;
        }
        let (Some(dss), Some(ddm)) = (be_u16_at(p, 0).map(usize::from), be_u16_at(p, DSS_HEADER).map(usize::from))
        else {
            return Probe::NotForUs;
        };
        Probe::certain_if(dss >= MIN && dss <= p.len() && ddm + DSS_HEADER == dss)
    }

    const PORTS: Ports = Ports::tcp(&[446, 50000]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn exchange_server_attributes_names_the_flow() {
        // drda_db2.pcap, 192.168.106.1:4847 → 192.168.106.128:50000: EXCSAT (0x1041) in a
        // 137-byte DSS chained to the next; the segment's start, then filler.
        let f = tcp([4847, 50000]);
        let mut excsat = hex("0089d0410001008310410039115e8482f29183836d81979793898381a38996954040d1c3c3f0f2f1");
        excsat.resize(175, 0x40);
        assert_eq!(run_one::<DrdaDissector>(&f, &excsat).0, Probe::Certain);
        truncations::<DrdaDissector>(&f, &excsat);
    }

    #[test]
    fn other_payloads_are_not_drda() {
        let f = tcp([4847, 50000]);
        let mut excsat = hex("0089d0410001008310410039115e8482f29183836d81979793898381a38996954040d1c3c3f0f2f1");
        excsat.resize(100, 0x40);
        assert_eq!(run_one::<DrdaDissector>(&f, &excsat).0, Probe::NotForUs, "DSS past the segment");
        let mut p = excsat.clone();
        p.resize(175, 0x40);
        p[7] = 0x84;
        assert_eq!(run_one::<DrdaDissector>(&f, &p).0, Probe::NotForUs, "lengths disagree");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<DrdaDissector>(&tcp([1, 446]), &[p]);
        }
    }
}
