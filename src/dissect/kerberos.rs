//! Kerberos V5 (RFC 4120): every message is a DER-encoded `[APPLICATION n]` whose body is a
//! SEQUENCE opening with `pvno [0|1] INTEGER 5` (§5.4.1 KDC-REQ has it at tag 1, replies,
//! AP messages and KRB-ERROR at tag 0). Over TCP a 4-byte big-endian length comes first (§7.2.2).

use super::reader::{be_u32_at, ber_len_at};
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

/// AS-REQ 10, AS-REP 11, TGS-REQ 12, TGS-REP 13, AP-REQ 14, AP-REP 15, KRB-ERROR 30
/// (§5.10: `[APPLICATION n]`, constructed: 0x60 | n).
const MESSAGE_TAGS: [u8; 7] = [0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x7e];

/// One whole Kerberos message, exactly `msg`'s length.
fn is_message(msg: &[u8]) -> bool {
    let Some(&tag) = msg.first() else { return false };
    if !MESSAGE_TAGS.contains(&tag) {
        return false;
    }
    let Some((len, used)) = ber_len_at(msg, 1) else { return false };
    if 1 + used + len != msg.len() {
        return false;
    }
    let seq = 1 + used;
    if msg.get(seq) != Some(&0x30) {
        return false;
    }
    let Some((_, used)) = ber_len_at(msg, seq + 1) else { return false };
    let pvno = seq + 1 + used;
    matches!(msg.get(pvno..pvno + 5), Some([0xa0 | 0xa1, 0x03, 0x02, 0x01, 0x05]))
}

/// Kerberos needs no state.
#[derive(Debug, Default)]
pub struct KerberosDissector;

impl Dissector for KerberosDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::KERBEROS;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let yes = if flow.is_udp() {
            is_message(p)
        } else if flow.is_tcp() {
            // The record marker's length must match; a message split over segments is judged
            // on what arrived only when it is whole.
            let marker = be_u32_at(p, 0).map(|m| m as usize);
            marker.is_some_and(|len| len + 4 == p.len()) && is_message(&p[4..])
        } else {
            false
        };
        Probe::certain_if(yes)
    }

    const PORTS: Ports = Ports::both(&[88]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// The AS-REQ opening kerberos.pcap in nDPI's corpus (TCP: record marker first).
    const AS_REQ: &str = concat!(
        "000000eb6a81e83081e5a103020105a20302010aa31530133011a10402020080a20904073005a0030101ffa481c13081",
        "bea00703050040810010a1183016a003020101a10f300d1b0b6a6f686e736f6e2d706324a2101b0e6861707079637261",
        "66742e6f7267a3233021a003020102a11a30181b066b72627467741b0e686170707963726166742e6f7267a511180f32",
        "303337303931333032343830355aa611180f32303337303931333032343830355aa70602044ec01617a8153013020112",
        "0201110201170201180202ff79020103a91d301b3019a003020114a11204104a4f484e534f4e2d5043202020202020",
    );

    #[test]
    fn as_req_over_tcp() {
        let m = hex(AS_REQ);
        let f = tcp([49157, 88]);
        assert_eq!(run_one::<KerberosDissector>(&f, &m).0, Probe::Certain);
        assert_eq!(run_one::<KerberosDissector>(&udp([49157, 88]), &m[4..]).0, Probe::Certain);
        assert_eq!(run_one::<KerberosDissector>(&f, &m[..m.len() - 1]).0, Probe::NotForUs);
        let mut not_v5 = m.clone();
        not_v5[14] = 4;
        assert_eq!(run_one::<KerberosDissector>(&f, &not_v5).0, Probe::NotForUs);
        truncations::<KerberosDissector>(&f, &m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([1, 88]) } else { tcp([1, 88]) };
            no_panic::<KerberosDissector>(&f, &[p]);
        }
    }
}
