//! Netify protocol IDs and names. Criteria compare against these, not nDPI's IDs.
//!
//! Where the IDs come from: docs/FLOW-ACTIONS.md §3.2 gives Netify's own IDs for DNS 5, HTTP 7,
//! TLS 91, SSH 92, QUIC 188 and HTTP/S 196. For every other protocol we use nDPI's protocol ID
//! (nDPI 4.11, as the `master_id` of the nDPI corpus' truth.jsonl shows them): Netify's protocol
//! table follows nDPI's numbering for most protocols, and the IDs above agree with nDPI's too
//! (except 196, which nDPI calls DoH_DoT). Names are nDPI's spelling, so a criteria
//! `protocol == 'ntp'` reads as it does with Netify.

use std::fmt;

/// A Netify protocol ID; [`UNKNOWN`] (0) until a protocol is known. A type of its own so a
/// protocol ID is not mixed up with an application ID, a category or a port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct ProtocolId(pub u16);

impl fmt::Display for ProtocolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<ProtocolId> for u64 {
    fn from(id: ProtocolId) -> u64 {
        u64::from(id.0)
    }
}

/// A protocol flowsieve can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    pub id: ProtocolId,
    pub name: &'static str,
}

pub const UNKNOWN: ProtocolId = ProtocolId(0);
pub const FTP_CONTROL: ProtocolId = ProtocolId(1);
pub const POP3: ProtocolId = ProtocolId(2);
pub const SMTP: ProtocolId = ProtocolId(3);
pub const IMAP: ProtocolId = ProtocolId(4);
pub const DNS: ProtocolId = ProtocolId(5);
pub const HTTP: ProtocolId = ProtocolId(7);
pub const MDNS: ProtocolId = ProtocolId(8);
pub const NTP: ProtocolId = ProtocolId(9);
pub const NETBIOS: ProtocolId = ProtocolId(10);
pub const SSDP: ProtocolId = ProtocolId(12);
pub const SNMP: ProtocolId = ProtocolId(14);
pub const SYSLOG: ProtocolId = ProtocolId(17);
pub const DHCP: ProtocolId = ProtocolId(18);
pub const POSTGRES: ProtocolId = ProtocolId(19);
pub const MYSQL: ProtocolId = ProtocolId(20);
pub const GNUTELLA: ProtocolId = ProtocolId(35);
pub const BITTORRENT: ProtocolId = ProtocolId(37);
pub const STUN: ProtocolId = ProtocolId(78);
pub const IPSEC: ProtocolId = ProtocolId(79);
pub const GRE: ProtocolId = ProtocolId(80);
pub const ICMP: ProtocolId = ProtocolId(81);
pub const IGMP: ProtocolId = ProtocolId(82);
pub const SCTP: ProtocolId = ProtocolId(84);
pub const OSPF: ProtocolId = ProtocolId(85);
pub const RDP: ProtocolId = ProtocolId(88);
pub const TLS: ProtocolId = ProtocolId(91);
/// TLS over UDP (nDPI's ID, as for the other protocols Netify inherits).
pub const DTLS: ProtocolId = ProtocolId(30);
pub const SSH: ProtocolId = ProtocolId(92);
pub const VRRP: ProtocolId = ProtocolId(73);
pub const SIP: ProtocolId = ProtocolId(100);
pub const ICMPV6: ProtocolId = ProtocolId(102);
pub const DHCPV6: ProtocolId = ProtocolId(103);
pub const LLMNR: ProtocolId = ProtocolId(154);
pub const OPENVPN: ProtocolId = ProtocolId(159);
pub const QUIC: ProtocolId = ProtocolId(188);
pub const HTTPS: ProtocolId = ProtocolId(196);
/// HTTP through a proxy (RFC 9112 §3.2.2 absolute-form requests) and HTTP CONNECT tunnels
/// (RFC 9110 §9.3.6), with Netify's IDs (nDPI's `HTTP_Proxy` 131 and `HTTP_Connect` 130).
pub const HTTP_CONNECT: ProtocolId = ProtocolId(130);
pub const HTTP_PROXY: ProtocolId = ProtocolId(131);
/// DNS over HTTPS (RFC 8484), over TLS (RFC 7858) and over QUIC (RFC 9250): Netify's IDs; nDPI
/// names all three as the application `DoH_DoT` (196) over TLS or QUIC.
pub const DOH: ProtocolId = ProtocolId(243);
pub const DOT: ProtocolId = ProtocolId(260);
pub const DOQ: ProtocolId = ProtocolId(261);
pub const WIREGUARD: ProtocolId = ProtocolId(206);
pub const IP_PIM: ProtocolId = ProtocolId(297);
pub const SLP: ProtocolId = ProtocolId(347);
/// STARTTLS upgrades and the implicit-TLS ports, as nDPI and Netify name them.
pub const SMTPS: ProtocolId = ProtocolId(29);
pub const POPS: ProtocolId = ProtocolId(23);
pub const IMAPS: ProtocolId = ProtocolId(51);
pub const FTPS: ProtocolId = ProtocolId(311);
/// Agora's real-time network (nDPI's ID).
pub const SD_RTN: ProtocolId = ProtocolId(171);
pub const KERBEROS: ProtocolId = ProtocolId(111);
pub const LDAP: ProtocolId = ProtocolId(112);
pub const MSSQL_TDS: ProtocolId = ProtocolId(114);
pub const RADIUS: ProtocolId = ProtocolId(146);
pub const SMBV1: ProtocolId = ProtocolId(16);
pub const SMBV23: ProtocolId = ProtocolId(41);
pub const MUNIN: ProtocolId = ProtocolId(329);
pub const RTSP: ProtocolId = ProtocolId(50);
/// Whois and the Domain Availability Service (RFC 3912, port 43; DAS on 4343).
pub const WHOIS_DAS: ProtocolId = ProtocolId(170);
/// Xiaomi's push/chat service.
pub const XIAOMI: ProtocolId = ProtocolId(287);
pub const FASTCGI: ProtocolId = ProtocolId(310);
/// RTP media (RFC 3550) and its control protocol RTCP (RFC 3550 §6), nDPI's IDs.
pub const RTP: ProtocolId = ProtocolId(87);
pub const RTCP: ProtocolId = ProtocolId(165);

/// Every protocol with its Netify ID, Netify's own (docs/FLOW-ACTIONS.md §3.2) first. Adding a protocol adds a
/// row here.
pub const PROTOCOLS: &[Protocol] = &[
    Protocol { id: UNKNOWN, name: "Unknown" },
    Protocol { id: DNS, name: "DNS" },
    Protocol { id: HTTP, name: "HTTP" },
    Protocol { id: TLS, name: "TLS" },
    Protocol { id: DTLS, name: "DTLS" },
    Protocol { id: SSH, name: "SSH" },
    Protocol { id: QUIC, name: "QUIC" },
    Protocol { id: HTTPS, name: "HTTP/S" },
    Protocol { id: HTTP_CONNECT, name: "HTTP/Connect" },
    Protocol { id: HTTP_PROXY, name: "HTTP/Proxy" },
    Protocol { id: DOH, name: "DoH" },
    Protocol { id: DOT, name: "DoT" },
    Protocol { id: DOQ, name: "DoQ" },
    Protocol { id: FTP_CONTROL, name: "FTP_CONTROL" },
    Protocol { id: POP3, name: "POP3" },
    Protocol { id: SMTP, name: "SMTP" },
    Protocol { id: IMAP, name: "IMAP" },
    Protocol { id: MDNS, name: "MDNS" },
    Protocol { id: NTP, name: "NTP" },
    Protocol { id: NETBIOS, name: "NetBIOS" },
    Protocol { id: SSDP, name: "SSDP" },
    Protocol { id: SNMP, name: "SNMP" },
    Protocol { id: SYSLOG, name: "Syslog" },
    Protocol { id: DHCP, name: "DHCP" },
    Protocol { id: POSTGRES, name: "PostgreSQL" },
    Protocol { id: MYSQL, name: "MySQL" },
    Protocol { id: GNUTELLA, name: "Gnutella" },
    Protocol { id: BITTORRENT, name: "BitTorrent" },
    Protocol { id: VRRP, name: "VRRP" },
    Protocol { id: STUN, name: "STUN" },
    Protocol { id: IPSEC, name: "IPSec" },
    Protocol { id: GRE, name: "GRE" },
    Protocol { id: ICMP, name: "ICMP" },
    Protocol { id: IGMP, name: "IGMP" },
    Protocol { id: SCTP, name: "SCTP" },
    Protocol { id: OSPF, name: "OSPF" },
    Protocol { id: RDP, name: "RDP" },
    Protocol { id: SIP, name: "SIP" },
    Protocol { id: ICMPV6, name: "ICMPV6" },
    Protocol { id: DHCPV6, name: "DHCPV6" },
    Protocol { id: LLMNR, name: "LLMNR" },
    Protocol { id: OPENVPN, name: "OpenVPN" },
    Protocol { id: WIREGUARD, name: "WireGuard" },
    Protocol { id: IP_PIM, name: "IP_PIM" },
    Protocol { id: SLP, name: "Service_Location_Protocol" },
    Protocol { id: SMTPS, name: "SMTPS" },
    Protocol { id: POPS, name: "POPS" },
    Protocol { id: IMAPS, name: "IMAPS" },
    Protocol { id: FTPS, name: "FTPS" },
    Protocol { id: SD_RTN, name: "SD-RTN" },
    Protocol { id: KERBEROS, name: "Kerberos" },
    Protocol { id: LDAP, name: "LDAP" },
    Protocol { id: MSSQL_TDS, name: "MsSQL-TDS" },
    Protocol { id: RADIUS, name: "Radius" },
    Protocol { id: SMBV1, name: "SMBv1" },
    Protocol { id: SMBV23, name: "SMBv23" },
    Protocol { id: MUNIN, name: "Munin" },
    Protocol { id: RTSP, name: "RTSP" },
    Protocol { id: WHOIS_DAS, name: "Whois-DAS" },
    Protocol { id: XIAOMI, name: "Xiaomi" },
    Protocol { id: FASTCGI, name: "FastCGI" },
    Protocol { id: RTP, name: "RTP" },
    Protocol { id: RTCP, name: "RTCP" },
];

/// Name for a protocol ID ("Unknown" when we have no name for it).
pub fn name_of(id: ProtocolId) -> &'static str {
    PROTOCOLS.iter().find(|p| p.id == id).map_or("Unknown", |p| p.name)
}

/// ID for a protocol name, compared case-insensitively as Netify does.
pub fn id_of(name: &str) -> Option<ProtocolId> {
    PROTOCOLS.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.id)
}

/// Protocols named by the IP protocol number alone, with no dissection (IANA protocol
/// numbers): ICMP 1, IGMP 2, GRE 47, ESP 50 and AH 51 (IPsec), ICMPv6 58, OSPF 89, PIM 103,
/// VRRP 112, SCTP 132.
pub fn by_ip_protocol(ip_protocol: u8) -> Option<ProtocolId> {
    Some(match ip_protocol {
        1 => ICMP,
        2 => IGMP,
        47 => GRE,
        50 | 51 => IPSEC,
        58 => ICMPV6,
        89 => OSPF,
        103 => IP_PIM,
        112 => VRRP,
        132 => SCTP,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique() {
        for (i, a) in PROTOCOLS.iter().enumerate() {
            for b in &PROTOCOLS[i + 1..] {
                assert_ne!(a.id, b.id, "{} and {}", a.name, b.name);
                assert!(!a.name.eq_ignore_ascii_case(b.name));
            }
        }
        assert_eq!(id_of("http/s"), Some(HTTPS));
        assert_eq!(name_of(SSH), "SSH");
    }
}
