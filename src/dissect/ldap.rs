//! LDAP (RFC 4511 §4.1.1): an LDAPMessage is a BER SEQUENCE holding a messageID INTEGER and
//! a protocolOp `[APPLICATION n]` (0x60 | n constructed, 0x40 | n primitive: unbind, delete,
//! abandon). Over TCP, and over UDP as CLDAP (RFC 1798).
//!
//! A SASL-protected session (GSSAPI wrapping, RFC 4752) sends opaque tokens after the bind; on
//! LDAP's ports such a first segment leaves the dissector unsure so the other side can be read.

use super::reader::ber_len_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

fn is_message(p: &[u8]) -> bool {
    if p.first() != Some(&0x30) {
        return false;
    }
    // The SEQUENCE may continue in later segments: only its header is judged.
    let Some((_, used)) = ber_len_at(p, 1) else { return false };
    let id = 1 + used;
    let (Some(&0x02), Some(&id_len)) = (p.get(id), p.get(id + 1)) else { return false };
    if !(1..=4).contains(&id_len) {
        return false;
    }
    let op = id + 2 + usize::from(id_len);
    p.get(op).is_some_and(|&tag| matches!(tag, 0x60..=0x79 | 0x42 | 0x4a | 0x50))
}

/// LDAP needs no state.
#[derive(Debug, Default)]
pub struct LdapDissector;

impl Dissector for LdapDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::LDAP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if is_message(segment.payload) {
            Probe::Certain
        } else if flow.is_tcp() && Self::port_hint(flow) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::both(&[389, 3268]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// The server's bindResponse in kerberos.pcap in nDPI's corpus (4-byte BER length).
    const BIND_RESPONSE: &str = concat!(
        "3084000000cc0201036184000000c30a010004000400878200b8a181b53081b2a0030a0100a10b06092a864882f71201",
        "0202a2819d04819a60819706092a864886f71201020202006f8187308184a003020105a10302010fa2783076a0030201",
        "12a26f046d5f3e51bb6ca59dae1d870fa729cfe3228c199f843703487460c68b0c9f071b0a2d59467ad588606d302da7",
        "42fea65540d225aa57fe6660b5ce25f402dbfbf8e8931b2448222dd0665f05794187a48ea7b83d9dcff6593e261b97be",
        "7dcb6db4d5b82a2c6c0564cbb24e14d13b03",
    );

    #[test]
    fn bind_response() {
        let m = hex(BIND_RESPONSE);
        let f = tcp([389, 49161]);
        assert_eq!(run_one::<LdapDissector>(&f, &m).0, Probe::Certain);
        assert_eq!(run_one::<LdapDissector>(&tcp([1, 2]), &[0x30, 0x03, 0x04, 0x01, 0x00]).0, Probe::NotForUs);
        assert_eq!(run_one::<LdapDissector>(&f, &[0x05, 0x04, 0x00]).0, Probe::Unsure);
        truncations::<LdapDissector>(&f, &m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([1, 389]) } else { tcp([1, 389]) };
            no_panic::<LdapDissector>(&f, &[p]);
        }
    }
}
