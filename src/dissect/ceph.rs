//! Ceph's messenger protocol (monitors on TCP 6789 with msgr v1, 3300 with msgr2): both ends
//! open with a banner, `ceph v027` (v1) or `ceph v2\n` (v2).

use super::text::prefix_agrees;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const BANNER_V1: &[u8] = b"ceph v027";
const BANNER_V2: &[u8] = b"ceph v2\n";

/// Ceph needs no state.
#[derive(Debug, Default)]
pub struct CephDissector;

impl Dissector for CephDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CEPH;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"c");

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.first() != Some(&b'c') {
            Probe::NotForUs
        } else if p.starts_with(BANNER_V1) || p.starts_with(BANNER_V2) {
            Probe::Certain
        } else if p.len() < BANNER_V1.len() && (prefix_agrees(p, BANNER_V1) || prefix_agrees(p, BANNER_V2)) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[3300, 6789]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_banner_names_the_flow() {
        // nDPI's corpus has Ceph only on a port scan (synscan.pcap, no payload): the banners
        // as the messenger sends them.
        let f = tcp([40000, 6789]);
        assert_eq!(run_one::<CephDissector>(&f, b"ceph v027\x00\x00\x00\x00").0, Probe::Certain);
        assert_eq!(run_one::<CephDissector>(&tcp([40000, 3300]), b"ceph v2\n\x10\x00").0, Probe::Certain);
        assert_eq!(run_one::<CephDissector>(&f, b"ceph").0, Probe::Unsure);
        truncations::<CephDissector>(&f, b"ceph v027\x00\x00\x00\x00");
        assert_eq!(run_one::<CephDissector>(&f, b"ceph version 17.2.6\n").0, Probe::NotForUs);
        assert_eq!(run_one::<CephDissector>(&f, b"connect example.com:443").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<CephDissector>(&tcp([1, 6789]), &[p]);
        }
    }
}
