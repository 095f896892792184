//! Fingerprints of the hellos: JA3 and JA3S (Salesforce: MD5 of decimal field lists) and JA4
//! (FoxIO: readable prefix and truncated SHA-256 of sorted lists), and the text helpers they share.

use super::*;

impl ClientHello<'_> {
    /// JA3 (Salesforce): `version,ciphers,extensions,groups,point_formats`, decimal values
    /// joined by `-`, GREASE (RFC 8701) left out, the legacy version as sent.
    pub(super) fn ja3_string(&self) -> String {
        let mut s = String::with_capacity(256);
        push_decimal(&mut s, self.legacy_version);
        s.push(',');
        join_decimal(&mut s, u16s(self.ciphers));
        s.push(',');
        join_decimal(&mut s, self.extension_types());
        s.push(',');
        join_decimal(&mut s, u16s(self.groups));
        s.push(',');
        join_decimal(&mut s, self.point_formats.iter().map(|&b| u16::from(b)));
        s
    }

    /// JA4 (FoxIO): `{t|q|d}{version}{d|i}{ciphers:02}{extensions:02}{alpn}_{b}_{c}`, where b
    /// is the truncated SHA-256 of the sorted cipher list and c that of the sorted extensions
    /// (without SNI and ALPN) followed by the signature algorithms in wire order.
    pub(super) fn ja4(&self, transport: Transport) -> String {
        let mut s = String::with_capacity(40);
        s.push(match transport {
            Transport::Tcp => 't',
            Transport::Quic => 'q',
            Transport::Dtls => 'd',
        });
        s.push_str(ja4_version(self.offered.unwrap_or(self.legacy_version)));
        s.push(if self.has_sni { 'd' } else { 'i' });
        let mut ciphers: Vec<u16> = u16s(self.ciphers).collect();
        let mut exts: Vec<u16> = self.extension_types().collect();
        push_count(&mut s, ciphers.len());
        push_count(&mut s, exts.len());
        let first_alpn = self.alpn.and_then(|list| protocol_names(list).next());
        push_alpn_chars(&mut s, first_alpn);
        s.push('_');
        ciphers.sort_unstable();
        let mut text = String::with_capacity(5 * (ciphers.len() + exts.len() + 16));
        join_hex(&mut text, ciphers.iter().copied());
        push_truncated_sha256(&mut s, &text);
        s.push('_');
        exts.retain(|&e| e != EXT_SERVER_NAME && e != EXT_ALPN);
        exts.sort_unstable();
        text.clear();
        join_hex(&mut text, exts.iter().copied());
        let mut algorithms = u16s(self.signature_algorithms).peekable();
        if algorithms.peek().is_some() {
            text.push('_');
            join_hex(&mut text, algorithms);
        }
        if exts.is_empty() {
            s.push_str("000000000000");
        } else {
            push_truncated_sha256(&mut s, &text);
        }
        s
    }
}

impl ServerHello<'_> {
    /// JA3S: `version,cipher,extensions`, decimal, GREASE left out.
    pub(super) fn ja3s_string(&self) -> String {
        let mut s = String::with_capacity(64);
        push_decimal(&mut s, self.legacy_version);
        s.push(',');
        push_decimal(&mut s, self.cipher);
        s.push(',');
        join_decimal(&mut s, extension_types(self.extensions));
        s
    }
}

/// The two JA4 version characters.
pub(super) fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        DTLS_1_0 => "d1",
        DTLS_1_2 => "d2",
        DTLS_1_3 => "d3",
        _ => "00",
    }
}

/// JA4 counts are two digits, capped at 99.
pub(super) fn push_count(s: &mut String, n: usize) {
    let n = n.min(99);
    s.push(char::from(b'0' + (n / 10) as u8));
    s.push(char::from(b'0' + (n % 10) as u8));
}

/// JA4's ALPN part: first and last character of the first protocol name, `00` without ALPN; a
/// name starting or ending with a non-alphanumeric byte is shown by the first and last hex
/// digits of its bytes instead.
pub(super) fn push_alpn_chars(s: &mut String, first: Option<&[u8]>) {
    let (Some(&a), Some(&z)) = (first.and_then(<[u8]>::first), first.and_then(<[u8]>::last)) else {
        s.push_str("00");
        return;
    };
    if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() {
        s.push(char::from(a));
        s.push(char::from(z));
    } else {
        s.push(hex_digit(a >> 4));
        s.push(hex_digit(z & 0x0f));
    }
}

pub(super) fn hex_digit(n: u8) -> char {
    char::from(b"0123456789abcdef".get(usize::from(n & 0x0f)).copied().unwrap_or(b'0'))
}

/// `v` in decimal, by hand: a JA3 string holds dozens of numbers, and `write!` costs a
/// formatter round trip for each.
pub(super) fn push_decimal(s: &mut String, v: u16) {
    let mut digits = [0u8; 5];
    let mut start = digits.len();
    let mut n = v;
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.extend(digits[start..].iter().map(|&d| char::from(d)));
}

pub(super) fn join_decimal(s: &mut String, values: impl Iterator<Item = u16>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            s.push('-');
        }
        push_decimal(s, v);
    }
}

/// Four lowercase hex digits per value, comma separated (JA4's hashed lists).
pub(super) fn join_hex(s: &mut String, values: impl Iterator<Item = u16>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            s.push(',');
        }
        for shift in [12, 8, 4, 0] {
            s.push(hex_digit((v >> shift) as u8));
        }
    }
}

/// The first 12 hex digits of SHA-256 over `text`, `000000000000` for empty text.
pub(super) fn push_truncated_sha256(s: &mut String, text: &str) {
    use sha2::{Digest, Sha256};
    if text.is_empty() {
        s.push_str("000000000000");
        return;
    }
    let digest = Sha256::digest(text.as_bytes());
    for b in digest.iter().take(6) {
        s.push(hex_digit(b >> 4));
        s.push(hex_digit(*b));
    }
}

/// Lowercase hex MD5, as JA3 and JA3S are shown.
pub(super) fn md5(bytes: &[u8]) -> Md5Digest {
    use md5::{Digest, Md5};
    Md5Digest(Md5::digest(bytes).into())
}

/// Big-endian 16-bit values of an even-length list, GREASE left out.
pub(super) fn u16s(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes.chunks_exact(2).filter_map(|c| be_u16_at(c, 0)).filter(|&v| !is_grease(v))
}

/// Extension types of a well-formed extensions block, GREASE left out.
pub(super) fn extension_types(block: &[u8]) -> impl Iterator<Item = u16> + '_ {
    let mut r = Reader::new(block);
    std::iter::from_fn(move || {
        let kind = r.u16()?;
        r.vec16()?;
        Some(kind)
    })
    .filter(|&v| !is_grease(v))
}

/// A `<2..2^16-2>` list of 16-bit values; empty when malformed.
pub(super) fn even_list16(data: &[u8]) -> &[u8] {
    Reader::new(data).vec16().filter(|l| l.len() % 2 == 0).unwrap_or_default()
}
