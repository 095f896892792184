//! Monero's peer-to-peer protocol (TCP, port 18080 on mainnet): every message has a 33-byte
//! levin header, the 64-bit signature `0x0101010101012101` (little-endian), the body's
//! 64-bit length, a have-to-return byte, a 32-bit command, a return code, flags and the
//! protocol version (1). The probe wants the signature, a version of 1 and a body no longer
//! than the daemon's 100 MB limit.

use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const SIGNATURE: [u8; 8] = [0x01, 0x21, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01];
const HEADER: usize = 33;
/// The version field, little-endian, at the header's end.
const VERSION: [u8; 4] = [1, 0, 0, 0];
/// Longest body the reference daemon accepts.
const MAX_BODY: u64 = 100_000_000;

/// Monero needs no state.
#[derive(Debug, Default)]
pub struct MoneroDissector;

/// A little-endian u64 at `at`.
fn le_u64_at(p: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(p.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

impl Dissector for MoneroDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MONERO;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[SIGNATURE[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.first() != Some(&SIGNATURE[0]) {
            return Probe::NotForUs;
        }
        if p.len() < HEADER {
            let agrees = p.iter().zip(SIGNATURE).all(|(&a, b)| a == b);
            return if agrees { Probe::Unsure } else { Probe::NotForUs };
        }
        let body_ok = le_u64_at(p, 8).is_some_and(|n| n <= MAX_BODY);
        if p.get(..8) == Some(&SIGNATURE[..]) && p.get(29..HEADER) == Some(&VERSION[..]) && body_ok {
            Probe::Certain
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[18080]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_levin_header_names_the_flow() {
        // monero.pcap in nDPI's corpus: 192.168.2.100:48882 → 159.69.36.66:18080, a handshake
        // request (command 1001).
        let handshake = hex("0121010101010101060100000000000001e903000000000000010000000100000001110101010102");
        let f = tcp([48882, 18080]);
        assert_eq!(run_one::<MoneroDissector>(&f, &handshake).0, Probe::Certain);
        assert_eq!(run_one::<MoneroDissector>(&f, &handshake[..5]).0, Probe::Unsure);
        truncations::<MoneroDissector>(&f, &handshake);
        let mut other = handshake.clone();
        other[29] = 2;
        assert_eq!(run_one::<MoneroDissector>(&f, &other).0, Probe::NotForUs);
        other[29] = 1;
        other[15] = 1;
        assert_eq!(run_one::<MoneroDissector>(&f, &other).0, Probe::NotForUs);
        assert_eq!(run_one::<MoneroDissector>(&f, &[1; 40]).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<MoneroDissector>(&tcp([1, 18080]), &[p]);
        }
    }
}
