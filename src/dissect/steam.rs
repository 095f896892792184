//! Steam Remote Play (in-home streaming) discovery, which nDPI names `Steam` (Netify's 74; its
//! twin application is `netify.steam`).
//!
//! Wire facts (the signature nDPI applies to all UDP traffic, read from its source as a fact
//! about the protocol; this is flowsieve's own code): the clients broadcast on UDP 27036 a
//! datagram opening with the 8-byte signature `ff ff ff ff 21 4c 5f a0`, then a 32-bit
//! little-endian header length, the header (a protobuf message), a 32-bit little-endian body
//! length and the body. nDPI wants the signature in a datagram of at least 40 bytes; flowsieve
//! also wants both lengths to add up to the datagram's exactly.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const SIGNATURE: [u8; 8] = [0xff, 0xff, 0xff, 0xff, 0x21, 0x4c, 0x5f, 0xa0];
const MIN_LEN: usize = 40;

/// Discovery needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct SteamDissector;

/// The offset after the 32-bit length at `at` and the bytes it counts, when they fit.
fn counted(p: &[u8], at: usize) -> Option<usize> {
    let len = usize::try_from(le_u32_at(p, at)?).ok()?;
    let end = at.checked_add(4)?.checked_add(len)?;
    (end <= p.len()).then_some(end)
}

fn discovery(p: &[u8]) -> bool {
    let framed = || counted(p, SIGNATURE.len()).and_then(|body| counted(p, body)) == Some(p.len());
    p.len() >= MIN_LEN && p.starts_with(&SIGNATURE) && framed()
}

impl Dissector for SteamDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::STEAM;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0xff]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(discovery(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// steam.pcapng, 192.168.88.231:27036 → 192.168.88.255:27036: a 40-byte discovery
    /// broadcast (a 22-byte header, a 2-byte body).
    const DISCOVERY: &str = "ffffffff214c5fa01600000008fcd3f1e3b7bcbfcf76100018afca9baaa080d9e402020000000801";

    #[test]
    fn discovery_names_the_flow() {
        let f = udp([27036, 27036]);
        assert_eq!(run_one::<SteamDissector>(&f, &hex(DISCOVERY)).0, Probe::Certain);
        truncations::<SteamDissector>(&f, &hex(DISCOVERY));
    }

    #[test]
    fn near_misses_are_not_steam_discovery() {
        let f = udp([27036, 27036]);
        let probe = |p: &[u8]| run_one::<SteamDissector>(&f, p).0;
        // A byte more or less than the lengths count, a body length past the end.
        assert_eq!(probe(&[&hex(DISCOVERY)[..], &[0]].concat()), Probe::NotForUs);
        assert_eq!(probe(&hex(DISCOVERY)[..39]), Probe::NotForUs);
        let mut long_body = hex(DISCOVERY);
        long_body[34] = 0xff;
        assert_eq!(probe(&long_body), Probe::NotForUs);
        // A Source engine query (the same four 0xff, another type).
        assert_eq!(
            probe(b"\xff\xff\xff\xffTSource Engine Query\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
            Probe::NotForUs
        );
        assert_eq!(run_one::<SteamDissector>(&tcp([27036, 27036]), &hex(DISCOVERY)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            let mut p = p;
            p.splice(0..0, SIGNATURE);
            no_panic::<SteamDissector>(&udp([1, 2]), &[p]);
        }
    }
}
