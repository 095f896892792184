//! DNSCrypt version 2 (the DNSCrypt protocol specification, dnscrypt.info), over UDP or TCP
//! (usually port 443).
//!
//! A query is the 8-byte client magic (taken from the resolver's certificate, so unknown to an
//! observer), the client's public key, a nonce and the encrypted, padded DNS query; over UDP
//! it is at least [`MIN_QUERY`] bytes. Every response starts with the resolver magic
//! `r6fnvWj8` (over TCP, after a 16-bit length). The probe waits through a large first
//! datagram for the response and names the flow on the resolver magic.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const RESOLVER_MAGIC: &[u8; 8] = b"r6fnvWj8";
/// The specification's minimum query length over UDP.
const MIN_QUERY: usize = 256;
/// TCP frames each message with a 16-bit length.
const TCP_LENGTH: usize = 2;

/// DNSCrypt needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct DnscryptDissector;

impl Dissector for DnscryptDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DNSCRYPT;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let body = match flow.ip_protocol {
            FlowInfo::UDP => p,
            FlowInfo::TCP => p.get(TCP_LENGTH..).unwrap_or_default(),
            _ => return Probe::NotForUs,
        };
        if body.starts_with(RESOLVER_MAGIC) {
            Probe::Certain
        } else if flow.is_udp() && p.len() >= MIN_QUERY && p.len() <= u16::MAX.into() {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::NONE;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_resolver_magic_names_the_flow() {
        // dnscrypt-v2.pcap, 127.0.0.1:38650 → 127.0.0.2:5353: a 1088-byte query (its start),
        // then the response's start.
        let f = udp([38650, 5353]);
        let mut query = hex("e3c3eac4701b47d5dec5672004a90bde439e38f593136bcabfb1b76fe34e5bceb606fc1bd6b85e45");
        query.resize(1088, 0x3c);
        assert_eq!(run_one::<DnscryptDissector>(&f, &query).0, Probe::Unsure);
        let response = hex("7236666e76576a380a50507d66afa7bc382bbf7e70c0f164928905af515a8a03bc1fe084c3d5d9f6");
        assert_eq!(run_one::<DnscryptDissector>(&f, &response).0, Probe::Certain);
        // dnscrypt_skype_false_positive.pcapng, 212.47.228.136:443 → 192.168.2.100:46858.
        let response = hex("7236666e76576a38796107117ec517179b83ae746033f5b47ad61b4650afcc096428ac8c5102efd2");
        assert_eq!(run_one::<DnscryptDissector>(&udp([443, 46858]), &response).0, Probe::Certain);
        let framed = [&[0x00, 0x28][..], &response].concat();
        assert_eq!(run_one::<DnscryptDissector>(&tcp([443, 46858]), &framed).0, Probe::Certain);
        truncations::<DnscryptDissector>(&f, &response);
    }

    #[test]
    fn other_payloads_are_not_dnscrypt() {
        let f = udp([38650, 5353]);
        assert_eq!(run_one::<DnscryptDissector>(&f, &[0x5a; 100]).0, Probe::NotForUs, "too small for a query");
        assert_eq!(run_one::<DnscryptDissector>(&tcp([1, 443]), &[0x5a; 300]).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<DnscryptDissector>(&udp([1, 443]), std::slice::from_ref(&p));
            no_panic::<DnscryptDissector>(&tcp([1, 443]), &[p]);
        }
    }
}
