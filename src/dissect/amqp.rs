//! AMQP, the Advanced Message Queuing Protocol (Netify's `AMQP`, 192; RabbitMQ, ActiveMQ,
//! Qpid, Azure Service Bus), on TCP 5672.
//!
//! A client opens a connection with the protocol header: `AMQP` and four octets naming the
//! version. AMQP 0-9-1 §4.2.2 has `AMQP 0 0 9 1`; the earlier 0-8, 0-9 and 0-10 specifications
//! `AMQP 1 1 8 0`, `AMQP 1 1 0 9` and `AMQP 1 1 0 10`; AMQP 1.0 (OASIS, ISO/IEC 19464) §2.2
//! `AMQP 0 1 0 0`, with protocol ID 2 for its TLS layer and 3 for its SASL layer (§5.2, §5.3).
//! A server that speaks another version answers with its own header and closes, so the header
//! alone names the flow.
//!
//! A connection picked up after its header (an agent started mid-connection) is named by one
//! whole frame, checked end to end:
//! - AMQP 0-9-1 §4.2.3: type (1 method, 2 content header, 3 body, 8 heartbeat), channel,
//!   32-bit size, the payload and the frame-end octet `0xCE`; a method frame's payload opens
//!   with a class ID of the specification (connection 10, channel 20, exchange 40, queue 50,
//!   basic 60, tx 90, confirm 85) and a method ID, a content header's with a class ID and weight
//!   0, a body frame is on a channel other than 0 and a heartbeat empty on channel 0;
//! - AMQP 1.0 §2.3: 32-bit size, data offset (at least 2 words), type 0 (AMQP) or 1 (SASL),
//!   channel, and a body that is a described list whose descriptor is a performative's or a
//!   SASL frame's code (`0x00 0x53 0x10`…`0x18`, `0x40`…`0x44`).
//!
//! nDPI's amqp.c names any payload whose first octet is at most 3 with a class ID from 10 to
//! 110 (no frame-end check, not the header): stricter here, and the header besides.

use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

/// The protocol header's start.
const MAGIC: &[u8; 4] = b"AMQP";

/// The version octets after `AMQP` (AMQP 0-8, 0-9, 0-9-1, 0-10 and 1.0 with its three
/// protocol IDs).
const VERSIONS: &[[u8; 4]] =
    &[[1, 1, 8, 0], [1, 1, 0, 9], [0, 0, 9, 1], [1, 1, 0, 10], [0, 1, 0, 0], [2, 1, 0, 0], [3, 1, 0, 0]];

/// AMQP 0-9-1's frame-end octet.
const FRAME_END: u8 = 0xCE;

/// AMQP 0-9-1's frame types (§4.2.3; 8 is the heartbeat's in 0-9-1, 4 in 0-8).
const FRAME_TYPES: &[u8] = &[1, 2, 3, 4, 8];

/// AMQP 0-9-1's class IDs (§1: connection, channel, exchange, queue, basic, confirm, tx).
const CLASSES: &[u16] = &[10, 20, 40, 50, 60, 85, 90];

/// AMQP needs no state: the header or a whole frame names the flow.
#[derive(Debug, Default)]
pub struct AmqpDissector;

/// Whether `p` opens with the protocol header (`Some(true)`), could still (`None`: too short),
/// or does not.
fn header(p: &[u8]) -> Option<bool> {
    if p.len() < MAGIC.len() + 4 {
        let magic = &p[..p.len().min(MAGIC.len())];
        let version = p.get(MAGIC.len()..).unwrap_or_default();
        let agrees = !p.is_empty() && MAGIC.starts_with(magic) && VERSIONS.iter().any(|v| v.starts_with(version));
        return if agrees { None } else { Some(false) };
    }
    Some(p.starts_with(MAGIC) && VERSIONS.iter().any(|v| v[..] == p[MAGIC.len()..MAGIC.len() + 4]))
}

/// Whether `p` is one whole AMQP 0-9-1 frame (or starts with one), checked to its frame end.
fn frame_0_9_1(p: &[u8]) -> bool {
    let Some(&[kind, _, _, s0, s1, s2, s3]) = p.get(..7) else { return false };
    // Checked: on a 32-bit target a size near 4 GiB would overflow the frame's end.
    let Some(end) = usize::try_from(u32::from_be_bytes([s0, s1, s2, s3])).ok().and_then(|s| s.checked_add(7)) else {
        return false;
    };
    let size = end - 7;
    if !FRAME_TYPES.contains(&kind) || p.get(end) != Some(&FRAME_END) {
        return false;
    }
    let payload = &p[7..end];
    match kind {
        // A method frame: class and method IDs.
        1 => payload
            .get(..4)
            .is_some_and(|ids| CLASSES.contains(&u16::from_be_bytes([ids[0], ids[1]])) && ids[2..] != [0, 0]),
        // A content header: class ID, weight 0, the body size.
        2 => payload.get(..4).is_some_and(|h| CLASSES.contains(&u16::from_be_bytes([h[0], h[1]])) && h[2..] == [0, 0]),
        // A heartbeat has no payload and goes on channel 0.
        4 | 8 => size == 0 && p[1..3] == [0, 0],
        // A body frame's content is the message's: its frame end and a channel other than the
        // connection's (content travels on channels 1 and up) say it is AMQP.
        _ => size > 0 && p[1..3] != [0, 0],
    }
}

/// Whether `p` is one whole AMQP 1.0 frame whose body is a performative or a SASL frame.
fn frame_1_0(p: &[u8]) -> bool {
    let Some(&[s0, s1, s2, s3, doff, kind]) = p.get(..6) else { return false };
    let Ok(size) = usize::try_from(u32::from_be_bytes([s0, s1, s2, s3])) else { return false };
    let body_at = usize::from(doff) * 4;
    if size != p.len() || doff < 2 || body_at > size || kind > 1 {
        return false;
    }
    // A described type (0x00), a small-ulong descriptor (0x53) and its code.
    match p.get(body_at..body_at + 3) {
        Some(&[0x00, 0x53, code]) => match kind {
            0 => (0x10..=0x18).contains(&code),
            _ => (0x40..=0x44).contains(&code),
        },
        _ => false,
    }
}

impl Dissector for AmqpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::AMQP;
    const TRANSPORTS: Transports = Transports::TCP;
    /// The header's `A`, a 0-9-1 frame's type, a 1.0 frame's size (under 16 MiB).
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"A\x00\x01\x02\x03\x04\x08");

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        match header(p) {
            Some(true) => Probe::Certain,
            None => Probe::Unsure,
            Some(false) => Probe::certain_if(frame_0_9_1(p) || frame_1_0(p)),
        }
    }

    const PORTS: Ports = Ports::tcp(&[5672]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// AMQP 0-9-1 Connection.Start-Ok's opening (class 10, method 11), a whole method frame.
    fn start_ok() -> Vec<u8> {
        let mut payload = vec![0, 10, 0, 11];
        payload.extend_from_slice(&[0, 0, 0, 0]); // an empty client-properties table
        payload.push(5);
        payload.extend_from_slice(b"PLAIN");
        payload.extend_from_slice(&[0, 0, 0, 12]);
        payload.extend_from_slice(b"\0guest\0guest");
        payload.push(5);
        payload.extend_from_slice(b"en_US");
        let mut f = vec![1, 0, 0];
        f.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
        f.extend_from_slice(&payload);
        f.push(FRAME_END);
        f
    }

    /// An AMQP 1.0 open performative (descriptor 0x10) with a one-field list.
    fn open_1_0() -> Vec<u8> {
        let body = [0x00, 0x53, 0x10, 0xc0, 0x06, 0x01, 0xa1, 0x03, b'c', b'i', b'd'];
        let mut f = (u32::try_from(8 + body.len()).unwrap()).to_be_bytes().to_vec();
        f.extend_from_slice(&[2, 0, 0, 0]);
        f.extend_from_slice(&body);
        f
    }

    #[test]
    fn protocol_headers_name_amqp() {
        let f = tcp([50000, 5672]);
        for version in VERSIONS {
            let mut p = MAGIC.to_vec();
            p.extend_from_slice(version);
            assert_eq!(run_one::<AmqpDissector>(&f, &p).0, Probe::Certain, "{version:?}");
            truncations::<AmqpDissector>(&f, &p);
        }
        assert_eq!(run_one::<AmqpDissector>(&tcp([50000, 8080]), b"AMQP\x00\x00\x09\x01").0, Probe::Certain);
        assert_eq!(run_one::<AmqpDissector>(&f, b"AMQ").0, Probe::Unsure);
        // Unknown version octets, other text, UDP.
        for p in [&b"AMQP\x09\x09\x09\x09"[..], b"AMQPX", b"AMQUIT\r\n\r\n", b"AB"] {
            assert_eq!(run_one::<AmqpDissector>(&f, p).0, Probe::NotForUs, "{p:?}");
        }
        assert_eq!(run_one::<AmqpDissector>(&udp([50000, 5672]), b"AMQP\x00\x00\x09\x01").0, Probe::NotForUs);
    }

    #[test]
    fn whole_frames_name_a_connection_picked_up_midway() {
        let f = tcp([50000, 5672]);
        let start_ok = start_ok();
        assert_eq!(run_one::<AmqpDissector>(&f, &start_ok).0, Probe::Certain);
        // A body frame on channel 1, and a heartbeat: type 8, channel 0, size 0, frame end.
        assert_eq!(run_one::<AmqpDissector>(&f, &[3, 0, 1, 0, 0, 0, 2, b'h', b'i', FRAME_END]).0, Probe::Certain);
        assert_eq!(run_one::<AmqpDissector>(&f, &[3, 0, 0, 0, 0, 0, 2, b'h', b'i', FRAME_END]).0, Probe::NotForUs);
        assert_eq!(run_one::<AmqpDissector>(&f, &[8, 0, 0, 0, 0, 0, 0, FRAME_END]).0, Probe::Certain);
        assert_eq!(run_one::<AmqpDissector>(&f, &open_1_0()).0, Probe::Certain);
        // A SASL mechanisms frame (type 1, descriptor 0x40).
        let mut sasl = open_1_0();
        (sasl[5], sasl[10]) = (1, 0x40);
        assert_eq!(run_one::<AmqpDissector>(&f, &sasl).0, Probe::Certain);
    }

    #[test]
    fn near_misses_are_not_amqp() {
        let f = tcp([50000, 5672]);
        let good = start_ok();
        // No frame end, a wrong class, a size past the segment, an unknown type.
        let mut no_end = good.clone();
        *no_end.last_mut().unwrap() = 0;
        let mut class = good.clone();
        class[8] = 11;
        let mut long = good.clone();
        long[6] += 1;
        let mut kind = good.clone();
        kind[0] = 5;
        let huge = vec![1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 10, 0, 11];
        for p in [no_end, class, long, kind, good[..good.len() - 1].to_vec(), huge] {
            assert_eq!(run_one::<AmqpDissector>(&f, &p).0, Probe::NotForUs, "{p:?}");
        }
        // An AMQP 1.0 frame whose size is not the segment's, or whose body is no performative.
        let mut short = open_1_0();
        short.push(0);
        let mut body = open_1_0();
        body[10] = 0x30;
        for p in [short, body] {
            assert_eq!(run_one::<AmqpDissector>(&f, &p).0, Probe::NotForUs, "{p:?}");
        }
        // Other protocols' openings.
        for p in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
            b"\x00\x00\x00\x2c\x00\x00\x00\x00",
            b"GET / HTTP/1.1\r\n",
        ] {
            assert_eq!(run_one::<AmqpDissector>(&f, p).0, Probe::NotForUs, "{p:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..64)) {
            no_panic::<AmqpDissector>(&tcp([1, 5672]), &[p]);
        }
    }
}
