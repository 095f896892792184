//! WebSocket frames (RFC 6455 §5.2) on a TCP connection seen after its HTTP upgrade (a capture
//! or an agent that started mid-connection).
//!
//! A frame starts with a byte holding FIN, three reserved bits (RSV1 is set by
//! permessage-deflate, RFC 7692 §6) and the opcode: 1 text, 2 binary, 8 close, 9 ping, 10 pong.
//! The second byte holds the mask bit (set on every frame a client sends) and a 7-bit length;
//! 126 and 127 announce a 16-bit or 64-bit length after it; then a 4-byte masking key when the
//! mask bit is set, then the payload. Control frames are never fragmented and carry at most
//! 125 bytes (§5.5).
//!
//! Two bytes of header are weak evidence alone, so the probe only shortlists a segment that is
//! exactly a chain of whole frames, each a final frame (FIN set) with a defined opcode; the
//! parse follows the frame boundaries in each direction and names the flow once a second
//! segment, in either direction, is frames too. A segment that breaks the framing withdraws
//! the claim, and the flow gets its ports' guess as if no dissector had claimed it.

use super::{protocol, Dissector, FirstBytes, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

/// FIN and opcode bits of the first byte.
const FIN: u8 = 0x80;
/// RSV1: a permessage-deflate compressed message (RFC 7692 §6).
const RSV1: u8 = 0x40;
const MASK: u8 = 0x80;
/// Segments read without a confirmation before the claim is withdrawn.
const MAX_SEGMENTS: u8 = 8;
/// Segments that are whole frames (the claiming one included) that name the flow.
const CONFIRMING: u8 = 2;

/// Per-flow state: the bytes of the current frame still to come in each direction.
#[derive(Debug, Default)]
pub struct WebsocketDissector {
    remaining: [u64; 2],
    framed: u8,
    segments: u8,
}

/// The total length of the frame at the start of `p` (header, key and payload), when `p`
/// starts with a valid frame header; `Err(())` when it does not, `Ok(None)` when the header is
/// cut short. Only final frames are read: the probe and the parse start on frame boundaries
/// where a capture that began mid-message would show a continuation frame, which they do not
/// take as evidence.
fn frame_length(p: &[u8]) -> Result<Option<u64>, ()> {
    let Some(&b0) = p.first() else { return Ok(None) };
    let opcode = b0 & 0x0f;
    let data = matches!(opcode, 1 | 2);
    let control = matches!(opcode, 8..=10);
    // FIN set, RSV2 and RSV3 clear, RSV1 only on data frames.
    if b0 & FIN == 0 || b0 & 0x30 != 0 || !(data || control) || (control && b0 & RSV1 != 0) {
        return Err(());
    }
    let Some(&b1) = p.get(1) else { return Ok(None) };
    let key = if b1 & MASK != 0 { 4 } else { 0 };
    let (length, header) = match b1 & 0x7f {
        126 => match p.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match p.get(2..10) {
            Some(b) => {
                let mut n = [0u8; 8];
                n.copy_from_slice(b);
                (u64::from_be_bytes(n), 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    // §5.2: the 16- and 64-bit forms are the minimal encoding, and the 64-bit one's most
    // significant bit is 0; §5.5: control frames carry at most 125 bytes.
    let minimal = match header {
        4 => length >= 126,
        10 => length > u64::from(u16::MAX) && length >> 63 == 0,
        _ => true,
    };
    if !minimal || (control && length > 125) {
        return Err(());
    }
    Ok(Some(length + header + key))
}

/// Walks `p` as the continuation of a frame (`remaining` bytes of it still to come) and the
/// frames after it. `Some(left)` with the bytes of the last frame still to come when every
/// header in `p` is valid and at least one starts in it (`Some(0)`: `p` ends on a frame
/// boundary); `None` when a header is invalid, cut short, or none starts in `p`.
fn walk(p: &[u8], remaining: u64) -> Option<(u64, bool)> {
    let len = p.len() as u64;
    if remaining >= len {
        return Some((remaining - len, false));
    }
    // `remaining < len`, so it fits in usize.
    let mut rest = p.get(usize::try_from(remaining).ok()?..)?;
    while !rest.is_empty() {
        let n = frame_length(rest).ok()??;
        let have = rest.len() as u64;
        if n >= have {
            return Some((n - have, true));
        }
        rest = rest.get(usize::try_from(n).ok()?..)?;
    }
    Some((0, true))
}

impl Dissector for WebsocketDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::WEBSOCKET;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x81, 0x82, 0x88, 0x89, 0x8a, 0xc1, 0xc2]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(walk(segment.payload, 0) == Some((0, true)))
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.segments = self.segments.saturating_add(1);
        let dir = segment.direction.index();
        let Some(&remaining) = self.remaining.get(dir) else {
            return Parsed::Skipped(Skip::Malformed);
        };
        match walk(segment.payload, remaining) {
            Some((left, headers)) => {
                self.remaining[dir] = left;
                if headers {
                    self.framed += 1;
                }
            }
            None => return Parsed::Skipped(Skip::Unconfirmed),
        }
        if self.framed >= CONFIRMING {
            facts.protocol = protocol::WEBSOCKET;
            return Parsed::Done;
        }
        if self.segments >= MAX_SEGMENTS {
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        Parsed::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::facts::Direction;
    use proptest::prelude::*;

    /// websocket.pcap in nDPI's corpus, 192.168.43.135:12345 ↔ 192.168.43.1:50999 (nDPI:
    /// WebSocket), a connection captured after its upgrade: the server's text frame
    /// ("Welcome, 192.168.43.1 !"), the client's masked 12-byte text frame.
    const SERVER: &str = "811757656c636f6d652c203139322e3136382e34332e312021";
    const CLIENT: &str = "818ce17e8eb9951bfdcdc113ebca921fe9dc";

    fn feed(d: &mut WebsocketDissector, facts: &mut FlowFacts, dir: Direction, p: &[u8]) -> Parsed {
        let f = tcp([12345, 50999]);
        d.parse(&segment(&f, dir, 0, p), facts)
    }

    #[test]
    fn frames_both_ways_name_the_flow() {
        let f = tcp([12345, 50999]);
        assert_eq!(run_one::<WebsocketDissector>(&f, &hex(SERVER)).0, Probe::Certain);
        assert_eq!(run_one::<WebsocketDissector>(&f, &hex(CLIENT)).0, Probe::Certain);
        let (mut d, mut facts) = (WebsocketDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &hex(SERVER)), Parsed::Continue);
        assert_eq!(facts.protocol, protocol::UNKNOWN);
        assert_eq!(feed(&mut d, &mut facts, Direction::Reverse, &hex(CLIENT)), Parsed::Done);
        assert_eq!(facts.protocol, protocol::WEBSOCKET);
        truncations::<WebsocketDissector>(&f, &hex(CLIENT));
    }

    #[test]
    fn a_frame_split_across_segments_is_followed() {
        // A 300-byte binary frame (16-bit length) split over three segments, then a ping.
        let mut frame = vec![0x82, 126, 0x01, 0x2c];
        frame.resize(4 + 300, 0x33);
        let ping = [0x89, 0x00];
        let (mut d, mut facts) = (WebsocketDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &frame[..100]), Parsed::Continue);
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &frame[100..200]), Parsed::Continue);
        let tail = [&frame[200..], &ping[..]].concat();
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &tail), Parsed::Done);
        assert_eq!(facts.protocol, protocol::WEBSOCKET);
    }

    #[test]
    fn other_payloads_are_not_websocket() {
        let f = tcp([12345, 50999]);
        let probe = |p: &[u8]| run_one::<WebsocketDissector>(&f, p).0;
        // One byte more or less than the frame; a frame cut short.
        assert_eq!(probe(&[hex(SERVER), vec![0]].concat()), Probe::NotForUs);
        assert_eq!(probe(&hex(SERVER)[..24]), Probe::NotForUs);
        // Undefined opcode 3, RSV2 set, a non-final frame, a control frame of 126 bytes, a
        // 16-bit length that fits in 7 bits.
        assert_eq!(probe(&[0x83, 0x00]), Probe::NotForUs);
        assert_eq!(probe(&[0xa1, 0x00]), Probe::NotForUs);
        assert_eq!(probe(&[0x01, 0x00]), Probe::NotForUs);
        let mut close = vec![0x88, 126, 0x00, 0x7e];
        close.resize(4 + 126, 0);
        assert_eq!(probe(&close), Probe::NotForUs);
        let mut short = vec![0x82, 126, 0x00, 0x05];
        short.resize(4 + 5, 0);
        assert_eq!(probe(&short), Probe::NotForUs);
        assert_eq!(probe(b"GET /chat HTTP/1.1\r\n"), Probe::NotForUs);
        // A shortlisted flow whose next segment breaks the framing is given back.
        let (mut d, mut facts) = (WebsocketDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &hex(SERVER)), Parsed::Continue);
        assert_eq!(feed(&mut d, &mut facts, Direction::Reverse, b"HELLO"), Parsed::Skipped(Skip::Unconfirmed));
        assert_eq!(facts.protocol, protocol::UNKNOWN);
    }

    proptest! {
        #[test]
        fn never_panics(ps in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..5)) {
            no_panic::<WebsocketDissector>(&tcp([1, 2]), &ps);
        }

        #[test]
        fn frame_headers_never_panic(b0 in any::<u8>(), b1 in any::<u8>(), ext in any::<u64>()) {
            let mut p = vec![b0, b1];
            p.extend_from_slice(&ext.to_be_bytes());
            for cut in 0..=p.len() {
                let _ = walk(&p[..cut], 0);
                let _ = walk(&p[..cut], ext);
            }
        }
    }
}
