//! WireGuard dissector (WireGuard whitepaper §5.4): a message type byte 1–4, three reserved
//! zero bytes, and a fixed size per type (initiation 148, response 92, cookie reply 64,
//! transport data 32 + a multiple of 16).

use super::{protocol, Direction, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

/// WireGuard needs no state.
#[derive(Debug, Default)]
pub struct WireguardDissector;

impl Dissector for WireguardDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::WIREGUARD;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::range(1, 4);

    /// Certain for a handshake message of the right size. Transport data alone is only a hint
    /// (its size rule matches many UDP payloads), so it stays unsure until the other side
    /// answers with transport data too (a capture that starts mid-session): a flow still
    /// probing then had nothing but transport data before. Its 64-bit little-endian counter
    /// restarts with every key (REKEY_AFTER_TIME is 120 s, whitepaper §6.1), so its high half
    /// is zero.
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_udp() || p.get(1..4) != Some(&[0, 0, 0][..]) {
            return Probe::NotForUs;
        }
        match (p.first(), p.len()) {
            (Some(1), 148) | (Some(2), 92) | (Some(3), 64) => Probe::Certain,
            (Some(4), n) if n >= 32 && n % 16 == 0 && p.get(12..16) == Some(&[0; 4][..]) => match segment.direction {
                Direction::Forward => Probe::Unsure,
                Direction::Reverse => Probe::Certain,
            },
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::udp(&[51820]);
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

    #[test]
    fn transport_data_both_ways() {
        // nDPI's mullvad_wireguard.pcap, flow 1 (UDP 5060, mid-session): transport data each
        // way, 96 bytes, counters 0x13 and 0x0f.
        let out = hex(concat!(
            "040000001576497913000000000000003bc85395c81aa144b19f96e639fb04b89c8880767cf1142a03a1ec",
            "927c93f14471f015aca7fab94ec21d632e0e94af5a3b50604bd5f5c3280cfe33233e6e04dcc64cd10007c4",
            "0ff94e1dbb0d31b619bf"
        ));
        let back = hex(concat!(
            "04000000b048101c0f000000000000000b084e9cecdcdaa3fe69e005cc0bb9cb40d096d1d35e314bf0e815",
            "35c3ae4f30d6c71f7f03c65d542193cf4f59bf2fb70fa938fad9372a285aee6d1e6f4a71756ae2189eaf5e",
            "042a71293edaead29cbe"
        ));
        let f = udp([22595, 5060]);
        let probe = |dir, p: &[u8]| WireguardDissector::probe_flow(&f, &segment(&f, dir, 0, p));
        assert_eq!(probe(Direction::Forward, &out), Probe::Unsure);
        assert_eq!(probe(Direction::Reverse, &back), Probe::Certain);
        // A counter beyond 2^32 is not a live session's.
        let mut high = back.clone();
        high[15] = 1;
        assert_eq!(probe(Direction::Reverse, &high), Probe::NotForUs);
        assert_eq!(probe(Direction::Reverse, &back[..95]), Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..200)) {
            no_panic::<WireguardDissector>(&udp([1, 51820]), &[p.clone(), p]);
        }
    }
}
