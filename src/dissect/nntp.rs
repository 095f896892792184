//! The Network News Transfer Protocol (NNTP, RFC 3977), TCP port 119.
//!
//! The server speaks first (RFC 3977 §5.1): `200` (posting allowed) or `201` (not allowed)
//! and a text line. Many text protocols open with a three-digit code, so the probe wants the
//! greeting to name news (`NNTP`, `news`, `Usenet`, `Leafnode`, `INN`) or the flow to use
//! NNTP's port; a client that opens with `MODE READER` or `CAPABILITIES` (RFC 3977 §5.2, §5.3)
//! follows such a greeting.

use super::text::{contains_ci, prefix_agrees, split_line, starts_with_ci};
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const GREETINGS: [&[u8]; 2] = [b"200 ", b"201 "];
const COMMANDS: [&[u8]; 2] = [b"MODE READER\r\n", b"CAPABILITIES\r\n"];
/// Words of a greeting line that name a news server.
const NEWS: [&[u8]; 5] = [b"NNTP", b"news", b"usenet", b"leafnode", b"INN "];

/// NNTP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct NntpDissector;

impl Dissector for NntpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NNTP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() {
            return Probe::NotForUs;
        }
        if COMMANDS.iter().any(|c| starts_with_ci(p, c)) {
            return Probe::Certain;
        }
        if GREETINGS.iter().any(|g| p.starts_with(g)) {
            return match split_line(p) {
                Some((line, _)) => {
                    Probe::certain_if(Self::port_hint(flow) || NEWS.iter().any(|w| contains_ci(line, w)))
                }
                None => Probe::Unsure,
            };
        }
        let maybe = GREETINGS.iter().chain(&COMMANDS).any(|g| prefix_agrees(p, g) && p.len() < g.len());
        if maybe {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[119]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn greeting_and_reader_mode() {
        // nntp.pcap, 192.168.190.5:119 → 192.168.190.20:55630: the greeting, then the client.
        let greeting =
            b"200 Leafnode NNTP Daemon, version 1.11.7.rc1 running at datacenter.viste-family.net (my fqdn: datacenter.viste-family.net)\r\n";
        assert_eq!(run_one::<NntpDissector>(&tcp([119, 55630]), greeting).0, Probe::Certain);
        assert_eq!(run_one::<NntpDissector>(&tcp([1190, 55630]), greeting).0, Probe::Certain, "names news");
        assert_eq!(run_one::<NntpDissector>(&tcp([55630, 119]), &hex("4d4f4445205245414445520d0a")).0, Probe::Certain);
        assert_eq!(run_one::<NntpDissector>(&tcp([119, 55630]), b"201 server ready\r\n").0, Probe::Certain, "on 119");
        assert_eq!(run_one::<NntpDissector>(&tcp([119, 55630]), b"200 Leaf").0, Probe::Unsure);
        truncations::<NntpDissector>(&tcp([119, 55630]), greeting);
    }

    #[test]
    fn other_greetings_are_not_nntp() {
        let f = tcp([8000, 55630]);
        assert_eq!(run_one::<NntpDissector>(&f, b"200 OK\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<NntpDissector>(&f, b"220 mail.example.net ESMTP\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<NntpDissector>(&f, b"HTTP/1.1 200 OK\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<NntpDissector>(&tcp([1, 119]), &[p]);
        }
    }
}
