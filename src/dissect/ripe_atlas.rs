//! RIPE Atlas measurement packets that carry the `MGLNDD` tag.
//!
//! Such a payload is text: `MGLNDD_`, the target's address, `_` and a decimal number
//! (`MGLNDD_192.0.2.1_1113`), sometimes ending with a line feed. The whole payload must have
//! that form.

use super::text::trim;
use super::{protocol, Dissector, Probe, Segment};

const TAG: &[u8; 7] = b"MGLNDD_";
/// An IPv6 address, `_` and a number, with room to spare.
const MAX_LEN: usize = 80;

/// RIPE Atlas needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct RipeAtlasDissector;

/// `p` is a whole tagged payload.
fn tagged(p: &[u8]) -> bool {
    let Some(rest) = p.strip_prefix(TAG) else {
        return false;
    };
    let rest = trim(rest);
    let Some(split) = rest.iter().rposition(|&b| b == b'_') else {
        return false;
    };
    let (address, number) = (&rest[..split], &rest[split + 1..]);
    p.len() <= MAX_LEN
        && std::str::from_utf8(address).is_ok_and(|a| a.parse::<std::net::IpAddr>().is_ok())
        && !number.is_empty()
        && number.iter().all(u8::is_ascii_digit)
}

impl Dissector for RipeAtlasDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RIPE_ATLAS;

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.len() < TAG.len() && TAG.starts_with(p) {
            Probe::Unsure
        } else {
            Probe::certain_if(tagged(p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn tagged_payloads() {
        // ripe_atlas.pcap, 207.246.88.254:56857 → 96.78.208.202:29195.
        let f = udp([56857, 29195]);
        let p = b"MGLNDD_11.111.11.111_1114";
        assert_eq!(run_one::<RipeAtlasDissector>(&f, p).0, Probe::Certain);
        assert_eq!(run_one::<RipeAtlasDissector>(&tcp([1, 2]), b"MGLNDD_2001:db8::1_80\n").0, Probe::Certain);
        assert_eq!(run_one::<RipeAtlasDissector>(&f, b"MGLN").0, Probe::Unsure);
        truncations::<RipeAtlasDissector>(&f, p);
    }

    #[test]
    fn other_payloads_are_not_ripe_atlas() {
        let f = udp([56857, 29195]);
        assert_eq!(run_one::<RipeAtlasDissector>(&f, b"MGLNDD_11.111.11.111_").0, Probe::NotForUs);
        assert_eq!(run_one::<RipeAtlasDissector>(&f, b"MGLNDD_example.com_1114").0, Probe::NotForUs);
        assert_eq!(run_one::<RipeAtlasDissector>(&f, b"MGLNDD_11.111.11.111_1114 and more").0, Probe::NotForUs);
        assert_eq!(run_one::<RipeAtlasDissector>(&f, b"GET / HTTP/1.1\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut q = TAG.to_vec();
            q.extend_from_slice(&p);
            no_panic::<RipeAtlasDissector>(&udp([1, 2]), &[p, q]);
        }
    }
}
