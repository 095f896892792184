//! The Apple Filing Protocol over TCP (port 548), carried by the Data Stream Interface (DSI,
//! Apple's "AFP over TCP" in the AFP Programming Guide).
//!
//! Every DSI packet starts with a 16-byte header: flags (0 request, 1 reply), a command
//! (CloseSession 1, Command 2, GetStatus 3, OpenSession 4, Tickle 5, Write 6, Attention 8), a
//! 16-bit request ID, an error code or data offset, the 32-bit length of the data after the
//! header and 4 reserved zero bytes. The probe wants that header with its length equal to the
//! rest of the segment: a session opens with OpenSession or GetStatus, small and whole.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 16;
/// DSI commands.
const COMMANDS: [u8; 7] = [1, 2, 3, 4, 5, 6, 8];

/// AFP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct AfpDissector;

impl Dissector for AfpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::AFP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let start_ok = p.first().is_none_or(|&f| f <= 1) && p.get(1).is_none_or(|c| COMMANDS.contains(c));
        if !flow.is_tcp() || p.is_empty() || !start_ok {
            return Probe::NotForUs;
        }
        if p.len() < HEADER {
            return Probe::Unsure;
        }
        let whole = be_u32_at(p, 8).and_then(|n| usize::try_from(n).ok()).is_some_and(|n| n == p.len() - HEADER);
        Probe::certain_if(whole && be_u32_at(p, 12) == Some(0))
    }

    const PORTS: Ports = Ports::tcp(&[548]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn dsi_opens_the_session() {
        // afp.pcap, 192.168.27.57:64987 → 192.168.27.139:548: OpenSession with a 6-byte
        // option, and the reply's header with its 34 bytes of data.
        let f = tcp([64987, 548]);
        let open = hex("000222c6000000000000000600000000110000020e1c");
        assert_eq!(run_one::<AfpDissector>(&f, &open).0, Probe::Certain);
        let mut reply = hex("010222c60000000000000022000000000e1cc793279c2985232f80000000000000095cb170000000");
        reply.resize(50, 0);
        assert_eq!(run_one::<AfpDissector>(&f, &reply).0, Probe::Certain);
        assert_eq!(run_one::<AfpDissector>(&f, &open[..10]).0, Probe::Unsure);
        truncations::<AfpDissector>(&f, &open);
    }

    #[test]
    fn other_payloads_are_not_afp() {
        let f = tcp([64987, 548]);
        let open = hex("000222c6000000000000000600000000110000020e1c");
        assert_eq!(run_one::<AfpDissector>(&f, &open[..20]).0, Probe::NotForUs, "length disagrees");
        let mut p = open.clone();
        p[1] = 7;
        assert_eq!(run_one::<AfpDissector>(&f, &p).0, Probe::NotForUs, "no command 7");
        let mut p = open.clone();
        p[15] = 1;
        assert_eq!(run_one::<AfpDissector>(&f, &p).0, Probe::NotForUs, "reserved must be zero");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<AfpDissector>(&tcp([1, 548]), &[p]);
        }
    }
}
