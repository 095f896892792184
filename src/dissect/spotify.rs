//! Spotify: the desktop client's LAN discovery broadcast (UDP port 57621), which starts with
//! the magic `SpotUdp0`, and its access-point connection (TCP port 4070), whose first client
//! message is the protocol version (16 bits, 4) and the 32-bit length of the whole message.

use super::reader::{be_u16_at, be_u32_at};
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const DISCOVERY_MAGIC: &[u8; 8] = b"SpotUdp0";
/// The access-point protocol version the client hello opens with.
const AP_VERSION: u16 = 4;
/// Least length of the hello (version, length, a protobuf body).
const MIN_HELLO: u32 = 16;
const MAX_HELLO: u32 = 4096;

/// Spotify needs no state.
#[derive(Debug, Default)]
pub struct SpotifyDissector;

/// `p` is the client's whole access-point hello.
fn ap_hello(p: &[u8]) -> bool {
    let length = be_u32_at(p, 2);
    be_u16_at(p, 0) == Some(AP_VERSION)
        && length.is_some_and(|l| (MIN_HELLO..=MAX_HELLO).contains(&l) && usize::try_from(l).ok() == Some(p.len()))
}

impl Dissector for SpotifyDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SPOTIFY;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if flow.is_udp() {
            Probe::certain_if(p.starts_with(DISCOVERY_MAGIC))
        } else {
            Probe::certain_if(flow.is_tcp() && ap_hello(p))
        }
    }

    const PORTS: Ports = Ports { tcp: &[4070], udp: &[57621] };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn discovery_and_hello_are_spotify() {
        // android.pcap, 192.168.2.1:57621 → 192.168.2.255:57621.
        let discovery = hex("53706f7455647030dc1574282e52624c000100044895c203a241de2089b978d820564bd50c91c0e8");
        assert_eq!(run_one::<SpotifyDissector>(&udp([57621, 57621]), &discovery).0, Probe::Certain);
        truncations::<SpotifyDissector>(&udp([57621, 57621]), &discovery);
        // spotify_tcp.pcap, 10.0.2.15:48628 → 35.190.243.72:4070: the hello's first bytes,
        // the rest of its 329 bytes zeroed.
        let mut hello = hex("000400000149520f5002a00100f00106c002b9f6909d03a00100f00100c0020092036752655260a2");
        hello.resize(329, 0);
        let f = tcp([48628, 4070]);
        assert_eq!(run_one::<SpotifyDissector>(&f, &hello).0, Probe::Certain);
        assert_eq!(run_one::<SpotifyDissector>(&f, &hello[..328]).0, Probe::NotForUs, "length must match");
        // The server's answer does not open with the version.
        let answer = hex("0000021e52970452ec0252e9025260f6d2e9f686");
        assert_eq!(run_one::<SpotifyDissector>(&f, &answer).0, Probe::NotForUs);
        assert_eq!(run_one::<SpotifyDissector>(&f, &discovery).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<SpotifyDissector>(&udp([1, 57621]), std::slice::from_ref(&p));
            no_panic::<SpotifyDissector>(&tcp([1, 4070]), &[p]);
        }
    }
}
