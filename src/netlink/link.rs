//! Interface appearance and removal over rtnetlink: a socket subscribed to the `RTNLGRP_LINK`
//! multicast group hears `RTM_NEWLINK` and `RTM_DELLINK` for every interface of the network
//! namespace. The live capture uses it to notice that an interface it captures on was deleted
//! (VPNs, PPPoE, bridges restarting) so its rings can be opened again on the new one.
//!
//! Wire layout (`linux/rtnetlink.h`): after the `nlmsghdr`, an `ifinfomsg` of 16 bytes
//! (family u8, pad u8, type u16, index i32, flags u32, change u32), then attributes; the name is
//! `IFLA_IFNAME` (3), NUL-terminated.

use std::time::Duration;

use netlink_sys::Socket;

use super::{align4, attrs, NetlinkError, NLMSG_HDRLEN};

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
/// `RTNLGRP_LINK` is group 1; as a membership number it is 1 as well.
const RTNLGRP_LINK: u32 = 1;
const IFINFOMSG_LEN: usize = 16;
const IFLA_IFNAME: u16 = 3;
const IFF_UP: u32 = 1;

/// One interface change heard from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEvent {
    pub name: String,
    pub ifindex: u32,
    /// `RTM_DELLINK`: the interface is gone.
    pub deleted: bool,
    /// `IFF_UP` in the interface flags (administratively up).
    pub up: bool,
}

/// A socket listening to interface changes.
pub struct LinkMonitor {
    sock: Socket,
    buf: Vec<u8>,
}

impl LinkMonitor {
    /// Subscribe to `RTNLGRP_LINK`; receives give up after `timeout` so the caller can check a
    /// stop flag.
    pub fn open(timeout: Duration) -> Result<LinkMonitor, NetlinkError> {
        let mut sock = Socket::new(netlink_sys::protocols::NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.add_membership(RTNLGRP_LINK)?;
        super::set_recv_timeout(std::os::fd::AsRawFd::as_raw_fd(&sock), timeout)?;
        Ok(LinkMonitor { sock, buf: Vec::with_capacity(32 * 1024) })
    }

    /// Waits for the next datagram and appends the link events it carries to `out`. A timeout
    /// returns `Ok` with nothing added.
    pub fn recv(&mut self, out: &mut Vec<LinkEvent>) -> Result<(), NetlinkError> {
        match super::recv_datagram(&self.sock, &mut self.buf, 32 * 1024, || "link events".into()) {
            Ok(()) => {}
            Err(NetlinkError::NoReply { .. }) => return Ok(()),
            // ENOBUFS (events lost because we were slow) too: the caller re-checks its interfaces.
            Err(e) => return Err(e),
        }
        parse_link_messages(&self.buf, out);
        Ok(())
    }
}

/// Link events in a datagram of netlink messages; malformed messages are skipped, never a panic.
pub fn parse_link_messages(mut data: &[u8], out: &mut Vec<LinkEvent>) {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let ty = u16::from_ne_bytes([data[4], data[5]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            return;
        }
        let body = &data[NLMSG_HDRLEN..len];
        data = &data[align4(len).min(data.len())..];
        if (ty != RTM_NEWLINK && ty != RTM_DELLINK) || body.len() < IFINFOMSG_LEN {
            continue;
        }
        let ifindex = i32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
        let flags = u32::from_ne_bytes([body[8], body[9], body[10], body[11]]);
        let name = attrs(&body[IFINFOMSG_LEN..]).find(|(t, _)| *t == IFLA_IFNAME).map(|(_, v)| {
            let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
            String::from_utf8_lossy(&v[..end]).into_owned()
        });
        let (Some(name), Ok(ifindex)) = (name, u32::try_from(ifindex)) else { continue };
        out.push(LinkEvent { name, ifindex, deleted: ty == RTM_DELLINK, up: flags & IFF_UP != 0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link_msg(ty: u16, index: i32, flags: u32, name: &str) -> Vec<u8> {
        let mut name_attr = Vec::new();
        let payload_len = name.len() + 1;
        name_attr.extend_from_slice(&((4 + payload_len) as u16).to_ne_bytes());
        name_attr.extend_from_slice(&IFLA_IFNAME.to_ne_bytes());
        name_attr.extend_from_slice(name.as_bytes());
        name_attr.push(0);
        while name_attr.len() % 4 != 0 {
            name_attr.push(0);
        }
        let mut body = vec![0u8; IFINFOMSG_LEN];
        body[4..8].copy_from_slice(&index.to_ne_bytes());
        body[8..12].copy_from_slice(&flags.to_ne_bytes());
        body.extend_from_slice(&name_attr);
        let mut msg = Vec::new();
        msg.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&ty.to_ne_bytes());
        msg.extend_from_slice(&[0u8; 10]);
        msg.extend_from_slice(&body);
        msg
    }

    #[test]
    fn new_and_deleted_links_are_parsed() {
        let mut data = link_msg(RTM_NEWLINK, 7, IFF_UP, "wg0");
        data.extend(link_msg(RTM_DELLINK, 7, 0, "wg0"));
        let mut out = Vec::new();
        parse_link_messages(&data, &mut out);
        assert_eq!(
            out,
            vec![
                LinkEvent { name: "wg0".into(), ifindex: 7, deleted: false, up: true },
                LinkEvent { name: "wg0".into(), ifindex: 7, deleted: true, up: false },
            ]
        );
    }

    #[test]
    fn truncated_and_foreign_messages_are_skipped_without_panic() {
        let full = link_msg(RTM_NEWLINK, 3, 0, "eth1");
        for cut in 0..full.len() {
            let mut out = Vec::new();
            parse_link_messages(&full[..cut], &mut out);
            assert!(out.is_empty(), "cut at {cut}");
        }
        let mut other = link_msg(RTM_NEWLINK, 3, 0, "eth1");
        other[4..6].copy_from_slice(&20u16.to_ne_bytes()); // RTM_NEWADDR
        let mut out = Vec::new();
        parse_link_messages(&other, &mut out);
        assert!(out.is_empty());
    }
}
