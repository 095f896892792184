//! NTP dissector (RFC 5905 §7.3): the 48-byte header, optionally followed by extension fields
//! or a MAC; control (mode 6) and private (mode 7) messages on port 123.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const HEADER: usize = 48;

/// NTP needs no state.
#[derive(Debug, Default)]
pub struct NtpDissector;

/// Version (bits 3–5 of the first byte) and mode (bits 0–2).
fn version_mode(p: &[u8]) -> Option<(u8, u8)> {
    let b = *p.first()?;
    Some(((b >> 3) & 7, b & 7))
}

impl Dissector for NtpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NTP;
    const TRANSPORTS: Transports = Transports::UDP;

    /// Certain for a client/server/symmetric/broadcast header of a known length and version,
    /// or a control/private message on port 123.
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let Some((version, mode)) = version_mode(p).filter(|_| flow.is_udp()) else {
            return Probe::NotForUs;
        };
        // A bare header, + key id and MD5 (20) or SHA-1 (24) MAC, or NTPv4 extension fields.
        let sized = p.len() == HEADER
            || p.len() == HEADER + 20
            || p.len() == HEADER + 24
            || (p.len() > HEADER && p.len().is_multiple_of(4) && p.len() <= 1024);
        let time_mode = (1..=5).contains(&mode) && (1..=4).contains(&version) && sized;
        // Stratum 16+ is reserved (RFC 5905 §7.3) except in kiss-o'-death replies (0).
        let stratum_ok = p.get(1).is_some_and(|&s| s <= 16);
        let control = (mode == 6 || mode == 7) && (1..=4).contains(&version) && flow.has_port(123) && p.len() >= 8;
        Probe::certain_if((time_mode && stratum_ok) || control)
    }

    const PORTS: Ports = Ports::udp(&[123]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn client_request() {
        let mut m = [0u8; 48];
        m[0] = 0x23; // v4, client
        assert_eq!(run_one::<NtpDissector>(&udp([40000, 123]), &m).0, Probe::Certain);
        assert_eq!(run_one::<NtpDissector>(&udp([40000, 123]), &m[..47]).0, Probe::NotForUs);
        m[0] = 0x3f; // v7
        assert_eq!(run_one::<NtpDissector>(&udp([40000, 123]), &m).0, Probe::NotForUs);
        assert_eq!(run_one::<NtpDissector>(&tcp([40000, 123]), &m).0, Probe::NotForUs);
        truncations::<NtpDissector>(&udp([1, 123]), &m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..100)) {
            no_panic::<NtpDissector>(&udp([123, 123]), &[p]);
        }
    }
}
