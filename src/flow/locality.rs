//! Which side of a flow is "local" and what the other side is (Netify's `other_type`).
//!
//! Follows netifyd's address classes (docs/FLOW-ACTIONS.md §4): addresses of the capture
//! interfaces and `-A` networks are LOCAL; private and link-local ranges are RESERVED;
//! multicast and broadcast are their own classes; everything else is OTHER. The local side is
//! the more local address; when both are alike, the side that opened the flow.

use std::net::IpAddr;

use crate::facts::net::IpNet;
use crate::facts::OtherType;

/// How local one address is, most local last so classes compare by rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddrClass {
    Multicast,
    Broadcast,
    Other,
    Reserved,
    Local,
}

const RESERVED: &[&str] = &[
    "127.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
];

/// The networks that count as ours, fixed at start-up.
#[derive(Debug, Clone)]
pub struct Locality {
    local: Vec<IpNet>,
    broadcast: Vec<IpAddr>,
    reserved: Vec<IpNet>,
}

impl Locality {
    /// `local`: interface networks and `-A` networks; `broadcast`: interface broadcast addresses.
    pub fn new(local: Vec<IpNet>, broadcast: Vec<IpAddr>) -> Locality {
        let reserved = RESERVED.iter().filter_map(|s| s.parse().ok()).collect();
        Locality { local, broadcast, reserved }
    }

    pub fn local_networks(&self) -> &[IpNet] {
        &self.local
    }

    pub fn broadcast_addresses(&self) -> &[IpAddr] {
        &self.broadcast
    }

    pub fn class(&self, ip: IpAddr) -> AddrClass {
        let multicast = match ip {
            IpAddr::V4(a) => a.is_multicast(),
            IpAddr::V6(a) => a.is_multicast(),
        };
        if multicast {
            return AddrClass::Multicast;
        }
        let broadcast = match ip {
            IpAddr::V4(a) => a.is_broadcast() || a.octets() == [169, 254, 255, 255],
            IpAddr::V6(_) => false,
        };
        if broadcast || self.broadcast.contains(&ip) {
            return AddrClass::Broadcast;
        }
        if self.local.iter().any(|n| n.contains(ip)) {
            return AddrClass::Local;
        }
        if self.reserved.iter().any(|n| n.contains(ip)) {
            return AddrClass::Reserved;
        }
        AddrClass::Other
    }

    /// Decide the local side. Returns (`origin_is_local`, other side's type).
    pub fn sides(&self, origin: IpAddr, responder: IpAddr) -> (bool, OtherType) {
        let a = self.class(origin);
        let b = self.class(responder);
        // The origin is local unless the responder is strictly more local.
        let origin_is_local = a >= b;
        let (local, other) = if origin_is_local { (a, b) } else { (b, a) };
        let other_type = match other {
            AddrClass::Multicast => OtherType::Multicast,
            AddrClass::Broadcast => OtherType::Broadcast,
            AddrClass::Other => OtherType::Remote,
            // netifyd maps RESERVED seen from a LOCAL address to "remote" (another private net).
            AddrClass::Reserved if local == AddrClass::Local => OtherType::Remote,
            AddrClass::Reserved | AddrClass::Local => OtherType::Local,
        };
        (origin_is_local, other_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn lan_client_to_internet_and_private_server() {
        let loc = Locality::new(vec!["192.168.1.0/24".parse().unwrap()], vec![]);
        assert_eq!(loc.sides(ip("192.168.1.10"), ip("93.184.216.34")), (true, OtherType::Remote));
        assert_eq!(loc.sides(ip("192.168.1.10"), ip("10.99.0.2")), (true, OtherType::Remote));
        // A server on the internet opening a connection to us: we are still the local side.
        assert_eq!(loc.sides(ip("93.184.216.34"), ip("192.168.1.10")), (false, OtherType::Remote));
        assert_eq!(loc.sides(ip("192.168.1.10"), ip("192.168.1.20")), (true, OtherType::Local));
        assert_eq!(loc.sides(ip("192.168.1.10"), ip("224.0.0.251")), (true, OtherType::Multicast));
        assert_eq!(loc.sides(ip("192.168.1.10"), ip("255.255.255.255")), (true, OtherType::Broadcast));
    }

    #[test]
    fn without_interfaces_private_ranges_are_local() {
        let loc = Locality::new(vec![], vec![]);
        assert_eq!(loc.sides(ip("8.8.8.8"), ip("10.0.0.2")), (false, OtherType::Remote));
        assert_eq!(loc.sides(ip("10.0.0.1"), ip("10.0.0.2")), (true, OtherType::Local));
        assert_eq!(loc.sides(ip("fe80::1"), ip("2001:db8::1")), (true, OtherType::Remote));
    }
}
