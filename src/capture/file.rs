//! pcap and pcapng files through `pcap-parser`.
//!
//! A file that ends in the middle of a block, or holds a block we cannot parse, stops being read
//! at that point: everything before it is kept and the damage is reported in [`FileStats`].
//! Several captures in nDPI's corpus are like that on purpose.

use std::fs::File;
use std::time::Duration;

use pcap_parser::pcapng::Block;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

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

/// Read every frame of `path`, in order, and hand it to `on_frame`.
pub fn read_file(path: &str, mut on_frame: impl FnMut(Frame<'_>)) -> Result<FileStats, CaptureError> {
    let file = File::open(path).map_err(|source| CaptureError::Open { path: path.to_string(), source })?;
    // The reader zeroes its whole buffer up front: size it to the file (no block can be
    // larger), up to 1 MiB, so thousands of small captures do not cost a megabyte each.
    let size = file.metadata().map(|m| m.len()).unwrap_or(1 << 20);
    let capacity = (size as usize).saturating_add(4096).clamp(64 << 10, 1 << 20);
    let mut reader = create_reader(capacity, file)
        .map_err(|e| CaptureError::Format { path: path.to_string(), reason: e.to_string() })?;
    let mut stats = FileStats::default();
    let mut legacy_link = LinkType::Ethernet;
    let mut legacy_nanos = false;
    let mut interfaces: Vec<Interface> = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(header) => {
                        legacy_link = LinkType::from_linktype(header.network.0 as u32);
                        legacy_nanos = header.is_nanosecond_precision();
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let sub = if legacy_nanos { u64::from(b.ts_usec) } else { u64::from(b.ts_usec) * 1000 };
                        let timestamp =
                            Duration::from_secs(u64::from(b.ts_sec)) + Duration::from_nanos(sub.min(999_999_999));
                        let len = (b.caplen as usize).min(b.data.len());
                        stats.frames += 1;
                        on_frame(Frame {
                            link: legacy_link,
                            timestamp,
                            data: &b.data[..len],
                            wire_len: b.origlen,
                            vlan: None,
                        });
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => interfaces.push(Interface {
                        link: LinkType::from_linktype(idb.linktype.0 as u32),
                        units_per_second: idb.ts_resolution().unwrap_or(1_000_000),
                        offset: idb.ts_offset().max(0) as u64,
                    }),
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        if let Some(iface) = interfaces.get(epb.if_id as usize) {
                            let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let timestamp =
                                units_to_duration(units, iface.units_per_second) + Duration::from_secs(iface.offset);
                            let len = (epb.caplen as usize).min(epb.data.len());
                            stats.frames += 1;
                            on_frame(Frame {
                                link: iface.link,
                                timestamp,
                                data: &epb.data[..len],
                                wire_len: epb.origlen,
                                vlan: None,
                            });
                        }
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        if let Some(iface) = interfaces.first() {
                            let len = (spb.origlen as usize).min(spb.data.len());
                            stats.frames += 1;
                            on_frame(Frame {
                                link: iface.link,
                                timestamp: Duration::ZERO,
                                data: &spb.data[..len],
                                wire_len: spb.origlen,
                                vlan: None,
                            });
                        }
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                // Still incomplete after the file ran dry: it ends inside a block.
                if reader.reader_exhausted() {
                    stats.truncated = Some(format!("file ends inside a block after {} frames", stats.frames));
                    break;
                }
                if let Err(e) = reader.refill() {
                    stats.truncated = Some(format!("cannot read further after {} frames: {e}", stats.frames));
                    break;
                }
            }
            Err(e) => {
                stats.truncated = Some(format!("unreadable block after {} frames: {e}", stats.frames));
                break;
            }
        }
    }
    Ok(stats)
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
    /// Record `frame`, whose bytes are about to be appended to `buffer`.
    pub fn of(frame: &Frame<'_>, buffer: &[u8]) -> StoredFrame {
        StoredFrame {
            link: frame.link,
            timestamp: frame.timestamp,
            start: buffer.len(),
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
    /// Read every frame of `path` into memory.
    pub fn load(path: &str) -> Result<LoadedFile, CaptureError> {
        let mut loaded = LoadedFile::default();
        // The frames' bytes are never more than the file: reserve that once instead of growing
        // (and copying) the buffer a dozen times, and keep it as is afterwards (the slack is
        // the file's headers), so no shrinking copies it again either.
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        loaded.data.reserve_exact(usize::try_from(size).unwrap_or(0));
        let stats = read_file(path, |frame| {
            loaded.frames.push(StoredFrame::of(&frame, &loaded.data));
            loaded.data.extend_from_slice(frame.data);
        })?;
        loaded.stats = stats;
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

    /// Bytes of frame data held.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }
}
