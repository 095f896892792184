//! SNMP dissector (RFC 3416 / RFC 3412, BER encoded): a message is a SEQUENCE whose first
//! element is the INTEGER version (0 v1, 1 v2c, 3 v3); v1/v2c follow it with the community
//! OCTET STRING and a PDU whose tag is 0xa0–0xa8.

use super::reader::ber_len_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

/// SNMP needs no state.
#[derive(Debug, Default)]
pub struct SnmpDissector;

/// True when `p` is a whole SNMP message.
fn is_snmp(p: &[u8]) -> bool {
    let Some((len, used)) = (p.first() == Some(&0x30)).then(|| ber_len_at(p, 1)).flatten() else {
        return false;
    };
    if 1 + used + len != p.len() {
        return false;
    }
    let v = 1 + used;
    // version: INTEGER of length 1
    if p.get(v..v + 2) != Some(&[0x02, 0x01][..]) {
        return false;
    }
    match p.get(v + 2) {
        Some(0 | 1) => {
            // community OCTET STRING, then the PDU
            let c = v + 3;
            if p.get(c) != Some(&0x04) {
                return false;
            }
            let Some((clen, cused)) = ber_len_at(p, c + 1) else { return false };
            matches!(p.get(c + 1 + cused + clen), Some(0xa0..=0xa8))
        }
        // v3: msgGlobalData is a SEQUENCE
        Some(3) => p.get(v + 3) == Some(&0x30),
        _ => false,
    }
}

impl Dissector for SnmpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SNMP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && is_snmp(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[161, 162]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// GetRequest, v2c, community "public", empty varbinds.
    const GET: &[u8] =
        b"\x30\x1a\x02\x01\x01\x04\x06public\xa0\x0d\x02\x01\x01\x02\x01\x00\x02\x01\x00\x30\x02\x30\x00";

    #[test]
    fn v2c_get() {
        let f = udp([40000, 161]);
        assert_eq!(run_one::<SnmpDissector>(&f, GET).0, Probe::Certain);
        assert_eq!(run_one::<SnmpDissector>(&f, &GET[..GET.len() - 1]).0, Probe::NotForUs);
        truncations::<SnmpDissector>(&f, GET);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..100)) {
            no_panic::<SnmpDissector>(&udp([161, 161]), &[p]);
        }
    }
}
