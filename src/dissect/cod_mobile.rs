//! Call of Duty: Mobile's UDP ping to its game servers' port 7500, which nDPI names
//! `CoD_Mobile` (flowsieve-only ID, nDPI's name; application `netify.activision`).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as a fact
//! about the protocol; this is flowsieve's own code): a 12-byte datagram to or from port 7500
//! whose last four bytes are `ping` (the server echoes the client's). One datagram names the
//! flow, as in nDPI; the port is nDPI's condition too, and there is no port guess (nDPI
//! declares no port for the game). nDPI's other signature for the game, a text label deep in
//! a later game datagram, is not read: it would keep a probe open on every UDP flow.

use super::{protocol, Dissector, FlowInfo, Probe, Segment, Transports};

const PORT: u16 = 7500;
const PING_LEN: usize = 12;

/// The ping needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct CodMobileDissector;

impl Dissector for CodMobileDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::COD_MOBILE;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(flow.is_udp() && flow.has_port(PORT) && p.len() == PING_LEN && p.ends_with(b"ping"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// codm.pcap, 10.215.173.1:40282 → 23.248.172.158:7500: the ping (echoed by the server).
    const PING: &str = "bbb653ea96fdbb0370696e67";

    #[test]
    fn the_ping_names_the_flow() {
        let f = udp([40282, 7500]);
        assert_eq!(run_one::<CodMobileDissector>(&f, &hex(PING)).0, Probe::Certain);
        assert_eq!(run_one::<CodMobileDissector>(&udp([7500, 40282]), &hex(PING)).0, Probe::Certain);
        truncations::<CodMobileDissector>(&f, &hex(PING));
    }

    #[test]
    fn near_misses_are_not_cod_mobile() {
        let probe = |f: &FlowInfo, p: &[u8]| run_one::<CodMobileDissector>(f, p).0;
        let f = udp([40282, 7500]);
        // Another port, TCP, a longer datagram, `pong`.
        assert_eq!(probe(&udp([40282, 7501]), &hex(PING)), Probe::NotForUs);
        assert_eq!(probe(&tcp([40282, 7500]), &hex(PING)), Probe::NotForUs);
        assert_eq!(probe(&f, &[&hex(PING)[..], b"ping"].concat()), Probe::NotForUs);
        assert_eq!(probe(&f, &hex("bbb653ea96fdbb03706f6e67")), Probe::NotForUs);
        assert!(!CodMobileDissector::port_hint(&f));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<CodMobileDissector>(&udp([1, 7500]), &[p]);
        }
    }
}
