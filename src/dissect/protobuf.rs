//! Protocol Buffers messages sent bare over TCP or UDP (no gRPC, no HTTP/2 around them). The
//! protobuf wire format is public (protobuf.dev, "Encoding"): a message is a sequence of fields,
//! each a varint tag (field number << 3 | wire type) then the value — wire type 0 a varint, 1
//! eight bytes, 2 a varint length and that many bytes, 5 four bytes; 3 and 4 are the deprecated
//! groups, 6 and 7 do not exist; field numbers run from 1 to 2^29 − 1; a varint is at most ten
//! bytes.
//!
//! The wire fact nDPI applies to every flow (docs/ARCHITECTURE.md, "nDPI's signatures are wire
//! facts"): a payload whose first 32 fields parse by those rules, groups excluded, with a
//! length-delimited field of non-zero length among them and at least eight fields in all, is a
//! protobuf message; reading may stop inside a length-delimited field that runs past the payload
//! (TCP carries the rest). A payload that breaks the rules rules the flow out; fewer fields keep
//! protobuf in the running. nDPI also names flows after four payloads of two or more fields
//! each; flowsieve does not (it reads no payload count). Protobuf is probed after every other
//! dissector: any protocol a probe recognises wins. No port hint: there is no protobuf port.

use super::{protocol, Dissector, Probe, Segment, Transports};

/// Fields read at most (nDPI's limit).
const MAX_FIELDS: usize = 32;
/// Fields needed for a certain probe.
const REQUIRED_FIELDS: usize = 8;
/// A varint's longest encoding.
const VARINT_MAX: usize = 10;
/// The largest field number.
const MAX_FIELD: u64 = (1 << 29) - 1;
/// The largest length nDPI accepts for a length-delimited field.
const MAX_LEN: u64 = i32::MAX as u64;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct ProtobufDissector;

/// A varint at `at`: its value and the offset after it. `Err` when it is longer than ten
/// bytes, `Ok(None)` when the payload ends inside it.
fn varint(p: &[u8], at: usize) -> Result<Option<(u64, usize)>, ()> {
    let mut value = 0u64;
    for i in 0..VARINT_MAX {
        let Some(&b) = p.get(at + i) else { return Ok(None) };
        value |= u64::from(b & 0x7f).checked_shl(7 * i as u32).unwrap_or(0);
        if b & 0x80 == 0 {
            return Ok(Some((value, at + i + 1)));
        }
    }
    Err(())
}

/// Read the payload's fields.
fn fields(p: &[u8]) -> Probe {
    let (mut at, mut count, mut delimited) = (0usize, 0usize, 0usize);
    while count < MAX_FIELDS {
        let Ok(tag) = varint(p, at) else { return Probe::NotForUs };
        let Some((tag, next)) = tag else { break };
        let field = tag >> 3;
        if field == 0 || field > MAX_FIELD {
            return Probe::NotForUs;
        }
        at = match tag & 7 {
            0 => match varint(p, next) {
                Ok(Some((_, after))) => after,
                _ => return Probe::NotForUs,
            },
            1 | 5 => {
                let size = if tag & 7 == 1 { 8 } else { 4 };
                if p.len() < next + size {
                    return Probe::NotForUs;
                }
                next + size
            }
            2 => {
                let Ok(length) = varint(p, next) else { return Probe::NotForUs };
                let Some((length, after)) = length else { break };
                if length == 0 || length > MAX_LEN {
                    return Probe::NotForUs;
                }
                delimited += 1;
                after.saturating_add(usize::try_from(length).unwrap_or(usize::MAX))
            }
            _ => return Probe::NotForUs,
        };
        count += 1;
    }
    if count >= REQUIRED_FIELDS && delimited > 0 {
        Probe::Certain
    } else if count > 0 {
        Probe::Unsure
    } else {
        Probe::NotForUs
    }
}

impl Dissector for ProtobufDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::PROTOBUF;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe(segment: &Segment<'_>) -> Probe {
        fields(segment.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// protobuf.pcap, 127.0.0.1:42358 → 127.0.0.1:12345 (67 bytes): fields 2 (a string), 4
    /// three times (nested messages), 5 (fixed32), 6 (fixed64), 7 (varint), 8 (bytes), 11.
    const MESSAGE: &str = concat!(
        "1203626c612209080112057465737431220908021205746573743222090803120574657374332df323a744",
        "31e71da7e888e4944038a403420841414141424242425803"
    );
    /// 127.0.0.1:59030 → 127.0.0.1:12345: a string, then eight fixed64 fields of number 251209.
    const FIXED: &str = concat!(
        "1204646f6e65c9a60f7856341200000000c9a60f2143658778563412c9a60f7856341200000000c9a60f",
        "2143658778563412c9a60f7856341200000000c9a60f2143658778563412c9a60f7856341200000000c9",
        "a60f21436587785634120a"
    );

    #[test]
    fn a_message_of_eight_fields_is_protobuf() {
        let f = tcp([42358, 12345]);
        assert_eq!(run_one::<ProtobufDissector>(&f, &hex(MESSAGE)).0, Probe::Certain);
        assert_eq!(run_one::<ProtobufDissector>(&f, &hex(FIXED)).0, Probe::Certain);
        assert_eq!(run_one::<ProtobufDissector>(&udp([1, 2]), &hex(MESSAGE)).0, Probe::Certain);
        truncations::<ProtobufDissector>(&f, &hex(MESSAGE));
        // 127.0.0.1:51680: two varint fields (the second ten bytes long), then a length cut off.
        assert_eq!(run_one::<ProtobufDissector>(&f, &hex("38ffffffff0750ffffffffffffffffff010a")).0, Probe::Unsure);
    }

    #[test]
    fn near_misses_are_not() {
        let f = tcp([42358, 12345]);
        // Seven fields only (cut after field 7), no length-delimited field, a group, field 0.
        let message = hex(MESSAGE);
        assert_eq!(run_one::<ProtobufDissector>(&f, &message[..56]).0, Probe::Unsure);
        assert_eq!(run_one::<ProtobufDissector>(&f, &hex("0801100118012001280130013801400148015001")).0, Probe::Unsure);
        assert_eq!(run_one::<ProtobufDissector>(&f, &hex("0b0801")).0, Probe::NotForUs);
        assert_eq!(run_one::<ProtobufDissector>(&f, &hex("0001")).0, Probe::NotForUs);
        // A varint of eleven bytes, a zero length.
        assert_eq!(run_one::<ProtobufDissector>(&f, &hex("08ffffffffffffffffffff01")).0, Probe::NotForUs);
        assert_eq!(run_one::<ProtobufDissector>(&f, &hex("0a00")).0, Probe::NotForUs);
        // Text and TLS are not protobuf.
        assert_eq!(run_one::<ProtobufDissector>(&f, b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<ProtobufDissector>(&f, &hex("16030100c8010000c40303")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<ProtobufDissector>(&tcp([1, 2]), std::slice::from_ref(&p));
            no_panic::<ProtobufDissector>(&udp([1, 2]), &[p]);
        }
    }
}
