//! IPv4, IPv6 (with extension headers), TCP and UDP.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::link::L3;
use super::{Bytes, DecodeError, IcmpInfo, Packet, TcpInfo};
use crate::facts::ip_proto;

#[inline]
pub(super) fn decode_ip(l3: L3<'_>) -> Result<Packet<'_>, DecodeError> {
    let bytes = Bytes::new(l3.ip);
    let version = bytes.u8_at(0).ok_or(DecodeError::Malformed("ip"))? >> 4;
    let (src_ip, dst_ip, ip_protocol, l4, ip_len) = match version {
        4 => ipv4(l3.ip)?,
        6 => ipv6(l3.ip)?,
        _ => return Err(DecodeError::Malformed("ip")),
    };
    let mut packet = Packet {
        vlan_id: l3.vlan_id,
        src_mac: l3.src_mac,
        dst_mac: l3.dst_mac,
        src_ip,
        dst_ip,
        ip_protocol,
        src_port: 0,
        dst_port: 0,
        tcp: None,
        icmp: None,
        payload: l4,
        ip_len,
        tunnel: super::TunnelType::None,
        dscp: match version {
            4 => bytes.u8_at(1).unwrap_or(0) >> 2,
            _ => (((bytes.u8_at(0).unwrap_or(0) & 0x0f) << 4) | (bytes.u8_at(1).unwrap_or(0) >> 4)) >> 2,
        },
    };
    let l4b = Bytes::new(l4);
    match ip_protocol {
        ip_proto::TCP => {
            // The fixed 20 bytes must be there; options cut by the snap length are tolerated.
            // (One length check, then fixed offsets: this runs for most packets.)
            let Some((h, _)) = l4.split_first_chunk::<20>() else {
                return Err(DecodeError::Malformed("tcp"));
            };
            let header_len = usize::from(h[12] >> 4) * 4;
            if header_len < 20 {
                return Err(DecodeError::Malformed("tcp"));
            }
            packet.src_port = u16::from_be_bytes([h[0], h[1]]);
            packet.dst_port = u16::from_be_bytes([h[2], h[3]]);
            packet.tcp = Some(TcpInfo { seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]), flags: h[13] });
            // Options cut off by the snap length leave no payload, which is not an error.
            packet.payload = l4.get(header_len..).unwrap_or(&[]);
        }
        ip_proto::UDP => {
            let Some((h, body)) = l4.split_first_chunk::<8>() else {
                return Err(DecodeError::Malformed("udp"));
            };
            packet.src_port = u16::from_be_bytes([h[0], h[1]]);
            packet.dst_port = u16::from_be_bytes([h[2], h[3]]);
            let stated = usize::from(u16::from_be_bytes([h[4], h[5]])).saturating_sub(8);
            packet.payload = &body[..stated.min(body.len())];
        }
        // The ports stay 0 (the flow key is unchanged); the enforcer needs the echo id to find
        // the conntrack entry. A header cut short is not an error: ICMP carries no flow state.
        ip_proto::ICMP | ip_proto::ICMPV6 => {
            if let (Some(icmp_type), Some(code), Some(id)) = (l4b.u8_at(0), l4b.u8_at(1), l4b.u16_at(4)) {
                packet.icmp = Some(IcmpInfo { icmp_type, code, id });
            }
        }
        _ => {}
    }
    Ok(packet)
}

type Ip<'a> = (IpAddr, IpAddr, u8, &'a [u8], u32);

#[inline]
fn ipv4(ip: &[u8]) -> Result<Ip<'_>, DecodeError> {
    let bad = DecodeError::Malformed("ipv4");
    // Every field read lies in the fixed 20 bytes: one length check, then fixed offsets.
    let Some((h, _)) = ip.split_first_chunk::<20>() else {
        return Err(bad);
    };
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let frag = u16::from_be_bytes([h[6], h[7]]);
    let protocol = h[9];
    let src = [h[12], h[13], h[14], h[15]];
    let dst = [h[16], h[17], h[18], h[19]];
    if ihl < 20 || ip.len() < ihl {
        return Err(bad);
    }
    // Offload engines leave total length 0 on captured TSO frames: trust the capture then.
    let end = if total == 0 { ip.len() } else { total.clamp(ihl, ip.len()) };
    if frag & 0x1fff != 0 {
        return Err(DecodeError::Fragment);
    }
    let l4 = &ip[ihl..end];
    Ok((IpAddr::V4(Ipv4Addr::from(src)), IpAddr::V4(Ipv4Addr::from(dst)), protocol, l4, total.max(ip.len()) as u32))
}

fn ipv6(ip: &[u8]) -> Result<Ip<'_>, DecodeError> {
    let b = Bytes::new(ip);
    let bad = DecodeError::Malformed("ipv6");
    let payload_len = usize::from(b.u16_at(4).ok_or(bad)?);
    let mut next = b.u8_at(6).ok_or(bad)?;
    let src: [u8; 16] = b.array_at(8).ok_or(bad)?;
    let dst: [u8; 16] = b.array_at(24).ok_or(bad)?;
    let end = if payload_len == 0 { ip.len() } else { (40 + payload_len).min(ip.len()) };
    let mut at = 40;
    // Walk extension headers; a chain longer than 8 is not something a real stack sends.
    for _ in 0..8 {
        match next {
            // Hop-by-hop, routing, destination options: length in 8-byte units, not counting 8.
            0 | 43 | 60 => {
                let len = (usize::from(b.u8_at(at + 1).ok_or(bad)?) + 1) * 8;
                next = b.u8_at(at).ok_or(bad)?;
                at += len;
            }
            // Fragment header: only the first fragment carries the transport header.
            44 => {
                let offset = b.u16_at(at + 2).ok_or(bad)? >> 3;
                if offset != 0 {
                    return Err(DecodeError::Fragment);
                }
                next = b.u8_at(at).ok_or(bad)?;
                at += 8;
            }
            // Authentication header: length in 4-byte units, not counting 2.
            51 => {
                let len = (usize::from(b.u8_at(at + 1).ok_or(bad)?) + 2) * 4;
                next = b.u8_at(at).ok_or(bad)?;
                at += len;
            }
            _ => break,
        }
    }
    let l4 = ip.get(at..end.max(at)).ok_or(bad)?;
    Ok((
        IpAddr::V6(Ipv6Addr::from(src)),
        IpAddr::V6(Ipv6Addr::from(dst)),
        next,
        l4,
        (40 + payload_len).max(ip.len()) as u32,
    ))
}
