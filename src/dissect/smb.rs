//! SMB over TCP (MS-SMB2 §2.1, MS-CIFS §2.1): a 4-byte session header (zero, 24-bit length)
//! then `\xfeSMB` (SMB 2 and 3) or `\xffSMB` (SMB 1). nDPI and Netify name them SMBv23 and
//! SMBv1.
//!
//! A capture that starts mid-connection may show a client segment that is not a message start
//! (its signed or encrypted continuation); on SMB's ports such a segment leaves the dissector
//! unsure, so the server's next message can still be read.

use super::reader::be_u24_at;
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// Which SMB a message start is: `Some(true)` for SMB 2/3, `Some(false)` for SMB 1.
fn smb2(p: &[u8]) -> Option<bool> {
    let h = p.get(..8)?;
    if h[0] != 0 || be_u24_at(h, 1)? < 4 {
        return None;
    }
    match &h[4..8] {
        b"\xfeSMB" => Some(true),
        b"\xffSMB" => Some(false),
        _ => None,
    }
}

/// Per-flow state: none.
#[derive(Debug, Default)]
pub struct SmbDissector;

impl Dissector for SmbDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SMBV23;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if !flow.is_tcp() {
            return Probe::NotForUs;
        }
        if smb2(segment.payload).is_some() {
            Probe::Certain
        } else if Self::port_hint(flow) {
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::tcp(&[445]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if smb2(segment.payload) == Some(false) {
            facts.protocol = protocol::SMBV1;
        }
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// The server's SMB2 session setup response in kerberos.pcap in nDPI's corpus.
    const SESSION_SETUP: &str = concat!(
        "00000100fe534d42400001000000000001001f0009000000000000000200000000000000fffe00000000000059000000",
        "00040000cf4a5f5c6b16a77ad0af7092dfeb7357090000004800b800a181b53081b2a0030a0100a10b06092a864882f7",
        "12010202a2819d04819a60819706092a864886f71201020202006f8187308184a003020105a10302010fa2783076a003",
        "020112a26f046da0dde22eff22dc91d5af630b9d9abc48933a17abb0ce085c1dacf1e78adcef9fb689cdcd2deda126a4",
        "87cb04dad0559b781ba8c04aab5cd267304147a72ef87ae3c69ff7c6824414f542ff8cbf0569a8b1c7bbcedd911dacd3",
        "21c82dec5d2a0fee6863481691380c07e554d11a",
    );

    #[test]
    fn smb2_response_and_smb1() {
        let m = hex(SESSION_SETUP);
        let f = tcp([445, 49156]);
        let (probe, _, facts) = run_one::<SmbDissector>(&f, &m);
        assert_eq!(probe, Probe::Certain);
        assert_eq!(facts.protocol, protocol::UNKNOWN, "the registry sets SMBv23 when it claims the flow");
        let mut v1 = m.clone();
        v1[4] = 0xff;
        assert_eq!(run_one::<SmbDissector>(&f, &v1).2.protocol, protocol::SMBV1);
        assert_eq!(run_one::<SmbDissector>(&f, &[0x17, 3, 3, 0, 1]).0, Probe::Unsure);
        assert_eq!(run_one::<SmbDissector>(&tcp([1, 2]), &[0x17, 3, 3, 0, 1]).0, Probe::NotForUs);
        truncations::<SmbDissector>(&f, &m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<SmbDissector>(&tcp([1, 445]), &[p]);
        }
    }
}
