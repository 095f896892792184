//! Apache Thrift RPC messages sent bare over TCP or UDP (flowsieve-only, nDPI's name `Thrift`;
//! no well-known port).
//!
//! Wire facts (Apache Thrift's protocol specifications, `doc/specs/thrift-binary-protocol.md`
//! and `thrift-compact-protocol.md`): a message of the strict binary protocol starts with the
//! 32-bit word `0x8001 00 TT` (version 1, message type `TT`: 1 call, 2 reply, 3 exception,
//! 4 oneway), then the method name as a 32-bit length and its bytes, then a 32-bit sequence ID;
//! over the framed transport the message follows a 32-bit frame length. A message of the
//! compact protocol starts with `0x82`, a byte holding the message type in its top three bits
//! and version 1 in its low five, then the sequence ID and the name's length as varints and
//! the name. The signature nDPI applies to every flow (docs/ARCHITECTURE.md, "nDPI's signatures
//! are wire facts"): over TCP, `0x80`, a version byte of at most 1, a message type below 5 and
//! the whole method name in the payload; over UDP, `0x82` with the same version and type rule.
//!
//! flowsieve tightens both with the specifications: version exactly 1, the unused byte zero, a
//! message type from 1 to 4, a method name of printable ASCII (1 to 255 bytes) followed by the
//! sequence ID, and real varints in the compact form. It also reads the framed transport (the
//! frame length no shorter than the message header and no longer than Thrift's default 16 MB
//! limit), which nDPI does not. The compact form stays UDP-only as in nDPI: over TCP, `0x82`
//! opens WebSocket's binary frames.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Probe, Segment, Transports};

const STRICT: [u8; 3] = [0x80, 0x01, 0x00];
const COMPACT: u8 = 0x82;
const VERSION: u8 = 1;
const TYPES: std::ops::RangeInclusive<u8> = 1..=4;
const MAX_NAME: usize = 255;
/// Thrift's default largest frame.
const MAX_FRAME: usize = 16_384_000;
const FRAME_HEADER: usize = 4;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct ThriftDissector;

fn method_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && name.iter().all(u8::is_ascii_graphic)
}

/// The length of the strict binary message header (version and type, name, sequence ID) at
/// the start of `p`, when it is one.
fn strict(p: &[u8]) -> Option<usize> {
    let name_len = usize::try_from(be_u32_at(p, 4)?).ok()?;
    let header = 8usize.checked_add(name_len)?.checked_add(4)?;
    let ok = p.starts_with(&STRICT)
        && p.get(3).is_some_and(|t| TYPES.contains(t))
        && p.get(8..8 + name_len).is_some_and(method_name)
        && p.len() >= header;
    ok.then_some(header)
}

/// Whether `p` is a framed strict binary message: a frame length no shorter than the message
/// header and within Thrift's limit, then the message.
fn framed(p: &[u8]) -> bool {
    let frame = be_u32_at(p, 0).and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let header = strict(p.get(FRAME_HEADER..).unwrap_or_default()).unwrap_or(usize::MAX);
    header <= frame && frame <= MAX_FRAME
}

/// A varint (ULEB128) of at most five bytes at the start of `p`: its value and length.
fn varint(p: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, &b) in p.iter().take(5).enumerate() {
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Whether `p` starts with a compact protocol message header, its name and more.
fn compact(p: &[u8]) -> bool {
    let Some(&[COMPACT, type_version]) = p.get(..2) else { return false };
    if type_version & 0x1f != VERSION || !TYPES.contains(&(type_version >> 5)) {
        return false;
    }
    let rest = p.get(2..).unwrap_or_default();
    let Some((_, seq_len)) = varint(rest) else { return false };
    let rest = rest.get(seq_len..).unwrap_or_default();
    let Some((name_len, len_len)) = varint(rest) else { return false };
    // The name, and the argument or result struct after it (at least its STOP byte).
    rest.get(len_len..len_len + name_len).is_some_and(method_name) && rest.len() > len_len + name_len
}

impl Dissector for ThriftDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::THRIFT;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    /// The strict header's first byte, a frame length's (below 16 MB), the compact header's.
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[STRICT[0], 0x00, COMPACT]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let yes = if flow.is_tcp() {
            strict(p).is_some() || framed(p)
        } else if flow.is_udp() {
            compact(p)
        } else {
            false
        };
        Probe::certain_if(yes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A strict binary call of `ping` with sequence ID 1 and an empty argument struct.
    fn call() -> Vec<u8> {
        let mut m = vec![0x80, 0x01, 0x00, 0x01];
        m.extend_from_slice(&4u32.to_be_bytes());
        m.extend_from_slice(b"ping");
        m.extend_from_slice(&1u32.to_be_bytes());
        m.push(0); // STOP
        m
    }

    #[test]
    fn a_strict_binary_message_is_thrift() {
        let f = tcp([50000, 9090]);
        assert_eq!(run_one::<ThriftDissector>(&f, &call()).0, Probe::Certain);
        for kind in 1..=4 {
            let mut m = call();
            m[3] = kind;
            assert_eq!(run_one::<ThriftDissector>(&f, &m).0, Probe::Certain, "type {kind}");
        }
        let mut framed = (call().len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(&call());
        assert_eq!(run_one::<ThriftDissector>(&f, &framed).0, Probe::Certain);
        truncations::<ThriftDissector>(&f, &framed);
        assert_eq!(protocol::name_of(protocol::THRIFT), "Thrift");
    }

    #[test]
    fn a_compact_message_over_udp_is_thrift() {
        let f = udp([50000, 9090]);
        // Call (type 1 << 5 | version 1), sequence ID 300 as a two-byte varint, `ping`.
        let m = [&[0x82, 0x21, 0xac, 0x02, 0x04][..], b"ping", &[0]].concat();
        assert_eq!(run_one::<ThriftDissector>(&f, &m).0, Probe::Certain);
        assert_eq!(run_one::<ThriftDissector>(&tcp([50000, 9090]), &m).0, Probe::NotForUs);
        let mut version2 = m.clone();
        version2[1] = 0x22;
        assert_eq!(run_one::<ThriftDissector>(&f, &version2).0, Probe::NotForUs);
        // A name longer than the datagram.
        assert_eq!(run_one::<ThriftDissector>(&f, &m[..7]).0, Probe::NotForUs);
        // WebSocket's masked binary frame (0x82, mask bit and length 1) is not this.
        assert_eq!(run_one::<ThriftDissector>(&f, &hex("8281a1b2c3d4ff")).0, Probe::NotForUs);
    }

    #[test]
    fn near_misses_are_not_thrift() {
        let f = tcp([50000, 9090]);
        let p = call();
        // Version 0, a non-zero unused byte, message types 0 and 5, a cut name, no sequence
        // ID, an empty or unprintable name.
        for (at, value) in [(1, 0x00), (2, 0x01), (3, 0x00), (3, 0x05), (7, 0x40)] {
            let mut q = p.clone();
            q[at] = value;
            assert_eq!(run_one::<ThriftDissector>(&f, &q).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<ThriftDissector>(&f, &p[..13]).0, Probe::NotForUs);
        let mut empty = p.clone();
        empty[7] = 0;
        empty.drain(8..12);
        assert_eq!(run_one::<ThriftDissector>(&f, &empty).0, Probe::NotForUs);
        let mut unprintable = p.clone();
        unprintable[9] = 0x01;
        assert_eq!(run_one::<ThriftDissector>(&f, &unprintable).0, Probe::NotForUs);
        // A frame length shorter than the message header, or beyond 16 MB.
        for frame in [8u32, 20_000_000] {
            let mut q = frame.to_be_bytes().to_vec();
            q.extend_from_slice(&p);
            assert_eq!(run_one::<ThriftDissector>(&f, &q).0, Probe::NotForUs, "frame {frame}");
        }
        // HTTP, a TLS record, and the strict form over UDP.
        assert_eq!(run_one::<ThriftDissector>(&f, b"POST /thrift HTTP/1.1\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<ThriftDissector>(&f, &hex("160301020001000200")).0, Probe::NotForUs);
        assert_eq!(run_one::<ThriftDissector>(&udp([50000, 9090]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<ThriftDissector>(&tcp([1, 2]), std::slice::from_ref(&p));
            no_panic::<ThriftDissector>(&udp([1, 2]), &[p]);
        }
    }
}
