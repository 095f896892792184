//! MPEG transport streams sent as UDP datagrams (IPTV multicast, ISO/IEC 13818-1): a datagram
//! is a whole number of 188-byte transport packets (usually seven), each starting with the sync
//! byte `0x47`. The probe wants at least two packets and every sync byte in place. Streams
//! carried in RTP (RFC 2250) start with the RTP header instead and are RTP's.

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const PACKET: usize = 188;
const SYNC: u8 = 0x47;

/// MPEG-TS needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct MpegtsDissector;

impl Dissector for MpegtsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MPEG_TS;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[SYNC]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let whole = p.len() >= 2 * PACKET && p.len().is_multiple_of(PACKET);
        Probe::certain_if(whole && p.chunks_exact(PACKET).all(|packet| packet[0] == SYNC))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// Seven packets; the first one's header as in mpegts.pcap, 10.1.16.48:40737 →
    /// 230.200.201.23:1234 (PID 0x101), the rest of the 1,316 bytes filled.
    fn datagram() -> Vec<u8> {
        let mut p = Vec::new();
        for _ in 0..7 {
            let mut packet = hex("47010117000fbc1ddb8f6723906a302c9d110083");
            packet.resize(PACKET, 0xff);
            p.extend_from_slice(&packet);
        }
        p
    }

    #[test]
    fn whole_transport_packets_name_the_flow() {
        let f = udp([40737, 1234]);
        assert_eq!(run_one::<MpegtsDissector>(&f, &datagram()).0, Probe::Certain);
        assert_eq!(run_one::<MpegtsDissector>(&f, &datagram()[..2 * PACKET]).0, Probe::Certain);
        truncations::<MpegtsDissector>(&f, &datagram()[..2 * PACKET]);
    }

    #[test]
    fn other_datagrams_are_not_mpeg_ts() {
        let f = udp([40737, 1234]);
        assert_eq!(run_one::<MpegtsDissector>(&f, &datagram()[..PACKET]).0, Probe::NotForUs, "one packet");
        assert_eq!(run_one::<MpegtsDissector>(&f, &datagram()[..1315]).0, Probe::NotForUs, "not whole");
        let mut p = datagram();
        p[3 * PACKET] = 0x48;
        assert_eq!(run_one::<MpegtsDissector>(&f, &p).0, Probe::NotForUs, "a sync byte missing");
        assert_eq!(run_one::<MpegtsDissector>(&tcp([40737, 1234]), &datagram()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..400)) {
            no_panic::<MpegtsDissector>(&udp([1, 2]), &[p]);
        }
    }
}
