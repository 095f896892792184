//! KCP, a reliable transport over UDP (the reference implementation's protocol, any port).
//!
//! A datagram is one or more segments, each a 24-byte little-endian header followed by its
//! data: the conversation ID (32 bits), a command (81 push, 82 ack, 83 window probe, 84 window
//! size), a fragment count, the receive window (16 bits), a timestamp, a sequence number, the
//! next unacknowledged number (32 bits each) and the data's length (32 bits). The probe takes a
//! datagram that is whole segments of one conversation, each command one of the four.

use super::reader::{le_u32_at, Reader};
use super::{protocol, Dissector, FlowInfo, Probe, Segment, Transports};

const HEADER: usize = 24;
/// Push, ack, window probe, window size.
const COMMANDS: std::ops::RangeInclusive<u8> = 81..=84;

/// KCP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct KcpDissector;

/// `p` is whole KCP segments of one conversation.
fn segments(p: &[u8]) -> bool {
    let conversation = p.get(..4);
    let mut r = Reader::new(p);
    let mut count = 0;
    while !r.is_empty() {
        let Some(header) = r.take(HEADER) else {
            return false;
        };
        let Some(length) = le_u32_at(header, 20).and_then(|l| usize::try_from(l).ok()) else {
            return false;
        };
        if Some(&header[..4]) != conversation || !COMMANDS.contains(&header[4]) || r.take(length).is_none() {
            return false;
        }
        count += 1;
    }
    count > 0
}

impl Dissector for KcpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::KCP;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(flow.is_udp() && p.len() >= HEADER && COMMANDS.contains(&p[4]) && segments(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// kcp.pcap, [::1]:8000 → [::1]:47356: two acks in one datagram, and one ack alone.
    const TWO_ACKS: &str = concat!(
        "0a00000052008000280000000100000003000000000000000a000000520080002800000002000000",
        "0300000000000000",
    );
    const ACK: &str = "0a00000052007f0014000000000000000100000000000000";

    #[test]
    fn whole_segments_are_certain() {
        let f = udp([8000, 47356]);
        assert_eq!(run_one::<KcpDissector>(&f, &hex(TWO_ACKS)).0, Probe::Certain);
        assert_eq!(run_one::<KcpDissector>(&f, &hex(ACK)).0, Probe::Certain);
        // A push with 4 bytes of data.
        let push = hex("0a0000005100800014000000000000000000000004000000deadbeef");
        assert_eq!(run_one::<KcpDissector>(&f, &push).0, Probe::Certain);
        truncations::<KcpDissector>(&f, &hex(TWO_ACKS));
    }

    #[test]
    fn other_payloads_are_not_kcp() {
        let f = udp([8000, 47356]);
        let p = hex(TWO_ACKS);
        assert_eq!(run_one::<KcpDissector>(&f, &p[..p.len() - 1]).0, Probe::NotForUs);
        let mut q = p.clone();
        q[24] = 0x0b; // the second segment of another conversation
        assert_eq!(run_one::<KcpDissector>(&f, &q).0, Probe::NotForUs);
        // kcp.pcap's last datagram is not a KCP segment (no command at byte 4).
        let other = hex("f00ff00f01000100c3e05a0e0200000000000000000000000000000000000000");
        assert_eq!(run_one::<KcpDissector>(&f, &other).0, Probe::NotForUs);
        assert_eq!(run_one::<KcpDissector>(&tcp([8000, 47356]), &hex(ACK)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut q = hex(ACK);
            q.extend_from_slice(&p);
            no_panic::<KcpDissector>(&udp([1, 2]), &[p, q]);
        }
    }
}
