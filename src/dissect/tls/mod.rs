//! TLS dissector: what the ClientHello and ServerHello say about a flow.
//!
//! A hand-written walker rather than a parser crate (docs/ARCHITECTURE.md, "Decisions"): it reads only the two hellos,
//! borrows every field from the reassembled bytes, and later JA3/JA4 need the raw extension
//! order that generic parsers do not keep. Each direction is reassembled with a
//! [`StreamBuffer`]; records are walked as bytes arrive, so a hello at the start of a huge record
//! (a ServerHello coalesced with the certificate chain) is read without buffering the record.
//! Only a handshake message split across records is copied, into a per-direction scratch
//! buffer. Either direction may carry either hello: nothing assumes the flow's first packet came
//! from the client.

use std::fmt::Write as _;

use super::reader::{be_len16_at, be_u16_at, Reader};
use super::stream::{Push, StreamBuffer};
use super::x509::{self, CertificateName};
use super::{protocol, Dissector, Parsed, Probe, Segment, Skip};
use crate::facts::{FlowFacts, Ja4, Md5Digest, Names};

mod fingerprint;
mod hello;

use fingerprint::*;
pub(super) use hello::is_doh_host;
use hello::*;
pub use hello::{is_tls_by_port_or_alpn, record_client_hello, record_server_hello, ServerAnswer, Transport};

/// Unconsumed bytes buffered per direction. A record's payload is never buffered whole before it
/// is walked, so this only has to hold the part of one record that a hello needs.
pub const STREAM_LIMIT: usize = 16 * 1024;

/// Largest handshake message (header included) we assemble; bigger hellos are given up on.
/// Real ClientHellos, even with post-quantum key shares, stay well below this.
const MAX_MESSAGE: usize = 16 * 1024;

/// RFC 8446 §5.1 (and RFC 5246 §6.2.1): a plaintext record carries at most 2^14 bytes.
const MAX_RECORD: usize = 1 << 14;

const RECORD_HEADER: usize = 5;
const MESSAGE_HEADER: usize = 4;

const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
const CONTENT_ALERT: u8 = 21;
const ALERT_FATAL: u8 = 2;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_APPLICATION_DATA: u8 = 23;

const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const HELLO_VERIFY_REQUEST: u8 = 3;
const CERTIFICATE: u8 = 11;

const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_ALPN: u16 = 16;
/// Encrypted Client Hello (draft-ietf-tls-esni, the code point browsers send since 2023).
const EXT_ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
/// RFC 9001 §8.2 quic_transport_parameters, and the code drafts before 33 used.
const EXT_QUIC_TRANSPORT_PARAMETERS: u16 = 0x39;
const EXT_QUIC_TRANSPORT_PARAMETERS_DRAFT: u16 = 0xffa5;
/// Chrome's `google_user_agent` transport parameter: the browser's user agent, in the clear.
const TP_GOOGLE_USER_AGENT: u64 = 0x3129;

/// RFC 6347 §4.1 / RFC 9147: DTLS record header (type, version, epoch, 48-bit sequence, length)
/// and handshake header (type, length, message_seq, fragment_offset, fragment_length).
const DTLS_RECORD_HEADER: usize = 13;
/// DTLS wire versions: 1.0, 1.2, 1.3 (RFC 6347 §4.1, RFC 9147 §5.3).
const DTLS_1_0: u16 = 0xfeff;
const DTLS_1_2: u16 = 0xfefd;
const DTLS_1_3: u16 = 0xfefc;
/// The pre-RFC DTLS version OpenSSL calls DTLS1_BAD_VER, still spoken by Cisco AnyConnect.
const DTLS_BAD: u16 = 0x0100;

/// RFC 8446 §4.1.3: a ServerHello carrying this random is a HelloRetryRequest, so the real
/// ServerHello is still to come.
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Per-flow TLS state: one reassembly side per direction.
#[derive(Debug)]
pub struct TlsDissector {
    sides: [Side; 2],
    /// Set once the flow is `Done` or `Skipped`; later calls repeat it.
    outcome: Option<Parsed>,
}

impl Default for TlsDissector {
    fn default() -> Self {
        TlsDissector { sides: [Side::new(), Side::new()], outcome: None }
    }
}

impl Dissector for TlsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TLS;

    /// Certain for a handshake record that opens with a ClientHello or ServerHello (over UDP
    /// also a DTLS record opening with a hello or HelloVerifyRequest). Bytes that are present
    /// must match, so a short non-TLS payload is rejected at once.
    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if segment.tcp_seq.is_none() && is_dtls(p) {
            // A datagram is whole: what is not there will not come.
            return match p.get(DTLS_RECORD_HEADER) {
                Some(&(CLIENT_HELLO | SERVER_HELLO | HELLO_VERIFY_REQUEST)) => Probe::Certain,
                _ if is_dtls_datagram(p) => Probe::Certain,
                _ => Probe::NotForUs,
            };
        }
        if segment.tcp_seq.is_none() && is_dtls_datagram(p) {
            return Probe::Certain;
        }
        if segment.tcp_seq.is_some() && is_tls_mid_session(p) {
            return Probe::Certain;
        }
        // A byte not received yet cannot disagree.
        let byte_is = |i: usize, ok: fn(u8) -> bool| p.get(i).is_none_or(|&b| ok(b));
        let shape = byte_is(0, |b| b == CONTENT_HANDSHAKE)
            && byte_is(1, |b| b == 3)
            && byte_is(2, |b| b <= 4)
            && byte_is(5, |b| b == CLIENT_HELLO || b == SERVER_HELLO);
        // The length is not zero, when it has arrived.
        let length_ok = be_u16_at(p, 3) != Some(0);
        if !(shape && length_ok) {
            Probe::NotForUs
        } else if p.len() < 6 {
            Probe::Unsure
        } else {
            Probe::Certain
        }
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if let Some(outcome) = self.outcome {
            return outcome;
        }
        let fresh = self.sides.iter().all(|s| s.walker.phase == Phase::Start);
        let index = segment.direction.index();
        let Some(side) = self.sides.get_mut(index) else {
            return Parsed::Continue;
        };
        let before = side.walker.phase;
        if before == Phase::Finished {
            // This side's hello is already read; the rest of its bytes are of no interest.
            return Parsed::Continue;
        }
        let p = segment.payload;
        let mid_session = segment.tcp_seq.is_none()
            && is_dtls_datagram(p)
            && !(is_dtls(p)
                && matches!(p.get(DTLS_RECORD_HEADER), Some(&(CLIENT_HELLO | SERVER_HELLO | HELLO_VERIFY_REQUEST))));
        if mid_session && fresh {
            // DTLS records but no hello: a session that began before the capture. It is DTLS,
            // and there is nothing more to learn.
            facts.protocol = protocol::DTLS;
            return self.finish(Parsed::Done);
        }
        if segment.tcp_seq.is_some() && fresh && is_tls_mid_session(p) {
            // The same over TCP: the flow is TLS (IMAPS on 993, …), nothing more to read.
            facts.protocol = tls_protocol(facts);
            return self.finish(Parsed::Done);
        }
        let step = match segment.tcp_seq {
            Some(seq) => side.take_segment(seq, segment.payload, facts),
            None if is_dtls(segment.payload) => side.walker.walk_dtls(segment.payload, facts),
            None => side.take_datagram(segment.payload, facts),
        };
        // After a TLS <= 1.2 ServerHello the certificate follows in the clear: its names are
        // read, but the version and cipher are already facts (actions fire on them now).
        let after_hello = side.walker.phase == Phase::Certificate;
        match step {
            Step::NeedMore if after_hello && before != Phase::Certificate => {
                if let Some(other) = self.sides.get_mut(1 - index) {
                    other.walker.phase = Phase::Finished;
                    other.release();
                }
                Parsed::Updated
            }
            Step::NeedMore => Parsed::Continue,
            Step::ClientHello => {
                side.release();
                Parsed::Updated
            }
            Step::ServerHello | Step::Certificate => self.finish(Parsed::Done),
            // Whatever follows the ServerHello (a resumed session's ChangeCipherSpec, an
            // oversized chain) only ends the certificate search.
            Step::Malformed if after_hello => self.finish(Parsed::Done),
            Step::Malformed => self.finish(Parsed::Skipped(Skip::Malformed)),
        }
    }
}

/// A TCP segment of whole TLS records after the handshake (RFC 5246 §6.2.1, RFC 8446 §5.1):
/// application data or encrypted alerts, record version 3.1–3.3, non-empty lengths
/// that tile the segment exactly. What a capture that starts mid-session shows first.
fn is_tls_mid_session(p: &[u8]) -> bool {
    const MAX_CIPHERTEXT: usize = (1 << 14) + 2048;
    let mut rest = p;
    while !rest.is_empty() {
        let (Some(&content), Some(&major), Some(&minor), Some(len)) =
            (rest.first(), rest.get(1), rest.get(2), be_len16_at(rest, 3))
        else {
            return false;
        };
        // A two-byte alert is a plaintext one (a handshake refused), not a session's.
        let header_ok = (content == CONTENT_APPLICATION_DATA || (content == CONTENT_ALERT && len > 2))
            && major == 3
            && (1..=3).contains(&minor)
            && (1..=MAX_CIPHERTEXT).contains(&len);
        match rest.get(5 + len..) {
            Some(next) if header_ok => rest = next,
            _ => return false,
        }
    }
    !p.is_empty()
}

/// A DTLS record header: handshake content and a DTLS 1.0/1.2/1.3 version.
fn is_dtls(p: &[u8]) -> bool {
    p.first() == Some(&CONTENT_HANDSHAKE) && dtls_record_version(p)
}

fn dtls_record_version(p: &[u8]) -> bool {
    be_u16_at(p, 1).is_some_and(is_dtls_version)
}

/// A datagram of whole DTLS records of any content type (ChangeCipherSpec, alert, handshake,
/// application data): what a capture that starts mid-session shows.
fn is_dtls_datagram(p: &[u8]) -> bool {
    let mut rest = p;
    while !rest.is_empty() {
        let ok = rest.first().is_some_and(|c| (20..=23).contains(c)) && dtls_record_version(rest);
        let len = be_len16_at(rest, 11);
        match len.and_then(|len| rest.get(DTLS_RECORD_HEADER + len..)) {
            Some(next) if ok => rest = next,
            _ => return false,
        }
    }
    !p.is_empty()
}

impl TlsDissector {
    fn finish(&mut self, outcome: Parsed) -> Parsed {
        for side in &mut self.sides {
            side.release();
        }
        self.outcome = Some(outcome);
        outcome
    }
}

/// Where one direction is in its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Expecting the first handshake message: a ClientHello or ServerHello.
    Start,
    /// A HelloRetryRequest was seen; the real ServerHello follows (maybe after a
    /// ChangeCipherSpec, RFC 8446 appendix D.4 middlebox compatibility).
    AfterRetry,
    /// The ServerHello of TLS <= 1.2 was read; the Certificate message is next.
    Certificate,
    /// This direction is done with (hello read, or certificate read or given up on).
    Finished,
}

/// What walking some bytes of one direction led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    NeedMore,
    ClientHello,
    /// A ServerHello after which no certificate is read (TLS 1.3).
    ServerHello,
    /// The certificate was read, or the message after the ServerHello was not one.
    Certificate,
    Malformed,
}

/// One direction: reassembled bytes and the record walker that reads them.
#[derive(Debug)]
struct Side {
    stream: StreamBuffer,
    walker: Walker,
}

impl Side {
    const fn new() -> Self {
        Side {
            stream: StreamBuffer::new(STREAM_LIMIT),
            walker: Walker { phase: Phase::Start, record_left: 0, record_type: 0, pending: Vec::new() },
        }
    }

    fn take_segment(&mut self, seq: u32, payload: &[u8], facts: &mut FlowFacts) -> Step {
        loop {
            let push = self.stream.push(seq, payload);
            if matches!(push, Push::Gap | Push::Stale) {
                // A gap waits for TCP to resend the missing bytes; the registry's packet limit
                // bounds how long.
                return Step::NeedMore;
            }
            let (used, step) = self.walker.walk(self.stream.data(), facts);
            self.stream.consume(used);
            if step != Step::NeedMore {
                return step;
            }
            if self.stream.is_full() {
                return Step::Malformed;
            }
            if push != Push::Full {
                return Step::NeedMore;
            }
            // Room was made: pushing the same segment again takes the bytes that did not fit.
        }
    }

    /// Without TCP sequence numbers each payload is read on its own, as a whole datagram.
    fn take_datagram(&mut self, payload: &[u8], facts: &mut FlowFacts) -> Step {
        let (_, step) = self.walker.walk(payload, facts);
        self.walker.record_left = 0;
        self.walker.pending.clear();
        step
    }

    fn release(&mut self) {
        self.stream.release();
        self.walker.pending = Vec::new();
    }
}

/// Walks TLS records and the handshake messages inside them, keeping its place between calls.
#[derive(Debug)]
struct Walker {
    phase: Phase,
    /// Payload bytes of the current record not yet walked; 0 between records.
    record_left: usize,
    record_type: u8,
    /// The start of a handshake message that continues in the next record; usually empty.
    pending: Vec<u8>,
}

impl Walker {
    /// Walk as far as `data` allows. Returns how many bytes of `data` are done with (the caller
    /// drops them) and whether a hello was read. Bytes not used are offered again next time.
    fn walk(&mut self, data: &[u8], facts: &mut FlowFacts) -> (usize, Step) {
        let mut pos = 0;
        loop {
            if self.record_left == 0 {
                let Some(header) = data.get(pos..pos + RECORD_HEADER) else {
                    return (pos, Step::NeedMore);
                };
                if !self.open_record(header) {
                    return (pos, Step::Malformed);
                }
                pos += RECORD_HEADER;
            }
            let rest = data.get(pos..).unwrap_or_default();
            let avail = rest.len().min(self.record_left);
            if avail == 0 {
                return (pos, Step::NeedMore);
            }
            let chunk = rest.get(..avail).unwrap_or_default();
            let record_ends = avail == self.record_left;
            let (used, step) = if self.record_type == CONTENT_HANDSHAKE {
                self.feed_handshake(chunk, record_ends, facts)
            } else if self.record_type == CONTENT_ALERT && self.record_left == 2 && chunk.first() == Some(&ALERT_FATAL)
            {
                (avail, Step::Malformed) // a fatal alert ends the handshake
            } else {
                // A warning alert before the hello, or a ChangeCipherSpec after a
                // HelloRetryRequest: skip it.
                (avail, Step::NeedMore)
            };
            pos += used;
            self.record_left -= used;
            if step != Step::NeedMore || used < avail {
                return (pos, step);
            }
        }
    }

    /// Check a record header and start walking its payload. False: not TLS we can read.
    fn open_record(&mut self, header: &[u8]) -> bool {
        let mut r = Reader::new(header);
        let (Some(content), Some(version), Some(length)) = (r.u8(), r.u16(), r.u16()) else {
            return false;
        };
        let length = usize::from(length);
        let content_ok = match content {
            CONTENT_HANDSHAKE => true,
            // A message split across records must continue in the very next record.
            CONTENT_CHANGE_CIPHER_SPEC => self.phase == Phase::AfterRetry && self.pending.is_empty(),
            // Servers send a warning alert (e.g. unrecognized_name) before their ServerHello;
            // nDPI's corpus has such flows (http_ipv6.pcap). Alerts are two bytes.
            CONTENT_ALERT => self.pending.is_empty() && self.phase != Phase::Finished && length == 2,
            _ => false,
        };
        if !content_ok || version >> 8 != 3 || version & 0xff > 4 || length == 0 || length > MAX_RECORD {
            return false;
        }
        self.record_type = content;
        self.record_left = length;
        true
    }

    /// Walk handshake bytes from one record. `record_ends`: the chunk is the record's last
    /// part, so a message cut at its end continues in the next record rather than the next
    /// segment.
    fn feed_handshake(&mut self, chunk: &[u8], record_ends: bool, facts: &mut FlowFacts) -> (usize, Step) {
        let mut pos = 0;
        loop {
            let rest = chunk.get(pos..).unwrap_or_default();
            if self.pending.is_empty() {
                // Usual case: the message lies whole in this record and is read in place.
                match split_message(rest) {
                    Message::Complete { kind, body } => {
                        pos += MESSAGE_HEADER + body.len();
                        let step = on_message(&mut self.phase, kind, body, Transport::Tcp, facts);
                        if step != Step::NeedMore {
                            return (pos, step);
                        }
                    }
                    Message::TooLarge => return (pos, Step::Malformed),
                    Message::Partial if !record_ends || rest.is_empty() => {
                        // The rest of the message is in a later segment: leave these bytes in
                        // the stream buffer and read them again once it arrives.
                        return (pos, Step::NeedMore);
                    }
                    Message::Partial => {
                        self.pending.extend_from_slice(rest);
                        return (chunk.len(), Step::NeedMore);
                    }
                }
            } else {
                // A message spanning records: copy just the bytes it still lacks.
                let lacking = match message_need(&self.pending) {
                    Ok((_, want)) => MESSAGE_HEADER + want,
                    Err(at_least) => at_least,
                }
                .saturating_sub(self.pending.len());
                let take = lacking.min(rest.len());
                self.pending.extend_from_slice(rest.get(..take).unwrap_or_default());
                pos += take;
                match split_message(&self.pending) {
                    Message::Complete { kind, body } => {
                        let step = on_message(&mut self.phase, kind, body, Transport::Tcp, facts);
                        self.pending.clear();
                        if step != Step::NeedMore {
                            return (pos, step);
                        }
                    }
                    Message::TooLarge => return (pos, Step::Malformed),
                    Message::Partial if pos < chunk.len() => {} // header just completed
                    Message::Partial => return (pos, Step::NeedMore),
                }
            }
        }
    }
}

/// Act on one complete handshake message (for a Certificate, its part up to the leaf).
fn on_message(phase: &mut Phase, kind: u8, body: &[u8], transport: Transport, facts: &mut FlowFacts) -> Step {
    let dtls = transport == Transport::Dtls;
    match (kind, *phase) {
        (CLIENT_HELLO, Phase::Start) => match ClientHello::parse(body, dtls) {
            Some(hello) => {
                hello.record(facts, transport);
                *phase = Phase::Finished;
                Step::ClientHello
            }
            None => Step::Malformed,
        },
        // RFC 6347 §4.2.1: the server asks the client to repeat its hello with a cookie.
        (HELLO_VERIFY_REQUEST, Phase::Start) if dtls => Step::NeedMore,
        (SERVER_HELLO, Phase::Start | Phase::AfterRetry) => {
            match record_server_hello(body, transport, *phase == Phase::AfterRetry, facts) {
                Some(ServerAnswer::RetryRequest) => {
                    *phase = Phase::AfterRetry;
                    Step::NeedMore
                }
                Some(ServerAnswer::Hello { certificate_follows: true }) => {
                    *phase = Phase::Certificate;
                    Step::NeedMore
                }
                Some(ServerAnswer::Hello { certificate_follows: false }) => {
                    *phase = Phase::Finished;
                    Step::ServerHello
                }
                None => Step::Malformed,
            }
        }
        (CERTIFICATE, Phase::Certificate) => {
            record_certificate(body, facts);
            *phase = Phase::Finished;
            Step::Certificate
        }
        // Anonymous key exchange or a resumed session: no certificate to read.
        (_, Phase::Certificate) => {
            *phase = Phase::Finished;
            Step::Certificate
        }
        _ => Step::Malformed,
    }
}

enum Message<'a> {
    Complete {
        kind: u8,
        body: &'a [u8],
    },
    /// More bytes are needed.
    Partial,
    /// The declared length is beyond what we assemble.
    TooLarge,
}

/// The type of a handshake message and how many body bytes of it we read: all of them, except
/// for a Certificate, of which only the list header and the leaf certificate are needed.
/// `Err(n)`: at least `n` bytes (header included) are needed to tell.
fn message_need(bytes: &[u8]) -> Result<(u8, usize), usize> {
    let mut r = Reader::new(bytes);
    let (Some(kind), Some(len)) = (r.u8(), r.u24()) else {
        return Err(MESSAGE_HEADER);
    };
    if kind != CERTIFICATE || len < 6 {
        return Ok((kind, len));
    }
    // RFC 5246 §7.4.2: certificate_list<0..2^24-1>, each ASN.1Cert<1..2^24-1>; sender's first.
    let (Some(_list), Some(leaf)) = (r.u24(), r.u24()) else {
        return Err(MESSAGE_HEADER + 6);
    };
    Ok((kind, len.min(leaf.saturating_add(6))))
}

fn split_message(bytes: &[u8]) -> Message<'_> {
    match message_need(bytes) {
        Err(_) => Message::Partial,
        Ok((_, want)) if want > MAX_MESSAGE - MESSAGE_HEADER => Message::TooLarge,
        Ok((kind, want)) => match bytes.get(MESSAGE_HEADER..MESSAGE_HEADER + want) {
            Some(body) => Message::Complete { kind, body },
            None => Message::Partial,
        },
    }
}

impl Walker {
    /// Walk one DTLS datagram (RFC 6347 §4.1, §4.2.2): whole records, each carrying whole
    /// handshake messages or fragments of them. Only first fragments are read: hellos fit one
    /// datagram, and a certificate is read when its leaf is in the first fragment.
    fn walk_dtls(&mut self, data: &[u8], facts: &mut FlowFacts) -> Step {
        let mut r = Reader::new(data);
        while !r.is_empty() {
            let (Some(content), Some(version), Some(_epoch_sequence), Some(fragment)) =
                (r.u8(), r.u16(), r.take(8), r.vec16())
            else {
                return Step::Malformed;
            };
            if !is_dtls_version(version) {
                return Step::Malformed;
            }
            if content != CONTENT_HANDSHAKE {
                if self.phase == Phase::Certificate {
                    self.phase = Phase::Finished;
                    return Step::Certificate;
                }
                if content == CONTENT_ALERT && fragment.first() == Some(&ALERT_FATAL) {
                    return Step::Malformed;
                }
                continue;
            }
            let mut m = Reader::new(fragment);
            while !m.is_empty() {
                let (Some(kind), Some(len), Some(_message_seq), Some(offset), Some(body)) =
                    (m.u8(), m.u24(), m.u16(), m.u24(), m.vec24())
                else {
                    return Step::Malformed;
                };
                let whole = offset == 0 && body.len() == len;
                let step = match kind {
                    CERTIFICATE if self.phase == Phase::Certificate && !whole => {
                        self.dtls_certificate_fragment(len, offset, body, facts)
                    }
                    _ if !whole => Step::NeedMore,
                    _ => on_message(&mut self.phase, kind, body, Transport::Dtls, facts),
                };
                if step != Step::NeedMore {
                    return step;
                }
            }
        }
        Step::NeedMore
    }

    /// A fragment of a DTLS Certificate message (length `len`): fragments are appended in order
    /// (repeats and gaps wait) until the leaf certificate is all there, within `MAX_MESSAGE`.
    fn dtls_certificate_fragment(&mut self, len: usize, offset: usize, body: &[u8], facts: &mut FlowFacts) -> Step {
        if offset != self.pending.len() || offset + body.len() > MAX_MESSAGE {
            return Step::NeedMore;
        }
        self.pending.extend_from_slice(body);
        let mut r = Reader::new(&self.pending);
        let need = match (r.u24(), r.u24()) {
            (Some(_list), Some(leaf)) => len.min(leaf.saturating_add(6)),
            _ => len.min(6),
        };
        if self.pending.len() < need {
            return Step::NeedMore;
        }
        let step = on_message(&mut self.phase, CERTIFICATE, &self.pending, Transport::Dtls, facts);
        self.pending = Vec::new();
        step
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::facts::Direction::{self, Forward, Reverse};
    use crate::facts::TlsFacts;
    use proptest::prelude::*;

    #[test]
    fn push_decimal_writes_what_display_writes() {
        let mut s = String::new();
        for v in 0..=u16::MAX {
            s.clear();
            push_decimal(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    // ---- a small builder for hello messages and records ----

    fn len8(body: &[u8]) -> Vec<u8> {
        let mut v = vec![u8::try_from(body.len()).unwrap()];
        v.extend_from_slice(body);
        v
    }

    fn len16(body: &[u8]) -> Vec<u8> {
        let mut v = u16::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    fn extension(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut v = kind.to_be_bytes().to_vec();
        v.extend(len16(data));
        v
    }

    fn sni(host: &[u8]) -> Vec<u8> {
        let mut entry = vec![0u8];
        entry.extend(len16(host));
        extension(EXT_SERVER_NAME, &len16(&entry))
    }

    fn alpn(names: &[&str]) -> Vec<u8> {
        let list: Vec<u8> = names.iter().flat_map(|n| len8(n.as_bytes())).collect();
        extension(EXT_ALPN, &len16(&list))
    }

    fn offered_versions(versions: &[u16]) -> Vec<u8> {
        let list: Vec<u8> = versions.iter().flat_map(|v| v.to_be_bytes()).collect();
        extension(EXT_SUPPORTED_VERSIONS, &len8(&list))
    }

    fn selected_version(version: u16) -> Vec<u8> {
        extension(EXT_SUPPORTED_VERSIONS, &version.to_be_bytes())
    }

    /// A handshake message: type, 24-bit length, body.
    fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![kind];
        v.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
        v.extend_from_slice(body);
        v
    }

    /// `extensions: None` leaves the extensions block out, as SSL 3.0 does.
    fn client_hello_body(version: u16, extensions: Option<&[Vec<u8>]>) -> Vec<u8> {
        let mut v = version.to_be_bytes().to_vec();
        v.extend([0x11; 32]);
        v.extend(len8(&[0x22; 32]));
        v.extend(len16(&[0x13, 0x01, 0xc0, 0x2f, 0x00, 0x2f]));
        v.extend(len8(&[0]));
        if let Some(exts) = extensions {
            v.extend(len16(&exts.concat()));
        }
        v
    }

    fn client_hello(version: u16, extensions: Option<&[Vec<u8>]>) -> Vec<u8> {
        handshake(CLIENT_HELLO, &client_hello_body(version, extensions))
    }

    fn server_hello(version: u16, random: [u8; 32], cipher: u16, extensions: Option<&[Vec<u8>]>) -> Vec<u8> {
        let mut v = version.to_be_bytes().to_vec();
        v.extend(random);
        v.extend(len8(&[0x33; 32]));
        v.extend(cipher.to_be_bytes());
        v.push(0);
        if let Some(exts) = extensions {
            v.extend(len16(&exts.concat()));
        }
        handshake(SERVER_HELLO, &v)
    }

    #[test]
    fn encrypted_client_hello_is_recorded_only_when_offered() {
        let on_port =
            |port: u16| FlowFacts { ip_protocol: 6, local_port: 50000, other_port: port, ..FlowFacts::default() };
        let (mut d, mut f) = (TlsDissector::default(), on_port(443));
        let outer = [sni(b"public.example.com"), extension(EXT_ENCRYPTED_CLIENT_HELLO, &[0, 0, 1, 0, 1, 7, 0, 0])];
        feed(&mut d, &mut f, Forward, &record(&client_hello(0x0303, Some(&outer))));
        assert!(f.tls.ech(), "the outer hello carries encrypted_client_hello");
        assert_eq!(f.tls.sni(), Some("public.example.com"), "the outer SNI is the one in the clear");

        let (mut d, mut f) = (TlsDissector::default(), on_port(443));
        feed(&mut d, &mut f, Forward, &record(&client_hello(0x0303, Some(&[sni(b"public.example.com")]))));
        assert!(!f.tls.ech());
    }

    /// `bytes` cut into records of `content` type carrying at most `fragment` bytes each.
    fn records(content: u8, version: u16, bytes: &[u8], fragment: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for part in bytes.chunks(fragment) {
            v.push(content);
            v.extend(version.to_be_bytes());
            v.extend(len16(part));
        }
        v
    }

    fn record(bytes: &[u8]) -> Vec<u8> {
        records(CONTENT_HANDSHAKE, 0x0301, bytes, MAX_RECORD)
    }

    const GREASE: u16 = 0x3a3a;

    /// A browser-like ClientHello stream: SNI, ALPN, TLS 1.3 offered, GREASE and padding.
    pub(crate) fn modern_client_stream() -> Vec<u8> {
        record(&client_hello(
            0x0303,
            Some(&[
                extension(0x0a0a, &[]),
                sni(b"www.example.com"),
                alpn(&["h2", "http/1.1"]),
                offered_versions(&[GREASE, 0x0304, 0x0303]),
                extension(0x0015, &[0; 120]),
            ]),
        ))
    }

    fn tls13_server_stream() -> Vec<u8> {
        record(&server_hello(0x0303, [0x44; 32], 0x1301, Some(&[selected_version(0x0304), alpn(&["h2"])])))
    }

    fn segment(direction: Direction, seq: Option<u32>, payload: &[u8]) -> Segment<'_> {
        Segment { direction, tcp_seq: seq, payload }
    }

    /// Feed `stream` as TCP segments cut at `cuts` (sorted offsets); the last result.
    fn feed_cut(
        d: &mut TlsDissector,
        f: &mut FlowFacts,
        dir: Direction,
        isn: u32,
        stream: &[u8],
        cuts: &[usize],
    ) -> Parsed {
        let mut bounds = vec![0];
        bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < stream.len()));
        bounds.push(stream.len());
        let mut last = Parsed::Continue;
        for w in bounds.windows(2) {
            let seq = isn.wrapping_add(w[0] as u32);
            last = d.parse(&segment(dir, Some(seq), &stream[w[0]..w[1]]), f);
        }
        last
    }

    fn feed(d: &mut TlsDissector, f: &mut FlowFacts, dir: Direction, stream: &[u8]) -> Parsed {
        feed_cut(d, f, dir, 1000, stream, &[])
    }

    fn learned_nothing(f: &FlowFacts) -> bool {
        f.tls == TlsFacts::default() && f.protocol == protocol::UNKNOWN && f.detected_hostname().is_none()
    }

    fn assert_modern_client(f: &FlowFacts) {
        assert_eq!(f.protocol, protocol::TLS);
        assert_eq!(f.tls.client_version, 0x0304);
        assert_eq!(f.tls.sni(), Some("www.example.com"));
        assert_eq!(f.detected_hostname(), Some("www.example.com"));
        let alpn: Vec<&str> = f.tls.alpn().iter().collect();
        assert_eq!(alpn, ["h2", "http/1.1"]);
    }

    // ---- probe ----

    #[test]
    fn probe_recognises_hellos_only() {
        let probe = |p: &[u8]| TlsDissector::probe(&segment(Forward, Some(1), p));
        assert_eq!(probe(&modern_client_stream()), Probe::Certain);
        assert_eq!(probe(&tls13_server_stream()), Probe::Certain);
        assert_eq!(probe(&[0x16, 0x03, 0x00, 0x00, 0x30, 0x01]), Probe::Certain);
        assert_eq!(probe(&[]), Probe::Unsure);
        assert_eq!(probe(&[0x16, 0x03, 0x01, 0x02]), Probe::Unsure);
        assert_eq!(probe(b"GET / HTTP/1.1\r\n"), Probe::NotForUs);
        assert_eq!(probe(b"GE"), Probe::NotForUs);
        assert_eq!(probe(&[0x17, 0x03, 0x03, 0x00, 0x20, 0x01]), Probe::NotForUs, "application data");
        assert_eq!(probe(&[0x16, 0x03, 0x05, 0x00, 0x20, 0x01]), Probe::NotForUs, "unknown version");
        assert_eq!(probe(&[0x16, 0x02, 0x00, 0x00, 0x20, 0x01]), Probe::NotForUs);
        assert_eq!(probe(&[0x16, 0x03, 0x03, 0x00, 0x00, 0x01]), Probe::NotForUs, "empty record");
        assert_eq!(probe(&[0x16, 0x03, 0x03, 0x00, 0x20, 0x0b]), Probe::NotForUs, "certificate first");
    }

    #[test]
    fn tls_is_named_by_port_then_by_the_servers_alpn_as_netifyd_names_it() {
        let on_port =
            |port: u16| FlowFacts { ip_protocol: 6, local_port: 50000, other_port: port, ..FlowFacts::default() };
        let server = |alpns: &[&str]| record(&server_hello(0x0303, [0x44; 32], 0x1301, Some(&[alpn(alpns)])));
        let (mut d, mut f) = (TlsDissector::default(), on_port(443));
        feed(&mut d, &mut f, Forward, &modern_client_stream());
        assert_eq!(f.protocol, protocol::HTTPS, "443 at the ClientHello");
        feed(&mut d, &mut f, Reverse, &tls13_server_stream());
        assert_eq!(f.protocol, protocol::HTTPS, "h2 chosen");

        let (mut d, mut f) = (TlsDissector::default(), on_port(443));
        feed(&mut d, &mut f, Forward, &record(&client_hello(0x0303, Some(&[sni(b"mail.example.com")]))));
        assert_eq!(f.protocol, protocol::HTTPS, "no ALPN: 443 is HTTP/S all the same");

        let (mut d, mut f) = (TlsDissector::default(), on_port(8443));
        feed(&mut d, &mut f, Forward, &modern_client_stream());
        assert_eq!(f.protocol, protocol::TLS, "another port is TLS, whatever the client offers");
        feed(&mut d, &mut f, Reverse, &tls13_server_stream());
        assert_eq!(f.protocol, protocol::HTTPS, "until the server chooses h2");

        let (mut d, mut f) = (TlsDissector::default(), on_port(443));
        feed(&mut d, &mut f, Forward, &record(&client_hello(0x0303, Some(&[alpn(&["imap"])]))));
        feed(&mut d, &mut f, Reverse, &server(&["imap"]));
        assert_eq!(f.protocol, protocol::IMAPS, "the server's ALPN refines the port's name");

        for (port, name) in [(993, "IMAP/S"), (587, "SMTP/S"), (8883, "MQTT/S"), (6697, "IRC/S"), (5061, "SIP/S")] {
            let (mut d, mut f) = (TlsDissector::default(), on_port(port));
            feed(&mut d, &mut f, Forward, &modern_client_stream());
            assert_eq!(protocol::name_of(f.protocol), name, "port {port}");
        }
        let (mut d, mut f) = (TlsDissector::default(), on_port(5000));
        feed(&mut d, &mut f, Forward, &record(&client_hello(0x0303, Some(&[alpn(&["xmpp-client"])]))));
        feed(&mut d, &mut f, Reverse, &server(&["xmpp-client"]));
        assert_eq!(protocol::name_of(f.protocol), "XMPP/S");
        let (mut d, mut f) = (TlsDissector::default(), on_port(5000));
        feed(&mut d, &mut f, Forward, &record(&client_hello(0x0303, Some(&[alpn(&["x-unknown"])]))));
        feed(&mut d, &mut f, Reverse, &server(&["x-unknown"]));
        assert_eq!(f.protocol, protocol::TLS, "an ALPN netifyd does not list");
    }

    // ---- versions ----

    #[test]
    fn tls11_server_hello() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let stream = records(CONTENT_HANDSHAKE, 0x0302, &server_hello(0x0302, [7; 32], 0x002f, Some(&[])), MAX_RECORD);
        // Facts at the ServerHello; the certificate is still to come.
        assert_eq!(feed(&mut d, &mut f, Reverse, &stream), Parsed::Updated);
        assert_eq!(f.tls.version, 0x0302);
        assert_eq!(f.tls.cipher, 0x002f);
        assert_eq!(f.protocol, protocol::TLS);
    }

    #[test]
    fn tls13_through_supported_versions() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Forward, &modern_client_stream()), Parsed::Updated);
        assert_modern_client(&f);
        assert_eq!(feed(&mut d, &mut f, Reverse, &tls13_server_stream()), Parsed::Done);
        assert_eq!(f.tls.version, 0x0304);
        assert_eq!(f.tls.cipher, 0x1301);
        assert_eq!(f.tls.alpn_negotiated(), Some("h2"));
        // Finished for good: more segments change nothing.
        assert_eq!(d.parse(&segment(Forward, Some(5000), b"junk"), &mut f), Parsed::Done);
    }

    #[test]
    fn every_version_from_ssl3_to_tls13() {
        for version in [0x0300, 0x0301, 0x0302, 0x0303] {
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            // SSL 3.0 sends no extensions block at all.
            let exts: Option<&[Vec<u8>]> = if version == 0x0300 { None } else { Some(&[]) };
            let client = records(CONTENT_HANDSHAKE, version, &client_hello(version, exts), MAX_RECORD);
            assert_eq!(feed(&mut d, &mut f, Forward, &client), Parsed::Updated, "{version:#06x}");
            assert_eq!(f.tls.client_version, version);
            assert_eq!(f.tls.sni(), None);
            assert!(f.tls.alpn().is_empty());
            let server = records(CONTENT_HANDSHAKE, version, &server_hello(version, [9; 32], 0x000a, exts), MAX_RECORD);
            assert_eq!(feed(&mut d, &mut f, Reverse, &server), Parsed::Updated, "{version:#06x}");
            assert_eq!(f.tls.version, version);
            assert_eq!(f.tls.cipher, 0x000a);
        }
    }

    #[test]
    fn grease_is_ignored() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let client = record(&client_hello(0x0303, Some(&[offered_versions(&[0xfafa, 0x0a0a])])));
        assert_eq!(feed(&mut d, &mut f, Forward, &client), Parsed::Updated);
        assert_eq!(f.tls.client_version, 0x0303, "only GREASE offered: legacy version stands");
        let server = record(&server_hello(0x0303, [1; 32], 0x1301, Some(&[selected_version(0x2a2a)])));
        assert_eq!(feed(&mut d, &mut f, Reverse, &server), Parsed::Updated);
        assert_eq!(f.tls.version, 0x0303);
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && !is_grease(0x1a2a) && !is_grease(0x0303));
    }

    // ---- SNI and ALPN ----

    #[test]
    fn sni_does_not_replace_a_known_hostname() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        f.set_detected_hostname("from-dns.example");
        feed(&mut d, &mut f, Forward, &modern_client_stream());
        assert_eq!(f.tls.sni(), Some("www.example.com"));
        assert_eq!(f.detected_hostname(), Some("from-dns.example"));
    }

    #[test]
    fn unprintable_names_are_not_stored() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let client = record(&client_hello(0x0303, Some(&[sni(b"bad\x01name"), alpn(&["h2", "\u{7}", "spdy/3"])])));
        assert_eq!(feed(&mut d, &mut f, Forward, &client), Parsed::Updated);
        assert_eq!(f.tls.sni(), None);
        assert_eq!(f.detected_hostname(), None);
        assert_eq!(f.tls.alpn().iter().collect::<Vec<_>>(), ["h2", "spdy/3"]);

        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let client = record(&client_hello(0x0303, Some(&[sni(&[0xff, 0xfe, b'a'])])));
        assert_eq!(feed(&mut d, &mut f, Forward, &client), Parsed::Updated);
        assert_eq!(f.tls.sni(), None, "not UTF-8");
        assert_eq!(f.tls.client_version, 0x0303);
    }

    #[test]
    fn utf8_sni_is_stored_as_sent() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let client = record(&client_hello(0x0303, Some(&[sni("Bücher.Example".as_bytes())])));
        feed(&mut d, &mut f, Forward, &client);
        assert_eq!(f.tls.sni(), Some("Bücher.Example"));
    }

    #[test]
    fn server_alpn_must_name_one_protocol() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let server = record(&server_hello(0x0303, [1; 32], 0xc02f, Some(&[alpn(&["h2", "http/1.1"])])));
        assert_eq!(feed(&mut d, &mut f, Reverse, &server), Parsed::Skipped(Skip::Malformed));
        assert!(learned_nothing(&f));
    }

    // ---- reassembly ----

    #[test]
    fn client_hello_in_two_and_three_segments() {
        let stream = modern_client_stream();
        for cut in 0..stream.len() {
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            let head = feed_cut(&mut d, &mut f, Forward, 77, &stream[..cut], &[]);
            assert_eq!(head, Parsed::Continue, "cut at {cut}");
            assert!(learned_nothing(&f), "cut at {cut}");
            let tail = d.parse(&segment(Forward, Some(77 + cut as u32), &stream[cut..]), &mut f);
            assert_eq!(tail, Parsed::Updated, "cut at {cut}");
            assert_modern_client(&f);
        }
        for first in (1..stream.len()).step_by(5) {
            for second in (first..stream.len()).step_by(11) {
                let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
                let last = feed_cut(&mut d, &mut f, Forward, u32::MAX - 40, &stream, &[first, second]);
                assert_eq!(last, Parsed::Updated, "cuts at {first}, {second}");
                assert_modern_client(&f);
            }
        }
    }

    #[test]
    fn client_hello_across_records() {
        let hello = client_hello(
            0x0303,
            Some(&[sni(b"www.example.com"), alpn(&["h2", "http/1.1"]), offered_versions(&[0x0304])]),
        );
        // Two records, then one record per byte (header of the message split too).
        for fragment in [hello.len() / 2 + 1, 3, 1] {
            let stream = records(CONTENT_HANDSHAKE, 0x0301, &hello, fragment);
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            assert_eq!(feed(&mut d, &mut f, Forward, &stream), Parsed::Updated, "fragment {fragment}");
            assert_modern_client(&f);
            assert_eq!(
                feed_cut(&mut TlsDissector::default(), &mut FlowFacts::default(), Forward, 5, &stream, &[7, 200]),
                Parsed::Updated
            );
        }
        // Two records, cut into two segments at every offset.
        let stream = records(CONTENT_HANDSHAKE, 0x0301, &hello, 100);
        for cut in 1..stream.len() {
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            assert_eq!(feed_cut(&mut d, &mut f, Forward, 0, &stream, &[cut]), Parsed::Updated, "cut at {cut}");
            assert_modern_client(&f);
        }
    }

    #[test]
    fn prefix_of_a_split_hello_learns_nothing() {
        let hello = client_hello(0x0303, Some(&[sni(b"www.example.com")]));
        let stream = records(CONTENT_HANDSHAKE, 0x0301, &hello, 40);
        for cut in 0..stream.len() {
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            assert_eq!(feed(&mut d, &mut f, Forward, &stream[..cut]), Parsed::Continue, "cut at {cut}");
            assert!(learned_nothing(&f));
        }
    }

    #[test]
    fn retransmissions_are_skipped() {
        let stream = modern_client_stream();
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let seg = |from: usize, to: usize| segment(Forward, Some(9000 + from as u32), &stream[from..to]);
        assert_eq!(d.parse(&seg(0, 100), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&seg(0, 100), &mut f), Parsed::Continue, "exact copy");
        assert_eq!(d.parse(&seg(50, 90), &mut f), Parsed::Continue, "inside what was seen");
        assert_eq!(d.parse(&seg(60, 200), &mut f), Parsed::Continue, "overlap plus new bytes");
        assert!(learned_nothing(&f));
        assert_eq!(d.parse(&seg(150, stream.len()), &mut f), Parsed::Updated);
        assert_modern_client(&f);
        assert_eq!(d.parse(&seg(0, stream.len()), &mut f), Parsed::Continue, "the client side is done");
    }

    #[test]
    fn gap_waits_for_the_missing_bytes() {
        let stream = modern_client_stream();
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let seg = |from: usize, to: usize| {
            segment(Forward, Some((u32::MAX - 10).wrapping_add(from as u32)), &stream[from..to])
        };
        assert_eq!(d.parse(&seg(0, 60), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&seg(120, stream.len()), &mut f), Parsed::Continue, "future segment");
        assert!(learned_nothing(&f));
        assert_eq!(d.parse(&seg(60, 120), &mut f), Parsed::Continue, "hole filled, tail not kept");
        assert_eq!(d.parse(&seg(120, stream.len()), &mut f), Parsed::Updated, "tail resent");
        assert_modern_client(&f);
    }

    #[test]
    fn server_hello_at_the_start_of_a_huge_record() {
        // ServerHello, Certificate and more coalesced into one full record, sent in one large
        // (GRO-sized) segment followed by the next record: more than the buffer limit.
        let mut messages = server_hello(0x0303, [5; 32], 0xc030, Some(&[]));
        messages.extend(handshake(11, &vec![0xab; MAX_RECORD - messages.len() - 4]));
        let mut stream = records(CONTENT_HANDSHAKE, 0x0303, &messages, MAX_RECORD);
        stream.extend(records(CONTENT_HANDSHAKE, 0x0303, &[14, 0, 0, 0], MAX_RECORD));
        assert!(stream.len() > STREAM_LIMIT);
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Reverse, &stream), Parsed::Done);
        assert_eq!((f.tls.version, f.tls.cipher), (0x0303, 0xc030));
    }

    #[test]
    fn segment_larger_than_the_buffer_is_taken_in_turns() {
        // The real ServerHello sits beyond the first STREAM_LIMIT bytes of one segment: the
        // buffer must be drained and the same segment pushed again.
        let hrr = server_hello(0x0303, HELLO_RETRY_RANDOM, 0x1301, Some(&[selected_version(0x0304)]));
        let mut stream = record(&hrr);
        for _ in 0..20 {
            stream.extend(records(CONTENT_CHANGE_CIPHER_SPEC, 0x0303, &[1; 1000], MAX_RECORD));
        }
        stream.extend(tls13_server_stream());
        assert!(stream.len() > STREAM_LIMIT + 1000);
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Reverse, &stream), Parsed::Done);
        assert_eq!(f.tls.version, 0x0304);
    }

    #[test]
    fn oversized_hello_is_skipped() {
        // Declared far too large: given up on at once.
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let stream = record(&[CLIENT_HELLO, 0x10, 0x00, 0x00, 0x03, 0x03]);
        assert_eq!(feed(&mut d, &mut f, Forward, &stream), Parsed::Skipped(Skip::Malformed));
        // Over the limit for real, spread over several records and segments.
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let hello = client_hello(0x0303, Some(&[sni(b"a.example"), extension(0x0015, &vec![0; MAX_MESSAGE])]));
        let stream = records(CONTENT_HANDSHAKE, 0x0301, &hello, 4000);
        let last = feed_cut(&mut d, &mut f, Forward, 3, &stream, &[1000, 9000, 15000]);
        assert_eq!(last, Parsed::Skipped(Skip::Malformed));
        assert!(learned_nothing(&f));
    }

    // ---- HelloRetryRequest ----

    #[test]
    fn hello_retry_request_is_not_final() {
        let hrr = record(&server_hello(0x0303, HELLO_RETRY_RANDOM, 0x1301, Some(&[selected_version(0x0304)])));
        let ccs = records(CONTENT_CHANGE_CIPHER_SPEC, 0x0303, &[1], MAX_RECORD);
        let real = tls13_server_stream();

        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Reverse, &hrr), Parsed::Continue);
        // Its version, cipher and JA3S are known already (a flow may end here).
        assert_eq!((f.tls.version, f.tls.cipher), (0x0304, 0x1301));
        let hrr_ja3s = md5(b"771,4865,43");
        assert_eq!(f.tls.ja3s(), Some(hrr_ja3s));
        let seq = 1000 + hrr.len() as u32;
        assert_eq!(d.parse(&segment(Reverse, Some(seq), &ccs), &mut f), Parsed::Continue);
        let seq = seq + ccs.len() as u32;
        assert_eq!(d.parse(&segment(Reverse, Some(seq), &real), &mut f), Parsed::Done);
        assert_eq!(f.tls.version, 0x0304);
        assert_eq!(f.tls.alpn_negotiated(), Some("h2"));
        // JA3S stays the first answer's, pairing with the first ClientHello's JA3.
        assert_eq!(f.tls.ja3s(), Some(hrr_ja3s));

        // All in one segment.
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Reverse, &[hrr.clone(), ccs.clone(), real.clone()].concat()), Parsed::Done);
        assert_eq!(f.tls.version, 0x0304);

        // A second HelloRetryRequest is a protocol error.
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Reverse, &[hrr.clone(), hrr].concat()), Parsed::Skipped(Skip::Malformed));
    }

    #[test]
    fn hello_retry_request_from_a_capture() {
        // nDPI's steam.pcapng, flow 2: the server's HelloRetryRequest (with a ChangeCipherSpec)
        // then its ServerHello. nDPI reports the HelloRetryRequest's JA3S (43-51), not the
        // ServerHello's (51-43).
        let hrr = crate::dissect::testing::hex(concat!(
            "1603030058020000540303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c",
            "20d4c71c877b1c51a69bcf2d25eadb4b73770bc01cc6ec54f2007be88ce7c26539130200000c002b0002",
            "0304003300020017140303000101"
        ));
        let sh = crate::dissect::testing::hex(concat!(
            "160303009b020000970303eedb81cf13fcbf9d8733e4cdb16235f9a29b7eb5b6a63bd678db6039fede74fe",
            "20d4c71c877b1c51a69bcf2d25eadb4b73770bc01cc6ec54f2007be88ce7c26539130200004f00330045",
            "00170041042181802aa893f858a60de6e8945088fe39e0722006dcd98d60e69610e9c95891cb5cccfbb4",
            "68c81b6471fc58563056e864b8aa121ad39e22eb102651d3397769002b00020304"
        ));
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Reverse, &hrr), Parsed::Continue);
        assert_eq!(crate::dissect::cipher_suites::cipher_name(f.tls.cipher), Some("TLS_AES_256_GCM_SHA384"));
        assert_eq!(f.tls.ja3s().unwrap().to_string(), "15af977ce25de452b96affa2addb1036");
        let seq = 1000 + hrr.len() as u32;
        assert_eq!(d.parse(&segment(Reverse, Some(seq), &sh), &mut f), Parsed::Done);
        assert_eq!(f.tls.version, 0x0304);
        assert_eq!(f.tls.ja3s().unwrap().to_string(), "15af977ce25de452b96affa2addb1036");
    }

    #[test]
    fn mid_session_records() {
        // nDPI's zoom.pcap flow 22 (IMAP on 993) and KakaoTalk_chat.pcap flow 33 (5223): the
        // captures start after the handshake, with application data.
        let imaps = crate::dissect::testing::hex(concat!(
            "170303002a405d34311f6b3ccb25efa43991126d7afbf55c36dff1fef96c21c7b593b0fc47e72531e969",
            "73e0093c20"
        ));
        let kakao = crate::dissect::testing::hex(concat!(
            "1703010028d3a8fe516baf112d8f5a32ac11326d95c0bc5efbe78c6a2e3bee61f574802a43a6e980037f",
            "e55bad"
        ));
        for (payload, port, want) in [(&imaps, 993, protocol::IMAPS), (&kakao, 5223, protocol::TLS)] {
            let seg = segment(Forward, Some(1), payload);
            assert_eq!(TlsDissector::probe(&seg), Probe::Certain);
            let mut f = FlowFacts { local_port: 54341, other_port: port, ..FlowFacts::default() };
            assert_eq!(TlsDissector::default().parse(&seg, &mut f), Parsed::Done);
            assert_eq!(f.protocol, want);
        }
        // Two records (application data then an encrypted alert) tile a segment too; a
        // plaintext alert is no session's.
        let two = [&kakao[..], &[21, 3, 3, 0, 3, 1, 2, 3]].concat();
        assert_eq!(TlsDissector::probe(&segment(Forward, Some(1), &two)), Probe::Certain);
        let plain_alert = [&kakao[..], &[21, 3, 3, 0, 2, 2, 40]].concat();
        assert_eq!(TlsDissector::probe(&segment(Forward, Some(1), &plain_alert)), Probe::NotForUs);
        // A record cut short, a byte too many, an empty record, or a datagram: none of it.
        for bad in [&imaps[..imaps.len() - 1], &[&imaps[..], &[0]].concat()[..], &[23, 3, 3, 0, 0][..]] {
            assert_eq!(TlsDissector::probe(&segment(Forward, Some(1), bad)), Probe::NotForUs);
        }
        assert_eq!(TlsDissector::probe(&segment(Forward, None, &imaps)), Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn mid_session_walk_never_panics(p in proptest::collection::vec(any::<u8>(), 0..300), first in 20u8..24) {
            let mut p = p;
            if let Some(b) = p.first_mut() {
                *b = first;
            }
            let _ = is_tls_mid_session(&p);
            let seg = segment(Forward, Some(1), &p);
            let _ = TlsDissector::probe(&seg);
            let _ = TlsDissector::default().parse(&seg, &mut FlowFacts::default());
        }
    }

    #[test]
    fn change_cipher_spec_first_is_skipped() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let ccs = records(CONTENT_CHANGE_CIPHER_SPEC, 0x0303, &[1], MAX_RECORD);
        assert_eq!(feed(&mut d, &mut f, Reverse, &ccs), Parsed::Skipped(Skip::Malformed));
    }

    // ---- malformed input ----

    #[test]
    fn warning_alert_before_server_hello_is_skipped() {
        let mut stream = vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x70]; // warning: unrecognized_name
        stream.extend(records(
            CONTENT_HANDSHAKE,
            0x0303,
            &server_hello(0x0303, [7; 32], 0xc02f, Some(&[])),
            MAX_RECORD,
        ));
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Reverse, &stream), Parsed::Updated);
        assert_eq!((f.tls.version, f.tls.cipher), (0x0303, 0xc02f));
    }

    #[test]
    fn garbage_is_skipped() {
        let cases: [&[u8]; 6] = [
            b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
            b"SSH-2.0-OpenSSH_9.6\r\n",
            &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],             // alert
            &[0x16, 0x03, 0x03, 0x00, 0x04, 0x0b, 0x00, 0x00, 0x00], // certificate first
            &[0x16, 0x03, 0x03, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00], // empty ClientHello
            &[0x16, 0x03, 0x03, 0x40, 0x01, 0x01],                   // record over 2^14
        ];
        for case in cases {
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            assert_eq!(feed(&mut d, &mut f, Forward, case), Parsed::Skipped(Skip::Malformed), "{case:?}");
            assert!(learned_nothing(&f));
            assert_eq!(
                feed(&mut d, &mut f, Reverse, &tls13_server_stream()),
                Parsed::Skipped(Skip::Malformed),
                "stays skipped"
            );
        }
    }

    #[test]
    fn client_facts_survive_a_bad_server_side() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Forward, &modern_client_stream()), Parsed::Updated);
        assert_eq!(feed(&mut d, &mut f, Reverse, b"\x15\x03\x03\x00\x02\x02\x28"), Parsed::Skipped(Skip::Malformed));
        assert_modern_client(&f);
    }

    #[test]
    fn hello_truncated_inside_the_message_never_misreports() {
        // The record and message lengths are fixed up, so the body itself ends early.
        let body = client_hello_body(
            0x0303,
            Some(&[sni(b"www.example.com"), alpn(&["h2"]), offered_versions(&[0x0304, 0x0303])]),
        );
        for cut in 0..body.len() {
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            let stream = record(&handshake(CLIENT_HELLO, &body[..cut]));
            match feed(&mut d, &mut f, Forward, &stream) {
                Parsed::Skipped(_) => assert!(learned_nothing(&f), "cut at {cut}"),
                // Cut right after the compression methods: a valid hello without extensions.
                Parsed::Updated => {
                    assert_eq!(f.tls.client_version, 0x0303, "cut at {cut}");
                    assert_eq!(f.tls.sni(), None);
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        let body = &tls13_server_stream()[RECORD_HEADER + MESSAGE_HEADER..];
        for cut in 0..body.len() {
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            let stream = record(&handshake(SERVER_HELLO, &body[..cut]));
            match feed(&mut d, &mut f, Reverse, &stream) {
                Parsed::Skipped(_) => assert!(learned_nothing(&f), "cut at {cut}"),
                // Cut before supported_versions: a TLS 1.2 ServerHello, certificate to come.
                Parsed::Done | Parsed::Updated => {
                    assert_eq!((f.tls.version, f.tls.cipher), (0x0303, 0x1301), "cut at {cut}")
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn datagrams_are_read_whole() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let stream = modern_client_stream();
        assert_eq!(d.parse(&segment(Forward, None, &stream[..50]), &mut f), Parsed::Continue);
        assert!(learned_nothing(&f));
        assert_eq!(d.parse(&segment(Forward, None, &stream), &mut f), Parsed::Updated);
        assert_modern_client(&f);
        assert_eq!(d.parse(&segment(Reverse, None, &tls13_server_stream()), &mut f), Parsed::Done);
        assert_eq!(f.tls.version, 0x0304);
    }

    #[test]
    fn either_direction_may_carry_either_hello() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Reverse, &modern_client_stream()), Parsed::Updated);
        assert_modern_client(&f);
        assert_eq!(feed(&mut d, &mut f, Forward, &tls13_server_stream()), Parsed::Done);
        assert_eq!(f.tls.version, 0x0304);
        assert_eq!(f.protocol, protocol::HTTPS, "the server chose h2");
    }

    // ---- certificate ----

    fn certificate_message(leaf: &[u8]) -> Vec<u8> {
        let mut entry = u32::try_from(leaf.len()).unwrap().to_be_bytes()[1..].to_vec();
        entry.extend_from_slice(leaf);
        entry.extend([0, 0, 3, 1, 2, 3]); // an intermediate
        let mut list = u32::try_from(entry.len()).unwrap().to_be_bytes()[1..].to_vec();
        list.extend(entry);
        handshake(CERTIFICATE, &list)
    }

    #[test]
    fn certificate_names_after_a_tls12_server_hello() {
        let leaf =
            crate::dissect::x509::tests::certificate("www.example.com", &["WWW.Example.com", "example.com"], false);
        let mut messages = server_hello(0x0303, [7; 32], 0xc02f, Some(&[]));
        messages.extend(certificate_message(&leaf));
        messages.extend(handshake(14, &[])); // ServerHelloDone
                                             // In one record and segment, and cut into small records and segments.
        for (fragment, cuts) in [(MAX_RECORD, vec![]), (100, vec![7, 150, 333, 600])] {
            let stream = records(CONTENT_HANDSHAKE, 0x0303, &messages, fragment);
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            assert_eq!(feed_cut(&mut d, &mut f, Reverse, 1, &stream, &cuts), Parsed::Done);
            assert_eq!(f.tls.subject_cn(), Some("www.example.com"));
            let names: Vec<&str> = f.tls.server_names().iter().collect();
            assert_eq!(names, ["www.example.com", "example.com", "192.0.2.1"]);
            assert_eq!(f.tls.version, 0x0303);
        }
        // The ServerHello alone is news; the certificate in a later segment finishes.
        let hello = record(&server_hello(0x0303, [7; 32], 0xc02f, Some(&[])));
        let cert = records(CONTENT_HANDSHAKE, 0x0303, &certificate_message(&leaf), MAX_RECORD);
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Reverse, Some(10), &hello), &mut f), Parsed::Updated);
        assert!(f.tls.server_names().is_empty());
        let seq = 10 + hello.len() as u32;
        assert_eq!(d.parse(&segment(Reverse, Some(seq), &cert), &mut f), Parsed::Done);
        assert_eq!(f.tls.server_names().len(), 3);
    }

    #[test]
    fn a_known_certificate_subject_is_recorded() {
        use crate::dissect::x509::tests::certificate_of;
        type Subject<'a> = (&'a [(&'a str, &'a str)], &'a str, Option<&'a str>);
        let subjects: [Subject; 3] = [
            // A FortiGate's factory certificate: O=Fortinet, OU=FortiGate, CN=<serial>.
            (&[("O", "Fortinet"), ("OU", "FortiGate")], "FGT60E0000000000", Some("netify.forticlient")),
            (&[("O", "Sonos, Inc"), ("OU", "Sonos Devices")], "347E5CFFA26E", Some("netify.sonos")),
            (&[("O", "Example, Inc")], "www.example.com", None),
        ];
        for (attributes, cn, want) in subjects {
            let leaf = certificate_of(attributes, cn, &["a.example"], false);
            let mut messages = server_hello(0x0303, [7; 32], 0xc02f, Some(&[]));
            messages.extend(certificate_message(&leaf));
            messages.extend(handshake(14, &[])); // ServerHelloDone
            let stream = records(CONTENT_HANDSHAKE, 0x0303, &messages, MAX_RECORD);
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            assert_eq!(feed_cut(&mut d, &mut f, Reverse, 1, &stream, &[]), Parsed::Done);
            assert_eq!(f.tls.known_subject().map(|k| k.application), want, "{attributes:?}");
            assert_eq!(f.tls.subject_cn(), Some(cn));
        }
    }

    /// Heap a completed TLS flow may take (issue 7: 512 bytes a tracked flow): what the 248-byte
    /// slot (`a_flow_slot_stays_within_its_budget`), the hash index and the timer wheel (16 bytes
    /// a flow at 1 M flows, `examples/flow-memory.rs`) and the flow's 8-byte eviction queue entry
    /// leave.
    const TLS_FLOW_HEAP_BUDGET: usize = 512 - 248 - 16 - 8;

    #[test]
    fn a_completed_tls_flow_stays_within_its_heap_budget() {
        // A browser's hello and a TLS 1.2 server with a certificate naming four hosts (the
        // nDPI corpus's certificates name 2 at the median, 12 on average).
        let client = record(&client_hello(
            0x0303,
            Some(&[
                sni(b"www.shop-example.com"),
                alpn(&["h2", "http/1.1"]),
                offered_versions(&[GREASE, 0x0304, 0x0303]),
            ]),
        ));
        let names = ["shop-example.com", "www.shop-example.com", "*.shop-example.com", "static.shop-example.net"];
        let leaf = crate::dissect::x509::tests::certificate("shop-example.com", &names, false);
        let mut messages = server_hello(0x0303, [7; 32], 0xc02f, Some(&[alpn(&["h2"])]));
        messages.extend(certificate_message(&leaf));
        messages.extend(handshake(14, &[])); // ServerHelloDone
        let server = records(CONTENT_HANDSHAKE, 0x0303, &messages, MAX_RECORD);
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        feed(&mut d, &mut f, Forward, &client);
        assert_eq!(feed(&mut d, &mut f, Reverse, &server), Parsed::Done);
        f.shrink_to_fit();
        let tls = &f.tls;
        assert_eq!((tls.sni(), f.detected_hostname()), (Some("www.shop-example.com"), Some("www.shop-example.com")));
        assert_eq!(
            (tls.alpn().len(), tls.alpn_negotiated(), tls.subject_cn()),
            (2, Some("h2"), Some("shop-example.com"))
        );
        assert_eq!(tls.server_names().len(), 5);
        assert!(tls.ja3().is_some() && tls.ja3s().is_some() && tls.ja4().is_some());
        // The hostname is the SNI, stored once; nothing else of the flow is on the heap.
        assert_eq!(f.hostname_heap_bytes(), 0);
        assert_eq!(f.app_protocol, crate::facts::ProtocolFacts::None);
        let heap = tls.heap_bytes();
        assert!(heap <= TLS_FLOW_HEAP_BUDGET, "a TLS flow's facts take {heap} bytes of heap");
    }

    #[test]
    fn a_certificate_read_after_a_longer_one_has_only_its_own_names() {
        // The names are gathered in a buffer each thread keeps from one certificate to the next.
        let read = |names: &[&str]| {
            let leaf = crate::dissect::x509::tests::certificate("example.com", names, false);
            let mut messages = server_hello(0x0303, [7; 32], 0xc02f, Some(&[]));
            messages.extend(certificate_message(&leaf));
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            feed(&mut d, &mut f, Reverse, &records(CONTENT_HANDSHAKE, 0x0303, &messages, MAX_RECORD));
            f.tls.server_names().iter().map(str::to_owned).collect::<Vec<_>>()
        };
        assert_eq!(
            read(&["a.example", "B.Example", "c.example"]),
            ["a.example", "b.example", "c.example", "192.0.2.1"]
        );
        assert_eq!(read(&["d.example"]), ["d.example", "192.0.2.1"]);
        assert_eq!(read(&[]), ["192.0.2.1"]);
    }

    #[test]
    fn resumed_session_ends_at_change_cipher_spec() {
        let mut stream = record(&server_hello(0x0303, [7; 32], 0xc02f, Some(&[])));
        stream.extend(records(CONTENT_CHANGE_CIPHER_SPEC, 0x0303, &[1], MAX_RECORD));
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(feed(&mut d, &mut f, Reverse, &stream), Parsed::Done);
        assert_eq!((f.tls.version, f.tls.cipher), (0x0303, 0xc02f));
        assert!(f.tls.server_names().is_empty());
    }

    // ---- fingerprints ----

    /// FoxIO's JA4 example: Chrome's cipher suites, extensions and signature algorithms.
    fn chrome_like_hello() -> Vec<u8> {
        let ciphers: Vec<u8> = [
            0x1301u16, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
            0x002f, 0x0035,
        ]
        .iter()
        .flat_map(|c| c.to_be_bytes())
        .collect();
        let sig_algs: Vec<u8> = [0x0403u16, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
            .iter()
            .flat_map(|c| c.to_be_bytes())
            .collect();
        let exts = [
            extension(0x1a1a, &[]),
            sni(b"www.example.com"),
            extension(0x0017, &[]),
            extension(0xff01, &[0]),
            extension(0x000a, &len16(&[0x2a, 0x2a, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18])),
            extension(0x000b, &len8(&[0])),
            extension(0x0023, &[]),
            alpn(&["h2", "http/1.1"]),
            extension(0x0005, &[1, 0, 0, 0, 0]),
            extension(0x000d, &len16(&sig_algs)),
            extension(0x0012, &[]),
            extension(0x0033, &len16(&[0x00, 0x1d, 0x00, 0x01, 0x00])),
            extension(0x002d, &len8(&[1])),
            offered_versions(&[0x4a4a, 0x0304, 0x0303]),
            extension(0x001b, &[2, 0, 2]),
            extension(0x4469, &[0, 3, 2, b'h', b'2']),
            extension(0x0a0a, &[0]),
            extension(0x0015, &[0; 10]),
        ];
        let mut v = 0x0303u16.to_be_bytes().to_vec();
        v.extend([0x11; 32]);
        v.extend(len8(&[0x22; 32]));
        let mut suites = 0x0a0au16.to_be_bytes().to_vec();
        suites.extend(ciphers);
        v.extend(len16(&suites));
        v.extend(len8(&[0]));
        v.extend(len16(&exts.concat()));
        v
    }

    #[test]
    fn ja4_matches_the_definition_example() {
        let body = chrome_like_hello();
        let hello = ClientHello::parse(&body, false).unwrap();
        assert_eq!(hello.ja4(Transport::Tcp), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert!(hello.ja4(Transport::Quic).starts_with("q13d1516h2_"));
        // GREASE is left out of JA3 too.
        let ja3 = hello.ja3_string();
        assert!(ja3.starts_with("771,4865-4866-4867-49195-"), "{ja3}");
        assert!(ja3.ends_with(",29-23-24,0"), "{ja3}");
        assert!(!ja3.contains("6682") && !ja3.contains("2570"), "{ja3}");
        assert_eq!(md5(b"").to_string(), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn ja4_edge_cases() {
        let mut s = String::new();
        push_alpn_chars(&mut s, None);
        push_alpn_chars(&mut s, Some(b"http/1.1"));
        push_alpn_chars(&mut s, Some(&[0xab, b'x', 0x3c]));
        assert_eq!(s, "00h1ac");
        let mut s = String::new();
        push_count(&mut s, 7);
        push_count(&mut s, 150);
        assert_eq!(s, "0799");
        // No extensions at all (SSL 3.0 style): zeros for the extension hash, `i` without SNI.
        let body = client_hello_body(0x0300, None);
        let hello = ClientHello::parse(&body, false).unwrap();
        assert_eq!(
            hello.ja4(Transport::Tcp),
            format!("ts3i030000_{}_000000000000", &hello.ja4(Transport::Tcp)[11..23])
        );
    }

    #[test]
    fn ja3_and_ja3s_are_recorded() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        feed(&mut d, &mut f, Forward, &modern_client_stream());
        feed(&mut d, &mut f, Reverse, &tls13_server_stream());
        // JA3 string: 771,4865-49199-47,0-16-43-21,, ; JA3S: 771,4865,43-16.
        assert_eq!(f.tls.ja3(), Some(md5(b"771,4865-49199-47,0-16-43-21,,")));
        assert_eq!(f.tls.ja3s(), Some(md5(b"771,4865,43-16")));
        assert!(f.tls.ja4().unwrap().as_str().starts_with("t13d0304h2_"));
    }

    // ---- DTLS ----

    fn dtls_record(messages: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut fragment = Vec::new();
        for (seq, (kind, body)) in messages.iter().enumerate() {
            fragment.push(*kind);
            let len = &u32::try_from(body.len()).unwrap().to_be_bytes()[1..];
            fragment.extend_from_slice(len);
            fragment.extend(u16::try_from(seq).unwrap().to_be_bytes());
            fragment.extend([0, 0, 0]);
            fragment.extend_from_slice(len);
            fragment.extend_from_slice(body);
        }
        let mut v = vec![CONTENT_HANDSHAKE, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0];
        v.extend(len16(&fragment));
        v
    }

    /// A DTLS 1.2 ClientHello datagram for `dtls.example`.
    pub(crate) fn dtls_client_hello() -> Vec<u8> {
        let mut body = DTLS_1_2.to_be_bytes().to_vec();
        body.extend([0x11; 32]);
        body.push(0); // session id
        body.extend(len8(&[9; 20])); // cookie
        body.extend(len16(&[0xc0, 0x2b, 0xc0, 0x2f]));
        body.extend(len8(&[0]));
        body.extend(len16(&[sni(b"dtls.example"), offered_versions(&[DTLS_1_2, DTLS_1_0])].concat()));
        dtls_record(&[(CLIENT_HELLO, body)])
    }

    #[test]
    fn quic_google_user_agent() {
        // Transport parameters as Chrome sends them: initial_max_data (4), then 0x3129.
        let ua = b"beta Chrome/84.0.4147.45 Windows NT 10.0; Win64; x64";
        let mut params = vec![0x04, 0x02, 0x40, 0x10, 0x71, 0x29, ua.len() as u8];
        params.extend_from_slice(ua);
        assert_eq!(transport_parameter(&params, TP_GOOGLE_USER_AGENT), Some(&ua[..]));
        assert_eq!(transport_parameter(&params[..params.len() - 1], TP_GOOGLE_USER_AGENT), None);
        let body = client_hello_body(0x0303, Some(&[sni(b"www.google.com"), extension(0x39, &params)]));
        let mut f = FlowFacts::default();
        assert!(record_client_hello(&body, Transport::Quic, &mut f));
        assert_eq!(f.app_protocol.http().and_then(|h| h.user_agent.as_deref()), std::str::from_utf8(ua).ok());
    }

    #[test]
    fn dtls_mid_session_is_dtls() {
        // Application data (content 23) then an alert, DTLS 1.2, as dtls_mid_sessions.pcapng.
        let mut p = vec![23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 3, 1, 2, 3];
        p.extend_from_slice(&[21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 10, 0, 2, 1, 0]);
        assert_eq!(TlsDissector::probe(&segment(Forward, None, &p)), Probe::Certain);
        assert_eq!(TlsDissector::probe(&segment(Forward, None, &p[..p.len() - 1])), Probe::NotForUs);
        assert_eq!(TlsDissector::probe(&segment(Forward, Some(1), &p)), Probe::NotForUs);
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, None, &p), &mut f), Parsed::Done);
        assert_eq!(f.protocol, protocol::DTLS);
        assert!(f.tls.ja3().is_none());
    }

    #[test]
    fn dtls_hellos_and_certificate() {
        let client = dtls_client_hello();
        assert_eq!(TlsDissector::probe(&segment(Forward, None, &client)), Probe::Certain);
        assert_eq!(TlsDissector::probe(&segment(Forward, Some(1), &client)), Probe::NotForUs);
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, None, &client), &mut f), Parsed::Updated);
        assert_eq!(f.tls.sni(), Some("dtls.example"));
        assert_eq!(f.tls.client_version, DTLS_1_2);
        assert!(f.tls.ja4().unwrap().as_str().starts_with("dd2d0202"), "{:?}", f.tls.ja4());

        let verify = dtls_record(&[(HELLO_VERIFY_REQUEST, vec![0xfe, 0xff, 1, 9])]);
        assert_eq!(d.parse(&segment(Reverse, None, &verify), &mut f), Parsed::Continue);
        let hello = server_hello(DTLS_1_2, [3; 32], 0xc02b, Some(&[]));
        let leaf = crate::dissect::x509::tests::certificate("dtls.example", &["dtls.example"], false);
        let cert = certificate_message(&leaf);
        let server = dtls_record(&[(SERVER_HELLO, hello[4..].to_vec()), (CERTIFICATE, cert[4..].to_vec())]);
        assert_eq!(d.parse(&segment(Reverse, None, &server), &mut f), Parsed::Done);
        assert_eq!((f.tls.version, f.tls.cipher), (DTLS_1_2, 0xc02b));
        assert_eq!(f.tls.subject_cn(), Some("dtls.example"));

        // The certificate in three fragments, each in its own datagram, one sent twice.
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        let server = dtls_record(&[(SERVER_HELLO, hello[4..].to_vec())]);
        assert_eq!(d.parse(&segment(Reverse, None, &server), &mut f), Parsed::Updated);
        let body = &cert[4..];
        let cuts = [0, 100, 250, body.len()];
        let fragment = |i: usize| {
            let (from, to) = (cuts[i], cuts[i + 1]);
            let mut m = vec![CERTIFICATE];
            m.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
            m.extend([0, 2]);
            m.extend_from_slice(&u32::try_from(from).unwrap().to_be_bytes()[1..]);
            m.extend_from_slice(&u32::try_from(to - from).unwrap().to_be_bytes()[1..]);
            m.extend_from_slice(&body[from..to]);
            let mut v = vec![CONTENT_HANDSHAKE, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 2];
            v.extend(len16(&m));
            v
        };
        assert_eq!(d.parse(&segment(Reverse, None, &fragment(0)), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&segment(Reverse, None, &fragment(2)), &mut f), Parsed::Continue, "gap");
        assert_eq!(d.parse(&segment(Reverse, None, &fragment(1)), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&segment(Reverse, None, &fragment(1)), &mut f), Parsed::Continue, "repeat");
        assert_eq!(d.parse(&segment(Reverse, None, &fragment(2)), &mut f), Parsed::Done);
        assert_eq!(f.tls.server_names().len(), 2);
    }

    // ---- properties ----

    /// Valid hello streams with a few bytes overwritten: reaches deep into the parser.
    fn mutated_hellos() -> impl Strategy<Value = Vec<u8>> {
        let base = prop_oneof![
            Just(modern_client_stream()),
            Just(tls13_server_stream()),
            Just(records(CONTENT_HANDSHAKE, 0x0301, &client_hello(0x0303, Some(&[sni(b"x.example")])), 17)),
            Just({
                let leaf = crate::dissect::x509::tests::certificate("a.example", &["a.example"], true);
                let mut m = server_hello(0x0303, [7; 32], 0xc02f, Some(&[]));
                m.extend(certificate_message(&leaf));
                records(CONTENT_HANDSHAKE, 0x0303, &m, 300)
            }),
            Just(record(&handshake(CLIENT_HELLO, &chrome_like_hello()))),
            Just(dtls_record(&[(CLIENT_HELLO, chrome_like_hello())])),
        ];
        (base, proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)).prop_map(
            |(mut bytes, edits)| {
                for (at, value) in edits {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
                bytes
            },
        )
    }

    fn streams() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![proptest::collection::vec(any::<u8>(), 0..400), mutated_hellos()]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            forward in streams(),
            reverse in streams(),
            pieces in proptest::collection::vec((any::<bool>(), 0usize..64, -8i32..8), 0..40),
            udp in any::<bool>(),
            isn in any::<u32>(),
        ) {
            let mut d = TlsDissector::default();
            let mut f = FlowFacts::default();
            let mut offset = [0usize; 2];
            let mut finished = None;
            for (reverse_side, len, jitter) in pieces {
                let (dir, bytes) = if reverse_side { (Reverse, &reverse) } else { (Forward, &forward) };
                let at = offset[dir.index()].min(bytes.len());
                let end = (at + len).min(bytes.len());
                let seq = isn.wrapping_add(at as u32).wrapping_add_signed(jitter);
                let tcp_seq = if udp { None } else { Some(seq) };
                let result = d.parse(&segment(dir, tcp_seq, &bytes[at..end]), &mut f);
                if let Some(prev) = finished {
                    prop_assert_eq!(result, prev);
                } else if matches!(result, Parsed::Done | Parsed::Skipped(Skip::Malformed)) {
                    finished = Some(result);
                }
                offset[dir.index()] = end;
            }
        }

        #[test]
        fn any_segmentation_reads_the_same_hello(
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
            repeats in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
            isn in any::<u32>(),
        ) {
            let stream = records(CONTENT_HANDSHAKE, 0x0301, &client_hello(0x0303, Some(&[
                sni(b"www.example.com"), alpn(&["h2", "http/1.1"]), offered_versions(&[0x0304]),
            ])), 150);
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(stream.len())).collect();
            bounds.push(0);
            bounds.push(stream.len());
            bounds.sort_unstable();
            bounds.dedup();
            let mut d = TlsDissector::default();
            let mut f = FlowFacts::default();
            let mut last = Parsed::Continue;
            for (i, w) in bounds.windows(2).enumerate() {
                let seg = segment(Forward, Some(isn.wrapping_add(w[0] as u32)), &stream[w[0]..w[1]]);
                last = d.parse(&seg, &mut f);
                // Resend some earlier segment now and then.
                if let Some(r) = repeats.get(i) {
                    let j = r.index(i + 1);
                    let old = segment(Forward, Some(isn.wrapping_add(bounds[j] as u32)), &stream[bounds[j]..bounds[j + 1]]);
                    let again = d.parse(&old, &mut f);
                    if last == Parsed::Continue {
                        last = again;
                    }
                }
            }
            prop_assert_eq!(last, Parsed::Updated);
            assert_modern_client(&f);
        }
    }
    // ---- pre-RFC TLS 1.3 versions ----

    /// The ClientHello of instagram.pcap in nDPI's corpus (192.168.2.17:49357 → 31.13.86.52:443):
    /// supported_versions offers 0x0304 and Facebook Fizz's 0xfb1a.
    const FIZZ_CLIENT_HELLO: &str = concat!(
        "160301019e0100019a0303553521784dc1444b60376e60e8433a0aa0f44af3c945f06534aefa847d63899d20cc077496",
        "d3ea0b79d8674590448d185f86e1e8f6106f7d1ef24cbe663ac7104800061301130213030100014b002b0005040304fb",
        "1a000a00060004001d0017003300260024001d0020ed20abb7e5d984e69f3e1839360f59a95d07458d45b0982a638ec7",
        "27e00d2f68000d000600040403080400000025002300002073636f6e74656e742d6d7870312d312e63646e696e737461",
        "6772616d2e636f6d0010000b000908687474702f312e31002d0003020100002a0000002900bd009800925885dd9a6c11",
        "d6569823d3135fd625bfa9377a5ac6f36d8f0572213ab98b424c000000009f030242cd9bdd56d5eae77027c199a2414f",
        "4db52f09e91b813f81136b066c141416ec0c8ff054ee3838ef94fc37a0fffa802e034f8bb2a56290d3298b5700afbcb0",
        "434f0294c255b9c499564bc09698a5928cb41905d1905cf9b7a73525f6bd3edf1c069bd71c5c5dbd8dcea0247330fa32",
        "0021207f0e09a94b338995aa1b054a6010f34617279c5b1adbd25b572cf5944d63367f",
    );

    /// The ServerHello answering it: supported_versions selects 0xfb1a.
    const FIZZ_SERVER_HELLO: &str = concat!(
        "16030300800200007c0303de8ed6ce7b85e0dfb9b80c4bf246454716950d8431a2a102c3bc1a3b7e916d6220cc077496",
        "d3ea0b79d8674590448d185f86e1e8f6106f7d1ef24cbe663ac710481301000034002b0002fb1a00330024001d00201a",
        "c7defa50f9ad165e300e9c434db05719b5a276ec5c75855e882a1e8c885935002900020000",
    );

    #[test]
    fn fizz_tls13_draft_is_reported_as_tls13() {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        f.local_port = 49357;
        f.other_port = 443;
        assert_eq!(feed(&mut d, &mut f, Forward, &crate::dissect::testing::hex(FIZZ_CLIENT_HELLO)), Parsed::Updated);
        assert_eq!(f.tls.client_version, 0x0304);
        // JA4 keeps the version as sent (FoxIO and nDPI: `00` for an unlisted version).
        assert!(f.tls.ja4().unwrap().as_str().starts_with("t00d0309"), "{:?}", f.tls.ja4());
        feed(&mut d, &mut f, Reverse, &crate::dissect::testing::hex(FIZZ_SERVER_HELLO));
        assert_eq!((f.tls.version, f.tls.cipher), (0x0304, 0x1301));
        assert!(f.tls.ja3s().is_some());
    }

    #[test]
    fn tls13_drafts_and_experiments_are_tls13() {
        for draft in [0x7f1c, 0x7f17, 0x7e02, 0xfb17] {
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            let client = record(&client_hello(0x0303, Some(&[offered_versions(&[draft, 0x0303])])));
            assert_eq!(feed(&mut d, &mut f, Forward, &client), Parsed::Updated, "{draft:#06x}");
            assert_eq!(f.tls.client_version, 0x0304, "{draft:#06x}");
            let server = record(&server_hello(0x0303, [1; 32], 0x1301, Some(&[selected_version(draft)])));
            feed(&mut d, &mut f, Reverse, &server);
            assert_eq!(f.tls.version, 0x0304, "{draft:#06x}");
        }
        // Up to draft 21 the ServerHello's version field carried the draft, without
        // supported_versions (draft-ietf-tls-tls13-21 §4.1.3).
        for draft in [0x7f12, 0x7f15, 0xfb15] {
            let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
            let client = record(&client_hello(0x0303, Some(&[offered_versions(&[draft, 0x0303])])));
            feed(&mut d, &mut f, Forward, &client);
            let server = record(&server_hello(draft, [1; 32], 0x1301, None));
            assert_eq!(feed(&mut d, &mut f, Reverse, &server), Parsed::Done, "{draft:#06x}");
            assert_eq!((f.tls.version, f.tls.cipher), (0x0304, 0x1301), "{draft:#06x}");
        }
        // Neither TLS 1.2 nor DTLS changes.
        assert_eq!(hello::final_version(0x0303), 0x0303);
        assert_eq!(hello::final_version(DTLS_1_2), DTLS_1_2);
    }
    // ---- DNS over TLS / HTTPS / QUIC ----

    /// The ClientHello of dns_doh.pcap in nDPI's corpus (172.20.10.4:49877 → 104.16.248.249:443):
    /// Firefox to mozilla.cloudflare-dns.com, ALPN h2 and http/1.1.
    const DOH_CLIENT_HELLO: &str = concat!(
        "1603010200010001fc03032a5d4f3dda6c0482b6cf936be61280a2ba4390ae5078fcde9aea235468adaf842084e1306d",
        "47b3b739efbe51bca2b434d690d3631161d9d5b34d375aae16c372f60024130113031302c02bc02fcca9cca8c02cc030",
        "c00ac009c013c01400330039002f0035000a0100018f0000001f001d00001a6d6f7a696c6c612e636c6f7564666c6172",
        "652d646e732e636f6d00170000ff01000100000a000e000c001d00170018001901000101000b00020100002300000010",
        "000e000c02683208687474702f312e310005000501000000000033006b0069001d0020f4695b0d4ed97d2f1e4656c346",
        "0640f29d148e0536e9387b6e2a4c0b005424610017004104fc09887a0809f481d4d6422f2acf829e1ce4dc0d5019ee90",
        "090d7cfd71b564e76f44f82588c66026bd3a6a582444ddf3a82200c428b283a6b08ba4252ebb222d002b000908030403",
        "0303020301000d0018001604030503060308040805080604010501060102030201002d00020101001c00024001001500",
        "840000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "00000000000000000000000000000000000000000000000000000000000000000000000000",
    );

    /// The ClientHello of dns_dot.pcap in nDPI's corpus (192.168.1.185:58290 → 8.8.8.8:853): no SNI,
    /// no ALPN.
    pub(crate) const DOT_CLIENT_HELLO: &str = concat!(
        "16030300c1010000bd0303822bf32e410e6c4981e44056ab3992aaf386ba3ff20b9ecf989284460c802049000032c02c",
        "cca9c0adc00ac02bc0acc009c030cca8c014c02fc013009dc09d0035009cc09c002f009fccaac09f0039009ec09e0033",
        "01000062000500050100000000000a00140012001700180019001d01000101010201030104000b00020100000d002000",
        "1e040108090804040308070501080a080505030601080b0806060302010203001600000017000000230000ff01000100",
        "001c00024000",
    );

    fn hello_on(port: u16, hex: &str) -> FlowFacts {
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        (f.local_port, f.other_port) = (40000, port);
        assert_eq!(feed(&mut d, &mut f, Forward, &crate::dissect::testing::hex(hex)), Parsed::Updated);
        f
    }

    #[test]
    fn dns_over_https_and_tls_are_named() {
        let f = hello_on(443, DOH_CLIENT_HELLO);
        assert_eq!(f.tls.sni(), Some("mozilla.cloudflare-dns.com"));
        assert_eq!(f.protocol, protocol::DOH);
        assert_eq!(hello_on(853, DOT_CLIENT_HELLO).protocol, protocol::DOT);
        // The same hello elsewhere is plain TLS.
        assert_eq!(hello_on(8853, DOT_CLIENT_HELLO).protocol, protocol::TLS);
        // ALPN `dot` on any port (RFC 7858, IANA ALPN registry).
        let (mut d, mut f) = (TlsDissector::default(), FlowFacts::default());
        feed(&mut d, &mut f, Forward, &record(&client_hello(0x0303, Some(&[alpn(&["dot"])]))));
        assert_eq!(f.protocol, protocol::DOT);
        // A QUIC hello offering DoQ (RFC 9250 §4.1), or a draft's `doq-i02`.
        for name in ["doq", "doq-i02"] {
            let mut f = FlowFacts::default();
            let body = client_hello_body(0x0303, Some(&[alpn(&[name])]));
            assert!(hello::record_client_hello(&body, Transport::Quic, &mut f));
            assert_eq!(f.protocol, protocol::DOQ, "{name}");
        }
        let mut f = FlowFacts { protocol: protocol::QUIC, ..FlowFacts::default() };
        assert!(hello::record_client_hello(
            &client_hello_body(0x0303, Some(&[alpn(&["h3"])])),
            Transport::Quic,
            &mut f
        ));
        assert_eq!(f.protocol, protocol::QUIC);
    }

    #[test]
    fn doh_hosts_match_whole_labels() {
        assert!(hello::is_doh_host("dns.google"));
        assert!(hello::is_doh_host("DNS.Google."));
        assert!(hello::is_doh_host("chrome.cloudflare-dns.com"));
        assert!(!hello::is_doh_host("notdns.google"));
        assert!(!hello::is_doh_host("dns.google.example"));
        assert!(!hello::is_doh_host("google"));
        assert!(!hello::is_doh_host(""));
    }
}
