//! The ipset protocol (`NFNL_SUBSYS_IPSET`, protocol version 6; Linux speaks 6 and 7): create,
//! flush, destroy and add for the four set types Netify supports (`hash:ip`, `hash:ip,port`,
//! `hash:ip,port,ip`, `hash:mac`). Constants are from the kernel UAPI header
//! `linux/netfilter/ipset/ip_set.h`; the GPL libipset is not used.
//!
//! Kernel behaviour relied on (net/netfilter/ipset/ip_set_core.c):
//! - numeric attributes must carry `NLA_F_NET_BYTEORDER` and be big-endian, or the kernel
//!   answers `IPSET_ERR_PROTOCOL`;
//! - a set type is found by name, family and revision, so we ask the kernel (`IPSET_CMD_TYPE`)
//!   for the newest revision it has instead of hard-coding one;
//! - without `NLM_F_EXCL`, creating a set that exists with the same type and parameters and
//!   adding a member that exists both succeed (the member's timeout restarts); a set of that
//!   name with another type answers `IPSET_ERR_EXIST`;
//! - a list request (`IPSET_CMD_LIST`, a dump) naming one set with `IPSET_FLAG_LIST_HEADER`
//!   answers that set's header only: type, family, revision and the type's create data, which
//!   for hash types of the revisions with `bucketsize` (Linux 5.11 and later) include
//!   `IPSET_ATTR_INITVAL`, the hash seed the kernel drew at random when the set was created
//!   (what `ipset list` prints as `initval`). A missing set answers ENOENT.

use std::fmt;
use std::net::IpAddr;

use hashbrown::HashMap;

use super::{
    attrs, put_nfgenmsg, Ack, MsgBuf, NetlinkError, RequestSocket, NLA_F_NET_BYTEORDER, NLM_F_ACK, NLM_F_REQUEST,
};

const NFNL_SUBSYS_IPSET: u16 = 6;
/// Oldest protocol the kernel accepts (`IPSET_PROTOCOL_MIN`); every Linux since 3.x speaks it.
const IPSET_PROTOCOL: u8 = 6;
/// `IPSET_MAXNAMELEN` counts the terminating NUL.
pub const IPSET_MAXNAMELEN: usize = 32;

// enum ipset_cmd
const IPSET_CMD_CREATE: u16 = 2;
const IPSET_CMD_DESTROY: u16 = 3;
const IPSET_CMD_FLUSH: u16 = 4;
const IPSET_CMD_LIST: u16 = 7;
const IPSET_CMD_ADD: u16 = 9;
const IPSET_CMD_TYPE: u16 = 13;

// Command-level attributes.
const IPSET_ATTR_PROTOCOL: u16 = 1;
const IPSET_ATTR_SETNAME: u16 = 2;
const IPSET_ATTR_TYPENAME: u16 = 3;
const IPSET_ATTR_REVISION: u16 = 4;
const IPSET_ATTR_FAMILY: u16 = 5;
const IPSET_ATTR_FLAGS: u16 = 6;
const IPSET_ATTR_DATA: u16 = 7;
// Inside IPSET_ATTR_DATA (create and add/del/test share the numbering space).
const IPSET_ATTR_IP: u16 = 1;
const IPSET_ATTR_PORT: u16 = 4;
const IPSET_ATTR_TIMEOUT: u16 = 6;
const IPSET_ATTR_PROTO: u16 = 7;
const IPSET_ATTR_CADT_FLAGS: u16 = 8;
/// Create data: the hash seed (`IPSET_ATTR_CADT_MAX + 1`).
const IPSET_ATTR_INITVAL: u16 = 17;
const IPSET_ATTR_MAXELEM: u16 = 19;
/// How many rules and list:sets refer to the set (kernel-only, in a header).
const IPSET_ATTR_REFERENCES: u16 = 25;
const IPSET_ATTR_ETHER: u16 = 17;
const IPSET_ATTR_IP2: u16 = 20;
const IPSET_ATTR_SKBMARK: u16 = 27;
const IPSET_ATTR_SKBPRIO: u16 = 28;
const IPSET_ATTR_SKBQUEUE: u16 = 29;
// Inside IPSET_ATTR_IP / IPSET_ATTR_IP2.
const IPSET_ATTR_IPADDR_IPV4: u16 = 1;
const IPSET_ATTR_IPADDR_IPV6: u16 = 2;

/// `IPSET_FLAG_WITH_SKBINFO` (enum ipset_cadt_flags).
const IPSET_FLAG_WITH_SKBINFO: u32 = 1 << 6;
/// `IPSET_FLAG_LIST_HEADER` (enum ipset_cmd_flags): list the header only, no members.
const IPSET_FLAG_LIST_HEADER: u32 = 1 << 2;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`): the list command is a dump.
const NLM_F_DUMP: u16 = 0x300;

/// ipset's own errno values (enum ipset_errno).
pub const IPSET_ERR_PROTOCOL: i32 = 4097;
pub const IPSET_ERR_FIND_TYPE: i32 = 4098;
/// Destroying a set a firewall rule (or a list:set) still refers to.
pub const IPSET_ERR_BUSY: i32 = 4100;
pub const IPSET_ERR_EXIST: i32 = 4103;
pub const IPSET_ERR_TIMEOUT: i32 = 4107;
pub const IPSET_ERR_SKBINFO: i32 = 4114;
/// `IPSET_ERR_HASH_FULL` = `IPSET_ERR_TYPE_SPECIFIC` (ipset/ip_set_hash.h): the set is full.
pub const IPSET_ERR_HASH_FULL: i32 = 4352;

const NFPROTO_UNSPEC: u8 = 0;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

/// The set types Netify's ipset target supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpsetType {
    HashIp,
    HashIpPort,
    HashIpPortIp,
    HashMac,
}

impl IpsetType {
    /// Parses ipset's spelling (`hash:ip`, …).
    pub fn from_name(name: &str) -> Option<IpsetType> {
        Some(match name {
            "hash:ip" => IpsetType::HashIp,
            "hash:ip,port" => IpsetType::HashIpPort,
            "hash:ip,port,ip" => IpsetType::HashIpPortIp,
            "hash:mac" => IpsetType::HashMac,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            IpsetType::HashIp => "hash:ip",
            IpsetType::HashIpPort => "hash:ip,port",
            IpsetType::HashIpPortIp => "hash:ip,port,ip",
            IpsetType::HashMac => "hash:mac",
        }
    }
}

impl fmt::Display for IpsetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Address family of a set (`family inet` / `inet6`); ignored by `hash:mac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpsetFamily {
    Inet,
    Inet6,
}

/// What a set should look like when we create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpsetSpec {
    pub name: String,
    pub set_type: IpsetType,
    pub family: IpsetFamily,
    /// `maxelem`.
    pub max_elements: u32,
    /// Default member timeout in seconds; 0 = the set has no timeouts.
    pub timeout: u32,
    /// Members carry skbmark/skbprio/skbqueue (`skbinfo`).
    pub skbinfo: bool,
}

/// What the kernel says of an existing set (`ipset list -t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpsetHeader {
    /// `hash:ip`, `bitmap:port`, … (any type, not only the ones flowsieve creates).
    pub type_name: String,
    /// `NFPROTO_*`: 2 inet, 10 inet6, 0 for `hash:mac`.
    pub family: u8,
    pub revision: u8,
    /// The hash seed the kernel drew when the set was created; `None` on kernels (or types)
    /// that do not report it.
    pub initval: Option<u32>,
    /// Default member timeout; `None` when the set has no timeout support.
    pub timeout: Option<u32>,
    pub max_elements: Option<u32>,
    /// Rules and list:sets referring to the set.
    pub references: u32,
}

impl IpsetHeader {
    /// Whether the set has the type and family `spec` asks for (what members must fit).
    pub fn fits(&self, spec: &IpsetSpec) -> bool {
        self.type_name == spec.set_type.name() && self.family == nfproto(spec.set_type, spec.family)
    }

    /// The `NFPROTO_*` family a set of this type and family has (`hash:mac`: none).
    pub fn nfproto(set_type: IpsetType, family: IpsetFamily) -> u8 {
        nfproto(set_type, family)
    }
}

/// `NFPROTO_*` as `ipset list` names it.
pub fn family_name(family: u8) -> &'static str {
    match family {
        NFPROTO_IPV4 => "inet",
        NFPROTO_IPV6 => "inet6",
        NFPROTO_UNSPEC => "unspec",
        _ => "other",
    }
}

fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

/// Reads the header attributes of one list answer (the body after the `nlmsghdr`).
fn parse_header(body: &[u8]) -> Option<IpsetHeader> {
    let mut header = IpsetHeader {
        type_name: String::new(),
        family: 0,
        revision: 0,
        initval: None,
        timeout: None,
        max_elements: None,
        references: 0,
    };
    let mut typed = false;
    for (ty, v) in attrs(body.get(4..)?) {
        match ty {
            IPSET_ATTR_TYPENAME => {
                header.type_name = String::from_utf8_lossy(v).trim_end_matches('\0').to_string();
                typed = true;
            }
            IPSET_ATTR_FAMILY => header.family = *v.first()?,
            IPSET_ATTR_REVISION => header.revision = *v.first()?,
            IPSET_ATTR_DATA => {
                for (ty, v) in attrs(v) {
                    match ty {
                        IPSET_ATTR_INITVAL => header.initval = be32(v),
                        IPSET_ATTR_TIMEOUT => header.timeout = be32(v),
                        IPSET_ATTR_MAXELEM => header.max_elements = be32(v),
                        IPSET_ATTR_REFERENCES => header.references = be32(v).unwrap_or(0),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    typed.then_some(header)
}

/// `IPSET_CMD_LIST` of one set, header only.
fn encode_header_query(buf: &mut MsgBuf, name: &str, seq: u32) -> Result<(), NetlinkError> {
    check_name(name)?;
    let m = begin_flags(buf, IPSET_CMD_LIST, NFPROTO_UNSPEC, seq, NLM_F_REQUEST | NLM_F_DUMP);
    buf.put_str(IPSET_ATTR_SETNAME, name);
    put_net_u32(buf, IPSET_ATTR_FLAGS, IPSET_FLAG_LIST_HEADER);
    buf.end_msg(m);
    Ok(())
}

/// One member, in the layout of its set type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpsetEntry {
    Ip(IpAddr),
    IpPort { ip: IpAddr, proto: u8, port: u16 },
    IpPortIp { ip: IpAddr, proto: u8, port: u16, ip2: IpAddr },
    Mac([u8; 6]),
}

impl IpsetEntry {
    fn set_type(&self) -> IpsetType {
        match self {
            IpsetEntry::Ip(_) => IpsetType::HashIp,
            IpsetEntry::IpPort { .. } => IpsetType::HashIpPort,
            IpsetEntry::IpPortIp { .. } => IpsetType::HashIpPortIp,
            IpsetEntry::Mac(_) => IpsetType::HashMac,
        }
    }
}

/// The IP protocol as `ipset list` prints it in a member (`tcp`, `udp`, …).
pub fn proto_name(proto: u8) -> String {
    match proto {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "icmpv6".into(),
        132 => "sctp".into(),
        136 => "udplite".into(),
        n => n.to_string(),
    }
}

/// The member in ipset's syntax: `1.2.3.4`, `1.2.3.4,tcp:443`, `1.2.3.4,tcp:443,192.168.1.10`,
/// `de:ad:be:ef:00:01` (ipset prints MACs in upper case).
impl fmt::Display for IpsetEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpsetEntry::Ip(ip) => write!(f, "{ip}"),
            IpsetEntry::IpPort { ip, proto, port } => write!(f, "{ip},{}", PortText(*proto, *port)),
            IpsetEntry::IpPortIp { ip, proto, port, ip2 } => write!(f, "{ip},{},{ip2}", PortText(*proto, *port)),
            IpsetEntry::Mac(m) => {
                write!(f, "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}", m[0], m[1], m[2], m[3], m[4], m[5])
            }
        }
    }
}

/// `tcp:443`, or `icmp:8/0` for ICMP/ICMPv6 whose "port" is type << 8 | code.
struct PortText(u8, u16);

impl fmt::Display for PortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let PortText(proto, port) = *self;
        match proto {
            1 | 58 => write!(f, "{}:{}/{}", proto_name(proto), port >> 8, port & 0xff),
            _ => write!(f, "{}:{port}", proto_name(proto)),
        }
    }
}

/// skbinfo extension values of a member (used by iptables `SET --map-set`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SkbInfo {
    /// `(mark, mask)`.
    pub mark: Option<(u32, u32)>,
    /// tc class `MAJOR:MINOR` as `major << 16 | minor`.
    pub prio: Option<u32>,
    pub queue: Option<u16>,
}

impl SkbInfo {
    pub fn is_empty(&self) -> bool {
        self.mark.is_none() && self.prio.is_none() && self.queue.is_none()
    }
}

/// ipset's own options after a member: ` skbmark 0x10/0xff skbprio 1:2 skbqueue 3`.
impl fmt::Display for SkbInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((mark, mask)) = self.mark {
            write!(f, " skbmark 0x{mark:x}/0x{mask:x}")?;
        }
        if let Some(prio) = self.prio {
            write!(f, " skbprio {:x}:{:x}", prio >> 16, prio & 0xffff)?;
        }
        if let Some(queue) = self.queue {
            write!(f, " skbqueue {queue}")?;
        }
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), NetlinkError> {
    if name.is_empty() || name.len() >= IPSET_MAXNAMELEN || name.contains('\0') {
        return Err(NetlinkError::Invalid(format!("ipset name {name:?} (1 to {} bytes)", IPSET_MAXNAMELEN - 1)));
    }
    Ok(())
}

fn nfproto(set_type: IpsetType, family: IpsetFamily) -> u8 {
    match (set_type, family) {
        (IpsetType::HashMac, _) => NFPROTO_UNSPEC,
        (_, IpsetFamily::Inet) => NFPROTO_IPV4,
        (_, IpsetFamily::Inet6) => NFPROTO_IPV6,
    }
}

fn begin(buf: &mut MsgBuf, cmd: u16, family: u8, seq: u32) -> super::Mark {
    begin_flags(buf, cmd, family, seq, NLM_F_REQUEST | NLM_F_ACK)
}

fn begin_flags(buf: &mut MsgBuf, cmd: u16, family: u8, seq: u32, flags: u16) -> super::Mark {
    let m = buf.begin_msg((NFNL_SUBSYS_IPSET << 8) | cmd, flags, seq);
    put_nfgenmsg(buf, family, 0);
    buf.put_attr(IPSET_ATTR_PROTOCOL, &[IPSET_PROTOCOL]);
    m
}

fn put_net_u32(buf: &mut MsgBuf, attr: u16, v: u32) {
    buf.put_attr(attr | NLA_F_NET_BYTEORDER, &v.to_be_bytes());
}

fn put_ip(buf: &mut MsgBuf, attr: u16, ip: IpAddr) -> Result<(), NetlinkError> {
    let nest = buf.begin_nest(attr);
    match ip {
        IpAddr::V4(a) => buf.put_attr(IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, &a.octets()),
        IpAddr::V6(a) => buf.put_attr(IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER, &a.octets()),
    }
    buf.end_nest(nest)
}

/// `IPSET_CMD_TYPE`: which revisions of a type the kernel has.
fn encode_type_query(buf: &mut MsgBuf, set_type: IpsetType, family: u8, seq: u32) {
    let m = begin(buf, IPSET_CMD_TYPE, family, seq);
    buf.put_str(IPSET_ATTR_TYPENAME, set_type.name());
    buf.put_attr(IPSET_ATTR_FAMILY, &[family]);
    buf.end_msg(m);
}

fn encode_create(buf: &mut MsgBuf, spec: &IpsetSpec, revision: u8, seq: u32) -> Result<(), NetlinkError> {
    check_name(&spec.name)?;
    let family = nfproto(spec.set_type, spec.family);
    let m = begin(buf, IPSET_CMD_CREATE, family, seq);
    buf.put_str(IPSET_ATTR_SETNAME, &spec.name);
    buf.put_str(IPSET_ATTR_TYPENAME, spec.set_type.name());
    buf.put_attr(IPSET_ATTR_REVISION, &[revision]);
    buf.put_attr(IPSET_ATTR_FAMILY, &[family]);
    let data = buf.begin_nest(IPSET_ATTR_DATA);
    if spec.max_elements > 0 {
        put_net_u32(buf, IPSET_ATTR_MAXELEM, spec.max_elements);
    }
    if spec.timeout > 0 {
        put_net_u32(buf, IPSET_ATTR_TIMEOUT, spec.timeout);
    }
    if spec.skbinfo {
        put_net_u32(buf, IPSET_ATTR_CADT_FLAGS, IPSET_FLAG_WITH_SKBINFO);
    }
    buf.end_nest(data)?;
    buf.end_msg(m);
    Ok(())
}

fn encode_named(buf: &mut MsgBuf, cmd: u16, name: &str, seq: u32) -> Result<(), NetlinkError> {
    check_name(name)?;
    let m = begin(buf, cmd, NFPROTO_UNSPEC, seq);
    buf.put_str(IPSET_ATTR_SETNAME, name);
    buf.end_msg(m);
    Ok(())
}

/// Flags of a message whose success the kernel confirms.
const ACKED: u16 = NLM_F_REQUEST | NLM_F_ACK;

/// An ADD message; without `NLM_F_ACK` in `flags` the kernel answers only a failure.
fn encode_add(
    buf: &mut MsgBuf,
    name: &str,
    entry: &IpsetEntry,
    timeout: Option<u32>,
    skb: &SkbInfo,
    seq: u32,
    flags: u16,
) -> Result<(), NetlinkError> {
    check_name(name)?;
    let family = match entry {
        IpsetEntry::Mac(_) => NFPROTO_UNSPEC,
        IpsetEntry::Ip(ip) | IpsetEntry::IpPort { ip, .. } | IpsetEntry::IpPortIp { ip, .. } => {
            if ip.is_ipv4() {
                NFPROTO_IPV4
            } else {
                NFPROTO_IPV6
            }
        }
    };
    if let IpsetEntry::IpPortIp { ip, ip2, .. } = entry {
        if ip.is_ipv4() != ip2.is_ipv4() {
            return Err(NetlinkError::Invalid(format!("ipset member {entry} mixes address families")));
        }
    }
    let m = begin_flags(buf, IPSET_CMD_ADD, family, seq, flags);
    buf.put_str(IPSET_ATTR_SETNAME, name);
    let data = buf.begin_nest(IPSET_ATTR_DATA);
    match *entry {
        IpsetEntry::Ip(ip) => put_ip(buf, IPSET_ATTR_IP, ip)?,
        IpsetEntry::IpPort { ip, proto, port } => {
            put_ip(buf, IPSET_ATTR_IP, ip)?;
            buf.put_attr(IPSET_ATTR_PORT | NLA_F_NET_BYTEORDER, &port.to_be_bytes());
            buf.put_attr(IPSET_ATTR_PROTO, &[proto]);
        }
        IpsetEntry::IpPortIp { ip, proto, port, ip2 } => {
            put_ip(buf, IPSET_ATTR_IP, ip)?;
            buf.put_attr(IPSET_ATTR_PORT | NLA_F_NET_BYTEORDER, &port.to_be_bytes());
            buf.put_attr(IPSET_ATTR_PROTO, &[proto]);
            put_ip(buf, IPSET_ATTR_IP2, ip2)?;
        }
        IpsetEntry::Mac(mac) => buf.put_attr(IPSET_ATTR_ETHER, &mac),
    }
    if let Some(t) = timeout {
        put_net_u32(buf, IPSET_ATTR_TIMEOUT, t);
    }
    if let Some((mark, mask)) = skb.mark {
        let v = (u64::from(mark) << 32) | u64::from(mask);
        buf.put_attr(IPSET_ATTR_SKBMARK | NLA_F_NET_BYTEORDER, &v.to_be_bytes());
    }
    if let Some(prio) = skb.prio {
        put_net_u32(buf, IPSET_ATTR_SKBPRIO, prio);
    }
    if let Some(queue) = skb.queue {
        buf.put_attr(IPSET_ATTR_SKBQUEUE | NLA_F_NET_BYTEORDER, &queue.to_be_bytes());
    }
    buf.end_nest(data)?;
    buf.end_msg(m);
    Ok(())
}

/// An ipset error number spelled out (the kernel's numbers above 4096 mean nothing to strerror).
fn ipset_error(errno: i32, context: String) -> NetlinkError {
    let what = match errno {
        IPSET_ERR_PROTOCOL => "kernel refused the message (ipset protocol error)",
        IPSET_ERR_FIND_TYPE => "set type not supported by the kernel",
        IPSET_ERR_BUSY => "the set is in use by a firewall rule",
        IPSET_ERR_EXIST => "a set of that name exists with another type or parameters",
        IPSET_ERR_TIMEOUT => "the set was created without timeout support",
        IPSET_ERR_SKBINFO => "the set was created without skbinfo support",
        IPSET_ERR_HASH_FULL => "the set is full",
        _ => return NetlinkError::Kernel { errno, context },
    };
    NetlinkError::Kernel { errno, context: format!("{context}: {what} (ipset error {errno})") }
}

/// What we ask SO_SNDBUFFORCE/SO_RCVBUFFORCE for (the kernel doubles it).
const WANT_SOCKET_BUF: i32 = 4 << 20;
/// Receive-buffer room one acknowledgement takes (skb truesize of a small ack, rounded up), so
/// the acks of one datagram never overflow the receive buffer.
const ACK_TRUESIZE: usize = 1024;
/// Most members in one datagram, and most bytes: past a few hundred the round trip is no
/// longer what costs.
const MAX_MSGS_PER_SEND: usize = 2048;
const MAX_BYTES_PER_SEND: usize = 256 << 10;

/// What [`IpsetSocket::add_many`] did.
#[derive(Debug, Default)]
pub struct AddReport {
    /// Members added, or already there (their timeout restarted).
    pub added: usize,
    /// Members the kernel refused, with why (ENOENT: no such set; the set is full; …).
    pub refused: Vec<(IpsetEntry, NetlinkError)>,
    /// Datagrams sent; each one's acknowledgements are read before the next goes out.
    pub sends: usize,
}

/// A NETLINK_NETFILTER socket speaking ipset, in the namespace of the thread that opened it.
#[derive(Debug)]
pub struct IpsetSocket {
    sock: RequestSocket,
    buf: MsgBuf,
    revisions: HashMap<(IpsetType, u8), u8>,
    acks: Vec<Ack>,
    /// Members per datagram, from the receive buffer the kernel granted.
    max_msgs: usize,
    /// Bytes per datagram, under the send buffer.
    max_bytes: usize,
}

impl IpsetSocket {
    pub fn open() -> Result<IpsetSocket, NetlinkError> {
        let mut sock = RequestSocket::open()?;
        let (sndbuf, rcvbuf) = sock.raise_buffers(WANT_SOCKET_BUF)?;
        let max_msgs = (rcvbuf / ACK_TRUESIZE).clamp(1, MAX_MSGS_PER_SEND);
        let max_bytes = (sndbuf / 2).clamp(4096, MAX_BYTES_PER_SEND);
        Ok(IpsetSocket { sock, buf: MsgBuf::new(), revisions: HashMap::new(), acks: Vec::new(), max_msgs, max_bytes })
    }

    /// Members sent per datagram at most.
    pub fn max_members_per_send(&self) -> usize {
        self.max_msgs
    }

    /// Caps the members per datagram (1 = one round trip per member, for comparison).
    pub fn limit_members_per_send(&mut self, n: usize) {
        self.max_msgs = n.clamp(1, self.max_msgs);
    }

    /// Adds many members to one set: as many ADD messages per datagram as the socket buffers
    /// allow (each failure, and the last message, is answered), then the answers. A member that exists already is a success (its
    /// timeout restarts); per-member refusals are listed in the report, not returned as `Err`.
    /// `Err` means the socket failed (the rest was not sent).
    pub fn add_many(
        &mut self,
        name: &str,
        entries: &[IpsetEntry],
        timeout: Option<u32>,
        skb: &SkbInfo,
    ) -> Result<AddReport, NetlinkError> {
        check_name(name)?;
        let mut report = AddReport::default();
        let mut rest = entries;
        while !rest.is_empty() {
            self.buf.truncate(0);
            let most = rest.len().min(self.max_msgs);
            // Numbers left unused when the byte limit stops us first are simply skipped.
            let first = self.sock.reserve_seqs(most as u32);
            let mut n = 0usize;
            let mut last_msg = 0;
            while n < most && self.buf.len() < self.max_bytes {
                last_msg = self.buf.len();
                let seq = first.wrapping_add(n as u32);
                encode_add(&mut self.buf, name, &rest[n], timeout, skb, seq, NLM_F_REQUEST)?;
                n += 1;
            }
            // Only the last message asks for an ACK: its answer says all before it were handled,
            // and the others are answered only when they fail.
            self.buf.set_flags_at(last_msg, NLM_F_REQUEST | NLM_F_ACK);
            let chunk = &rest[..n];
            self.acks.clear();
            let result = self.sock.request_many(self.buf.as_bytes(), first, n as u32, &mut self.acks, &|| {
                format!("ipset add {name}: {n} member(s)")
            });
            report.sends += 1;
            result?;
            let mut refused = 0;
            for ack in self.acks.drain(..) {
                let index = ack.seq.wrapping_sub(first) as usize;
                let Some(entry) = chunk.get(index) else { continue };
                match ack.errno {
                    0 | IPSET_ERR_EXIST => {}
                    errno => {
                        refused += 1;
                        let mut context = format!("ipset add {name} {entry} ({})", entry.set_type());
                        if let Some(text) = ack.message.filter(|t| !t.is_empty()) {
                            context = format!("{context} ({text})");
                        }
                        report.refused.push((*entry, ipset_error(errno, context)));
                    }
                }
            }
            report.added += n - refused;
            rest = &rest[n..];
        }
        Ok(report)
    }

    /// Sends the message in `buf` (numbered `seq`) and waits for its answer.
    fn request(&mut self, seq: u32, context: impl Fn() -> String) -> Result<Vec<Vec<u8>>, NetlinkError> {
        self.sock.request(self.buf.as_bytes(), seq, &context).map_err(|e| match e {
            NetlinkError::Kernel { errno, context } => ipset_error(errno, context),
            other => other,
        })
    }

    /// The newest revision of `set_type` the kernel has (asked once, then cached).
    fn revision(&mut self, set_type: IpsetType, family: u8) -> Result<u8, NetlinkError> {
        if let Some(r) = self.revisions.get(&(set_type, family)) {
            return Ok(*r);
        }
        let seq = self.sock.next_seq();
        self.buf.truncate(0);
        encode_type_query(&mut self.buf, set_type, family, seq);
        let msgs = self.request(seq, || format!("ipset type {set_type}"))?;
        let revision = msgs
            .iter()
            .flat_map(|body| attrs(body.get(4..).unwrap_or(&[])))
            .find(|(ty, _)| *ty == IPSET_ATTR_REVISION)
            .and_then(|(_, v)| v.first().copied())
            .ok_or_else(|| NetlinkError::Malformed(format!("ipset type {set_type}: no revision in the answer")))?;
        self.revisions.insert((set_type, family), revision);
        Ok(revision)
    }

    /// Creates the set unless an identical one exists.
    pub fn create(&mut self, spec: &IpsetSpec) -> Result<(), NetlinkError> {
        let family = nfproto(spec.set_type, spec.family);
        let revision = self.revision(spec.set_type, family)?;
        let seq = self.sock.next_seq();
        self.buf.truncate(0);
        encode_create(&mut self.buf, spec, revision, seq)?;
        self.request(seq, || format!("ipset create {} {}", spec.name, spec.set_type)).map(|_| ())
    }

    /// The set's header, or `None` when there is no set of that name.
    pub fn header(&mut self, name: &str) -> Result<Option<IpsetHeader>, NetlinkError> {
        let seq = self.sock.next_seq();
        self.buf.truncate(0);
        encode_header_query(&mut self.buf, name, seq)?;
        match self.request(seq, || format!("ipset list -t {name}")) {
            Ok(msgs) => msgs
                .iter()
                .find_map(|body| parse_header(body))
                .map(Some)
                .ok_or_else(|| NetlinkError::Malformed(format!("ipset list -t {name}: no header in the answer"))),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes every member.
    pub fn flush(&mut self, name: &str) -> Result<(), NetlinkError> {
        let seq = self.sock.next_seq();
        self.buf.truncate(0);
        encode_named(&mut self.buf, IPSET_CMD_FLUSH, name, seq)?;
        self.request(seq, || format!("ipset flush {name}")).map(|_| ())
    }

    /// Deletes the set (fails while iptables rules refer to it).
    pub fn destroy(&mut self, name: &str) -> Result<(), NetlinkError> {
        let seq = self.sock.next_seq();
        self.buf.truncate(0);
        encode_named(&mut self.buf, IPSET_CMD_DESTROY, name, seq)?;
        self.request(seq, || format!("ipset destroy {name}")).map(|_| ())
    }

    /// Adds a member, or restarts its timeout when it is already there (`IPSET_ERR_EXIST` is
    /// taken as success).
    pub fn add(
        &mut self,
        name: &str,
        entry: &IpsetEntry,
        timeout: Option<u32>,
        skb: &SkbInfo,
    ) -> Result<(), NetlinkError> {
        let seq = self.sock.next_seq();
        self.buf.truncate(0);
        encode_add(&mut self.buf, name, entry, timeout, skb, seq, ACKED)?;
        match self.request(seq, || format!("ipset add {name} {entry} ({})", entry.set_type())) {
            Err(e) if e.errno() == Some(IPSET_ERR_EXIST) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::super::NLA_F_NESTED;
    use super::*;

    /// (attribute type, flags, payload)
    type RawAttr = (u16, u16, Vec<u8>);

    /// Message type, nfgenmsg family and top-level attributes of one encoded message.
    fn parts(buf: &MsgBuf) -> (u16, u8, Vec<RawAttr>) {
        let b = buf.as_bytes();
        let ty = u16::from_ne_bytes([b[4], b[5]]);
        let family = b[16];
        let mut out = Vec::new();
        let mut rest = &b[20..];
        while rest.len() >= 4 {
            let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
            let raw = u16::from_ne_bytes([rest[2], rest[3]]);
            out.push((raw & 0x3fff, raw & 0xc000, rest[4..len].to_vec()));
            rest = &rest[super::super::align4(len)..];
        }
        (ty, family, out)
    }

    #[test]
    fn error_numbers_follow_enum_ipset_errno() {
        // IPSET_ERR_PRIVATE = 4096, then in order; hash types start at IPSET_ERR_TYPE_SPECIFIC.
        assert_eq!(IPSET_ERR_PROTOCOL, 4096 + 1);
        assert_eq!(IPSET_ERR_FIND_TYPE, 4096 + 2);
        assert_eq!(IPSET_ERR_BUSY, 4096 + 4);
        assert_eq!(IPSET_ERR_EXIST, 4096 + 7);
        assert_eq!(IPSET_ERR_TIMEOUT, 4096 + 11);
        assert_eq!(IPSET_ERR_SKBINFO, 4096 + 18);
        assert_eq!(IPSET_ERR_HASH_FULL, 4352);
    }

    #[test]
    fn names_round_trip() {
        for n in ["hash:ip", "hash:ip,port", "hash:ip,port,ip", "hash:mac"] {
            assert_eq!(IpsetType::from_name(n).unwrap().name(), n);
        }
        assert_eq!(IpsetType::from_name("bitmap:ip"), None);
    }

    #[test]
    fn create_carries_type_revision_and_net_order_data() {
        let spec = IpsetSpec {
            name: "social-media.v4".into(),
            set_type: IpsetType::HashIpPort,
            family: IpsetFamily::Inet,
            max_elements: 65536,
            timeout: 900,
            skbinfo: true,
        };
        let mut buf = MsgBuf::new();
        encode_create(&mut buf, &spec, 5, 3).unwrap();
        let (ty, family, a) = parts(&buf);
        assert_eq!(ty, (6 << 8) | 2);
        assert_eq!(family, 2);
        assert_eq!(a[0], (IPSET_ATTR_PROTOCOL, 0, vec![6]));
        assert_eq!(a[1], (IPSET_ATTR_SETNAME, 0, b"social-media.v4\0".to_vec()));
        assert_eq!(a[2], (IPSET_ATTR_TYPENAME, 0, b"hash:ip,port\0".to_vec()));
        assert_eq!(a[3], (IPSET_ATTR_REVISION, 0, vec![5]));
        assert_eq!(a[4], (IPSET_ATTR_FAMILY, 0, vec![2]));
        assert_eq!((a[5].0, a[5].1), (IPSET_ATTR_DATA, NLA_F_NESTED));
        let data: Vec<_> = attrs(&a[5].2).map(|(t, v)| (t, v.to_vec())).collect();
        assert_eq!(
            data,
            vec![
                (IPSET_ATTR_MAXELEM, 65536u32.to_be_bytes().to_vec()),
                (IPSET_ATTR_TIMEOUT, 900u32.to_be_bytes().to_vec()),
                (IPSET_ATTR_CADT_FLAGS, 64u32.to_be_bytes().to_vec()),
            ]
        );
        // Every numeric data attribute has NLA_F_NET_BYTEORDER.
        let raw = &a[5].2;
        assert_eq!(u16::from_ne_bytes([raw[2], raw[3]]) & NLA_F_NET_BYTEORDER, NLA_F_NET_BYTEORDER);
    }

    #[test]
    fn add_ip_port_ip_with_skbinfo() {
        let entry = IpsetEntry::IpPortIp {
            ip: Ipv4Addr::new(101, 100, 139, 138).into(),
            proto: 17,
            port: 51413,
            ip2: Ipv4Addr::new(192, 168, 55, 140).into(),
        };
        assert_eq!(entry.to_string(), "101.100.139.138,udp:51413,192.168.55.140");
        let skb = SkbInfo { mark: Some((0x10, 0xff)), prio: Some(0x0001_0002), queue: Some(3) };
        assert_eq!(skb.to_string(), " skbmark 0x10/0xff skbprio 1:2 skbqueue 3");
        let mut buf = MsgBuf::new();
        encode_add(&mut buf, "p2p.v4", &entry, Some(60), &skb, 1, ACKED).unwrap();
        let (ty, _, a) = parts(&buf);
        assert_eq!(ty, (6 << 8) | 9);
        let data: Vec<_> = attrs(&a[2].2).map(|(t, v)| (t, v.to_vec())).collect();
        let get = |t: u16| data.iter().find(|x| x.0 == t).map(|x| x.1.clone()).unwrap();
        let ip: Vec<_> = attrs(&get(IPSET_ATTR_IP)).map(|(t, v)| (t, v.to_vec())).collect();
        assert_eq!(ip, vec![(IPSET_ATTR_IPADDR_IPV4, vec![101, 100, 139, 138])]);
        assert_eq!(get(IPSET_ATTR_PORT), 51413u16.to_be_bytes());
        assert_eq!(get(IPSET_ATTR_PROTO), vec![17]);
        let ip2: Vec<_> = attrs(&get(IPSET_ATTR_IP2)).map(|(t, v)| (t, v.to_vec())).collect();
        assert_eq!(ip2, vec![(IPSET_ATTR_IPADDR_IPV4, vec![192, 168, 55, 140])]);
        assert_eq!(get(IPSET_ATTR_TIMEOUT), 60u32.to_be_bytes());
        assert_eq!(get(IPSET_ATTR_SKBMARK), 0x0000_0010_0000_00ffu64.to_be_bytes());
        assert_eq!(get(IPSET_ATTR_SKBPRIO), 0x0001_0002u32.to_be_bytes());
        assert_eq!(get(IPSET_ATTR_SKBQUEUE), 3u16.to_be_bytes());
    }

    #[test]
    fn a_header_query_is_a_dump_of_one_set_header_only_and_its_answer_is_read() {
        let mut buf = MsgBuf::new();
        encode_header_query(&mut buf, "social.v4", 7).unwrap();
        let b = buf.as_bytes();
        assert_eq!(u16::from_ne_bytes([b[6], b[7]]), NLM_F_REQUEST | NLM_F_DUMP);
        let (ty, _, a) = parts(&buf);
        assert_eq!(ty, (6 << 8) | IPSET_CMD_LIST);
        assert_eq!(a[1], (IPSET_ATTR_SETNAME, 0, b"social.v4\0".to_vec()));
        assert_eq!(a[2], (IPSET_ATTR_FLAGS, NLA_F_NET_BYTEORDER, 4u32.to_be_bytes().to_vec()));

        // The kernel's answer: nfgenmsg, then the header attributes and the create data.
        let mut answer = MsgBuf::new();
        put_nfgenmsg(&mut answer, NFPROTO_IPV4, 0);
        answer.put_attr(IPSET_ATTR_PROTOCOL, &[6]);
        answer.put_str(IPSET_ATTR_SETNAME, "social.v4");
        answer.put_str(IPSET_ATTR_TYPENAME, "hash:ip");
        answer.put_attr(IPSET_ATTR_FAMILY, &[NFPROTO_IPV4]);
        answer.put_attr(IPSET_ATTR_REVISION, &[6]);
        let data = answer.begin_nest(IPSET_ATTR_DATA);
        put_net_u32(&mut answer, IPSET_ATTR_MAXELEM, 65536);
        put_net_u32(&mut answer, IPSET_ATTR_INITVAL, 0xd7a4_d732);
        put_net_u32(&mut answer, IPSET_ATTR_REFERENCES, 1);
        put_net_u32(&mut answer, IPSET_ATTR_TIMEOUT, 900);
        answer.end_nest(data).unwrap();
        let header = parse_header(answer.as_bytes()).unwrap();
        assert_eq!(
            header,
            IpsetHeader {
                type_name: "hash:ip".into(),
                family: NFPROTO_IPV4,
                revision: 6,
                initval: Some(0xd7a4_d732),
                timeout: Some(900),
                max_elements: Some(65536),
                references: 1,
            }
        );
        let spec = |set_type, family| IpsetSpec {
            name: "social.v4".into(),
            set_type,
            family,
            max_elements: 1,
            timeout: 0,
            skbinfo: false,
        };
        assert!(header.fits(&spec(IpsetType::HashIp, IpsetFamily::Inet)));
        assert!(!header.fits(&spec(IpsetType::HashIp, IpsetFamily::Inet6)));
        assert!(!header.fits(&spec(IpsetType::HashIpPort, IpsetFamily::Inet)));
        // No type name: not a header.
        assert_eq!(parse_header(&[2, 0, 0, 0]), None);
        assert_eq!(parse_header(&[]), None);
    }

    #[test]
    fn mac_member_and_bad_input() {
        let e = IpsetEntry::Mac([0xde, 0xad, 0xbe, 0xef, 0, 1]);
        assert_eq!(e.to_string(), "DE:AD:BE:EF:00:01");
        let mut buf = MsgBuf::new();
        encode_add(&mut buf, "macs.v4", &e, None, &SkbInfo::default(), 1, ACKED).unwrap();
        let (_, family, a) = parts(&buf);
        assert_eq!(family, 0);
        let data: Vec<_> = attrs(&a[2].2).map(|(t, v)| (t, v.to_vec())).collect();
        assert_eq!(data, vec![(IPSET_ATTR_ETHER, vec![0xde, 0xad, 0xbe, 0xef, 0, 1])]);
        assert!(encode_add(&mut MsgBuf::new(), &"x".repeat(32), &e, None, &SkbInfo::default(), 1, ACKED).is_err());
        let mixed = IpsetEntry::IpPortIp {
            ip: Ipv4Addr::LOCALHOST.into(),
            proto: 6,
            port: 1,
            ip2: std::net::Ipv6Addr::LOCALHOST.into(),
        };
        assert!(encode_add(&mut MsgBuf::new(), "x", &mixed, None, &SkbInfo::default(), 1, ACKED).is_err());
    }
}
