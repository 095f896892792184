//! STOMP, the Simple Text Oriented Messaging Protocol (STOMP 1.0–1.2 specifications), over TCP
//! (61613 by convention).
//!
//! A connection opens with the client's `CONNECT` or `STOMP` frame, answered by `CONNECTED`:
//! the command on a line of its own (`\n` or `\r\n`), then `name:value` header lines. HTTP's
//! CONNECT method has its target on the same line, so the probe wants the bare command line and
//! a header line after it.

use super::text::split_line;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const COMMANDS: [&[u8]; 3] = [b"CONNECT", b"STOMP", b"CONNECTED"];

/// STOMP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct StompDissector;

impl Dissector for StompDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::STOMP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || !matches!(p.first(), Some(b'C' | b'S')) {
            return Probe::NotForUs;
        }
        let Some((command, rest)) = split_line(p) else {
            let prefix = COMMANDS.iter().any(|c| p.len() <= c.len() && c.starts_with(p));
            return if prefix { Probe::Unsure } else { Probe::NotForUs };
        };
        if !COMMANDS.contains(&command) {
            return Probe::NotForUs;
        }
        match split_line(rest) {
            Some((header, _)) => Probe::certain_if(header.iter().position(|&b| b == b':').is_some_and(|i| i > 0)),
            None => Probe::Unsure,
        }
    }

    const PORTS: Ports = Ports::tcp(&[61613]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn connect_frames_name_the_flow() {
        // stomp.pcapng, 192.168.88.231:34732 → 192.168.88.198:61613: a STOMP frame.
        let f = tcp([34732, 61613]);
        let frame = hex("53544f4d500a6163636570742d76657273696f6e3a312e310a0a00");
        assert_eq!(run_one::<StompDissector>(&f, &frame).0, Probe::Certain);
        assert_eq!(run_one::<StompDissector>(&f, b"CONNECTED\r\nversion:1.2\r\n\r\n\0").0, Probe::Certain);
        assert_eq!(run_one::<StompDissector>(&f, b"STOMP\n").0, Probe::Unsure);
        truncations::<StompDissector>(&f, &frame);
    }

    #[test]
    fn other_text_is_not_stomp() {
        let f = tcp([34732, 8080]);
        assert_eq!(
            run_one::<StompDissector>(&f, b"CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n").0,
            Probe::NotForUs
        );
        assert_eq!(run_one::<StompDissector>(&f, b"STOMP\nnot a header\n").0, Probe::NotForUs);
        assert_eq!(run_one::<StompDissector>(&f, b"SEND\ndestination:/q\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<StompDissector>(&tcp([1, 61613]), &[p]);
        }
    }
}
