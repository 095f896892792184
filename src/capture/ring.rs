//! Live capture on AF_PACKET rings (TPACKET_V2 or TPACKET_V3), two sockets per worker (bare
//! TCP SYNs apart from everything else, [`RingCapture`]), each joined in a `PACKET_FANOUT_HASH`
//! group so the kernel sends both directions of a flow to the same worker.
//!
//! All of flowsieve's capture `unsafe` lives in this file. The ring is a shared mapping the
//! kernel fills: with V3 block by block, with V2 frame by frame. A block (V3) or frame (V2)
//! whose status has `TP_STATUS_USER` belongs to us until we write `TP_STATUS_KERNEL` back. Every
//! read inside a block or frame is bounds-checked against it before the pointer is formed, so a
//! corrupt header cannot make us read outside the mapping.
//!
//! Why two versions: a V3 block reaches userspace only when it is full or when its retire timer
//! fires (`--ring-timeout`, 1 ms: measured here as an even 0–1 ms wait; older kernels round it
//! up to whole jiffies), so on light traffic the packet that completes a classification waits
//! for the timer. A V2 frame is
//! handed over as soon as the kernel has written it and `poll` wakes on every frame: lower
//! latency, at the cost of a fixed frame size (longer packets are cut) and one status word per
//! packet instead of per block.

// One of the two modules allowed `unsafe` (see Cargo.toml's [lints]): the ring is memory the
// kernel shares with us and sockets are set up through libc.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::live::{LiveEvent, LiveStats};
use super::{CaptureError, Frame};
use crate::decode::LinkType;

/// Which AF_PACKET ring layout to use (`run --ring`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingVersion {
    /// TPACKET_V2: fixed-size frames, each handed over as soon as it is written. The default:
    /// the enforcement delay does not depend on a kernel timer.
    V2,
    /// TPACKET_V3: variable-size packets packed in blocks, handed over per block (full or
    /// retired by `block_timeout_ms`). Fewer wake-ups and whole packets at high rates.
    V3,
}

/// Ring geometry of one socket. The kernel maps the whole ring into the process when the
/// socket is set up, so its size counts in full towards the agent's resident memory, per
/// worker and per interface: the default is small and follows the interface's traffic class
/// ([`RingConfig::for_interface`]); `run --ring-size` sets it.
///
/// V3: a block is handed to the worker when full or when its retire timeout passes; the
/// timeout bounds how long the packet that completes a classification waits before it is seen,
/// so it is short (1 ms asked, `run --ring-timeout`; the kernel rounds it up to a jiffy). Many
/// small blocks keep the ring from filling when light traffic retires nearly-empty blocks, so
/// blocks are 64–256 KiB and there are at least 16 of them ([`RingConfig::with_size`]).
///
/// V2: the same mapping cut into 4 KiB frames (512 per MiB). A frame holds the packet from
/// its link header on, up to about 4000 bytes: full-size Ethernet frames fit, longer packets
/// (GRO/TSO aggregates) are cut and their length on the wire is kept.
#[derive(Debug, Clone, Copy)]
pub struct RingConfig {
    pub version: RingVersion,
    pub block_size: u32,
    pub block_count: u32,
    pub frame_size: u32,
    pub block_timeout_ms: u32,
}

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// Smallest and largest ring per socket `run --ring-size` accepts, in MiB.
pub const RING_MIB_RANGE: std::ops::RangeInclusive<u32> = 1..=1024;

/// Default ring per socket for an interface's traffic class: its link speed in Mb/s as the
/// kernel reports it for a physical device (`/sys/class/net/IF/speed`). Virtual devices
/// (bridges, VLANs, veth, PPP, tunnels) and links of unknown speed get the middle size: their
/// traffic is bounded by the physical ports under them, and a router's CPU, not the ring,
/// limits what it inspects.
pub fn default_ring_bytes(speed_mbps: Option<u32>) -> usize {
    match speed_mbps {
        Some(s) if s <= 100 => MIB,
        None => 2 * MIB,
        Some(s) if s <= 1_000 => 4 * MIB,
        Some(s) if s <= 10_000 => 16 * MIB,
        Some(_) => 32 * MIB,
    }
}

/// The link speed of a physical interface (one with a `device` in sysfs), in Mb/s; `None` for
/// virtual interfaces, links that are down (speed -1) and unreadable values.
pub fn link_speed_mbps(iface: &str) -> Option<u32> {
    let dir = std::path::Path::new("/sys/class/net").join(iface);
    if iface.contains('/') || !dir.join("device").exists() {
        return None;
    }
    let text = std::fs::read_to_string(dir.join("speed")).ok()?;
    text.trim().parse::<i64>().ok().and_then(|s| u32::try_from(s).ok()).filter(|&s| s > 0)
}

impl RingConfig {
    /// The same ring version and timeout with a ring of about `bytes` (rounded down to whole
    /// blocks, at least one). Blocks are 1/64 of the ring, between 64 KiB and 256 KiB.
    pub fn with_size(self, bytes: usize) -> RingConfig {
        let block = (bytes / 64).max(1).next_power_of_two().clamp(64 * KIB, 256 * KIB);
        let count = (bytes / block).max(1);
        RingConfig { block_size: block as u32, block_count: u32::try_from(count).unwrap_or(u32::MAX), ..self }
    }

    /// The ring of bare TCP SYNs beside a data ring of this geometry ([`RingCapture`]): the same
    /// version, a quarter of its size between 1 and 8 MiB, and V2 frames of 256 bytes (a bare
    /// SYN is at most 118 bytes from its Ethernet header on: 14 + 4 (VLAN) + 40 (IPv6) + 60
    /// (TCP with options), after the 66 bytes of frame header), so 1 MiB holds 4,096 SYNs.
    pub fn for_bare_syns(self) -> RingConfig {
        RingConfig { frame_size: 256, ..self.with_size((self.bytes() / 4).clamp(MIB, 8 * MIB)) }
    }

    /// The ring for `iface` by its traffic class ([`default_ring_bytes`]).
    pub fn for_interface(self, iface: &str) -> RingConfig {
        self.with_size(default_ring_bytes(link_speed_mbps(iface)))
    }

    /// Bytes mapped per socket.
    pub fn bytes(&self) -> usize {
        self.block_size as usize * self.block_count as usize
    }
}

impl Default for RingConfig {
    /// 2 MiB (the size for a virtual interface), TPACKET_V2, 1 ms V3 block timeout.
    fn default() -> Self {
        RingConfig { version: RingVersion::V2, block_size: 0, block_count: 0, frame_size: 4096, block_timeout_ms: 1 }
            .with_size(default_ring_bytes(None))
    }
}

/// One TPACKET_V2 or TPACKET_V3 socket and its mapped ring.
pub struct PacketRing {
    fd: OwnedFd,
    map: NonNull<u8>,
    map_len: usize,
    version: RingVersion,
    block_size: usize,
    block_count: usize,
    /// V2 only: frame slot size, slots per block, slots in the ring.
    frame_size: usize,
    frames_per_block: usize,
    frame_count: usize,
    /// The next block (V3) or frame slot (V2) the kernel fills.
    current: usize,
    /// V3 only: packets not yet taken in block `current` (0: no block open) and the offset of
    /// the next one in it.
    v3_left: u32,
    v3_at: usize,
    iface: String,
    /// The interface index the socket is bound to (a re-created interface gets a new one).
    ifindex: u32,
    stats: LiveStats,
}

// SAFETY: the mapping is owned by this value alone (no other handle to it exists in the
// process), so moving it to another thread is sound; it is not Sync.
unsafe impl Send for PacketRing {}

/// The index of interface `name` in this network namespace, `None` when there is no such
/// interface (or the name cannot be one).
pub fn interface_index(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

fn os_error(iface: &str, what: &str) -> CaptureError {
    CaptureError::Live { iface: iface.to_string(), message: format!("{what}: {}", std::io::Error::last_os_error()) }
}

fn set_opt<T>(fd: &OwnedFd, level: i32, name: i32, value: &T, iface: &str, what: &str) -> Result<(), CaptureError> {
    // SAFETY: `value` points to a live, initialised T and the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(os_error(iface, what))
    }
}

// libpcap's instruction type must be the kernel's `struct sock_filter` (classic BPF: u16 code,
// u8 jt, u8 jf, u32 k) for the cast in `attach_filter`.
const _: () = assert!(std::mem::size_of::<pcap::BpfInstruction>() == std::mem::size_of::<libc::sock_filter>());
const _: () = assert!(std::mem::align_of::<pcap::BpfInstruction>() == std::mem::align_of::<libc::sock_filter>());

/// Attach a classic BPF program to the socket (SO_ATTACH_FILTER): the kernel then queues only
/// the packets it accepts.
fn attach_filter(fd: &OwnedFd, program: &pcap::BpfProgram, iface: &str) -> Result<(), CaptureError> {
    let insns = program.get_instructions();
    let len = u16::try_from(insns.len()).map_err(|_| CaptureError::Live {
        iface: iface.to_string(),
        message: format!("BPF filter too long ({} instructions)", insns.len()),
    })?;
    // SAFETY: `BpfInstruction` is `repr(transparent)` over libpcap's `struct bpf_insn`, which has
    // the same fields, sizes and order as the kernel's `struct sock_filter` (both are the classic
    // BPF instruction; size and alignment are checked at compile time above). The kernel copies
    // the program during setsockopt, so the pointer only has to live for this call, and
    // `program` outlives it.
    let fprog = libc::sock_fprog { len, filter: insns.as_ptr().cast::<libc::sock_filter>().cast_mut() };
    set_opt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog, iface, "SO_ATTACH_FILTER (BPF filter)")
}

impl PacketRing {
    /// Open a ring on `iface` in promiscuous mode. `fanout_group`: the group every worker of
    /// this interface joins (same id), `None` for a single worker. `filter`: a BPF program
    /// compiled for Ethernet ([`super::filter::compile`]), run by the kernel on every packet.
    ///
    /// The socket is created with protocol 0, so it receives nothing until `bind` names the
    /// interface and ETH_P_ALL: the filter and the ring are in place before the first packet
    /// (no unfiltered packet, no packet of another interface).
    pub fn open(
        iface: &str,
        config: RingConfig,
        fanout_group: Option<u16>,
        filter: Option<&pcap::BpfProgram>,
    ) -> Result<PacketRing, CaptureError> {
        let name = CString::new(iface).map_err(|_| CaptureError::Live {
            iface: iface.to_string(),
            message: "interface name contains a NUL byte".into(),
        })?;
        // SAFETY: `name` is a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(os_error(iface, "no such interface"));
        }
        let protocol = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(os_error(iface, "AF_PACKET socket (needs CAP_NET_RAW)"));
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        if let Some(program) = filter {
            attach_filter(&fd, program, iface)?;
        }
        let frames_per_block = config.block_size.checked_div(config.frame_size).unwrap_or(0);
        if frames_per_block == 0 {
            return Err(CaptureError::Live {
                iface: iface.to_string(),
                message: format!("ring frame size {} larger than block size {}", config.frame_size, config.block_size),
            });
        }
        let frame_count = frames_per_block * config.block_count;
        match config.version {
            RingVersion::V3 => {
                let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
                set_opt(&fd, libc::SOL_PACKET, libc::PACKET_VERSION, &version, iface, "PACKET_VERSION v3")?;
                let req = libc::tpacket_req3 {
                    tp_block_size: config.block_size,
                    tp_block_nr: config.block_count,
                    tp_frame_size: config.frame_size,
                    tp_frame_nr: frame_count,
                    tp_retire_blk_tov: config.block_timeout_ms,
                    tp_sizeof_priv: 0,
                    tp_feature_req_word: 0,
                };
                set_opt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req, iface, "PACKET_RX_RING (v3)")?;
            }
            RingVersion::V2 => {
                let version = libc::tpacket_versions::TPACKET_V2 as libc::c_int;
                set_opt(&fd, libc::SOL_PACKET, libc::PACKET_VERSION, &version, iface, "PACKET_VERSION v2")?;
                let req = libc::tpacket_req {
                    tp_block_size: config.block_size,
                    tp_block_nr: config.block_count,
                    tp_frame_size: config.frame_size,
                    tp_frame_nr: frame_count,
                };
                set_opt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req, iface, "PACKET_RX_RING (v2)")?;
            }
        }
        let map_len = config.block_size as usize * config.block_count as usize;
        // SAFETY: mapping the ring the kernel just allocated for this socket; checked below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(os_error(iface, "mmap of the packet ring"));
        }
        let map = NonNull::new(map.cast::<u8>()).ok_or_else(|| os_error(iface, "mmap returned NULL"))?;
        let mut ring = PacketRing {
            fd,
            map,
            map_len,
            version: config.version,
            block_size: config.block_size as usize,
            block_count: config.block_count as usize,
            frame_size: config.frame_size as usize,
            frames_per_block: frames_per_block as usize,
            frame_count: frame_count as usize,
            current: 0,
            v3_left: 0,
            v3_at: 0,
            iface: iface.to_string(),
            ifindex,
            stats: LiveStats::default(),
        };

        // SAFETY: sockaddr_ll is plain data; all-zero is a valid starting value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = protocol;
        addr.sll_ifindex = ifindex as i32;
        // SAFETY: `addr` is a valid sockaddr_ll and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(os_error(iface, "bind to interface"));
        }
        let mreq = libc::packet_mreq {
            mr_ifindex: ifindex as i32,
            mr_type: libc::PACKET_MR_PROMISC as u16,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        set_opt(&ring.fd, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq, iface, "promiscuous mode")?;
        if let Some(group) = fanout_group {
            // Fragments are reassembled before hashing so they reach the same worker.
            let arg: u32 = u32::from(group) | ((libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG) << 16);
            set_opt(&ring.fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg, iface, "PACKET_FANOUT hash group")?;
        }
        ring.current = 0;
        Ok(ring)
    }

    pub fn iface(&self) -> &str {
        &self.iface
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    pub fn version(&self) -> RingVersion {
        self.version
    }

    /// Kernel counters since the socket opened (PACKET_STATISTICS resets on read; we add up).
    /// A V2 socket fills only the first two fields of `tpacket_stats_v3` (its `tpacket_stats`),
    /// which are the ones read.
    pub fn stats(&mut self) -> LiveStats {
        // SAFETY: tpacket_stats_v3 is plain data; zero is valid.
        let mut s: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `s` and `len` are valid for writes of the sizes given.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut s as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            // tp_packets counts everything the socket saw, drops included.
            self.stats.received = self.stats.received.wrapping_add(s.tp_packets);
            self.stats.dropped = self.stats.dropped.wrapping_add(s.tp_drops);
        }
        self.stats
    }

    /// The block at `index`: a byte slice over the mapping.
    fn block(&self, index: usize) -> &[u8] {
        // SAFETY: index < block_count, so the range lies inside the mapping, which lives as
        // long as `self`. The kernel may write to blocks it owns concurrently; we only read a
        // block's payload after seeing TP_STATUS_USER (acquire fence), when it is ours.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(index * self.block_size), self.block_size) }
    }

    fn block_status(&self, index: usize) -> *mut u32 {
        // SAFETY: the block descriptor starts with version and offset_to_priv (u32 each), then
        // tpacket_hdr_v1 whose first field is block_status; offset 8 is inside the block.
        unsafe { self.map.as_ptr().add(index * self.block_size + 8).cast::<u32>() }
    }

    /// The capture time of the next packet, when one is ready for us. V3: opens the next block
    /// the kernel handed over (skipping empty or unreadable ones); it stays ours until its last
    /// packet is taken.
    fn peek(&mut self) -> Option<Duration> {
        match self.version {
            RingVersion::V2 => {
                // SAFETY: aligned u32 inside the mapping; volatile because the kernel writes it.
                let status = unsafe { self.frame_status(self.current).read_volatile() };
                if status & libc::TP_STATUS_USER == 0 {
                    return None;
                }
                fence(Ordering::Acquire);
                // tpacket2_hdr: sec at 16, nsec at 20.
                let slot = self.frame_slot(self.current);
                // (A slot is at least a tpacket2_hdr long; were it not, 0 keeps the frame ours
                // to take rather than leave it to spin on.)
                Some(timestamp(u32_at(slot, 16).unwrap_or(0), u32_at(slot, 20).unwrap_or(0)))
            }
            RingVersion::V3 => {
                for _ in 0..self.block_count {
                    if self.v3_left == 0 {
                        // SAFETY: aligned u32 inside the mapping; volatile because the kernel writes it.
                        let status = unsafe { self.block_status(self.current).read_volatile() };
                        if status & libc::TP_STATUS_USER == 0 {
                            return None;
                        }
                        fence(Ordering::Acquire);
                        // tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1 at 8:
                        // block_status (8), num_pkts (12), offset_to_first_pkt (16).
                        let block = self.block(self.current);
                        let (count, first) = (u32_at(block, 12).unwrap_or(0), u32_at(block, 16).unwrap_or(0));
                        (self.v3_left, self.v3_at) = (count, first as usize);
                    }
                    // tpacket3_hdr: sec at 4, nsec at 8.
                    let block = self.block(self.current);
                    if let (Some(sec), Some(nsec)) = (u32_at(block, self.v3_at + 4), u32_at(block, self.v3_at + 8)) {
                        if self.v3_left > 0 {
                            return Some(timestamp(sec, nsec));
                        }
                    }
                    self.release_block();
                }
                None
            }
        }
    }

    /// Whether the kernel is well ahead of us: `LAG` more V2 frames, or one more V3 block,
    /// are ready behind the next one.
    fn lagging(&self) -> bool {
        const LAG: usize = 64;
        let status = match self.version {
            RingVersion::V2 => self.frame_status((self.current + LAG) % self.frame_count),
            RingVersion::V3 if self.block_count > 1 => self.block_status((self.current + 1) % self.block_count),
            RingVersion::V3 => return false,
        };
        // SAFETY: aligned u32 inside the mapping; volatile because the kernel writes it.
        unsafe { status.read_volatile() & libc::TP_STATUS_USER != 0 }
    }

    /// Hand the packet [`Self::peek`] found to `on_event`, then give its frame (V2) or, after
    /// its last packet, its block (V3) back to the kernel.
    fn take(&mut self, on_event: &mut impl FnMut(LiveEvent<'_>)) {
        match self.version {
            RingVersion::V2 => {
                let status_ptr = self.frame_status(self.current);
                // SAFETY: aligned u32 inside the mapping; the slot is ours (peek saw TP_STATUS_USER).
                let status = unsafe { status_ptr.read_volatile() };
                self.read_frame_v2(self.current, status, on_event);
                fence(Ordering::Release);
                // SAFETY: as above; returning the slot to the kernel.
                unsafe { status_ptr.write_volatile(libc::TP_STATUS_KERNEL) };
                self.current = (self.current + 1) % self.frame_count;
            }
            RingVersion::V3 => {
                let next = self.read_packet_v3(on_event);
                self.v3_left = self.v3_left.saturating_sub(1);
                match next {
                    Some(next) if next > 0 && self.v3_left > 0 => self.v3_at += next as usize,
                    _ => self.release_block(),
                }
            }
        }
    }

    /// Give the open V3 block back to the kernel and move to the next.
    fn release_block(&mut self) {
        fence(Ordering::Release);
        // SAFETY: aligned u32 inside the mapping; the block is ours (we saw TP_STATUS_USER).
        unsafe { self.block_status(self.current).write_volatile(libc::TP_STATUS_KERNEL) };
        self.current = (self.current + 1) % self.block_count;
        self.v3_left = 0;
        self.v3_at = 0;
    }

    /// The V3 packet at the cursor, read with bounds checks against its block; returns its
    /// `next_offset` (`None` when the header or packet does not fit in the block).
    fn read_packet_v3(&self, on_event: &mut impl FnMut(LiveEvent<'_>)) -> Option<u32> {
        let block = self.block(self.current);
        let at = self.v3_at;
        // tpacket3_hdr: next_offset 0, sec 4, nsec 8, snaplen 12, len 16, status 20,
        // mac 24 (u16), net 26, hv1 { rxhash 28, vlan_tci 32, vlan_tpid 36 }.
        let next = u32_at(block, at)?;
        let (sec, nsec, snaplen, len) =
            (u32_at(block, at + 4)?, u32_at(block, at + 8)?, u32_at(block, at + 12)?, u32_at(block, at + 16)?);
        // vlan_tci is a u32 here (a u16 in V2); the id is its low 12 bits.
        let (status, mac, tci) = (u32_at(block, at + 20)?, u16_at(block, at + 24)?, u32_at(block, at + 32)? as u16);
        let header = FrameHeader { sec, nsec, snaplen, len, status, tci };
        emit(block, at + mac as usize, header, on_event);
        Some(next)
    }

    /// The V2 frame slot at `index`: a byte slice over the mapping. Slots never straddle a
    /// block: each block holds `frames_per_block` of them from its start.
    fn frame_slot(&self, index: usize) -> &[u8] {
        let offset =
            (index / self.frames_per_block) * self.block_size + (index % self.frames_per_block) * self.frame_size;
        // SAFETY: index < frame_count = frames_per_block * block_count, so the block number is
        // below block_count and the slot (frame_size bytes, frames_per_block * frame_size <=
        // block_size) lies inside that block, inside the mapping, which lives as long as `self`.
        // The kernel writes slots it owns concurrently; we only read a slot's contents after
        // seeing TP_STATUS_USER (acquire fence), when it is ours.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(offset), self.frame_size) }
    }

    /// Status word of the V2 frame slot at `index`: `tp_status`, the first field of
    /// `tpacket2_hdr` at the start of the slot.
    fn frame_status(&self, index: usize) -> *mut u32 {
        let offset =
            (index / self.frames_per_block) * self.block_size + (index % self.frames_per_block) * self.frame_size;
        // SAFETY: as in `frame_slot`, the slot starts inside the mapping; its first 4 bytes are
        // inside it too (frame_size >= 4, the kernel refused smaller frames), and the offset is
        // a multiple of TPACKET_ALIGNMENT (16), so the u32 is aligned.
        unsafe { self.map.as_ptr().add(offset).cast::<u32>() }
    }

    /// The packet in one V2 frame slot we own, read with bounds checks against the slot.
    fn read_frame_v2(&self, index: usize, status: u32, on_event: &mut impl FnMut(LiveEvent<'_>)) {
        let slot = self.frame_slot(index);
        // tpacket2_hdr: status 0, len 4, snaplen 8, mac 12 (u16), net 14, sec 16, nsec 20,
        // vlan_tci 24 (u16), vlan_tpid 26.
        let (Some(len), Some(snaplen), Some(mac), Some(sec), Some(nsec), Some(tci)) =
            (u32_at(slot, 4), u32_at(slot, 8), u16_at(slot, 12), u32_at(slot, 16), u32_at(slot, 20), u16_at(slot, 24))
        else {
            return;
        };
        emit(slot, mac as usize, FrameHeader { sec, nsec, snaplen, len, status, tci }, on_event);
    }
}

/// What a V2 or V3 frame header says about its packet.
struct FrameHeader {
    sec: u32,
    nsec: u32,
    snaplen: u32,
    len: u32,
    status: u32,
    tci: u16,
}

/// Hand the packet at `start` in `area` (a V2 slot or V3 block) to `on_event`; nothing when
/// it does not fit in `area`.
fn emit(area: &[u8], start: usize, h: FrameHeader, on_event: &mut impl FnMut(LiveEvent<'_>)) {
    let Some(data) = area.get(start..start + h.snaplen as usize) else { return };
    let vlan = (h.status & libc::TP_STATUS_VLAN_VALID != 0).then_some(h.tci & 0x0fff);
    on_event(LiveEvent::Frame(Frame {
        link: LinkType::Ethernet,
        timestamp: timestamp(h.sec, h.nsec),
        data,
        wire_len: h.len,
        vlan,
    }));
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at.checked_add(4)?).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    bytes.get(at..at.checked_add(2)?).map(|b| u16::from_ne_bytes([b[0], b[1]]))
}

fn timestamp(sec: u32, nsec: u32) -> Duration {
    Duration::new(u64::from(sec), nsec.min(999_999_999))
}

/// A worker's capture on one interface: the data ring, which takes every packet but bare TCP
/// SYNs, and the ring of bare SYNs (SYN without ACK, no payload), each with its own BPF filter
/// (the complement of the other's, so each packet lands in exactly one) and its own fanout
/// group.
///
/// Why two: under a SYN flood a single ring fills with the flood, and the kernel drops what
/// does not fit whichever flow it belongs to, so the packets of a real connection are lost
/// with the rest. The worker takes the data ring's packets first; the SYN ring gets the time
/// left, so a flood fills and overruns only the SYN ring (docs/ARCHITECTURE.md, "Floods").
/// While the SYN ring keeps up, packets go in capture-time order across both, so a
/// connection's SYN comes before its answer as on one ring; when it lags behind, a real
/// connection's SYN may come after its answer or be lost, and the flow is picked up from the
/// SYN+ACK (its receiver opened it) or mid-stream (docs/FLOW-ACTIONS.md §4, "Origin").
///
/// Fanout: both groups hash by flow and have the same members, one socket of each per worker,
/// joined in the same order (each worker opens its pair in turn at start), so a connection's
/// SYN and the rest of it reach the same worker. A worker that reopens its pair later (its
/// interface came back) may join in another order; a SYN that then reaches another worker only
/// leaves an unestablished flow there, which expires.
pub struct RingCapture {
    data: PacketRing,
    syn: PacketRing,
}

impl RingCapture {
    /// Open both rings on `iface`. `data`: the data ring's geometry (the SYN ring's follows,
    /// [`RingConfig::for_bare_syns`]); `fanout_groups`: the data and SYN groups, `None` for a
    /// single worker; `filter`: the user's filter, for both rings.
    pub fn open(
        iface: &str,
        data: RingConfig,
        fanout_groups: Option<(u16, u16)>,
        filter: Option<&str>,
    ) -> Result<RingCapture, CaptureError> {
        let (data_filter, syn_filter) = super::filter::split_bare_syns(filter);
        let compile = |expr: &str| super::filter::compile(expr, LinkType::Ethernet);
        let syn_config = data.for_bare_syns();
        let data = PacketRing::open(iface, data, fanout_groups.map(|g| g.0), Some(&compile(&data_filter)?))?;
        let syn = PacketRing::open(iface, syn_config, fanout_groups.map(|g| g.1), Some(&compile(&syn_filter)?))?;
        Ok(RingCapture { data, syn })
    }

    pub fn iface(&self) -> &str {
        self.data.iface()
    }

    pub fn ifindex(&self) -> u32 {
        self.data.ifindex()
    }

    /// Kernel counters of both rings since they opened; `syn_*` the SYN ring's share.
    pub fn stats(&mut self) -> LiveStats {
        let (d, s) = (self.data.stats(), self.syn.stats());
        LiveStats {
            received: d.received.wrapping_add(s.received),
            dropped: d.dropped.wrapping_add(s.dropped),
            if_dropped: 0,
            syn_received: s.received,
            syn_dropped: s.dropped,
        }
    }

    /// Hand frames of both rings to `on_event` until `stop` is set; `Idle` at least every
    /// 100 ms (and every 1024 frames while traffic flows).
    ///
    /// One frame at a time: the data ring's next one, unless the SYN ring's next one is older
    /// and the SYN ring is not lagging ([`PacketRing::lagging`]); `poll` only when neither has
    /// a frame. V2 frames are handed over as soon as the kernel has written them and `poll`
    /// wakes on every frame, so light traffic wakes us per packet: the periodic work (`Idle`:
    /// counters, expiry, status) is paced by the clock, not by wake-ups.
    pub fn run(&mut self, stop: &AtomicBool, mut on_event: impl FnMut(LiveEvent<'_>)) -> Result<(), CaptureError> {
        const IDLE_EVERY: Duration = Duration::from_millis(100);
        let mut since_idle = 0u32;
        let mut last_idle = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let from_syn = match (self.data.peek(), self.syn.peek()) {
                (None, None) => {
                    super::wait_readable(self.data.fd.as_fd(), Some(self.syn.fd.as_fd()), &self.data.iface)?;
                    if last_idle.elapsed() >= IDLE_EVERY {
                        since_idle = 0;
                        last_idle = Instant::now();
                        on_event(LiveEvent::Idle(self.stats()));
                    }
                    continue;
                }
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some(data), Some(syn)) => syn < data && !self.syn.lagging(),
            };
            if from_syn {
                self.syn.take(&mut on_event);
            } else {
                self.data.take(&mut on_event);
            }
            since_idle += 1;
            if since_idle >= 1024 || (since_idle.is_multiple_of(64) && last_idle.elapsed() >= IDLE_EVERY) {
                since_idle = 0;
                last_idle = Instant::now();
                on_event(LiveEvent::Idle(self.stats()));
            }
        }
        Ok(())
    }
}

impl Drop for PacketRing {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region mmap returned; nothing borrows it any more
        // (borrows of blocks never outlive `&self`).
        unsafe {
            libc::munmap(self.map.as_ptr().cast(), self.map_len);
        }
    }
}

/// Ask the CPU to start loading the first cache line of `bytes`, so that a frame a few places
/// ahead in a replayed capture is in cache when its turn comes (the first read of each frame's
/// header was the largest single stall of `replay --repeat`). A hint only: no effect on
/// results, and a no-op off x86-64.
#[inline(always)]
pub fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint, not an access: it never faults and reads nothing
    // architecturally, and the pointer comes from a live slice anyway. SSE is part of the
    // x86-64 baseline, so the instruction exists on every CPU this build runs on.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(bytes.as_ptr().cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_sizes_keep_many_blocks() {
        for (mib, block_kib, blocks) in
            [(1, 64, 16), (2, 64, 32), (4, 64, 64), (8, 128, 64), (16, 256, 64), (64, 256, 256)]
        {
            let c = RingConfig::default().with_size(mib * MIB);
            assert_eq!((c.block_size as usize / KIB, c.block_count), (block_kib, blocks), "{mib} MiB");
            assert_eq!(c.bytes(), mib * MIB);
            assert_eq!(c.block_size % c.frame_size, 0);
        }
        assert_eq!(RingConfig::default().bytes(), 2 * MIB);
    }

    #[test]
    fn default_size_follows_the_link_speed() {
        assert_eq!(default_ring_bytes(Some(10)), MIB);
        assert_eq!(default_ring_bytes(Some(100)), MIB);
        assert_eq!(default_ring_bytes(None), 2 * MIB);
        assert_eq!(default_ring_bytes(Some(1000)), 4 * MIB);
        assert_eq!(default_ring_bytes(Some(2500)), 16 * MIB);
        assert_eq!(default_ring_bytes(Some(25_000)), 32 * MIB);
        // Loopback is virtual: no device, no speed.
        assert_eq!(link_speed_mbps("lo"), None);
        assert_eq!(link_speed_mbps("../lo"), None);
    }
}
