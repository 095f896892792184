//! WireGuard dissector (WireGuard whitepaper §5.4): a message type byte 1–4, three reserved
//! zero bytes, and a fixed size per type (initiation 148, response 92, cookie reply 64,
//! transport data 32 + a multiple of 16).

use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment};
use crate::flow::facts::FlowFacts;

/// WireGuard needs no state.
#[derive(Debug, Default)]
pub struct WireguardDissector;

impl Dissector for WireguardDissector {
    const PROTOCOL: u16 = protocol::WIREGUARD;

    /// Certain for a handshake message of the right size; transport data alone is only a
    /// hint (its size rule matches many UDP payloads), so it stays unsure.
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_udp() || p.get(1..4) != Some(&[0, 0, 0][..]) {
            return Probe::NotForUs;
        }
        match (p.first(), p.len()) {
            (Some(1), 148) | (Some(2), 92) | (Some(3), 64) => Probe::Certain,
            (Some(4), n) if n >= 32 && n % 16 == 0 => Probe::Unsure,
            _ => Probe::NotForUs,
        }
    }

    fn port_hint(flow: &FlowInfo) -> bool {
        flow.is_udp() && flow.has_port(51820)
    }

    fn parse(&mut self, _segment: &Segment<'_>, _facts: &mut FlowFacts) -> Parsed {
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn handshake_sizes() {
        let f = udp([40000, 51820]);
        let mut init = vec![0u8; 148];
        init[0] = 1;
        assert_eq!(run_one::<WireguardDissector>(&f, &init).0, Probe::Certain);
        assert_eq!(run_one::<WireguardDissector>(&f, &init[..147]).0, Probe::NotForUs);
        let mut data = vec![0u8; 64];
        data[0] = 4;
        assert_eq!(run_one::<WireguardDissector>(&f, &data).0, Probe::Unsure);
        truncations::<WireguardDissector>(&f, &init);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..200)) {
            no_panic::<WireguardDissector>(&udp([1, 51820]), &[p]);
        }
    }
}
