//! NFQUEUE capture: packets the firewall queues (`queue … to 50-53` in nftables, `-j NFQUEUE`
//! in iptables) arrive on a `NETLINK_NETFILTER` socket bound to one queue number, and each
//! waits in the kernel until we send its verdict.
//!
//! Own encoding of the `nfnetlink_queue` messages (`linux/netfilter/nfnetlink_queue.h`), on the
//! crate's netlink plumbing: a queue is bound with `NFQNL_CFG_CMD_BIND`, copies at most
//! `copy_range` bytes of each packet (`NFQNL_COPY_PACKET`), and is configured with
//! `NFQA_CFG_F_FAIL_OPEN` (a full queue accepts instead of dropping), `NFQA_CFG_F_GSO` (GSO
//! packets are not segmented for us) and `NFQA_CFG_F_CONNTRACK` (each packet carries its
//! conntrack entry: id, mark). Packets are received up to [`BATCH`] at a time with one
//! `recvmmsg` into fixed buffers, and verdicts go out as `NFQNL_MSG_VERDICT_BATCH` (every packet
//! up to an id) or, to set a conntrack mark, as one `NFQNL_MSG_VERDICT` with a nested `NFQA_CT`.
//! Nothing on the packet path allocates.

// One of the modules allowed `unsafe` (see Cargo.toml's [lints]): `recvmmsg`, `eventfd` and
// `if_indextoname` through libc.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use netlink_sys::Socket;

use super::CaptureError;
use crate::netlink::{self as nl, MsgBuf};

const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;
const NFQNL_MSG_VERDICT_BATCH: u16 = 3;

const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_MARK: u16 = 3;
const NFQA_IFINDEX_INDEV: u16 = 5;
const NFQA_IFINDEX_OUTDEV: u16 = 6;
const NFQA_PAYLOAD: u16 = 10;
const NFQA_CT: u16 = 11;
const NFQA_CAP_LEN: u16 = 13;

const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;
const NFQA_CFG_MASK: u16 = 4;
const NFQA_CFG_FLAGS: u16 = 5;

const NFQNL_CFG_CMD_BIND: u8 = 1;
const NFQNL_COPY_PACKET: u8 = 2;

const NFQA_CFG_F_FAIL_OPEN: u32 = 1;
const NFQA_CFG_F_CONNTRACK: u32 = 2;
const NFQA_CFG_F_GSO: u32 = 4;

/// `ctattr_type` members inside `NFQA_CT`.
const CTA_MARK: u16 = 8;
const CTA_ID: u16 = 12;
const CTA_MARK_MASK: u16 = 21;

const NF_ACCEPT: u32 = 1;

/// Packets received per `recvmmsg`.
pub const BATCH: usize = 32;
/// Room for the netlink, nfgenmsg and attribute headers around a packet's copied bytes.
const HEADROOM: usize = 1024;

/// How a queue is set up.
#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    /// Bytes of each packet copied to us. Dissection looks at the first few KB of a flow's
    /// packets; 4096, the AF_PACKET ring's frame size, sees the same bytes the ring does.
    pub copy_range: u32,
    /// Packets the kernel keeps waiting for verdicts before it fails open.
    pub max_len: u32,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig { copy_range: 4096, max_len: 4096 }
    }
}

/// One queued packet, borrowed from the receive buffer.
#[derive(Debug, Clone, Copy)]
pub struct QueuedPacket<'a> {
    /// The id its verdict names (per queue, increasing by one).
    pub id: u32,
    /// Netfilter hook (0 prerouting, 1 input, 2 forward, 3 output, 4 postrouting).
    pub hook: u8,
    /// Input and output interface indexes, 0 when the hook has none.
    pub indev: u32,
    pub outdev: u32,
    /// The conntrack entry's id and mark (`NFQA_CT`), 0 when the packet has none.
    pub ct_id: u32,
    pub ct_mark: u32,
    /// The packet's mark.
    pub mark: u32,
    /// The IP packet, at most `copy_range` bytes of it.
    pub data: &'a [u8],
    /// Its full length.
    pub len: u32,
}

/// What a queue's kernel side counts (`/proc/net/netfilter/nfnetlink_queue`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelQueueStats {
    /// Packets waiting for a verdict now.
    pub waiting: u64,
    /// Dropped because the queue was full (without fail-open).
    pub dropped: u64,
    /// Dropped because they could not be sent to us (socket buffer full).
    pub user_dropped: u64,
}

/// A socket bound to one NFQUEUE number.
pub struct NfQueue {
    sock: Socket,
    queue: u16,
    /// Receive buffers, one per packet of a batch, each `slot` bytes.
    buffers: Box<[u8]>,
    slot: usize,
    /// Bytes received into each buffer by the last batch.
    lengths: [usize; BATCH],
    received: usize,
    /// Encoded verdicts (reused).
    out: MsgBuf,
    /// Verdict messages the kernel refused (an id it no longer knows).
    pub verdict_errors: u64,
    /// The kernel hands over conntrack entries and takes marks in verdicts
    /// (`CONFIG_NETFILTER_NETLINK_GLUE_CT`).
    conntrack: bool,
    /// Set up: error answers from now on are about verdicts.
    configured: bool,
}

impl std::fmt::Debug for NfQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NfQueue").field("queue", &self.queue).finish()
    }
}

/// Why configuring a queue failed.
#[derive(Debug)]
enum AckError {
    /// The kernel refused message `seq` with `errno`.
    Refused {
        seq: u32,
        errno: i32,
    },
    Other(String),
}

impl std::fmt::Display for AckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AckError::Refused { errno, .. } => {
                let why = match *errno {
                    libc::EBUSY => "the queue is bound by another program".to_string(),
                    libc::EPERM => "binding needs CAP_NET_ADMIN".to_string(),
                    e => io::Error::from_raw_os_error(e).to_string(),
                };
                write!(f, "configuring the queue: {why}")
            }
            AckError::Other(text) => f.write_str(text),
        }
    }
}

fn queue_error(queue: u16, message: impl std::fmt::Display) -> CaptureError {
    CaptureError::Live { iface: format!("nfqueue {queue}"), message: message.to_string() }
}

impl NfQueue {
    /// Binds queue `queue` in this network namespace. Fails when another program holds it, or
    /// without CAP_NET_ADMIN.
    pub fn open(queue: u16, config: QueueConfig) -> Result<NfQueue, CaptureError> {
        let err = |e: &dyn std::fmt::Display| queue_error(queue, e);
        let mut sock = Socket::new(netlink_sys::protocols::NETLINK_NETFILTER).map_err(|e| err(&e))?;
        sock.bind_auto().map_err(|e| err(&e))?;
        let _ = sock.set_ext_ack(true);
        // A full socket buffer must not stop the queue: the kernel counts what it could not
        // send (user_dropped) and, with fail-open, lets the packet pass.
        let _ = nl::set_int_opt(sock.as_raw_fd(), libc::SOL_NETLINK, libc::NETLINK_NO_ENOBUFS, 1);
        let bytes = 8 << 20;
        if nl::set_int_opt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes).is_err() {
            let _ = nl::set_int_opt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, bytes);
        }
        let copy_range = config.copy_range.clamp(64, 65_535);
        let slot = nl::align4(copy_range as usize + HEADROOM);
        let mut q = NfQueue {
            sock,
            queue,
            buffers: vec![0u8; slot * BATCH].into_boxed_slice(),
            slot,
            lengths: [0; BATCH],
            received: 0,
            out: MsgBuf::with_capacity(64 * BATCH),
            verdict_errors: 0,
            conntrack: true,
            configured: false,
        };
        q.configure(copy_range, config.max_len)?;
        q.configured = true;
        Ok(q)
    }

    /// Binds and configures the queue. Without the kernel's conntrack glue the flags message
    /// fails with EOPNOTSUPP: then again without `NFQA_CFG_F_CONNTRACK`.
    fn configure(&mut self, copy_range: u32, max_len: u32) -> Result<(), CaptureError> {
        let q = self;
        let queue = q.queue;
        let err = |e: &dyn std::fmt::Display| queue_error(queue, e);
        let mut msg = MsgBuf::new();
        let seq = 1;
        let m = q.config_header(&mut msg, seq);
        // struct nfqnl_msg_config_cmd { u8 command; u8 pad; be16 pf; }
        msg.put_attr(NFQA_CFG_CMD, &[NFQNL_CFG_CMD_BIND, 0, 0, 0]);
        msg.end_msg(m);
        let m = q.config_header(&mut msg, seq + 1);
        // struct nfqnl_msg_config_params { be32 copy_range; u8 copy_mode; } (packed)
        let r = copy_range.to_be_bytes();
        msg.put_attr(NFQA_CFG_PARAMS, &[r[0], r[1], r[2], r[3], NFQNL_COPY_PACKET]);
        msg.put_u32_be(NFQA_CFG_QUEUE_MAXLEN, max_len.max(1));
        msg.end_msg(m);
        q.put_flags(&mut msg, seq + 2, true);
        q.sock.send(msg.as_bytes(), 0).map_err(|e| err(&e))?;
        match q.await_acks(seq, 3) {
            Err(AckError::Refused { seq: failed, errno: libc::EOPNOTSUPP }) if failed == seq + 2 => {
                // Bound and configured but for the flags: set them without conntrack.
                q.conntrack = false;
                msg.truncate(0);
                q.put_flags(&mut msg, seq + 3, false);
                q.sock.send(msg.as_bytes(), 0).map_err(|e| err(&e))?;
                q.await_acks(seq + 3, 1).map_err(|e| queue_error(q.queue, e))
            }
            Err(e) => Err(queue_error(q.queue, e)),
            Ok(()) => Ok(()),
        }
    }

    fn put_flags(&self, msg: &mut MsgBuf, seq: u32, conntrack: bool) {
        let m = self.config_header(msg, seq);
        let mut flags = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
        if conntrack {
            flags |= NFQA_CFG_F_CONNTRACK;
        }
        msg.put_u32_be(NFQA_CFG_FLAGS, flags);
        msg.put_u32_be(NFQA_CFG_MASK, NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO | NFQA_CFG_F_CONNTRACK);
        msg.end_msg(m);
    }

    /// Whether packets carry their conntrack entry and verdicts can set its mark.
    pub fn has_conntrack(&self) -> bool {
        self.conntrack
    }

    fn config_header(&self, msg: &mut MsgBuf, seq: u32) -> nl::Mark {
        let m = msg.begin_msg((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG, nl::NLM_F_REQUEST | nl::NLM_F_ACK, seq);
        nl::put_nfgenmsg(msg, libc::AF_UNSPEC as u8, self.queue);
        m
    }

    /// Waits for the acknowledgements of `count` configuration messages numbered from `first`.
    /// Packets that arrive meanwhile (the queue is bound after the first one) are accepted.
    fn await_acks(&mut self, first: u32, count: u32) -> Result<(), AckError> {
        let mut acked = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut acks = Vec::new();
        while acked < count {
            if std::time::Instant::now() >= deadline {
                return Err(AckError::Other(
                    "no acknowledgement from the kernel (is nfnetlink_queue available?)".into(),
                ));
            }
            self.wait(Duration::from_millis(100), None).map_err(|e| AckError::Other(e.to_string()))?;
            let n = self.receive().map_err(|e| AckError::Other(e.to_string()))?;
            for i in 0..n {
                let data = &self.buffers[i * self.slot..i * self.slot + self.lengths[i]];
                acks.clear();
                nl::parse_acks(data, &mut acks).map_err(|e| AckError::Other(e.to_string()))?;
                for ack in &acks {
                    if ack.seq.wrapping_sub(first) >= count {
                        continue;
                    }
                    if ack.errno != 0 {
                        return Err(AckError::Refused { seq: ack.seq, errno: ack.errno });
                    }
                    acked += 1;
                }
            }
            if let Some(last) = (0..n).filter_map(|i| self.packet(i).map(|p| p.id)).max() {
                self.accept_up_to(last).map_err(|e| AckError::Other(e.to_string()))?;
            }
        }
        Ok(())
    }

    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Waits up to `timeout` (rounded up to a millisecond) for something to read, or for
    /// `wake` to be woken (EINTR is not an error).
    pub fn wait(&self, timeout: Duration, wake: Option<&WakeFd>) -> Result<(), CaptureError> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let ms = u16::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(u16::MAX);
        let mut fds = [
            PollFd::new(self.sock.as_fd(), PollFlags::POLLIN | PollFlags::POLLERR),
            PollFd::new(wake.map_or(self.sock.as_fd(), |w| w.event.as_fd()), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(queue_error(self.queue, format!("poll: {e}"))),
        }
    }

    /// Receives up to [`BATCH`] datagrams without blocking; returns how many. Read them with
    /// [`packet`](Self::packet) until the next call.
    pub fn receive(&mut self) -> Result<usize, CaptureError> {
        let mut iov: [libc::iovec; BATCH] = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; BATCH];
        // SAFETY: an all-zero mmsghdr is a valid value (null name and control pointers,
        // zero lengths); the fields we need are set below.
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        let base = self.buffers.as_mut_ptr();
        for (i, (v, m)) in iov.iter_mut().zip(msgs.iter_mut()).enumerate() {
            // SAFETY: `i * slot` is within `buffers` (BATCH slots of `slot` bytes).
            v.iov_base = unsafe { base.add(i * self.slot) }.cast();
            v.iov_len = self.slot;
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs` holds BATCH headers, each pointing at one iovec of `iov`, each
        // describing a disjoint `slot`-byte range of `buffers`; all outlive the call, and the
        // kernel writes at most `iov_len` bytes into each and the lengths into `msgs`.
        let n = unsafe {
            libc::recvmmsg(
                self.sock.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => {
                    self.received = 0;
                    Ok(0)
                }
                // The kernel dropped messages for us (only without NETLINK_NO_ENOBUFS).
                _ if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.received = 0;
                    Ok(0)
                }
                _ => Err(queue_error(self.queue, format!("recvmmsg: {e}"))),
            };
        }
        let n = n as usize;
        for (i, m) in msgs.iter().enumerate().take(n) {
            self.lengths[i] = (m.msg_len as usize).min(self.slot);
            self.count_error(i);
        }
        self.received = n;
        Ok(n)
    }

    /// Counts (and logs the first few of) the kernel's error answers to our verdicts.
    fn count_error(&mut self, index: usize) {
        let data = &self.buffers[index * self.slot..index * self.slot + self.lengths[index]];
        if data.len() < nl::NLMSG_HDRLEN || u16::from_ne_bytes([data[4], data[5]]) != nl::NLMSG_ERROR {
            return;
        }
        // struct nlmsgerr: a negative errno first (0: an acknowledgement).
        let errno = data.get(16..20).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]).saturating_neg());
        if errno == 0 || !self.configured {
            return;
        }
        self.verdict_errors += 1;
        if self.verdict_errors <= 3 {
            tracing::warn!(queue = self.queue, "the kernel refused a verdict: {}", io::Error::from_raw_os_error(errno));
        }
    }

    /// The packet in datagram `index` of the last batch, `None` when that datagram is not a
    /// well-formed packet message (an error answer to a verdict is counted).
    pub fn packet(&self, index: usize) -> Option<QueuedPacket<'_>> {
        if index >= self.received {
            return None;
        }
        let data = &self.buffers[index * self.slot..index * self.slot + self.lengths[index]];
        if data.len() < nl::NLMSG_HDRLEN + 4 {
            return None;
        }
        parse_packet(data)
    }

    /// Accepts every waiting packet whose id is at most `id`, in one message.
    pub fn accept_up_to(&mut self, id: u32) -> io::Result<()> {
        self.out.truncate(0);
        let m = self.out.begin_msg((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT_BATCH, nl::NLM_F_REQUEST, 0);
        nl::put_nfgenmsg(&mut self.out, libc::AF_UNSPEC as u8, self.queue);
        put_verdict_hdr(&mut self.out, NF_ACCEPT, id);
        self.out.end_msg(m);
        self.send_out()
    }

    /// Accepts packet `id` and sets its connection's mark: `(old & !mask) | mark`.
    pub fn accept_with_ct_mark(&mut self, id: u32, mark: u32, mask: u32) -> io::Result<()> {
        self.out.truncate(0);
        let m = self.out.begin_msg((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT, nl::NLM_F_REQUEST, 0);
        nl::put_nfgenmsg(&mut self.out, libc::AF_UNSPEC as u8, self.queue);
        put_verdict_hdr(&mut self.out, NF_ACCEPT, id);
        let nest = self.out.begin_nest(NFQA_CT);
        self.out.put_u32_be(CTA_MARK, mark);
        self.out.put_u32_be(CTA_MARK_MASK, mask);
        // A nest of two u32 attributes cannot outgrow its length field.
        let _ = self.out.end_nest(nest);
        self.out.end_msg(m);
        self.send_out()
    }

    fn send_out(&mut self) -> io::Result<()> {
        loop {
            match self.sock.send(self.out.as_bytes(), 0) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The kernel's counters for this queue, `None` when the proc file is unavailable.
    pub fn kernel_stats(&self) -> Option<KernelQueueStats> {
        let text = std::fs::read_to_string("/proc/net/netfilter/nfnetlink_queue").ok()?;
        parse_proc(&text, self.queue)
    }
}

fn put_verdict_hdr(out: &mut MsgBuf, verdict: u32, id: u32) {
    // struct nfqnl_msg_verdict_hdr { be32 verdict; be32 id; }
    let (v, i) = (verdict.to_be_bytes(), id.to_be_bytes());
    out.put_attr(NFQA_VERDICT_HDR, &[v[0], v[1], v[2], v[3], i[0], i[1], i[2], i[3]]);
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// Parses one `NFQNL_MSG_PACKET` message (starting at its `nlmsghdr`).
pub fn parse_packet(data: &[u8]) -> Option<QueuedPacket<'_>> {
    let len = u32::from_ne_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let msg_type = u16::from_ne_bytes(data.get(4..6)?.try_into().ok()?);
    if msg_type != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET || len > data.len() {
        return None;
    }
    let body = data.get(nl::NLMSG_HDRLEN + 4..len)?;
    let mut p = QueuedPacket { id: 0, hook: 0, indev: 0, outdev: 0, ct_id: 0, ct_mark: 0, mark: 0, data: &[], len: 0 };
    let mut have_hdr = false;
    let mut cap_len = None;
    for (ty, payload) in nl::attrs(body) {
        match ty {
            NFQA_PACKET_HDR => {
                // struct nfqnl_msg_packet_hdr { be32 packet_id; be16 hw_protocol; u8 hook; }
                p.id = be32(payload)?;
                p.hook = *payload.get(6)?;
                have_hdr = true;
            }
            NFQA_MARK => p.mark = be32(payload).unwrap_or(0),
            NFQA_IFINDEX_INDEV => p.indev = be32(payload).unwrap_or(0),
            NFQA_IFINDEX_OUTDEV => p.outdev = be32(payload).unwrap_or(0),
            NFQA_PAYLOAD => p.data = payload,
            NFQA_CAP_LEN => cap_len = be32(payload),
            NFQA_CT => {
                for (ct_ty, value) in nl::attrs(payload) {
                    match ct_ty {
                        CTA_ID => p.ct_id = be32(value).unwrap_or(0),
                        CTA_MARK => p.ct_mark = be32(value).unwrap_or(0),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !have_hdr {
        return None;
    }
    p.len = cap_len.unwrap_or(p.data.len() as u32);
    Some(p)
}

/// One queue's line of `/proc/net/netfilter/nfnetlink_queue`: queue number, peer port id,
/// waiting, copy mode, copy range, queue_dropped, user_dropped, last id, 1.
fn parse_proc(text: &str, queue: u16) -> Option<KernelQueueStats> {
    text.lines().find_map(|line| {
        let f: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        (f.len() >= 7 && f[0] == u64::from(queue)).then(|| KernelQueueStats {
            waiting: f[2],
            dropped: f[5],
            user_dropped: f[6],
        })
    })
}

/// An eventfd another thread writes to wake a queue worker's [`NfQueue::wait`].
#[derive(Debug)]
pub struct WakeFd {
    event: std::os::fd::OwnedFd,
}

impl WakeFd {
    pub fn new() -> io::Result<WakeFd> {
        use std::os::fd::FromRawFd;
        // SAFETY: eventfd takes no pointers; a negative result is an error, anything else a
        // new descriptor nothing else owns.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by eventfd and is owned by nothing else.
        Ok(WakeFd { event: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) } })
    }

    /// Wakes the waiting worker (from any thread).
    pub fn wake(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes the 8 bytes of `one`, a live local, to our eventfd; a full counter
        // (EAGAIN) only means the worker is already due to wake.
        let _ = unsafe { libc::write(self.event.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    }

    /// Resets it after a wake-up.
    pub fn drain(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into `buf`, a live local of that size; EAGAIN (nothing
        // to read) is fine.
        let _ = unsafe { libc::read(self.event.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    }
}

/// Interface names by index, resolved once per index (`if_indextoname`).
#[derive(Debug, Default)]
pub struct IfaceNames {
    names: Vec<(u32, Box<str>)>,
}

impl IfaceNames {
    /// The name of interface `index` ("" for 0 or an index the kernel does not know).
    pub fn get(&mut self, index: u32) -> &str {
        if index == 0 {
            return "";
        }
        if let Some(at) = self.names.iter().position(|(i, _)| *i == index) {
            return &self.names[at].1;
        }
        let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
        // SAFETY: `buf` holds IF_NAMESIZE bytes, as if_indextoname requires; it writes a
        // NUL-terminated name into it or returns null.
        let ptr = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
        let name = if ptr.is_null() {
            String::new()
        } else {
            // SAFETY: on success `buf` holds a NUL-terminated string.
            unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
        };
        // Interfaces come and go (an index may be reused): keep the table small.
        if self.names.len() >= 256 {
            self.names.clear();
        }
        self.names.push((index, name.into()));
        self.names.last().map_or("", |(_, n)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet_message(id: u32, payload: &[u8], ct: Option<(u32, u32)>) -> Vec<u8> {
        let mut msg = MsgBuf::new();
        let m = msg.begin_msg((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET, 0, 0);
        nl::put_nfgenmsg(&mut msg, libc::AF_INET as u8, 50);
        let i = id.to_be_bytes();
        msg.put_attr(NFQA_PACKET_HDR, &[i[0], i[1], i[2], i[3], 0x08, 0x00, 2]);
        msg.put_u32_be(NFQA_IFINDEX_INDEV, 3);
        msg.put_u32_be(NFQA_IFINDEX_OUTDEV, 4);
        if let Some((ct_id, mark)) = ct {
            let nest = msg.begin_nest(NFQA_CT);
            msg.put_u32_be(CTA_MARK, mark);
            msg.put_u32_be(CTA_ID, ct_id);
            msg.end_nest(nest).unwrap();
        }
        msg.put_u32_be(NFQA_CAP_LEN, 1500);
        msg.put_attr(NFQA_PAYLOAD, payload);
        msg.end_msg(m);
        msg.as_bytes().to_vec()
    }

    #[test]
    fn parses_a_packet_message() {
        let bytes = packet_message(7, &[0x45, 0, 0, 20], Some((99, 0x10)));
        let p = parse_packet(&bytes).unwrap();
        assert_eq!((p.id, p.hook, p.indev, p.outdev), (7, 2, 3, 4));
        assert_eq!((p.ct_id, p.ct_mark, p.len), (99, 0x10, 1500));
        assert_eq!(p.data, &[0x45, 0, 0, 20]);
        let bytes = packet_message(8, &[1], None);
        let p = parse_packet(&bytes).unwrap();
        assert_eq!((p.ct_id, p.ct_mark), (0, 0));
    }

    #[test]
    fn cut_or_foreign_messages_are_not_packets() {
        let bytes = packet_message(7, &[0x45, 0, 0, 20], None);
        for cut in 0..bytes.len() {
            // Never a panic; a cut message is refused (its length field exceeds the bytes).
            assert!(parse_packet(&bytes[..cut]).is_none(), "{cut}");
        }
        let mut other = bytes.clone();
        other[4] = 1; // another message type
        assert!(parse_packet(&other).is_none());
    }

    #[test]
    fn verdicts_are_encoded_as_the_kernel_expects() {
        let mut out = MsgBuf::new();
        put_verdict_hdr(&mut out, NF_ACCEPT, 0x0102_0304);
        assert_eq!(out.as_bytes(), &[12, 0, 2, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
    }

    #[test]
    fn reads_the_proc_counters_of_one_queue() {
        let text = "   50  12345     3 2  4096     7     9   100  1\n   51      0     0 2  4096     0     0     0  1\n";
        assert_eq!(parse_proc(text, 50), Some(KernelQueueStats { waiting: 3, dropped: 7, user_dropped: 9 }));
        assert_eq!(parse_proc(text, 51), Some(KernelQueueStats::default()));
        assert_eq!(parse_proc(text, 52), None);
    }
}
