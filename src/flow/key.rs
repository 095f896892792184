//! The bidirectional flow key: both directions of a conversation map to one key.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use crate::decode::Packet;
use crate::facts::Direction;

/// 5-tuple plus VLAN, with the endpoints in a canonical order (lower address/port first) so
/// that a packet and its reply give the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    #[inline]
    pub fn of(packet: &Packet<'_>) -> (FlowKey, bool) {
        Self::of_endpoints(
            (packet.src_ip, packet.src_port),
            (packet.dst_ip, packet.dst_port),
            packet.ip_protocol,
            packet.vlan_id,
        )
    }

    /// The key of a packet from `src` to `dst`, and whether it travels lower to upper.
    #[inline]
    pub fn of_endpoints(src: (IpAddr, u16), dst: (IpAddr, u16), ip_protocol: u8, vlan_id: u16) -> (FlowKey, bool) {
        // The same order as `src <= dst` on the tuples, on integers (the derived order walks
        // the address bytes one by one; this runs for every packet).
        let lower_to_upper = match (src.0, dst.0) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a), src.1) <= (u32::from(b), dst.1),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), src.1) <= (u128::from(b), dst.1),
            _ => src <= dst,
        };
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

impl FlowKey {
    /// [`FlowKey::of`] and the key's hash under `state` (as [`FlowKey::hash_with`] gives it).
    /// An IPv4 packet's key is hashed from the addresses as integers, before the key is laid
    /// out in memory: hashing the built key read its addresses back at odd offsets of the
    /// `IpAddr` just stored as wide words (a store-to-load forwarding stall, once per packet).
    #[inline(always)]
    pub fn of_hashed(packet: &Packet<'_>, state: &impl std::hash::BuildHasher) -> (FlowKey, bool, u64) {
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (packet.src_ip, packet.dst_ip) else {
            let (key, lower_to_upper) = Self::of(packet);
            return (key, lower_to_upper, key.hash_with(state));
        };
        let (src, dst) = ((u32::from(src), packet.src_port), (u32::from(dst), packet.dst_port));
        let lower_to_upper = src <= dst;
        let (lower, upper) = if lower_to_upper { (src, dst) } else { (dst, src) };
        let meta = meta(lower.1, upper.1, packet.vlan_id, packet.ip_protocol);
        let mut hasher = state.build_hasher();
        hasher.write_u128(v4_word(lower.0, upper.0, meta));
        let key = FlowKey {
            lower_ip: IpAddr::V4(lower.0.into()),
            upper_ip: IpAddr::V4(upper.0.into()),
            lower_port: lower.1,
            upper_port: upper.1,
            ip_protocol: packet.ip_protocol,
            vlan_id: packet.vlan_id,
        };
        (key, lower_to_upper, hasher.finish())
    }

    /// The key's hash under `state`, as `state.hash_one(self)` gives it, built in the caller:
    /// `hash_one` stayed an out-of-line call taking a copy of the key, once per packet.
    // Deliberately not `hash_one`: the point is that this body is inlined.
    #[allow(clippy::manual_hash_one)]
    #[inline(always)]
    pub fn hash_with(&self, state: &impl std::hash::BuildHasher) -> u64 {
        let mut hasher = state.build_hasher();
        self.hash(&mut hasher);
        hasher.finish()
    }
}

/// Hashed once per packet: an IPv4 key is one 128-bit word (one multiply in foldhash), an
/// IPv6 key three, instead of the derived impl's dozen writes (enum tags, slice lengths, bytes).
impl Hash for FlowKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let meta = meta(self.lower_port, self.upper_port, self.vlan_id, self.ip_protocol);
        match (self.lower_ip, self.upper_ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => state.write_u128(v4_word(u32::from(a), u32::from(b), meta)),
            (a, b) => {
                state.write_u128(ip_bits(a));
                state.write_u128(ip_bits(b));
                state.write_u128(u128::from(meta | (u64::from(a.is_ipv6()) << 1) | u64::from(b.is_ipv6())));
            }
        }
    }
}

/// The ports, VLAN and protocol of a key as hashed.
#[inline(always)]
fn meta(lower_port: u16, upper_port: u16, vlan_id: u16, ip_protocol: u8) -> u64 {
    (u64::from(lower_port) << 48)
        | (u64::from(upper_port) << 32)
        | (u64::from(vlan_id) << 16)
        | (u64::from(ip_protocol) << 8)
}

/// The one word an IPv4 key hashes as.
#[inline(always)]
fn v4_word(lower: u32, upper: u32, meta: u64) -> u128 {
    let ips = (u64::from(lower) << 32) | u64::from(upper);
    (u128::from(ips) << 64) | u128::from(meta | 4)
}

fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::hash::BuildHasher;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn addr(v6: bool, bits: u128) -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(bits))
        } else {
            IpAddr::V4(Ipv4Addr::from(bits as u32))
        }
    }

    proptest! {
        /// The integer order is the tuples' own, and both directions give one key and hash.
        #[test]
        fn order_and_hash_follow_the_endpoints(
            v6 in any::<(bool, bool)>(), a in any::<u128>(), b in prop_oneof![any::<u128>(), Just(0u128)],
            ports in any::<(u16, u16)>(), proto in any::<u8>(), vlan in any::<u16>(),
        ) {
            let src = (addr(v6.0, a), ports.0);
            let dst = (addr(v6.1, if b == 0 { a } else { b }), ports.1);
            let (key, lower_to_upper) = FlowKey::of_endpoints(src, dst, proto, vlan);
            prop_assert_eq!(lower_to_upper, src <= dst);
            let (reverse, back) = FlowKey::of_endpoints(dst, src, proto, vlan);
            prop_assert_eq!(key, reverse);
            prop_assert_eq!(back, dst <= src);
            let hasher = foldhash::fast::FixedState::with_seed(7);
            prop_assert_eq!(hasher.hash_one(key), hasher.hash_one(reverse));
            prop_assert_eq!(key.hash_with(&hasher), hasher.hash_one(key));
            // The per-packet path: the same key, direction and hash, IPv4 fast path or not.
            let packet = crate::decode::Packet {
                vlan_id: vlan,
                src_mac: [0; 6],
                dst_mac: [0; 6],
                src_ip: src.0,
                dst_ip: dst.0,
                ip_protocol: proto,
                src_port: src.1,
                dst_port: dst.1,
                tcp: None,
                icmp: None,
                payload: &[],
                ip_len: 40,
                tunnel: crate::facts::TunnelType::None,
                dscp: 0,
            };
            prop_assert_eq!(FlowKey::of_hashed(&packet, &hasher), (key, lower_to_upper, hasher.hash_one(key)));
        }
    }
}
