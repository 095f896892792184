//! The NETLINK_NETFILTER socket: sends batches, matches ACKs to messages, sizes batches to the
//! send buffer and splits on ENFILE.

use std::fmt;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};

use super::super::{
    get_int_opt, parse_acks, recv_datagram, set_int_opt, set_recv_timeout, Ack, MsgBuf, NetlinkError, NLM_F_ACK,
    NLM_F_REQUEST,
};
use super::batch::{check_name, put_nfgenmsg, NftBatch};
use super::uapi::*;
use super::{AddReport, SetRef, SetSpec, TableFamily};

/// What we ask SO_SNDBUFFORCE/SO_RCVBUFFORCE for; the kernel doubles it.
const WANT_SOCKET_BUF: i32 = 2 << 20;
/// Largest batch we build even when the send buffer would take more: the kernel holds the
/// nftables commit mutex for the whole batch, so keep each one short.
const MAX_BATCH_BYTES: usize = 1 << 20;
/// `netlink_sendmsg` refuses messages longer than `sk_sndbuf - 32`; keep a little more slack.
const SNDBUF_SLACK: usize = 64;
/// Large enough for any acknowledgement, even one that echoes a whole message.
const RECV_BUF_BYTES: usize = 256 << 10;
/// A batch is acknowledged within microseconds; this only stops a lost reply from hanging us.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// A NETLINK_NETFILTER socket that speaks nftables transactions.
pub struct NftSocket {
    sock: Socket,
    seq: u32,
    max_batch: usize,
    elements_per_msg: usize,
    rbuf: Vec<u8>,
    acks: Vec<Ack>,
}

impl fmt::Debug for NftSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NftSocket")
            .field("fd", &self.sock.as_raw_fd())
            .field("seq", &self.seq)
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

impl NftSocket {
    /// Opens a socket in the calling thread's network namespace. Raises the socket buffers
    /// (SO_SNDBUFFORCE works as root; otherwise SO_SNDBUF up to `net.core.wmem_max`).
    pub fn open() -> Result<NftSocket, NetlinkError> {
        let mut sock = Socket::new(NETLINK_NETFILTER)?;
        sock.bind_auto()?;
        // Short ACKs that do not echo our message, and the kernel's error text when it has one.
        // Both are optional (Linux ≥ 4.3 / 4.12); without them parsing still works.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        let fd = sock.as_raw_fd();
        for (force, plain) in [(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF), (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF)] {
            if set_int_opt(fd, libc::SOL_SOCKET, force, WANT_SOCKET_BUF).is_err() {
                let _ = set_int_opt(fd, libc::SOL_SOCKET, plain, WANT_SOCKET_BUF);
            }
        }
        let sndbuf = get_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)?;
        set_recv_timeout(fd, ACK_TIMEOUT)?;
        let max_batch = usize::try_from(sndbuf).unwrap_or(0).saturating_sub(SNDBUF_SLACK).min(MAX_BATCH_BYTES);
        Ok(NftSocket {
            sock,
            seq: initial_seq(),
            max_batch,
            elements_per_msg: usize::MAX,
            rbuf: Vec::with_capacity(RECV_BUF_BYTES),
            acks: Vec::new(),
        })
    }

    /// Largest batch this socket sends, in bytes.
    pub fn max_batch_bytes(&self) -> usize {
        self.max_batch
    }

    /// Lowers the batch limit (tests use it to force splitting); never raises it.
    pub fn limit_batch_bytes(&mut self, max: usize) {
        self.max_batch = self.max_batch.min(max.max(256));
    }

    /// Sets the batch size to `bytes` (at least 256), raising the send buffer when it is too
    /// small (SO_SNDBUFFORCE, root only), beyond the default cap; returns the size granted,
    /// smaller than asked when the buffer could not grow. For measurements (`enforcer-bench`).
    pub fn set_batch_bytes(&mut self, bytes: usize) -> Result<usize, NetlinkError> {
        let bytes = bytes.max(256);
        let fd = self.sock.as_raw_fd();
        let mut sndbuf = usize::try_from(get_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)?).unwrap_or(0);
        if sndbuf < bytes + SNDBUF_SLACK {
            // The kernel doubles what it is given.
            let want = i32::try_from((bytes + SNDBUF_SLACK).div_ceil(2)).unwrap_or(i32::MAX);
            if set_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, want).is_err() {
                let _ = set_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, want);
            }
            sndbuf = usize::try_from(get_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)?).unwrap_or(0);
        }
        self.max_batch = bytes.min(sndbuf.saturating_sub(SNDBUF_SLACK)).max(256);
        Ok(self.max_batch)
    }

    /// Puts at most `n` elements in each NEWSETELEM message (default: as many as fit in 64 KiB).
    /// Every message is acknowledged, so very short messages in a large batch overflow the
    /// receive buffer: one element a message in 1 MiB batches fails with ENOBUFS (measured).
    pub fn set_elements_per_message(&mut self, n: usize) {
        self.elements_per_msg = n.max(1);
    }

    /// Sends the batch and waits for every message's ACK. On failure the whole batch was
    /// rolled back by the kernel; the error names the first message that failed.
    pub fn commit(&mut self, mut batch: NftBatch) -> Result<(), NetlinkError> {
        self.commit_in_place(&mut batch)
    }

    /// [`commit`](Self::commit) leaving the batch to the caller, to be [`reset`](NftBatch::reset)
    /// and refilled without allocating again.
    fn commit_in_place(&mut self, batch: &mut NftBatch) -> Result<(), NetlinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let first_seq = self.seq;
        let n = batch.msgs.len() as u32;
        self.seq = self.seq.wrapping_add(n + 2);
        let bytes = batch.finish(first_seq);
        self.sock.send(bytes, 0)?;

        let mut answered = vec![false; batch.msgs.len()];
        let mut missing = batch.msgs.len();
        let mut first_error: Option<(usize, Ack)> = None;
        while missing > 0 {
            recv_datagram(&self.sock, &mut self.rbuf, RECV_BUF_BYTES, || {
                first_error
                    .as_ref()
                    .map_or_else(|| batch.msgs[0].context.clone(), |(i, _)| batch.msgs[*i].context.clone())
            })?;
            self.acks.clear();
            parse_acks(&self.rbuf, &mut self.acks)?;
            for ack in self.acks.drain(..) {
                let offset = ack.seq.wrapping_sub(first_seq);
                if offset == 0 || offset == n + 1 {
                    // An answer to BEGIN/END: the batch as a whole was refused (EPERM, …) or
                    // its commit failed; the per-message ACKs, if any follow, say nothing more.
                    if ack.errno != 0 {
                        return Err(NetlinkError::Kernel {
                            errno: ack.errno,
                            context: with_extack(format!("nftables transaction of {n} message(s)"), &ack),
                        });
                    }
                    continue;
                }
                // Sequence numbers outside this batch are left over from an earlier one that
                // timed out: skip them.
                let index = (offset - 1) as usize;
                if index >= answered.len() || answered[index] {
                    continue;
                }
                answered[index] = true;
                missing -= 1;
                if ack.errno != 0 && first_error.as_ref().is_none_or(|(i, _)| index < *i) {
                    first_error = Some((index, ack));
                }
            }
        }
        match first_error {
            None => Ok(()),
            Some((index, ack)) => {
                let msg = &batch.msgs[index];
                let mut context = with_extack(msg.context.clone(), &ack);
                if ack.errno == libc::EEXIST {
                    if let Some(hint) = msg.eexist_hint {
                        context = format!("{context} ({hint})");
                    }
                }
                Err(NetlinkError::Kernel { errno: ack.errno, context })
            }
        }
    }

    /// Creates the table if it is missing.
    pub fn ensure_table(&mut self, family: TableFamily, table: &str) -> Result<(), NetlinkError> {
        let mut batch = NftBatch::new();
        batch.add_table(family, table)?;
        self.commit(batch)
    }

    /// Creates the set if it is missing (the table must exist).
    pub fn ensure_set(&mut self, family: TableFamily, table: &str, spec: &SetSpec) -> Result<(), NetlinkError> {
        let mut batch = NftBatch::new();
        batch.add_set(family, table, spec)?;
        self.commit(batch)
    }

    pub fn flush_set(&mut self, set: SetRef<'_>) -> Result<(), NetlinkError> {
        let mut batch = NftBatch::new();
        batch.flush_set(set)?;
        self.commit(batch)
    }

    /// Whether the set exists (false when it or its table is missing). A read-only lookup
    /// outside any transaction: it takes no commit lock and, unlike a transaction the kernel
    /// refuses (which waits for an RCU grace period in its rollback, several milliseconds),
    /// answers in microseconds, so a periodic check does not hold up the elements behind it.
    pub fn set_exists(&mut self, family: TableFamily, table: &str, set: &str) -> Result<bool, NetlinkError> {
        Ok(self.set_owner(family, table, set)?.is_some())
    }

    /// Whether the set exists (`None`: it does not) and carries flowsieve's mark
    /// ([`SET_OWNER_MARK`]), i.e. flowsieve created it.
    pub fn set_owner(&mut self, family: TableFamily, table: &str, set: &str) -> Result<Option<bool>, NetlinkError> {
        check_name(table)?;
        check_name(set)?;
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let mut buf = MsgBuf::with_capacity(128);
        let m = buf.begin_msg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSET, NLM_F_REQUEST | NLM_F_ACK, seq);
        put_nfgenmsg(&mut buf, family.nfproto(), 0);
        buf.put_str(NFTA_SET_TABLE, table);
        buf.put_str(NFTA_SET_NAME, set);
        buf.end_msg(m);
        self.sock.send(buf.as_bytes(), 0)?;
        // The answer is the set's description, then the ACK, or an error ACK.
        let mut owned = false;
        loop {
            recv_datagram(&self.sock, &mut self.rbuf, RECV_BUF_BYTES, || format!("get set {family} {table} {set}"))?;
            owned |= description_has_mark(&self.rbuf, seq);
            self.acks.clear();
            parse_acks(&self.rbuf, &mut self.acks)?;
            // Answers to an earlier request that timed out carry other numbers.
            if let Some(ack) = self.acks.iter().find(|a| a.seq == seq) {
                return match ack.errno {
                    0 => Ok(Some(owned)),
                    libc::ENOENT => Ok(None),
                    errno => Err(NetlinkError::Kernel {
                        errno,
                        context: with_extack(format!("get set {family} {table} {set}"), ack),
                    }),
                };
            }
        }
    }

    /// Creates the table and set if the set is missing; true when it had to be created.
    /// One transaction: when the set exists the kernel answers EEXIST and rolls it all back,
    /// so nothing changes; the rollback waits for an RCU grace period, so check with
    /// [`set_exists`](Self::set_exists) first.
    pub fn restore_set_if_missing(
        &mut self,
        family: TableFamily,
        table: &str,
        spec: &SetSpec,
    ) -> Result<bool, NetlinkError> {
        let mut batch = NftBatch::new();
        batch.add_table(family, table)?;
        batch.add_set_exclusive(family, table, spec)?;
        match self.commit(batch) {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn delete_set(&mut self, set: SetRef<'_>) -> Result<(), NetlinkError> {
        let mut batch = NftBatch::new();
        batch.delete_set(set)?;
        self.commit(batch)
    }

    /// Adds (or refreshes) elements, in as many batches as the send buffer needs.
    ///
    /// A batch the kernel refuses with ENFILE (set full), EEXIST or EMSGSIZE is split in halves
    /// and retried, down to single elements, so everything that fits gets in; single elements
    /// refused with ENFILE are counted in [`AddReport::refused`]. Any other error (ENOENT: the
    /// table or set is gone) is returned; batches sent before it stay committed.
    pub fn add_elements<K: AsRef<[u8]>>(
        &mut self,
        set: SetRef<'_>,
        keys: &[K],
        timeout_ms: u64,
    ) -> Result<AddReport, NetlinkError> {
        let mut report = AddReport::default();
        self.add_slice(set, keys, timeout_ms, &mut report)?;
        Ok(report)
    }

    fn add_slice<K: AsRef<[u8]>>(
        &mut self,
        set: SetRef<'_>,
        keys: &[K],
        timeout_ms: u64,
        report: &mut AddReport,
    ) -> Result<(), NetlinkError> {
        let mut rest = keys;
        // One encoding buffer for all the batches of this call, sized for a full batch.
        let mut batch = NftBatch::with_capacity(self.max_batch + BATCH_END_LEN);
        batch.set_elements_per_message(self.elements_per_msg);
        while !rest.is_empty() {
            batch.reset();
            let n = batch.add_elements(set, rest, timeout_ms, self.max_batch)?;
            if n == 0 {
                return Err(NetlinkError::Invalid(format!(
                    "one element does not fit in a {}-byte batch",
                    self.max_batch
                )));
            }
            let (now, later) = rest.split_at(n);
            report.batches += 1;
            match self.commit_in_place(&mut batch) {
                Ok(()) => report.accepted += n,
                Err(e) => match e.errno() {
                    Some(libc::ENFILE | libc::EEXIST | libc::EMSGSIZE) if n > 1 => {
                        let (a, b) = now.split_at(n / 2);
                        self.add_slice(set, a, timeout_ms, report)?;
                        self.add_slice(set, b, timeout_ms, report)?;
                    }
                    Some(libc::ENFILE) => report.refused += 1,
                    // Already there: what we wanted (does not happen without NLM_F_EXCL).
                    Some(libc::EEXIST) => report.accepted += 1,
                    _ => return Err(e),
                },
            }
            rest = later;
        }
        Ok(())
    }
}

fn with_extack(context: String, ack: &Ack) -> String {
    match &ack.message {
        Some(text) if !text.is_empty() => format!("{context} ({text})"),
        _ => context,
    }
}

/// Starts sequence numbers from the clock so ACKs left over from a previous socket or a
/// timed-out batch are unlikely to match.
fn initial_seq() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs() as u32)
}

/// Whether `data` holds a set description (answer `seq`) whose user data is flowsieve's mark.
fn description_has_mark(mut data: &[u8], seq: u32) -> bool {
    const NLMSG_HDRLEN: usize = 16;
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let msg_type = u16::from_ne_bytes([data[4], data[5]]);
        let msg_seq = u32::from_ne_bytes([data[8], data[9], data[10], data[11]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            return false;
        }
        if msg_type == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSET && msg_seq == seq {
            // After the header, the 4-byte nfgenmsg, then the attributes.
            let body = data.get(NLMSG_HDRLEN + 4..len).unwrap_or_default();
            if super::super::attrs(body).any(|(ty, payload)| ty == NFTA_SET_USERDATA && payload == SET_OWNER_MARK) {
                return true;
            }
        }
        data = &data[super::super::align4(len).min(data.len())..];
    }
    false
}
