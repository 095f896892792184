//! The one way dissectors read wire integers: a bounds-checked big-endian cursor over a byte
//! slice, and reads at a fixed offset ([`be_u16_at`], [`be_u32_at`], [`le_u32_at`]). Every read returns
//! `None` instead of panicking when the input is short.

/// The big-endian `u16` at `at`; `None` when `b` is too short.
pub(crate) fn be_u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(s.try_into().ok()?))
}

/// The big-endian `u16` at `at` as a length; `None` when `b` is too short.
pub(crate) fn be_len16_at(b: &[u8], at: usize) -> Option<usize> {
    be_u16_at(b, at).map(usize::from)
}

/// The big-endian 24-bit length at `at`; `None` when `b` is too short.
pub(crate) fn be_u24_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(3)?)?;
    Some(s.iter().fold(0, |n, &byte| n << 8 | usize::from(byte)))
}

/// The big-endian `u32` at `at`; `None` when `b` is too short.
pub(crate) fn be_u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

/// The little-endian `u32` at `at` (MongoDB, KCP, Bitcoin); `None` when `b` is too short.
pub(crate) fn le_u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

/// A BER/DER definite length at `at` (X.690 §8.1.3): (value, bytes the length took). Short form,
/// or long form with 1 to 4 length bytes; the indefinite form and longer lengths are `None`.
pub(crate) fn ber_len_at(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = *b.get(at)?;
    if first < 0x80 {
        return Some((usize::from(first), 1));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let bytes = b.get(at + 1..at + 1 + n)?;
    Some((bytes.iter().fold(0usize, |v, &byte| (v << 8) | usize::from(byte)), 1 + n))
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Bytes read so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        be_u16_at(self.take(2)?, 0)
    }

    pub(crate) fn u24(&mut self) -> Option<usize> {
        be_u24_at(self.take(3)?, 0)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        be_u32_at(self.take(4)?, 0)
    }

    /// A field with a one-byte length prefix.
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    /// A field with a two-byte length prefix.
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// A field with a three-byte length prefix.
    pub(crate) fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n)
    }

    /// RFC 9000 §16 variable-length integer.
    pub(crate) fn varint(&mut self) -> Option<u64> {
        let first = self.u8()?;
        let extra = (1usize << (first >> 6)) - 1;
        let rest = self.take(extra)?;
        Some(rest.iter().fold(u64::from(first & 0x3f), |acc, &b| acc << 8 | u64::from(b)))
    }

    pub(crate) fn varint_usize(&mut self) -> Option<usize> {
        usize::try_from(self.varint()?).ok()
    }
}
