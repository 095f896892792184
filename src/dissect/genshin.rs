//! The connection handshake miHoYo's games (Genshin Impact and later titles) run before their
//! KCP session, over UDP. The open server re-implementations of these games document it: each
//! control datagram is exactly 20 bytes, five big-endian 32-bit words — a start magic, the
//! conversation ID, a token, a data word and an end magic — with the magics in pairs:
//!
//! - connect (client): `0x000000ff` … `0xffffffff`, the data word `1234567890`;
//! - establish (server, carrying the new conversation ID and token): `0x00000145` … `0x14514545`;
//! - disconnect (either side): `0x00000194` … `0x19419494`.
//!
//! The probe wants a 20-byte datagram whose first and last words are one of those pairs.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const CONTROL_LEN: usize = 20;
/// (start, end) magics of connect, establish and disconnect.
const MAGICS: [(u32, u32); 3] = [(0x0000_00ff, 0xffff_ffff), (0x0000_0145, 0x1451_4545), (0x0000_0194, 0x1941_9494)];

/// The handshake needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct GenshinDissector;

impl Dissector for GenshinDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::GENSHIN_IMPACT;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.len() != CONTROL_LEN {
            return Probe::NotForUs;
        }
        let magics = be_u32_at(p, 0).zip(be_u32_at(p, 16));
        Probe::certain_if(magics.is_some_and(|m| MAGICS.contains(&m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
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

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<GenshinDissector>(&udp([1, 2]), &[p]);
        }
    }
}
