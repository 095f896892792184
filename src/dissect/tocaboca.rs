//! Toca Boca's games' multiplayer traffic: Exit Games' Photon protocol over UDP, on Photon's
//! default port 5055. A datagram is a 12-byte header (16-bit peer ID, `ffff` before the server
//! assigns one; a CRC flag 0 or 1; the number of commands; a 32-bit timestamp and a 32-bit
//! challenge), a 32-bit CRC when the flag is set, then the commands, each a 12-byte header
//! (type 1–12, channel, flags, a reserved byte, the command's 32-bit length including this
//! header, a 32-bit sequence number) and its body. The command lengths must add up to the
//! datagram exactly.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const HEADER: usize = 12;
const CRC_LEN: usize = 4;
const COMMAND_HEADER: usize = 12;
/// Photon's command types: acknowledge … fragment, ping, server time, and so on.
const COMMAND_TYPES: std::ops::RangeInclusive<u8> = 1..=12;
/// Most commands walked in one datagram.
const MAX_COMMANDS: u8 = 32;

/// Toca Boca needs no state.
#[derive(Debug, Default)]
pub struct TocaBocaDissector;

/// `p` is one Photon datagram.
fn photon(p: &[u8]) -> bool {
    let (Some(&crc), Some(&count)) = (p.get(2), p.get(3)) else { return false };
    if crc > 1 || count == 0 || count > MAX_COMMANDS {
        return false;
    }
    let mut at = HEADER + if crc == 1 { CRC_LEN } else { 0 };
    for _ in 0..count {
        let kind = p.get(at).copied().unwrap_or(0);
        let Some(len) = be_u32_at(p, at + 4).and_then(|l| usize::try_from(l).ok()) else { return false };
        if !COMMAND_TYPES.contains(&kind) || len < COMMAND_HEADER {
            return false;
        }
        at = match at.checked_add(len) {
            Some(next) if next <= p.len() => next,
            _ => return false,
        };
    }
    at == p.len()
}

impl Dissector for TocaBocaDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TOCABOCA;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && photon(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[5055]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// toca-boca.pcap, 192.168.2.100:50173 → 91.199.81.225:5055: the client's connect.
    const CONNECT: &str =
        "ffff00010000000422b6e6ba02ff01040000002c00000001000004b00000800000000002000000000000000000001388";

    fn connect() -> Vec<u8> {
        let mut p = hex(CONNECT);
        p.resize(56, 0);
        p
    }

    #[test]
    fn photon_connect_is_tocaboca() {
        let f = udp([50173, 5055]);
        let c = connect();
        assert_eq!(run_one::<TocaBocaDissector>(&f, &c).0, Probe::Certain);
        truncations::<TocaBocaDissector>(&f, &c);
        // 91.199.81.225:5055 → the client: acknowledge and verify-connect, two commands.
        let mut reply = hex("000000027dfbd18522b6e6ba01ff00000000001400000000000000010000000403ff01000000002c");
        reply.resize(76, 0);
        assert_eq!(run_one::<TocaBocaDissector>(&f, &reply).0, Probe::Certain);
        assert_eq!(run_one::<TocaBocaDissector>(&f, &reply[..75]).0, Probe::NotForUs, "lengths must add up");
    }

    #[test]
    fn others_are_not() {
        let f = udp([50173, 5055]);
        assert_eq!(run_one::<TocaBocaDissector>(&f, &[0x7d; 13]).0, Probe::NotForUs);
        assert_eq!(run_one::<TocaBocaDissector>(&f, &[0u8; 24]).0, Probe::NotForUs);
        assert_eq!(run_one::<TocaBocaDissector>(&tcp([50173, 5055]), &connect()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<TocaBocaDissector>(&udp([1, 5055]), &[p]);
        }
    }
}
