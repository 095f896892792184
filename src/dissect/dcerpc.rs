//! DCE/RPC (The Open Group's C706; Microsoft's MS-RPCE), connection-oriented over TCP
//! (version 5; the endpoint mapper on port 135) and connectionless over UDP (version 4).
//!
//! Both headers carry a data representation label: byte 0's high nibble is the integer byte
//! order (0 big-endian, 1 little-endian) and its low nibble the character set (0 ASCII, 1
//! EBCDIC), byte 1 the floating-point format (0–3), byte 2 zero. A version 5 PDU has a 16-byte
//! header: version 5, minor version 0 or 1, a PDU type (0–19), flags, the 4-byte label, the
//! fragment length and the authentication length (in the label's byte order) and a call ID;
//! the fragment length covers the header and the authentication data and agrees with the
//! payload. A version 4 PDU has an 80-byte header: version 4, a PDU type (0–10), flags, the
//! 3-byte label, … and the body length at offset 74, which with the header is the payload.
//!
//! A connectionless PDU names its interface (the UUID at offset 24, its first three fields in
//! the label's byte order): PROFINET IO's interfaces (IEC 61158-6-10: IO device, controller,
//! supervisor and parameter server, `DEA0000n-6C97-11D1-8271-00A02442DF7D`, n = 1–4) make the
//! flow `PROFINET_IO` (flowsieve-only, nDPI's name; nDPI: `DCERPC.PROFINET_IO`).

use super::{protocol, Dissector, FirstBytes, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// Connection-oriented and connectionless headers.
const CO_HEADER: usize = 16;
const CL_HEADER: usize = 80;
const CO_MAX_TYPE: u8 = 19;
const CL_MAX_TYPE: u8 = 10;
/// The connectionless body length's offset.
const CL_BODY_LEN: usize = 74;

/// The connectionless header's interface UUID.
const CL_INTERFACE: usize = 24;
/// PROFINET IO's interface UUIDs after their first field (`-6C97-11D1-8271-00A02442DF7D`), and
/// the first fields of the four interfaces.
const PNIO_MID: u64 = 0x6c97;
const PNIO_HI: u64 = 0x11d1;
const PNIO_TAIL: [u8; 8] = [0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf, 0x7d];
const PNIO_FIRST: std::ops::RangeInclusive<u64> = 0xdea0_0001..=0xdea0_0004;

/// Whether `p`, a connectionless PDU, calls one of PROFINET IO's interfaces.
fn profinet_io(p: &[u8]) -> bool {
    let (Some(little), Some(tail)) = (p.get(4..7).and_then(label), p.get(CL_INTERFACE + 8..CL_INTERFACE + 16)) else {
        return false;
    };
    let field = |at, len| uint_in(p, CL_INTERFACE + at, len, little);
    field(0, 4).is_some_and(|first| PNIO_FIRST.contains(&first))
        && field(4, 2) == Some(PNIO_MID)
        && field(6, 2) == Some(PNIO_HI)
        && tail == PNIO_TAIL
}

/// DCE/RPC needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct DcerpcDissector;

/// The data representation label at `p[0..3]`: `Some(little_endian)` when well formed.
fn label(p: &[u8]) -> Option<bool> {
    let (int, chars, float) = (p[0] >> 4, p[0] & 0x0f, p[1]);
    (int <= 1 && chars <= 1 && float <= 3 && p[2] == 0).then_some(int == 1)
}

fn u16_in(p: &[u8], at: usize, little: bool) -> Option<usize> {
    usize::try_from(uint_in(p, at, 2, little)?).ok()
}

/// The `len`-byte unsigned integer at `at`, in the label's byte order.
fn uint_in(p: &[u8], at: usize, len: usize, little: bool) -> Option<u64> {
    let bytes = p.get(at..at.checked_add(len)?)?;
    let fold = |n: u64, &b: &u8| (n << 8) | u64::from(b);
    Some(if little { bytes.iter().rev().fold(0, fold) } else { bytes.iter().fold(0, fold) })
}

/// What the version 5 PDU at the start of `p` says: `Some(true)` it ends with the payload or
/// another PDU follows, `Some(false)` it runs past the payload, `None` not one.
fn connection_oriented(p: &[u8]) -> Option<bool> {
    let h = p.get(..CO_HEADER)?;
    if h[0] != 5 || h[1] > 1 || h[2] > CO_MAX_TYPE || h[7] != 0 {
        return None;
    }
    let little = label(&h[4..7])?;
    let (frag, auth) = (u16_in(h, 8, little)?, u16_in(h, 10, little)?);
    if frag < CO_HEADER + auth {
        return None;
    }
    match frag.cmp(&p.len()) {
        std::cmp::Ordering::Equal => Some(true),
        std::cmp::Ordering::Greater => Some(false),
        std::cmp::Ordering::Less => (p[frag] == 5).then_some(true),
    }
}

/// `p` is one version 4 PDU.
fn connectionless(p: &[u8]) -> bool {
    let Some(h) = p.get(..CL_HEADER) else {
        return false;
    };
    h[0] == 4
        && h[1] <= CL_MAX_TYPE
        && label(&h[4..7]).and_then(|little| u16_in(h, CL_BODY_LEN, little)) == Some(p.len() - CL_HEADER)
}

impl Dissector for DcerpcDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DCERPC;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[4, 5]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        match (flow.ip_protocol, p.first()) {
            (FlowInfo::TCP, Some(5)) if p.len() < CO_HEADER => Probe::Unsure,
            (FlowInfo::TCP, Some(5)) => match connection_oriented(p) {
                Some(true) => Probe::Certain,
                Some(false) if Self::port_hint(flow) => Probe::Certain,
                _ => Probe::NotForUs,
            },
            (FlowInfo::UDP, Some(4)) => Probe::certain_if(connectionless(p)),
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::tcp(&[135]);

    /// A connectionless PDU to or from PROFINET IO's interfaces names the flow PROFINET_IO.
    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        if segment.tcp_seq.is_none() && connectionless(p) && profinet_io(p) {
            facts.protocol = protocol::PROFINET_IO;
        }
        Parsed::Done
    }
}

/// Whether `id` names an interface DCE/RPC carries (what nDPI calls `DCERPC.PROFINET_IO`).
pub fn is_carried_by_dcerpc(id: protocol::ProtocolId) -> bool {
    id == protocol::PROFINET_IO
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// profinet-io-le.pcap, 10.10.0.150:1566 → 10.10.0.129:34964: a connectionless request
    /// (PROFINET IO's interface), little-endian, 84 bytes of body.
    const CL_REQUEST: &str = concat!(
        "04000800100000000000a0de976cd111827100010003015a0100a0de976cd111827100a02442df7ddbabbaec1d005443b2500b01630aba",
        "fd0000000001000000000000000500ffffffff54000000000040800000400000004080000000000000400000000009003c0100000a0000",
        "000000000000000000000000000000000000000000010000f84000008000000000000000000000000000000000000000000000000000",
    );
    /// A connection-oriented bind laid out as C706 §12.6 gives it (little-endian, one
    /// presentation context, 72 bytes).
    const CO_BIND: &str = concat!(
        "05000b03100000004800000001000000b810b810000000000100000000000100",
        "c4fefc9960521b10bbcb00aa0021347a00000000045d888aeb1cc9119fe808002b10486002000000",
    );

    #[test]
    fn both_versions() {
        let cl = hex(CL_REQUEST);
        assert_eq!(cl.len(), CL_HEADER + 84);
        assert_eq!(run_one::<DcerpcDissector>(&udp([1566, 34964]), &cl).0, Probe::Certain);
        truncations::<DcerpcDissector>(&udp([1566, 34964]), &cl);
        let co = hex(CO_BIND);
        assert_eq!(co.len(), 72);
        assert_eq!(run_one::<DcerpcDissector>(&tcp([49700, 49701]), &co).0, Probe::Certain);
        assert_eq!(run_one::<DcerpcDissector>(&tcp([49700, 49701]), &co[..40]).0, Probe::NotForUs);
        assert_eq!(run_one::<DcerpcDissector>(&tcp([49700, 135]), &co[..40]).0, Probe::Certain);
        assert_eq!(run_one::<DcerpcDissector>(&tcp([49700, 135]), &co[..10]).0, Probe::Unsure);
        truncations::<DcerpcDissector>(&tcp([49700, 135]), &co);
    }

    #[test]
    fn profinet_io_interfaces_name_the_flow() {
        let cl = hex(CL_REQUEST);
        let (_, _, f) = run_one::<DcerpcDissector>(&udp([1566, 34964]), &cl);
        assert_eq!(f.protocol, protocol::PROFINET_IO);
        // The controller interface (DEA00002-…) too; any other interface stays DCE/RPC.
        let mut controller = cl.clone();
        controller[CL_INTERFACE] = 0x02;
        assert_eq!(run_one::<DcerpcDissector>(&udp([1566, 34964]), &controller).2.protocol, protocol::PROFINET_IO);
        let mut other = cl.clone();
        other[CL_INTERFACE] = 0x05;
        assert_eq!(run_one::<DcerpcDissector>(&udp([1566, 34964]), &other).2.protocol, protocol::UNKNOWN);
        let mut other = cl.clone();
        other[CL_INTERFACE + 15] ^= 1;
        assert_eq!(run_one::<DcerpcDissector>(&udp([1566, 34964]), &other).2.protocol, protocol::UNKNOWN);
        // The same UUID in big-endian byte order (label byte 0x00).
        let mut big = cl.clone();
        big[4] = 0x00;
        big[CL_INTERFACE..CL_INTERFACE + 4].copy_from_slice(&[0xde, 0xa0, 0x00, 0x01]);
        big[CL_INTERFACE + 4..CL_INTERFACE + 6].copy_from_slice(&[0x6c, 0x97]);
        big[CL_INTERFACE + 6..CL_INTERFACE + 8].copy_from_slice(&[0x11, 0xd1]);
        let body = (big.len() - CL_HEADER) as u16;
        big[CL_BODY_LEN..CL_BODY_LEN + 2].copy_from_slice(&body.to_be_bytes());
        assert_eq!(run_one::<DcerpcDissector>(&udp([1566, 34964]), &big).2.protocol, protocol::PROFINET_IO);
        assert!(is_carried_by_dcerpc(protocol::PROFINET_IO) && !is_carried_by_dcerpc(protocol::DCERPC));
    }

    #[test]
    fn other_payloads_are_not_dcerpc() {
        let mut cl = hex(CL_REQUEST);
        cl.pop();
        assert_eq!(run_one::<DcerpcDissector>(&udp([1566, 34964]), &cl).0, Probe::NotForUs);
        let mut co = hex(CO_BIND);
        co[4] = 0x20; // no such byte order
        assert_eq!(run_one::<DcerpcDissector>(&tcp([49700, 135]), &co).0, Probe::NotForUs);
        assert_eq!(run_one::<DcerpcDissector>(&tcp([49700, 135]), b"\x05GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..100), v in 4u8..6) {
            let mut q = vec![v];
            q.extend_from_slice(&p);
            no_panic::<DcerpcDissector>(&tcp([1, 135]), &[p.clone(), q.clone()]);
            no_panic::<DcerpcDissector>(&udp([1, 135]), &[p, q]);
        }
    }
}
