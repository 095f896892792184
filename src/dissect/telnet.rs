//! Telnet (RFC 854, TCP port 23): both ends usually open by negotiating options, a run of
//! commands each introduced by IAC (0xff): WILL/WONT/DO/DONT (0xfb–0xfe) followed by an option
//! byte, or a subnegotiation SB (0xfa) … IAC SE (0xf0). The probe wants a payload that starts
//! with such a negotiation and is made of nothing else.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const IAC: u8 = 0xff;
const SE: u8 = 0xf0;
const SB: u8 = 0xfa;

/// Telnet needs no state.
#[derive(Debug, Default)]
pub struct TelnetDissector;

/// `Some(true)` when `p` is one or more whole option commands, `Some(false)` when it is their
/// start cut short, `None` when it is anything else.
fn negotiation(mut p: &[u8]) -> Option<bool> {
    if !matches!(p, [IAC, SB..=0xfe, ..] | [IAC]) {
        return None;
    }
    while !p.is_empty() {
        match p {
            [IAC, 0xfb..=0xfe, _, rest @ ..] => p = rest,
            [IAC, SB, rest @ ..] => {
                let end = rest.windows(2).position(|w| w == [IAC, SE]);
                match end {
                    Some(i) => p = rest.get(i + 2..)?,
                    None => return Some(false),
                }
            }
            [IAC] | [IAC, 0xfb..=0xfe] => return Some(false),
            _ => return None,
        }
    }
    Some(true)
}

impl Dissector for TelnetDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TELNET;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if !flow.is_tcp() {
            return Probe::NotForUs;
        }
        match negotiation(segment.payload) {
            Some(true) => Probe::Certain,
            Some(false) => Probe::Unsure,
            None => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::tcp(&[23]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn negotiation_names_the_flow() {
        // telnet.pcap in nDPI's corpus: 192.168.0.2:1550 → 192.168.0.1:23, and the server's
        // answer with a subnegotiation.
        let f = tcp([1550, 23]);
        let client = hex("fffd03fffb18fffb1ffffb20fffb21fffb22fffb27fffd05fffb23");
        assert_eq!(run_one::<TelnetDissector>(&f, &client).0, Probe::Certain);
        let server = hex("fffb03fffd18fffd1ffffd20fffd21fffd22fffa22010bfff0");
        assert_eq!(run_one::<TelnetDissector>(&f, &server).0, Probe::Certain);
        assert_eq!(run_one::<TelnetDissector>(&f, &client[..4]).0, Probe::Unsure);
        truncations::<TelnetDissector>(&f, &server);
        // Text after the commands, a BGP marker, plain text: not a bare negotiation.
        assert_eq!(run_one::<TelnetDissector>(&f, b"\xff\xfd\x03login: ").0, Probe::NotForUs);
        assert_eq!(run_one::<TelnetDissector>(&f, &[0xff; 19]).0, Probe::NotForUs);
        assert_eq!(run_one::<TelnetDissector>(&f, b"login: ").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<TelnetDissector>(&tcp([1, 23]), &[p]);
        }
    }
}
