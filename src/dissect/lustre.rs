//! Lustre's LNet over TCP (socklnd; port 988), named `Lustre` as nDPI names it
//! (flowsieve-only ID).
//!
//! An LNet network ID (NID) on TCP carries the node's IPv4 address in its low 32 bits, and LNet
//! writes NIDs little-endian. The rules are the ones nDPI applies to every TCP flow (its
//! lustre.c, read as wire facts):
//! - a connection's opening: the acceptor's magic `0xacce7100` or LNet's `0x45726963` ("Eric"),
//!   then the version, then a NID at offset 8 that is one of the connection's addresses;
//! - a connection picked up midway: a socklnd LNet message (type `0xc1`), whose LNet header at
//!   offset 24 starts with the destination NID (an address of the connection) and has the
//!   payload length at offset 52, the rest of the segment after the 96-byte header.
//!
//! nDPI compares the NID with the packet's destination; a dissector knows the flow's two
//! addresses, not which one sent the segment, so either is taken: the four-byte equality is
//! what makes the rule strong either way.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const ACCEPTOR_MAGIC: u32 = 0xacce_7100;
const LNET_MAGIC: u32 = 0x4572_6963;
/// socklnd's message type for an LNet message.
const LNET_MESSAGE: u32 = 0xc1;
/// socklnd's header (24 bytes) and LNet's (72).
const MESSAGE_HEADER: usize = 96;

/// Lustre needs no state: one segment decides.
#[derive(Debug, Default)]
pub struct LustreDissector;

/// Whether the low 32 bits of a NID, read little-endian, are one of the flow's addresses.
fn nid_of(flow: &FlowInfo, low: u32) -> bool {
    flow.has_ipv4(low.to_be_bytes())
}

impl Dissector for LustreDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::LUSTRE;
    const TRANSPORTS: Transports = Transports::TCP;
    /// The magics' and the message type's first (little-endian) bytes.
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x00, 0x63, 0xc1]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let (Some(first), Some(nid)) = (le_u32_at(p, 0), le_u32_at(p, 8)) else { return Probe::NotForUs };
        if p.len() > 15 && matches!(first, ACCEPTOR_MAGIC | LNET_MAGIC) && nid_of(flow, nid) {
            return Probe::Certain;
        }
        let (Some(dest), Some(len)) = (le_u32_at(p, 24), le_u32_at(p, 52)) else { return Probe::NotForUs };
        Probe::certain_if(
            first == LNET_MESSAGE
                && p.len() > MESSAGE_HEADER
                && nid_of(flow, dest)
                && usize::try_from(len).is_ok_and(|l| l == p.len() - MESSAGE_HEADER),
        )
    }

    const PORTS: Ports = Ports::tcp(&[988]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A client at 192.168.10.2 and a server at 192.168.10.20.
    fn flow() -> FlowInfo {
        FlowInfo { addrs: ["192.168.10.2".parse().unwrap(), "192.168.10.20".parse().unwrap()], ..tcp([1023, 988]) }
    }

    /// A NID on TCP for an IPv4 address, little-endian (network type 2 in the high word).
    fn nid(a: [u8; 4]) -> [u8; 8] {
        let low = u32::from_be_bytes(a).to_le_bytes();
        [low[0], low[1], low[2], low[3], 0, 0, 2, 0]
    }

    #[test]
    fn the_acceptor_request_and_an_lnet_message_are_lustre() {
        let mut request = ACCEPTOR_MAGIC.to_le_bytes().to_vec();
        request.extend_from_slice(&1u32.to_le_bytes());
        request.extend_from_slice(&nid([192, 168, 10, 20]));
        assert_eq!(run_one::<LustreDissector>(&flow(), &request).0, Probe::Certain);
        let mut hello = LNET_MAGIC.to_le_bytes().to_vec();
        hello.extend_from_slice(&3u32.to_le_bytes());
        hello.extend_from_slice(&nid([192, 168, 10, 2]));
        hello.extend_from_slice(&nid([192, 168, 10, 20]));
        assert_eq!(run_one::<LustreDissector>(&flow(), &hello).0, Probe::Certain);
        // Mid-connection: socklnd's header, LNet's with the destination NID and a 16-byte payload.
        let mut message = vec![0u8; MESSAGE_HEADER + 16];
        message[..4].copy_from_slice(&LNET_MESSAGE.to_le_bytes());
        message[24..32].copy_from_slice(&nid([192, 168, 10, 20]));
        message[52..56].copy_from_slice(&16u32.to_le_bytes());
        assert_eq!(run_one::<LustreDissector>(&flow(), &message).0, Probe::Certain);
        let mut short = message.clone();
        short.pop();
        assert_eq!(run_one::<LustreDissector>(&flow(), &short).0, Probe::NotForUs, "length not the segment's");
    }

    #[test]
    fn near_misses_are_not_lustre() {
        let mut request = ACCEPTOR_MAGIC.to_le_bytes().to_vec();
        request.extend_from_slice(&1u32.to_le_bytes());
        request.extend_from_slice(&nid([192, 168, 10, 21]));
        assert_eq!(run_one::<LustreDissector>(&flow(), &request).0, Probe::NotForUs, "another node's NID");
        let mut other_magic = request.clone();
        other_magic[..4].copy_from_slice(&0xacce_7101u32.to_le_bytes());
        other_magic[8..16].copy_from_slice(&nid([192, 168, 10, 20]));
        assert_eq!(run_one::<LustreDissector>(&flow(), &other_magic).0, Probe::NotForUs);
        assert_eq!(run_one::<LustreDissector>(&flow(), b"\x00\x71\xce\xac").0, Probe::NotForUs);
        assert_eq!(run_one::<LustreDissector>(&udp([1023, 988]), &request).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..120)) {
            no_panic::<LustreDissector>(&flow(), &[p]);
        }
    }
}
