//! SSH dissector: the identification strings both sides send first (RFC 4253 §4.2),
//! `SSH-protoversion-softwareversion SP comments CR LF`, at most 255 bytes.

use super::stream::{Push, StreamBuffer};
use super::text::{fact_string, prefix_agrees, split_line};
use super::{protocol, Direction, Dissector, FirstBytes, FlowInfo, Parsed, Ports, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

/// RFC 4253 §4.2: the identification string is at most 255 bytes including CR LF.
const MAX_BANNER: usize = 255;
/// A server may send other lines before its identification (RFC 4253 §4.2); we keep at most
/// this much of them in view.
const BUFFER: usize = 1024;

/// Per-flow SSH state: a small buffer per direction until its banner is read.
#[derive(Debug)]
pub struct SshDissector {
    sides: [StreamBuffer; 2],
    read: [bool; 2],
}

impl Default for SshDissector {
    fn default() -> Self {
        SshDissector { sides: [StreamBuffer::new(BUFFER), StreamBuffer::new(BUFFER)], read: [false; 2] }
    }
}

impl Dissector for SshDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SSH;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"S");

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || !prefix_agrees(p, b"SSH-") {
            Probe::NotForUs
        } else if p.len() < 8 {
            Probe::Unsure
        } else if p.starts_with(b"SSH-1.") || p.starts_with(b"SSH-2.") {
            Probe::Certain
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[22]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let dir = segment.direction.index();
        if self.read[dir] {
            return Parsed::Continue;
        }
        let side = &mut self.sides[dir];
        let push = match segment.tcp_seq {
            Some(seq) => side.push(seq, segment.payload),
            None => return Parsed::Skipped(Skip::WrongTransport),
        };
        if matches!(push, Push::Gap | Push::Stale) {
            return Parsed::Continue;
        }
        let mut data = side.data();
        let banner = loop {
            match split_line(data) {
                Some((line, _)) if line.starts_with(b"SSH-") => break Some(line),
                Some((_, rest)) => data = rest,
                None if side.is_full() => return Parsed::Skipped(Skip::TooLarge),
                None => break None,
            }
        };
        let Some(banner) = banner else {
            return Parsed::Continue;
        };
        let text = fact_string(banner, MAX_BANNER);
        let ssh = facts.app_protocol.ssh_mut();
        // The flow's first packet normally comes from the client (the table's SYN logic makes
        // it so for TCP flows seen from their start).
        match segment.direction {
            Direction::Forward => ssh.client = Some(text),
            Direction::Reverse => ssh.server = Some(text),
        }
        self.read[dir] = true;
        side.release();
        if self.read == [true, true] {
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

    #[test]
    fn both_banners() {
        let flow = tcp([40000, 22]);
        let server = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
        let client = b"SSH-2.0-libssh2_1.10.0\r\n";
        assert_eq!(SshDissector::probe_flow(&flow, &segment(&flow, Direction::Reverse, 0, server)), Probe::Certain);
        let mut d = SshDissector::default();
        let mut f = FlowFacts::default();
        assert_eq!(d.parse(&segment(&flow, Direction::Reverse, 5, server), &mut f), Parsed::Updated);
        assert_eq!(d.parse(&segment(&flow, Direction::Forward, 9, &client[..10]), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&segment(&flow, Direction::Forward, 19, &client[10..]), &mut f), Parsed::Done);
        let ssh = f.app_protocol.ssh().unwrap();
        assert_eq!(ssh.server.as_deref(), Some("SSH-2.0-OpenSSH_9.2p1 Debian-2"));
        assert_eq!(ssh.client.as_deref(), Some("SSH-2.0-libssh2_1.10.0"));
    }

    #[test]
    fn probe_edges() {
        let flow = tcp([1, 22]);
        let probe = |p: &[u8]| SshDissector::probe_flow(&flow, &segment(&flow, Direction::Forward, 0, p));
        assert_eq!(probe(b"SS"), Probe::Unsure);
        assert_eq!(probe(b"SSH-9.9-x\r\n"), Probe::NotForUs);
        assert_eq!(probe(b"GET / HTTP/1.1"), Probe::NotForUs);
        truncations::<SshDissector>(&flow, b"SSH-2.0-OpenSSH_9.2p1\r\n");
    }

    #[test]
    fn banner_without_line_end_gives_up_when_full() {
        let flow = tcp([1, 22]);
        let mut d = SshDissector::default();
        let mut f = FlowFacts::default();
        let junk = vec![b'a'; BUFFER + 10];
        assert_eq!(d.parse(&segment(&flow, Direction::Forward, 0, &junk), &mut f), Parsed::Skipped(Skip::TooLarge));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..5)) {
            no_panic::<SshDissector>(&tcp([1, 22]), &p);
        }
    }
}
