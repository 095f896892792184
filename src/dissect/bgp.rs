//! BGP-4 (RFC 4271, TCP port 179): every message starts with a 19-byte header, a marker of 16
//! `0xff` bytes, the message's total length (19–4096) and its type (1 OPEN, 2 UPDATE,
//! 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH of RFC 2918). All three must agree.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

/// Marker, length, type.
const HEADER: usize = 19;
const MARKER: [u8; 16] = [0xff; 16];
/// Longest message (RFC 4271 §4.1; RFC 8654's extended messages need a capability first).
const MAX_MESSAGE: u16 = 4096;

/// BGP needs no state.
#[derive(Debug, Default)]
pub struct BgpDissector;

impl Dissector for BgpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::BGP;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0xff]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() || p.first() != Some(&0xff) {
            return Probe::NotForUs;
        }
        if p.len() < HEADER {
            return if p.iter().take(16).all(|&b| b == 0xff) { Probe::Unsure } else { Probe::NotForUs };
        }
        let length = be_u16_at(p, 16).unwrap_or(0);
        let kind = p.get(18).copied().unwrap_or(0);
        if p.get(..16) == Some(&MARKER[..])
            && (HEADER as u16..=MAX_MESSAGE).contains(&length)
            && usize::from(length) <= p.len()
            && (1..=5).contains(&kind)
        {
            Probe::Certain
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[179, 2605]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_header_names_the_flow() {
        // BGP_Cisco_hdlc_slarp.pcap in nDPI's corpus: a KEEPALIVE, 100.16.1.1:179 → 100.16.1.2:18324.
        let keepalive = hex("ffffffffffffffffffffffffffffffff001304");
        let f = tcp([18324, 179]);
        assert_eq!(run_one::<BgpDissector>(&f, &keepalive).0, Probe::Certain);
        assert_eq!(run_one::<BgpDissector>(&f, &keepalive[..10]).0, Probe::Unsure);
        truncations::<BgpDissector>(&f, &keepalive);
        // Wrong type, length shorter than the header, length past the payload: not BGP.
        let mut bad = keepalive.clone();
        bad[18] = 9;
        assert_eq!(run_one::<BgpDissector>(&f, &bad).0, Probe::NotForUs);
        bad[18] = 4;
        bad[17] = 0x12;
        assert_eq!(run_one::<BgpDissector>(&f, &bad).0, Probe::NotForUs);
        bad[17] = 0x20;
        assert_eq!(run_one::<BgpDissector>(&f, &bad).0, Probe::NotForUs);
        assert_eq!(run_one::<BgpDissector>(&f, b"GET / HTTP/1.1\r\n\r\nxxxx").0, Probe::NotForUs);
        assert_eq!(run_one::<BgpDissector>(&udp([18324, 179]), &keepalive).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<BgpDissector>(&tcp([1, 179]), &[p]);
        }
    }
}
