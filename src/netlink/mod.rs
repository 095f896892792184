//! Netlink plumbing for the enforcer: message and attribute encoding, acknowledgement parsing and
//! the few socket options `netlink-sys` does not wrap. [`nftables`] builds nftables transactions on
//! top of it; [`conntrack`] (ctnetlink) and [`ipset`] use the plain request/acknowledgement
//! exchange of [`RequestSocket`].
//!
//! Wire layout (`linux/netlink.h`): every message starts with a 16-byte `nlmsghdr` in host byte
//! order; attributes are `{u16 len, u16 type}` followed by the payload, padded to 4 bytes, where
//! `len` counts header and payload but not the padding. Payload byte order is the subsystem's
//! business (nftables wants big-endian integers).

// One of the two modules allowed `unsafe` (see Cargo.toml's [lints]): socket options netlink-sys
// does not wrap are set through libc.
#![allow(unsafe_code)]

pub mod conntrack;
pub mod ipset;
pub mod link;
pub mod nftables;

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use netlink_sys::Socket;

/// A netlink request failed.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    /// The kernel answered a message with an error; `context` says which message. Numbers from
    /// 4096 up are ipset's own (strerror knows nothing of them; the context spells them out).
    #[error("{context}{}", errno_text(*errno))]
    Kernel { errno: i32, context: String },
    /// No acknowledgement arrived within the receive timeout.
    #[error("{context}: no acknowledgement from the kernel")]
    NoReply { context: String },
    /// The kernel's reply could not be parsed.
    #[error("malformed netlink reply: {0}")]
    Malformed(String),
    /// A request we refuse to build (a name too long, a key of the wrong size).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The set is full: `refused` elements were not added, `accepted` were.
    #[error("set {set} is full: {refused} element(s) refused, {accepted} added")]
    SetFull { set: String, refused: usize, accepted: usize },
}

/// `: <strerror text>` for system errno values, nothing for subsystem-private ones.
fn errno_text(errno: i32) -> String {
    if errno >= 4096 {
        String::new()
    } else {
        format!(": {}", io::Error::from_raw_os_error(errno))
    }
}

impl NetlinkError {
    /// The errno behind the error, when there is one (kernel answer or socket call).
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { errno, .. } => Some(*errno),
            NetlinkError::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

// linux/netlink.h
pub(crate) const NLMSG_HDRLEN: usize = 16;
pub(crate) const NLA_HDRLEN: usize = 4;
pub(crate) const NLMSG_NOOP: u16 = 1;
pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const NLM_F_REQUEST: u16 = 0x01;
pub(crate) const NLM_F_ACK: u16 = 0x04;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_APPEND: u16 = 0x800;
/// In an nfnetlink attribute type: the payload is in network byte order (ipset insists on it).
pub(crate) const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// In an acknowledgement: the original message's payload was left out (NETLINK_CAP_ACK).
pub(crate) const NLM_F_CAPPED: u16 = 0x100;
/// In an acknowledgement: extended-ACK attributes follow.
pub(crate) const NLM_F_ACK_TLVS: u16 = 0x200;
pub(crate) const NLA_F_NESTED: u16 = 1 << 15;
const NLMSGERR_ATTR_MSG: u16 = 1;
/// Largest attribute: its length field is a u16.
pub(crate) const NLA_MAX_LEN: usize = u16::MAX as usize;

/// Rounds up to the 4-byte netlink alignment.
pub(crate) const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Where an open message or nest starts in a [`MsgBuf`], to be closed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "close it with MsgBuf::end_msg / end_nest"]
pub(crate) struct Mark(usize);

/// A buffer of netlink messages being encoded back to back.
#[derive(Debug, Default, Clone)]
pub(crate) struct MsgBuf {
    buf: Vec<u8>,
}

impl MsgBuf {
    pub fn new() -> Self {
        MsgBuf::default()
    }

    pub fn with_capacity(bytes: usize) -> Self {
        MsgBuf { buf: Vec::with_capacity(bytes) }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets everything written after `len` (to undo an element that did not fit).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Starts a message: writes an `nlmsghdr` whose length [`end_msg`](Self::end_msg) fills in.
    /// The port id is 0 (the kernel fills in ours).
    pub fn begin_msg(&mut self, msg_type: u16, flags: u16, seq: u32) -> Mark {
        debug_assert_eq!(self.buf.len() % 4, 0);
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&msg_type.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        Mark(start)
    }

    /// Closes a message opened with [`begin_msg`](Self::begin_msg).
    pub fn end_msg(&mut self, msg: Mark) {
        let len = (self.buf.len() - msg.0) as u32;
        self.buf[msg.0..msg.0 + 4].copy_from_slice(&len.to_ne_bytes());
    }

    /// Overwrites the sequence number of the message that starts at `msg`.
    pub fn set_seq(&mut self, msg: Mark, seq: u32) {
        self.buf[msg.0 + 8..msg.0 + 12].copy_from_slice(&seq.to_ne_bytes());
    }

    /// Overwrites the flags of the message that starts at byte `offset`.
    pub fn set_flags_at(&mut self, offset: usize, flags: u16) {
        self.buf[offset + 6..offset + 8].copy_from_slice(&flags.to_ne_bytes());
    }

    /// Raw bytes in a message body (a family header such as `nfgenmsg`), padded to 4.
    pub fn put_raw(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
        self.pad();
    }

    /// One attribute. Payloads larger than an attribute can hold are a bug in the caller.
    pub fn put_attr(&mut self, attr_type: u16, payload: &[u8]) {
        let len = NLA_HDRLEN + payload.len();
        debug_assert!(len <= NLA_MAX_LEN, "netlink attribute of {len} bytes");
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&attr_type.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
    }

    /// A NUL-terminated string attribute.
    pub fn put_str(&mut self, attr_type: u16, s: &str) {
        let len = NLA_HDRLEN + s.len() + 1;
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&attr_type.to_ne_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.pad();
    }

    pub fn put_u32_be(&mut self, attr_type: u16, v: u32) {
        self.put_attr(attr_type, &v.to_be_bytes());
    }

    pub fn put_u64_be(&mut self, attr_type: u16, v: u64) {
        self.put_attr(attr_type, &v.to_be_bytes());
    }

    /// Opens a nested attribute (type gets `NLA_F_NESTED`).
    pub fn begin_nest(&mut self, attr_type: u16) -> Mark {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&(attr_type | NLA_F_NESTED).to_ne_bytes());
        Mark(start)
    }

    /// Closes a nest. Fails when its content outgrew the u16 length field.
    pub fn end_nest(&mut self, nest: Mark) -> Result<(), NetlinkError> {
        let len = self.buf.len() - nest.0;
        if len > NLA_MAX_LEN {
            return Err(NetlinkError::Invalid(format!("nested attribute of {len} bytes (at most {NLA_MAX_LEN})")));
        }
        self.buf[nest.0..nest.0 + 2].copy_from_slice(&(len as u16).to_ne_bytes());
        Ok(())
    }

    /// Bytes written since `mark` (the size of an open nest so far).
    pub fn since(&self, mark: Mark) -> usize {
        self.buf.len() - mark.0
    }

    fn pad(&mut self) {
        let padded = align4(self.buf.len());
        self.buf.resize(padded, 0);
    }
}

/// One acknowledgement (`NLMSG_ERROR`) from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ack {
    /// Sequence number of the message it answers.
    pub seq: u32,
    /// 0 for success, else a positive errno.
    pub errno: i32,
    /// Extended-ACK text, when the kernel sent one.
    pub message: Option<String>,
}

/// Parses the acknowledgements in one datagram; other message types are skipped.
pub(crate) fn parse_acks(mut data: &[u8], out: &mut Vec<Ack>) -> Result<(), NetlinkError> {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let msg_type = u16::from_ne_bytes([data[4], data[5]]);
        let flags = u16::from_ne_bytes([data[6], data[7]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            return Err(NetlinkError::Malformed(format!("message length {len} with {} bytes left", data.len())));
        }
        let body = &data[NLMSG_HDRLEN..len];
        // NLMSG_NOOP, NLMSG_DONE and notifications carry no acknowledgement.
        if msg_type == NLMSG_ERROR {
            out.push(parse_error_body(body, flags)?);
        }
        data = &data[align4(len).min(data.len())..];
    }
    Ok(())
}

/// `struct nlmsgerr`: `int error`, the original header, maybe its payload, maybe TLVs.
fn parse_error_body(body: &[u8], flags: u16) -> Result<Ack, NetlinkError> {
    if body.len() < 4 + NLMSG_HDRLEN {
        return Err(NetlinkError::Malformed(format!("error message of {} bytes", body.len())));
    }
    let error = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
    let orig = &body[4..4 + NLMSG_HDRLEN];
    let orig_len = u32::from_ne_bytes([orig[0], orig[1], orig[2], orig[3]]) as usize;
    let seq = u32::from_ne_bytes([orig[8], orig[9], orig[10], orig[11]]);
    let mut message = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        let tlv_start = if flags & NLM_F_CAPPED != 0 { 4 + NLMSG_HDRLEN } else { 4 + align4(orig_len) };
        let mut tlvs = body.get(tlv_start..).unwrap_or(&[]);
        while tlvs.len() >= NLA_HDRLEN {
            let alen = u16::from_ne_bytes([tlvs[0], tlvs[1]]) as usize;
            let atype = u16::from_ne_bytes([tlvs[2], tlvs[3]]) & !NLA_F_NESTED;
            if alen < NLA_HDRLEN || alen > tlvs.len() {
                break;
            }
            if atype == NLMSGERR_ATTR_MSG {
                let text = &tlvs[NLA_HDRLEN..alen];
                let text = text.split(|&b| b == 0).next().unwrap_or(&[]);
                message = Some(String::from_utf8_lossy(text).into_owned());
            }
            tlvs = &tlvs[align4(alen).min(tlvs.len())..];
        }
    }
    Ok(Ack { seq, errno: error.saturating_neg(), message })
}

/// Walks the attributes in `data`: `(type without the nested/byte-order flags, payload)`.
/// Stops at the first malformed attribute instead of panicking.
pub(crate) fn attrs(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < NLA_HDRLEN {
            return None;
        }
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let ty = u16::from_ne_bytes([data[2], data[3]]) & !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
        if len < NLA_HDRLEN || len > data.len() {
            data = &[];
            return None;
        }
        let payload = &data[NLA_HDRLEN..len];
        data = &data[align4(len).min(data.len())..];
        Some((ty, payload))
    })
}

/// The 4-byte `nfgenmsg` family header: family, version 0, resource id (big-endian).
pub(crate) fn put_nfgenmsg(buf: &mut MsgBuf, family: u8, res_id: u16) {
    let id = res_id.to_be_bytes();
    buf.put_raw(&[family, 0, id[0], id[1]]);
}

/// Large enough for any single ctnetlink or ipset answer we ask for.
const REQUEST_RECV_BYTES: usize = 64 << 10;
/// Requests are answered within microseconds; this only stops a lost reply from hanging us.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A NETLINK_NETFILTER socket for one-message requests (ctnetlink, ipset): send, collect the
/// data messages of the answer, stop at the acknowledgement.
pub(crate) struct RequestSocket {
    sock: Socket,
    seq: u32,
    rbuf: Vec<u8>,
}

impl std::fmt::Debug for RequestSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::os::fd::AsRawFd;
        f.debug_struct("RequestSocket").field("fd", &self.sock.as_raw_fd()).field("seq", &self.seq).finish()
    }
}

impl RequestSocket {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<RequestSocket, NetlinkError> {
        use std::os::fd::AsRawFd;
        let mut sock = Socket::new(netlink_sys::protocols::NETLINK_NETFILTER)?;
        sock.bind_auto()?;
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_ext_ack(true);
        set_recv_timeout(sock.as_raw_fd(), REQUEST_TIMEOUT)?;
        let seq =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.subsec_nanos() | 1);
        Ok(RequestSocket { sock, seq, rbuf: Vec::with_capacity(REQUEST_RECV_BYTES) })
    }

    /// Next sequence number, to put in the message before [`request`](Self::request).
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends one message (which must ask for an ACK, with sequence `seq`) and returns the
    /// bodies (after the `nlmsghdr`) of the data messages answering it. A kernel error comes back
    /// as [`NetlinkError::Kernel`] with `context`.
    pub fn request(
        &mut self,
        msg: &[u8],
        seq: u32,
        context: &dyn Fn() -> String,
    ) -> Result<Vec<Vec<u8>>, NetlinkError> {
        self.sock.send(msg, 0)?;
        let mut data = Vec::new();
        loop {
            recv_datagram(&self.sock, &mut self.rbuf, REQUEST_RECV_BYTES, context)?;
            let mut rest = &self.rbuf[..];
            while rest.len() >= NLMSG_HDRLEN {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let msg_type = u16::from_ne_bytes([rest[4], rest[5]]);
                let flags = u16::from_ne_bytes([rest[6], rest[7]]);
                let msg_seq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
                if len < NLMSG_HDRLEN || len > rest.len() {
                    return Err(NetlinkError::Malformed(format!(
                        "message length {len} with {} bytes left",
                        rest.len()
                    )));
                }
                let body = &rest[NLMSG_HDRLEN..len];
                rest = &rest[align4(len).min(rest.len())..];
                if msg_seq != seq {
                    continue; // left over from a request that timed out
                }
                match msg_type {
                    NLMSG_ERROR => {
                        let ack = parse_error_body(body, flags)?;
                        if ack.errno == 0 {
                            return Ok(data);
                        }
                        let mut what = context();
                        if let Some(text) = ack.message.filter(|t| !t.is_empty()) {
                            what = format!("{what} ({text})");
                        }
                        return Err(NetlinkError::Kernel { errno: ack.errno, context: what });
                    }
                    NLMSG_DONE => return Ok(data),
                    NLMSG_NOOP => {}
                    _ => data.push(body.to_vec()),
                }
            }
        }
    }
}

impl RequestSocket {
    /// Reserves `count` consecutive sequence numbers and returns the first.
    pub fn reserve_seqs(&mut self, count: u32) -> u32 {
        let first = self.seq.wrapping_add(1);
        self.seq = self.seq.wrapping_add(count);
        first
    }

    /// Raises the send and receive buffers towards `bytes` (SO_*BUFFORCE as root, else up to the
    /// sysctl limits) and returns what the kernel granted: `(sndbuf, rcvbuf)`.
    pub fn raise_buffers(&mut self, bytes: i32) -> io::Result<(usize, usize)> {
        use std::os::fd::AsRawFd;
        let fd = self.sock.as_raw_fd();
        for (force, plain) in [(libc::SO_SNDBUFFORCE, libc::SO_SNDBUF), (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF)] {
            if set_int_opt(fd, libc::SOL_SOCKET, force, bytes).is_err() {
                let _ = set_int_opt(fd, libc::SOL_SOCKET, plain, bytes);
            }
        }
        let snd = get_int_opt(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)?;
        let rcv = get_int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF)?;
        Ok((usize::try_from(snd).unwrap_or(0), usize::try_from(rcv).unwrap_or(0)))
    }

    /// Sends `msgs`, `count` messages numbered `first_seq` upwards, in one datagram, and collects
    /// their acknowledgements into `acks` until the last message's arrives. The kernel handles
    /// the messages one after the other and answers every failure, and every message that asks
    /// for an ACK: so messages without `NLM_F_ACK` followed by a last one with it cost one
    /// answer plus one per failure. A per-message error is an [`Ack`] with its errno, not an
    /// `Err`. The caller keeps the possible answers within the receive buffer, or the kernel
    /// drops some (ENOBUFS, returned as an error).
    pub fn request_many(
        &mut self,
        msgs: &[u8],
        first_seq: u32,
        count: u32,
        acks: &mut Vec<Ack>,
        context: &dyn Fn() -> String,
    ) -> Result<(), NetlinkError> {
        self.sock.send(msgs, 0)?;
        let last = first_seq.wrapping_add(count.saturating_sub(1));
        let mut done = count == 0;
        let mut parsed = Vec::new();
        while !done {
            recv_datagram(&self.sock, &mut self.rbuf, REQUEST_RECV_BYTES, context)?;
            parsed.clear();
            parse_acks(&self.rbuf, &mut parsed)?;
            for ack in parsed.drain(..) {
                // Answers to an earlier request that timed out carry other numbers.
                if ack.seq.wrapping_sub(first_seq) < count {
                    done |= ack.seq == last;
                    acks.push(ack);
                }
            }
        }
        Ok(())
    }
}

/// Receives one datagram into `buf` (emptied, `capacity` reserved), again after EINTR. A
/// receive timeout is [`NetlinkError::NoReply`] with `context`; a datagram larger than the
/// buffer is an error, not a silently cut answer.
pub(crate) fn recv_datagram(
    sock: &Socket,
    buf: &mut Vec<u8>,
    capacity: usize,
    context: impl FnOnce() -> String,
) -> Result<(), NetlinkError> {
    loop {
        buf.clear();
        buf.reserve(capacity);
        let got = match sock.recv(buf, libc::MSG_TRUNC) {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(NetlinkError::NoReply { context: context() });
            }
            Err(e) => return Err(e.into()),
        };
        if got > buf.len() {
            return Err(NetlinkError::Malformed(format!("reply of {got} bytes truncated to {}", buf.len())));
        }
        return Ok(());
    }
}

/// `setsockopt` with an `int` value, for options `netlink-sys` does not wrap.
pub(crate) fn set_int_opt(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` is a live c_int on our stack and we pass its exact size; the kernel only
    // reads `optlen` bytes from it. An invalid `fd` yields EBADF, not undefined behaviour.
    let rc = unsafe {
        libc::setsockopt(fd, level, name, (&value as *const i32).cast(), std::mem::size_of::<i32>() as libc::socklen_t)
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `getsockopt` for an `int` option.
pub(crate) fn get_int_opt(fd: RawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live locals; `len` tells the kernel the buffer holds one
    // c_int, and it writes at most that many bytes and updates `len`.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut i32).cast(), &mut len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// Makes blocking receives give up after `timeout` (EAGAIN), so a lost ACK cannot hang us.
pub(crate) fn set_recv_timeout(fd: RawFd, timeout: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: `tv` is a live, fully initialised timeval and we pass its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_to_four_bytes() {
        let mut m = MsgBuf::new();
        m.put_attr(1, &[0xaa]);
        assert_eq!(m.as_bytes(), &[5, 0, 1, 0, 0xaa, 0, 0, 0]);
        m.put_str(2, "abcd");
        // len 4 + 5 (NUL) = 9, padded to 12.
        assert_eq!(&m.as_bytes()[8..], &[9, 0, 2, 0, b'a', b'b', b'c', b'd', 0, 0, 0, 0]);
        m.put_u32_be(3, 0x0102_0304);
        assert_eq!(&m.as_bytes()[20..], &[8, 0, 3, 0, 1, 2, 3, 4]);
        assert_eq!(m.len() % 4, 0);
    }

    #[test]
    fn nests_carry_the_nested_flag_and_their_full_length() {
        let mut m = MsgBuf::new();
        let n = m.begin_nest(9);
        m.put_attr(1, &[1, 2, 3]);
        m.end_nest(n).unwrap();
        let b = m.as_bytes();
        assert_eq!(u16::from_ne_bytes([b[0], b[1]]), 12);
        assert_eq!(u16::from_ne_bytes([b[2], b[3]]), 9 | NLA_F_NESTED);
    }

    #[test]
    fn oversized_nest_is_refused() {
        let mut m = MsgBuf::new();
        let n = m.begin_nest(1);
        m.put_attr(1, &[0; 40_000]);
        m.put_attr(1, &[0; 40_000]);
        assert!(matches!(m.end_nest(n), Err(NetlinkError::Invalid(_))));
    }

    #[test]
    fn message_header_length_and_seq() {
        let mut m = MsgBuf::new();
        let h = m.begin_msg(0x0a02, NLM_F_REQUEST | NLM_F_ACK, 7);
        m.put_raw(&[1, 0, 0, 0]);
        m.end_msg(h);
        m.set_seq(h, 9);
        let b = m.as_bytes();
        assert_eq!(u32::from_ne_bytes(b[0..4].try_into().unwrap()), 20);
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 0x0a02);
        assert_eq!(u16::from_ne_bytes([b[6], b[7]]), 5);
        assert_eq!(u32::from_ne_bytes(b[8..12].try_into().unwrap()), 9);
    }

    fn error_msg(errno: i32, seq: u32, flags: u16, tail: &[u8]) -> Vec<u8> {
        let mut m = MsgBuf::new();
        let h = m.begin_msg(NLMSG_ERROR, flags, seq);
        m.put_raw(&(-errno).to_ne_bytes());
        // Original header, capped.
        let mut orig = MsgBuf::new();
        let oh = orig.begin_msg(0x0a0c, NLM_F_REQUEST | NLM_F_ACK, seq);
        orig.end_msg(oh);
        m.put_raw(orig.as_bytes());
        m.put_raw(tail);
        m.end_msg(h);
        m.as_bytes().to_vec()
    }

    #[test]
    fn acks_are_parsed_with_seq_errno_and_extack_text() {
        let mut tlv = MsgBuf::new();
        tlv.put_str(NLMSGERR_ATTR_MSG, "set is full");
        let mut data = error_msg(0, 5, NLM_F_CAPPED, &[]);
        data.extend(error_msg(libc::ENFILE, 6, NLM_F_CAPPED | NLM_F_ACK_TLVS, tlv.as_bytes()));
        let mut acks = Vec::new();
        parse_acks(&data, &mut acks).unwrap();
        assert_eq!(
            acks,
            vec![
                Ack { seq: 5, errno: 0, message: None },
                Ack { seq: 6, errno: libc::ENFILE, message: Some("set is full".into()) },
            ]
        );
    }

    #[test]
    fn truncated_replies_are_errors_not_panics() {
        let data = error_msg(libc::ENOENT, 1, NLM_F_CAPPED, &[]);
        for cut in 0..data.len() {
            let mut acks = Vec::new();
            let _ = parse_acks(&data[..cut], &mut acks);
        }
        let mut bad = data.clone();
        bad[0] = 200;
        assert!(parse_acks(&bad, &mut Vec::new()).is_err());
    }

    #[test]
    fn errno_is_exposed() {
        let e = NetlinkError::Kernel { errno: libc::ENOENT, context: "x".into() };
        assert_eq!(e.errno(), Some(libc::ENOENT));
        assert!(e.to_string().starts_with("x: No such file or directory"));
    }
}
