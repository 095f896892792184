//! The connection handshakes miHoYo's games (Genshin Impact and later titles) run with their
//! servers, over UDP before their KCP session and over TCP.
//!
//! UDP: the open server re-implementations of these games document it: each control datagram
//! is exactly 20 bytes, five big-endian 32-bit words — a start magic, the conversation ID, a
//! token, a data word and an end magic — with the magics in pairs:
//!
//! - connect (client): `0x000000ff` … `0xffffffff`, the data word `1234567890`;
//! - establish (server, carrying the new conversation ID and token): `0x00000145` … `0x14514545`;
//! - disconnect (either side): `0x00000194` … `0x19419494`.
//!
//! The probe wants a 20-byte datagram whose first and last words are one of those pairs, which
//! names the flow.
//!
//! TCP (the signature nDPI applies to all TCP traffic, read from its source as a fact about the
//! protocol; this is flowsieve's own code): each message opens with the byte 1 and a 32-bit
//! big-endian length counting the whole message, has a message type at offset 5 and `4d a6`
//! at offset 16; the first message is of type 1 or 7. nDPI names the flow on that message;
//! flowsieve wants the answer too: the first message (at least 18 bytes, the length that of its
//! segment) shortlists the flow, which stays unnamed until the other side's first message has
//! the same framing (lead byte, length, `4d a6`) within its first four messages, and is given up
//! otherwise.

use super::answered::Answered;
use super::reader::{be_u16_at, be_u32_at};
use super::{protocol, Dissector, FirstBytes, FlowInfo, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

const CONTROL_LEN: usize = 20;
/// (start, end) magics of connect, establish and disconnect.
const MAGICS: [(u32, u32); 3] = [(0x0000_00ff, 0xffff_ffff), (0x0000_0145, 0x1451_4545), (0x0000_0194, 0x1941_9494)];
/// A TCP message's header: lead byte, length, type, …, the mark at 16.
const TCP_HEADER: usize = 18;
const TCP_MARK: u16 = 0x4da6;
/// The types of the first TCP message.
const TCP_FIRST_TYPES: [u8; 2] = [0x01, 0x07];

/// Messages within which the TCP answer must come, the first included.
const TCP_WITHIN: u8 = 4;

/// The first TCP message, once read.
#[derive(Debug, Default)]
pub struct GenshinDissector(Answered);

/// `p` is a UDP control datagram.
fn control(p: &[u8]) -> bool {
    let magics = be_u32_at(p, 0).zip(be_u32_at(p, 16));
    p.len() == CONTROL_LEN && magics.is_some_and(|m| MAGICS.contains(&m))
}

/// `p` is one whole TCP message: lead byte, its length, the mark.
fn tcp_message(p: &[u8]) -> bool {
    let whole = be_u32_at(p, 1).and_then(|l| usize::try_from(l).ok()) == Some(p.len());
    p.len() >= TCP_HEADER && p.first() == Some(&1) && whole && be_u16_at(p, 16) == Some(TCP_MARK)
}

/// `p` is the first TCP message of a session.
fn tcp_first(p: &[u8]) -> bool {
    tcp_message(p) && p.get(5).is_some_and(|t| TCP_FIRST_TYPES.contains(t))
}

impl Dissector for GenshinDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::GENSHIN_IMPACT;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0, 1]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(if flow.is_udp() { control(p) } else { flow.is_tcp() && tcp_first(p) })
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        if segment.tcp_seq.is_none() {
            if control(p) {
                facts.protocol = protocol::GENSHIN_IMPACT;
                return Parsed::Done;
            }
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        let first = |p: &[u8]| tcp_first(p).then_some(0);
        self.0.parse(segment, facts, (protocol::GENSHIN_IMPACT, TCP_WITHIN), first, |_, p| tcp_message(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    /// genshin-impact.pcap, 192.168.2.100:58766 → 47.245.143.85:22101: the connect request and
    /// the server's answer.
    const CONNECT: &str = "000000ff0000000000000000499602d2ffffffff";
    const ESTABLISH: &str = "00000145000318323a0da215499602d214514545";

    #[test]
    fn the_handshake_names_the_flow() {
        let f = udp([58766, 22101]);
        assert_eq!(run_one::<GenshinDissector>(&f, &hex(CONNECT)).0, Probe::Certain);
        assert_eq!(run_one::<GenshinDissector>(&f, &hex(ESTABLISH)).0, Probe::Certain);
        let disconnect = hex("00000194000318323a0da2150000000119419494");
        assert_eq!(run_one::<GenshinDissector>(&f, &disconnect).0, Probe::Certain);
        truncations::<GenshinDissector>(&f, &hex(CONNECT));
    }

    #[test]
    fn other_datagrams_are_not_the_handshake() {
        let f = udp([58766, 22101]);
        // Mixed pairs, a longer datagram, the KCP segment that follows the handshake.
        assert_eq!(
            run_one::<GenshinDissector>(&f, &hex("000000ff000318323a0da215499602d214514545")).0,
            Probe::NotForUs
        );
        assert_eq!(run_one::<GenshinDissector>(&f, &[&hex(CONNECT)[..], &[0]].concat()).0, Probe::NotForUs);
        let kcp = hex("3218030015a20d3a5100000183a42523000000000000000051000000");
        assert_eq!(run_one::<GenshinDissector>(&f, &kcp).0, Probe::NotForUs);
        assert_eq!(run_one::<GenshinDissector>(&tcp([58766, 22101]), &hex(CONNECT)).0, Probe::NotForUs);
    }

    /// genshin-impact.pcap, 192.168.2.100:45246 → 49.51.181.168:10012: the client's first
    /// TCP message (type 7) and the server's answer (type 8).
    const TCP_FIRST: &str = "010000002a0700000000aec675e100004da6000000000000000000000000000000000000000062a5f615";
    const TCP_ANSWER: &str =
        "01000000320800000001aec675e100004da615f6a562b88f04000013f600ea5291cc1b9bf53eb23bd56fda45a1becefa3612";

    #[test]
    fn the_tcp_handshake_names_the_flow_once_answered() {
        let f = tcp([45246, 10012]);
        assert_eq!(run_one::<GenshinDissector>(&f, &hex(TCP_FIRST)).0, Probe::Certain);
        let one = [(Direction::Forward, hex(TCP_FIRST))];
        assert_eq!(
            parse_each::<GenshinDissector>(&f, &one),
            (Parsed::Continue, protocol::UNKNOWN),
            "shortlisted, unnamed"
        );
        let both = [(Direction::Forward, hex(TCP_FIRST)), (Direction::Reverse, hex(TCP_ANSWER))];
        assert_eq!(parse_each::<GenshinDissector>(&f, &both).1, protocol::GENSHIN_IMPACT);
        truncations::<GenshinDissector>(&f, &hex(TCP_FIRST));
    }

    #[test]
    fn tcp_near_misses_are_not_genshin() {
        let f = tcp([45246, 10012]);
        let probe = |p: &[u8]| run_one::<GenshinDissector>(&f, p).0;
        // The answer's type (8) cannot open a session; a length not the segment's; no mark.
        assert_eq!(probe(&hex(TCP_ANSWER)), Probe::NotForUs);
        assert_eq!(probe(&[&hex(TCP_FIRST)[..], &[0]].concat()), Probe::NotForUs);
        let mut unmarked = hex(TCP_FIRST);
        unmarked[17] = 0xa7;
        assert_eq!(probe(&unmarked), Probe::NotForUs);
        // The UDP connect on TCP, the TCP message on UDP.
        assert_eq!(probe(&hex(CONNECT)), Probe::NotForUs);
        assert_eq!(run_one::<GenshinDissector>(&udp([45246, 10012]), &hex(TCP_FIRST)).0, Probe::NotForUs);
        // An answer that is not a whole message of the framing gives the flow up.
        let http =
            [(Direction::Forward, hex(TCP_FIRST)), (Direction::Reverse, b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec())];
        assert_eq!(parse_each::<GenshinDissector>(&f, &http), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<GenshinDissector>(&udp([1, 2]), std::slice::from_ref(&p));
            no_panic::<GenshinDissector>(&tcp([1, 2]), &[p.clone(), p]);
        }
    }
}
