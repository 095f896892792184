//! Discord's voice connection (UDP, to Discord's media servers, usually ports 50001–50010).
//!
//! Two kinds of datagrams show it before the encrypted RTP starts:
//! - IP discovery: a 74-byte request or response, type 1 or 2 (16 bits), length 70 (16 bits),
//!   the SSRC (32 bits), the client's address as seen by the server in a 64-byte null-padded
//!   ASCII field (empty in the request) and its port (16 bits);
//! - the keep-alive: 8 bytes, the magic `13 37 ca fe` and a 32-bit little-endian counter,
//!   echoed by the server.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const KEEPALIVE_MAGIC: [u8; 4] = [0x13, 0x37, 0xca, 0xfe];
const KEEPALIVE_LEN: usize = 8;
/// IP discovery: type, length, SSRC, address, port.
const DISCOVERY_LEN: usize = 74;
/// The discovery length field: what follows the type and length.
const DISCOVERY_BODY: u16 = 70;
/// The address field.
const ADDRESS: std::ops::Range<usize> = 8..72;

/// Discord needs no state.
#[derive(Debug, Default)]
pub struct DiscordDissector;

/// `p` is an IP discovery request or response.
fn ip_discovery(p: &[u8]) -> bool {
    let Some(address) = p.get(ADDRESS) else { return false };
    let text_len = address.iter().position(|&b| b == 0).unwrap_or(address.len());
    let (text, padding) = address.split_at(text_len);
    p.len() == DISCOVERY_LEN
        && matches!(be_u16_at(p, 0), Some(1 | 2))
        && be_u16_at(p, 2) == Some(DISCOVERY_BODY)
        && !padding.is_empty()
        && padding.iter().all(|&b| b == 0)
        && text.iter().all(|&b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
}

impl Dissector for DiscordDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DISCORD;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let keepalive = p.len() == KEEPALIVE_LEN && p.starts_with(&KEEPALIVE_MAGIC);
        Probe::certain_if(flow.is_udp() && (keepalive || ip_discovery(p)))
    }

    const PORTS: Ports = Ports::udp(&[50001, 50002, 50003, 50004, 50005, 50006, 50007, 50008, 50009, 50010]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// rtp.pcapng, 192.113.193.227:50003 → 150.219.118.19:54234: an IP discovery response
    /// (address 85.154.2.145; the port bytes zeroed here).
    fn response() -> Vec<u8> {
        let mut p = hex("00020046001a7e7338352e3135342e322e313435");
        p.resize(DISCOVERY_LEN, 0);
        p
    }

    #[test]
    fn keepalive_and_discovery_are_discord() {
        let f = udp([56271, 50004]);
        // discord.pcap, 192.168.2.100:56271 → 66.22.244.154:50004.
        assert_eq!(run_one::<DiscordDissector>(&f, &hex("1337cafe0e000000")).0, Probe::Certain);
        let r = response();
        assert_eq!(run_one::<DiscordDissector>(&f, &r).0, Probe::Certain);
        let mut request = r.clone();
        request[1] = 1;
        request[ADDRESS].fill(0);
        assert_eq!(run_one::<DiscordDissector>(&f, &request).0, Probe::Certain);
        truncations::<DiscordDissector>(&f, &r);
    }

    #[test]
    fn others_are_not() {
        let f = udp([56271, 50004]);
        assert_eq!(run_one::<DiscordDissector>(&f, &hex("1337cafe0e00000000")).0, Probe::NotForUs);
        assert_eq!(run_one::<DiscordDissector>(&tcp([56271, 50004]), &hex("1337cafe0e000000")).0, Probe::NotForUs);
        let mut r = response();
        r[20] = b'x';
        assert_eq!(run_one::<DiscordDissector>(&f, &r).0, Probe::NotForUs, "the address is text");
        // A STUN binding request of the same size.
        let mut stun = hex("000100362112a442");
        stun.resize(DISCOVERY_LEN, 0);
        assert_eq!(run_one::<DiscordDissector>(&f, &stun).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..100)) {
            no_panic::<DiscordDissector>(&udp([1, 50004]), &[p]);
        }
    }
}
