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
    /// ICMP/ICMPv6 type, code and query identifier, when ICMP.
    pub icmp: Option<IcmpInfo>,
    /// Transport payload (may be shorter than on the wire if the capture cut it).
    pub payload: &'a [u8],
    /// Length of the IP packet as the IP header states it.
    pub ip_len: u32,
}

/// The ICMP header fields conntrack keys a query on (type, code, identifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpInfo {
    pub icmp_type: u8,
    pub code: u8,
    /// Bytes 4–5: the identifier of echo/timestamp/information queries; for other messages
    /// whatever the header holds there.
    pub id: u16,
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Ethernet + 802.1Q + IPv4 + TCP with a 4-byte payload.
    fn vlan_tcp_frame() -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00, 0x2a, 0x08, 0x00];
        let ip_len: u16 = 20 + 20 + 4;
        f.extend_from_slice(&[0x45, 0, (ip_len >> 8) as u8, ip_len as u8, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[192, 168, 1, 10, 10, 99, 0, 2]);
        f.extend_from_slice(&[0x9c, 0x40, 0x03, 0xf2, 0, 0, 0, 7, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(b"\x16\x03\x01\x00");
        f
    }

    #[test]
    fn ethernet_vlan_ipv4_tcp() {
        let frame = vlan_tcp_frame();
        let p = decode(LinkType::Ethernet, &frame).unwrap();
        assert_eq!(p.vlan_id, 42);
        assert_eq!(p.src_ip.to_string(), "192.168.1.10");
        assert_eq!(p.dst_ip.to_string(), "10.99.0.2");
        assert_eq!((p.src_port, p.dst_port, p.ip_protocol), (40000, 1010, 6));
        assert_eq!(p.tcp, Some(TcpInfo { seq: 7, flags: 0x18 }));
        assert_eq!(p.payload, b"\x16\x03\x01\x00");
        assert_eq!(p.src_mac, [0x02, 0, 0, 0, 0, 2]);
    }

    #[test]
    fn icmp_echo_keeps_ports_zero_and_exposes_type_code_id() {
        // Raw IPv4 echo request, identifier 0x1092 (4242), sequence 1.
        let mut ip = vec![0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        ip.extend_from_slice(&[8, 0, 0, 0, 0x10, 0x92, 0, 1]);
        let p = decode(LinkType::RawIp, &ip).unwrap();
        assert_eq!((p.src_port, p.dst_port, p.ip_protocol), (0, 0, 1));
        assert_eq!(p.icmp, Some(IcmpInfo { icmp_type: 8, code: 0, id: 4242 }));
        // A header cut short is tolerated, without ICMP fields.
        ip[3] = 24;
        let p = decode(LinkType::RawIp, &ip[..24]).unwrap();
        assert_eq!(p.icmp, None);
    }

    #[test]
    fn linux_cooked_v1_v2_and_raw_ip_give_the_same_packet() {
        let eth = vlan_tcp_frame();
        let ip = &eth[18..];
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(ip);
        let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0];
        sll2.extend_from_slice(ip);
        for (link, frame) in [(LinkType::LinuxSll, &sll[..]), (LinkType::LinuxSll2, &sll2[..]), (LinkType::RawIp, ip)] {
            let p = decode(link, frame).unwrap();
            assert_eq!((p.src_port, p.dst_port, p.payload.len()), (40000, 1010, 4), "{link:?}");
        }
        assert_eq!(LinkType::from_linktype(276), LinkType::LinuxSll2);
    }

    #[test]
    fn truncated_headers_are_malformed_not_panics() {
        let frame = vlan_tcp_frame();
        for cut in 0..frame.len() {
            let result = decode(LinkType::Ethernet, &frame[..cut]);
            if cut < 18 + 20 + 20 {
                assert!(result.is_err(), "cut at {cut} decoded");
                assert!(result.unwrap_err().is_malformed(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn non_ip_and_fragments_are_told_apart() {
        let mut arp = vlan_tcp_frame();
        arp[16] = 0x08;
        arp[17] = 0x06;
        assert_eq!(decode(LinkType::Ethernet, &arp).unwrap_err(), DecodeError::NotIp);
        let mut frag = vlan_tcp_frame();
        frag[18 + 7] = 0x10; // fragment offset 16
        assert_eq!(decode(LinkType::Ethernet, &frag).unwrap_err(), DecodeError::Fragment);
    }

    proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), link in 0u32..300) {
            let _ = decode(LinkType::from_linktype(link), &data);
        }

        #[test]
        fn mutated_frames_never_panic(index in 0usize..62, byte in any::<u8>(), cut in 0usize..63) {
            let mut frame = vlan_tcp_frame();
            frame[index] = byte;
            frame.truncate(cut);
            let _ = decode(LinkType::Ethernet, &frame);
        }
    }
}
