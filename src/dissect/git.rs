//! The git protocol (gitprotocol-pack(5), TCP port 9418): the client's first pkt-line asks for
//! a service, `git-upload-pack /repo.git\0host=example.com\0`. A pkt-line starts with its total
//! length as four lower-case hex digits, the length counting those digits; the request line
//! must fit in the segment.

use super::text::prefix_agrees;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

/// Every service's name starts so (`git-upload-pack`, `git-receive-pack`, `git-upload-archive`).
const SERVICE: &[u8] = b"git-";
/// The length digits.
const PREFIX: usize = 4;

/// Git needs no state.
#[derive(Debug, Default)]
pub struct GitDissector;

/// The pkt-line length in the first four bytes.
fn pkt_len(p: &[u8]) -> Option<usize> {
    let digits = p.get(..PREFIX)?;
    digits.iter().try_fold(0usize, |n, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some(n * 16 + usize::from(d))
    })
}

impl Dissector for GitDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::GIT;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::range(b'0', b'9').union(FirstBytes::range(b'a', b'f'));

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() || !p.iter().take(PREFIX).all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Probe::NotForUs;
        }
        let rest = p.get(PREFIX..).unwrap_or_default();
        match pkt_len(p) {
            Some(n) if n >= PREFIX + SERVICE.len() && n <= p.len() && rest.starts_with(SERVICE) => Probe::Certain,
            Some(n) if n > p.len() && rest.len() < SERVICE.len() && prefix_agrees(rest, SERVICE) => Probe::Unsure,
            None if Self::port_hint(flow) => Probe::Unsure,
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::tcp(&[9418]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_request_names_the_flow() {
        // git.pcap in nDPI's corpus: 192.168.0.77:47991 → 5.153.231.21:9418.
        let request = b"0045git-upload-pack /collab-maint/wotsap.git\0host=anonscm.debian.org\0";
        let f = tcp([47991, 9418]);
        assert_eq!(run_one::<GitDissector>(&f, request).0, Probe::Certain);
        assert_eq!(run_one::<GitDissector>(&f, &request[..6]).0, Probe::Unsure);
        truncations::<GitDissector>(&f, request);
        // A length past the segment, a length too short, not a service: not git.
        assert_eq!(run_one::<GitDissector>(&f, b"0099git-upload-pack /x\0").0, Probe::NotForUs);
        assert_eq!(run_one::<GitDissector>(&f, b"0005git-upload-pack /x\0").0, Probe::NotForUs);
        assert_eq!(run_one::<GitDissector>(&f, b"0010abcdefghijkl").0, Probe::NotForUs);
        assert_eq!(run_one::<GitDissector>(&tcp([47991, 80]), b"1234 HTTP").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<GitDissector>(&tcp([1, 9418]), &[p]);
        }
    }
}
