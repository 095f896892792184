//! DHCP dissector (RFC 2131 §2, options RFC 2132): the client's host name (option 12) and
//! vendor class (option 60) from BOOTP messages carrying the DHCP magic cookie.

use super::text::fact_string;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// Fixed BOOTP header before the options (RFC 2131 figure 1), cookie included.
const FIXED: usize = 240;
const COOKIE: [u8; 4] = [99, 130, 83, 99];

const OPT_PAD: u8 = 0;
const OPT_HOSTNAME: u8 = 12;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_VENDOR_CLASS: u8 = 60;
const OPT_END: u8 = 255;

/// DHCP needs no state between messages.
#[derive(Debug, Default)]
pub struct DhcpDissector;

impl Dissector for DhcpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DHCP;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[1, 2]);

    /// Certain for a BOOTREQUEST/BOOTREPLY with a plausible hardware length and the cookie.
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let ok = flow.is_udp()
            && p.len() >= FIXED
            && matches!(p.first(), Some(1 | 2))
            && p.get(2).is_some_and(|&hlen| hlen <= 16)
            && p.get(236..240) == Some(&COOKIE[..]);
        Probe::certain_if(ok)
    }

    const PORTS: Ports = Ports::udp(&[67, 68]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let Some(mut options) = segment.payload.get(FIXED..) else {
            return Parsed::Continue;
        };
        if segment.payload.get(236..240) != Some(&COOKIE[..]) {
            return Parsed::Continue;
        }
        let dhcp = facts.app_protocol.dhcp_mut();
        while let Some((&code, rest)) = options.split_first() {
            match code {
                OPT_PAD => {
                    options = rest;
                    continue;
                }
                OPT_END => break,
                _ => {}
            }
            let Some((&len, rest)) = rest.split_first() else { break };
            let Some(value) = rest.get(..usize::from(len)) else { break };
            match code {
                OPT_HOSTNAME if !value.is_empty() => dhcp.hostname = Some(fact_string(value, 255)),
                OPT_VENDOR_CLASS if !value.is_empty() => dhcp.vendor_class = Some(fact_string(value, 255)),
                OPT_MESSAGE_TYPE => dhcp.message_type = value.first().copied().unwrap_or(0),
                _ => {}
            }
            options = rest.get(usize::from(len)..).unwrap_or_default();
        }
        let name = dhcp.hostname.as_deref().map(str::to_ascii_lowercase);
        let named = name.is_some();
        if let Some(name) = name.filter(|_| facts.detected_hostname().is_none()) {
            facts.set_detected_hostname(name);
        }
        // A client name is what a DHCP flow can tell; keep reading until one comes.
        if named {
            Parsed::Done
        } else {
            Parsed::Updated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    fn request(options: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; FIXED];
        m[0] = 1;
        m[1] = 1;
        m[2] = 6;
        m[236..240].copy_from_slice(&COOKIE);
        m.extend_from_slice(options);
        m
    }

    #[test]
    fn hostname_and_vendor_class() {
        let m = request(b"\x35\x01\x03\x00\x0c\x06laptop\x3c\x08MSFT 5.0\xff");
        let (probe, parsed, f) = run_one::<DhcpDissector>(&udp([68, 67]), &m);
        assert_eq!((probe, parsed), (Probe::Certain, Parsed::Done));
        let dhcp = f.app_protocol.dhcp().unwrap();
        assert_eq!(dhcp.hostname.as_deref(), Some("laptop"));
        assert_eq!(dhcp.vendor_class.as_deref(), Some("MSFT 5.0"));
        assert_eq!(dhcp.message_type, 3);
        assert_eq!(f.detected_hostname(), Some("laptop"));
    }

    #[test]
    fn truncated_options_and_no_cookie() {
        let m = request(b"\x0c\x20short");
        let (_, parsed, f) = run_one::<DhcpDissector>(&udp([68, 67]), &m);
        assert_eq!(parsed, Parsed::Updated);
        assert_eq!(f.app_protocol.dhcp().unwrap().hostname, None);
        let mut bad = request(b"\xff");
        bad[236] = 0;
        assert_eq!(run_one::<DhcpDissector>(&udp([68, 67]), &bad).0, Probe::NotForUs);
        truncations::<DhcpDissector>(&udp([68, 67]), &request(b"\x0c\x06laptop\xff"));
    }

    proptest! {
        #[test]
        fn never_panics(opts in proptest::collection::vec(any::<u8>(), 0..300)) {
            no_panic::<DhcpDissector>(&udp([68, 67]), &[request(&opts), opts.clone()]);
        }
    }
}
