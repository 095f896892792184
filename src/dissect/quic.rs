//! QUIC dissector: the TLS ClientHello inside the client's Initial packets.
//!
//! Initial packets are encrypted with keys anyone can derive from the Destination Connection ID
//! the client chose (RFC 9001 §5.2; RFC 9369 §3.3 for QUIC v2). So: read the long header
//! (RFC 9000 §17.2.2), derive the client's Initial keys, remove header protection (AES-128-ECB
//! mask, RFC 9001 §5.4), open the payload (AES-128-GCM, §5.3), collect CRYPTO frames into a
//! bounded buffer by offset (a ClientHello may span several packets, and browsers send its
//! pieces out of order), and hand the finished ClientHello to the TLS parser: SNI, ALPN, client
//! version and JA4 (`q`). The server's packets are not read.
//!
//! Allocation: a per-flow scratch buffer for in-place decryption and the CRYPTO buffer, each
//! allocated once, on the first Initial; nothing per packet.

use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use aes::Aes128;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::Aes128Gcm;
use hkdf::Hkdf;
use sha2::Sha256;

use super::reader::Reader;
use super::tls::{self, Transport};
use super::{protocol, Direction, Dissector, Parsed, Probe, Segment};
use crate::flow::facts::FlowFacts;

/// The part of the CRYPTO stream we keep: the ClientHello must lie within it. Post-quantum key
/// shares make hellos of ~1.8 KB; 8 KiB leaves room.
pub const CRYPTO_LIMIT: usize = 8 * 1024;

/// Largest Initial packet decrypted. RFC 9000 §14: at least 1200 bytes; paths rarely carry
/// more than 1500, so a packet beyond this is not an Initial we can read.
const MAX_PACKET: usize = 4096;

/// Initial packets from the client tried before giving up on the flow.
const MAX_INITIALS: u8 = 8;

const TAG_LEN: usize = 16;
const SAMPLE_LEN: usize = 16;
const MAX_CID: usize = 20;

/// QUIC versions whose Initial packets we can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct VersionParams {
    version: u32,
    /// RFC 9001 §5.2 initial_salt for this version.
    salt: [u8; 20],
    /// Long-header packet type (bits 4-5 of the first byte) of an Initial packet.
    initial_type: u8,
    /// HKDF labels for key, IV and header-protection key.
    labels: [&'static [u8]; 3],
}

const V1_LABELS: [&[u8]; 3] = [b"quic key", b"quic iv", b"quic hp"];
/// RFC 9369 §3.3.2.
const V2_LABELS: [&[u8]; 3] = [b"quicv2 key", b"quicv2 iv", b"quicv2 hp"];

/// RFC 9001 §5.2 (v1 and drafts 33-34).
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f,
    0x0a,
];
/// RFC 9369 §3.3.1.
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e,
    0xd9,
];
/// draft-ietf-quic-tls-29 §5.2 (drafts 29-32).
const SALT_DRAFT_29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8,
    0x99,
];
/// draft-ietf-quic-tls-23 §5.2 (drafts 23-28).
const SALT_DRAFT_23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5,
    0x02,
];

/// draft-ietf-quic-tls-22 §5.2 (drafts up to 22; Facebook's mvfst draft-22 version).
const SALT_DRAFT_22: [u8; 20] = [
    0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a, 0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64,
    0x4a,
];

/// Facebook's mvfst versions: its draft-22 and draft-27 builds and its experimental one
/// (draft-27 keys).
const MVFST_22: u32 = 0xface_b001;
const MVFST_27: u32 = 0xface_b002;
const MVFST_EXP: u32 = 0xface_b00e;

pub const VERSION_1: u32 = 0x0000_0001;
pub const VERSION_2: u32 = 0x6b33_43cf;

fn version_params(version: u32) -> Option<VersionParams> {
    let (salt, initial_type, labels) = match version {
        VERSION_1 => (SALT_V1, 0, V1_LABELS),
        VERSION_2 => (SALT_V2, 1, V2_LABELS),
        0xff00_0021..=0xff00_0022 => (SALT_V1, 0, V1_LABELS),
        0xff00_001d..=0xff00_0020 => (SALT_DRAFT_29, 0, V1_LABELS),
        0xff00_0017..=0xff00_001c | MVFST_27 | MVFST_EXP => (SALT_DRAFT_23, 0, V1_LABELS),
        0xff00_0016 | MVFST_22 => (SALT_DRAFT_22, 0, V1_LABELS),
        _ => return None,
    };
    Some(VersionParams { version, salt, initial_type, labels })
}

/// The version as nDPI spells it: `V-1`, `V-2`, `Draft-29`; other values in hex.
pub fn version_name(version: u32) -> String {
    match version {
        VERSION_1 => "V-1".into(),
        VERSION_2 => "V-2".into(),
        v if v >> 8 == 0xff_0000 => format!("Draft-{}", v & 0xff),
        MVFST_22 => "MVFST-22".into(),
        MVFST_27 => "MVFST-27".into(),
        MVFST_EXP => "MVFST-EXP".into(),
        // Google QUIC: four ASCII characters (`Q046`, `T051`).
        v if v.to_be_bytes().iter().all(u8::is_ascii_alphanumeric) && matches!(v >> 24, 0x51 | 0x54) => {
            v.to_be_bytes().iter().map(|&b| char::from(b)).collect()
        }
        v => format!("{v:#010x}"),
    }
}

/// Packet protection keys of one direction's Initial packets (RFC 9001 §5.1).
#[derive(Clone)]
struct InitialKeys {
    aead: Aes128Gcm,
    iv: [u8; 12],
    hp: Aes128,
}

/// The three secrets of RFC 9001 §5.1 for one side, before they become cipher instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct KeyMaterial {
    key: [u8; 16],
    iv: [u8; 12],
    hp: [u8; 16],
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(prk: &Hkdf<Sha256>, label: &[u8], out: &mut [u8]) -> Option<()> {
    let length = u16::try_from(out.len()).ok()?.to_be_bytes();
    let label_len = [u8::try_from(b"tls13 ".len() + label.len()).ok()?];
    prk.expand_multi_info(&[&length, &label_len, b"tls13 ", label, &[0]], out).ok()
}

/// Key material of one side (`b"client in"` or `b"server in"`) for the Initial packets of a
/// connection whose client chose `dcid`.
fn key_material(params: &VersionParams, dcid: &[u8], side: &[u8]) -> Option<KeyMaterial> {
    let (_, initial) = Hkdf::<Sha256>::extract(Some(&params.salt), dcid);
    let mut secret = [0u8; 32];
    expand_label(&initial, side, &mut secret)?;
    let prk = Hkdf::<Sha256>::from_prk(&secret).ok()?;
    let [key_label, iv_label, hp_label] = params.labels;
    let mut m = KeyMaterial { key: [0; 16], iv: [0; 12], hp: [0; 16] };
    expand_label(&prk, key_label, &mut m.key)?;
    expand_label(&prk, iv_label, &mut m.iv)?;
    expand_label(&prk, hp_label, &mut m.hp)?;
    Some(m)
}

fn client_keys(params: &VersionParams, dcid: &[u8]) -> Option<InitialKeys> {
    let m = key_material(params, dcid, b"client in")?;
    Some(InitialKeys {
        aead: Aes128Gcm::new_from_slice(&m.key).ok()?,
        iv: m.iv,
        hp: Aes128::new_from_slice(&m.hp).ok()?,
    })
}

/// Where a long-header Initial packet's parts lie within the datagram.
#[derive(Debug, Clone, Copy)]
struct InitialPacket<'a> {
    params: VersionParams,
    dcid: &'a [u8],
    /// Offset of the (protected) packet number, from the packet's first byte.
    pn_offset: usize,
    /// Packet length from its first byte to the end of the AEAD tag.
    len: usize,
}

/// What the long header at the start of `data` is.
enum LongPacket<'a> {
    /// An Initial of a version we can open.
    Initial(InitialPacket<'a>),
    /// Some other long-header packet of a known version and length (0-RTT, Handshake).
    Other(usize),
    /// A short header, a Retry or Version Negotiation packet, or bytes that do not parse: the
    /// rest of the datagram is not read.
    End,
}

/// RFC 9000 §17.2: read one long header.
fn long_packet(data: &[u8]) -> LongPacket<'_> {
    let parse = || {
        let mut r = Reader::new(data);
        let first = r.u8()?;
        if first & 0x80 == 0 {
            return None;
        }
        let version = r.u32()?;
        let dcid_len = usize::from(r.u8()?);
        let dcid = r.take(dcid_len).filter(|c| c.len() <= MAX_CID)?;
        let scid_len = usize::from(r.u8()?);
        r.take(scid_len).filter(|c| c.len() <= MAX_CID)?;
        let params = version_params(version)?;
        let kind = (first >> 4) & 0x03;
        let initial = kind == params.initial_type;
        // Retry: 0b11 in v1, 0b00 in v2 (RFC 9369 §3.2); it has no Length field.
        let retry = kind == if version == VERSION_2 { 0 } else { 3 };
        if retry {
            return None;
        }
        if initial {
            let token = r.varint_usize()?;
            r.take(token)?;
        }
        let length = r.varint_usize()?;
        let pn_offset = r.position();
        let len = pn_offset.checked_add(length).filter(|&l| l <= data.len())?;
        Some(if initial {
            LongPacket::Initial(InitialPacket { params, dcid, pn_offset, len })
        } else {
            LongPacket::Other(len)
        })
    };
    parse().unwrap_or(LongPacket::End)
}

/// The CRYPTO stream's first [`CRYPTO_LIMIT`] bytes and which of them have arrived.
#[derive(Debug)]
struct CryptoStream {
    data: Vec<u8>,
    have: Vec<u64>,
}

impl CryptoStream {
    fn new() -> Self {
        CryptoStream { data: vec![0; CRYPTO_LIMIT], have: vec![0; CRYPTO_LIMIT / 64] }
    }

    /// Keep the part of a CRYPTO frame that falls within the limit.
    fn insert(&mut self, offset: usize, bytes: &[u8]) {
        let end = offset.saturating_add(bytes.len()).min(CRYPTO_LIMIT);
        if offset >= end {
            return;
        }
        let (Some(dst), Some(src)) = (self.data.get_mut(offset..end), bytes.get(..end - offset)) else {
            return;
        };
        dst.copy_from_slice(src);
        for i in offset..end {
            if let Some(word) = self.have.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
        }
    }

    /// True when bytes `0..end` have all arrived.
    fn has_prefix(&self, end: usize) -> bool {
        end <= CRYPTO_LIMIT
            && (0..end / 64).all(|w| self.have.get(w) == Some(&u64::MAX))
            && (end % 64 == 0 || self.have.get(end / 64).is_some_and(|&w| w | !((1u64 << (end % 64)) - 1) == u64::MAX))
    }

    /// Where the ClientHello stands: complete (its body), still arriving, or impossible.
    fn client_hello(&self) -> HelloState<'_> {
        if !self.has_prefix(4) {
            return HelloState::Partial;
        }
        let header = self.data.get(..4).unwrap_or_default();
        let (Some(&kind), Some(len)) = (header.first(), header.get(1..4)) else {
            return HelloState::Partial;
        };
        let len = len.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        if kind != 1 || 4 + len > CRYPTO_LIMIT {
            return HelloState::Bad;
        }
        match self.data.get(4..4 + len) {
            Some(body) if self.has_prefix(4 + len) => HelloState::Complete(body),
            _ => HelloState::Partial,
        }
    }
}

enum HelloState<'a> {
    Complete(&'a [u8]),
    Partial,
    Bad,
}

/// Per-flow QUIC state.
#[derive(Default)]
pub struct QuicDissector {
    /// The direction the client's Initial packets travel, once one has been opened.
    client: Option<Direction>,
    /// Keys of the client's Initial packets, from the first one opened.
    keys: Option<(u32, InitialKeys)>,
    /// Decryption happens in place, in this copy of one packet.
    scratch: Vec<u8>,
    crypto: Option<CryptoStream>,
    initials_tried: u8,
    outcome: Option<Parsed>,
}

impl std::fmt::Debug for QuicDissector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicDissector")
            .field("client", &self.client)
            .field("version", &self.keys.as_ref().map(|k| k.0))
            .field("initials_tried", &self.initials_tried)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl Dissector for QuicDissector {
    const PROTOCOL: u16 = protocol::QUIC;

    /// UDP 443 (HTTP/3): only a tie-breaker and the guess for unclaimed flows.
    fn port_hint(flow: &super::FlowInfo) -> bool {
        flow.is_udp() && flow.has_port(443)
    }

    /// Certain for a UDP datagram that opens with a long-header packet of a version we know
    /// (fixed bit set, connection IDs of legal length, length within the datagram). Not only
    /// Initials: a capture may show a client's 0-RTT packet before its Initial (nDPI's
    /// quic_0RTT.pcap does).
    fn probe(segment: &Segment<'_>) -> Probe {
        if segment.tcp_seq.is_some() {
            return Probe::NotForUs;
        }
        let p = segment.payload;
        let fixed = p.first().is_some_and(|&b| b & 0xc0 == 0xc0);
        match long_packet(p) {
            LongPacket::Initial(_) | LongPacket::Other(_) if fixed => Probe::Certain,
            _ => Probe::NotForUs,
        }
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if let Some(outcome) = self.outcome {
            return outcome;
        }
        if segment.tcp_seq.is_some() {
            return self.finish(Parsed::Skipped);
        }
        if self.client.is_some_and(|c| c != segment.direction) {
            return Parsed::Continue; // the server's packets are not read
        }
        let claimed_before = self.client.is_some();
        let mut rest = segment.payload;
        while !rest.is_empty() {
            let len = match long_packet(rest) {
                LongPacket::Initial(packet) => {
                    if self.open_initial(rest, &packet) && self.client.is_none() {
                        self.client = Some(segment.direction);
                        facts.protocol = protocol::QUIC;
                        facts.quic_version = packet.params.version;
                    }
                    packet.len
                }
                LongPacket::Other(len) => len,
                LongPacket::End => break,
            };
            rest = rest.get(len.max(1)..).unwrap_or_default();
        }
        match self.crypto.as_ref().map(CryptoStream::client_hello) {
            Some(HelloState::Complete(body)) => {
                let parsed = tls::record_client_hello(body, Transport::Quic, facts);
                self.finish(if parsed { Parsed::Done } else { Parsed::Skipped })
            }
            Some(HelloState::Bad) => self.finish(Parsed::Skipped),
            _ if !claimed_before && self.client.is_some() => Parsed::Updated,
            _ if self.initials_tried >= MAX_INITIALS => self.finish(Parsed::Skipped),
            _ => Parsed::Continue,
        }
    }
}

impl QuicDissector {
    fn finish(&mut self, outcome: Parsed) -> Parsed {
        self.scratch = Vec::new();
        self.crypto = None;
        self.keys = None;
        self.outcome = Some(outcome);
        outcome
    }

    /// Decrypt one Initial packet (the first `packet.len` bytes of `data`) and take its CRYPTO
    /// frames. False when it does not open with the client's keys.
    fn open_initial(&mut self, data: &[u8], packet: &InitialPacket<'_>) -> bool {
        self.initials_tried = self.initials_tried.saturating_add(1);
        let Some(bytes) = data.get(..packet.len).filter(|b| b.len() <= MAX_PACKET) else {
            return false;
        };
        // The client's first Initial fixes the keys (RFC 9001 §5.2). A Retry makes the client
        // start again with a new DCID, so keys that fail are derived again from this packet.
        let version = packet.params.version;
        let stored = self.keys.as_ref().filter(|(v, _)| *v == version).map(|(_, k)| k.clone());
        for keys in [stored, None] {
            let keys = match keys {
                Some(keys) => keys,
                None => match client_keys(&packet.params, packet.dcid) {
                    Some(keys) => keys,
                    None => return false,
                },
            };
            self.scratch.clear();
            self.scratch.extend_from_slice(bytes);
            if let Some(frames) = unprotect(&keys, &mut self.scratch, packet.pn_offset) {
                let crypto = self.crypto.get_or_insert_with(CryptoStream::new);
                take_crypto_frames(frames, crypto);
                self.keys = Some((version, keys));
                return true;
            }
        }
        false
    }
}

/// Remove header protection and decrypt a packet in place (RFC 9001 §5.3, §5.4.1, §5.4.2);
/// returns the plaintext frames.
fn unprotect<'a>(keys: &InitialKeys, packet: &'a mut [u8], pn_offset: usize) -> Option<&'a [u8]> {
    let sample_at = pn_offset.checked_add(4)?;
    let sample = packet.get(sample_at..sample_at + SAMPLE_LEN)?;
    let mut mask = GenericArray::clone_from_slice(sample);
    keys.hp.encrypt_block(&mut mask);
    let first = packet.first_mut()?;
    *first ^= mask.first()? & 0x0f; // long header: the low four bits
    let pn_len = usize::from(*first & 0x03) + 1;
    let mut pn = 0u64;
    for i in 0..pn_len {
        let b = packet.get_mut(pn_offset + i)?;
        *b ^= mask.get(1 + i)?;
        pn = pn << 8 | u64::from(*b);
    }
    // The packet number as sent is taken as the full one: a client's first Initials are
    // numbered from 0, far below the truncation limit (RFC 9000 §17.1).
    let mut nonce = keys.iv;
    for (n, p) in nonce.iter_mut().rev().zip(pn.to_be_bytes().iter().rev()) {
        *n ^= p;
    }
    let header_len = pn_offset + pn_len;
    let tag_at = packet.len().checked_sub(TAG_LEN).filter(|&t| t >= header_len)?;
    let (header, body) = packet.split_at_mut(header_len);
    let (ciphertext, tag) = body.split_at_mut(tag_at - header_len);
    keys.aead
        .decrypt_in_place_detached(GenericArray::from_slice(&nonce), header, ciphertext, GenericArray::from_slice(tag))
        .ok()?;
    Some(ciphertext)
}

/// Walk the frames of an Initial packet (RFC 9000 §19; only PADDING, PING, ACK, CRYPTO and
/// CONNECTION_CLOSE are allowed there, §17.2.2) and keep CRYPTO data.
fn take_crypto_frames(frames: &[u8], crypto: &mut CryptoStream) {
    let mut r = Reader::new(frames);
    while !r.is_empty() {
        let Some(kind) = r.varint() else { return };
        let ok = match kind {
            0x00 | 0x01 => Some(()), // PADDING, PING
            0x02 | 0x03 => skip_ack(&mut r, kind == 0x03),
            0x06 => (|| {
                let offset = r.varint_usize()?;
                let len = r.varint_usize()?;
                crypto.insert(offset, r.take(len)?);
                Some(())
            })(),
            _ => None, // CONNECTION_CLOSE or a frame not allowed here: stop
        };
        if ok.is_none() {
            return;
        }
    }
}

/// RFC 9000 §19.3: ACK frame fields after the type.
fn skip_ack(r: &mut Reader<'_>, ecn: bool) -> Option<()> {
    r.varint()?; // largest acknowledged
    r.varint()?; // delay
    let ranges = r.varint()?;
    r.varint()?; // first range
    for _ in 0..ranges {
        r.varint()?;
        r.varint()?;
    }
    if ecn {
        for _ in 0..3 {
            r.varint()?;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::hex;
    use crate::dissect::Direction::{Forward, Reverse};
    use proptest::prelude::*;

    const RFC_DCID: &str = "8394c8f03e515708";

    #[test]
    fn rfc9001_initial_keys() {
        // RFC 9001 Appendix A.1.
        let params = version_params(VERSION_1).unwrap();
        let client = key_material(&params, &hex(RFC_DCID), b"client in").unwrap();
        assert_eq!(client.key.to_vec(), hex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(client.iv.to_vec(), hex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(client.hp.to_vec(), hex("9f50449e04a0e810283a1e9933adedd2"));
        let server = key_material(&params, &hex(RFC_DCID), b"server in").unwrap();
        assert_eq!(server.key.to_vec(), hex("cf3a5331653c364c88f0f379b6067e37"));
        assert_eq!(server.iv.to_vec(), hex("0ac1493ca1905853b0bba03e"));
        assert_eq!(server.hp.to_vec(), hex("c206b8d9b9f0f37644430b490eeaa314"));
    }

    #[test]
    fn rfc9369_initial_keys() {
        // RFC 9369 Appendix A.1.
        let params = version_params(VERSION_2).unwrap();
        let client = key_material(&params, &hex(RFC_DCID), b"client in").unwrap();
        assert_eq!(client.key.to_vec(), hex("8b1a0bc121284290a29e0971b5cd045d"));
        assert_eq!(client.iv.to_vec(), hex("91f73e2351d8fa91660e909f"));
        assert_eq!(client.hp.to_vec(), hex("45b95e15235d6f45a6b19cbcb0294ba9"));
        let server = key_material(&params, &hex(RFC_DCID), b"server in").unwrap();
        assert_eq!(server.key.to_vec(), hex("82db637861d55e1d011f19ea71d5d2a7"));
        assert_eq!(server.iv.to_vec(), hex("dd13c276499c0249d3310652"));
        assert_eq!(server.hp.to_vec(), hex("edf6d05c83121201b436e16877593c3a"));
    }

    #[test]
    fn rfc9001_header_protection_mask() {
        // RFC 9001 Appendix A.2: sample and mask of the client Initial.
        let hp = Aes128::new_from_slice(&hex("9f50449e04a0e810283a1e9933adedd2")).unwrap();
        let mut block = GenericArray::clone_from_slice(&hex("d1b1c98dd7689fb8ec11d242b123dc9b"));
        hp.encrypt_block(&mut block);
        assert_eq!(block[..5].to_vec(), hex("437b9aec36"));
    }

    #[test]
    fn version_names_follow_ndpi() {
        assert_eq!(version_name(VERSION_1), "V-1");
        assert_eq!(version_name(VERSION_2), "V-2");
        assert_eq!(version_name(0xff00_001d), "Draft-29");
        assert_eq!(version_name(0xfaceb002), "MVFST-27");
        assert_eq!(version_name(0xfaceb003), "0xfaceb003");
    }

    // ---- building protected Initial packets, as a client would ----

    fn varint(v: usize) -> Vec<u8> {
        match v {
            0..=63 => vec![v as u8],
            64..=16383 => (0x4000 | v as u16).to_be_bytes().to_vec(),
            _ => (0x8000_0000 | v as u32).to_be_bytes().to_vec(),
        }
    }

    fn crypto_frame(offset: usize, data: &[u8]) -> Vec<u8> {
        let mut v = vec![0x06];
        v.extend(varint(offset));
        v.extend(varint(data.len()));
        v.extend_from_slice(data);
        v
    }

    /// A client Initial packet carrying `frames`, padded, protected with keys from `dcid`.
    fn protect(version: u32, dcid: &[u8], pn: u32, frames: &[u8]) -> Vec<u8> {
        let params = version_params(version).unwrap();
        let m = key_material(&params, dcid, b"client in").unwrap();
        let mut payload = frames.to_vec();
        payload.resize(payload.len().max(1150), 0); // PADDING
        let pn_len = 2;
        let mut header = vec![0xc0 | params.initial_type << 4 | (pn_len as u8 - 1)];
        header.extend(version.to_be_bytes());
        header.push(dcid.len() as u8);
        header.extend_from_slice(dcid);
        header.extend([4, 1, 2, 3, 4]); // SCID
        header.push(0); // no token
        header.extend(varint(pn_len + payload.len() + TAG_LEN));
        let pn_offset = header.len();
        header.extend(((pn & 0xffff) as u16).to_be_bytes());
        let mut nonce = m.iv;
        for (n, p) in nonce.iter_mut().rev().zip(u64::from(pn).to_be_bytes().iter().rev()) {
            *n ^= p;
        }
        let aead = Aes128Gcm::new_from_slice(&m.key).unwrap();
        let tag = aead.encrypt_in_place_detached(GenericArray::from_slice(&nonce), &header, &mut payload).unwrap();
        let mut packet = header;
        packet.extend(payload);
        packet.extend(tag);
        let hp = Aes128::new_from_slice(&m.hp).unwrap();
        let mut mask = GenericArray::clone_from_slice(&packet[pn_offset + 4..pn_offset + 20]);
        hp.encrypt_block(&mut mask);
        packet[0] ^= mask[0] & 0x0f;
        for i in 0..pn_len {
            packet[pn_offset + i] ^= mask[1 + i];
        }
        packet
    }

    /// A ClientHello handshake message (header included) as QUIC clients send it.
    fn client_hello() -> Vec<u8> {
        fn ext(kind: u16, data: &[u8]) -> Vec<u8> {
            let mut v = kind.to_be_bytes().to_vec();
            v.extend((data.len() as u16).to_be_bytes());
            v.extend_from_slice(data);
            v
        }
        let host = b"quic.example.net";
        let mut sni = vec![0, (host.len() + 3) as u8, 0, 0, host.len() as u8];
        sni.extend_from_slice(host);
        let exts = [
            ext(0x0a0a, &[]),
            ext(0, &sni),
            ext(16, &[0, 3, 2, b'h', b'3']),
            ext(43, &[2, 0x03, 0x04]),
            ext(13, &[0, 4, 0x04, 0x03, 0x08, 0x04]),
            ext(10, &[0, 2, 0x00, 0x1d]),
            ext(0x39, &[0; 40]),
            ext(51, &[0; 400]),
        ]
        .concat();
        let mut body = vec![0x03, 0x03];
        body.extend([7; 32]);
        body.push(0);
        body.extend([0, 6, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03]);
        body.extend([1, 0]);
        body.extend((exts.len() as u16).to_be_bytes());
        body.extend(exts);
        let mut msg = vec![1, 0];
        msg.extend((body.len() as u16).to_be_bytes());
        msg.extend(body);
        msg
    }

    fn segment(direction: Direction, payload: &[u8]) -> Segment<'_> {
        Segment { direction, tcp_seq: None, payload }
    }

    fn assert_client_facts(f: &FlowFacts, version: u32) {
        assert_eq!(f.protocol, protocol::QUIC);
        assert_eq!(f.quic_version, version);
        assert_eq!(f.tls.sni.as_deref(), Some("quic.example.net"));
        assert_eq!(f.detected_hostname.as_deref(), Some("quic.example.net"));
        assert_eq!(f.tls.alpn, vec![Box::from("h3")]);
        assert_eq!(f.tls.client_version, 0x0304);
        let ja4 = f.tls.ja4.as_deref().unwrap();
        assert!(ja4.starts_with("q13d0307h3_"), "{ja4}");
    }

    #[test]
    fn reads_a_client_hello_in_one_initial() {
        for version in [VERSION_1, VERSION_2, 0xff00_001d] {
            let dcid = hex(RFC_DCID);
            let packet = protect(version, &dcid, 0, &crypto_frame(0, &client_hello()));
            assert_eq!(QuicDissector::probe(&segment(Forward, &packet)), Probe::Certain);
            let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
            assert_eq!(d.parse(&segment(Forward, &packet), &mut f), Parsed::Done, "{version:#x}");
            assert_client_facts(&f, version);
        }
    }

    #[test]
    fn reassembles_out_of_order_crypto_across_packets() {
        let hello = client_hello();
        let dcid = [0x5a; 12];
        let (a, b, c) = (&hello[..100], &hello[100..300], &hello[300..]);
        // Second packet first, pieces out of order with PING and PADDING between them.
        let first =
            protect(VERSION_1, &dcid, 0, &[crypto_frame(300, c), vec![0x01, 0x00, 0x00], crypto_frame(0, a)].concat());
        let second = protect(VERSION_1, &dcid, 1, &crypto_frame(100, b));
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Reverse, &first), &mut f), Parsed::Updated);
        assert_eq!(f.quic_version, VERSION_1);
        assert_eq!(f.tls.sni, None);
        // A server packet (keys from another DCID) is not read.
        let server = protect(VERSION_1, &[9; 8], 0, &crypto_frame(0, b"\x02\x00\x00\x01\x00"));
        assert_eq!(d.parse(&segment(Forward, &server), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&segment(Reverse, &second), &mut f), Parsed::Done);
        assert_client_facts(&f, VERSION_1);
    }

    #[test]
    fn coalesced_packets_and_bad_tags() {
        let hello = client_hello();
        let dcid = [1; 8];
        let mut datagram = protect(VERSION_1, &dcid, 0, &crypto_frame(0, &hello[..50]));
        datagram.extend(protect(VERSION_1, &dcid, 1, &crypto_frame(50, &hello[50..])));
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &datagram), &mut f), Parsed::Done);
        assert_client_facts(&f, VERSION_1);

        let mut broken = protect(VERSION_1, &dcid, 0, &crypto_frame(0, &hello));
        let last = broken.len() - 1;
        broken[last] ^= 1;
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &broken), &mut f), Parsed::Continue);
        assert_eq!(f.quic_version, 0);
    }

    #[test]
    fn zero_rtt_before_the_initial() {
        // 0-RTT packet (v1 type 1): no token field; its payload is not read.
        let mut zero_rtt = vec![0xd0, 0, 0, 0, 1, 8, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0x14];
        zero_rtt.extend([0x77; 20]);
        assert_eq!(QuicDissector::probe(&segment(Forward, &zero_rtt)), Probe::Certain);
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &zero_rtt), &mut f), Parsed::Continue);
        let initial = protect(VERSION_1, &[1; 8], 0, &crypto_frame(0, &client_hello()));
        assert_eq!(d.parse(&segment(Forward, &initial), &mut f), Parsed::Done);
        assert_client_facts(&f, VERSION_1);
    }

    #[test]
    fn probe_wants_a_known_initial() {
        let packet = protect(VERSION_1, &[1; 8], 0, &crypto_frame(0, &client_hello()));
        assert_eq!(
            QuicDissector::probe(&Segment { direction: Forward, tcp_seq: Some(1), payload: &packet }),
            Probe::NotForUs
        );
        let mut other = packet.clone();
        other[1..5].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        assert_eq!(QuicDissector::probe(&segment(Forward, &other)), Probe::NotForUs);
        assert_eq!(QuicDissector::probe(&segment(Forward, &packet[..20])), Probe::NotForUs);
        assert_eq!(QuicDissector::probe(&segment(Forward, b"\x16\x03\x01")), Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(
            datagrams in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..1400)), 0..6),
        ) {
            let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
            for (reverse, bytes) in datagrams {
                let _ = QuicDissector::probe(&segment(Forward, &bytes));
                let _ = d.parse(&segment(if reverse { Reverse } else { Forward }, &bytes), &mut f);
            }
        }

        #[test]
        fn mutated_initials_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut packet = protect(VERSION_1, &[3; 8], 0, &crypto_frame(0, &client_hello()));
            for (at, value) in edits {
                let i = at.index(packet.len());
                packet[i] = value;
            }
            packet.truncate(cut.index(packet.len() + 1));
            let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
            let _ = d.parse(&segment(Forward, &packet), &mut f);
        }

        #[test]
        fn arbitrary_plaintext_frames_never_panic(frames in proptest::collection::vec(any::<u8>(), 0..1200)) {
            // Reaches the frame walker and CRYPTO reassembly with any content.
            let packet = protect(VERSION_1, &[4; 8], 0, &frames);
            let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
            let _ = d.parse(&segment(Forward, &packet), &mut f);
        }
    }
}
