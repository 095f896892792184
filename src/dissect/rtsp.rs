//! RTSP (RFC 2326 §6, §7; RTSP 2.0 RFC 7826): HTTP-like messages whose request line ends in
//! `RTSP/1.0` (or `RTSP/2.0`) and whose responses start with it. The request's User-Agent is
//! kept as HTTP's is. Probed before HTTP: `OPTIONS` and `GET_PARAMETER` requests would
//! otherwise look like HTTP.

use super::text::split_line;
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// RTSP needs no state.
#[derive(Debug, Default)]
pub struct RtspDissector;

fn is_rtsp(p: &[u8]) -> bool {
    if p.starts_with(b"RTSP/1.0 ") || p.starts_with(b"RTSP/2.0 ") {
        return true;
    }
    let Some((line, _)) = split_line(p) else { return false };
    let method_ok = line.iter().take_while(|&&b| b != b' ').all(|b| b.is_ascii_uppercase() || *b == b'_');
    method_ok && (line.ends_with(b" RTSP/1.0") || line.ends_with(b" RTSP/2.0"))
}

impl Dissector for RtspDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RTSP;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_tcp() && is_rtsp(segment.payload))
    }

    const PORTS: Ports = Ports::tcp(&[554, 8554]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if !segment.payload.starts_with(b"RTSP/") {
            super::gnutella::user_agent(segment.payload, facts);
        }
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn request_with_user_agent() {
        // rtsp.pcap in nDPI's corpus.
        let m = b"GET_PARAMETER rtsp://10.2.2.2:8554/ RTSP/1.0\r\nCSeq: 7\r\nUser-Agent: LibVLC/3.0.16 (LIVE555 Streaming Media v2016.11.28)\r\nSession: 660fc4c0c6ad43a1\r\n\r\n";
        let f = tcp([52470, 8554]);
        let (probe, _, facts) = run_one::<RtspDissector>(&f, m);
        assert_eq!(probe, Probe::Certain);
        let ua = facts.app_protocol.http().and_then(|h| h.user_agent.clone());
        assert_eq!(ua.as_deref(), Some("LibVLC/3.0.16 (LIVE555 Streaming Media v2016.11.28)"));
        assert_eq!(run_one::<RtspDissector>(&f, b"RTSP/1.0 200 OK\r\n").0, Probe::Certain);
        assert_eq!(run_one::<RtspDissector>(&f, b"GET / HTTP/1.1\r\n").0, Probe::NotForUs);
        truncations::<RtspDissector>(&f, m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<RtspDissector>(&tcp([1, 554]), &[p]);
        }
    }
}
