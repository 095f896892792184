//! Netify protocol IDs and names. Criteria compare against these, not nDPI's IDs.
//!
//! The table is netifyd's own (IDs as in its telemetry `detected_protocol`, names as printed
//! and compared case-insensitively in criteria); the constants below are the protocols
//! flowsieve's dissectors and IP-protocol rules report. flowsieve's earlier names for some of
//! them stay accepted as [`ALIASES`].

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
/// TLS over UDP.
pub const DTLS: u16 = 245;
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
pub const IP_PIM: u16 = 299;
pub const SLP: u16 = 325;
/// STARTTLS upgrades and the implicit-TLS ports (Netify: SMTP/S, POP3/S, IMAP/S, FTP/S).
pub const SMTPS: u16 = 29;
pub const POPS: u16 = 23;
pub const IMAPS: u16 = 51;
pub const FTPS: u16 = 21;
/// Agora's real-time network.
pub const SD_RTN: u16 = 294;
pub const KERBEROS: u16 = 111;
pub const LDAP: u16 = 112;
pub const MSSQL_TDS: u16 = 114;
pub const RADIUS: u16 = 146;
pub const SMBV1: u16 = 16;
pub const SMBV23: u16 = 41;
pub const MUNIN: u16 = 311;
pub const RTSP: u16 = 50;
/// Whois and the Domain Availability Service (RFC 3912, port 43; DAS on 4343).
pub const WHOIS_DAS: u16 = 170;
/// Xiaomi's push/chat service.
pub const XIAOMI: u16 = 297;
pub const FASTCGI: u16 = 308;
/// RTP media (RFC 3550) and its control protocol RTCP (RFC 3550 §6).
pub const RTP: u16 = 87;
pub const RTCP: u16 = 165;

/// Netify's protocol table (netifyd's `nd-protos.hpp`, the copy in
/// `data/third-party/netify/protocols.tsv`), sorted by ID, followed by flowsieve-only protocols
/// (IDs from [`FLOWSIEVE_FIRST_ID`], none yet). A test ties this table to that file. A
/// protocol flowsieve detects uses Netify's ID and name; an ID is never reused for another
/// protocol. netifyd's `TODO` entry (ID 4294967295) does not fit a `u16` and is left out.
pub const PROTOCOLS: &[Protocol] = &[
    Protocol { id: 0, name: "Unknown" },
    Protocol { id: 1, name: "FTP/C" },
    Protocol { id: 2, name: "POP3" },
    Protocol { id: 3, name: "SMTP" },
    Protocol { id: 4, name: "IMAP" },
    Protocol { id: 5, name: "DNS" },
    Protocol { id: 6, name: "IPP" },
    Protocol { id: 7, name: "HTTP" },
    Protocol { id: 8, name: "MDNS" },
    Protocol { id: 9, name: "NTP" },
    Protocol { id: 10, name: "NETBIOS" },
    Protocol { id: 11, name: "NFS" },
    Protocol { id: 12, name: "SSDP" },
    Protocol { id: 13, name: "BGP" },
    Protocol { id: 14, name: "SNMP" },
    Protocol { id: 15, name: "XDMCP" },
    Protocol { id: 16, name: "SMBv1" },
    Protocol { id: 17, name: "SYSLOG" },
    Protocol { id: 18, name: "DHCP" },
    Protocol { id: 19, name: "PGSQL" },
    Protocol { id: 20, name: "MYSQL" },
    Protocol { id: 21, name: "FTP/S" },
    Protocol { id: 23, name: "POP3/S" },
    Protocol { id: 27, name: "COAP" },
    Protocol { id: 28, name: "VMWARE" },
    Protocol { id: 29, name: "SMTP/S" },
    Protocol { id: 31, name: "UBNTAC2" },
    Protocol { id: 32, name: "Kontiki" },
    Protocol { id: 35, name: "Gnutella" },
    Protocol { id: 37, name: "BitTorrent" },
    Protocol { id: 38, name: "Skype/Teams/Call" },
    Protocol { id: 39, name: "SignalCall" },
    Protocol { id: 40, name: "Memcached" },
    Protocol { id: 41, name: "SMBv23" },
    Protocol { id: 42, name: "Mining" },
    Protocol { id: 43, name: "NestLog" },
    Protocol { id: 44, name: "Modbus" },
    Protocol { id: 47, name: "Xbox" },
    Protocol { id: 48, name: "QQ" },
    Protocol { id: 50, name: "RTSP" },
    Protocol { id: 51, name: "IMAP/S" },
    Protocol { id: 52, name: "IceCast" },
    Protocol { id: 54, name: "PPStream" },
    Protocol { id: 55, name: "Zattoo" },
    Protocol { id: 59, name: "TVUplayer" },
    Protocol { id: 61, name: "QQLive" },
    Protocol { id: 65, name: "IRC" },
    Protocol { id: 67, name: "XMPP" },
    Protocol { id: 73, name: "VRRP" },
    Protocol { id: 74, name: "Steam" },
    Protocol { id: 75, name: "HalfLife2" },
    Protocol { id: 76, name: "WoW" },
    Protocol { id: 77, name: "Telnet" },
    Protocol { id: 78, name: "STUN" },
    Protocol { id: 79, name: "IPSEC" },
    Protocol { id: 80, name: "GRE" },
    Protocol { id: 81, name: "ICMP" },
    Protocol { id: 82, name: "IGMP" },
    Protocol { id: 83, name: "EGP" },
    Protocol { id: 84, name: "SCTP" },
    Protocol { id: 85, name: "OSPF" },
    Protocol { id: 86, name: "IPinIP" },
    Protocol { id: 87, name: "RTP" },
    Protocol { id: 88, name: "RDP" },
    Protocol { id: 89, name: "VNC" },
    Protocol { id: 91, name: "TLS" },
    Protocol { id: 92, name: "SSH" },
    Protocol { id: 93, name: "NNTP" },
    Protocol { id: 94, name: "MGCP" },
    Protocol { id: 95, name: "IAX" },
    Protocol { id: 96, name: "TFTP" },
    Protocol { id: 97, name: "AFP" },
    Protocol { id: 100, name: "SIP" },
    Protocol { id: 101, name: "TruPhone" },
    Protocol { id: 102, name: "ICMPv6" },
    Protocol { id: 103, name: "DHCPv6" },
    Protocol { id: 104, name: "Armagetron" },
    Protocol { id: 105, name: "Crossfire" },
    Protocol { id: 106, name: "Dofus" },
    Protocol { id: 109, name: "Guildwars" },
    Protocol { id: 111, name: "Kerberos" },
    Protocol { id: 112, name: "LDAP" },
    Protocol { id: 113, name: "MapleStory" },
    Protocol { id: 114, name: "MSSQL/TDS" },
    Protocol { id: 115, name: "PPTP" },
    Protocol { id: 116, name: "Warcraft3" },
    Protocol { id: 117, name: "WoKungFu" },
    Protocol { id: 121, name: "Dropbox" },
    Protocol { id: 127, name: "RPC" },
    Protocol { id: 128, name: "NetFlow" },
    Protocol { id: 129, name: "SFlow" },
    Protocol { id: 130, name: "HTTP/Connect" },
    Protocol { id: 131, name: "HTTP/Proxy" },
    Protocol { id: 132, name: "Citrix" },
    Protocol { id: 138, name: "CHECKMK" },
    Protocol { id: 139, name: "AJP" },
    Protocol { id: 142, name: "WhatsApp" },
    Protocol { id: 144, name: "Viber" },
    Protocol { id: 146, name: "RADIUS" },
    Protocol { id: 148, name: "TeamViewer" },
    Protocol { id: 150, name: "LotusNotes" },
    Protocol { id: 151, name: "SAP" },
    Protocol { id: 152, name: "GTP" },
    Protocol { id: 153, name: "WSD" },
    Protocol { id: 154, name: "LLMNR" },
    Protocol { id: 155, name: "RemoteScan" },
    Protocol { id: 156, name: "Spotify" },
    Protocol { id: 158, name: "H323" },
    Protocol { id: 159, name: "OpenVPN" },
    Protocol { id: 160, name: "NOE" },
    Protocol { id: 161, name: "Cisco/VPN" },
    Protocol { id: 162, name: "TeamSpeak" },
    Protocol { id: 164, name: "Cisco/Skinny" },
    Protocol { id: 165, name: "RTCP" },
    Protocol { id: 166, name: "RSYNC" },
    Protocol { id: 167, name: "Oracle" },
    Protocol { id: 168, name: "Corba" },
    Protocol { id: 170, name: "Whois/DAS" },
    Protocol { id: 171, name: "Collectd" },
    Protocol { id: 172, name: "SOCKS" },
    Protocol { id: 173, name: "Nintendo" },
    Protocol { id: 174, name: "RTMP" },
    Protocol { id: 175, name: "FTP/D" },
    Protocol { id: 177, name: "ZMQ" },
    Protocol { id: 181, name: "Megaco" },
    Protocol { id: 182, name: "Redis" },
    Protocol { id: 184, name: "VHUA" },
    Protocol { id: 185, name: "Telegram" },
    Protocol { id: 188, name: "QUIC" },
    Protocol { id: 190, name: "EAQ" },
    Protocol { id: 191, name: "OOKLA" },
    Protocol { id: 192, name: "AMQP" },
    Protocol { id: 194, name: "KakaoTalk/Voice" },
    Protocol { id: 196, name: "HTTP/S" },
    Protocol { id: 198, name: "MPEGTS" },
    Protocol { id: 204, name: "BJNP" },
    Protocol { id: 206, name: "WireGuard" },
    Protocol { id: 207, name: "SMPP" },
    Protocol { id: 209, name: "TINC" },
    Protocol { id: 213, name: "Starcraft" },
    Protocol { id: 214, name: "Teredo" },
    Protocol { id: 222, name: "MQTT" },
    Protocol { id: 223, name: "RX" },
    Protocol { id: 226, name: "Git" },
    Protocol { id: 227, name: "DRDA" },
    Protocol { id: 229, name: "SOMEIP" },
    Protocol { id: 230, name: "FIX" },
    Protocol { id: 235, name: "CSGO" },
    Protocol { id: 236, name: "LISP" },
    Protocol { id: 237, name: "Diameter" },
    Protocol { id: 238, name: "Apple/Push" },
    Protocol { id: 243, name: "DoH" },
    Protocol { id: 244, name: "DTLS" },
    Protocol { id: 245, name: "Google/Meet/Duo" },
    Protocol { id: 246, name: "WhatsApp/Call" },
    Protocol { id: 247, name: "Skype/Teams" },
    Protocol { id: 248, name: "ZOOM" },
    Protocol { id: 255, name: "Snapchat/Call" },
    Protocol { id: 257, name: "SIP/S" },
    Protocol { id: 258, name: "MQTT/S" },
    Protocol { id: 259, name: "NNTP/S" },
    Protocol { id: 260, name: "DoT" },
    Protocol { id: 261, name: "DoQ" },
    Protocol { id: 263, name: "AmongUs" },
    Protocol { id: 264, name: "AVASTSecureDNS" },
    Protocol { id: 265, name: "CAPWAP" },
    Protocol { id: 266, name: "Cassandra" },
    Protocol { id: 267, name: "CheckPointHA" },
    Protocol { id: 268, name: "DNP3" },
    Protocol { id: 269, name: "DNSCrypt" },
    Protocol { id: 270, name: "EtherNet/IP" },
    Protocol { id: 271, name: "Genshin/Impact" },
    Protocol { id: 272, name: "GTP/C" },
    Protocol { id: 273, name: "GTP/P" },
    Protocol { id: 274, name: "GTP/U" },
    Protocol { id: 275, name: "HP/VirtGrp" },
    Protocol { id: 276, name: "Cisco/HSRP" },
    Protocol { id: 277, name: "IEC60870/5/104" },
    Protocol { id: 279, name: "IRC/S" },
    Protocol { id: 280, name: "MongoDB" },
    Protocol { id: 281, name: "NATS" },
    Protocol { id: 282, name: "S7comm" },
    Protocol { id: 283, name: "SOAP" },
    Protocol { id: 284, name: "Targus/Dataspeed" },
    Protocol { id: 285, name: "VXLAN" },
    Protocol { id: 286, name: "Websocket" },
    Protocol { id: 287, name: "Z39/50" },
    Protocol { id: 288, name: "Zabbix" },
    Protocol { id: 289, name: "i3D" },
    Protocol { id: 290, name: "MPEG/Dash" },
    Protocol { id: 291, name: "RakNet" },
    Protocol { id: 292, name: "Riot/Games" },
    Protocol { id: 293, name: "RSH" },
    Protocol { id: 294, name: "SD/RTN" },
    Protocol { id: 295, name: "TocaBoca" },
    Protocol { id: 296, name: "UltraSurf" },
    Protocol { id: 297, name: "Xiaomi" },
    Protocol { id: 298, name: "PGM" },
    Protocol { id: 299, name: "PIM" },
    Protocol { id: 300, name: "Threema" },
    Protocol { id: 301, name: "Alibaba/Cloud" },
    Protocol { id: 302, name: "SYSLOG/S" },
    Protocol { id: 303, name: "NAT/PMP" },
    Protocol { id: 304, name: "Tuya/LP" },
    Protocol { id: 305, name: "ElasticSearch" },
    Protocol { id: 306, name: "AVAST" },
    Protocol { id: 307, name: "CryNetwork" },
    Protocol { id: 308, name: "FastCGI" },
    Protocol { id: 309, name: "KISMET" },
    Protocol { id: 310, name: "Line/Call" },
    Protocol { id: 311, name: "Munin" },
    Protocol { id: 312, name: "Syncthing" },
    Protocol { id: 313, name: "TiVo/Connect" },
    Protocol { id: 314, name: "TPLINK/SHP" },
    Protocol { id: 315, name: "Tailscale" },
    Protocol { id: 316, name: "Meraki/Cloud" },
    Protocol { id: 317, name: "HerosOfTheStorm" },
    Protocol { id: 318, name: "BACnet" },
    Protocol { id: 319, name: "SourceEngine" },
    Protocol { id: 320, name: "OICQ" },
    Protocol { id: 321, name: "SRTP" },
    Protocol { id: 322, name: "XMPP/S" },
    Protocol { id: 323, name: "Bitcoin" },
    Protocol { id: 325, name: "SLP" },
    Protocol { id: 326, name: "HTTP/2" },
    Protocol { id: 327, name: "Facebook/VoIP" },
    Protocol { id: 328, name: "HAProxy" },
    Protocol { id: 329, name: "RMCP" },
    Protocol { id: 330, name: "CAN" },
    Protocol { id: 331, name: "Protobuf" },
    Protocol { id: 332, name: "Ethereum" },
    Protocol { id: 333, name: "Telegram/VoIP" },
];

/// First ID for protocols Netify's table does not list: its table ends at 333 and its category
/// file names retired IDs from 30030 up, so 1000–29999 is free.
pub const FLOWSIEVE_FIRST_ID: u16 = 1000;

/// Names flowsieve used before it took over Netify's: still accepted in criteria
/// (`proto == 'SMTPS'`), never printed.
pub const ALIASES: &[(&str, u16)] = &[
    ("FTP_CONTROL", FTP_CONTROL),
    ("FTPS", FTPS),
    ("POPS", POPS),
    ("SMTPS", SMTPS),
    ("IMAPS", IMAPS),
    ("PostgreSQL", POSTGRES),
    ("MsSQL-TDS", MSSQL_TDS),
    ("Whois-DAS", WHOIS_DAS),
    ("SD-RTN", SD_RTN),
    ("IP_PIM", IP_PIM),
    ("Service_Location_Protocol", SLP),
];

/// Name for a protocol ID ("Unknown" when the table has no name for it). Binary search: this
/// runs for every record written.
pub fn name_of(id: u16) -> &'static str {
    PROTOCOLS.binary_search_by_key(&id, |p| p.id).map_or("Unknown", |i| PROTOCOLS[i].name)
}

/// ID for a protocol name or old alias, compared case-insensitively as Netify does.
pub fn id_of(name: &str) -> Option<u16> {
    PROTOCOLS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.id)
        .or_else(|| ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(name)).map(|&(_, id)| id))
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
                assert!(a.id < b.id, "{} ({}) and {} ({}): sorted by ID, each once", a.name, a.id, b.name, b.id);
                assert!(!a.name.eq_ignore_ascii_case(b.name));
            }
        }
        for &(alias, id) in ALIASES {
            assert!(PROTOCOLS.iter().all(|p| !p.name.eq_ignore_ascii_case(alias)), "{alias} shadows a name");
            assert_ne!(name_of(id), "Unknown", "{alias}");
        }
        assert_eq!(id_of("http/s"), Some(HTTPS));
        assert_eq!(id_of("smtps"), Some(SMTPS), "old name still accepted");
        assert_eq!(name_of(SMTPS), "SMTP/S");
        assert_eq!(name_of(SSH), "SSH");
        assert_eq!(name_of(1), "FTP/C");
        assert_eq!(name_of(999), "Unknown");
    }

    /// Netify's table, as committed in `data/third-party/netify/protocols.tsv`: every row has
    /// the same ID and name here, and nothing else in the table uses one of its IDs.
    #[test]
    fn table_is_netifys() {
        let tsv = include_str!("../../data/third-party/netify/protocols.tsv");
        let mut rows = 0;
        for line in tsv.lines() {
            let (id, name) = line.split_once('\t').expect("id<TAB>name");
            let id: u64 = id.parse().expect("numeric ID");
            let Ok(id) = u16::try_from(id) else { continue };
            assert_eq!(name_of(id), name, "protocol {id}");
            assert_eq!(id_of(name), Some(id), "{name}");
            rows += 1;
        }
        assert_eq!(rows, 232);
        let own: Vec<_> = PROTOCOLS
            .iter()
            .filter(|p| !tsv.lines().any(|l| l.split('\t').next() == Some(&*p.id.to_string())))
            .collect();
        assert!(own.iter().all(|p| p.id >= FLOWSIEVE_FIRST_ID), "flowsieve-only IDs in Netify's range: {own:?}");
        // Every constant the dissectors report names a row of the table.
        for id in [
            FTP_CONTROL,
            POP3,
            SMTP,
            IMAP,
            DNS,
            HTTP,
            MDNS,
            NTP,
            NETBIOS,
            SSDP,
            SNMP,
            SYSLOG,
            DHCP,
            POSTGRES,
            MYSQL,
            GNUTELLA,
            BITTORRENT,
            STUN,
            IPSEC,
            GRE,
            ICMP,
            IGMP,
            SCTP,
            OSPF,
            RDP,
            TLS,
            DTLS,
            SSH,
            VRRP,
            SIP,
            ICMPV6,
            DHCPV6,
            LLMNR,
            OPENVPN,
            QUIC,
            HTTPS,
            WIREGUARD,
            IP_PIM,
            SLP,
            SMTPS,
            POPS,
            IMAPS,
            FTPS,
            SD_RTN,
            KERBEROS,
            LDAP,
            MSSQL_TDS,
            RADIUS,
            SMBV1,
            SMBV23,
            MUNIN,
            RTSP,
            WHOIS_DAS,
            XIAOMI,
            FASTCGI,
            RTP,
            RTCP,
        ] {
            assert_ne!(name_of(id), "Unknown", "constant {id}");
        }
    }
}
