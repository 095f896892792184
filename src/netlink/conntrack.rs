//! ctnetlink (`NFNL_SUBSYS_CTNETLINK`): look up one conntrack entry by its original tuple,
//! change its mark or labels in place, and listen to the kernel's conntrack events.
//!
//! Updates are `IPCTNL_MSG_CT_NEW` without `NLM_F_CREATE`: the kernel then only changes an
//! existing entry and answers ENOENT when there is none (the flow ended, or was never tracked),
//! which callers count apart from real failures. Constants are from the kernel UAPI header
//! `linux/netfilter/nfnetlink_conntrack.h`.
//!
//! Kernel behaviour relied on (net/netfilter/nf_conntrack_netlink.c, Linux 6.18):
//! - `CTA_MARK` with `CTA_MARK_MASK`: `new = (old & ~mask) ^ mark`, so we send `mark & mask`;
//! - `CTA_LABELS` with `CTA_LABELS_MASK`: `new = (old & ~mask) | (labels & mask)`; ENOSPC when
//!   the connection has no label storage, i.e. no rule referencing `ct label` existed when it
//!   was created;
//! - the `nfgenmsg` family must be the tuple's address family.

use std::fmt;
use std::net::IpAddr;

use super::{attrs, put_nfgenmsg, MsgBuf, NetlinkError, RequestSocket, NLM_F_ACK, NLM_F_REQUEST};

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_NEW: u16 = 0;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
// enum nfnetlink_groups
const NFNLGRP_CONNTRACK_NEW: u32 = 1;
const NFNLGRP_CONNTRACK_UPDATE: u32 = 2;
const NFNLGRP_CONNTRACK_DESTROY: u32 = 3;

// enum ctattr_type
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_MARK: u16 = 8;
const CTA_MARK_MASK: u16 = 21;
const CTA_LABELS: u16 = 22;
const CTA_LABELS_MASK: u16 = 23;
// enum ctattr_tuple, ctattr_ip, ctattr_l4proto
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_PROTO_ICMP_ID: u16 = 4;
const CTA_PROTO_ICMP_TYPE: u16 = 5;
const CTA_PROTO_ICMP_CODE: u16 = 6;
const CTA_PROTO_ICMPV6_ID: u16 = 7;
const CTA_PROTO_ICMPV6_TYPE: u16 = 8;
const CTA_PROTO_ICMPV6_CODE: u16 = 9;

const IPPROTO_ICMP: u8 = 1;
const IPPROTO_ICMPV6: u8 = 58;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

/// The transport part of a conntrack tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtL4 {
    /// TCP, UDP, SCTP, …: ports, in the direction of the tuple.
    Ports { sport: u16, dport: u16 },
    /// ICMP or ICMPv6 (by the tuple's `proto`): echo id, type, code. For an echo the original
    /// tuple has the request's type (8, or 128 for ICMPv6).
    Icmp { id: u16, icmp_type: u8, code: u8 },
}

/// One direction of a connection as conntrack keys it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtTuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number.
    pub proto: u8,
    pub l4: CtL4,
}

impl CtTuple {
    /// A tuple with ports (TCP, UDP, …).
    pub fn ports(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, proto: u8) -> CtTuple {
        CtTuple { src, dst, proto, l4: CtL4::Ports { sport, dport } }
    }

    /// An ICMP (IPv4) or ICMPv6 (IPv6) tuple, the protocol following the address family.
    pub fn icmp(src: IpAddr, dst: IpAddr, id: u16, icmp_type: u8, code: u8) -> CtTuple {
        let proto = if src.is_ipv4() { IPPROTO_ICMP } else { IPPROTO_ICMPV6 };
        CtTuple { src, dst, proto, l4: CtL4::Icmp { id, icmp_type, code } }
    }

    fn nfproto(&self) -> u8 {
        if self.src.is_ipv4() {
            NFPROTO_IPV4
        } else {
            NFPROTO_IPV6
        }
    }

    fn check(&self) -> Result<(), NetlinkError> {
        if self.src.is_ipv4() != self.dst.is_ipv4() {
            return Err(NetlinkError::Invalid(format!("conntrack tuple mixes families: {self}")));
        }
        Ok(())
    }

    fn encode(&self, buf: &mut MsgBuf, attr: u16) -> Result<(), NetlinkError> {
        let tuple = buf.begin_nest(attr);
        let ip = buf.begin_nest(CTA_TUPLE_IP);
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                buf.put_attr(CTA_IP_V4_SRC, &s.octets());
                buf.put_attr(CTA_IP_V4_DST, &d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                buf.put_attr(CTA_IP_V6_SRC, &s.octets());
                buf.put_attr(CTA_IP_V6_DST, &d.octets());
            }
            _ => return Err(NetlinkError::Invalid(format!("conntrack tuple mixes families: {self}"))),
        }
        buf.end_nest(ip)?;
        let proto = buf.begin_nest(CTA_TUPLE_PROTO);
        buf.put_attr(CTA_PROTO_NUM, &[self.proto]);
        match self.l4 {
            CtL4::Ports { sport, dport } => {
                buf.put_attr(CTA_PROTO_SRC_PORT, &sport.to_be_bytes());
                buf.put_attr(CTA_PROTO_DST_PORT, &dport.to_be_bytes());
            }
            CtL4::Icmp { id, icmp_type, code } => {
                let (a_id, a_type, a_code) = if self.proto == IPPROTO_ICMPV6 {
                    (CTA_PROTO_ICMPV6_ID, CTA_PROTO_ICMPV6_TYPE, CTA_PROTO_ICMPV6_CODE)
                } else {
                    (CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMP_CODE)
                };
                buf.put_attr(a_id, &id.to_be_bytes());
                buf.put_attr(a_type, &[icmp_type]);
                buf.put_attr(a_code, &[code]);
            }
        }
        buf.end_nest(proto)?;
        buf.end_nest(tuple)
    }

    fn decode(data: &[u8]) -> Result<CtTuple, NetlinkError> {
        let bad = |what: &str| NetlinkError::Malformed(format!("conntrack tuple: {what}"));
        let (mut src, mut dst, mut proto) = (None, None, None);
        let (mut sport, mut dport, mut id, mut icmp_type, mut code) = (0u16, 0u16, None, 0u8, 0u8);
        for (ty, payload) in attrs(data) {
            match ty {
                CTA_TUPLE_IP => {
                    for (ty, a) in attrs(payload) {
                        let addr = match a.len() {
                            4 => IpAddr::from(<[u8; 4]>::try_from(a).map_err(|_| bad("address"))?),
                            16 => IpAddr::from(<[u8; 16]>::try_from(a).map_err(|_| bad("address"))?),
                            _ => return Err(bad("address length")),
                        };
                        match ty {
                            CTA_IP_V4_SRC | CTA_IP_V6_SRC => src = Some(addr),
                            CTA_IP_V4_DST | CTA_IP_V6_DST => dst = Some(addr),
                            _ => {}
                        }
                    }
                }
                CTA_TUPLE_PROTO => {
                    for (ty, a) in attrs(payload) {
                        let u16_of = |a: &[u8]| a.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
                        match ty {
                            CTA_PROTO_NUM => proto = a.first().copied(),
                            CTA_PROTO_SRC_PORT => sport = u16_of(a).ok_or_else(|| bad("port"))?,
                            CTA_PROTO_DST_PORT => dport = u16_of(a).ok_or_else(|| bad("port"))?,
                            CTA_PROTO_ICMP_ID | CTA_PROTO_ICMPV6_ID => id = u16_of(a),
                            CTA_PROTO_ICMP_TYPE | CTA_PROTO_ICMPV6_TYPE => icmp_type = a.first().copied().unwrap_or(0),
                            CTA_PROTO_ICMP_CODE | CTA_PROTO_ICMPV6_CODE => code = a.first().copied().unwrap_or(0),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        let (src, dst, proto) = (
            src.ok_or_else(|| bad("no source"))?,
            dst.ok_or_else(|| bad("no destination"))?,
            proto.ok_or_else(|| bad("no protocol"))?,
        );
        let l4 = match (proto, id) {
            (IPPROTO_ICMP | IPPROTO_ICMPV6, Some(id)) => CtL4::Icmp { id, icmp_type, code },
            _ => CtL4::Ports { sport, dport },
        };
        Ok(CtTuple { src, dst, proto, l4 })
    }
}

/// conntrack's own spelling, for messages: `src=… dst=… sport=… dport=…`.
impl fmt::Display for CtTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proto {} src={} dst={}", self.proto, self.src, self.dst)?;
        match self.l4 {
            CtL4::Ports { sport, dport } => write!(f, " sport={sport} dport={dport}"),
            CtL4::Icmp { id, icmp_type, code } => write!(f, " type={icmp_type} code={code} id={id}"),
        }
    }
}

/// What the kernel knows about one connection (the parts flowsieve uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtEntry {
    pub original: CtTuple,
    pub reply: CtTuple,
    pub mark: u32,
    /// Label bits (bit n = label n); 0 when the connection has none or no label storage.
    pub labels: u128,
}

/// Netify's `ip_nat` rule: a connection is translated when its reply does not simply swap the
/// original addresses (orig src ≠ reply dst, or orig dst ≠ reply src).
pub fn is_nat(entry: &CtEntry) -> bool {
    entry.original.src != entry.reply.dst || entry.original.dst != entry.reply.src
}

/// The kernel keeps labels as an array of `unsigned long` in host order (`nf_conn_labels`), so
/// bit n sits in word n / 64 on 64-bit machines: send the two 64-bit halves in host order.
fn labels_to_wire(labels: u128) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&(labels as u64).to_ne_bytes());
    out[8..].copy_from_slice(&((labels >> 64) as u64).to_ne_bytes());
    out
}

fn labels_from_wire(data: &[u8]) -> u128 {
    let word = |i: usize| data.get(i * 8..i * 8 + 8).map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])));
    u128::from(word(0)) | (u128::from(word(1)) << 64)
}

/// Builds `IPCTNL_MSG_CT_GET` for one tuple.
fn encode_get(buf: &mut MsgBuf, tuple: &CtTuple, direction: u16, seq: u32) -> Result<(), NetlinkError> {
    tuple.check()?;
    let m = buf.begin_msg((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_ACK, seq);
    put_nfgenmsg(buf, tuple.nfproto(), 0);
    tuple.encode(buf, direction)?;
    buf.end_msg(m);
    Ok(())
}

/// What an update changes.
enum Change {
    Mark { mark: u32, mask: u32 },
    Labels { labels: u128, mask: u128 },
}

/// Builds an `IPCTNL_MSG_CT_NEW` update (no `NLM_F_CREATE`: existing entries only).
fn encode_update(buf: &mut MsgBuf, tuple: &CtTuple, change: &Change, seq: u32) -> Result<(), NetlinkError> {
    tuple.check()?;
    let m = buf.begin_msg((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW, NLM_F_REQUEST | NLM_F_ACK, seq);
    put_nfgenmsg(buf, tuple.nfproto(), 0);
    tuple.encode(buf, CTA_TUPLE_ORIG)?;
    match *change {
        Change::Mark { mark, mask } => {
            // The kernel XORs the mark into the kept bits: bits outside the mask must be 0.
            buf.put_u32_be(CTA_MARK, mark & mask);
            buf.put_u32_be(CTA_MARK_MASK, mask);
        }
        Change::Labels { labels, mask } => {
            buf.put_attr(CTA_LABELS, &labels_to_wire(labels & mask));
            buf.put_attr(CTA_LABELS_MASK, &labels_to_wire(mask));
        }
    }
    buf.end_msg(m);
    Ok(())
}

/// Parses the body of a conntrack message (after `nlmsghdr`).
fn decode_entry(body: &[u8]) -> Result<CtEntry, NetlinkError> {
    let attrs_start =
        body.get(4..).ok_or_else(|| NetlinkError::Malformed("conntrack message without nfgenmsg".into()))?;
    let (mut original, mut reply, mut mark, mut labels) = (None, None, 0, 0);
    for (ty, payload) in attrs(attrs_start) {
        match ty {
            CTA_TUPLE_ORIG => original = Some(CtTuple::decode(payload)?),
            CTA_TUPLE_REPLY => reply = Some(CtTuple::decode(payload)?),
            CTA_MARK if payload.len() >= 4 => {
                mark = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
            }
            CTA_LABELS => labels = labels_from_wire(payload),
            _ => {}
        }
    }
    match (original, reply) {
        (Some(original), Some(reply)) => Ok(CtEntry { original, reply, mark, labels }),
        _ => Err(NetlinkError::Malformed("conntrack entry without both tuples".into())),
    }
}

/// A ctnetlink socket in the namespace of the thread that opened it.
#[derive(Debug)]
pub struct ConntrackSocket {
    sock: RequestSocket,
    buf: MsgBuf,
}

impl ConntrackSocket {
    pub fn open() -> Result<ConntrackSocket, NetlinkError> {
        Ok(ConntrackSocket { sock: RequestSocket::open()?, buf: MsgBuf::new() })
    }

    /// The entry whose original direction is `tuple`; `None` when conntrack has no such
    /// connection.
    pub fn get(&mut self, tuple: &CtTuple) -> Result<Option<CtEntry>, NetlinkError> {
        self.get_by(tuple, CTA_TUPLE_ORIG)
    }

    /// The connection a packet belongs to, whichever direction the packet went: `seen` as the
    /// original tuple, else as the reply tuple reversed. The WAN-side copy of a NAT'd flow is
    /// only found the second way (its addresses are those after translation).
    pub fn find(&mut self, seen: &CtTuple) -> Result<Option<CtEntry>, NetlinkError> {
        if let Some(entry) = self.get(seen)? {
            return Ok(Some(entry));
        }
        match seen.l4 {
            CtL4::Ports { sport, dport } => {
                let reply = CtTuple::ports(seen.dst, dport, seen.src, sport, seen.proto);
                self.get_by(&reply, CTA_TUPLE_REPLY)
            }
            _ => Ok(None),
        }
    }

    fn get_by(&mut self, tuple: &CtTuple, direction: u16) -> Result<Option<CtEntry>, NetlinkError> {
        let seq = self.sock.next_seq();
        self.buf.truncate(0);
        encode_get(&mut self.buf, tuple, direction, seq)?;
        match self.sock.request(self.buf.as_bytes(), seq, &|| format!("conntrack get {tuple}")) {
            Ok(msgs) => msgs.first().map(|body| decode_entry(body)).transpose(),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets the bits of the connection's mark selected by `mask` to those of `mark`.
    /// ENOENT (no such connection) comes back as an error; see [`is_no_connection`].
    pub fn set_mark(&mut self, tuple: &CtTuple, mark: u32, mask: u32) -> Result<(), NetlinkError> {
        self.update(tuple, &Change::Mark { mark, mask }, || {
            format!("conntrack set mark 0x{mark:x}/0x{mask:x} on {tuple}")
        })
    }

    /// Sets the label bits selected by `mask` to those of `labels`. ENOSPC: the connection has
    /// no label storage (it predates every rule that references `ct label`).
    pub fn set_labels(&mut self, tuple: &CtTuple, labels: u128, mask: u128) -> Result<(), NetlinkError> {
        self.update(tuple, &Change::Labels { labels, mask }, || {
            format!("conntrack set labels 0x{labels:x}/0x{mask:x} on {tuple}")
        })
    }

    fn update(&mut self, tuple: &CtTuple, change: &Change, context: impl Fn() -> String) -> Result<(), NetlinkError> {
        let seq = self.sock.next_seq();
        self.buf.truncate(0);
        encode_update(&mut self.buf, tuple, change, seq)?;
        self.sock.request(self.buf.as_bytes(), seq, &context).map(|_| ())
    }
}

/// A conntrack event: a connection was created or changed (state, mark, NAT…), or is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtEvent {
    Update(CtEntry),
    Destroy(CtEntry),
}

/// How long [`ConntrackEvents::poll`] waits, so a listener thread can check its stop flag.
const EVENT_WAIT: std::time::Duration = std::time::Duration::from_millis(100);
/// Receive buffer asked for: a burst of new connections must not overrun it (the kernel
/// caps it at `net.core.rmem_max` without CAP_NET_ADMIN).
const EVENT_RCVBUF: usize = 8 << 20;

/// A socket subscribed to the conntrack event groups (new, update, destroy) of the network
/// namespace of the thread that opened it.
pub struct ConntrackEvents {
    sock: netlink_sys::Socket,
    buf: Vec<u8>,
    /// Times the kernel dropped events because we read too slowly (ENOBUFS).
    pub overruns: u64,
}

impl fmt::Debug for ConntrackEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConntrackEvents").field("overruns", &self.overruns).finish()
    }
}

impl ConntrackEvents {
    pub fn open() -> Result<ConntrackEvents, NetlinkError> {
        use std::os::fd::AsRawFd;
        let mut sock = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_NETFILTER)?;
        sock.bind_auto()?;
        for group in [NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_UPDATE, NFNLGRP_CONNTRACK_DESTROY] {
            sock.add_membership(group)?;
        }
        let _ = sock.set_rx_buf_sz(EVENT_RCVBUF);
        super::set_recv_timeout(sock.as_raw_fd(), EVENT_WAIT)?;
        Ok(ConntrackEvents { sock, buf: Vec::with_capacity(256 * 1024), overruns: 0 })
    }

    /// Wait up to 100 ms for events and hand each to `on_event`; returns how many came.
    /// Messages that do not parse are skipped.
    pub fn poll(&mut self, mut on_event: impl FnMut(CtEvent)) -> Result<usize, NetlinkError> {
        self.buf.clear();
        self.buf.reserve(256 * 1024);
        match self.sock.recv(&mut self.buf, 0) {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Ok(0)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(0),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                self.overruns += 1;
                return Ok(0);
            }
            Err(e) => return Err(e.into()),
        }
        Ok(parse_events(&self.buf, &mut on_event))
    }
}

/// The events in one datagram of the conntrack groups.
fn parse_events(mut data: &[u8], on_event: &mut impl FnMut(CtEvent)) -> usize {
    const NLMSG_HDRLEN: usize = 16;
    let mut count = 0;
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let msg_type = u16::from_ne_bytes([data[4], data[5]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            break;
        }
        let body = &data[NLMSG_HDRLEN..len];
        data = &data[((len + 3) & !3).min(data.len())..];
        if msg_type >> 8 != NFNL_SUBSYS_CTNETLINK {
            continue;
        }
        let Ok(entry) = decode_entry(body) else { continue };
        match msg_type & 0xff {
            IPCTNL_MSG_CT_NEW => on_event(CtEvent::Update(entry)),
            IPCTNL_MSG_CT_DELETE => on_event(CtEvent::Destroy(entry)),
            _ => continue,
        }
        count += 1;
    }
    count
}

/// The kernel has no connection for the tuple (ENOENT): the flow ended or was never tracked.
pub fn is_no_connection(e: &NetlinkError) -> bool {
    e.errno() == Some(libc::ENOENT)
}

/// The connection has no label storage (ENOSPC): it was created before any rule referenced
/// `ct label`.
pub fn is_no_label_space(e: &NetlinkError) -> bool {
    e.errno() == Some(libc::ENOSPC)
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn body(buf: &MsgBuf) -> (u16, u16, &[u8]) {
        let b = buf.as_bytes();
        let len = u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize;
        assert_eq!(len, b.len());
        (u16::from_ne_bytes([b[4], b[5]]), u16::from_ne_bytes([b[6], b[7]]), &b[16..])
    }

    fn tcp() -> CtTuple {
        CtTuple::ports(Ipv4Addr::new(192, 168, 1, 10).into(), 40000, Ipv4Addr::new(1, 2, 3, 4).into(), 443, 6)
    }

    #[test]
    fn get_message_carries_the_original_tuple() {
        let mut buf = MsgBuf::new();
        encode_get(&mut buf, &tcp(), CTA_TUPLE_ORIG, 7).unwrap();
        let (ty, flags, body) = body(&buf);
        assert_eq!(ty, (1 << 8) | 1);
        assert_eq!(flags, 0x01 | 0x04);
        assert_eq!(&body[..4], &[2, 0, 0, 0]);
        let top: Vec<_> = attrs(&body[4..]).collect();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].0, CTA_TUPLE_ORIG);
        assert_eq!(CtTuple::decode(top[0].1).unwrap(), tcp());
        let inner: Vec<_> = attrs(top[0].1).collect();
        let ip: Vec<_> = attrs(inner[0].1).collect();
        assert_eq!(ip, vec![(CTA_IP_V4_SRC, &[192, 168, 1, 10][..]), (CTA_IP_V4_DST, &[1, 2, 3, 4][..])]);
        let proto: Vec<_> = attrs(inner[1].1).collect();
        assert_eq!(proto, vec![(1, &[6][..]), (2, &40000u16.to_be_bytes()[..]), (3, &443u16.to_be_bytes()[..])]);
    }

    #[test]
    fn mark_update_is_ct_new_without_create_and_premasked() {
        let mut buf = MsgBuf::new();
        encode_update(&mut buf, &tcp(), &Change::Mark { mark: 0x1234, mask: 0xff }, 1).unwrap();
        let (ty, flags, body) = body(&buf);
        assert_eq!(ty, 1 << 8);
        assert_eq!(flags & 0x400, 0, "no NLM_F_CREATE");
        let top: Vec<_> = attrs(&body[4..]).collect();
        assert_eq!(top[1], (CTA_MARK, &0x34u32.to_be_bytes()[..]));
        assert_eq!(top[2], (CTA_MARK_MASK, &0xffu32.to_be_bytes()[..]));
    }

    #[test]
    fn labels_are_host_order_words() {
        let mut buf = MsgBuf::new();
        let bit = |n: u32| 1u128 << n;
        encode_update(&mut buf, &tcp(), &Change::Labels { labels: bit(1) | bit(70), mask: bit(1) | bit(70) }, 1)
            .unwrap();
        let (_, _, body) = body(&buf);
        let top: Vec<_> = attrs(&body[4..]).collect();
        assert_eq!(top[1].0, CTA_LABELS);
        assert_eq!(top[1].1.len(), 16);
        assert_eq!(labels_from_wire(top[1].1), bit(1) | bit(70));
        assert_eq!(&top[1].1[..8], &2u64.to_ne_bytes());
        assert_eq!(top[2].0, CTA_LABELS_MASK);
    }

    #[test]
    fn icmp_tuples_use_id_type_code_per_family() {
        let v4 = CtTuple::icmp(Ipv4Addr::new(10, 0, 0, 1).into(), Ipv4Addr::new(10, 0, 0, 2).into(), 77, 8, 0);
        let v6 = CtTuple::icmp(
            "fd00::1".parse::<Ipv6Addr>().unwrap().into(),
            "fd00::2".parse::<Ipv6Addr>().unwrap().into(),
            77,
            128,
            0,
        );
        for (t, id_attr, proto) in [(v4, CTA_PROTO_ICMP_ID, 1), (v6, CTA_PROTO_ICMPV6_ID, 58)] {
            let mut buf = MsgBuf::new();
            t.encode(&mut buf, CTA_TUPLE_ORIG).unwrap();
            let outer: Vec<_> = attrs(buf.as_bytes()).collect();
            let inner: Vec<_> = attrs(outer[0].1).collect();
            let p: Vec<_> = attrs(inner[1].1).collect();
            assert_eq!(p[0], (CTA_PROTO_NUM, &[proto][..]));
            assert_eq!(p[1], (id_attr, &77u16.to_be_bytes()[..]));
            assert_eq!(CtTuple::decode(outer[0].1).unwrap(), t);
        }
    }

    #[test]
    fn mixed_families_are_refused() {
        let t = CtTuple::ports(Ipv4Addr::LOCALHOST.into(), 1, Ipv6Addr::LOCALHOST.into(), 2, 6);
        assert!(encode_get(&mut MsgBuf::new(), &t, CTA_TUPLE_ORIG, 1).is_err());
    }

    #[test]
    fn events_parse_new_and_destroy_and_skip_the_rest() {
        let mut entry = MsgBuf::new();
        put_nfgenmsg(&mut entry, 2, 0);
        tcp().encode(&mut entry, CTA_TUPLE_ORIG).unwrap();
        let reply = CtTuple::ports(tcp().dst, 443, tcp().src, 40000, 6);
        reply.encode(&mut entry, CTA_TUPLE_REPLY).unwrap();
        entry.put_u32_be(CTA_MARK, 0x42);
        let mut datagram = MsgBuf::new();
        for ty in [IPCTNL_MSG_CT_NEW, IPCTNL_MSG_CT_GET, IPCTNL_MSG_CT_DELETE] {
            let m = datagram.begin_msg((NFNL_SUBSYS_CTNETLINK << 8) | ty, 0, 0);
            datagram.put_raw(entry.as_bytes());
            datagram.end_msg(m);
        }
        let mut events = Vec::new();
        assert_eq!(parse_events(datagram.as_bytes(), &mut |e| events.push(e)), 2);
        let CtEvent::Update(e) = events[0] else { panic!("{events:?}") };
        assert_eq!((e.original, e.mark), (tcp(), 0x42));
        assert!(matches!(events[1], CtEvent::Destroy(_)));
        // Damaged datagrams: fewer events, never a panic.
        for cut in 0..datagram.len() {
            parse_events(&datagram.as_bytes()[..cut], &mut |_| {});
        }
    }

    #[test]
    fn entries_decode_and_nat_is_detected() {
        let mut buf = MsgBuf::new();
        put_nfgenmsg(&mut buf, 2, 0);
        let orig = tcp();
        let reply =
            CtTuple::ports(Ipv4Addr::new(1, 2, 3, 4).into(), 443, Ipv4Addr::new(203, 0, 113, 1).into(), 40000, 6);
        orig.encode(&mut buf, CTA_TUPLE_ORIG).unwrap();
        reply.encode(&mut buf, CTA_TUPLE_REPLY).unwrap();
        buf.put_u32_be(CTA_MARK, 0x10);
        buf.put_attr(CTA_LABELS, &labels_to_wire(1 << 3));
        let e = decode_entry(buf.as_bytes()).unwrap();
        assert_eq!((e.original, e.reply, e.mark, e.labels), (orig, reply, 0x10, 1 << 3));
        assert!(is_nat(&e));
        let plain = CtEntry { reply: CtTuple::ports(orig.dst, 443, orig.src, 40000, 6), ..e };
        assert!(!is_nat(&plain));
        // Damaged input: errors, never panics.
        for cut in 0..buf.len() {
            let _ = decode_entry(&buf.as_bytes()[..cut]);
        }
    }
}
