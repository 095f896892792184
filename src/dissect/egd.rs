//! GE's Ethernet Global Data (EGD), the producer/consumer exchange of PLC data over UDP
//! (port 18246), named `EthernetGlobalData` as nDPI names it (flowsieve-only ID).
//!
//! Every production datagram opens with a 32-byte header: PDU type 13 and version 1
//! (`0d 01`), a request ID, the producer ID — by GE's convention the producer's own IPv4
//! address — the exchange ID, a timestamp, status and configuration words and a reserved word.
//! The rule is the one nDPI applies to every UDP flow (its egd.c, read as wire facts): more
//! than the header, `0d 01`, the producer ID equal to the sender's address, the word at offset
//! 24 below 31 and the reserved word at 28 zero. A dissector is not told which end sent a
//! datagram, only the flow's two addresses: the producer ID must be one of them, a four-byte
//! equality that data of another protocol matches by chance about once in four billion.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

/// PDU type 13, version 1.
const TYPE_VERSION: [u8; 2] = [0x0d, 0x01];
const HEADER: usize = 32;

/// EGD needs no state: one datagram decides.
#[derive(Debug, Default)]
pub struct EgdDissector;

impl Dissector for EgdDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::EGD;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[TYPE_VERSION[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_udp() || p.len() <= HEADER || p[..2] != TYPE_VERSION {
            return Probe::NotForUs;
        }
        let word = |at: usize| be_u32_at(p, at).unwrap_or(u32::MAX);
        Probe::certain_if(flow.has_ipv4([p[4], p[5], p[6], p[7]]) && word(24) < 31 && word(28) == 0)
    }

    const PORTS: Ports = Ports::udp(&[18246]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A flow between a PLC at 10.0.0.5 and a consumer at 10.0.0.9.
    fn flow() -> FlowInfo {
        FlowInfo { addrs: ["10.0.0.5".parse().unwrap(), "10.0.0.9".parse().unwrap()], ..udp([18246, 18246]) }
    }

    /// A production datagram from 10.0.0.5 with 8 bytes of data.
    fn production() -> Vec<u8> {
        let mut p = vec![0x0d, 0x01, 0x00, 0x2a, 10, 0, 0, 5, 0, 0, 0, 7];
        p.extend_from_slice(&[0x61, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00]); // timestamp
        p.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        p
    }

    #[test]
    fn a_production_datagram_from_its_producer_is_egd() {
        assert_eq!(run_one::<EgdDissector>(&flow(), &production()).0, Probe::Certain);
        // Any port: the producer's address is in the flow.
        let elsewhere = FlowInfo { ports: [40000, 40001], ..flow() };
        assert_eq!(run_one::<EgdDissector>(&elsewhere, &production()).0, Probe::Certain);
    }

    #[test]
    fn near_misses_are_not_egd() {
        let f = flow();
        let mut stranger = production();
        stranger[7] = 6; // a producer ID that is neither end's address
        let mut reserved = production();
        reserved[31] = 1;
        let mut status = production();
        status[27] = 31;
        let mut version = production();
        version[1] = 2;
        let header_only = production()[..HEADER].to_vec();
        for p in [stranger, reserved, status, version, header_only] {
            assert_eq!(run_one::<EgdDissector>(&f, &p).0, Probe::NotForUs, "{p:?}");
        }
        let v6 = FlowInfo { addrs: ["2001:db8::5".parse().unwrap(), "2001:db8::9".parse().unwrap()], ..flow() };
        assert_eq!(run_one::<EgdDissector>(&v6, &production()).0, Probe::NotForUs);
        assert_eq!(
            run_one::<EgdDissector>(&FlowInfo { ip_protocol: FlowInfo::TCP, ..flow() }, &production()).0,
            Probe::NotForUs
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..48)) {
            no_panic::<EgdDissector>(&flow(), &[p]);
        }
    }
}
