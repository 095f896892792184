//! Who opened a flow (Netify's `origin`), decided from the flow's first packet seen.
//!
//! In order:
//! 1. TCP: the sender of a SYN without ACK opened it; the receiver of a SYN+ACK did.
//! 2. A packet that is plainly an answer: an ICMP query reply (echo, timestamp…), or a non-TCP packet sent
//!    from a well-known port (< 1024) to an ephemeral one (≥ 1024), e.g. a DNS response seen
//!    before its query. The receiver opened the flow.
//! 3. TCP without SYN (the capture started mid-flow): ports decide — the lower port is the
//!    server (Netify's rule: the higher-port side is the client), so a well-known port always
//!    wins over an ephemeral one. Equal ports: the sender. A TLS ClientHello read later on such
//!    a flow overrules the ports: its sender is the client (the flow table re-decides then).
//! 4. Otherwise the sender of the first packet seen.

use crate::decode::{tcp_flags, Packet};

/// ICMP query pairs conntrack tracks (request, reply): echo, timestamp, information, address
/// mask for IPv4; echo and node information for IPv6.
const ICMP_QUERIES: &[(u8, u8)] = &[(8, 0), (13, 14), (15, 16), (17, 18)];
const ICMPV6_QUERIES: &[(u8, u8)] = &[(128, 129), (139, 140)];

/// For an ICMP query reply, the type of its request (the flow's facts keep the type the origin
/// sent, so a flow first seen on a reply still names its request).
pub fn icmp_request_of_reply(ip_protocol: u8, icmp_type: u8) -> Option<u8> {
    let pairs = match ip_protocol {
        1 => ICMP_QUERIES,
        58 => ICMPV6_QUERIES,
        _ => return None,
    };
    pairs.iter().find(|&&(_, reply)| reply == icmp_type).map(|&(request, _)| request)
}

/// True when the sender of `first` (the flow's first packet seen) opened the flow.
pub fn sender_opened(first: &Packet<'_>) -> bool {
    if let Some(tcp) = first.tcp {
        if tcp.has(tcp_flags::SYN) {
            return !tcp.has(tcp_flags::ACK);
        }
        return match first.src_port.cmp(&first.dst_port) {
            std::cmp::Ordering::Equal => true,
            // The sender has the higher port: it is the client.
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
        };
    }
    if let Some(icmp) = first.icmp {
        return icmp_request_of_reply(first.ip_protocol, icmp.icmp_type).is_none();
    }
    let (src, dst) = (first.src_port, first.dst_port);
    let reply = src != 0 && src < 1024 && dst >= 1024;
    !reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{IcmpInfo, TcpInfo, TunnelType};
    use std::net::{IpAddr, Ipv4Addr};

    fn packet(ip_protocol: u8, sport: u16, dport: u16) -> Packet<'static> {
        Packet {
            vlan_id: 0,
            src_mac: [0; 6],
            dst_mac: [0; 6],
            src_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            dst_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            ip_protocol,
            src_port: sport,
            dst_port: dport,
            tcp: None,
            icmp: None,
            payload: &[],
            ip_len: 40,
            tunnel: TunnelType::None,
            dscp: 0,
        }
    }

    fn tcp(sport: u16, dport: u16, flags: u8) -> Packet<'static> {
        Packet { tcp: Some(TcpInfo { seq: 1, flags }), ..packet(6, sport, dport) }
    }

    const SYN: u8 = tcp_flags::SYN;
    const ACK: u8 = tcp_flags::ACK;

    #[test]
    fn syn_sender_and_syn_ack_receiver_opened_it_whatever_the_ports() {
        assert!(sender_opened(&tcp(443, 50000, SYN)), "a SYN from a low port still opens");
        assert!(!sender_opened(&tcp(50000, 443, SYN | ACK)), "a SYN+ACK from a high port is still the answer");
    }

    #[test]
    fn tcp_seen_mid_flow_goes_by_ports() {
        assert!(!sender_opened(&tcp(443, 50000, ACK)), "from the server's well-known port");
        assert!(sender_opened(&tcp(50000, 443, ACK)), "from the client's ephemeral port");
        assert!(!sender_opened(&tcp(8080, 51000, ACK | tcp_flags::FIN)), "two high ports: the lower is the server");
        assert!(sender_opened(&tcp(179, 179, ACK)), "equal ports: the sender");
    }

    #[test]
    fn udp_first_packet_unless_it_is_plainly_a_reply() {
        assert!(sender_opened(&packet(17, 40000, 53)), "a query");
        assert!(!sender_opened(&packet(17, 53, 40000)), "a response seen before its query");
        assert!(sender_opened(&packet(17, 123, 123)), "NTP between servers: the sender");
        assert!(sender_opened(&packet(17, 68, 67)), "DHCP: the sender");
        assert!(sender_opened(&packet(17, 40000, 50000)), "two ephemeral ports: the sender");
        assert!(sender_opened(&packet(47, 0, 0)), "no ports (GRE): the sender");
    }

    #[test]
    fn icmp_replies_were_opened_by_their_receiver() {
        let icmp =
            |proto, icmp_type| Packet { icmp: Some(IcmpInfo { icmp_type, code: 0, id: 7 }), ..packet(proto, 0, 0) };
        assert!(sender_opened(&icmp(1, 8)), "echo request");
        assert!(!sender_opened(&icmp(1, 0)), "echo reply");
        assert!(!sender_opened(&icmp(58, 129)), "ICMPv6 echo reply");
        assert!(sender_opened(&icmp(58, 135)), "neighbour solicitation");
        assert_eq!(icmp_request_of_reply(1, 0), Some(8));
        assert_eq!(icmp_request_of_reply(58, 129), Some(128));
        assert_eq!(icmp_request_of_reply(1, 8), None);
    }
}
