//! L2–L4 views of a captured frame: link header, VLAN, IPv4/IPv6, TCP/UDP. No copies.
//!
//! We decode by hand instead of using `etherparse` because we need Linux cooked capture v2, keep
//! the payload of frames cut short by the capture's snap length, and read only the few fields the
//! flow table needs. Every read is bounds-checked: nothing that comes off the wire can panic here.

mod link;
mod net;

pub use link::LinkType;

use std::net::IpAddr;

/// TCP flag bits as on the wire.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const ACK: u8 = 0x10;
}

/// A decoded packet: borrowed from the capture buffer.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Outer 802.1Q/802.1ad VLAN id, 0 when untagged.
    pub vlan_id: u16,
    /// Ethernet source and destination, zero when the link has none.
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub ip_protocol: u8,
    /// Ports for TCP/UDP, 0 otherwise.
    pub src_port: u16,
    pub dst_port: u16,
    /// TCP sequence number and flags, when TCP.
    pub tcp: Option<TcpInfo>,
    /// Transport payload (may be shorter than on the wire if the capture cut it).
    pub payload: &'a [u8],
    /// Length of the IP packet as the IP header states it.
    pub ip_len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpInfo {
    pub seq: u32,
    pub flags: u8,
}

impl TcpInfo {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// Why a frame was not decoded into a [`Packet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A header is cut short or inconsistent: counted as malformed.
    #[error("malformed {0} header")]
    Malformed(&'static str),
    /// Not IP (ARP, LLDP, …): skipped quietly.
    #[error("not an IP packet")]
    NotIp,
    /// A non-first IP fragment: no transport header to read.
    #[error("IP fragment")]
    Fragment,
    /// A link type we cannot read.
    #[error("unsupported link type {0}")]
    UnsupportedLink(u32),
}

impl DecodeError {
    /// True for frames that are broken, as opposed to merely not interesting.
    pub fn is_malformed(&self) -> bool {
        matches!(self, DecodeError::Malformed(_))
    }
}

/// Decode one frame of the given link type.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let l3 = link::strip(link, frame)?;
    net::decode_ip(l3)
}

/// A bounds-checked big-endian reader over a byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bytes<'a> {
    buf: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Bytes { buf }
    }
    pub(crate) fn u8_at(&self, at: usize) -> Option<u8> {
        self.buf.get(at).copied()
    }
    pub(crate) fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.buf.get(at..at.checked_add(2)?)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.buf.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn array_at<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.buf.get(at..at.checked_add(N)?)?.try_into().ok()
    }
}
