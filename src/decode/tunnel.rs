//! Tunnels opened before flow tracking: GTP-U, IP-in-IP (4in4, 6in4, 4in6, 6in6), CAPWAP data
//! and VXLAN.
//!
//! The flow is the inner packet: its addresses, ports and payload key the flow and feed the
//! dissectors, as nDPI and Netify report it. The outer addresses are not kept (two tunnels
//! carrying the same inner 5-tuple on one VLAN are one flow). When the inner packet is not IP
//! (GTP-U signalling, CAPWAP keep-alives, encrypted or management 802.11 frames) the outer packet
//! stays the flow. Nesting is bounded by [`MAX_DEPTH`].

use super::link::{self, L3};
use super::{Bytes, Packet};
use crate::facts::ip_proto::{IPIP, IPV6, UDP};
use crate::facts::TunnelType;

/// Tunnels opened inside one another at most; deeper ones stay as they are.
pub const MAX_DEPTH: usize = 4;

const GTP_U_PORT: u16 = 2152;
const CAPWAP_DATA_PORT: u16 = 5247;
/// IANA's VXLAN port (RFC 7348 §5).
const VXLAN_PORT: u16 = 4789;

/// Whether `packet` may carry a tunnel [`inner`] opens (IP-in-IP, or UDP on a tunnel port):
/// most packets do not, and skip the tunnel walk on this test alone.
#[inline]
pub(super) fn may_carry(packet: &Packet<'_>) -> bool {
    match packet.ip_protocol {
        IPIP | IPV6 => true,
        UDP => {
            let port = |p| packet.src_port == p || packet.dst_port == p;
            port(GTP_U_PORT) || port(CAPWAP_DATA_PORT) || packet.dst_port == VXLAN_PORT
        }
        _ => false,
    }
}

/// The tunnel `packet` carries and the inner packet's layer 3, when it is one we open.
#[inline]
pub(super) fn inner<'a>(packet: &Packet<'a>) -> Option<(TunnelType, L3<'a>)> {
    // Most packets are none of these: leave before building anything.
    if !matches!(packet.ip_protocol, IPIP | IPV6 | UDP) {
        return None;
    }
    let outer = L3 { vlan_id: packet.vlan_id, src_mac: packet.src_mac, dst_mac: packet.dst_mac, ip: packet.payload };
    match packet.ip_protocol {
        IPIP if ip_version(packet.payload) == Some(4) => Some((TunnelType::None, outer)),
        IPV6 if ip_version(packet.payload) == Some(6) => Some((TunnelType::None, outer)),
        UDP if packet.src_port == GTP_U_PORT || packet.dst_port == GTP_U_PORT => {
            let ip = gtp_u(packet.payload)?;
            Some((TunnelType::Gtp, L3 { ip, ..outer }))
        }
        UDP if packet.src_port == CAPWAP_DATA_PORT || packet.dst_port == CAPWAP_DATA_PORT => {
            let mut l3 = capwap_data(packet.payload)?;
            if l3.vlan_id == 0 {
                l3.vlan_id = packet.vlan_id;
            }
            Some((TunnelType::Capwap, l3))
        }
        // RFC 7348 §5: the destination port is 4789; the source port is a hash of the inner flow.
        UDP if packet.dst_port == VXLAN_PORT => {
            let mut l3 = vxlan(packet.payload)?;
            if l3.vlan_id == 0 {
                l3.vlan_id = packet.vlan_id;
            }
            Some((TunnelType::Vxlan, l3))
        }
        _ => None,
    }
}

/// The inner Ethernet frame of a VXLAN packet (RFC 7348 §5), down to IP: an 8-byte header whose
/// flags byte has the I bit (0x08, a valid VNI) set, then the frame. A frame that does not carry
/// IP (ARP) gives `None`.
fn vxlan(payload: &[u8]) -> Option<L3<'_>> {
    let flags = *payload.first()?;
    if flags & 0x08 == 0 {
        return None;
    }
    link::ethernet(payload.get(8..)?).ok()
}

fn ip_version(ip: &[u8]) -> Option<u8> {
    ip.first().map(|b| b >> 4)
}

/// The inner IP packet of a GTPv1-U G-PDU (3GPP TS 29.281 §5): version 1, protocol type GTP
/// (not GTP', which shares the version bits), message type 0xff; then the optional sequence
/// number, N-PDU number and the chain of extension headers.
fn gtp_u(payload: &[u8]) -> Option<&[u8]> {
    let b = Bytes::new(payload);
    let flags = b.u8_at(0)?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || b.u8_at(1)? != 0xff {
        return None;
    }
    let end = (8 + usize::from(b.u16_at(2)?)).min(payload.len());
    let mut at = 8;
    // Any of E, S, PN: the sequence number, N-PDU number and next-extension fields are there.
    if flags & 0x07 != 0 {
        at = 12;
        let mut next = if flags & 0x04 != 0 { b.u8_at(11)? } else { 0 };
        // Each extension: length in 4-byte units (never 0), content, next type as its last byte.
        let mut hops = 0;
        while next != 0 {
            hops += 1;
            let units = usize::from(b.u8_at(at)?);
            if units == 0 || hops > 8 {
                return None;
            }
            at += units * 4;
            next = b.u8_at(at - 1)?;
        }
    }
    let inner = payload.get(at..end)?;
    matches!(ip_version(inner), Some(4 | 6)).then_some(inner)
}

/// The inner frame of a CAPWAP data packet (RFC 5415 §4.3, RFC 5416 for 802.11), down to IP:
/// an 802.3 frame, or an 802.11 data frame with LLC/SNAP. Keep-alives, DTLS-protected packets,
/// fragments after the first and anything else give `None`.
fn capwap_data(payload: &[u8]) -> Option<L3<'_>> {
    let b = Bytes::new(payload);
    let word = b.u32_at(0)?;
    // Preamble: version 0, type 0 (type 1 is a DTLS record).
    if word >> 24 != 0 {
        return None;
    }
    let header_len = ((word >> 19) & 0x1f) as usize * 4;
    let wbid = (word >> 9) & 0x1f;
    let native = word & (1 << 8) != 0;
    let fragment = word & (1 << 7) != 0;
    let keep_alive = word & (1 << 3) != 0;
    if header_len < 8 || keep_alive {
        return None;
    }
    if fragment && b.u16_at(6)? >> 3 != 0 {
        return None;
    }
    let frame = payload.get(header_len..)?;
    match (native, wbid) {
        (false, _) => link::ethernet(frame).ok(),
        (true, 1) => ieee80211_data(frame),
        _ => None,
    }
}

/// An unprotected 802.11 data frame carrying LLC/SNAP-encapsulated IP. Cisco controllers send
/// the frame-control field byte-swapped; both orders are read.
fn ieee80211_data(frame: &[u8]) -> Option<L3<'_>> {
    let b = Bytes::new(frame);
    let (fc0, fc1) = (b.u8_at(0)?, b.u8_at(1)?);
    // Protocol version 0, type data (2): the low nibble of the type/subtype byte is 0b1000.
    let (subtype, flags) = if fc0 & 0x0f == 0x08 {
        (fc0, fc1)
    } else if fc1 & 0x0f == 0x08 {
        (fc1, fc0)
    } else {
        return None;
    };
    // Protected frames cannot be read.
    if flags & 0x40 != 0 {
        return None;
    }
    let (to_ds, from_ds) = (flags & 0x01 != 0, flags & 0x02 != 0);
    let addr = |n: usize| b.array_at::<6>(4 + 6 * n);
    let (dst_mac, src_mac) = match (to_ds, from_ds) {
        (false, false) => (addr(0)?, addr(1)?),
        (true, false) => (addr(2)?, addr(1)?),
        (false, true) => (addr(0)?, addr(2)?),
        (true, true) => (addr(2)?, b.array_at::<6>(24)?),
    };
    let mut at = if to_ds && from_ds { 30 } else { 24 };
    // QoS data subtypes carry a QoS control field, and with the order bit an HT control field.
    if subtype & 0x80 != 0 {
        at += 2;
        if flags & 0x80 != 0 {
            at += 4;
        }
    }
    // LLC/SNAP: AA AA 03, OUI 00 00 00, ethertype.
    if b.array_at::<6>(at)? != [0xaa, 0xaa, 0x03, 0, 0, 0] {
        return None;
    }
    let ethertype = b.u16_at(at + 6)?;
    let (vlan_id, ip) = link::after_ethertype(frame, ethertype, at + 8).ok()?;
    Some(L3 { vlan_id, src_mac, dst_mac, ip })
}
