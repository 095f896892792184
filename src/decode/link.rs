//! Link-layer headers: Ethernet (with VLAN tags and PPPoE sessions), Linux cooked v1/v2, raw IP,
//! BSD loopback, PPP (plain, HDLC-framed, PPPoE without Ethernet, Cisco HDLC).

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
    /// LINKTYPE_PPP (9) and LINKTYPE_PPP_HDLC (50, DLT_PPP_SERIAL): a PPP frame, with or without
    /// the `ff 03` address/control bytes; DLT_PPP_SERIAL may also carry Cisco HDLC frames.
    Ppp,
    /// LINKTYPE_PPP_ETHER (51): a PPPoE header without the Ethernet header.
    PppOverEthernet,
    /// LINKTYPE_C_HDLC (104): Cisco HDLC.
    CiscoHdlc,
    /// Anything else, kept so the error can name it.
    Other(u32),
}

impl LinkType {
    pub fn from_linktype(value: u32) -> LinkType {
        match value {
            0 | 108 => LinkType::Null,
            1 => LinkType::Ethernet,
            9 | 50 => LinkType::Ppp,
            51 => LinkType::PppOverEthernet,
            104 => LinkType::CiscoHdlc,
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
/// PPPoE session stage (discovery, 0x8863, carries no IP).
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;

const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;

/// What the link layer tells the IP decoder.
#[derive(Debug, Clone, Copy)]
pub(super) struct L3<'a> {
    pub vlan_id: u16,
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub ip: &'a [u8],
}

#[inline]
pub(super) fn strip(link: LinkType, frame: &[u8]) -> Result<L3<'_>, DecodeError> {
    let bytes = Bytes::new(frame);
    let no_mac = [0u8; 6];
    match link {
        LinkType::Ethernet => ethernet(frame),
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
        LinkType::Ppp => {
            // DLT_PPP_SERIAL captures from Cisco routers hold Cisco HDLC frames instead.
            let ip = match (bytes.u8_at(0), bytes.u8_at(1)) {
                (Some(0x0f | 0x8f), Some(0x00)) => cisco_hdlc(frame)?,
                _ => ppp(frame)?,
            };
            Ok(L3 { vlan_id: 0, src_mac: no_mac, dst_mac: no_mac, ip })
        }
        LinkType::PppOverEthernet => {
            let ip = pppoe_session(frame)?;
            Ok(L3 { vlan_id: 0, src_mac: no_mac, dst_mac: no_mac, ip })
        }
        LinkType::CiscoHdlc => {
            let ip = cisco_hdlc(frame)?;
            Ok(L3 { vlan_id: 0, src_mac: no_mac, dst_mac: no_mac, ip })
        }
        LinkType::Other(value) => Err(DecodeError::UnsupportedLink(value)),
    }
}

/// An Ethernet II frame (also the inner frame of a CAPWAP tunnel).
#[inline]
pub(super) fn ethernet(frame: &[u8]) -> Result<L3<'_>, DecodeError> {
    let Some((h, rest)) = frame.split_first_chunk::<14>() else {
        return Err(DecodeError::Malformed("ethernet"));
    };
    let dst_mac = [h[0], h[1], h[2], h[3], h[4], h[5]];
    let src_mac = [h[6], h[7], h[8], h[9], h[10], h[11]];
    let ethertype = u16::from_be_bytes([h[12], h[13]]);
    // Untagged IP, by far the most frames: no walk over tags.
    if let ETHERTYPE_IPV4 | ETHERTYPE_IPV6 = ethertype {
        return Ok(L3 { vlan_id: 0, src_mac, dst_mac, ip: rest });
    }
    let (vlan_id, ip) = after_ethertype(frame, ethertype, 14)?;
    Ok(L3 { vlan_id, src_mac, dst_mac, ip })
}

/// Walk VLAN tags and a PPPoE session header until IP. With stacked tags (QinQ) the innermost
/// non-zero id is the flow's VLAN, as nDPI and Netify take it; AF_PACKET hands the outer tag
/// separately, so a live capture agrees.
pub(super) fn after_ethertype(frame: &[u8], mut ethertype: u16, mut at: usize) -> Result<(u16, &[u8]), DecodeError> {
    let bytes = Bytes::new(frame);
    let mut vlan_id = 0;
    // A frame can stack tags; four is more than any real network uses.
    for _ in 0..5 {
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => {
                let ip = frame.get(at..).ok_or(DecodeError::Malformed("ethernet"))?;
                return Ok((vlan_id, ip));
            }
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let tci = bytes.u16_at(at).ok_or(DecodeError::Malformed("vlan"))?;
                if tci & 0x0fff != 0 {
                    vlan_id = tci & 0x0fff;
                }
                ethertype = bytes.u16_at(at + 2).ok_or(DecodeError::Malformed("vlan"))?;
                at += 4;
            }
            ETHERTYPE_PPPOE_SESSION => {
                let rest = frame.get(at..).ok_or(DecodeError::Malformed("pppoe"))?;
                return Ok((vlan_id, pppoe_session(rest)?));
            }
            _ => return Err(DecodeError::NotIp),
        }
    }
    Err(DecodeError::Malformed("vlan"))
}

/// A PPPoE session header (version/type 0x11, code 0, session id, length), then PPP.
fn pppoe_session(frame: &[u8]) -> Result<&[u8], DecodeError> {
    let bytes = Bytes::new(frame);
    let bad = DecodeError::Malformed("pppoe");
    if bytes.u8_at(0).ok_or(bad)? != 0x11 || bytes.u8_at(1).ok_or(bad)? != 0 {
        return Err(bad);
    }
    let len = usize::from(bytes.u16_at(4).ok_or(bad)?);
    let body = frame.get(6..).ok_or(bad)?;
    ppp(&body[..len.min(body.len())])
}

/// A PPP frame: optional `ff 03` address/control, a protocol of one byte (compressed, odd) or two.
fn ppp(frame: &[u8]) -> Result<&[u8], DecodeError> {
    let bytes = Bytes::new(frame);
    let bad = DecodeError::Malformed("ppp");
    let mut at = 0;
    if (bytes.u8_at(0), bytes.u8_at(1)) == (Some(0xff), Some(0x03)) {
        at = 2;
    }
    let first = bytes.u8_at(at).ok_or(bad)?;
    let (protocol, len) = if first & 1 == 1 { (u16::from(first), 1) } else { (bytes.u16_at(at).ok_or(bad)?, 2) };
    match protocol {
        PPP_IPV4 | PPP_IPV6 => frame.get(at + len..).ok_or(bad),
        // LCP, IPCP, authentication…: not IP.
        _ => Err(DecodeError::NotIp),
    }
}

/// Cisco HDLC: address (0x0f unicast, 0x8f broadcast), control 0, then an ethertype.
fn cisco_hdlc(frame: &[u8]) -> Result<&[u8], DecodeError> {
    let bytes = Bytes::new(frame);
    let ethertype = bytes.u16_at(2).ok_or(DecodeError::Malformed("cisco hdlc"))?;
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => frame.get(4..).ok_or(DecodeError::Malformed("cisco hdlc")),
        _ => Err(DecodeError::NotIp),
    }
}
