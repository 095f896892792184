//! The bidirectional flow key: both directions of a conversation map to one key.

use std::net::IpAddr;

use crate::decode::Packet;
use crate::dissect::Direction;

/// 5-tuple plus VLAN, with the endpoints in a canonical order (lower address/port first) so
/// that a packet and its reply give the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub lower_ip: IpAddr,
    pub upper_ip: IpAddr,
    pub lower_port: u16,
    pub upper_port: u16,
    pub ip_protocol: u8,
    pub vlan_id: u16,
}

impl FlowKey {
    /// The key of a packet, and whether the packet travels from the lower to the upper endpoint.
    pub fn of(packet: &Packet<'_>) -> (FlowKey, bool) {
        Self::of_endpoints(
            (packet.src_ip, packet.src_port),
            (packet.dst_ip, packet.dst_port),
            packet.ip_protocol,
            packet.vlan_id,
        )
    }

    /// The key of a packet from `src` to `dst`, and whether it travels lower to upper.
    pub fn of_endpoints(src: (IpAddr, u16), dst: (IpAddr, u16), ip_protocol: u8, vlan_id: u16) -> (FlowKey, bool) {
        let lower_to_upper = src <= dst;
        let (lower, upper) = if lower_to_upper { (src, dst) } else { (dst, src) };
        let key = FlowKey {
            lower_ip: lower.0,
            upper_ip: upper.0,
            lower_port: lower.1,
            upper_port: upper.1,
            ip_protocol,
            vlan_id,
        };
        (key, lower_to_upper)
    }
}

/// Direction of a packet relative to the flow's first packet.
pub(crate) fn direction(first_lower_to_upper: bool, lower_to_upper: bool) -> Direction {
    if first_lower_to_upper == lower_to_upper {
        Direction::Forward
    } else {
        Direction::Reverse
    }
}
