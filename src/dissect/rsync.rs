//! The rsync daemon protocol (rsyncd.conf(5), TCP port 873): both ends open with a greeting
//! line `@RSYNCD: <version>` (e.g. `@RSYNCD: 30.0`), the protocol version they speak.

use super::text::prefix_agrees;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const GREETING: &[u8] = b"@RSYNCD: ";

/// Rsync needs no state.
#[derive(Debug, Default)]
pub struct RsyncDissector;

impl Dissector for RsyncDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RSYNC;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[GREETING[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() {
            Probe::NotForUs
        } else if p.starts_with(GREETING) && p.get(GREETING.len()).is_some_and(u8::is_ascii_digit) {
            Probe::Certain
        } else if p.len() <= GREETING.len() && prefix_agrees(p, GREETING) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[873]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_greeting_names_the_flow() {
        // rsync.pcap in nDPI's corpus: 127.0.0.1:54489 → 127.0.0.1:873.
        let f = tcp([54489, 873]);
        assert_eq!(run_one::<RsyncDissector>(&f, b"@RSYNCD: 30.0\n").0, Probe::Certain);
        assert_eq!(run_one::<RsyncDissector>(&f, b"@RSYN").0, Probe::Unsure);
        truncations::<RsyncDissector>(&f, b"@RSYNCD: 30.0\n");
        assert_eq!(run_one::<RsyncDissector>(&f, b"@RSYNCD: OK\n").0, Probe::NotForUs);
        assert_eq!(run_one::<RsyncDissector>(&f, b"SSH-2.0-OpenSSH_9.2\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<RsyncDissector>(&udp([54489, 873]), b"@RSYNCD: 30.0\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<RsyncDissector>(&tcp([1, 873]), &[p]);
        }
    }
}
