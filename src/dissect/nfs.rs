//! NFS (RFC 1813 version 3, RFC 7530 version 4) over ONC RPC (RFC 5531), TCP and UDP port 2049.
//!
//! Every RPC call starts with a transaction ID, the message type (0, call), the RPC version
//! (2), the program number (NFS is 100003) and its version (2, 3 or 4). Over TCP a 4-byte record
//! mark (the last-fragment bit and the fragment length) comes first (RFC 5531 §11). The probe
//! wants such a call.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const CALL: u32 = 0;
const RPC_VERSION: u32 = 2;
const NFS_PROGRAM: u32 = 100_003;
const NFS_VERSIONS: std::ops::RangeInclusive<u32> = 2..=4;
/// Transaction ID through program version.
const CALL_HEADER: usize = 20;
const RECORD_MARK: usize = 4;

/// NFS needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct NfsDissector;

/// `p` starts with an RPC call to NFS.
fn nfs_call(p: &[u8]) -> bool {
    let field = |i: usize| be_u32_at(p, 4 * i);
    field(1) == Some(CALL)
        && field(2) == Some(RPC_VERSION)
        && field(3) == Some(NFS_PROGRAM)
        && field(4).is_some_and(|v| NFS_VERSIONS.contains(&v))
}

impl Dissector for NfsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NFS;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let call = match flow.ip_protocol {
            FlowInfo::UDP => p,
            FlowInfo::TCP => p.get(RECORD_MARK..).unwrap_or_default(),
            _ => return Probe::NotForUs,
        };
        if call.len() < CALL_HEADER {
            let short = flow.is_tcp() && p.len() < RECORD_MARK + CALL_HEADER && !p.is_empty();
            return if short { Probe::Unsure } else { Probe::NotForUs };
        }
        Probe::certain_if(nfs_call(call))
    }

    const PORTS: Ports = Ports::both(&[2049]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// An NFSv3 NULL call as RFC 5531 §9 lays it out (xid 0x1234, call, RPC 2, program 100003,
    /// version 3, procedure 0, no credentials). nDPI's corpus has NFS only as a SYN scan.
    const NULL_CALL: &str = "000012340000000000000002000186a3000000030000000000000000000000000000000000000000";

    #[test]
    fn rpc_calls_to_nfs_name_the_flow() {
        assert_eq!(run_one::<NfsDissector>(&udp([800, 2049]), &hex(NULL_CALL)).0, Probe::Certain);
        let framed = [hex("80000028"), hex(NULL_CALL)].concat();
        let f = tcp([800, 2049]);
        assert_eq!(run_one::<NfsDissector>(&f, &framed).0, Probe::Certain);
        assert_eq!(run_one::<NfsDissector>(&f, &framed[..10]).0, Probe::Unsure);
        truncations::<NfsDissector>(&f, &framed);
    }

    #[test]
    fn other_rpc_programs_are_not_nfs() {
        let f = udp([800, 2049]);
        let mut portmap = hex(NULL_CALL);
        portmap[14] = 0x86;
        portmap[15] = 0xa0;
        assert_eq!(run_one::<NfsDissector>(&f, &portmap).0, Probe::NotForUs, "program 100000");
        let mut reply = hex(NULL_CALL);
        reply[7] = 1;
        assert_eq!(run_one::<NfsDissector>(&f, &reply).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<NfsDissector>(&udp([1, 2049]), std::slice::from_ref(&p));
            no_panic::<NfsDissector>(&tcp([1, 2049]), &[p]);
        }
    }
}
