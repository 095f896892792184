//! In-order TCP stream reassembly with a bounded buffer.
//!
//! Dissectors only need the first few kilobytes of each direction, in order. So this keeps one
//! contiguous buffer per direction, appends bytes that continue the stream, drops bytes already
//! seen (retransmissions, overlaps), and refuses to hold segments from the future: an
//! out-of-order segment is reported as a gap and must be resent by TCP before it counts. That
//! keeps the state to one `Vec` and one sequence number, with a hard upper bound on memory.

/// What [`StreamBuffer::push`] did with a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// New bytes were appended (any already-seen prefix was skipped).
    Appended,
    /// Nothing new: an empty segment or a retransmission of bytes already taken.
    Stale,
    /// The segment starts after the next expected byte; nothing was taken.
    Gap,
    /// The buffer reached its limit. What fitted was appended; the rest was dropped. After
    /// [`StreamBuffer::consume`], pushing the same segment again takes the remainder, because
    /// the part already taken is skipped as seen.
    Full,
}

/// One direction of a TCP stream, reassembled in order up to a fixed number of bytes.
#[derive(Debug, Clone)]
pub struct StreamBuffer {
    buf: Vec<u8>,
    limit: usize,
    /// Sequence number of the byte after the last one taken; `None` until the first push.
    next_seq: Option<u32>,
}

/// Smallest allocation: most hellos and banners fit, so typical flows allocate once.
const MIN_ALLOC: usize = 2048;

impl StreamBuffer {
    /// An empty buffer that will hold at most `limit` unconsumed bytes. Allocates nothing yet.
    pub const fn new(limit: usize) -> Self {
        StreamBuffer { buf: Vec::new(), limit, next_seq: None }
    }

    /// Take the new bytes of a segment whose first byte has sequence number `seq`.
    ///
    /// The first non-empty push fixes the stream's starting sequence number. Sequence numbers
    /// compare modulo 2^32 (RFC 9293 §3.4), so streams that wrap past `u32::MAX` work.
    pub fn push(&mut self, seq: u32, payload: &[u8]) -> Push {
        if payload.is_empty() {
            return Push::Stale;
        }
        let next = *self.next_seq.get_or_insert(seq);
        // Signed distance from the next expected byte: > 0 is the future, <= 0 overlaps the past.
        if (seq.wrapping_sub(next) as i32) > 0 {
            return Push::Gap;
        }
        let seen = next.wrapping_sub(seq) as usize;
        let fresh = match payload.get(seen..) {
            Some(fresh) if !fresh.is_empty() => fresh,
            _ => return Push::Stale,
        };
        let room = self.limit.saturating_sub(self.buf.len());
        let (taken, outcome) = if fresh.len() > room {
            (fresh.get(..room).unwrap_or_default(), Push::Full)
        } else {
            (fresh, Push::Appended)
        };
        self.grow_for(taken.len());
        self.buf.extend_from_slice(taken);
        // `taken.len() <= limit`; a limit above 4 GiB would be meaningless for one direction.
        self.next_seq = Some(next.wrapping_add(taken.len() as u32));
        outcome
    }

    /// The reassembled bytes not yet consumed.
    pub fn data(&self) -> &[u8] {
        &self.buf
    }

    /// Drop the first `n` bytes (clamped to what is held), e.g. a record that was parsed.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
    }

    /// Number of unconsumed bytes held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when no unconsumed bytes are held.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The most unconsumed bytes this buffer will hold.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// True when no more bytes can be appended until some are consumed.
    pub fn is_full(&self) -> bool {
        self.buf.len() >= self.limit
    }

    /// Sequence number of the next byte expected; `None` before the first push.
    pub fn next_seq(&self) -> Option<u32> {
        self.next_seq
    }

    /// Forget the stream (data and starting sequence) but keep the allocation for reuse.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.next_seq = None;
    }

    /// Forget the stream and free the allocation: detection for the flow is over.
    pub fn release(&mut self) {
        self.buf = Vec::new();
        self.next_seq = None;
    }

    /// Make room for `extra` more bytes without ever reserving past the limit, so memory per
    /// direction stays bounded even though `Vec` would otherwise double past it.
    fn grow_for(&mut self, extra: usize) {
        let needed = self.buf.len() + extra;
        if needed <= self.buf.capacity() {
            return;
        }
        let target = needed.max(self.buf.capacity() * 2).max(MIN_ALLOC).min(self.limit);
        self.buf.reserve_exact(target.max(needed) - self.buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn appends_in_order_and_consumes_prefix() {
        let mut s = StreamBuffer::new(64);
        assert_eq!(s.push(1000, b"hello "), Push::Appended);
        assert_eq!(s.push(1006, b"world"), Push::Appended);
        assert_eq!(s.data(), b"hello world");
        s.consume(6);
        assert_eq!(s.data(), b"world");
        assert_eq!(s.push(1011, b"!"), Push::Appended);
        assert_eq!(s.data(), b"world!");
        s.consume(100);
        assert!(s.is_empty());
        assert_eq!(s.next_seq(), Some(1012));
    }

    #[test]
    fn allocates_lazily_and_releases() {
        let mut s = StreamBuffer::new(16 * 1024);
        assert_eq!(s.data().len(), 0);
        assert_eq!(s.buf.capacity(), 0);
        assert_eq!(s.push(7, b""), Push::Stale);
        assert_eq!(s.buf.capacity(), 0, "an empty push allocates nothing");
        assert_eq!(s.next_seq(), None, "an empty push does not fix the start");
        s.push(7, b"abc");
        assert!(s.buf.capacity() >= 3);
        s.clear();
        assert!(s.buf.capacity() >= 3, "clear keeps the allocation");
        assert_eq!(s.next_seq(), None);
        assert_eq!(s.push(500, b"xyz"), Push::Appended, "clear starts a new stream");
        s.release();
        assert_eq!(s.buf.capacity(), 0);
        assert_eq!(s.next_seq(), None);
    }

    #[test]
    fn wraps_sequence_numbers() {
        let mut s = StreamBuffer::new(64);
        assert_eq!(s.push(u32::MAX - 2, b"abc"), Push::Appended);
        assert_eq!(s.next_seq(), Some(0));
        assert_eq!(s.push(0, b"def"), Push::Appended);
        // A retransmission straddling the wrap point.
        assert_eq!(s.push(u32::MAX - 1, b"bcdefg"), Push::Appended);
        assert_eq!(s.data(), b"abcdefg");
        assert_eq!(s.push(10, b"x"), Push::Gap);
        assert_eq!(s.push(u32::MAX - 5, b"zz"), Push::Stale);
    }

    #[test]
    fn skips_retransmitted_and_overlapping_bytes() {
        let mut s = StreamBuffer::new(64);
        s.push(100, b"abcd");
        assert_eq!(s.push(100, b"abcd"), Push::Stale);
        assert_eq!(s.push(101, b"bc"), Push::Stale);
        assert_eq!(s.push(102, b"cdef"), Push::Appended);
        assert_eq!(s.push(90, b"0123456789abcdefgh"), Push::Appended);
        assert_eq!(s.data(), b"abcdefgh");
        // Bytes already consumed still count as seen.
        s.consume(8);
        assert_eq!(s.push(100, b"abcdefgh"), Push::Stale);
        assert!(s.is_empty());
    }

    #[test]
    fn reports_gap_without_buffering() {
        let mut s = StreamBuffer::new(64);
        s.push(0, b"ab");
        assert_eq!(s.push(5, b"fgh"), Push::Gap);
        assert_eq!(s.data(), b"ab");
        assert_eq!(s.push(2, b"cde"), Push::Appended);
        assert_eq!(s.push(5, b"fgh"), Push::Appended);
        assert_eq!(s.data(), b"abcdefgh");
    }

    #[test]
    fn stops_at_limit_and_resumes_after_consume() {
        let mut s = StreamBuffer::new(8);
        assert_eq!(s.push(0, b"0123456789ab"), Push::Full);
        assert_eq!(s.data(), b"01234567");
        assert!(s.is_full());
        assert_eq!(s.push(8, b"89"), Push::Full, "no room, nothing taken");
        assert_eq!(s.data(), b"01234567");
        s.consume(5);
        assert_eq!(s.push(0, b"0123456789ab"), Push::Appended);
        assert_eq!(s.data(), b"56789ab");
        assert!(s.buf.capacity() <= 8, "never reserves past the limit");
    }

    #[test]
    fn never_reserves_past_limit() {
        let mut s = StreamBuffer::new(3000);
        let chunk = [0x5a; 700];
        let mut seq = 0u32;
        while s.push(seq, &chunk) != Push::Full {
            seq += 700;
        }
        assert_eq!(s.len(), 3000);
        assert!(s.buf.capacity() < 6000, "capacity {}", s.buf.capacity());
    }

    proptest! {
        /// Whatever order, duplication and splitting TCP delivers, the buffer only ever holds a
        /// prefix of the real stream.
        #[test]
        fn holds_a_prefix_of_the_stream(
            stream in proptest::collection::vec(any::<u8>(), 0..600),
            cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..40),
            isn in any::<u32>(),
            limit in 1usize..700,
        ) {
            let mut s = StreamBuffer::new(limit);
            let mut consumed = 0usize;
            for (a, b) in cuts {
                if stream.is_empty() {
                    break;
                }
                let (mut lo, mut hi) = (a.index(stream.len()), b.index(stream.len() + 1));
                if lo > hi {
                    std::mem::swap(&mut lo, &mut hi);
                }
                if s.next_seq().is_none() {
                    lo = 0; // The first segment defines the start of the stream.
                }
                s.push(isn.wrapping_add(lo as u32), &stream[lo..hi]);
                let held = s.data();
                prop_assert!(held.len() <= limit);
                prop_assert_eq!(held, &stream[consumed..consumed + held.len()]);
                let n = held.len() / 2;
                s.consume(n);
                consumed += n;
            }
        }
    }
}
