//! QUIC dissector: the TLS hellos inside the Initial packets of both sides.
//!
//! Initial packets are encrypted with keys anyone can derive from the Destination Connection ID
//! the client chose (RFC 9001 §5.2; RFC 9369 §3.3 for QUIC v2): the client's packets with the
//! secret labelled `client in`, the server's with `server in`, both from that same DCID. So: read
//! the long header (RFC 9000 §17.2.2), derive the client's Initial keys, remove header protection
//! (AES-128-ECB mask, RFC 9001 §5.4), open the payload (AES-128-GCM, §5.3), collect CRYPTO frames
//! into a bounded buffer by offset (a ClientHello may span several packets, and browsers send its
//! pieces out of order), and hand the finished ClientHello to the TLS parser: SNI, ALPN, client
//! version and JA4 (`q`). Then the server's first Initial is opened the same way with the
//! server's keys, and its ServerHello handed to the TLS ServerHello parser: negotiated TLS version,
//! cipher suite and JA3S, as for TLS over TCP (a HelloRetryRequest first counts as there).
//!
//! The server's ALPN is not among them: TLS 1.3 sends it in EncryptedExtensions, which QUIC
//! carries in Handshake packets, protected with keys from the (EC)DHE exchange (RFC 9001 §4.1.4)
//! that no observer can derive. A QUIC flow's `tls.alpn_negotiated` stays empty (a ServerHello
//! that did carry one would fill it).
//!
//! Version negotiation (RFC 9000 §6, §17.2.1): a client may open with a version reserved to force
//! it (0x?a?a?a?a, RFC 9000 §15); its packet cannot be opened, but the flow is QUIC with that
//! version (named `Ver-Negotiation`, as nDPI names it) until the client's Initial in a version
//! the server listed opens, whose version the flow then reports, as nDPI does. A client Initial
//! that opens only with keys derived afresh (after the server's Version Negotiation or Retry,
//! RFC 9000 §17.2.5) starts the connection again: its DCID keys the server's Initial. Once a
//! ClientHello is read the flow keeps that Initial's version, as nDPI does (nDPI's quic-28.pcap:
//! a draft-28 client told by Version Negotiation to use draft 27 is `Draft-28`). A server Initial
//! in another version than the client's (compatible version negotiation, RFC 9368 §4) is opened
//! in its own version; the flow keeps the client's.
//!
//! Google's Q050, T050 and T051 protect their Initials the same way with salts of their own
//! (Chromium's `InitialSaltForVersion`) and gQUIC frame types; Q050's CRYPTO stream is a
//! QUIC-crypto CHLO (server name, user agent) rather than TLS, and its server's answer is not read.
//!
//! Allocation: a per-flow scratch buffer for in-place decryption and the CRYPTO buffer (the
//! client's stream, then the server's), each allocated once, on the first Initial; nothing per
//! packet. Both go when detection ends.

use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use aes::Aes128;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::Aes128Gcm;
use hkdf::Hkdf;
use sha2::Sha256;

use super::reader::Reader;
use super::tls::{self, ServerAnswer, Transport};
use super::{protocol, Direction, Dissector, Parsed, Ports, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

/// The part of the CRYPTO stream we keep: the ClientHello must lie within it. Post-quantum key
/// shares make hellos of ~1.8 KB; 8 KiB leaves room.
pub const CRYPTO_LIMIT: usize = 8 * 1024;

/// Largest Initial packet decrypted. RFC 9000 §14: at least 1200 bytes; paths rarely carry
/// more than 1500, so a packet beyond this is not an Initial we can read.
const MAX_PACKET: usize = 4096;

/// Initial packets from the client tried before giving up on the flow.
const MAX_INITIALS: u8 = 8;

/// Datagrams after the ClientHello within which the server's ServerHello must come; after them
/// the flow keeps what the client said (a capture of one direction, a server that never answers).
/// A Version Negotiation or Retry packet starts the count again.
const MAX_WAIT: u8 = 16;

/// RFC 9000 §14.1: a client pads every datagram carrying an Initial to at least 1200 bytes, and a
/// server answers a smaller one with nothing, Version Negotiation included.
const MIN_CLIENT_DATAGRAM: usize = 1200;

/// TLS handshake message types (RFC 8446 §4).
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;

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
    handshake: Handshake,
}

/// What an Initial's plaintext holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handshake {
    /// IETF frames (CRYPTO is 0x06), a TLS ClientHello.
    Tls,
    /// Google's T050/T051: gQUIC frames (CRYPTO is 0x08, PING 0x07), a TLS ClientHello.
    GoogleTls,
    /// Google's Q050: gQUIC frames, a QUIC-crypto CHLO message (tags SNI, UAID).
    GoogleChlo,
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

/// Google QUIC versions with IETF-style Initial protection, each with its own salt (Chromium's
/// `InitialSaltForVersion`): Q050 carries gQUIC frames and a CHLO, T050/T051 IETF frames and
/// a TLS ClientHello.
const SALT_Q050: [u8; 20] = [
    0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe, 0x2f, 0x9d, 0x94, 0x5c, 0xfc, 0xdb, 0xd3, 0xa7, 0xf0, 0xd3, 0xb5, 0x6b,
    0x45,
];
const SALT_T050: [u8; 20] = [
    0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80, 0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83,
    0x10,
];
const SALT_T051: [u8; 20] = [
    0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50, 0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03,
    0x3d,
];
pub const Q050: u32 = u32::from_be_bytes(*b"Q050");
pub const T050: u32 = u32::from_be_bytes(*b"T050");
pub const T051: u32 = u32::from_be_bytes(*b"T051");

/// Facebook's mvfst versions: its draft-22 and draft-27 builds and its experimental one
/// (draft-27 keys).
const MVFST_22: u32 = 0xface_b001;
const MVFST_27: u32 = 0xface_b002;
const MVFST_EXP: u32 = 0xface_b00e;

pub const VERSION_1: u32 = 0x0000_0001;
pub const VERSION_2: u32 = 0x6b33_43cf;

/// RFC 9000 §15: versions 0x?a?a?a?a are reserved to force version negotiation.
pub fn forces_negotiation(version: u32) -> bool {
    version & 0x0f0f_0f0f == 0x0a0a_0a0a
}

fn version_params(version: u32) -> Option<VersionParams> {
    let handshake = match version {
        Q050 => Handshake::GoogleChlo,
        T050 | T051 => Handshake::GoogleTls,
        _ => Handshake::Tls,
    };
    let (salt, initial_type, labels) = match version {
        VERSION_1 => (SALT_V1, 0, V1_LABELS),
        VERSION_2 => (SALT_V2, 1, V2_LABELS),
        0xff00_0021..=0xff00_0022 => (SALT_V1, 0, V1_LABELS),
        0xff00_001d..=0xff00_0020 => (SALT_DRAFT_29, 0, V1_LABELS),
        0xff00_0017..=0xff00_001c | MVFST_27 | MVFST_EXP => (SALT_DRAFT_23, 0, V1_LABELS),
        0xff00_0016 | MVFST_22 => (SALT_DRAFT_22, 0, V1_LABELS),
        Q050 => (SALT_Q050, 0, V1_LABELS),
        T050 => (SALT_T050, 0, V1_LABELS),
        T051 => (SALT_T051, 0, V1_LABELS),
        _ => return None,
    };
    Some(VersionParams { version, salt, initial_type, labels, handshake })
}

/// The version as nDPI spells it: `V-1`, `V-2`, `Draft-29`, `Ver-Negotiation` for the versions
/// reserved to force version negotiation; other values in hex.
pub fn version_name(version: u32) -> String {
    match version {
        VERSION_1 => "V-1".into(),
        VERSION_2 => "V-2".into(),
        v if forces_negotiation(v) => "Ver-Negotiation".into(),
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

/// Keys of one side's Initial packets (`b"client in"` or `b"server in"`, RFC 9001 §5.2).
fn initial_keys(params: &VersionParams, dcid: &[u8], side: &[u8]) -> Option<InitialKeys> {
    let m = key_material(params, dcid, side)?;
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
    /// RFC 9000 §17.2.1: the versions a server speaks, answering a packet of another version.
    /// Its Source Connection ID copies the Destination Connection ID of that packet.
    Negotiation { scid: &'a [u8] },
    /// A client's packet in a version reserved to force version negotiation: only the
    /// version-independent header (RFC 8999 §5.1) can be read.
    ForcingNegotiation { version: u32, dcid: &'a [u8] },
    /// RFC 9000 §17.2.5: the server asks the client to start again with a new DCID.
    Retry,
    /// A short header, or bytes that do not parse: the rest of the datagram is not read.
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
        let scid = r.take(scid_len).filter(|c| c.len() <= MAX_CID)?;
        if version == 0 {
            // The rest of the datagram lists versions, four bytes each.
            let versions = data.get(r.position()..)?;
            return (!versions.is_empty() && versions.len() % 4 == 0).then_some(LongPacket::Negotiation { scid });
        }
        if forces_negotiation(version) {
            return Some(LongPacket::ForcingNegotiation { version, dcid });
        }
        let params = version_params(version)?;
        let kind = (first >> 4) & 0x03;
        let initial = kind == params.initial_type;
        // Retry: 0b11 in v1, 0b00 in v2 (RFC 9369 §3.2); it has no Length field.
        let retry = kind == if version == VERSION_2 { 0 } else { 3 };
        if retry {
            return Some(LongPacket::Retry);
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

/// The long-header packets coalesced in a datagram (RFC 9000 §12.2), each with the bytes from its
/// start. The walk ends after a packet whose end it cannot know (Version Negotiation, Retry, a
/// version it does not know, a short header).
fn coalesced(datagram: &[u8]) -> impl Iterator<Item = (LongPacket<'_>, &[u8])> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        let here = rest;
        if here.is_empty() {
            return None;
        }
        let packet = long_packet(here);
        let len = match &packet {
            LongPacket::Initial(initial) => initial.len,
            LongPacket::Other(len) => *len,
            _ => here.len(),
        };
        rest = here.get(len.max(1)..).unwrap_or_default();
        Some((packet, here))
    })
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
            && (end.is_multiple_of(64)
                || self.have.get(end / 64).is_some_and(|&w| w | !((1u64 << (end % 64)) - 1) == u64::MAX))
    }

    /// Forget what has arrived: the stream starts again (the server's, or a new connection's).
    fn clear(&mut self) {
        self.have.fill(0);
    }

    /// Where the handshake message of type `kind` starting at offset `at` stands: complete (its
    /// body), still arriving, or impossible (another message, or beyond the limit).
    fn message(&self, at: usize, kind: u8) -> HelloState<'_> {
        let body_at = at.saturating_add(4);
        if body_at > CRYPTO_LIMIT {
            return HelloState::Bad;
        }
        if !self.has_prefix(body_at) {
            return HelloState::Partial;
        }
        let header = self.data.get(at..body_at).unwrap_or_default();
        let (Some(&found), Some(len)) = (header.first(), header.get(1..4)) else {
            return HelloState::Partial;
        };
        let end = body_at + len.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        if found != kind || end > CRYPTO_LIMIT {
            return HelloState::Bad;
        }
        match self.data.get(body_at..end) {
            Some(body) if self.has_prefix(end) => HelloState::Complete(body),
            _ => HelloState::Partial,
        }
    }
}

impl CryptoStream {
    /// Where a Q050 CHLO stands: tag `CHLO`, entry count (u16 LE), two bytes of padding, then
    /// (tag, end offset u32 LE) pairs and the values; the last end offset gives its length.
    fn chlo(&self) -> HelloState<'_> {
        if !self.has_prefix(8) {
            return HelloState::Partial;
        }
        let Some(header) = self.data.get(..8) else { return HelloState::Partial };
        let count = usize::from(u16::from_le_bytes([header[4], header[5]]));
        if &header[..4] != b"CHLO" || count == 0 || count > super::gquic::MAX_ENTRIES {
            return HelloState::Bad;
        }
        let index_end = 8 + count * 8;
        if !self.has_prefix(index_end) {
            return HelloState::Partial;
        }
        let Some(last) = self.data.get(index_end - 4..index_end) else { return HelloState::Bad };
        let values = u32::from_le_bytes([last[0], last[1], last[2], last[3]]) as usize;
        let end = index_end.saturating_add(values);
        if end > CRYPTO_LIMIT {
            return HelloState::Bad;
        }
        match self.data.get(..end) {
            Some(msg) if self.has_prefix(end) => HelloState::Complete(msg),
            _ => HelloState::Partial,
        }
    }
}

enum HelloState<'a> {
    Complete(&'a [u8]),
    Partial,
    Bad,
}

/// A connection ID (at most 20 bytes, RFC 9000 §17.2), kept inline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ConnectionId {
    len: u8,
    bytes: [u8; MAX_CID],
}

impl ConnectionId {
    fn new(id: &[u8]) -> Self {
        let mut cid = ConnectionId::default();
        if let (Some(dst), Ok(len)) = (cid.bytes.get_mut(..id.len()), u8::try_from(id.len())) {
            dst.copy_from_slice(id);
            cid.len = len;
        }
        cid
    }

    fn as_slice(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

/// Per-flow QUIC state.
#[derive(Default)]
pub struct QuicDissector {
    /// The direction the client's Initial packets travel, once one has been opened (or one in a
    /// version forcing negotiation has been seen).
    client: Option<Direction>,
    /// Keys of the client's Initial packets, from the first one opened.
    keys: Option<(u32, InitialKeys)>,
    /// The Destination Connection ID those keys come from; the server's come from it too.
    dcid: ConnectionId,
    /// What the opened Initials carry (from their version).
    handshake: Option<Handshake>,
    /// Decryption happens in place, in this copy of one packet.
    scratch: Vec<u8>,
    /// The client's CRYPTO stream until its hello is read, then the server's.
    crypto: Option<CryptoStream>,
    initials_tried: u8,
    /// Once the ClientHello is read: where the server's next handshake message starts in its
    /// CRYPTO stream (0, or after a HelloRetryRequest).
    server_at: Option<usize>,
    /// The server sent a HelloRetryRequest.
    hello_retry: bool,
    /// Datagrams since the ClientHello (or since the server's Version Negotiation or Retry).
    waited: u8,
    outcome: Option<Parsed>,
}

impl std::fmt::Debug for QuicDissector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicDissector")
            .field("client", &self.client)
            .field("version", &self.keys.as_ref().map(|k| k.0))
            .field("initials_tried", &self.initials_tried)
            .field("server_at", &self.server_at)
            .field("waited", &self.waited)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl Dissector for QuicDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::QUIC;
    const TRANSPORTS: Transports = Transports::NOT_TCP;

    /// UDP 443 (HTTP/3): only a tie-breaker and the guess for unclaimed flows.
    const PORTS: Ports = Ports::udp(&[443]);

    /// Certain for a UDP datagram that opens with a long-header packet of a version we know
    /// (fixed bit set, connection IDs of legal length, length within the datagram). Not only
    /// Initials: a capture may show a client's 0-RTT packet before its Initial (nDPI's
    /// quic_0RTT.pcap does). Also a client's first datagram in a version that forces version
    /// negotiation, padded as a client pads its Initials.
    fn probe(segment: &Segment<'_>) -> Probe {
        if segment.tcp_seq.is_some() {
            return Probe::NotForUs;
        }
        let p = segment.payload;
        let fixed = p.first().is_some_and(|&b| b & 0xc0 == 0xc0);
        match long_packet(p) {
            LongPacket::Initial(_) | LongPacket::Other(_) if fixed => Probe::Certain,
            LongPacket::ForcingNegotiation { .. } if fixed && p.len() >= MIN_CLIENT_DATAGRAM => Probe::Certain,
            _ => Probe::NotForUs,
        }
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if let Some(outcome) = self.outcome {
            return outcome;
        }
        if segment.tcp_seq.is_some() {
            return self.finish(Parsed::Skipped(Skip::WrongTransport));
        }
        if self.client.is_some_and(|c| c != segment.direction) {
            return self.server_datagram(segment.payload, facts);
        }
        if self.server_at.is_some() {
            return self.client_after_hello(segment.payload);
        }
        let claimed_before = self.client.is_some();
        let version_before = facts.quic_version;
        for (packet, bytes) in coalesced(segment.payload) {
            match packet {
                LongPacket::Initial(packet) => {
                    if let Some(fresh) = self.open_client_initial(bytes, &packet, true) {
                        if self.client.is_none() {
                            self.client = Some(segment.direction);
                            facts.protocol = protocol::QUIC;
                        }
                        if fresh {
                            facts.quic_version = packet.params.version;
                            self.handshake = Some(packet.params.handshake);
                        }
                    }
                }
                LongPacket::ForcingNegotiation { version, dcid } => {
                    self.initials_tried = self.initials_tried.saturating_add(1);
                    if self.client.is_none() && segment.payload.len() >= MIN_CLIENT_DATAGRAM {
                        self.client = Some(segment.direction);
                        self.dcid = ConnectionId::new(dcid);
                        facts.protocol = protocol::QUIC;
                        facts.quic_version = version;
                    }
                }
                _ => {}
            }
        }
        let chlo = self.handshake == Some(Handshake::GoogleChlo);
        let state = self.crypto.as_ref().map(|c| if chlo { c.chlo() } else { c.message(0, CLIENT_HELLO) });
        match state {
            Some(HelloState::Complete(body)) if chlo => {
                let parsed = super::gquic::record_chlo(body, facts);
                self.finish(if parsed { Parsed::Done } else { Parsed::Skipped(Skip::Malformed) })
            }
            Some(HelloState::Complete(body)) => {
                if !tls::record_client_hello(body, Transport::Quic, facts) {
                    return self.finish(Parsed::Skipped(Skip::Malformed));
                }
                // The server's Initial is next: its CRYPTO stream takes the buffer's place.
                self.await_server_hello();
                Parsed::Updated
            }
            Some(HelloState::Bad) => self.finish(Parsed::Skipped(Skip::Malformed)),
            _ if (!claimed_before && self.client.is_some()) || facts.quic_version != version_before => Parsed::Updated,
            _ if self.initials_tried >= MAX_INITIALS => self.finish(Parsed::Skipped(Skip::NotFound)),
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

    /// A client datagram once its ClientHello is read. Its Initials are opened only to see
    /// whether one starts the connection again (after a Version Negotiation or a Retry): then the
    /// server's Initial is keyed from its DCID, in its version. The flow's version stays the one
    /// of the ClientHello read, as nDPI reports it.
    fn client_after_hello(&mut self, payload: &[u8]) -> Parsed {
        let mut restarted = false;
        for (packet, bytes) in coalesced(payload) {
            if let LongPacket::Initial(packet) = packet {
                restarted |= self.open_client_initial(bytes, &packet, false) == Some(true);
            }
        }
        if restarted {
            // The server answers the new attempt from the start of its CRYPTO stream.
            self.await_server_hello();
        }
        self.wait()
    }

    /// Wait for the ServerHello from the start of the server's CRYPTO stream, which takes the
    /// buffer's place: after the ClientHello, and again when the client starts over.
    fn await_server_hello(&mut self) {
        self.server_at = Some(0);
        self.hello_retry = false;
        self.waited = 0;
        if let Some(crypto) = self.crypto.as_mut() {
            crypto.clear();
        }
    }

    /// A server datagram: Version Negotiation, Retry, or Initial (with Handshake packets after
    /// it). Before the ClientHello is read only the first two count.
    fn server_datagram(&mut self, payload: &[u8], facts: &mut FlowFacts) -> Parsed {
        let mut restart = false;
        for (packet, bytes) in coalesced(payload) {
            match packet {
                LongPacket::Initial(packet) if self.server_at.is_some() => self.open_server_initial(bytes, &packet),
                // The client starts again: with a version listed here, or with the Retry's
                // connection ID as its DCID.
                LongPacket::Negotiation { scid } => restart = scid == self.dcid.as_slice(),
                LongPacket::Retry => restart = true,
                _ => {}
            }
        }
        let Some(at) = self.server_at else {
            return Parsed::Continue;
        };
        if restart {
            self.waited = 0;
            return Parsed::Continue;
        }
        match self.crypto.as_ref().map(|c| c.message(at, SERVER_HELLO)) {
            Some(HelloState::Complete(body)) => {
                let end = at + 4 + body.len();
                match tls::record_server_hello(body, Transport::Quic, self.hello_retry, facts) {
                    Some(ServerAnswer::RetryRequest) => {
                        // The real ServerHello follows in the stream, after the client's second
                        // ClientHello.
                        self.hello_retry = true;
                        self.server_at = Some(end);
                        Parsed::Updated
                    }
                    // The handshake's version and cipher are known.
                    Some(ServerAnswer::Hello { .. }) => self.finish(Parsed::Done),
                    // A malformed ServerHello, or a second HelloRetryRequest: what the client said
                    // stands.
                    None => self.finish(Parsed::Done),
                }
            }
            Some(HelloState::Bad) => self.finish(Parsed::Done),
            _ => self.wait(),
        }
    }

    /// One more datagram without the ServerHello.
    fn wait(&mut self) -> Parsed {
        self.waited = self.waited.saturating_add(1);
        if self.waited >= MAX_WAIT {
            self.finish(Parsed::Done)
        } else {
            Parsed::Continue
        }
    }

    /// Decrypt one Initial packet of the client (the first `packet.len` bytes of `data`) and,
    /// with `take_crypto`, take its CRYPTO frames. `None` when it does not open with the client's
    /// keys; `Some(true)` when it opened only with keys derived from its own DCID and version:
    /// the connection's first Initial, or a new attempt.
    fn open_client_initial(&mut self, data: &[u8], packet: &InitialPacket<'_>, take_crypto: bool) -> Option<bool> {
        self.initials_tried = self.initials_tried.saturating_add(1);
        let bytes = data.get(..packet.len).filter(|b| b.len() <= MAX_PACKET)?;
        let version = packet.params.version;
        let google = packet.params.handshake != Handshake::Tls;
        // The client's first Initial fixes the keys (RFC 9001 §5.2). A Retry or a Version
        // Negotiation makes the client start again with a new DCID or version, so keys that fail
        // are derived again from this packet.
        if let Some((_, keys)) = self.keys.as_ref().filter(|(v, _)| *v == version) {
            if let Some(frames) = unprotect(keys, refill(&mut self.scratch, bytes), packet.pn_offset) {
                if take_crypto {
                    take_crypto_frames(frames, google, self.crypto.get_or_insert_with(CryptoStream::new));
                }
                return Some(false);
            }
        }
        let keys = initial_keys(&packet.params, packet.dcid, b"client in")?;
        let frames = unprotect(&keys, refill(&mut self.scratch, bytes), packet.pn_offset)?;
        if take_crypto {
            let crypto = self.crypto.get_or_insert_with(CryptoStream::new);
            crypto.clear(); // a new attempt's CRYPTO stream starts again
            take_crypto_frames(frames, google, crypto);
        }
        self.keys = Some((version, keys));
        self.dcid = ConnectionId::new(packet.dcid);
        Some(true)
    }

    /// Decrypt one Initial packet of the server with keys from the client's DCID (RFC 9001 §5.2)
    /// in the packet's own version, and take its CRYPTO frames. A server may answer in another
    /// version than the client's Initial (compatible version negotiation, RFC 9368 §4; nDPI's
    /// quic-28.pcap shows a draft-28 client answered in draft 27, which has the same keys): the
    /// flow keeps reporting the client's version, as nDPI does.
    fn open_server_initial(&mut self, data: &[u8], packet: &InitialPacket<'_>) {
        let Some(bytes) = data.get(..packet.len).filter(|b| b.len() <= MAX_PACKET) else { return };
        let Some(keys) = initial_keys(&packet.params, self.dcid.as_slice(), b"server in") else { return };
        let Some(frames) = unprotect(&keys, refill(&mut self.scratch, bytes), packet.pn_offset) else { return };
        if let Some(crypto) = self.crypto.as_mut() {
            take_crypto_frames(frames, packet.params.handshake != Handshake::Tls, crypto);
        }
    }
}

/// `scratch` holding a copy of `bytes`, to decrypt in place (its capacity is kept).
fn refill<'a>(scratch: &'a mut Vec<u8>, bytes: &[u8]) -> &'a mut [u8] {
    scratch.clear();
    scratch.extend_from_slice(bytes);
    scratch
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
/// CONNECTION_CLOSE are allowed there, §17.2.2) and keep CRYPTO data. Google's versions use
/// gQUIC frame types (PADDING 0x00, PING 0x07, CRYPTO 0x08 with the same varint fields); their
/// ACK frames are not walked: a packet's frames are read up to the first one.
fn take_crypto_frames(frames: &[u8], google: bool, crypto: &mut CryptoStream) {
    let mut r = Reader::new(frames);
    while !r.is_empty() {
        let Some(kind) = r.varint() else { return };
        let crypto_frame = if google { 0x08 } else { 0x06 };
        let ok = match kind {
            0x00 => Some(()),            // PADDING
            0x01 if !google => Some(()), // PING
            0x07 if google => Some(()),  // PING
            0x02 | 0x03 if !google => skip_ack(&mut r, kind == 0x03),
            k if k == crypto_frame => (|| {
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
    use crate::facts::finality::Final;
    use crate::facts::Direction::{Forward, Reverse};
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
        assert_eq!(version_name(Q050), "Q050");
        assert_eq!(version_name(T051), "T051");
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

    /// Protect a packet whose unprotected `header` ends with its `pn_len`-byte packet number:
    /// AEAD over the payload, then header protection (RFC 9001 §5.3, §5.4).
    fn seal(m: &KeyMaterial, header: Vec<u8>, pn_len: usize, pn: u64, mut payload: Vec<u8>) -> Vec<u8> {
        let pn_offset = header.len() - pn_len;
        let mut nonce = m.iv;
        for (n, p) in nonce.iter_mut().rev().zip(pn.to_be_bytes().iter().rev()) {
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

    /// The client's source connection ID in these tests; the server's Initials are sent to it.
    const CLIENT_SCID: [u8; 4] = [1, 2, 3, 4];
    const SERVER_SCID: [u8; 8] = [0x5e; 8];

    /// An Initial packet of `version` carrying `frames`, padded to `min_payload`, protected with
    /// the keys of `side` derived from `key_dcid`, with `dcid` and `scid` in its header.
    #[allow(clippy::too_many_arguments)]
    fn protect_as(
        side: &[u8],
        version: u32,
        key_dcid: &[u8],
        dcid: &[u8],
        scid: &[u8],
        pn: u32,
        frames: &[u8],
        min_payload: usize,
    ) -> Vec<u8> {
        let params = version_params(version).unwrap();
        let m = key_material(&params, key_dcid, side).unwrap();
        let mut payload = frames.to_vec();
        payload.resize(payload.len().max(min_payload), 0); // PADDING
        let pn_len = 2;
        let mut header = vec![0xc0 | params.initial_type << 4 | (pn_len as u8 - 1)];
        header.extend(version.to_be_bytes());
        header.push(dcid.len() as u8);
        header.extend_from_slice(dcid);
        header.push(scid.len() as u8);
        header.extend_from_slice(scid);
        header.push(0); // no token
        header.extend(varint(pn_len + payload.len() + TAG_LEN));
        header.extend(((pn & 0xffff) as u16).to_be_bytes());
        seal(&m, header, pn_len, u64::from(pn), payload)
    }

    /// A client Initial packet carrying `frames`, padded, protected with keys from `dcid`.
    fn protect(version: u32, dcid: &[u8], pn: u32, frames: &[u8]) -> Vec<u8> {
        protect_as(b"client in", version, dcid, dcid, &CLIENT_SCID, pn, frames, 1150)
    }

    /// A server Initial packet carrying `frames`, protected with the server's keys from the
    /// client's DCID `key_dcid`.
    fn server_initial(version: u32, key_dcid: &[u8], pn: u32, frames: &[u8]) -> Vec<u8> {
        protect_as(b"server in", version, key_dcid, &CLIENT_SCID, &SERVER_SCID, pn, frames, 20)
    }

    fn ext(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut v = kind.to_be_bytes().to_vec();
        v.extend((data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    /// A ServerHello handshake message (header included) choosing TLS 1.3 and `cipher`, with a
    /// key share and `more` extensions.
    fn server_hello(random: [u8; 32], cipher: u16, more: &[u8]) -> Vec<u8> {
        let mut exts = ext(43, &[0x03, 0x04]);
        exts.extend(ext(51, &[&[0x00, 0x1d, 0x00, 0x20][..], &[9; 32]].concat()));
        exts.extend_from_slice(more);
        let mut body = vec![0x03, 0x03];
        body.extend(random);
        body.push(0); // legacy_session_id_echo: empty in QUIC (RFC 9001 §8.4)
        body.extend(cipher.to_be_bytes());
        body.push(0);
        body.extend((exts.len() as u16).to_be_bytes());
        body.extend(exts);
        handshake(2, &body)
    }

    /// A handshake message: type, 24-bit length, body (RFC 8446 §4).
    fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut msg = vec![kind, 0];
        msg.extend((body.len() as u16).to_be_bytes());
        msg.extend_from_slice(body);
        msg
    }

    /// RFC 8446 §4.1.3: the random of a HelloRetryRequest.
    fn retry_random() -> [u8; 32] {
        hex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c").try_into().unwrap()
    }

    /// A ClientHello handshake message (header included) as QUIC clients send it.
    fn client_hello() -> Vec<u8> {
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
        handshake(1, &body)
    }

    fn segment(direction: Direction, payload: &[u8]) -> Segment<'_> {
        Segment { direction, tcp_seq: None, payload }
    }

    fn assert_client_facts(f: &FlowFacts, version: u32) {
        assert_eq!(f.protocol, protocol::QUIC);
        assert_eq!(f.quic_version, version);
        assert_eq!(f.tls.sni(), Some("quic.example.net"));
        assert_eq!(f.detected_hostname(), Some("quic.example.net"));
        assert_eq!(f.tls.alpn().iter().collect::<Vec<_>>(), ["h3"]);
        assert_eq!(f.tls.client_version, 0x0304);
        let ja4 = f.tls.ja4().unwrap();
        let ja4 = ja4.as_str();
        assert!(ja4.starts_with("q13d0307h3_"), "{ja4}");
    }

    #[test]
    fn reads_a_client_hello_in_one_initial() {
        for version in [VERSION_1, VERSION_2, 0xff00_001d] {
            let dcid = hex(RFC_DCID);
            let packet = protect(version, &dcid, 0, &crypto_frame(0, &client_hello()));
            assert_eq!(QuicDissector::probe(&segment(Forward, &packet)), Probe::Certain);
            let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
            assert_eq!(d.parse(&segment(Forward, &packet), &mut f), Parsed::Updated, "{version:#x}");
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
        assert_eq!(f.tls.sni(), None);
        // A server packet (keys from another DCID) is not read.
        let server = protect(VERSION_1, &[9; 8], 0, &crypto_frame(0, b"\x02\x00\x00\x01\x00"));
        assert_eq!(d.parse(&segment(Forward, &server), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&segment(Reverse, &second), &mut f), Parsed::Updated);
        assert_client_facts(&f, VERSION_1);
    }

    #[test]
    fn coalesced_packets_and_bad_tags() {
        let hello = client_hello();
        let dcid = [1; 8];
        let mut datagram = protect(VERSION_1, &dcid, 0, &crypto_frame(0, &hello[..50]));
        datagram.extend(protect(VERSION_1, &dcid, 1, &crypto_frame(50, &hello[50..])));
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &datagram), &mut f), Parsed::Updated);
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
        assert_eq!(d.parse(&segment(Forward, &initial), &mut f), Parsed::Updated);
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

    /// nDPI's quic_q50.pcap, the client's first datagram: a Q050 Initial carrying a CHLO.
    const Q050_INITIAL: &str = concat!(
        "cb5130353008df4a089e4eff5e7a000045344a1f86ea325a43e59578aa9f561c1e93255c740837555b78c9702822fba4",
        "48495a77765d17b70fdda2bc4309ce11da696592f83654b5275e1032426448a2c7eca4ecfc9d60e50cbb4ddda8262bcc",
        "814e217818ecac4297f8a97ecee9821a3eebdebc7f3e2186a1eac30ae51856cf3fdc33f1ae9d39bcfa4be2833a626db4",
        "44bd782e4764725a59128b4fcc055f2aba7e6ce448ac4b0e6a408e15c9e644bc6968f7beb24b85c50edef8da3cea2fbe",
        "6575291c835120eaeb00a3ba327aa11e0d77e931f7d09472e55d6fbebc7d991be8ce4bf347846b9a6396158cbd307718",
        "bd1f68cec7a754c459ee661190f5a60883d7a67844138a2d066f8f6052529d5667a10627d87bc380a657f881b4b43b55",
        "6ac9efb885ad5327a164c380dc0bb3d8937e9d28f17c3115f50e5e19e87c64beed5c89c80974299930688541acd27c94",
        "8bf11fc438650913c44f2058c4fcad8339f008e4d19c657ac940cd60d5ba576b70a6f6db170d79179ed8db88bdf0de37",
        "82561825456a1e6570ae8b2c790bdd58bb4e2c45e900abf06022779c9a5254ec8161777ca2400ed3c55e55bc9da5e9f4",
        "89438448df37002c26e34d9a9e78cc22a6c912429b66bd44fdb58b504f5acabc9cdede12234adf015dcfec1ce887e78f",
        "4b49451b69846d1dd2b65e237a3540e5b6c135d4009765d50af95f90c72037ac0dce4694b6863f579c09a9ca967f3c54",
        "ffb0b1232baa8ecdade469008ab6d1e860f5bd2306f00e3d70174921ed185303842fde2f25967a9201712d2cdb92a21b",
        "fc919eba70a9dc898fb70e7596948a98ece0bbe6a2440c34d3bd9b71979d9a8c2fc8d98c67a67017d1b6fd3d41cd389a",
        "c54422bb0a61d0ca4336ad0a13c64bc7bdb9dbeac72589296ad8c778fa45bce6f75da51f3fb2aa306417cac5f30eeae0",
        "30dfa2509991076ee07d5ec171e2dc68abf826c38495aec3fee8e1b90d14e98172a363b899952cd3ac8c956dfa261f56",
        "91e8e080703a484e7c0ba68cd2d65502ae0fcd456695416ce76a76daa811ab9bdec7be1312ee7c85d902423af5a50f78",
        "5c5997aa093e0152b49d7b6a74ce096213de695d1e747b9cae7a61b6b0da950214c075fbce816a3ff033604a1e0b3b6a",
        "0e2fe46b0a1dc5ce0f9846fa34cdb993f09751e097e2e530bf9fa9e3a6cddced4cfb1be56f6ad14451bd519d79ece87e",
        "8de6cebbed2b4dd88aebbcb20c90cc7b6553bc6b178befc6da0376cc85b01b275cfc89c73d134d40a7c7842da382077a",
        "c2fe1def5a4f39a23e5cd7b597b24d3331f07db9190439426dc4a3fabaf25d118f408842b1c0d9885146ac6067cb21f9",
        "ede6bab0633f777ee05556beba42539e8bcdabff4b69f4ab581685d91acd60613e4dca653582344aae5e6fd0eb7c7a68",
        "cf81cf8cee30eaec1921e1d08e5c34d3e75a3186d4a4d62fcc1aeee096281b8f859df2e7689d915faad581f05022a9cf",
        "7bef21a3ea157c35099ec03a7b9253942e6e0d469a45cac2d3e262ff062f869afd2a2c5670836bfd0e8825ff11b9a34c",
        "58652861046649f2521abf5dd8ed5394eea62e98b43f263dadaa3ea2b6a6244655312f42bda17360c3387a438312d23d",
        "96f9bc19533052ec216eab9c64108d22502e7aebc303d9856b1f47dc36b41675c5f341db905d06d290aab5648b6c3140",
        "16d57d4880a9df3c074c9d88724532cdf2baa5a0faf2b2ca161514048ed6797e3eb3477826bd7484b1e1793868a179eb",
        "e71387b4179211a4050bdce51b0c08ba85f30ea029ab705b54aa1dbba1e83884ecb6669d9b7fcc21ceff2ae6aa23d363",
        "320685495984556387e166d0722f47b281db9e92567bc29e3f7a752d2a8639233ac97a336e9924d21311bc027f1a7cea",
        "f0ac4de87e94",
    );

    /// nDPI's quic_t51.pcap, the client's first datagram: a T051 Initial carrying a ClientHello.
    const T051_INITIAL: &str = concat!(
        "c15430353108ff9415b5b005860d0000453495cd6c78ab2880cd312769b2e008aaa61f91ff63764e5a29bfa2f509327b",
        "e26808a2975e4ccb1b7589a66473fcd0e5e2cf3a2d6ba6051d567d55e01c119a3ca6012089865483bd1b35e774db6b81",
        "6369f80080496a84da65ce1d94afc1e13894142f9689831dc5cbc7dd2d9596684af91736814407a8060b933aafcf933a",
        "3582e576294ac5c0b0fd3a09fb3bb97c74c06d08a9145a9b0fde462daee804253b8cf13fc23d9013533d5a4e76f92ae0",
        "6cd88a0879b43a2f3ffda0bef1047ca0f4155ac4338e47326a03160dac9c1e8f99da087662a1822687a914db2a82d3bc",
        "b9658d0e26a2b0734740308fac2b7910356f2cc2e4659413704f5bc48849b9c07808dafddba911023681e18e42a83004",
        "79aaf94ed089dc8bb40b66f3063a22e49f4b3e2c150506217f1b6a19d5fd3b79c034a8dd6cc56abd897be36306a36605",
        "9b6279d3ba0f3015cba8f256d9ada3fd796b74872a2c92d7cb5aee89eb7661fa1fe5c4da317429eb0c8eabcb3690b11e",
        "6f446a1b7f34cc702152fc137c288462fc1237cf8b3dbeddd472aedc946f6df338036bba0f7fdc71ce3407c8e9b7ab7c",
        "9954c26bdd8ceecf218157c31c2be889a4f1445d3b50b6564dbb911632d70371bf40bce5d1bd90400dcf46a30ed6be18",
        "2ccf4884bfbd4e3226f64b2493cd6716c6dca9e50f3c2225e52bda928a19d4d7b8be51c933bbdc3f01e44491daf8f323",
        "b649dfd43f4599c691a0ada0cb0153464da3d9129778d3463f77ce181311995b2d9ed30ef47942411d29a9690827e8f0",
        "faf0ea147315641c1ca37a71e6d24ab188a4d56e08eef0d5a249fcb589025ee5a40ea9b0f4abe792d39e354f9ea0b6e7",
        "6d08bf0099da097db6fe93a7bcc04352a700132c6184f503c5a7134eec82cb4d60f43eea349980873de4e4c0b6cd39ba",
        "ec820b63585e67602e62f4306103acb376c9b633cd6beb95d6955b422570e92da7bf12a0b6ae59f434ae5e1bec6d33a9",
        "e464aad5857479ec0c513ea707a7a349c1561aff97339d117f5d22b9280eea95f39f2636f6a30c39c75fc4531693c661",
        "1002e428b5deaa333e1631e03ea55886d8ddd0cc5adf10a2e291277dfd581789e3efc2981d9ad5db3c65ea285c955561",
        "e221d7345188faceb7bec15710e4c17a37cfb2bebe5664c3275fa8d64364f775d413f6d0f366b5f0d24f75743a91fdba",
        "42371ce11aa74ef026ad687fe9f986e3322b898ec0f73f2de1e3bd41fafd4cb3b793407924e5675954ea95b3afac9804",
        "cd5f791efd22a0ed31223e419f1adb2e79706cd7cf8d519371134087bd60537d89f2bafaac2c7109a4efe1153b29d890",
        "fb38a00b42ca2bbc7838fb3d9f629ad8a50fcb6e66acb43f864e488edcecaeaa90d8cccd7198716f4924342c442f3390",
        "50c6e99059f0dd71af10308956997247552a8e20c538bf3f25fb9ea61135a321d678e615c157760b0bf63c61b1d394f9",
        "2495a2c05c5650d3d1741a53bc34b4c3fa7835dfdcd863daa2b602bf5ac41406d826917817a237d07f167925cacf3842",
        "0c928ad3e703c2c523aac4912715387ed4beb980745de2662a1285b927cc115234ab5629310644fc6d8c0b8cc08a084d",
        "b04a14c0dc16612db9e3922edfe11e8287b8ec1fe4f2d09285e6af6681c243a18b9f360a11d72d306bd9a8c54e5ec3d0",
        "9d89686e655f842a07600a932fefab23e5765e02a6ce97440f2730c2c48b9155a8614e25180a0f30fde4c5ab1f0a7507",
        "53f57a82473b0b76ec9246bd729959777a42d03b48f009acf16d552249d8a4724385b8ab19245373aa096c940af0d6c5",
        "d26060fbb400cc5ec2836d1548f1f5a02ab5104a1dc211e54014c71240c850e3969bc03691e3efd9bc76053c55b820f3",
        "d83efcce1e75",
    );

    #[test]
    fn q050_initial_chlo() {
        let packet = hex(Q050_INITIAL);
        assert_eq!(QuicDissector::probe(&segment(Forward, &packet)), Probe::Certain);
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &packet), &mut f), Parsed::Done);
        assert_eq!(f.protocol, protocol::QUIC);
        assert_eq!(version_name(f.quic_version), "Q050");
        assert_eq!(f.detected_hostname(), Some("www.googletagmanager.com"));
        let ua = f.app_protocol.http().and_then(|h| h.user_agent.as_deref());
        assert_eq!(ua, Some("Chrome/83.0.4103.101 Android 8.0.0; LDN-L21"));
        // A CHLO is no TLS: nothing TLS-shaped is claimed.
        assert_eq!(f.tls.ja3(), None);
    }

    #[test]
    fn t051_initial_client_hello() {
        let packet = hex(T051_INITIAL);
        assert_eq!(QuicDissector::probe(&segment(Forward, &packet)), Probe::Certain);
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &packet), &mut f), Parsed::Updated);
        assert_eq!(version_name(f.quic_version), "T051");
        assert_eq!(f.tls.sni(), Some("www.google.com"));
        assert_eq!(f.tls.alpn().iter().collect::<Vec<_>>(), ["h3-T051"]);
        assert_eq!(f.tls.client_version, 0x0304);
        // nDPI 4.11 shows the same JA3 for this flow.
        assert_eq!(f.tls.ja3().unwrap().to_string(), "92e76078d514999cd950474995dab2b5");
        let ua = f.app_protocol.http().and_then(|h| h.user_agent.as_deref());
        assert_eq!(ua, Some("dev Chrome/86.0.4240.9 Windows NT 6.1; Win64; x64"));
    }

    #[test]
    fn google_salts_are_per_version() {
        // The T051 packet does not open as T050 or Q050: each version has its own keys.
        let mut packet = hex(T051_INITIAL);
        packet[1..5].copy_from_slice(b"T050");
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &packet), &mut f), Parsed::Continue);
        assert_eq!(f.quic_version, 0);
    }

    #[test]
    fn chlo_split_across_initials() {
        // The CHLO's CRYPTO data cut in two gQUIC CRYPTO frames (0x08), second packet first.
        let mut chlo = b"CHLO".to_vec();
        chlo.extend([2, 0, 0, 0]);
        chlo.extend(b"SNI\0");
        chlo.extend(11u32.to_le_bytes());
        chlo.extend(b"UAID");
        chlo.extend(20u32.to_le_bytes());
        chlo.extend(b"example.orgChrome/99");
        let frame = |offset: usize, data: &[u8]| {
            let mut f = crypto_frame(offset, data);
            f[0] = 0x08;
            f
        };
        let dcid = [7; 8];
        let first = protect(Q050, &dcid, 1, &[vec![0x07], frame(20, &chlo[20..])].concat());
        let second = protect(Q050, &dcid, 0, &frame(0, &chlo[..20]));
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &first), &mut f), Parsed::Updated);
        assert_eq!(d.parse(&segment(Forward, &second), &mut f), Parsed::Done);
        assert_eq!(f.detected_hostname(), Some("example.org"));
        assert_eq!(f.app_protocol.http().and_then(|h| h.user_agent.as_deref()), Some("Chrome/99"));
        // An IETF CRYPTO frame type (0x06) means nothing in a Google version's packet.
        let ietf = protect(T051, &dcid, 0, &crypto_frame(0, &client_hello()));
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &ietf), &mut f), Parsed::Updated);
        assert_eq!(f.tls.sni(), None);
    }

    // ---- the server's Initial ----

    /// RFC 9001 Appendix A.2: the CRYPTO frame of the client's Initial (a ClientHello for
    /// example.com offering ALPN `alpn`), and its unprotected header (packet number 2 in four
    /// bytes).
    const RFC9001_A2_FRAME: &str = concat!(
        "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c000004",
        "13011302010000c000000010000e00000b6578616d706c652e636f6dff01000100000a00080006001d00170018",
        "00100007000504616c706e000500050100000000003300260024001d00209370b2c9caa47fbabaf4559fedba75",
        "3de171fa71f50f1ce15d43e994ec74d748002b0003020304000d0010000e040305030603020308040805080600",
        "2d00020101001c00024001003900320408ffffffffffffffff05048000ffff07048000ffff0801100104800075",
        "300901100f088394c8f03e51570806048000ffff",
    );
    const RFC9001_A2_HEADER: &str = "c300000001088394c8f03e5157080000449e00000002";

    /// RFC 9001 Appendix A.3: the server's Initial (a ServerHello choosing TLS_AES_128_GCM_SHA256,
    /// with key_share and supported_versions), protected with the server's keys from the client's
    /// DCID.
    const RFC9001_A3_PACKET: &str = concat!(
        "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554",
        "780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b",
        "562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee",
    );

    /// RFC 9369 Appendix A.3: the same ServerHello in a QUIC v2 server Initial.
    const RFC9369_A3_PACKET: &str = concat!(
        "dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698baeea26b91eb761d9b89237bbf",
        "87263017915358230035f7fd3945d88965cf17f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e4275",
        "7507698075b2c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca84bed8521e2e140",
    );

    /// JA3S of the appendices' ServerHello: version 771 (0x0303), cipher 4865 (0x1301),
    /// extensions key_share (51) then supported_versions (43); MD5 of `771,4865,51-43`.
    const RFC_JA3S: &str = "eb1d94daa7e0344597e756a1fb6e7054";

    fn assert_rfc_server_facts(f: &FlowFacts) {
        assert_eq!(f.tls.version, 0x0304);
        assert_eq!(f.tls.cipher, 0x1301);
        assert_eq!(f.tls.ja3s().unwrap().to_string(), RFC_JA3S);
        // TLS 1.3 puts the ALPN in EncryptedExtensions, in Handshake packets: not readable.
        assert_eq!(f.tls.alpn_negotiated(), None);
        assert!(f.final_facts.contains(Final::TLS_SERVER));
        assert_eq!(f.protocol, protocol::QUIC);
    }

    #[test]
    fn rfc9001_appendix_a_client_and_server_initials() {
        let dcid = hex(RFC_DCID);
        let client = key_material(&version_params(VERSION_1).unwrap(), &dcid, b"client in").unwrap();
        let mut payload = hex(RFC9001_A2_FRAME);
        payload.resize(1162, 0);
        let a2 = seal(&client, hex(RFC9001_A2_HEADER), 4, 2, payload);
        assert_eq!(a2.len(), 1200);
        // The protected header and the header-protection sample, as A.2 prints them.
        assert_eq!(
            a2[..38].to_vec(),
            hex("c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11d242b123dc9b")
        );
        assert_eq!(QuicDissector::probe(&segment(Forward, &a2)), Probe::Certain);
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts { final_facts: Final::NONE, ..FlowFacts::default() });
        assert_eq!(d.parse(&segment(Forward, &a2), &mut f), Parsed::Updated);
        assert_eq!(f.tls.sni(), Some("example.com"));
        assert_eq!(f.tls.alpn().iter().collect::<Vec<_>>(), ["alpn"]);
        assert_eq!(f.tls.version, 0);
        assert!(!f.final_facts.contains(Final::TLS_SERVER));

        // A.3, coalesced with a Handshake packet as servers send it.
        let mut datagram = hex(RFC9001_A3_PACKET);
        datagram.extend([0xe1, 0, 0, 0, 1, 0, 8, 0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5, 20]);
        datagram.extend([0x42; 20]);
        assert_eq!(d.parse(&segment(Reverse, &datagram), &mut f), Parsed::Done);
        assert_rfc_server_facts(&f);
        assert_eq!(version_name(f.quic_version), "V-1");
        assert_eq!(f.tls.sni(), Some("example.com"));
    }

    #[test]
    fn rfc9369_server_initial() {
        let client = protect(VERSION_2, &hex(RFC_DCID), 0, &crypto_frame(0, &client_hello()));
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &client), &mut f), Parsed::Updated);
        assert_eq!(d.parse(&segment(Reverse, &hex(RFC9369_A3_PACKET)), &mut f), Parsed::Done);
        assert_rfc_server_facts(&f);
        assert_eq!(version_name(f.quic_version), "V-2");
    }

    #[test]
    fn server_initials_of_every_tls_version_we_open() {
        for version in [VERSION_1, VERSION_2, 0xff00_001d, 0xff00_0017, 0xff00_0016, MVFST_27, T051] {
            let dcid = [0x33; 8];
            let mut hello = crypto_frame(0, &client_hello());
            let mut answer = crypto_frame(0, &server_hello([2; 32], 0x1302, &[]));
            if version == T051 {
                hello[0] = 0x08; // gQUIC's CRYPTO frame type
                answer[0] = 0x08;
            }
            let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
            assert_eq!(d.parse(&segment(Forward, &protect(version, &dcid, 0, &hello)), &mut f), Parsed::Updated);
            let server = server_initial(version, &dcid, 0, &answer);
            assert_eq!(d.parse(&segment(Reverse, &server), &mut f), Parsed::Done, "{version:#x}");
            assert_eq!((f.tls.version, f.tls.cipher), (0x0304, 0x1302), "{version:#x}");
            assert_eq!(f.quic_version, version);
        }
    }

    #[test]
    fn server_hello_with_alpn_and_split_across_initials() {
        let dcid = [0x44; 8];
        let answer = server_hello([3; 32], 0x1301, &ext(16, &[0, 3, 2, b'h', b'3']));
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        d.parse(&segment(Forward, &protect(VERSION_1, &dcid, 0, &crypto_frame(0, &client_hello()))), &mut f);
        // The second half first; a client datagram in between changes nothing.
        let second = server_initial(VERSION_1, &dcid, 1, &crypto_frame(40, &answer[40..]));
        assert_eq!(d.parse(&segment(Reverse, &second), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&segment(Forward, &[0x40; 50]), &mut f), Parsed::Continue);
        let first = server_initial(VERSION_1, &dcid, 0, &crypto_frame(0, &answer[..40]));
        assert_eq!(d.parse(&segment(Reverse, &first), &mut f), Parsed::Done);
        assert_eq!(f.tls.cipher, 0x1301);
        // A ServerHello carrying an ALPN (TLS 1.3 ones do not) is read as over TCP.
        assert_eq!(f.tls.alpn_negotiated(), Some("h3"));
        assert_eq!(f.protocol, protocol::QUIC);
    }

    #[test]
    fn hello_retry_request_then_server_hello() {
        let dcid = [0x55; 8];
        let hello = client_hello();
        let retry = server_hello(retry_random(), 0x1301, &[]);
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        d.parse(&segment(Forward, &protect(VERSION_1, &dcid, 0, &crypto_frame(0, &hello))), &mut f);
        assert_eq!(
            d.parse(&segment(Reverse, &server_initial(VERSION_1, &dcid, 0, &crypto_frame(0, &retry))), &mut f),
            Parsed::Updated
        );
        assert_eq!((f.tls.version, f.tls.cipher), (0x0304, 0x1301));
        let ja3s = f.tls.ja3s().unwrap();
        // The client's second ClientHello, in the same connection's next Initial.
        let again = protect(VERSION_1, &dcid, 1, &crypto_frame(hello.len(), &hello));
        assert_eq!(d.parse(&segment(Forward, &again), &mut f), Parsed::Continue);
        let real = server_hello([4; 32], 0x1303, &[]);
        let server = server_initial(VERSION_1, &dcid, 1, &crypto_frame(retry.len(), &real));
        assert_eq!(d.parse(&segment(Reverse, &server), &mut f), Parsed::Done);
        assert_eq!(f.tls.cipher, 0x1303);
        // JA3S is the server's first answer, as over TCP.
        assert_eq!(f.tls.ja3s(), Some(ja3s));

        // A second HelloRetryRequest is a protocol error: the first one's facts stay.
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        d.parse(&segment(Forward, &protect(VERSION_1, &dcid, 0, &crypto_frame(0, &hello))), &mut f);
        let retry2 = server_hello(retry_random(), 0x1302, &[]);
        let both = [crypto_frame(0, &retry), crypto_frame(retry.len(), &retry2)].concat();
        assert_eq!(d.parse(&segment(Reverse, &server_initial(VERSION_1, &dcid, 0, &both)), &mut f), Parsed::Updated);
        assert_eq!(d.parse(&segment(Reverse, &[0x40; 30]), &mut f), Parsed::Done);
        assert_eq!(f.tls.cipher, 0x1301);
    }

    #[test]
    fn one_direction_only_ends_after_the_wait() {
        let dcid = [0x66; 8];
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        d.parse(&segment(Forward, &protect(VERSION_1, &dcid, 0, &crypto_frame(0, &client_hello()))), &mut f);
        for _ in 1..MAX_WAIT {
            assert_eq!(d.parse(&segment(Forward, &[0x40; 60]), &mut f), Parsed::Continue);
        }
        assert_eq!(d.parse(&segment(Forward, &[0x40; 60]), &mut f), Parsed::Done);
        assert_eq!(f.tls.version, 0);
        assert_eq!(f.tls.sni(), Some("quic.example.net"));
        // A server Initial keyed from another DCID does not open; neither does garbage.
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        d.parse(&segment(Forward, &protect(VERSION_1, &dcid, 0, &crypto_frame(0, &client_hello()))), &mut f);
        let wrong = server_initial(VERSION_1, &[0x67; 8], 0, &crypto_frame(0, &server_hello([1; 32], 0x1301, &[])));
        assert_eq!(d.parse(&segment(Reverse, &wrong), &mut f), Parsed::Continue);
        assert_eq!(f.tls.version, 0);
    }

    // ---- version negotiation and retry ----

    /// A client's first datagram in a version that forces version negotiation, `len` bytes.
    fn forcing_initial(version: u32, dcid: &[u8], len: usize) -> Vec<u8> {
        let mut p = vec![0xc3];
        p.extend(version.to_be_bytes());
        p.push(dcid.len() as u8);
        p.extend_from_slice(dcid);
        p.push(CLIENT_SCID.len() as u8);
        p.extend(CLIENT_SCID);
        p.resize(len, 0x5a);
        p
    }

    /// RFC 9000 §17.2.1: the server's answer listing `versions`, its connection IDs the client's
    /// swapped.
    fn version_negotiation(client_dcid: &[u8], versions: &[u32]) -> Vec<u8> {
        let mut p = vec![0xca];
        p.extend([0; 4]);
        p.push(CLIENT_SCID.len() as u8);
        p.extend(CLIENT_SCID);
        p.push(client_dcid.len() as u8);
        p.extend_from_slice(client_dcid);
        for v in versions {
            p.extend(v.to_be_bytes());
        }
        p
    }

    #[test]
    fn forced_version_negotiation_then_v1() {
        let (first, second) = ([0x71; 8], [0x72; 12]);
        let greased = 0x1a2a_3a4a;
        let probe = forcing_initial(greased, &first, 1200);
        assert_eq!(QuicDissector::probe(&segment(Forward, &probe)), Probe::Certain);
        // Not padded as a client's Initial must be: not QUIC's.
        assert_eq!(QuicDissector::probe(&segment(Forward, &forcing_initial(greased, &first, 1199))), Probe::NotForUs);
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        assert_eq!(d.parse(&segment(Forward, &probe), &mut f), Parsed::Updated);
        assert_eq!(f.protocol, protocol::QUIC);
        assert_eq!(version_name(f.quic_version), "Ver-Negotiation");
        // The server lists what it speaks; the client starts again in v1 with a new DCID.
        let vn = version_negotiation(&first, &[VERSION_1, VERSION_2]);
        assert_eq!(QuicDissector::probe(&segment(Reverse, &vn)), Probe::NotForUs);
        assert_eq!(d.parse(&segment(Reverse, &vn), &mut f), Parsed::Continue);
        assert_eq!(version_name(f.quic_version), "Ver-Negotiation");
        let initial = protect(VERSION_1, &second, 0, &crypto_frame(0, &client_hello()));
        assert_eq!(d.parse(&segment(Forward, &initial), &mut f), Parsed::Updated);
        assert_client_facts(&f, VERSION_1);
        let server = server_initial(VERSION_1, &second, 0, &crypto_frame(0, &server_hello([5; 32], 0x1302, &[])));
        assert_eq!(d.parse(&segment(Reverse, &server), &mut f), Parsed::Done);
        assert_eq!((f.tls.version, f.tls.cipher), (0x0304, 0x1302));
        assert_eq!(version_name(f.quic_version), "V-1");
    }

    #[test]
    fn version_negotiation_after_the_client_hello() {
        // The client tries v2; the server speaks v1 only; the client starts again in v1.
        let (first, second) = ([0x81; 8], [0x82; 8]);
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        d.parse(&segment(Forward, &protect(VERSION_2, &first, 0, &crypto_frame(0, &client_hello()))), &mut f);
        assert_client_facts(&f, VERSION_2);
        assert_eq!(d.parse(&segment(Reverse, &version_negotiation(&first, &[VERSION_1])), &mut f), Parsed::Continue);
        let again = protect(VERSION_1, &second, 0, &crypto_frame(0, &client_hello()));
        assert_eq!(d.parse(&segment(Forward, &again), &mut f), Parsed::Continue);
        // The version of the ClientHello read stays, as nDPI reports it (quic-28.pcap).
        assert_eq!(f.quic_version, VERSION_2);
        // The server's Initial is keyed from the new attempt's DCID, in its version.
        let answer = crypto_frame(0, &server_hello([6; 32], 0x1301, &[]));
        let stale = server_initial(VERSION_1, &first, 0, &answer);
        assert_eq!(d.parse(&segment(Reverse, &stale), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&segment(Reverse, &server_initial(VERSION_1, &second, 0, &answer)), &mut f), Parsed::Done);
        assert_eq!(f.tls.cipher, 0x1301);
        assert_eq!(version_name(f.quic_version), "V-2");
    }

    #[test]
    fn compatible_version_negotiation() {
        // RFC 9368: the client's v1 Initial answered by a v2 Initial keyed from the same DCID.
        let dcid = [0x91; 8];
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        d.parse(&segment(Forward, &protect(VERSION_1, &dcid, 0, &crypto_frame(0, &client_hello()))), &mut f);
        let server = server_initial(VERSION_2, &dcid, 0, &crypto_frame(0, &server_hello([7; 32], 0x1301, &[])));
        assert_eq!(d.parse(&segment(Reverse, &server), &mut f), Parsed::Done);
        assert_eq!(f.tls.version, 0x0304);
        // The client's version is reported, as nDPI does.
        assert_eq!(f.quic_version, VERSION_1);
    }

    #[test]
    fn retry_then_server_initial() {
        let (first, second) = ([0xa1; 8], [0xa2; 16]);
        let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
        d.parse(&segment(Forward, &protect(VERSION_1, &first, 0, &crypto_frame(0, &client_hello()))), &mut f);
        // RFC 9000 §17.2.5: Retry (type 3), the new connection ID as its SCID, a token, a tag.
        let mut retry = vec![0xf0, 0, 0, 0, 1, 4, 1, 2, 3, 4, second.len() as u8];
        retry.extend(second);
        retry.extend(b"token");
        retry.extend([0x11; 16]);
        for _ in 0..MAX_WAIT + 2 {
            assert_eq!(d.parse(&segment(Reverse, &retry), &mut f), Parsed::Continue);
        }
        let again = protect(VERSION_1, &second, 0, &crypto_frame(0, &client_hello()));
        assert_eq!(d.parse(&segment(Forward, &again), &mut f), Parsed::Continue);
        let server = server_initial(VERSION_1, &second, 0, &crypto_frame(0, &server_hello([8; 32], 0x1302, &[])));
        assert_eq!(d.parse(&segment(Reverse, &server), &mut f), Parsed::Done);
        assert_eq!((f.tls.cipher, f.quic_version), (0x1302, VERSION_1));
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
            // Reaches the frame walker and CRYPTO reassembly (TLS or CHLO) with any content.
            for version in [VERSION_1, Q050, T051] {
                let packet = protect(version, &[4; 8], 0, &frames);
                let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
                let _ = d.parse(&segment(Forward, &packet), &mut f);
            }
        }

        #[test]
        fn google_crypto_streams_never_panic(
            stream in proptest::collection::vec(any::<u8>(), 0..1000),
            chlo in any::<bool>(),
            offset in 0usize..9000,
        ) {
            // A CRYPTO stream starting like a CHLO (or not), any bytes after, at any offset.
            let mut data = if chlo { b"CHLO".to_vec() } else { Vec::new() };
            data.extend(stream);
            let mut frame = crypto_frame(offset, &data);
            frame[0] = 0x08;
            let packet = protect(Q050, &[5; 8], 0, &[crypto_frame(0, &data), frame].concat());
            let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
            let _ = d.parse(&segment(Forward, &packet), &mut f);
        }

        #[test]
        fn server_datagrams_after_a_client_hello_never_panic(
            datagrams in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..1400)), 0..6),
            frames in proptest::collection::vec(any::<u8>(), 0..1200),
            offset in 0usize..9000,
        ) {
            // Server Initials that open, carrying any frames and any CRYPTO data at any offset,
            // between arbitrary datagrams of either side.
            let dcid = [6; 8];
            let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
            d.parse(&segment(Forward, &protect(VERSION_1, &dcid, 0, &crypto_frame(0, &client_hello()))), &mut f);
            let _ = d.parse(&segment(Reverse, &server_initial(VERSION_1, &dcid, 0, &frames)), &mut f);
            let _ = d.parse(&segment(Reverse, &server_initial(VERSION_1, &dcid, 1, &crypto_frame(offset, &frames))), &mut f);
            for (reverse, bytes) in datagrams {
                let _ = d.parse(&segment(if reverse { Reverse } else { Forward }, &bytes), &mut f);
            }
        }

        #[test]
        fn mutated_server_initials_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut packet = hex(RFC9001_A3_PACKET);
            for (at, value) in edits {
                let i = at.index(packet.len());
                packet[i] = value;
            }
            packet.truncate(cut.index(packet.len() + 1));
            let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
            d.parse(&segment(Forward, &protect(VERSION_1, &hex(RFC_DCID), 0, &crypto_frame(0, &client_hello()))), &mut f);
            let _ = d.parse(&segment(Reverse, &packet), &mut f);
        }

        #[test]
        fn mutated_google_initials_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            t051 in any::<bool>(),
        ) {
            let mut packet = hex(if t051 { T051_INITIAL } else { Q050_INITIAL });
            for (at, value) in edits {
                let i = at.index(packet.len());
                packet[i] = value;
            }
            let (mut d, mut f) = (QuicDissector::default(), FlowFacts::default());
            let _ = d.parse(&segment(Forward, &packet), &mut f);
        }
    }
}
