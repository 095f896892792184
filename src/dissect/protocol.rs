//! Netify protocol IDs and names. Criteria compare against these, not nDPI's IDs.
//!
//! Where the IDs come from: docs/FLOW-ACTIONS.md §3.2 gives Netify's own IDs for DNS 5, HTTP 7,
//! TLS 91, SSH 92, QUIC 188 and HTTP/S 196. For every other protocol we use nDPI's protocol ID
//! (nDPI 4.11, as the `master_id` of the nDPI corpus' truth.jsonl shows them): Netify's protocol
//! table follows nDPI's numbering for most protocols, and the IDs above agree with nDPI's too
//! (except 196, which nDPI calls DoH_DoT). Names are nDPI's spelling, so a criteria
//! `protocol == 'ntp'` reads as it does with Netify.

/// A protocol flowsieve can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    pub id: u16,
    pub name: &'static str,
}

pub const UNKNOWN: u16 = 0;
pub const FTP_CONTROL: u16 = 1;
pub const POP3: u16 = 2;
pub const SMTP: u16 = 3;
pub const IMAP: u16 = 4;
pub const DNS: u16 = 5;
pub const HTTP: u16 = 7;
pub const MDNS: u16 = 8;
pub const NTP: u16 = 9;
pub const NETBIOS: u16 = 10;
pub const SSDP: u16 = 12;
pub const SNMP: u16 = 14;
pub const SYSLOG: u16 = 17;
pub const DHCP: u16 = 18;
pub const POSTGRES: u16 = 19;
pub const MYSQL: u16 = 20;
pub const GNUTELLA: u16 = 35;
pub const BITTORRENT: u16 = 37;
pub const STUN: u16 = 78;
pub const IPSEC: u16 = 79;
pub const GRE: u16 = 80;
pub const ICMP: u16 = 81;
pub const IGMP: u16 = 82;
pub const SCTP: u16 = 84;
pub const OSPF: u16 = 85;
pub const RDP: u16 = 88;
pub const TLS: u16 = 91;
/// TLS over UDP (nDPI's ID, as for the other protocols Netify inherits).
pub const DTLS: u16 = 30;
pub const SSH: u16 = 92;
pub const VRRP: u16 = 73;
pub const SIP: u16 = 100;
pub const ICMPV6: u16 = 102;
pub const DHCPV6: u16 = 103;
pub const LLMNR: u16 = 154;
pub const OPENVPN: u16 = 159;
pub const QUIC: u16 = 188;
pub const HTTPS: u16 = 196;
pub const WIREGUARD: u16 = 206;
pub const IP_PIM: u16 = 297;
pub const SLP: u16 = 347;
/// STARTTLS upgrades and the implicit-TLS ports, as nDPI and Netify name them.
pub const SMTPS: u16 = 29;
pub const POPS: u16 = 23;
pub const IMAPS: u16 = 51;
pub const FTPS: u16 = 311;
/// Agora's real-time network (nDPI's ID).
pub const SD_RTN: u16 = 171;
pub const KERBEROS: u16 = 111;
pub const LDAP: u16 = 112;
pub const MSSQL_TDS: u16 = 114;
pub const RADIUS: u16 = 146;
pub const SMBV1: u16 = 16;
pub const SMBV23: u16 = 41;
pub const MUNIN: u16 = 329;
pub const RTSP: u16 = 50;
/// Whois and the Domain Availability Service (RFC 3912, port 43; DAS on 4343).
pub const WHOIS_DAS: u16 = 170;
/// Xiaomi's push/chat service.
pub const XIAOMI: u16 = 287;
pub const FASTCGI: u16 = 310;
/// RTP media (RFC 3550) and its control protocol RTCP (RFC 3550 §6), nDPI's IDs.
pub const RTP: u16 = 87;
pub const RTCP: u16 = 165;

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
pub fn name_of(id: u16) -> &'static str {
    PROTOCOLS.iter().find(|p| p.id == id).map_or("Unknown", |p| p.name)
}

/// ID for a protocol name, compared case-insensitively as Netify does.
pub fn id_of(name: &str) -> Option<u16> {
    PROTOCOLS.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.id)
}

/// Protocols named by the IP protocol number alone, with no dissection (IANA protocol
/// numbers): ICMP 1, IGMP 2, GRE 47, ESP 50 and AH 51 (IPsec), ICMPv6 58, OSPF 89, PIM 103,
/// VRRP 112, SCTP 132.
pub fn by_ip_protocol(ip_protocol: u8) -> Option<u16> {
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
