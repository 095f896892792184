//! The Nano cryptocurrency's node-to-node protocol over TCP (its peering port 7075). Every
//! message starts with an 8-byte header: the magic `R`, a network byte (`C` for the live
//! network), the node's maximum, in-use and minimum protocol versions, the message type and two
//! bytes of extensions. The wire facts nDPI applies to every TCP flow (docs/ARCHITECTURE.md,
//! "nDPI's signatures are wire facts"): a payload of more than 32 bytes starting `RC`, a maximum
//! version of 20, an in-use version from 18 to 20, a minimum from 18 to 19 and a message type of
//! at most 0x0f. flowsieve keeps the versions' floor (18) but not the pinned maximum: it
//! requires minimum ≤ in-use ≤ maximum instead, so newer nodes still match.

use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const MAGIC: &[u8] = b"RC";
/// The lowest protocol version nDPI accepts.
const OLDEST: u8 = 18;
const LAST_TYPE: u8 = 0x0f;
/// The shortest payload nDPI takes is one byte longer.
const SHORTEST: usize = 32;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct NanoDissector;

impl Dissector for NanoDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NANO;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"R");
    const PORTS: Ports = Ports::tcp(&[7075]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let header = match p.get(2..6) {
            Some(&[max, using, min, kind]) => OLDEST <= min && min <= using && using <= max && kind <= LAST_TYPE,
            _ => false,
        };
        Probe::certain_if(p.len() > SHORTEST && p.starts_with(MAGIC) && header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// nano.pcapng, 192.168.88.231:59642 → 37.120.187.138:7075 (40 bytes): versions 20/20/18,
    /// message type 0x0a.
    const MESSAGE: &str = "52431414120a0500f0269f5e0110da0ffa6fb70e5c70c46ec3bd3de37cc66ac1395fdde101f35544";

    #[test]
    fn a_node_message_is_nano() {
        let f = tcp([59642, 7075]);
        assert_eq!(run_one::<NanoDissector>(&f, &hex(MESSAGE)).0, Probe::Certain);
        truncations::<NanoDissector>(&f, &hex(MESSAGE));
    }

    #[test]
    fn near_misses_are_not() {
        let f = tcp([59642, 7075]);
        let p = hex(MESSAGE);
        assert_eq!(run_one::<NanoDissector>(&f, &p[..32]).0, Probe::NotForUs);
        // Another network, an in-use version above the maximum, a minimum below 18, type 0x10.
        for (at, value) in [(1, b'A'), (3, 0x15), (4, 0x11), (5, 0x10)] {
            let mut q = p.clone();
            q[at] = value;
            assert_eq!(run_one::<NanoDissector>(&f, &q).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<NanoDissector>(&udp([59642, 7075]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<NanoDissector>(&tcp([1, 7075]), &[p]);
        }
    }
}
