//! The eDonkey network's TCP protocol and eMule's extensions of it (flowsieve-only ID with
//! nDPI's name, `eDonkey`).
//!
//! Wire facts (Kulbak and Bickson, "The eMule Protocol Specification", 2005; the
//! signature nDPI applies to every TCP flow is the same framing, docs/ARCHITECTURE.md "nDPI's
//! signatures are wire facts"; this is flowsieve's own code): every message, between clients
//! and between a client and a server, opens with a 6-byte header: the protocol byte (`e3`
//! eDonkey, `c5` eMule's extensions, `d4` eMule's zlib-packed messages), the size of the rest
//! of the message (32 bits, little-endian: the opcode and what follows it, so at least 1) and
//! the opcode. A connection opens with the client's Hello to another client or its Login to a
//! server, both opcode `01` in an `e3` message.
//!
//! nDPI names a flow whose first payload is one such message whose size is the rest of the
//! payload. flowsieve takes the first payload (either direction, as a capture may miss the
//! opening) when it is one or several whole messages one after another, each with a size of
//! at least 1 and at most [`MAX_SIZE`]. A message cut by segmentation cannot have its size
//! checked against the payload, so only the opening one may continue in later segments: an
//! `e3` Hello or Login (opcode `01`), whose protocol byte and opcode are known in advance. A
//! payload shorter than a header whose first byte is a protocol byte waits for more.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// The protocol bytes: eDonkey, eMule's extensions, eMule's packed messages.
const EDONKEY: u8 = 0xe3;
const EMULE: u8 = 0xc5;
const PACKED: u8 = 0xd4;
/// Protocol byte and size.
const HEADER: usize = 5;
/// Hello (client to client) and Login (client to server).
const OP_HELLO: u8 = 0x01;
/// The largest size taken: eMule's messages, file parts included, are far smaller, and a
/// size past this in a first payload is not one of them.
const MAX_SIZE: usize = 1 << 20;

/// Whether `b` opens a message.
fn protocol_byte(b: u8) -> bool {
    matches!(b, EDONKEY | EMULE | PACKED)
}

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct EdonkeyDissector;

impl Dissector for EdonkeyDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::EDONKEY;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[EDONKEY, EMULE, PACKED]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.len() <= HEADER {
            return if p.first().is_some_and(|&b| protocol_byte(b)) { Probe::Unsure } else { Probe::NotForUs };
        }
        let mut rest = p;
        let mut first = true;
        while !rest.is_empty() {
            let (Some(&kind), Some(size)) = (rest.first(), le_u32_at(rest, 1).map(|s| s as usize)) else {
                return Probe::NotForUs; // a cut header after a whole message
            };
            if !protocol_byte(kind) || size == 0 || size > MAX_SIZE {
                return Probe::NotForUs;
            }
            match rest.get(HEADER + size..) {
                Some(next) => rest = next,
                // Only the opening message may continue in later segments.
                None => return Probe::certain_if(first && kind == EDONKEY && rest.get(HEADER) == Some(&OP_HELLO)),
            }
            first = false;
        }
        Probe::Certain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    /// A message: protocol byte, size, opcode, body.
    fn message(kind: u8, opcode: u8, body: &[u8]) -> Vec<u8> {
        [&[kind][..], &(body.len() as u32 + 1).to_le_bytes(), &[opcode], body].concat()
    }

    /// A client's Hello as the specification lays it out: the user hash's size (16) and hash,
    /// the client ID, the TCP port, a tag list (one tag: the user name), the server's address.
    fn hello() -> Vec<u8> {
        let mut body = vec![16];
        body.extend_from_slice(&[0x5a; 16]);
        body.extend_from_slice(&[0x0a, 0x00, 0x00, 0x02, 0x36, 0x12]); // client ID, port 4662
        body.extend_from_slice(&1u32.to_le_bytes()); // one tag
        body.extend_from_slice(&[0x02, 0x01, 0x00, 0x01, 0x05, 0x00]); // string tag, name 0x01
        body.extend_from_slice(b"alice");
        body.extend_from_slice(&[0xc0, 0xa8, 0x01, 0x01, 0x35, 0x12]); // server, port 4661
        message(EDONKEY, OP_HELLO, &body)
    }

    #[test]
    fn framed_messages_are_edonkey() {
        assert_eq!(protocol::name_of(protocol::EDONKEY), "eDonkey");
        // nDPI's corpus has no such flow: messages built from the specification.
        let f = tcp([50123, 4662]);
        let hello = hello();
        assert_eq!(run_one::<EdonkeyDissector>(&f, &hello).0, Probe::Certain);
        truncations::<EdonkeyDissector>(&f, &hello);
        // The Hello cut by segmentation; an eMule extension message; a packed one; two
        // messages in one segment (Hello Answer, then an eMule info message).
        assert_eq!(run_one::<EdonkeyDissector>(&f, &hello[..HEADER + 3]).0, Probe::Certain);
        assert_eq!(run_one::<EdonkeyDissector>(&f, &message(EMULE, 0x01, &[0x42, 0x01])).0, Probe::Certain);
        assert_eq!(
            run_one::<EdonkeyDissector>(&f, &message(PACKED, 0x40, &[0x78, 0x9c, 0x03, 0x00])).0,
            Probe::Certain
        );
        let two = [message(EDONKEY, 0x4c, &[16; 20]), message(EMULE, 0x01, &[0x42])].concat();
        assert_eq!(run_one::<EdonkeyDissector>(&f, &two).0, Probe::Certain);
        // An opcode alone (size 1) is a whole message.
        assert_eq!(run_one::<EdonkeyDissector>(&f, &message(EDONKEY, 0x38, &[])).0, Probe::Certain);
        assert_eq!(run_one::<EdonkeyDissector>(&f, &hello[..3]).0, Probe::Unsure);
    }

    #[test]
    fn near_misses_are_not_edonkey() {
        let f = tcp([50123, 4662]);
        let hello = hello();
        // Another protocol byte; a size one too long or too short; a size of 0; bytes after
        // the last message that are no header; a second message cut short.
        let mut other = hello.clone();
        other[0] = 0xe4;
        let mut long = hello.clone();
        long[1] += 1;
        let mut short = hello.clone();
        short[1] -= 1;
        let empty = [EDONKEY, 0, 0, 0, 0, 0x01];
        let trailing = [hello.clone(), b"xyz".to_vec()].concat();
        let cut = [message(EDONKEY, 0x4c, &[1; 8]), message(EMULE, 0x01, &[1; 8])[..8].to_vec()].concat();
        for p in [other, short, empty.to_vec(), trailing, cut] {
            assert_eq!(run_one::<EdonkeyDissector>(&f, &p).0, Probe::NotForUs, "{p:02x?}");
        }
        // A longer size continues in later segments only for the opening Hello.
        assert_eq!(run_one::<EdonkeyDissector>(&f, &long).0, Probe::Certain);
        let mut long_emule = message(EMULE, 0x01, &[1; 8]);
        long_emule[1] += 1;
        assert_eq!(run_one::<EdonkeyDissector>(&f, &long_emule).0, Probe::NotForUs);
        let huge = [EDONKEY, 0x00, 0x00, 0x20, 0x00, OP_HELLO, 16];
        assert_eq!(run_one::<EdonkeyDissector>(&f, &huge).0, Probe::NotForUs);
        // Other protocols' openings; UDP.
        for p in [&b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..], b"GET / HTTP/1.1\r\n\r\n", b"SSH-2.0-x\r\n"] {
            assert_eq!(run_one::<EdonkeyDissector>(&f, p).0, Probe::NotForUs);
        }
        assert_eq!(run_one::<EdonkeyDissector>(&udp([50123, 4672]), &hello).0, Probe::NotForUs);
    }

    #[test]
    fn the_registry_names_the_hello_and_its_answer() {
        let f = tcp([50123, 4662]);
        let hello = (Direction::Forward, hello());
        assert_eq!(through_registry(&f, &[hello]), (protocol::EDONKEY, Some(1)));
        // A capture that starts with the server's Hello Answer.
        let answer = (Direction::Reverse, message(EDONKEY, 0x4c, &[16; 40]));
        assert_eq!(through_registry(&f, &[answer]).0, protocol::EDONKEY);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40), body in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<EdonkeyDissector>(&tcp([1, 2]), &[p]);
            no_panic::<EdonkeyDissector>(&tcp([1, 2]), &[message(EDONKEY, OP_HELLO, &body)]);
        }
    }
}
