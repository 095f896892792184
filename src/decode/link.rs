//! Link-layer headers: Ethernet (with VLAN tags), Linux cooked v1/v2, raw IP, BSD loopback.

use super::{Bytes, DecodeError};

/// The link types we read, by their pcap `LINKTYPE_*` number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// LINKTYPE_NULL (0) and LINKTYPE_LOOP (108): 4-byte address family.
    Null,
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_RAW (101), LINKTYPE_IPV4 (228), LINKTYPE_IPV6 (229), and DLT_RAW 12/14.
    RawIp,
    /// LINKTYPE_LINUX_SLL (113).
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276).
    LinuxSll2,
    /// Anything else, kept so the error can name it.
    Other(u32),
}

impl LinkType {
    pub fn from_linktype(value: u32) -> LinkType {
        match value {
            0 | 108 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 | 228 | 229 => LinkType::RawIp,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// What the link layer tells the IP decoder.
#[derive(Debug, Clone, Copy)]
pub(super) struct L3<'a> {
    pub vlan_id: u16,
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub ip: &'a [u8],
}

pub(super) fn strip(link: LinkType, frame: &[u8]) -> Result<L3<'_>, DecodeError> {
    let bytes = Bytes::new(frame);
    let no_mac = [0u8; 6];
    match link {
        LinkType::Ethernet => {
            let dst_mac: [u8; 6] = bytes.array_at(0).ok_or(DecodeError::Malformed("ethernet"))?;
            let src_mac: [u8; 6] = bytes.array_at(6).ok_or(DecodeError::Malformed("ethernet"))?;
            let ethertype = bytes.u16_at(12).ok_or(DecodeError::Malformed("ethernet"))?;
            let (vlan_id, ip) = after_ethertype(frame, ethertype, 14)?;
            Ok(L3 { vlan_id, src_mac, dst_mac, ip })
        }
        LinkType::LinuxSll => {
            // 16-byte header: packet type, ARPHRD, address length, 8 address bytes, protocol.
            let protocol = bytes.u16_at(14).ok_or(DecodeError::Malformed("linux cooked"))?;
            let src_mac = bytes.array_at(6).unwrap_or(no_mac);
            let (vlan_id, ip) = after_ethertype(frame, protocol, 16)?;
            Ok(L3 { vlan_id, src_mac, dst_mac: no_mac, ip })
        }
        LinkType::LinuxSll2 => {
            // 20-byte header: protocol first, then ifindex, ARPHRD, type, address length, address.
            let protocol = bytes.u16_at(0).ok_or(DecodeError::Malformed("linux cooked v2"))?;
            let src_mac = bytes.array_at(12).unwrap_or(no_mac);
            let (vlan_id, ip) = after_ethertype(frame, protocol, 20)?;
            Ok(L3 { vlan_id, src_mac, dst_mac: no_mac, ip })
        }
        LinkType::RawIp => Ok(L3 { vlan_id: 0, src_mac: no_mac, dst_mac: no_mac, ip: frame }),
        LinkType::Null => {
            let ip = frame.get(4..).ok_or(DecodeError::Malformed("loopback"))?;
            Ok(L3 { vlan_id: 0, src_mac: no_mac, dst_mac: no_mac, ip })
        }
        LinkType::Other(value) => Err(DecodeError::UnsupportedLink(value)),
    }
}

/// Walk VLAN tags (keeping the outer id) until an IP ethertype.
fn after_ethertype(frame: &[u8], mut ethertype: u16, mut at: usize) -> Result<(u16, &[u8]), DecodeError> {
    let bytes = Bytes::new(frame);
    let mut vlan_id = 0;
    // A frame can stack tags; four is more than any real network uses.
    for _ in 0..4 {
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => {
                let ip = frame.get(at..).ok_or(DecodeError::Malformed("ethernet"))?;
                return Ok((vlan_id, ip));
            }
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let tci = bytes.u16_at(at).ok_or(DecodeError::Malformed("vlan"))?;
                if vlan_id == 0 {
                    vlan_id = tci & 0x0fff;
                }
                ethertype = bytes.u16_at(at + 2).ok_or(DecodeError::Malformed("vlan"))?;
                at += 4;
            }
            _ => return Err(DecodeError::NotIp),
        }
    }
    Err(DecodeError::Malformed("vlan"))
}
