//! Ethereum's peer-to-peer protocols (devp2p), as their first packets show them.
//!
//! - RLPx over TCP (port 30303): the first message each way, the initiator's auth and the
//!   recipient's ack, is in the EIP-8 format: a 16-bit size of what follows, then an ECIES
//!   message starting with the sender's ephemeral public key in uncompressed form (`04` and
//!   64 bytes), a 16-byte IV, the ciphertext and a 32-byte MAC.
//! - Node discovery v4 over UDP: a 32-byte hash, a 65-byte signature (its last byte the
//!   recovery ID, 0 or 1), the packet type (1 ping … 6 ENR response) and the packet data, one
//!   RLP list that ends the datagram.

use super::reader::be_len16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

/// The ECIES public key's form byte: uncompressed point.
const UNCOMPRESSED: u8 = 0x04;
/// Public key, IV and MAC: the least an ECIES message has besides its ciphertext.
const ECIES_OVERHEAD: usize = 65 + 16 + 32;
/// Largest auth/ack message taken for one (EIP-8 pads them to a few hundred bytes).
const MAX_HANDSHAKE: usize = 2048;
/// Discovery v4: hash and signature before the packet type.
const DISCV4_TYPE_AT: usize = 32 + 65;
/// Discovery v4 packet types: ping, pong, findnode, neighbors, ENR request, ENR response.
const DISCV4_TYPES: std::ops::RangeInclusive<u8> = 1..=6;

/// Ethereum needs no state: the first packet says all there is.
#[derive(Debug, Default)]
pub struct EthereumDissector;

/// `p` is one whole RLPx auth or ack message.
fn rlpx_handshake(p: &[u8]) -> bool {
    be_len16_at(p, 0).is_some_and(|size| {
        (ECIES_OVERHEAD + 1..=MAX_HANDSHAKE).contains(&size) && p.len() == size + 2 && p.get(2) == Some(&UNCOMPRESSED)
    })
}

/// Length of the RLP list item at the start of `p` (header and payload), if `p` starts with a
/// list.
fn rlp_list_len(p: &[u8]) -> Option<usize> {
    match *p.first()? {
        b @ 0xc0..=0xf7 => Some(1 + usize::from(b - 0xc0)),
        b @ 0xf8..=0xff => {
            let n = usize::from(b - 0xf7);
            // Up to 8 length bytes: a hostile length must not overflow the total.
            let len = p.get(1..1 + n)?.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
            len.checked_add(1 + n)
        }
        _ => None,
    }
}

/// `p` is one discovery v4 packet.
fn discv4(p: &[u8]) -> bool {
    let recovery_id = p.get(DISCV4_TYPE_AT - 1);
    let kind = p.get(DISCV4_TYPE_AT);
    let data = p.get(DISCV4_TYPE_AT + 1..).unwrap_or_default();
    matches!(recovery_id, Some(0 | 1))
        && kind.is_some_and(|k| DISCV4_TYPES.contains(k))
        && rlp_list_len(data) == Some(data.len())
}

impl Dissector for EthereumDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ETHEREUM;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if flow.is_tcp() {
            Probe::certain_if(rlpx_handshake(p))
        } else {
            Probe::certain_if(flow.is_udp() && discv4(p))
        }
    }

    const PORTS: Ports = Ports::both(&[30303]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn an_rlp_length_of_eight_bytes_does_not_overflow() {
        // Found by the `registry` fuzz target: 0xff announces 8 length bytes, all 0xff.
        let mut p = vec![0xff];
        p.extend([0xff; 8]);
        assert_eq!(rlp_list_len(&p), None);
        assert_eq!(rlp_list_len(&[0xf8, 0x02]), Some(4));
    }

    /// ethereum.pcap, 87.14.222.25:56693 → 192.168.1.184:30303: a discovery v4 ping.
    const PING: &str = concat!(
        "1cccace90dbd00ea76d6bc296520d71118d36c8ce1c0da61d22742e640a457f1439e13943ff18c642f694358a4638b4a7e",
        "056885125d0d5fe385d637264350f277e34e37929c6ec8c65cdbc752f6b713240030944c3e967d15c5bb3cf4dff21f",
        "0001dd04cb847f00000182765f82765fc9844f16cebd82e9f780845e16205e05",
    );

    /// ethereum.pcap, 192.168.1.184:56635 → 162.228.29.160:30303: the auth message's first
    /// bytes (size 0x19b, the key's `04`), the rest of its 413 bytes zeroed.
    fn auth() -> Vec<u8> {
        let mut p = hex("019b04af315182fbbe19dc5cc7c4ca315c428210c4ae23b8ec4e56b9d80124fc20548e597948488f");
        p.resize(413, 0);
        p
    }

    #[test]
    fn rlpx_auth_is_ethereum() {
        let f = tcp([56635, 30303]);
        let auth = auth();
        assert_eq!(run_one::<EthereumDissector>(&f, &auth).0, Probe::Certain);
        truncations::<EthereumDissector>(&f, &auth);
        assert_eq!(run_one::<EthereumDissector>(&f, &auth[..400]).0, Probe::NotForUs, "size must match");
        let mut other = auth.clone();
        other[2] = 0x03;
        assert_eq!(run_one::<EthereumDissector>(&f, &other).0, Probe::NotForUs);
        assert_eq!(run_one::<EthereumDissector>(&udp([56635, 30303]), &auth).0, Probe::NotForUs);
    }

    #[test]
    fn discovery_ping_is_ethereum() {
        let f = udp([56693, 30303]);
        let ping = hex(PING);
        assert_eq!(run_one::<EthereumDissector>(&f, &ping).0, Probe::Certain);
        truncations::<EthereumDissector>(&f, &ping);
        assert_eq!(run_one::<EthereumDissector>(&f, &ping[..127]).0, Probe::NotForUs);
        let mut bad = ping.clone();
        bad[DISCV4_TYPE_AT] = 9;
        assert_eq!(run_one::<EthereumDissector>(&f, &bad).0, Probe::NotForUs);
        assert_eq!(run_one::<EthereumDissector>(&f, &[0u8; 128]).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..200)) {
            no_panic::<EthereumDissector>(&tcp([1, 30303]), std::slice::from_ref(&p));
            no_panic::<EthereumDissector>(&udp([1, 30303]), &[p]);
        }
    }
}
