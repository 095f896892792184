//! L2–L4 views of a captured frame: link header, VLAN, IPv4/IPv6, TCP/UDP. No copies.
//!
//! We decode by hand instead of using `etherparse` because we need Linux cooked capture v2, keep
//! the payload of frames cut short by the capture's snap length, and read only the few fields the
//! flow table needs. Every read is bounds-checked: nothing that comes off the wire can panic here.
//!
//! Tunnels (GTP-U, IP-in-IP, CAPWAP data) are opened here: the packet handed to the flow table
//! is the innermost one, marked with the tunnel it came in ([`tunnel`] says what is kept of the
//! outer headers).

mod link;
mod net;
pub mod tunnel;

pub use crate::facts::TunnelType;
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
    /// 802.1Q/802.1ad VLAN id (the innermost tag of a stack), 0 when untagged.
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
    /// The tunnel this packet was taken out of.
    pub tunnel: TunnelType,
    /// Differentiated services code point (IPv4 TOS / IPv6 traffic class, upper 6 bits).
    pub dscp: u8,
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
///
/// Inlined, with the tunnel walk out of line: the packet is then built once, in the caller's
/// frame, instead of being moved through three return values (the largest part of decoding's
/// cost was those copies).
#[inline]
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Packet<'_>, DecodeError> {
    let l3 = link::strip(link, frame)?;
    let packet = net::decode_ip(l3)?;
    if tunnel::may_carry(&packet) {
        return open_tunnels(packet);
    }
    Ok(packet)
}

/// The innermost packet of the tunnels `packet` carries (itself when it carries none after all).
#[inline(never)]
fn open_tunnels(mut packet: Packet<'_>) -> Result<Packet<'_>, DecodeError> {
    for _ in 0..tunnel::MAX_DEPTH {
        let Some((kind, inner)) = tunnel::inner(&packet) else { break };
        match net::decode_ip(inner) {
            Ok(mut inner) => {
                inner.tunnel = packet.tunnel.nest(kind);
                packet = inner;
            }
            Err(DecodeError::Fragment) => return Err(DecodeError::Fragment),
            // Not an IP packet after all: the outer packet is the flow.
            Err(_) => break,
        }
    }
    Ok(packet)
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
        let mut ef = frame.clone();
        ef[19] = 46 << 2; // TOS: DSCP EF
        assert_eq!(decode(LinkType::Ethernet, &ef).unwrap().dscp, 46);
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

    /// An IPv4 header (no options) around `body`.
    fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], body: &[u8]) -> Vec<u8> {
        let len = (20 + body.len()) as u16;
        let mut ip = vec![0x45, 0, (len >> 8) as u8, len as u8, 0, 0, 0x40, 0, 64, proto, 0, 0];
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        ip.extend_from_slice(body);
        ip
    }

    fn udp(sport: u16, dport: u16, body: &[u8]) -> Vec<u8> {
        let len = (8 + body.len()) as u16;
        let mut u = sport.to_be_bytes().to_vec();
        u.extend_from_slice(&dport.to_be_bytes());
        u.extend_from_slice(&len.to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(body);
        u
    }

    /// The inner packet every tunnel test carries: UDP 10.0.0.1:5000 -> 10.0.0.2:53, "dns?".
    fn inner_v4() -> Vec<u8> {
        ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], &udp(5000, 53, b"dns?"))
    }

    fn assert_inner(p: &Packet<'_>, tunnel: TunnelType) {
        assert_eq!(p.src_ip.to_string(), "10.0.0.1");
        assert_eq!(p.dst_ip.to_string(), "10.0.0.2");
        assert_eq!((p.ip_protocol, p.src_port, p.dst_port, p.payload), (17, 5000, 53, &b"dns?"[..]));
        assert_eq!(p.tunnel, tunnel);
    }

    fn over_udp(port: u16, body: &[u8]) -> Vec<u8> {
        ipv4(17, [192, 0, 2, 1], [192, 0, 2, 2], &udp(40000, port, body))
    }

    #[test]
    fn gtp_u_with_and_without_optional_fields() {
        let inner = inner_v4();
        // Plain G-PDU: flags 0x30 (version 1, PT 1), type 0xff, length, TEID.
        let mut plain = vec![0x30, 0xff, 0, inner.len() as u8, 0, 0, 0, 1];
        plain.extend_from_slice(&inner);
        assert_inner(&decode(LinkType::RawIp, &over_udp(2152, &plain)).unwrap(), TunnelType::Gtp);
        // Sequence number present (S), and an extension header chain (E): a PDU session
        // container (type 0x85, 1 unit) then the end of the chain.
        let mut ext = vec![0x36, 0xff, 0, 0, 0, 0, 0, 1, 0x12, 0x34, 0, 0x85, 1, 0x10, 0x05, 0x00];
        let len = (ext.len() - 8 + inner.len()) as u16;
        ext[2..4].copy_from_slice(&len.to_be_bytes());
        ext.extend_from_slice(&inner);
        assert_inner(&decode(LinkType::RawIp, &over_udp(2152, &ext)).unwrap(), TunnelType::Gtp);
        // An extension header claiming length 0 is broken: the outer packet stays the flow.
        let mut broken = ext.clone();
        broken[12] = 0;
        let outer = over_udp(2152, &broken);
        let p = decode(LinkType::RawIp, &outer).unwrap();
        assert_eq!((p.dst_port, p.tunnel), (2152, TunnelType::None));
        // GTP' (protocol type bit clear) and GTP-U echo requests (type 1) are not opened.
        for (flags, kind) in [(0x20, 0xff), (0x30, 0x01)] {
            let mut other = plain.clone();
            other[0] = flags;
            other[1] = kind;
            let outer = over_udp(2152, &other);
            let p = decode(LinkType::RawIp, &outer).unwrap();
            assert_eq!((p.dst_port, p.tunnel), (2152, TunnelType::None), "flags {flags:#x} type {kind}");
        }
    }

    #[test]
    fn ip_in_ip_every_combination() {
        let inner4 = inner_v4();
        let mut inner6 = vec![0x60, 0, 0, 0, 0, 12, 17, 64];
        inner6.extend_from_slice(&"2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        inner6.extend_from_slice(&"2001:db8::2".parse::<std::net::Ipv6Addr>().unwrap().octets());
        inner6.extend_from_slice(&udp(5000, 53, b"dns?"));
        let outer6 = |next: u8, body: &[u8]| {
            let mut ip = vec![0x60, 0, 0, 0, 0, body.len() as u8, next, 64];
            ip.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a]);
            ip.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b]);
            ip.extend_from_slice(body);
            ip
        };
        let four_in_four = ipv4(4, [192, 0, 2, 1], [192, 0, 2, 2], &inner4);
        let four_in_six = outer6(4, &inner4);
        assert_inner(&decode(LinkType::RawIp, &four_in_four).unwrap(), TunnelType::None);
        assert_inner(&decode(LinkType::RawIp, &four_in_six).unwrap(), TunnelType::None);
        for frame in [ipv4(41, [192, 0, 2, 1], [192, 0, 2, 2], &inner6), outer6(41, &inner6)] {
            let p = decode(LinkType::RawIp, &frame).unwrap();
            assert_eq!((p.src_ip.to_string().as_str(), p.dst_port), ("2001:db8::1", 53));
        }
        // Protocol 4 carrying something that is not IPv4 stays the outer packet.
        let odd = ipv4(4, [192, 0, 2, 1], [192, 0, 2, 2], &inner6);
        assert_eq!(decode(LinkType::RawIp, &odd).unwrap().ip_protocol, 4);
    }

    #[test]
    fn nesting_stops_at_the_depth_limit() {
        let mut frame = inner_v4();
        for _ in 0..tunnel::MAX_DEPTH {
            frame = ipv4(4, [192, 0, 2, 1], [192, 0, 2, 2], &frame);
        }
        assert_inner(&decode(LinkType::RawIp, &frame).unwrap(), TunnelType::None);
        // One more layer than the limit: the decoder stops one tunnel short, on the last outer.
        frame = ipv4(4, [192, 0, 2, 7], [192, 0, 2, 8], &frame);
        let p = decode(LinkType::RawIp, &frame).unwrap();
        assert_eq!((p.ip_protocol, p.src_ip.to_string().as_str()), (4, "192.0.2.1"));
        // GTP inside IP-in-IP is reported as GTP.
        let inner = inner_v4();
        let mut gtp = vec![0x30, 0xff, 0, inner.len() as u8, 0, 0, 0, 1];
        gtp.extend_from_slice(&inner);
        let frame = ipv4(4, [192, 0, 2, 7], [192, 0, 2, 8], &over_udp(2152, &gtp));
        assert_inner(&decode(LinkType::RawIp, &frame).unwrap(), TunnelType::Gtp);
    }

    #[test]
    fn vxlan_carries_an_ethernet_frame() {
        let inner = inner_v4();
        // RFC 7348 §5: flags 0x08 (I: the VNI is valid), VNI 0x001234, then the inner frame
        // with an 802.1Q tag (VLAN 7).
        let mut vx = vec![0x08, 0, 0, 0, 0x00, 0x12, 0x34, 0];
        vx.extend_from_slice(&[2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00]);
        vx.extend_from_slice(&inner);
        let outer = ipv4(17, [192, 0, 2, 1], [192, 0, 2, 2], &udp(51234, 4789, &vx));
        let p = decode(LinkType::RawIp, &outer).unwrap();
        assert_inner(&p, TunnelType::Vxlan);
        assert_eq!((p.src_mac[5], p.dst_mac[5], p.vlan_id), (0xaa, 0xbb, 7));
        // I flag clear, a reply from port 4789, or ARP inside: the outer packet stays the flow.
        let mut no_vni = vx.clone();
        no_vni[0] = 0;
        let mut arp = vx.clone();
        arp[24..26].copy_from_slice(&[0x08, 0x06]);
        for (sport, dport, body) in [(51234, 4789, &no_vni), (4789, 51234, &vx), (51234, 4789, &arp)] {
            let outer = ipv4(17, [192, 0, 2, 1], [192, 0, 2, 2], &udp(sport, dport, body));
            let p = decode(LinkType::RawIp, &outer).unwrap();
            assert_eq!(p.tunnel, TunnelType::None);
            assert_eq!(p.src_ip.to_string(), "192.0.2.1");
        }
    }

    #[test]
    fn capwap_data_with_an_ethernet_or_80211_frame() {
        let inner = inner_v4();
        // HLEN 2 (8 bytes), WBID 1, T clear: an 802.3 frame follows.
        let mut eth = vec![0, 0x10, 0x02, 0, 0, 0, 0, 0];
        eth.extend_from_slice(&[2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa, 0x08, 0x00]);
        eth.extend_from_slice(&inner);
        let outer = over_udp(5247, &eth);
        let p = decode(LinkType::RawIp, &outer).unwrap();
        assert_inner(&p, TunnelType::Capwap);
        assert_eq!((p.src_mac[5], p.dst_mac[5]), (0xaa, 0xbb), "the station's MACs, not the AP's");
        // T set: a native 802.11 data frame (to DS: addr2 is the sender, addr3 the destination).
        let mut wifi = vec![0, 0x10, 0x03, 0, 0, 0, 0, 0, 0x08, 0x01, 0, 0];
        wifi.extend_from_slice(&[2, 0, 0, 0, 0, 0x01, 2, 0, 0, 0, 0, 0xaa, 2, 0, 0, 0, 0, 0xbb, 0, 0]);
        wifi.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        wifi.extend_from_slice(&inner);
        let outer = over_udp(5247, &wifi);
        let p = decode(LinkType::RawIp, &outer).unwrap();
        assert_inner(&p, TunnelType::Capwap);
        assert_eq!((p.src_mac[5], p.dst_mac[5]), (0xaa, 0xbb));
        // The same with the frame control bytes swapped, as Cisco controllers send it.
        let mut swapped = wifi.clone();
        swapped.swap(8, 9);
        assert_inner(&decode(LinkType::RawIp, &over_udp(5247, &swapped)).unwrap(), TunnelType::Capwap);
        // Protected frames, keep-alives (K) and DTLS records stay CAPWAP packets.
        let mut protected = wifi.clone();
        protected[9] |= 0x40;
        let mut keep_alive = eth.clone();
        keep_alive[3] |= 0x08;
        let mut dtls = eth.clone();
        dtls[0] = 1;
        for frame in [protected, keep_alive, dtls] {
            let outer = over_udp(5247, &frame);
            let p = decode(LinkType::RawIp, &outer).unwrap();
            assert_eq!((p.dst_port, p.tunnel), (5247, TunnelType::None));
        }
    }

    #[test]
    fn ppp_links_and_pppoe_sessions() {
        let ip = inner_v4();
        let with = |prefix: &[u8]| [prefix, &ip[..]].concat();
        // DLT_PPP with address/control, without (ACFC), with a compressed protocol (PFC).
        for frame in [with(&[0xff, 0x03, 0x00, 0x21]), with(&[0x00, 0x21]), with(&[0x21])] {
            assert_inner(&decode(LinkType::from_linktype(9), &frame).unwrap(), TunnelType::None);
        }
        // DLT_PPP_SERIAL holding Cisco HDLC, and LINKTYPE_C_HDLC.
        let hdlc = with(&[0x0f, 0x00, 0x08, 0x00]);
        assert_inner(&decode(LinkType::from_linktype(50), &hdlc).unwrap(), TunnelType::None);
        assert_inner(&decode(LinkType::from_linktype(104), &hdlc).unwrap(), TunnelType::None);
        // LCP is not IP.
        assert_eq!(decode(LinkType::Ppp, &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]).unwrap_err(), DecodeError::NotIp);
        // PPPoE session on Ethernet (behind a VLAN tag), and LINKTYPE_PPP_ETHER.
        let len = (ip.len() + 2) as u16;
        let pppoe = with(&[0x11, 0x00, 0x12, 0x34, (len >> 8) as u8, len as u8, 0x00, 0x21]);
        let mut eth = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0x00, 0x00, 0x07, 0x88, 0x64];
        eth.extend_from_slice(&pppoe);
        let p = decode(LinkType::Ethernet, &eth).unwrap();
        assert_inner(&p, TunnelType::None);
        assert_eq!(p.vlan_id, 7);
        assert_inner(&decode(LinkType::from_linktype(51), &pppoe).unwrap(), TunnelType::None);
    }

    #[test]
    fn stacked_vlan_tags_give_the_innermost_id() {
        let mut f =
            vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x05, 0x08, 0x00];
        f.extend_from_slice(&inner_v4());
        assert_eq!(decode(LinkType::Ethernet, &f).unwrap().vlan_id, 5);
        // A priority tag (id 0) inside does not hide the outer id.
        f[19] = 0;
        assert_eq!(decode(LinkType::Ethernet, &f).unwrap().vlan_id, 100);
    }

    proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), link in 0u32..300) {
            let _ = decode(LinkType::from_linktype(link), &data);
        }

        #[test]
        fn tunnel_payloads_never_panic(body in proptest::collection::vec(any::<u8>(), 0..120), port in prop::sample::select(vec![2152u16, 5247]), proto in prop::sample::select(vec![4u8, 41, 17])) {
            let frame = if proto == 17 { over_udp(port, &body) } else { ipv4(proto, [192, 0, 2, 1], [192, 0, 2, 2], &body) };
            let _ = decode(LinkType::RawIp, &frame);
            let _ = decode(LinkType::Ppp, &body);
            let _ = decode(LinkType::PppOverEthernet, &body);
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
