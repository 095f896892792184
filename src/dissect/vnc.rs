//! VNC's Remote Framebuffer protocol (RFC 6143), TCP port 5900 (and 5900 + display).
//!
//! The server speaks first with its ProtocolVersion message, exactly 12 bytes: `RFB `, a
//! three-digit major version, `.`, a three-digit minor version and a line feed (`RFB
//! 003.008\n`); the client answers with the same form. That message decides.

use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const PREFIX: &[u8; 4] = b"RFB ";
const VERSION_LEN: usize = 12;

/// VNC needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct VncDissector;

/// `p` is a ProtocolVersion message, or the start of one when `partial`.
fn version(p: &[u8], partial: bool) -> bool {
    const DIGIT: u8 = b'0';
    let pattern: &[u8; VERSION_LEN] = b"RFB 000.000\n";
    (p.len() == VERSION_LEN || (partial && p.len() < VERSION_LEN))
        && p.iter().zip(pattern).all(|(&b, &want)| if want == DIGIT { b.is_ascii_digit() } else { b == want })
}

impl Dissector for VncDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::VNC;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[PREFIX[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.first() != Some(&PREFIX[0]) {
            Probe::NotForUs
        } else if version(p, false) {
            Probe::Certain
        } else if version(p, true) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[5900, 5901, 5800]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_version_message_decides() {
        let f = tcp([5900, 40000]);
        assert_eq!(run_one::<VncDissector>(&f, b"RFB 003.008\n").0, Probe::Certain);
        assert_eq!(run_one::<VncDissector>(&f, b"RFB 003.889\n").0, Probe::Certain);
        assert_eq!(run_one::<VncDissector>(&f, b"RFB 00").0, Probe::Unsure);
        truncations::<VncDissector>(&f, b"RFB 003.008\n");
    }

    #[test]
    fn other_payloads_are_not_vnc() {
        let f = tcp([5900, 40000]);
        assert_eq!(run_one::<VncDissector>(&f, b"RFB 003.008\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<VncDissector>(&f, b"RFB 3.8\n").0, Probe::NotForUs);
        assert_eq!(run_one::<VncDissector>(&f, b"RFC 003.008\n").0, Probe::NotForUs);
        assert_eq!(run_one::<VncDissector>(&udp([5900, 1]), b"RFB 003.008\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<VncDissector>(&tcp([1, 5900]), &[p]);
        }
    }
}
