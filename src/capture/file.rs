//! pcap and pcapng files: read into memory and parsed in place with `pcap-parser`'s block
//! parsers.
//!
//! A file is read segment by segment into a plain `Vec` (a small file in one read, a large one
//! in [`CaptureReader::open`]'s segment size), never into a zero-filled buffer, and frames are
//! handed out as slices of the segment: [`LoadedFile`] and parallel replay keep a segment as
//! it was read instead of copying the frames out of it.
//!
//! A file that ends in the middle of a block, or holds a block we cannot parse, stops being read
//! at that point: everything before it is kept and the damage is reported in [`FileStats`].
//! Several captures in nDPI's corpus are like that on purpose. The reasons are those of
//! `pcap-parser`'s streaming reader with the buffer this module used to give it (the file's size
//! plus 4 KiB, 64 KiB to 1 MiB): a block that large or larger is "Buffer is too small".

use std::fs::File;
use std::io::Read;
use std::time::Duration;

use pcap_parser::nom::{self, Offset};
use pcap_parser::pcapng::Block;
use pcap_parser::{LegacyPcapBlock, PcapError};

use super::{CaptureError, Frame};
use crate::decode::LinkType;

/// What reading one file found.
#[derive(Debug, Default, Clone)]
pub struct FileStats {
    pub frames: u64,
    /// Set when the file stopped early: why.
    pub truncated: Option<String>,
}

/// pcapng interface: its link type and timestamp resolution.
struct Interface {
    link: LinkType,
    units_per_second: u64,
    offset: u64,
}

type LegacyParse = fn(&[u8]) -> nom::IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

enum Format {
    Legacy { parse: LegacyParse, link: LinkType, nanos: bool },
    Ng { big_endian: bool, interfaces: Vec<Interface> },
}

/// What parsing the bytes at the current position gave.
enum Step<'a> {
    /// A whole block of this many bytes, and the frame it holds (with where its bytes start
    /// in the block).
    Block(usize, Option<(Frame<'a>, usize)>),
    /// The block needs this many more bytes (0: unknown) than are there.
    Incomplete(usize),
    Failed(String),
}

/// Segment size [`read_file`] reads a large file in (the buffer is reused for all of them).
const READ_SEGMENT: usize = 1 << 20;

/// The blocks of one capture file, read into memory a segment at a time.
pub struct CaptureReader {
    file: File,
    /// The current segment: bytes of whole blocks, then maybe the start of one more.
    buf: Vec<u8>,
    /// Where parsing stands in `buf`.
    pos: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// Bytes a fresh segment holds (a block larger than that gets a segment of its size).
    segment: usize,
    /// The buffer size `pcap-parser`'s streaming reader had here: blocks this large stop the
    /// file, as they did ("Buffer is too small"); it also bounds what a bogus block length can
    /// make us allocate.
    limit: usize,
    format: Format,
    stats: FileStats,
    done: bool,
}

impl CaptureReader {
    /// Open `path` and read its first segment: the whole file when it is at most `segment`
    /// bytes. Not a capture (or empty) is a [`CaptureError::Format`].
    pub fn open(path: &str, segment: usize) -> Result<CaptureReader, CaptureError> {
        let file = File::open(path).map_err(|source| CaptureError::Open { path: path.to_string(), source })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(1 << 20);
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let limit = size.saturating_add(4096).clamp(64 << 10, 1 << 20);
        let format_error = |e: PcapError<&[u8]>| CaptureError::Format { path: path.to_string(), reason: e.to_string() };
        let mut reader = CaptureReader {
            file,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            eof: false,
            // The first segment holds what the streaming reader looked at to recognise the file.
            segment: segment.max(1),
            limit,
            format: Format::Ng { big_endian: false, interfaces: Vec::new() },
            stats: FileStats::default(),
            done: false,
        };
        if size <= segment {
            // One read of the whole file (`read_to_end` on a `File` sizes its read from the
            // file's length).
            reader.buf.reserve_exact(size);
            reader.file.read_to_end(&mut reader.buf).map_err(|_| format_error(PcapError::ReadError))?;
            reader.eof = true;
        } else {
            reader.fill(segment.max(limit)).map_err(|_| format_error(PcapError::ReadError))?;
        }
        let head = &reader.buf[..reader.buf.len().min(limit)];
        if head.is_empty() {
            return Err(format_error(PcapError::Eof));
        }
        if pcap_parser::parse_sectionheaderblock(head).is_ok() {
            return Ok(reader);
        }
        match pcap_parser::parse_pcap_header(head) {
            Ok((rest, header)) => {
                let parse: LegacyParse = if header.is_modified_format() {
                    pcap_parser::parse_pcap_frame_modified
                } else if header.is_bigendian() {
                    pcap_parser::parse_pcap_frame_be
                } else {
                    pcap_parser::parse_pcap_frame
                };
                reader.pos = head.offset(rest);
                reader.format = Format::Legacy {
                    parse,
                    link: LinkType::from_linktype(header.network.0 as u32),
                    nanos: header.is_nanosecond_precision(),
                };
                Ok(reader)
            }
            Err(nom::Err::Incomplete(nom::Needed::Size(n))) => Err(format_error(PcapError::Incomplete(n.into()))),
            Err(nom::Err::Incomplete(nom::Needed::Unknown)) => Err(format_error(PcapError::Incomplete(0))),
            Err(_) => Err(format_error(PcapError::HeaderNotRecognized)),
        }
    }

    /// Append up to `want` more bytes of the file to the segment.
    fn fill(&mut self, want: usize) -> std::io::Result<()> {
        self.buf.reserve(want);
        let read = (&mut self.file).take(want as u64).read_to_end(&mut self.buf)?;
        self.eof = read < want;
        Ok(())
    }

    /// Parse the rest of the current segment (reading it first), handing every frame to
    /// `on_frame` with where it lies in the segment ([`Self::segment`]). False once the file
    /// is done: then this call was the last.
    pub fn next_segment(&mut self, mut on_frame: impl FnMut(Frame<'_>, StoredFrame)) -> bool {
        if self.done {
            return false;
        }
        if self.pos > 0 && !self.eof {
            // A new segment: the start of the block the last one ended in moves to its front.
            self.base += self.pos as u64;
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let mut want = self.segment;
        loop {
            if !self.eof && self.buf.len() < want {
                let more = want - self.buf.len();
                if let Err(e) = self.fill(more) {
                    return self.stop(format!("cannot read further after {} frames: {e}", self.stats.frames));
                }
            }
            loop {
                let rest = &self.buf[self.pos..];
                if rest.is_empty() && self.eof {
                    self.done = true;
                    return false;
                }
                let step = parse_block(&mut self.format, rest);
                match step {
                    // A block takes at least its header (checked all the same: the loop
                    // must move on).
                    Step::Block(0, _) => {
                        return self.stop(format!("empty block after {} frames", self.stats.frames));
                    }
                    Step::Block(len, frame) => {
                        let at = self.base + self.pos as u64;
                        if len > self.limit || (len == self.limit && at > 0) {
                            return self.too_small();
                        }
                        if let Some((frame, start)) = frame {
                            self.stats.frames += 1;
                            let stored = StoredFrame::at(&frame, self.pos + start);
                            on_frame(frame, stored);
                        }
                        self.pos += len;
                    }
                    Step::Incomplete(needed) => {
                        let whole = rest.len() + needed;
                        if whole >= self.limit {
                            return self.too_small();
                        }
                        if self.eof {
                            return self.stop(format!(
                                "unreadable block after {} frames: {}",
                                self.stats.frames,
                                PcapError::<&[u8]>::UnexpectedEof
                            ));
                        }
                        if self.pos > 0 {
                            // The segment is parsed up to a block it holds only the start of.
                            return true;
                        }
                        // One block larger than a segment: make room for it (or for more of
                        // it when its length is not known yet).
                        want = whole.max(self.buf.len() + 4096);
                        break;
                    }
                    Step::Failed(why) => {
                        return self.stop(format!("unreadable block after {} frames: {why}", self.stats.frames));
                    }
                }
            }
        }
    }

    fn too_small(&mut self) -> bool {
        self.stop(format!(
            "unreadable block after {} frames: {}",
            self.stats.frames,
            PcapError::<&[u8]>::BufferTooSmall
        ))
    }

    fn stop(&mut self, why: String) -> bool {
        self.stats.truncated = Some(why);
        self.done = true;
        false
    }

    /// The bytes the frames of the last [`Self::next_segment`] are in.
    pub fn segment(&self) -> &[u8] {
        &self.buf
    }

    /// Take the current segment's bytes; the reader goes on in a new buffer (holding a copy of
    /// the partial block the segment ended in, if any).
    pub fn take_segment(&mut self) -> Vec<u8> {
        let tail = if self.done { Vec::new() } else { self.buf[self.pos..].to_vec() };
        self.base += self.pos as u64;
        self.pos = 0;
        std::mem::replace(&mut self.buf, tail)
    }

    pub fn stats(&self) -> &FileStats {
        &self.stats
    }
}

/// Parse the block at the start of `data`.
fn parse_block<'a>(format: &mut Format, data: &'a [u8]) -> Step<'a> {
    match format {
        Format::Legacy { parse, link, nanos } => match parse(data) {
            Ok((rest, b)) => {
                let sub = if *nanos { u64::from(b.ts_usec) } else { u64::from(b.ts_usec) * 1000 };
                let timestamp = Duration::from_secs(u64::from(b.ts_sec)) + Duration::from_nanos(sub.min(999_999_999));
                let len = (b.caplen as usize).min(b.data.len());
                let frame = Frame { link: *link, timestamp, data: &b.data[..len], wire_len: b.origlen, vlan: None };
                Step::Block(data.offset(rest), Some((frame, data.offset(b.data))))
            }
            Err(e) => failed(e),
        },
        Format::Ng { big_endian, interfaces } => {
            if let Some(why) = short_block(data, *big_endian) {
                return Step::Failed(why);
            }
            let parse = if *big_endian { pcap_parser::parse_block_be } else { pcap_parser::parse_block_le };
            let (rest, block) = match parse(data) {
                Ok(parsed) => parsed,
                Err(e) => return failed(e),
            };
            let len = data.offset(rest);
            let frame = match block {
                Block::SectionHeader(shb) => {
                    *big_endian = shb.big_endian();
                    interfaces.clear();
                    None
                }
                Block::InterfaceDescription(idb) => {
                    interfaces.push(Interface {
                        link: LinkType::from_linktype(idb.linktype.0 as u32),
                        units_per_second: idb.ts_resolution().unwrap_or(1_000_000),
                        offset: idb.ts_offset().max(0) as u64,
                    });
                    None
                }
                Block::EnhancedPacket(epb) => interfaces.get(epb.if_id as usize).map(|iface| {
                    let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                    let timestamp =
                        units_to_duration(units, iface.units_per_second) + Duration::from_secs(iface.offset);
                    let len = (epb.caplen as usize).min(epb.data.len());
                    let data_at = data.offset(epb.data);
                    let frame = Frame {
                        link: iface.link,
                        timestamp,
                        data: &epb.data[..len],
                        wire_len: epb.origlen,
                        vlan: None,
                    };
                    (frame, data_at)
                }),
                Block::SimplePacket(spb) => interfaces.first().map(|iface| {
                    let len = (spb.origlen as usize).min(spb.data.len());
                    let frame = Frame {
                        link: iface.link,
                        timestamp: Duration::ZERO,
                        data: &spb.data[..len],
                        wire_len: spb.origlen,
                        vlan: None,
                    };
                    (frame, data.offset(spb.data))
                }),
                _ => None,
            };
            Step::Block(len, frame)
        }
    }
}

/// A pcapng block (other than a section header, which the parser checks itself) whose length
/// field is below the 12 bytes of type and both lengths. pcap-parser 0.16 subtracts 12 from it
/// unchecked for some block types (a panic with overflow checks, a bogus 4 GiB read without),
/// so such a block stops the file here.
fn short_block(data: &[u8], big_endian: bool) -> Option<String> {
    const SECTION_HEADER: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
    let (kind, len) = (data.get(..4)?, data.get(4..8)?);
    if kind == SECTION_HEADER {
        return None;
    }
    let len = [len[0], len[1], len[2], len[3]];
    let len = if big_endian { u32::from_be_bytes(len) } else { u32::from_le_bytes(len) };
    (len < 12).then(|| format!("pcapng block length {len} is below the 12-byte minimum"))
}

fn failed<'a>(e: nom::Err<PcapError<&[u8]>>) -> Step<'a> {
    match e {
        nom::Err::Incomplete(nom::Needed::Size(n)) => Step::Incomplete(n.into()),
        nom::Err::Incomplete(nom::Needed::Unknown) => Step::Incomplete(0),
        // The parser's own message quotes the rest of the input: name only what went wrong.
        nom::Err::Error(PcapError::NomError(_, kind)) | nom::Err::Failure(PcapError::NomError(_, kind)) => {
            Step::Failed(format!("Internal parser error {kind:?}"))
        }
        nom::Err::Error(e) | nom::Err::Failure(e) => Step::Failed(e.to_string()),
    }
}

/// Read every frame of `path`, in order, and hand it to `on_frame`.
pub fn read_file(path: &str, mut on_frame: impl FnMut(Frame<'_>)) -> Result<FileStats, CaptureError> {
    let mut reader = CaptureReader::open(path, READ_SEGMENT)?;
    while reader.next_segment(|frame, _| on_frame(frame)) {}
    Ok(reader.stats)
}

fn units_to_duration(units: u64, per_second: u64) -> Duration {
    let per_second = per_second.max(1);
    let secs = units / per_second;
    let rem = units % per_second;
    let nanos = (u128::from(rem) * 1_000_000_000 / u128::from(per_second)) as u64;
    Duration::from_secs(secs) + Duration::from_nanos(nanos)
}

/// How many frames ahead replay from memory prefetches: far enough for the load to finish
/// while the frames in between are dissected (≈0.5 µs each), near enough to still be in cache.
const PREFETCH_AHEAD: usize = 4;

/// Where one frame held in memory is: its bytes are `start..start + len` of the buffer that
/// holds it (a [`LoadedFile`]'s, or a parallel replay's chunk).
#[derive(Debug, Clone, Copy)]
pub struct StoredFrame {
    link: LinkType,
    timestamp: Duration,
    start: usize,
    len: u32,
    wire_len: u32,
}

impl StoredFrame {
    /// Record `frame`, whose bytes start at `start` of the buffer that holds them.
    pub fn at(frame: &Frame<'_>, start: usize) -> StoredFrame {
        StoredFrame {
            link: frame.link,
            timestamp: frame.timestamp,
            start,
            len: frame.data.len() as u32,
            wire_len: frame.wire_len,
        }
    }

    /// The frame again, its bytes taken from the `buffer` it was recorded into.
    pub fn frame<'a>(&self, buffer: &'a [u8]) -> Frame<'a> {
        let data = buffer.get(self.start..self.start + self.len as usize).unwrap_or_default();
        Frame { link: self.link, timestamp: self.timestamp, data, wire_len: self.wire_len, vlan: None }
    }
}

/// A capture file read into memory once, so `replay --repeat` parses it once and replays the
/// frames every round from memory (no file opens or block parsing per round).
#[derive(Debug, Default)]
pub struct LoadedFile {
    data: Vec<u8>,
    frames: Vec<StoredFrame>,
    stats: FileStats,
}

impl LoadedFile {
    /// Read every frame of `path` into memory: the file is read in one piece and kept as it
    /// is, the frames indexed where they lie in it (no copy of their bytes).
    pub fn load(path: &str) -> Result<LoadedFile, CaptureError> {
        let mut loaded = LoadedFile::default();
        let mut reader = CaptureReader::open(path, usize::MAX)?;
        while reader.next_segment(|_, stored| loaded.frames.push(stored)) {}
        loaded.data = reader.take_segment();
        loaded.stats = reader.stats.clone();
        loaded.frames.shrink_to_fit();
        Ok(loaded)
    }

    /// Hand every frame to `on_frame`, in file order; the file's statistics as `read_file`'s.
    pub fn replay(&self, mut on_frame: impl FnMut(Frame<'_>)) -> FileStats {
        for (i, f) in self.frames.iter().enumerate() {
            if let Some(ahead) = self.frames.get(i + PREFETCH_AHEAD).and_then(|a| self.data.get(a.start..)) {
                super::ring::prefetch(ahead);
            }
            on_frame(f.frame(&self.data));
        }
        self.stats.clone()
    }

    /// Bytes held (the file's frames and headers).
    pub fn bytes(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_parser::PcapBlockOwned;

    /// Frames (link, time, bytes, wire length) and how the file ended, as `pcap-parser`'s
    /// streaming reader sees `bytes` with the buffer this module used to give it.
    fn streamed(bytes: &[u8]) -> Result<(Vec<String>, Option<String>), String> {
        let capacity = bytes.len().saturating_add(4096).clamp(64 << 10, 1 << 20);
        let mut reader = pcap_parser::create_reader(capacity, bytes).map_err(|e| e.to_string())?;
        let (mut frames, mut link, mut nanos, mut ifaces) = (Vec::new(), LinkType::Ethernet, false, Vec::new());
        let push = |frames: &mut Vec<String>, link, ts: Duration, data: &[u8], wire| {
            frames.push(format!("{link:?} {ts:?} {data:?} {wire}"));
        };
        let end = loop {
            match reader.next() {
                Ok((offset, block)) => {
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            link = LinkType::from_linktype(h.network.0 as u32);
                            nanos = h.is_nanosecond_precision();
                        }
                        PcapBlockOwned::Legacy(b) => {
                            let sub = if nanos { u64::from(b.ts_usec) } else { u64::from(b.ts_usec) * 1000 };
                            let ts =
                                Duration::from_secs(u64::from(b.ts_sec)) + Duration::from_nanos(sub.min(999_999_999));
                            let len = (b.caplen as usize).min(b.data.len());
                            push(&mut frames, link, ts, &b.data[..len], b.origlen);
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => ifaces.clear(),
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => ifaces.push((
                            LinkType::from_linktype(idb.linktype.0 as u32),
                            idb.ts_resolution().unwrap_or(1_000_000),
                            idb.ts_offset().max(0) as u64,
                        )),
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            if let Some(&(link, per_second, offset)) = ifaces.get(epb.if_id as usize) {
                                let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                                let ts = units_to_duration(units, per_second) + Duration::from_secs(offset);
                                let len = (epb.caplen as usize).min(epb.data.len());
                                push(&mut frames, link, ts, &epb.data[..len], epb.origlen);
                            }
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            if let Some(&(link, _, _)) = ifaces.first() {
                                let len = (spb.origlen as usize).min(spb.data.len());
                                push(&mut frames, link, Duration::ZERO, &spb.data[..len], spb.origlen);
                            }
                        }
                        PcapBlockOwned::NG(_) => {}
                    }
                    reader.consume(offset);
                }
                Err(PcapError::Eof) => break None,
                Err(PcapError::Incomplete(_)) => {
                    if reader.reader_exhausted() {
                        break Some("exhausted".to_string());
                    }
                    reader.refill().map_err(|e| e.to_string())?;
                }
                // The parser's own message quotes the input; the kind is what is compared.
                Err(PcapError::NomError(_, kind)) => break Some(format!("Internal parser error {kind:?}")),
                Err(e) => break Some(e.to_string()),
            }
        };
        Ok((frames, end))
    }

    /// The same through [`CaptureReader`], in segments of `segment` bytes.
    fn in_memory(path: &str, segment: usize) -> Result<(Vec<String>, Option<String>), String> {
        let mut reader = CaptureReader::open(path, segment).map_err(|e| match e {
            CaptureError::Format { reason, .. } => reason,
            e => e.to_string(),
        })?;
        let mut frames = Vec::new();
        loop {
            let mut stored = Vec::new();
            let more = reader.next_segment(|frame, at| {
                frames.push(format!("{:?} {:?} {:?} {}", frame.link, frame.timestamp, frame.data, frame.wire_len));
                stored.push(at);
            });
            // Where a frame was recorded is where its bytes are.
            let segment = reader.take_segment();
            let mut again = stored.iter().map(|at| {
                let f = at.frame(&segment);
                format!("{:?} {:?} {:?} {}", f.link, f.timestamp, f.data, f.wire_len)
            });
            assert!(again.by_ref().eq(frames[frames.len() - stored.len()..].iter().cloned()), "{path}");
            if !more {
                break;
            }
        }
        let end = reader.stats.truncated.map(|why| why.split_once(": ").map_or(why.clone(), |(_, e)| e.to_string()));
        Ok((frames, end))
    }

    /// Every corpus capture, whole and cut short at a few places, read in memory (whole and in
    /// small segments) gives the frames and the end `pcap-parser`'s streaming reader gives.
    #[test]
    fn in_memory_reading_matches_the_streaming_reader() {
        let corpus = crate::corpus_dir().join("pcap");
        let Ok(dir) = std::fs::read_dir(&corpus) else {
            eprintln!("skipped: no corpus at {}", corpus.display());
            return;
        };
        let scratch = std::env::temp_dir().join(format!("flowsieve-file-test-{}.pcap", std::process::id()));
        let mut compared = 0;
        for (n, entry) in dir.flatten().enumerate() {
            let bytes = std::fs::read(entry.path()).unwrap();
            // Every file whole; every tenth also cut in the middle of its header and of a block.
            let cuts: &[usize] =
                if n % 10 == 0 { &[bytes.len(), 13, bytes.len() / 2, bytes.len() - 3] } else { &[bytes.len()] };
            for &cut in cuts {
                let bytes = &bytes[..cut.min(bytes.len())];
                std::fs::write(&scratch, bytes).unwrap();
                let path = scratch.to_string_lossy();
                let mut expected = streamed(bytes);
                // The streaming reader's "exhausted" case cannot happen: it reports the end
                // as an unexpected one first.
                if let Ok((_, Some(end))) = &mut expected {
                    assert_ne!(end, "exhausted");
                }
                for segment in [usize::MAX, 4096] {
                    assert_eq!(
                        in_memory(&path, segment),
                        expected,
                        "{:?} cut at {cut}, segments of {segment}",
                        entry.path()
                    );
                }
                compared += 1;
            }
        }
        let _ = std::fs::remove_file(&scratch);
        assert!(compared > 400, "{compared}");
    }

    /// A block whose length field is below the 12-byte minimum (fuzzing found pcap-parser
    /// panicking on one) ends the file with a reason; the frames before it are kept.
    #[test]
    fn a_block_shorter_than_its_header_ends_the_file() {
        let block = |kind: u32, body: &[u8]| {
            let len = (12 + body.len()) as u32;
            [&kind.to_le_bytes()[..], &len.to_le_bytes(), body, &len.to_le_bytes()].concat()
        };
        let mut file =
            block(0x0a0d_0d0a, &[0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        file.extend(block(1, &[1, 0, 0, 0, 0xff, 0xff, 0, 0])); // interface: Ethernet
        let frame = [0xaa; 14];
        let epb = [&[0u8; 12][..], &14u32.to_le_bytes(), &14u32.to_le_bytes(), &frame, &[0, 0]].concat();
        file.extend(block(6, &epb));
        // A process information block claiming 4 bytes.
        file.extend([1, 0, 0, 0x80, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let path = std::env::temp_dir().join(format!("flowsieve-short-block-{}.pcapng", std::process::id()));
        std::fs::write(&path, &file).unwrap();
        let mut frames = Vec::new();
        let stats = read_file(&path.to_string_lossy(), |f| frames.push(f.data.to_vec()));
        let _ = std::fs::remove_file(&path);
        let stats = stats.unwrap();
        assert_eq!(frames, vec![frame.to_vec()]);
        let why = stats.truncated.unwrap();
        assert!(why.contains("pcapng block length 4 is below the 12-byte minimum"), "{why}");
    }
}
