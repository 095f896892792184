//! Dropbox's LAN sync discovery (UDP port 17500, broadcast): the desktop client announces
//! itself with one JSON object, e.g. `{"host_int": 413767116, "version": [1, 8], …}` or
//! `{"version": [2, 0], "port": 17500, "host_int": …}`. The object with a `host_int` key is
//! the signature.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const KEY: &[u8] = b"\"host_int\":";
/// How far into the object the key is looked for.
const SEARCH: usize = 512;

/// Dropbox needs no state.
#[derive(Debug, Default)]
pub struct DropboxDissector;

/// `p` is a LAN sync announcement.
fn announcement(p: &[u8]) -> bool {
    p.starts_with(b"{\"") && p.ends_with(b"}") && p[..p.len().min(SEARCH)].windows(KEY.len()).any(|w| w == KEY)
}

impl Dissector for DropboxDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DROPBOX;
    const TRANSPORTS: Transports = Transports::UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_udp() && announcement(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[17500]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// instagram.pcap, 192.168.0.106:17500 → 255.255.255.255:17500.
    const ANNOUNCEMENT: &[u8] =
        br#"{"host_int": 413767116, "version": [1, 8], "displayname": "", "port": 17500, "namespaces": [1234]}"#;

    #[test]
    fn announcement_is_dropbox() {
        let f = udp([17500, 17500]);
        assert_eq!(run_one::<DropboxDissector>(&f, ANNOUNCEMENT).0, Probe::Certain);
        truncations::<DropboxDissector>(&f, ANNOUNCEMENT);
        assert_eq!(run_one::<DropboxDissector>(&f, br#"{"version": [2, 0], "port": 17500}"#).0, Probe::NotForUs);
        assert_eq!(run_one::<DropboxDissector>(&tcp([17500, 1]), ANNOUNCEMENT).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<DropboxDissector>(&udp([1, 17500]), &[p]);
        }
    }
}
