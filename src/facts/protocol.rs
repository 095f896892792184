//! Netify protocol IDs and names. Criteria compare against these, not nDPI's IDs.
//!
//! The table is netifyd's own (IDs as in its telemetry `detected_protocol`, names as printed
//! and compared case-insensitively in criteria); the constants below are the protocols
//! flowsieve's dissectors and IP-protocol rules report. flowsieve's earlier names for some of
//! them stay accepted as [`ALIASES`].

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
/// TLS over UDP.
pub const DTLS: ProtocolId = ProtocolId(244);
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
pub const IP_PIM: ProtocolId = ProtocolId(299);
pub const SLP: ProtocolId = ProtocolId(325);
/// STARTTLS upgrades and the implicit-TLS ports (Netify: SMTP/S, POP3/S, IMAP/S, FTP/S).
pub const SMTPS: ProtocolId = ProtocolId(29);
pub const POPS: ProtocolId = ProtocolId(23);
pub const IMAPS: ProtocolId = ProtocolId(51);
pub const FTPS: ProtocolId = ProtocolId(21);
/// TLS named by its port or ALPN as netifyd does (`dissect::tls`): NNTP, MQTT, SIP, syslog,
/// IRC and XMPP over TLS.
pub const NNTPS: ProtocolId = ProtocolId(259);
pub const MQTTS: ProtocolId = ProtocolId(258);
pub const SIPS: ProtocolId = ProtocolId(257);
pub const SYSLOGS: ProtocolId = ProtocolId(302);
pub const IRCS: ProtocolId = ProtocolId(279);
pub const XMPPS: ProtocolId = ProtocolId(322);
/// Ookla Speedtest's test protocol.
pub const OOKLA: ProtocolId = ProtocolId(191);
pub const TFTP: ProtocolId = ProtocolId(96);
pub const DIAMETER: ProtocolId = ProtocolId(237);
pub const MGCP: ProtocolId = ProtocolId(94);
pub const XDMCP: ProtocolId = ProtocolId(15);
pub const LISP: ProtocolId = ProtocolId(236);
/// IEC 60870-5-104 (nDPI's `IEC60870`).
pub const IEC60870_5_104: ProtocolId = ProtocolId(277);
/// IEEE C37.118 synchrophasors (flowsieve-only).
pub const IEEE_C37118: ProtocolId = ProtocolId(1460);
/// The Dynamic Link Exchange Protocol, RFC 8175 (flowsieve-only).
pub const DLEP: ProtocolId = ProtocolId(1461);
/// Omron's FINS (flowsieve-only).
pub const FINS: ProtocolId = ProtocolId(1462);
/// Alibaba Cloud's framed TCP protocol (nDPI's `AliCloud`).
pub const ALIBABA_CLOUD: ProtocolId = ProtocolId(301);
/// Agora's real-time network.
pub const SD_RTN: ProtocolId = ProtocolId(294);
pub const KERBEROS: ProtocolId = ProtocolId(111);
pub const LDAP: ProtocolId = ProtocolId(112);
pub const MSSQL_TDS: ProtocolId = ProtocolId(114);
pub const RADIUS: ProtocolId = ProtocolId(146);
pub const SMBV1: ProtocolId = ProtocolId(16);
pub const SMBV23: ProtocolId = ProtocolId(41);
pub const MUNIN: ProtocolId = ProtocolId(311);
pub const RTSP: ProtocolId = ProtocolId(50);
/// Whois and the Domain Availability Service (RFC 3912, port 43; DAS on 4343).
pub const WHOIS_DAS: ProtocolId = ProtocolId(170);
/// Xiaomi's push/chat service.
pub const XIAOMI: ProtocolId = ProtocolId(297);
pub const FASTCGI: ProtocolId = ProtocolId(308);
/// RTP media (RFC 3550) and its control protocol RTCP (RFC 3550 §6).
pub const RTP: ProtocolId = ProtocolId(87);
pub const RTCP: ProtocolId = ProtocolId(165);
pub const BGP: ProtocolId = ProtocolId(13);
pub const TELNET: ProtocolId = ProtocolId(77);
pub const MINING: ProtocolId = ProtocolId(42);
pub const RSYNC: ProtocolId = ProtocolId(166);
pub const GIT: ProtocolId = ProtocolId(226);
pub const TEREDO: ProtocolId = ProtocolId(214);
pub const SYNCTHING: ProtocolId = ProtocolId(312);
/// Java RMI (flowsieve-only).
pub const JRMI: ProtocolId = ProtocolId(1200);
/// HiSLIP, the IVI Foundation's instrument protocol (flowsieve-only).
pub const HISLIP: ProtocolId = ProtocolId(1201);
/// Monero's peer-to-peer (levin) protocol (flowsieve-only).
pub const MONERO: ProtocolId = ProtocolId(1202);
/// Ceph's messenger protocol (flowsieve-only).
pub const CEPH: ProtocolId = ProtocolId(1203);

/// Protocols of issue 14's fourth batch: Netify's IDs where Netify lists them, else
/// flowsieve-only IDs with nDPI's names.
pub const CASSANDRA: ProtocolId = ProtocolId(266);
/// The Label Distribution Protocol (flowsieve-only).
pub const LDP: ProtocolId = ProtocolId(1204);
pub const RTMP: ProtocolId = ProtocolId(174);
pub const CISCO_SKINNY: ProtocolId = ProtocolId(164);
pub const SOMEIP: ProtocolId = ProtocolId(229);
/// Bidirectional Forwarding Detection (flowsieve-only).
pub const BFD: ProtocolId = ProtocolId(1205);
pub const ETHERNET_IP: ProtocolId = ProtocolId(270);
/// WS-Discovery.
pub const WSD: ProtocolId = ProtocolId(153);
pub const H323: ProtocolId = ProtocolId(158);
pub const TINC: ProtocolId = ProtocolId(209);
pub const TIVO_CONNECT: ProtocolId = ProtocolId(313);
pub const AFP: ProtocolId = ProtocolId(97);
/// HART-IP, industrial instrumentation (flowsieve-only).
pub const HART_IP: ProtocolId = ProtocolId(1207);
pub const NNTP: ProtocolId = ProtocolId(93);
/// Oracle's TNS.
pub const ORACLE: ProtocolId = ProtocolId(167);
/// The Precision Time Protocol, version 2 (flowsieve-only).
pub const PTPV2: ProtocolId = ProtocolId(1206);
/// UFTP, encrypted multicast file transfer (flowsieve-only).
pub const UFTP: ProtocolId = ProtocolId(1208);
/// The Train Real-time Data Protocol (flowsieve-only).
pub const TRDP: ProtocolId = ProtocolId(1209);
pub const DNSCRYPT: ProtocolId = ProtocolId(269);
pub const RAKNET: ProtocolId = ProtocolId(291);
pub const CAPWAP: ProtocolId = ProtocolId(265);
pub const TELEGRAM: ProtocolId = ProtocolId(185);
/// Apple's push notification service, TLS on TCP 5223 (named by address: `classify`).
pub const APPLE_PUSH: ProtocolId = ProtocolId(238);
pub const AMQP: ProtocolId = ProtocolId(192);
/// Signal's calls (Netify's soft dissector names Signal's STUN so).
pub const SIGNAL_CALL: ProtocolId = ProtocolId(39);
/// Telegram's calls through its UDP reflectors.
pub const TELEGRAM_VOIP: ProtocolId = ProtocolId(333);
pub const MODBUS: ProtocolId = ProtocolId(44);
/// KNXnet/IP, building automation (flowsieve-only).
pub const KNXNET_IP: ProtocolId = ProtocolId(1210);
/// CORBA's GIOP and MIOP.
pub const CORBA: ProtocolId = ProtocolId(168);
/// DDS's Real-Time Publish-Subscribe protocol (flowsieve-only).
pub const RTPS: ProtocolId = ProtocolId(1211);
/// OPC UA's binary protocol (flowsieve-only).
pub const OPC_UA: ProtocolId = ProtocolId(1212);
/// STOMP messaging (flowsieve-only).
pub const STOMP: ProtocolId = ProtocolId(1213);
/// Gearman's job server protocol (flowsieve-only).
pub const GEARMAN: ProtocolId = ProtocolId(1214);
/// HL7 version 2 over MLLP (flowsieve-only).
pub const HL7: ProtocolId = ProtocolId(1215);
pub const MEMCACHED: ProtocolId = ProtocolId(40);
pub const REDIS: ProtocolId = ProtocolId(182);
pub const NATS: ProtocolId = ProtocolId(281);
/// OpenFlow switch control (flowsieve-only).
pub const OPENFLOW: ProtocolId = ProtocolId(1216);

/// Protocols carried over HTTP, named from the message (`dissect::http_payload`): Netify's
/// IDs where its table lists them, else flowsieve-only IDs (1350–1399) with nDPI's names.
pub const IPP: ProtocolId = ProtocolId(6);
pub const SOAP: ProtocolId = ProtocolId(283);
pub const MPEG_DASH: ProtocolId = ProtocolId(290);
/// HTTP Live Streaming (RFC 8216; flowsieve-only).
pub const HLS: ProtocolId = ProtocolId(1350);
/// The Online Certificate Status Protocol over HTTP (RFC 6960; flowsieve-only).
pub const OCSP: ProtocolId = ProtocolId(1351);
/// PROFINET IO's DCE/RPC interfaces (IEC 61158-6-10; flowsieve-only, nDPI's name).
pub const PROFINET_IO: ProtocolId = ProtocolId(1352);
/// WebDAV (RFC 4918) over HTTP: a request with one of its methods (flowsieve-only, nDPI's name).
pub const WEBDAV: ProtocolId = ProtocolId(1354);
/// Remote procedure calls over HTTP ([MS-RPCH]: Outlook Anywhere, RD Gateway; flowsieve-only,
/// nDPI's name).
pub const MS_RPCH: ProtocolId = ProtocolId(1355);
/// Cloudflare WARP's tunnel, named by Cloudflare's published ingress networks and ports
/// (`classify::ADDRESS_PROTOCOLS`; flowsieve-only, nDPI's name).
pub const CLOUDFLARE_WARP: ProtocolId = ProtocolId(1356);
/// GE's Ethernet Global Data (flowsieve-only, nDPI's name).
pub const EGD: ProtocolId = ProtocolId(1357);
/// Lustre's LNet over TCP (flowsieve-only, nDPI's name).
pub const LUSTRE: ProtocolId = ProtocolId(1358);
/// GTP' (3GPP TS 32.295), charging data transfer: Netify's `GTP/P`.
pub const GTP_P: ProtocolId = ProtocolId(273);
/// Mumble voice chat's UDP ping (flowsieve-only, nDPI's name).
pub const MUMBLE: ProtocolId = ProtocolId(1353);
/// Siemens S7comm-plus (S7-1200/1500) over ISO transport (flowsieve-only, nDPI's name).
pub const S7COMM_PLUS: ProtocolId = ProtocolId(1425);
/// MMS (ISO 9506) over the OSI stack on ISO transport (flowsieve-only, nDPI's name).
pub const MMS: ProtocolId = ProtocolId(1426);
/// CIP implicit (I/O) messaging over UDP 2222 (flowsieve-only, nDPI's name).
pub const CIP: ProtocolId = ProtocolId(1427);
/// DLMS/COSEM over TCP/UDP (IEC 62056-47; flowsieve-only, nDPI's name).
pub const IEC62056: ProtocolId = ProtocolId(1428);
/// ANSI C12.22 / IEEE 1703 meter messages (flowsieve-only, nDPI's name).
pub const ANSI_C1222: ProtocolId = ProtocolId(1429);
/// Veeder-Root automatic tank gauge serial commands over TCP (flowsieve-only, nDPI's name).
pub const ATG: ProtocolId = ProtocolId(1430);
/// Beckhoff ADS over AMS/TCP (flowsieve-only, nDPI's name).
pub const BECKHOFF_ADS: ProtocolId = ProtocolId(1431);
/// ActiveMQ's OpenWire (flowsieve-only, nDPI's name).
pub const OPENWIRE: ProtocolId = ProtocolId(1432);
/// PFCP, 3GPP TS 29.244 (flowsieve-only, nDPI's name).
pub const PFCP: ProtocolId = ProtocolId(1433);
/// FLUTE file delivery over ALC/LCT (RFC 6726; flowsieve-only, nDPI's name).
pub const FLUTE: ProtocolId = ProtocolId(1434);
/// Games whose traffic nDPI names from its payload and Netify's table does not list
/// (flowsieve-only, nDPI's names): the Unreal Engine handshake of Epic's games, Activision's
/// and Tencent's game servers, Gaijin's, NetEase's, Heroes of the Storm, Call of Duty Mobile
/// The Elder Scrolls Online, Steam Datagram Relay and Path of Exile.
pub const EPIC_GAMES: ProtocolId = ProtocolId(1445);
pub const ACTIVISION: ProtocolId = ProtocolId(1446);
pub const TENCENT_GAMES: ProtocolId = ProtocolId(1447);
pub const GAIJIN: ProtocolId = ProtocolId(1448);
pub const NETEASE_GAMES: ProtocolId = ProtocolId(1449);
pub const HOTS: ProtocolId = ProtocolId(1450);
pub const COD_MOBILE: ProtocolId = ProtocolId(1451);
pub const TES_ONLINE: ProtocolId = ProtocolId(1452);
pub const STEAM_DATAGRAM_RELAY: ProtocolId = ProtocolId(1453);
pub const PATH_OF_EXILE: ProtocolId = ProtocolId(1454);
/// Sonos players' UDP traffic to one another (flowsieve-only, nDPI's name; `dissect::sonos`).
pub const SONOS: ProtocolId = ProtocolId(1455);
/// Valve's Steam (Netify's name), named from Remote Play discovery.
pub const STEAM: ProtocolId = ProtocolId(74);
/// Half-Life 2 and its mods (Netify's name).
pub const HALF_LIFE2: ProtocolId = ProtocolId(75);
/// Netify's names for protocols flowsieve names from their port alone or by a dissector of
/// this batch.
pub const RSH: ProtocolId = ProtocolId(293);
pub const TARGUS_DATASPEED: ProtocolId = ProtocolId(284);
pub const AMONG_US: ProtocolId = ProtocolId(263);
pub const CHECKPOINT_HA: ProtocolId = ProtocolId(267);
pub const MERAKI_CLOUD: ProtocolId = ProtocolId(316);
pub const TEAMSPEAK: ProtocolId = ProtocolId(162);
pub const SMPP: ProtocolId = ProtocolId(207);
pub const DRDA: ProtocolId = ProtocolId(227);
pub const IAX: ProtocolId = ProtocolId(95);
pub const KISMET: ProtocolId = ProtocolId(309);
pub const CHECKMK: ProtocolId = ProtocolId(138);
pub const Z39_50: ProtocolId = ProtocolId(287);
pub const IRC: ProtocolId = ProtocolId(65);
pub const S7COMM: ProtocolId = ProtocolId(282);
pub const NFS: ProtocolId = ProtocolId(11);

/// Protocols of issue 14's fifth batch: Netify's IDs where Netify lists them, else
/// flowsieve-only IDs (1300–1349) with nDPI's names.
/// Nintendo's Pia, the peer-to-peer game networking library of its consoles.
pub const NINTENDO: ProtocolId = ProtocolId(173);
/// Threema's chat protocol.
pub const THREEMA: ProtocolId = ProtocolId(300);
/// The connection handshake of miHoYo's games ahead of their KCP session.
pub const GENSHIN_IMPACT: ProtocolId = ProtocolId(271);
/// Zoom's media transport to its multimedia routers.
pub const ZOOM: ProtocolId = ProtocolId(248);
/// Citrix ICA.
pub const CITRIX: ProtocolId = ProtocolId(132);
/// NoMachine's NX protocol (flowsieve-only).
pub const NOMACHINE: ProtocolId = ProtocolId(1300);
/// Protocols named from their ports alone (see `dissect::registry`'s port guesses).
/// Famatech's Radmin remote control (flowsieve-only).
pub const RADMIN: ProtocolId = ProtocolId(1301);
/// The Roughtime secure time protocol (flowsieve-only).
pub const ROUGHTIME: ProtocolId = ProtocolId(1302);
pub const LOTUS_NOTES: ProtocolId = ProtocolId(150);
pub const VMWARE: ProtocolId = ProtocolId(28);
pub const CISCO_VPN: ProtocolId = ProtocolId(161);
pub const TPLINK_SHP: ProtocolId = ProtocolId(314);
pub const GTP: ProtocolId = ProtocolId(152);
/// FTP's data connections (Netify's `FTP/D`).
pub const FTP_DATA: ProtocolId = ProtocolId(175);
/// iSCSI (RFC 7143; flowsieve-only).
pub const ISCSI: ProtocolId = ProtocolId(1303);
/// Pragmatic General Multicast (RFC 3208), IP protocol 113.
pub const PGM: ProtocolId = ProtocolId(298);
/// World of Warcraft's game connections.
pub const WOW: ProtocolId = ProtocolId(76);
pub const PPTP: ProtocolId = ProtocolId(115);
/// MPEG transport streams in UDP.
pub const MPEG_TS: ProtocolId = ProtocolId(198);
/// Megaco / H.248.
pub const MEGACO: ProtocolId = ProtocolId(181);
/// The PROXY protocol (HAProxy's) ahead of a relayed connection.
pub const HAPROXY: ProtocolId = ProtocolId(328);
/// HTTP/2 over cleartext TCP (prior knowledge).
pub const HTTP2: ProtocolId = ProtocolId(326);
/// NetFlow and IPFIX flow export.
pub const NETFLOW: ProtocolId = ProtocolId(128);
pub const SFLOW: ProtocolId = ProtocolId(129);

/// Protocols of issue 14's eighth-session batch, with Netify's IDs.
/// Avast antivirus's `NOSA`-framed protocol to its cloud.
pub const AVAST: ProtocolId = ProtocolId(306);
pub const TEAMVIEWER: ProtocolId = ProtocolId(148);
/// WebSocket frames (RFC 6455) after an upgrade flowsieve did not see.
pub const WEBSOCKET: ProtocolId = ProtocolId(286);
/// Tailscale's disco messages beside its WireGuard.
pub const TAILSCALE: ProtocolId = ProtocolId(315);

/// Protocols of issue 14's ninth-session batch (protoG14): Netify's IDs where Netify lists them,
/// else flowsieve-only IDs (1435–1444) with nDPI's names.
/// The type-and-length framed protocol nDPI calls HP Virtual Machine Group Management.
pub const HP_VIRTGRP: ProtocolId = ProtocolId(275);
/// Riot Games' game traffic (the datagram trailers nDPI reads).
pub const RIOT_GAMES: ProtocolId = ProtocolId(292);
/// Crytek's CryEngine network protocol.
pub const CRYNETWORK: ProtocolId = ProtocolId(307);
/// Protocol Buffers messages sent bare over TCP or UDP.
pub const PROTOBUF: ProtocolId = ProtocolId(331);
/// SoftEther VPN's UDP control messages (flowsieve-only).
pub const SOFTETHER: ProtocolId = ProtocolId(1435);
/// The Raft consensus protocol's peer messages (canonical raft's framing; flowsieve-only).
pub const RAFT: ProtocolId = ProtocolId(1436);
/// Truphone's XMPP service (an XMPP stream addressed to its domain).
pub const TRUPHONE: ProtocolId = ProtocolId(101);
/// The `ZUG` datagram protocol nDPI names (flowsieve-only).
pub const ZUG: ProtocolId = ProtocolId(1437);
/// The Binary Floor Control Protocol (RFC 8855; flowsieve-only).
pub const BFCP: ProtocolId = ProtocolId(1438);
/// Saia-Burgess's EtherSIO (flowsieve-only).
pub const ETHERSIO: ProtocolId = ProtocolId(1439);
/// Saia-Burgess's Ether-S-Bus (flowsieve-only).
pub const ETHER_S_BUS: ProtocolId = ProtocolId(1440);
/// LonWorks' CNP/IP, EN 14908-4 (flowsieve-only).
pub const CNP_IP: ProtocolId = ProtocolId(1441);
/// Xbox consoles' UDP traffic (Netify's `Xbox`).
pub const XBOX: ProtocolId = ProtocolId(47);
/// Warcraft III's game protocol and Battle.net's messages around it.
pub const WARCRAFT3: ProtocolId = ProtocolId(116);
/// UltraSurf's own protocol over TCP.
pub const ULTRASURF: ProtocolId = ProtocolId(296);
/// LINE's voice and video calls.
pub const LINE_CALL: ProtocolId = ProtocolId(310);
/// Avast's SecureDNS resolver (a DNS flow whose first name starts `2.securedns`).
pub const AVAST_SECURE_DNS: ProtocolId = ProtocolId(264);
/// netcode.io, Yojimbo's connection protocol (flowsieve-only, nDPI's name).
pub const YOJIMBO: ProtocolId = ProtocolId(1480);
/// League of Legends: Wild Rift (flowsieve-only, nDPI's name).
pub const LOL_WILD_RIFT: ProtocolId = ProtocolId(1481);
/// Protocols of issue 14's thirteenth-session batch (dissD): Netify's IDs where Netify lists
/// them, else flowsieve-only IDs (1490–1499) with nDPI's names.
/// The eDonkey network's client and server protocol, with eMule's extensions.
pub const EDONKEY: ProtocolId = ProtocolId(1490);
/// Alibaba's DingTalk messenger's own protocol over TCP.
pub const DINGTALK: ProtocolId = ProtocolId(1491);
/// The imo.im messenger's calls over UDP.
pub const IMO: ProtocolId = ProtocolId(1492);
/// Amazon Prime Video's own framing (nDPI's `AmazonVideo`).
pub const AMAZON_VIDEO: ProtocolId = ProtocolId(1493);
/// Schneider Electric's UMAS, carried in Modbus/TCP function code 90.
pub const UMAS: ProtocolId = ProtocolId(1494);
/// PPStream, iQIYI's streaming protocol (Netify's `PPStream`, 54; nDPI's number 54, which it
/// now calls `iQIYI`).
pub const PPSTREAM: ProtocolId = ProtocolId(54);
/// Brazil's EAQ broadband measurement.
pub const EAQ: ProtocolId = ProtocolId(190);
/// Google Nest devices' log sink (nDPI's `NestLogSink`).
pub const NEST_LOG: ProtocolId = ProtocolId(43);
/// Games named from nDPI's wire facts.
pub const ARMAGETRON: ProtocolId = ProtocolId(104);
pub const CROSSFIRE: ProtocolId = ProtocolId(105);
pub const DOFUS: ProtocolId = ProtocolId(106);
pub const GUILDWARS: ProtocolId = ProtocolId(109);
pub const MAPLESTORY: ProtocolId = ProtocolId(113);
/// World of Kung Fu (nDPI's `WorldOfKungFu`).
pub const WOKUNGFU: ProtocolId = ProtocolId(117);
/// The Nano cryptocurrency's node protocol (flowsieve-only).
pub const NANO: ProtocolId = ProtocolId(1442);
/// Protocols of issue 14's twelfth-session batch (dissB): Netify's IDs where Netify lists
/// them, else flowsieve-only IDs (1470–1479) with nDPI's names.
/// collectd's binary network protocol.
pub const COLLECTD: ProtocolId = ProtocolId(171);
/// ZeroMQ's message transport protocol, ZMTP (nDPI's `ZeroMQ`).
pub const ZMQ: ProtocolId = ProtocolId(177);
/// Icecast's source protocol.
pub const ICECAST: ProtocolId = ProtocolId(52);
/// AFS's Rx RPC protocol.
pub const RX: ProtocolId = ProtocolId(223);
/// Viber's messaging and calls.
pub const VIBER: ProtocolId = ProtocolId(144);
/// VHUA's internet telephony.
pub const VHUA: ProtocolId = ProtocolId(184);
/// Apache Thrift's binary and compact protocols (flowsieve-only).
pub const THRIFT: ProtocolId = ProtocolId(1470);
/// JSON-RPC 2.0 over TCP (flowsieve-only).
pub const JSON_RPC: ProtocolId = ProtocolId(1471);

/// Protocols of issue 14's first dissector batch, with Netify's IDs where Netify lists them.
/// WhatsApp's chat connection.
pub const WHATSAPP: ProtocolId = ProtocolId(142);
/// Ethereum's peer-to-peer protocols (devp2p RLPx, discovery v4/v5).
pub const ETHEREUM: ProtocolId = ProtocolId(332);
/// Discord's voice connection (UDP); not in Netify's table, so a flowsieve-only ID
/// ([`FLOWSIEVE_FIRST_ID`]) with nDPI's name.
pub const DISCORD: ProtocolId = FLOWSIEVE_FIRST_ID;
pub const OICQ: ProtocolId = ProtocolId(320);
pub const ZABBIX: ProtocolId = ProtocolId(288);
pub const TOCABOCA: ProtocolId = ProtocolId(295);
/// Valve's Source engine game server queries.
pub const SOURCE_ENGINE: ProtocolId = ProtocolId(319);
/// Dropbox's LAN sync discovery.
pub const DROPBOX: ProtocolId = ProtocolId(121);
/// Financial Information eXchange.
pub const FIX: ProtocolId = ProtocolId(230);
pub const XMPP: ProtocolId = ProtocolId(67);
/// Tuya's local protocol (smart home devices).
pub const TUYA_LP: ProtocolId = ProtocolId(304);
pub const STARCRAFT: ProtocolId = ProtocolId(213);
pub const BACNET: ProtocolId = ProtocolId(318);
/// Canon's printer/scanner discovery.
pub const BJNP: ProtocolId = ProtocolId(204);
pub const DNP3: ProtocolId = ProtocolId(268);
pub const SPOTIFY: ProtocolId = ProtocolId(156);

pub const CAN: ProtocolId = ProtocolId(330);
/// RIPE Atlas measurements; not in Netify's table, so a flowsieve-only ID with nDPI's name.
pub const RIPE_ATLAS: ProtocolId = ProtocolId(1102);
/// KCP, a reliable transport over UDP; not in Netify's table, so a flowsieve-only ID with nDPI's name.
pub const KCP: ProtocolId = ProtocolId(1101);
/// DCE/RPC (Netify's `RPC`, the ID nDPI gave DCE/RPC before renumbering it).
pub const DCERPC: ProtocolId = ProtocolId(127);
pub const RMCP: ProtocolId = ProtocolId(329);
pub const HSRP: ProtocolId = ProtocolId(276);
pub const VNC: ProtocolId = ProtocolId(89);
pub const MQTT: ProtocolId = ProtocolId(222);
pub const SOCKS: ProtocolId = ProtocolId(172);
pub const MONGODB: ProtocolId = ProtocolId(280);
pub const AJP: ProtocolId = ProtocolId(139);
pub const UBNTAC2: ProtocolId = ProtocolId(31);
pub const COAP: ProtocolId = ProtocolId(27);
/// Bitcoin's peer-to-peer protocol.
pub const BITCOIN: ProtocolId = ProtocolId(323);
/// Apache Kafka; not in Netify's table, so a flowsieve-only ID with nDPI's name.
pub const KAFKA: ProtocolId = ProtocolId(1100);
/// NAT-PMP and PCP (RFC 6886, RFC 6887).
pub const NAT_PMP: ProtocolId = ProtocolId(303);
/// Elasticsearch's transport protocol.
pub const ELASTICSEARCH: ProtocolId = ProtocolId(305);

/// Netify's protocol table (netifyd's `nd-protos.hpp`, the copy in
/// `data/third-party/netify/protocols.tsv`), sorted by ID, followed by flowsieve-only protocols
/// (IDs from [`FLOWSIEVE_FIRST_ID`], nDPI's names). A test ties this table to that file. A
/// protocol flowsieve detects uses Netify's ID and name; an ID is never reused for another
/// protocol. netifyd's `TODO` entry (ID 4294967295) does not fit a `u16` and is left out.
pub const PROTOCOLS: &[Protocol] = &[
    Protocol { id: ProtocolId(0), name: "Unknown" },
    Protocol { id: ProtocolId(1), name: "FTP/C" },
    Protocol { id: ProtocolId(2), name: "POP3" },
    Protocol { id: ProtocolId(3), name: "SMTP" },
    Protocol { id: ProtocolId(4), name: "IMAP" },
    Protocol { id: ProtocolId(5), name: "DNS" },
    Protocol { id: ProtocolId(6), name: "IPP" },
    Protocol { id: ProtocolId(7), name: "HTTP" },
    Protocol { id: ProtocolId(8), name: "MDNS" },
    Protocol { id: ProtocolId(9), name: "NTP" },
    Protocol { id: ProtocolId(10), name: "NETBIOS" },
    Protocol { id: ProtocolId(11), name: "NFS" },
    Protocol { id: ProtocolId(12), name: "SSDP" },
    Protocol { id: ProtocolId(13), name: "BGP" },
    Protocol { id: ProtocolId(14), name: "SNMP" },
    Protocol { id: ProtocolId(15), name: "XDMCP" },
    Protocol { id: ProtocolId(16), name: "SMBv1" },
    Protocol { id: ProtocolId(17), name: "SYSLOG" },
    Protocol { id: ProtocolId(18), name: "DHCP" },
    Protocol { id: ProtocolId(19), name: "PGSQL" },
    Protocol { id: ProtocolId(20), name: "MYSQL" },
    Protocol { id: ProtocolId(21), name: "FTP/S" },
    Protocol { id: ProtocolId(23), name: "POP3/S" },
    Protocol { id: ProtocolId(27), name: "COAP" },
    Protocol { id: ProtocolId(28), name: "VMWARE" },
    Protocol { id: ProtocolId(29), name: "SMTP/S" },
    Protocol { id: ProtocolId(31), name: "UBNTAC2" },
    Protocol { id: ProtocolId(32), name: "Kontiki" },
    Protocol { id: ProtocolId(35), name: "Gnutella" },
    Protocol { id: ProtocolId(37), name: "BitTorrent" },
    Protocol { id: ProtocolId(38), name: "Skype/Teams/Call" },
    Protocol { id: ProtocolId(39), name: "SignalCall" },
    Protocol { id: ProtocolId(40), name: "Memcached" },
    Protocol { id: ProtocolId(41), name: "SMBv23" },
    Protocol { id: ProtocolId(42), name: "Mining" },
    Protocol { id: ProtocolId(43), name: "NestLog" },
    Protocol { id: ProtocolId(44), name: "Modbus" },
    Protocol { id: ProtocolId(47), name: "Xbox" },
    Protocol { id: ProtocolId(48), name: "QQ" },
    Protocol { id: ProtocolId(50), name: "RTSP" },
    Protocol { id: ProtocolId(51), name: "IMAP/S" },
    Protocol { id: ProtocolId(52), name: "IceCast" },
    Protocol { id: ProtocolId(54), name: "PPStream" },
    Protocol { id: ProtocolId(55), name: "Zattoo" },
    Protocol { id: ProtocolId(59), name: "TVUplayer" },
    Protocol { id: ProtocolId(61), name: "QQLive" },
    Protocol { id: ProtocolId(65), name: "IRC" },
    Protocol { id: ProtocolId(67), name: "XMPP" },
    Protocol { id: ProtocolId(73), name: "VRRP" },
    Protocol { id: ProtocolId(74), name: "Steam" },
    Protocol { id: ProtocolId(75), name: "HalfLife2" },
    Protocol { id: ProtocolId(76), name: "WoW" },
    Protocol { id: ProtocolId(77), name: "Telnet" },
    Protocol { id: ProtocolId(78), name: "STUN" },
    Protocol { id: ProtocolId(79), name: "IPSEC" },
    Protocol { id: ProtocolId(80), name: "GRE" },
    Protocol { id: ProtocolId(81), name: "ICMP" },
    Protocol { id: ProtocolId(82), name: "IGMP" },
    Protocol { id: ProtocolId(83), name: "EGP" },
    Protocol { id: ProtocolId(84), name: "SCTP" },
    Protocol { id: ProtocolId(85), name: "OSPF" },
    Protocol { id: ProtocolId(86), name: "IPinIP" },
    Protocol { id: ProtocolId(87), name: "RTP" },
    Protocol { id: ProtocolId(88), name: "RDP" },
    Protocol { id: ProtocolId(89), name: "VNC" },
    Protocol { id: ProtocolId(91), name: "TLS" },
    Protocol { id: ProtocolId(92), name: "SSH" },
    Protocol { id: ProtocolId(93), name: "NNTP" },
    Protocol { id: ProtocolId(94), name: "MGCP" },
    Protocol { id: ProtocolId(95), name: "IAX" },
    Protocol { id: ProtocolId(96), name: "TFTP" },
    Protocol { id: ProtocolId(97), name: "AFP" },
    Protocol { id: ProtocolId(100), name: "SIP" },
    Protocol { id: ProtocolId(101), name: "TruPhone" },
    Protocol { id: ProtocolId(102), name: "ICMPv6" },
    Protocol { id: ProtocolId(103), name: "DHCPv6" },
    Protocol { id: ProtocolId(104), name: "Armagetron" },
    Protocol { id: ProtocolId(105), name: "Crossfire" },
    Protocol { id: ProtocolId(106), name: "Dofus" },
    Protocol { id: ProtocolId(109), name: "Guildwars" },
    Protocol { id: ProtocolId(111), name: "Kerberos" },
    Protocol { id: ProtocolId(112), name: "LDAP" },
    Protocol { id: ProtocolId(113), name: "MapleStory" },
    Protocol { id: ProtocolId(114), name: "MSSQL/TDS" },
    Protocol { id: ProtocolId(115), name: "PPTP" },
    Protocol { id: ProtocolId(116), name: "Warcraft3" },
    Protocol { id: ProtocolId(117), name: "WoKungFu" },
    Protocol { id: ProtocolId(121), name: "Dropbox" },
    Protocol { id: ProtocolId(127), name: "RPC" },
    Protocol { id: ProtocolId(128), name: "NetFlow" },
    Protocol { id: ProtocolId(129), name: "SFlow" },
    Protocol { id: ProtocolId(130), name: "HTTP/Connect" },
    Protocol { id: ProtocolId(131), name: "HTTP/Proxy" },
    Protocol { id: ProtocolId(132), name: "Citrix" },
    Protocol { id: ProtocolId(138), name: "CHECKMK" },
    Protocol { id: ProtocolId(139), name: "AJP" },
    Protocol { id: ProtocolId(142), name: "WhatsApp" },
    Protocol { id: ProtocolId(144), name: "Viber" },
    Protocol { id: ProtocolId(146), name: "RADIUS" },
    Protocol { id: ProtocolId(148), name: "TeamViewer" },
    Protocol { id: ProtocolId(150), name: "LotusNotes" },
    Protocol { id: ProtocolId(151), name: "SAP" },
    Protocol { id: ProtocolId(152), name: "GTP" },
    Protocol { id: ProtocolId(153), name: "WSD" },
    Protocol { id: ProtocolId(154), name: "LLMNR" },
    Protocol { id: ProtocolId(155), name: "RemoteScan" },
    Protocol { id: ProtocolId(156), name: "Spotify" },
    Protocol { id: ProtocolId(158), name: "H323" },
    Protocol { id: ProtocolId(159), name: "OpenVPN" },
    Protocol { id: ProtocolId(160), name: "NOE" },
    Protocol { id: ProtocolId(161), name: "Cisco/VPN" },
    Protocol { id: ProtocolId(162), name: "TeamSpeak" },
    Protocol { id: ProtocolId(164), name: "Cisco/Skinny" },
    Protocol { id: ProtocolId(165), name: "RTCP" },
    Protocol { id: ProtocolId(166), name: "RSYNC" },
    Protocol { id: ProtocolId(167), name: "Oracle" },
    Protocol { id: ProtocolId(168), name: "Corba" },
    Protocol { id: ProtocolId(170), name: "Whois/DAS" },
    Protocol { id: ProtocolId(171), name: "Collectd" },
    Protocol { id: ProtocolId(172), name: "SOCKS" },
    Protocol { id: ProtocolId(173), name: "Nintendo" },
    Protocol { id: ProtocolId(174), name: "RTMP" },
    Protocol { id: ProtocolId(175), name: "FTP/D" },
    Protocol { id: ProtocolId(177), name: "ZMQ" },
    Protocol { id: ProtocolId(181), name: "Megaco" },
    Protocol { id: ProtocolId(182), name: "Redis" },
    Protocol { id: ProtocolId(184), name: "VHUA" },
    Protocol { id: ProtocolId(185), name: "Telegram" },
    Protocol { id: ProtocolId(188), name: "QUIC" },
    Protocol { id: ProtocolId(190), name: "EAQ" },
    Protocol { id: ProtocolId(191), name: "OOKLA" },
    Protocol { id: AMQP, name: "AMQP" },
    Protocol { id: ProtocolId(194), name: "KakaoTalk/Voice" },
    Protocol { id: ProtocolId(196), name: "HTTP/S" },
    Protocol { id: ProtocolId(198), name: "MPEGTS" },
    Protocol { id: ProtocolId(204), name: "BJNP" },
    Protocol { id: ProtocolId(206), name: "WireGuard" },
    Protocol { id: ProtocolId(207), name: "SMPP" },
    Protocol { id: ProtocolId(209), name: "TINC" },
    Protocol { id: ProtocolId(213), name: "Starcraft" },
    Protocol { id: ProtocolId(214), name: "Teredo" },
    Protocol { id: ProtocolId(222), name: "MQTT" },
    Protocol { id: ProtocolId(223), name: "RX" },
    Protocol { id: ProtocolId(226), name: "Git" },
    Protocol { id: ProtocolId(227), name: "DRDA" },
    Protocol { id: ProtocolId(229), name: "SOMEIP" },
    Protocol { id: ProtocolId(230), name: "FIX" },
    Protocol { id: ProtocolId(235), name: "CSGO" },
    Protocol { id: ProtocolId(236), name: "LISP" },
    Protocol { id: ProtocolId(237), name: "Diameter" },
    Protocol { id: APPLE_PUSH, name: "Apple/Push" },
    Protocol { id: ProtocolId(243), name: "DoH" },
    Protocol { id: ProtocolId(244), name: "DTLS" },
    Protocol { id: ProtocolId(245), name: "Google/Meet/Duo" },
    Protocol { id: ProtocolId(246), name: "WhatsApp/Call" },
    Protocol { id: ProtocolId(247), name: "Skype/Teams" },
    Protocol { id: ProtocolId(248), name: "ZOOM" },
    Protocol { id: ProtocolId(255), name: "Snapchat/Call" },
    Protocol { id: ProtocolId(257), name: "SIP/S" },
    Protocol { id: ProtocolId(258), name: "MQTT/S" },
    Protocol { id: ProtocolId(259), name: "NNTP/S" },
    Protocol { id: ProtocolId(260), name: "DoT" },
    Protocol { id: ProtocolId(261), name: "DoQ" },
    Protocol { id: ProtocolId(263), name: "AmongUs" },
    Protocol { id: ProtocolId(264), name: "AVASTSecureDNS" },
    Protocol { id: ProtocolId(265), name: "CAPWAP" },
    Protocol { id: ProtocolId(266), name: "Cassandra" },
    Protocol { id: ProtocolId(267), name: "CheckPointHA" },
    Protocol { id: ProtocolId(268), name: "DNP3" },
    Protocol { id: ProtocolId(269), name: "DNSCrypt" },
    Protocol { id: ProtocolId(270), name: "EtherNet/IP" },
    Protocol { id: ProtocolId(271), name: "Genshin/Impact" },
    Protocol { id: ProtocolId(272), name: "GTP/C" },
    Protocol { id: ProtocolId(273), name: "GTP/P" },
    Protocol { id: ProtocolId(274), name: "GTP/U" },
    Protocol { id: ProtocolId(275), name: "HP/VirtGrp" },
    Protocol { id: ProtocolId(276), name: "Cisco/HSRP" },
    Protocol { id: ProtocolId(277), name: "IEC60870/5/104" },
    Protocol { id: ProtocolId(279), name: "IRC/S" },
    Protocol { id: ProtocolId(280), name: "MongoDB" },
    Protocol { id: ProtocolId(281), name: "NATS" },
    Protocol { id: ProtocolId(282), name: "S7comm" },
    Protocol { id: ProtocolId(283), name: "SOAP" },
    Protocol { id: ProtocolId(284), name: "Targus/Dataspeed" },
    Protocol { id: ProtocolId(285), name: "VXLAN" },
    Protocol { id: ProtocolId(286), name: "Websocket" },
    Protocol { id: ProtocolId(287), name: "Z39/50" },
    Protocol { id: ProtocolId(288), name: "Zabbix" },
    Protocol { id: ProtocolId(289), name: "i3D" },
    Protocol { id: ProtocolId(290), name: "MPEG/Dash" },
    Protocol { id: ProtocolId(291), name: "RakNet" },
    Protocol { id: ProtocolId(292), name: "Riot/Games" },
    Protocol { id: ProtocolId(293), name: "RSH" },
    Protocol { id: ProtocolId(294), name: "SD/RTN" },
    Protocol { id: ProtocolId(295), name: "TocaBoca" },
    Protocol { id: ProtocolId(296), name: "UltraSurf" },
    Protocol { id: ProtocolId(297), name: "Xiaomi" },
    Protocol { id: ProtocolId(298), name: "PGM" },
    Protocol { id: ProtocolId(299), name: "PIM" },
    Protocol { id: ProtocolId(300), name: "Threema" },
    Protocol { id: ProtocolId(301), name: "Alibaba/Cloud" },
    Protocol { id: ProtocolId(302), name: "SYSLOG/S" },
    Protocol { id: ProtocolId(303), name: "NAT/PMP" },
    Protocol { id: ProtocolId(304), name: "Tuya/LP" },
    Protocol { id: ProtocolId(305), name: "ElasticSearch" },
    Protocol { id: ProtocolId(306), name: "AVAST" },
    Protocol { id: ProtocolId(307), name: "CryNetwork" },
    Protocol { id: ProtocolId(308), name: "FastCGI" },
    Protocol { id: ProtocolId(309), name: "KISMET" },
    Protocol { id: ProtocolId(310), name: "Line/Call" },
    Protocol { id: ProtocolId(311), name: "Munin" },
    Protocol { id: ProtocolId(312), name: "Syncthing" },
    Protocol { id: ProtocolId(313), name: "TiVo/Connect" },
    Protocol { id: ProtocolId(314), name: "TPLINK/SHP" },
    Protocol { id: ProtocolId(315), name: "Tailscale" },
    Protocol { id: ProtocolId(316), name: "Meraki/Cloud" },
    Protocol { id: ProtocolId(317), name: "HerosOfTheStorm" },
    Protocol { id: ProtocolId(318), name: "BACnet" },
    Protocol { id: ProtocolId(319), name: "SourceEngine" },
    Protocol { id: ProtocolId(320), name: "OICQ" },
    Protocol { id: ProtocolId(321), name: "SRTP" },
    Protocol { id: ProtocolId(322), name: "XMPP/S" },
    Protocol { id: ProtocolId(323), name: "Bitcoin" },
    Protocol { id: ProtocolId(325), name: "SLP" },
    Protocol { id: ProtocolId(326), name: "HTTP/2" },
    Protocol { id: ProtocolId(327), name: "Facebook/VoIP" },
    Protocol { id: ProtocolId(328), name: "HAProxy" },
    Protocol { id: ProtocolId(329), name: "RMCP" },
    Protocol { id: ProtocolId(330), name: "CAN" },
    Protocol { id: ProtocolId(331), name: "Protobuf" },
    Protocol { id: ProtocolId(332), name: "Ethereum" },
    Protocol { id: ProtocolId(333), name: "Telegram/VoIP" },
    // flowsieve-only, nDPI's name.
    Protocol { id: DISCORD, name: "Discord" },
    Protocol { id: KAFKA, name: "Kafka" },
    Protocol { id: KCP, name: "KCP" },
    Protocol { id: RIPE_ATLAS, name: "RipeAtlas" },
    Protocol { id: JRMI, name: "JRMI" },
    Protocol { id: HISLIP, name: "HiSLIP" },
    Protocol { id: MONERO, name: "Monero" },
    Protocol { id: CEPH, name: "Ceph" },
    Protocol { id: LDP, name: "LDP" },
    Protocol { id: BFD, name: "BFD" },
    Protocol { id: PTPV2, name: "PTPv2" },
    Protocol { id: HART_IP, name: "HART-IP" },
    Protocol { id: UFTP, name: "UFTP" },
    Protocol { id: TRDP, name: "TRDP" },
    Protocol { id: KNXNET_IP, name: "KNXnet_IP" },
    Protocol { id: RTPS, name: "RTPS" },
    Protocol { id: OPC_UA, name: "OPC-UA" },
    Protocol { id: STOMP, name: "STOMP" },
    Protocol { id: GEARMAN, name: "Gearman" },
    Protocol { id: HL7, name: "HL7" },
    Protocol { id: OPENFLOW, name: "OpenFlow" },
    Protocol { id: NOMACHINE, name: "NoMachine" },
    Protocol { id: RADMIN, name: "Radmin" },
    Protocol { id: ROUGHTIME, name: "Roughtime" },
    Protocol { id: ISCSI, name: "iSCSI" },
    Protocol { id: HLS, name: "HLS" },
    Protocol { id: OCSP, name: "OCSP" },
    Protocol { id: PROFINET_IO, name: "PROFINET_IO" },
    Protocol { id: MUMBLE, name: "Mumble" },
    Protocol { id: WEBDAV, name: "WebDAV" },
    Protocol { id: MS_RPCH, name: "MS-RPCH" },
    Protocol { id: CLOUDFLARE_WARP, name: "CloudflareWarp" },
    Protocol { id: EGD, name: "EthernetGlobalData" },
    Protocol { id: LUSTRE, name: "Lustre" },
    Protocol { id: S7COMM_PLUS, name: "S7CommPlus" },
    Protocol { id: MMS, name: "ISO9506-1-MMS" },
    Protocol { id: CIP, name: "CIP" },
    Protocol { id: IEC62056, name: "IEC62056" },
    Protocol { id: ANSI_C1222, name: "ANSI_C1222" },
    Protocol { id: ATG, name: "ATG" },
    Protocol { id: BECKHOFF_ADS, name: "BeckhoffADS" },
    Protocol { id: OPENWIRE, name: "OpenWire" },
    Protocol { id: PFCP, name: "PFCP" },
    Protocol { id: FLUTE, name: "FLUTE" },
    Protocol { id: SOFTETHER, name: "Softether" },
    Protocol { id: RAFT, name: "Raft" },
    Protocol { id: ZUG, name: "ZUG" },
    Protocol { id: BFCP, name: "BFCP" },
    Protocol { id: ETHERSIO, name: "EtherSIO" },
    Protocol { id: ETHER_S_BUS, name: "Ether-S-Bus" },
    Protocol { id: CNP_IP, name: "CNP-IP" },
    Protocol { id: NANO, name: "Nano" },
    Protocol { id: EPIC_GAMES, name: "EpicGames" },
    Protocol { id: ACTIVISION, name: "Activision" },
    Protocol { id: TENCENT_GAMES, name: "TencentGames" },
    Protocol { id: GAIJIN, name: "GaijinEntertainment" },
    Protocol { id: NETEASE_GAMES, name: "NetEaseGames" },
    Protocol { id: HOTS, name: "Heroes_of_the_Storm" },
    Protocol { id: COD_MOBILE, name: "CoD_Mobile" },
    Protocol { id: TES_ONLINE, name: "TES_Online" },
    Protocol { id: STEAM_DATAGRAM_RELAY, name: "SteamDatagramRelay" },
    Protocol { id: PATH_OF_EXILE, name: "PathofExile" },
    Protocol { id: SONOS, name: "Sonos" },
    Protocol { id: IEEE_C37118, name: "IEEE-C37118" },
    Protocol { id: DLEP, name: "DLEP" },
    Protocol { id: FINS, name: "FINS" },
    Protocol { id: THRIFT, name: "Thrift" },
    Protocol { id: JSON_RPC, name: "JSON-RPC" },
    Protocol { id: YOJIMBO, name: "Yojimbo" },
    Protocol { id: LOL_WILD_RIFT, name: "LoLWildRift" },
    Protocol { id: EDONKEY, name: "eDonkey" },
    Protocol { id: DINGTALK, name: "DingTalk" },
    Protocol { id: IMO, name: "IMO" },
    Protocol { id: AMAZON_VIDEO, name: "AmazonVideo" },
    Protocol { id: UMAS, name: "UMAS" },
];

/// First ID for protocols Netify's table does not list: its table ends at 333 and its category
/// file names retired IDs from 30030 up, so 1000–29999 is free.
pub const FLOWSIEVE_FIRST_ID: ProtocolId = ProtocolId(1000);

/// Names flowsieve used before it took over Netify's: still accepted in criteria
/// (`proto == 'SMTPS'`), never printed.
pub const ALIASES: &[(&str, ProtocolId)] = &[
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
pub fn name_of(id: ProtocolId) -> &'static str {
    PROTOCOLS.binary_search_by_key(&id, |p| p.id).map_or("Unknown", |i| PROTOCOLS[i].name)
}

/// ID for a protocol name or old alias, compared case-insensitively as Netify does.
pub fn id_of(name: &str) -> Option<ProtocolId> {
    PROTOCOLS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.id)
        .or_else(|| ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(name)).map(|&(_, id)| id))
}

/// Protocols named by the IP protocol number alone, with no dissection (IANA protocol
/// numbers): ICMP 1, IGMP 2, GRE 47, ESP 50 and AH 51 (IPsec), ICMPv6 58, OSPF 89, PIM 103,
/// VRRP 112, PGM 113, SCTP 132.
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
        113 => PGM,
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
        assert_eq!(name_of(ProtocolId(1)), "FTP/C");
        assert_eq!(name_of(ProtocolId(999)), "Unknown");
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
            assert_eq!(name_of(ProtocolId(id)), name, "protocol {id}");
            assert_eq!(id_of(name), Some(ProtocolId(id)), "{name}");
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
            WHATSAPP,
            ETHEREUM,
            DISCORD,
            OICQ,
            ZABBIX,
            TOCABOCA,
            SOURCE_ENGINE,
            DROPBOX,
            FIX,
            XMPP,
            TUYA_LP,
            BACNET,
            BJNP,
            DNP3,
            SPOTIFY,
            CASSANDRA,
            LDP,
            RTMP,
            CISCO_SKINNY,
            SOMEIP,
            BFD,
            ETHERNET_IP,
            WSD,
            H323,
            TINC,
            TIVO_CONNECT,
            AFP,
            HART_IP,
            NNTP,
            ORACLE,
            PTPV2,
            UFTP,
            TRDP,
            DNSCRYPT,
            RAKNET,
            CAPWAP,
            TELEGRAM,
            APPLE_PUSH,
            AMQP,
            TELEGRAM_VOIP,
            MODBUS,
            KNXNET_IP,
            CORBA,
            RTPS,
            OPC_UA,
            STOMP,
            GEARMAN,
            HL7,
            MEMCACHED,
            REDIS,
            NATS,
            OPENFLOW,
            IPP,
            SOAP,
            MPEG_DASH,
            HLS,
            OCSP,
            PROFINET_IO,
            WEBDAV,
            MS_RPCH,
            CLOUDFLARE_WARP,
            EGD,
            LUSTRE,
            GTP_P,
            MUMBLE,
            S7COMM_PLUS,
            MMS,
            CIP,
            IEC62056,
            ANSI_C1222,
            ATG,
            BECKHOFF_ADS,
            OPENWIRE,
            PFCP,
            FLUTE,
            EPIC_GAMES,
            ACTIVISION,
            TENCENT_GAMES,
            GAIJIN,
            NETEASE_GAMES,
            HOTS,
            COD_MOBILE,
            TES_ONLINE,
            STEAM_DATAGRAM_RELAY,
            PATH_OF_EXILE,
            SONOS,
            STEAM,
            HALF_LIFE2,
            RSH,
            TARGUS_DATASPEED,
            AMONG_US,
            CHECKPOINT_HA,
            MERAKI_CLOUD,
            TEAMSPEAK,
            SMPP,
            DRDA,
            IAX,
            KISMET,
            CHECKMK,
            Z39_50,
            IRC,
            S7COMM,
            NFS,
            NINTENDO,
            THREEMA,
            GENSHIN_IMPACT,
            ZOOM,
            CITRIX,
            NOMACHINE,
            RADMIN,
            ROUGHTIME,
            LOTUS_NOTES,
            VMWARE,
            CISCO_VPN,
            TPLINK_SHP,
            GTP,
            FTP_DATA,
            ISCSI,
            PGM,
            WOW,
            PPTP,
            MPEG_TS,
            MEGACO,
            HAPROXY,
            HTTP2,
            NETFLOW,
            SFLOW,
            AVAST,
            TEAMVIEWER,
            WEBSOCKET,
            TAILSCALE,
            SIGNAL_CALL,
            HP_VIRTGRP,
            RIOT_GAMES,
            CRYNETWORK,
            PROTOBUF,
            TRUPHONE,
            SOFTETHER,
            RAFT,
            ZUG,
            BFCP,
            ETHERSIO,
            ETHER_S_BUS,
            CNP_IP,
            NANO,
            TFTP,
            DIAMETER,
            MGCP,
            XDMCP,
            LISP,
            IEC60870_5_104,
            IEEE_C37118,
            DLEP,
            FINS,
        ] {
            assert_ne!(name_of(id), "Unknown", "constant {id}");
        }
    }

    /// A constant's ID is the one Netify gives the protocol its name says (DTLS was once 245,
    /// Netify's Google/Meet/Duo).
    #[test]
    fn constants_have_the_ids_of_their_names() {
        let cases = [
            (TLS, "TLS"),
            (DTLS, "DTLS"),
            (QUIC, "QUIC"),
            (HTTPS, "HTTP/S"),
            (DOT, "DoT"),
            (DOH, "DoH"),
            (DOQ, "DoQ"),
            (SMTPS, "SMTP/S"),
            (IMAPS, "IMAP/S"),
            (POPS, "POP3/S"),
            (FTPS, "FTP/S"),
            (NNTPS, "NNTP/S"),
            (MQTTS, "MQTT/S"),
            (SIPS, "SIP/S"),
            (SYSLOGS, "SYSLOG/S"),
            (IRCS, "IRC/S"),
            (XMPPS, "XMPP/S"),
            (STUN, "STUN"),
            (COAP, "COAP"),
            (SMBV23, "SMBv23"),
            (MSSQL_TDS, "MSSQL/TDS"),
            (NINTENDO, "Nintendo"),
            (THREEMA, "Threema"),
            (GENSHIN_IMPACT, "Genshin/Impact"),
            (ZOOM, "ZOOM"),
            (CITRIX, "Citrix"),
            (LOTUS_NOTES, "LotusNotes"),
            (VMWARE, "VMWARE"),
            (CISCO_VPN, "Cisco/VPN"),
            (TPLINK_SHP, "TPLINK/SHP"),
            (GTP, "GTP"),
            (FTP_DATA, "FTP/D"),
            (PGM, "PGM"),
            (WOW, "WoW"),
            (PPTP, "PPTP"),
            (MPEG_TS, "MPEGTS"),
            (MEGACO, "Megaco"),
            (HAPROXY, "HAProxy"),
            (HTTP2, "HTTP/2"),
            (NETFLOW, "NetFlow"),
            (SFLOW, "SFlow"),
            (AVAST, "AVAST"),
            (TEAMVIEWER, "TeamViewer"),
            (WEBSOCKET, "Websocket"),
            (TAILSCALE, "Tailscale"),
            (SIGNAL_CALL, "SignalCall"),
            (STEAM, "Steam"),
            (HALF_LIFE2, "HalfLife2"),
            (HP_VIRTGRP, "HP/VirtGrp"),
            (RIOT_GAMES, "Riot/Games"),
            (CRYNETWORK, "CryNetwork"),
            (PROTOBUF, "Protobuf"),
            (TRUPHONE, "TruPhone"),
        ];
        for (id, name) in cases {
            assert_eq!(name_of(id), name, "constant with ID {id}");
        }
    }
}
