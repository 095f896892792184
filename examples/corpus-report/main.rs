//! Compare flowsieve's per-flow output with what nDPI reports for its own test corpus.
//!
//! ```sh
//! cargo run --release --example corpus-report -- [CORPUS_DIR]
//! ```
//!
//! `CORPUS_DIR` defaults to `flowsieve::corpus_dir()` (`$FLOWSIEVE_CORPUS` when set). The
//! corpus folder holds `pcap/` and `truth.jsonl` (one nDPI flow per line; see its README).
//! Every capture is replayed through the library exactly as `flowsieve replay --json` does; each
//! flowsieve flow is paired with nDPI's by IP protocol, both endpoints (either direction) and
//! VLAN. For every field the report counts the flows nDPI has a value for and how many of them
//! flowsieve agrees with, disagrees with, or has no value for. Flows nDPI calls Unknown are left
//! out of the field counts; flowsieve's detections among them are listed separately.
//!
//! Protocols are compared by ID. Netify's protocol IDs (flowsieve's, see
//! `flowsieve::facts::protocol`) mostly follow nDPI's, so nDPI's `master_id` maps to itself,
//! except for the names listed below and any nDPI name Netify's table spells the same
//! (letters and digits without case: `collectd` is `Collectd`, 171, where nDPI's number is 298):
//! - nDPI `DoH_DoT` (196) is TLS on the wire; Netify's 196 is `HTTP/S`, so it maps to TLS (91).
//! - where nDPI says `TLS` (91), the names netifyd gives TLS by port or by the server's ALPN
//!   (`HTTP/S` on 443, `IMAP/S` on 993, `MQTT/S` on 8883 …, see `dissect::tls` and
//!   docs/FLOW-ACTIONS.md, "TLS and QUIC naming") count as TLS: same wire protocol, Netify's
//!   name. Only there: flowsieve's `HTTP/S` where nDPI says `HTTP` still disagrees.
//! - Netify's `DoT`, `DoH` and `DoQ` (260, 243, 261) are compared as their transport, TLS (91) or
//!   QUIC (188): nDPI names them as the application `DoH_DoT` over TLS or QUIC.
//! - protocols Netify numbers differently from nDPI 4.11 map by nDPI's name: `DTLS` (nDPI 30,
//!   Netify 244), `IP_PIM` (297 / 299 `PIM`), `Service_Location_Protocol` (347 / 325 `SLP`),
//!   `FTPS` (311 / 21 `FTP/S`), `SD-RTN` (171 / 294 `SD/RTN`), `Munin` (329 / 311), `Xiaomi`
//!   (287 / 297), `FastCGI` (310 / 308), `Syncthing` (313 / 312); nDPI's `JRMI`, `HiSLIP`,
//!   `Monero` and `Ceph` map to flowsieve-only IDs.
//! - the same for protocols of issue 14's dissectors: `ETHEREUM`, `Discord`, `OICQ`, `Zabbix`,
//!   `TocaBoca`, `Source_Engine`, `TuyaLP`, `BACnet`, `DNP3`.
//! - protocols Netify does not list get flowsieve-only IDs and nDPI's names, and those whose
//!   nDPI name or ID differs from Netify's map by name: `Elasticsearch` (Netify `ElasticSearch`
//!   305), `NAT-PMP` (`NAT/PMP` 303), `Kafka` (1100), `BITCOIN` (`Bitcoin` 323), `MongoDB` (280),
//!   `HSRP` (`Cisco/HSRP` 276), `RMCP` (329), `DCERPC` (`RPC` 127), `KCP` (1101), `RipeAtlas`
//!   (1102), `Controller_Area_Network` (`CAN` 330).
//! - flowsieve's IPP, SOAP, MPEG/Dash, HLS, OCSP, WebDAV, MS-RPCH, and the Gnutella transfers and BitTorrent
//!   tracker announces of `dissect::http_payload` (named from the HTTP message's media type,
//!   method, target or body) count as HTTP where nDPI says HTTP: nDPI names them
//!   as applications over HTTP (`HTTP.IPP`), the wire protocol is HTTP. nDPI's own `SOAP`,
//!   `MpegDash`, `HLS`, `OCSP`, `WebDAV` and `MS-RPCH` map by name. Likewise SMB carried in NetBIOS (`SMBv1`,
//!   `SMBv23`, see `dissect::netbios`) counts as NetBIOS where nDPI says `NetBIOS.SMBv1`, and PROFINET IO (`dissect::dcerpc`)
//!   as DCE/RPC where nDPI says `DCERPC.PROFINET_IO`, UMAS as Modbus where nDPI says `Modbus.UMAS`; GTP' (Netify's `GTP/P`) counts as GTP
//!   where nDPI says `GTP.GTP_PRIME`.
//! - Netify's `Telegram/VoIP` (333, calls through Telegram's UDP reflectors) is compared as
//!   `Telegram` (185): nDPI 4.11 names those calls with the messenger.
//! - Netify's own soft dissectors (the `nsd:` lines of its application list, compiled into
//!   `data/apps.conf`; docs/FLOW-ACTIONS.md §5) rename the protocol of some applications' flows,
//!   and netifyd reports the new name: Signal's STUN on 3478 (or on 443) is `SignalCall` (39),
//!   Zoom on 8801 is `ZOOM` (248), Telegram's `HTTP/S` is `Telegram` (185). nDPI names the same
//!   flows by their transport and the application (`STUN.SignalVoip`, `DTLS.Zoom`,
//!   `TLS.Telegram`): where nDPI's application is the one the line names, the names agree (see
//!   [`SOFT_RENAMES`]). Where nDPI names no such application the flow still disagrees.
//! - issue 14's fourth batch, by nDPI's name: `Cassandra` (nDPI 264, Netify 266), `LDP`
//!   (flowsieve-only 1204), `BFD` (1205), `EthernetIP` (278 / 270 `EtherNet/IP`), `TiVoConnect`
//!   (308 / 313 `TiVo/Connect`), `HART-IP` (1207), `Usenet` (Netify's `NNTP`, 93 in both), `PTPv2`
//!   (1206), `UFTP` (1208), `TRDP` (1209), `DNScrypt` (208 / 269 `DNSCrypt`), `RakNet` (286 / 291),
//!   `CAPWAP` (247 / 265), `KNXnet_IP` (1210), `RTPS` (1211), `OPC-UA` (1212), `STOMP` (1213),
//!   `Gearman` (1214), `HL7` (1215), `RESP` (Netify's `Redis`, 182 in both), `Nats` (68 / 281
//!   `NATS`), `OpenFlow` (1216), `Z3950` (260 / 287 `Z39/50`), `S7Comm` (249 / 282 `S7comm`).
//! - issue 14's protoF14 batch, by nDPI's name: `S7CommPlus` (1425), `ISO9506-1-MMS` (1426),
//!   `CIP` (1427), `IEC62056` (1428), `ANSI_C1222` (1429), `ATG` (1430), `BeckhoffADS` (1431),
//!   `OpenWire` (1432), `PFCP` (1433), `FLUTE` (1434) map to flowsieve-only IDs; `RSH` (293),
//!   `TargusDataspeed` (Netify's `Targus/Dataspeed` 284), `AmongUs` (263), `CPHA`
//!   (`CheckPointHA` 267), `MerakiCloud` (`Meraki/Cloud` 316) to Netify's.
//! - the eighth session's: `AVAST` (nDPI 307, Netify 306), `WebSocket` (251 / 286 `Websocket`),
//!   `Tailscale` (24 / 315); `TeamViewer` is 148 in both.
//! - the ninth session's games, by nDPI's name, to flowsieve-only IDs: `EpicGames` (1445),
//!   `Activision` (1446), `TencentGames` (1447), `GaijinEntertainment` (1448), `NetEaseGames`
//!   (1449), `Heroes_of_the_Storm` (1450), `CoD_Mobile` (1451), `TES_Online` (1452),
//!   `SteamDatagramRelay` (1453), `PathofExile` (1454); `Steam` (74), `HalfLife2` (75) and
//!   `GenshinImpact` (Netify's `Genshin/Impact` 271) to Netify's.
//! - the tenth session's (smallG15): `Sonos` to flowsieve-only 1455 (application `netify.sonos`).
//! - the twelfth session's: `AliCloud` (nDPI 306) is Netify's `Alibaba/Cloud` (301),
//!   `NestLogSink` Netify's `NestLog` (43), `WorldOfKungFu` Netify's `WoKungFu` (117), `IEC60870` (nDPI 245) Netify's
//!   `IEC60870/5/104` (277), `ZeroMQ` Netify's `ZMQ` (177).
//! - the ninth session's (protoG14): `HP_VIRTGRP` (nDPI 256, Netify 275 `HP/VirtGrp`),
//!   `RiotGames` (302 / 292 `Riot/Games`), `CryNetwork` (314 / 307), `Protobuf` (353 / 331);
//!   `Softether` (1435), `Raft` (1436), `ZUG` (1437), `BFCP` (1438), `EtherSIO` (1439),
//!   `Ether-S-Bus` (1440), `CNP-IP` (1441) and `Nano` (1442) map to flowsieve-only IDs; `Jabber` is Netify's
//!   `XMPP` and `TruPhone` Netify's `TruPhone` (67 and 101 in both), `Zoom` is mapped above.
//!
//! A flow that does not agree is counted as *explained* instead of disagreeing or missing when
//! it falls in a documented class, each listed with its count and reason:
//! - flowsieve is right: the ServerHello negotiated a lower version than nDPI shows (nDPI prints
//!   the ClientHello's); without a ServerHello nDPI prints the hello's legacy version field
//!   where flowsieve gives the highest supported_versions offer; nDPI shows that legacy field
//!   too when it stopped before a ServerHello flowsieve read (nDPI has no cipher or JA3S for the
//!   flow); QUIC flows nDPI states TLS 1.3 for without a readable offer.
//! - documented deviation: nDPI 4.11's JA4 departs from the FoxIO definition (see
//!   [`ndpi_style_ja4`]); flowsieve's `tls.ja4` keeps the definition.
//! - spelling: nDPI prints non-ASCII bytes as `?`, keeps only the last 79 characters of a
//!   longer host name and cuts long user agents short; the SSH
//!   banner nDPI reports as a hostname is flowsieve's `ssh.client`/`ssh.server`.
//! - flowsieve right on the protocol: RDP whose X.224 negotiation flowsieve read, with the TLS
//!   security layer after it, which nDPI names TLS; Discord's voice IP discovery (Discord's
//!   documented 74-byte datagram) to a server nDPI's own IP list names Discord's, which nDPI's
//!   i3D pattern (the same datagram with one fixed SSRC) names i3D; Nintendo's Pia header read
//!   in a flow nDPI names by its server's hosting network (AmazonAWS, "Match by IP") only.
//! - not flowsieve's to read here: flows inside tunnels (the decoder's work) and fuzzed captures
//!   whose names were mutated packet by packet.
//! - application, granularity (`APP_GRANULARITY`): nDPI and flowsieve name the same service at
//!   different granularity (nDPI `PlayStore`, flowsieve `netify.android` for
//!   `android.clients.google.com`), and the flow's own host name, read alike by both, carries
//!   flowsieve's name. Counted beside the application line, never in its agreement.
//!
//! TLS version is compared as the negotiated version (`tls.version`), else the offered one
//! (`tls.client_version`); agreement through the offer is counted and shown. nDPI's names for
//! the pre-RFC TLS 1.3 versions (`TLSv1.3 (draft)`, `TLSv1.3 (Fizz)`) count as TLS 1.3, which
//! flowsieve reports for them.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use flowsieve::actions::config;
use flowsieve::agent::{self, ReplayOptions};
use flowsieve::facts::protocol;
use flowsieve::output::record::flow_record;
use serde_json::Value;

mod names;

use names::*;

/// The fields compared, nDPI's key and how to read ours from a flow record.
struct Field {
    name: &'static str,
    ours: fn(&Value) -> Option<String>,
    theirs: fn(&Value) -> Option<String>,
    /// A documented class for a flow that does not agree (see [`explain`]).
    explain: Explain,
}

/// `(nDPI's truth record, our record, nDPI's value, ours)` → why the values differ, when the
/// difference is understood and flowsieve's value is the one on the wire (or the flow is not
/// ours to read).
type Explain = fn(&Value, &Value, &str, Option<&str>) -> Option<&'static str>;

/// Classes every field shares.
fn explain_any(t: &Value, _: &Value, _: &str, ours: Option<&str>) -> Option<&'static str> {
    (ours.is_none() && t["tunnel"].as_str().is_some()).then_some("tunnel (decoder): flow inside GTP/CAPWAP/GRE")
}

/// nDPI prints every byte outside printable ASCII as `?` (a UTF-8 LLMNR name, a DNS label with
/// control bytes); flowsieve keeps the name as sent.
fn ndpi_masked(name: &str) -> String {
    name.bytes().map(|b| if (0x20..0x7f).contains(&b) { char::from(b) } else { '?' }).collect()
}

fn explain_hostname(t: &Value, r: &Value, theirs: &str, ours: Option<&str>) -> Option<&'static str> {
    if let Some(why) = explain_any(t, r, theirs, ours) {
        return Some(why);
    }
    let pcap = t["pcap"].as_str().unwrap_or_default();
    if ours.is_some_and(|o| ndpi_masked(o) == theirs) {
        return Some("spelling: nDPI prints non-ASCII bytes as '?', flowsieve keeps the UTF-8 name");
    }
    if pcap.starts_with("fuzz-") {
        return Some("fuzzed capture: names mutated packet by packet, the two read different packets");
    }
    let banner = |side: &str| text_at(r, &["ssh", side]).map(|b| b.to_ascii_lowercase());
    if banner("client").as_deref() == Some(theirs) || banner("server").as_deref() == Some(theirs) {
        return Some("not a hostname: nDPI puts an SSH banner there (flowsieve: ssh.client/ssh.server)");
    }
    // nDPI rewrites characters a host name cannot hold ('*', '=') as '_'.
    let underscored = |o: &str| {
        o.chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
            .collect::<String>()
    };
    if ours.is_some_and(|o| underscored(o) == theirs) {
        return Some("spelling: nDPI writes characters a host name cannot hold as '_'");
    }
    // nDPI holds a name in an 80-byte buffer and, for a longer one, keeps its end.
    let tail_of = |o: &str| o.len() > NDPI_NAME_MAX && (o.ends_with(theirs) || underscored(o).ends_with(theirs));
    if theirs.len() == NDPI_NAME_MAX && ours.is_some_and(tail_of) {
        return Some(
            "spelling: nDPI keeps the last 79 characters of a longer name (80-byte host_server_name), flowsieve the whole name",
        );
    }
    None
}

/// The longest name nDPI 4.11 reports (`host_server_name` is 80 bytes with its NUL).
const NDPI_NAME_MAX: usize = 79;

/// TLS version as the report compares it: the negotiated one (`tls.version`, from the
/// ServerHello), else the one the ClientHello offered (`tls.client_version`), flagged `true`.
/// nDPI reports the offer when it saw no ServerHello; flowsieve's criteria act on the
/// negotiated version only.
fn best_tls_version(r: &Value) -> Option<(&'static str, bool)> {
    let tls = r.get("tls")?;
    let version = |k: &str| tls.get(k).and_then(Value::as_u64).filter(|&v| v != 0);
    match (version("version"), version("client_version")) {
        (Some(v), _) => tls_version_name(v).map(|n| (n, false)),
        (None, Some(v)) => tls_version_name(v).map(|n| (n, true)),
        (None, None) => None,
    }
}

fn explain_tls_version(t: &Value, r: &Value, theirs: &str, ours: Option<&str>) -> Option<&'static str> {
    if let Some(why) = explain_any(t, r, theirs, ours) {
        return Some(why);
    }
    let offered = r.get("tls").and_then(|t| t.get("client_version")).and_then(Value::as_u64).and_then(tls_version_name);
    let quic = r["protocol"]["id"].as_u64() == Some(u64::from(protocol::QUIC));
    match best_tls_version(r) {
        Some((_, false)) if offered == Some(theirs) => {
            Some("flowsieve right: the ServerHello negotiated a lower version; nDPI shows the ClientHello's")
        }
        // RFC 8446 §4.1.2: a TLS 1.3 ClientHello says 0x0303 in its version field and offers 1.3
        // in supported_versions.
        Some(("TLSv1.3", true)) if theirs == "TLSv1.2" => Some(
            "no ServerHello: nDPI shows the hello's legacy version field, flowsieve the highest supported_versions offer",
        ),
        // nDPI gave up before the ServerHello (a ClientHello of many segments): it has no
        // cipher and no JA3S for the flow, and shows the ClientHello's legacy version.
        Some(("TLSv1.3", false)) if theirs == "TLSv1.2" && t["cipher"].is_null() && t["ja3s"].is_null() => Some(
            "flowsieve right: the ServerHello negotiated TLS 1.3; nDPI read no ServerHello (no cipher, no JA3S) and shows the ClientHello's legacy version",
        ),
        None if quic && theirs == "TLSv1.3" => Some(
            "QUIC: nDPI states TLS 1.3 (RFC 9001 §4.2) without a readable offer (draft-version hello, or an Initial flowsieve cannot open)",
        ),
        _ => None,
    }
}

/// Our (FoxIO-definition) JA4 rewritten with nDPI 4.11's departures from the definition:
/// `d` unless the SNI is an IP literal (FoxIO: `d` when a server_name extension is present, `i`
/// otherwise); the ALPN part as the first two characters of the first name, its first
/// character and `0` when the list is that one two-character name (FoxIO: first and last, `h1` for http/1.1, `h3` for h3);
/// DTLS's version from the hello's version field rather than supported_versions; the SHA-256 of the empty string (`e3b0c44298fc`) for an empty
/// extension list (FoxIO: `000000000000`).
fn ndpi_style_ja4(r: &Value) -> Option<String> {
    let ja4 = text_at(r, &["tls", "ja4"])?;
    let (a, rest) = ja4.split_once('_')?;
    let (b, c) = rest.split_once('_')?;
    if a.len() != 10 || !a.is_ascii() {
        return None;
    }
    let sni_is_ip = text_at(r, &["tls", "sni"]).is_some_and(|s| s.parse::<IpAddr>().is_ok());
    let letter = if sni_is_ip { 'i' } else { 'd' };
    let first_alpn = r["tls"]["alpn"].get(0).and_then(Value::as_str).filter(|n| n.len() >= 2 && n.is_ascii());
    // A list of one two-character name ("h3" alone) shows as its first character and '0'.
    let single = r["tls"]["alpn"].as_array().is_some_and(|l| l.len() == 1);
    let alpn = match first_alpn {
        Some(n) if n.len() == 2 && single => format!("{}0", &n[..1]),
        Some(n) => n[..2].to_string(),
        None => a[8..10].to_string(),
    };
    let c = if c == "000000000000" { "e3b0c44298fc" } else { c };
    // DTLS: the ClientHello's version field, not supported_versions (DTLS 1.3 offers show as 1.2).
    // Cisco's pre-RFC DTLS 0x0100, which JA4 does not name ("00"), nDPI shows as "s3".
    let pre_rfc = r["tls"]["client_version"].as_u64() == Some(0x0100);
    let version = match &a[..3] {
        "dd3" => "dd2",
        "d00" if pre_rfc => "ds3",
        other => other,
    };
    Some(format!("{version}{letter}{}{alpn}_{b}_{c}", &a[4..8]))
}

fn explain_ja4(t: &Value, r: &Value, theirs: &str, ours: Option<&str>) -> Option<&'static str> {
    if let Some(why) = explain_any(t, r, theirs, ours) {
        return Some(why);
    }
    (ndpi_style_ja4(r).as_deref() == Some(theirs)).then_some(
        "nDPI 4.11 JA4 departs from the FoxIO definition (SNI letter, ALPN chars, empty-extension hash); \
         flowsieve's is the definition's and equals nDPI's once those are applied",
    )
}

/// A documented class for a flow whose protocol does not agree: `(nDPI's record, ours, our
/// protocol ID)`.
/// nDPI's application → the protocol Netify's own `nsd:` lines give that application's flows
/// (Signal's STUN on 3478 or 443, Zoom on 8801, Telegram's HTTP/S): netifyd reports these
/// names where nDPI reports its master protocol with the application.
const SOFT_RENAMES: &[(&str, protocol::ProtocolId)] =
    &[("SignalVoip", protocol::SIGNAL_CALL), ("Zoom", protocol::ZOOM), ("Telegram", protocol::TELEGRAM)];

fn explain_protocol(t: &Value, r: &Value, ours: protocol::ProtocolId) -> Option<&'static str> {
    let dpi = r["detection_guessed"].as_bool() == Some(false);
    // MS-RDPBCGR §1.3.1.1: the X.224 Connection Request/Confirm negotiates RDP's security
    // layer, then TLS (or CredSSP over TLS) carries RDP. flowsieve read the negotiation.
    if dpi && ours == protocol::RDP && t["master_name"].as_str() == Some("TLS") {
        return Some(
            "flowsieve right: RDP's X.224 negotiation opens the flow, its TLS security layer follows; nDPI names the TLS",
        );
    }
    // nDPI named the server's hosting network from its IP list alone; flowsieve read Pia's
    // documented header (magic `32 ab 98 64`, dissect/nintendo.rs) in the payload.
    if ours == protocol::NINTENDO
        && t["proto_name"].as_str() == Some("AmazonAWS")
        && t["confidence"].as_str() == Some("Match by IP")
    {
        return Some(
            "flowsieve right: Nintendo's Pia header read in the payload; nDPI names the hosting network by IP only",
        );
    }
    // Discord's developer documentation (Voice Connections, "IP Discovery") defines the 74-byte
    // request/response flowsieve's Discord dissector requires. nDPI's i3D pattern is that same
    // datagram with one fixed SSRC, and nDPI's own IP list names the server Discord's.
    (dpi && ours == protocol::DISCORD
        && t["proto_name"].as_str() == Some("i3D")
        && t["ip_proto_name"].as_str() == Some("Discord"))
    .then_some(
        "flowsieve right: Discord's voice IP discovery to a server nDPI's IP list names Discord's; nDPI's i3D pattern is that datagram with a fixed SSRC",
    )
}

/// One flow for `CORPUS_DETAIL`: capture, nDPI's flow number and endpoints, its confidence, our
/// protocol and packet count.
fn detail_line(pcap: &str, t: &Value, r: &Value, ours: protocol::ProtocolId) -> String {
    format!(
        "{} #{} {} {}:{} {}:{} conf={} ours={} pkts={}",
        pcap,
        t["idx"],
        t["l4"],
        t["src_ip"].as_str().unwrap_or_default(),
        t["src_port"],
        t["dst_ip"].as_str().unwrap_or_default(),
        t["dst_port"],
        t["confidence"].as_str().unwrap_or_default(),
        protocol::name_of(ours),
        r["packets"]
    )
}

fn text_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut v = v;
    for p in path {
        v = v.get(p)?;
    }
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) if !a.is_empty() => Some(
            a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string)).collect::<Vec<_>>().join(","),
        ),
        _ => None,
    }
}

fn fields() -> Vec<Field> {
    vec![
        Field {
            name: "hostname/SNI",
            ours: |r| {
                text_at(r, &["detected_hostname"])
                    .or_else(|| text_at(r, &["tls", "sni"]))
                    .map(|h| h.to_ascii_lowercase())
            },
            theirs: |t| text_at(t, &["hostname"]).map(|h| h.to_ascii_lowercase()),
            explain: explain_hostname,
        },
        Field {
            name: "TLS version",
            ours: |r| best_tls_version(r).map(|(v, _)| v.to_string()),
            // nDPI names the pre-RFC TLS 1.3 versions `TLSv1.3 (draft)` and `TLSv1.3 (Fizz)`;
            // flowsieve reports them as TLS 1.3.
            theirs: |t| {
                text_at(t, &["tls_version"]).map(|v| if v.starts_with("TLSv1.3 (") { "TLSv1.3".to_string() } else { v })
            },
            explain: explain_tls_version,
        },
        Field {
            name: "QUIC version",
            ours: |r| text_at(r, &["quic", "version"]),
            theirs: |t| text_at(t, &["quic_version"]),
            explain: explain_any,
        },
        Field {
            name: "ALPN (client)",
            ours: |r| text_at(r, &["tls", "alpn"]),
            theirs: |t| text_at(t, &["alpn_advertised"]),
            explain: explain_any,
        },
        Field {
            name: "ALPN (server)",
            ours: |r| text_at(r, &["tls", "alpn_negotiated"]),
            theirs: |t| text_at(t, &["alpn_negotiated"]),
            explain: explain_any,
        },
        Field {
            name: "cipher",
            ours: |r| text_at(r, &["tls", "cipher_name"]),
            theirs: |t| text_at(t, &["cipher"]),
            explain: explain_any,
        },
        Field {
            name: "JA3 (client)",
            ours: |r| text_at(r, &["tls", "ja3"]),
            theirs: |t| text_at(t, &["ja3c"]),
            explain: explain_any,
        },
        Field {
            name: "JA3S",
            ours: |r| text_at(r, &["tls", "ja3s"]),
            theirs: |t| text_at(t, &["ja3s"]),
            explain: explain_any,
        },
        Field {
            name: "JA4",
            ours: |r| text_at(r, &["tls", "ja4"]),
            theirs: |t| text_at(t, &["ja4"]),
            explain: explain_ja4,
        },
        Field {
            name: "HTTP user agent",
            ours: |r| text_at(r, &["http", "user_agent"]),
            theirs: |t| text_at(t, &["user_agent"]),
            explain: |t, r, theirs, ours| {
                explain_any(t, r, theirs, ours).or_else(|| {
                    ours.is_some_and(|o| o.len() > theirs.len() && o.starts_with(theirs))
                        .then_some("spelling: nDPI cuts long values short; flowsieve keeps the whole header")
                })
            },
        },
    ]
}

#[derive(Default, Clone, Copy)]
struct Tally {
    with_value: u64,
    agree: u64,
    /// Not agreeing, but in a documented class (flowsieve right, a documented deviation, or a
    /// flow inside a tunnel); not counted in `disagree` or `missing`.
    explained: u64,
    disagree: u64,
    missing: u64,
}

impl Tally {
    fn add(&mut self, theirs: &str, ours: Option<&str>) -> bool {
        self.with_value += 1;
        match ours {
            Some(o) if o == theirs => {
                self.agree += 1;
                true
            }
            Some(_) => {
                self.disagree += 1;
                false
            }
            None => {
                self.missing += 1;
                false
            }
        }
    }

    /// Move one flow just counted as disagreeing or missing into `explained`.
    fn explain(&mut self, had_value: bool) {
        if had_value {
            self.disagree -= 1;
        } else {
            self.missing -= 1;
        }
        self.explained += 1;
    }

    fn pct(&self) -> f64 {
        if self.with_value == 0 {
            0.0
        } else {
            100.0 * self.agree as f64 / self.with_value as f64
        }
    }

    fn pct_explained(&self) -> f64 {
        if self.with_value == 0 {
            0.0
        } else {
            100.0 * (self.agree + self.explained) as f64 / self.with_value as f64
        }
    }

    fn row(&self, name: &str) -> String {
        format!(
            "{name:<28} {:>6} {:>6} {:>9} {:>8} {:>7} {:>6.1}% {:>8.1}%",
            self.with_value,
            self.agree,
            self.explained,
            self.disagree,
            self.missing,
            self.pct(),
            self.pct_explained()
        )
    }
}

fn header(first: &str) -> String {
    format!(
        "{first:<28} {:>6} {:>6} {:>9} {:>8} {:>7} {:>7} {:>9}",
        "nDPI", "agree", "explained", "disagree", "missing", "agree%", "+expl%"
    )
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).map_or_else(flowsieve::corpus_dir, PathBuf::from);
    let truth_path = dir.join("truth.jsonl");
    let truth_text =
        std::fs::read_to_string(&truth_path).with_context(|| format!("reading {}", truth_path.display()))?;
    let mut truth: HashMap<FlowId, Vec<Value>> = HashMap::new();
    let mut pcaps: Vec<String> = Vec::new();
    for (n, line) in truth_text.lines().enumerate() {
        let t: Value = serde_json::from_str(line).with_context(|| format!("truth.jsonl line {}", n + 1))?;
        if t.get("pcap_present").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let pcap = t["pcap"].as_str().unwrap_or_default().to_string();
        let Some(proto) = t["l4"].as_str().and_then(l4_number) else { continue };
        let port = |k: &str| t[k].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
        let src = (addr(t["src_ip"].as_str().unwrap_or_default()), port("src_port"));
        let dst = (addr(t["dst_ip"].as_str().unwrap_or_default()), port("dst_port"));
        let vlan = t["vlan"].as_u64().and_then(|v| u16::try_from(v).ok()).unwrap_or(0);
        if !pcaps.contains(&pcap) {
            pcaps.push(pcap.clone());
        }
        truth.entry(flow_id(&pcap, proto, src, dst, vlan)).or_default().push(t);
    }

    let config = config::parse(r#"{"version": 1, "actions": {}, "targets": {}}"#, Path::new("<corpus-report>"))
        .map_err(|e| anyhow::anyhow!("empty configuration: {e}"))?;
    let options = ReplayOptions::dry_run();

    // Our flows, by identity; the earliest flow wins when a 5-tuple was reused.
    let mut ours: HashMap<FlowId, Value> = HashMap::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut flows_total = 0u64;
    let started = std::time::Instant::now();
    for pcap in &pcaps {
        let path = dir.join("pcap").join(pcap);
        if !path.exists() {
            failed.push((pcap.clone(), "missing".into()));
            continue;
        }
        let files = vec![path.to_string_lossy().into_owned()];
        let mut local: Vec<Value> = Vec::new();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            agent::replay(&config, &files, &options, |_, flow| local.push(flow_record(pcap, flow)))
        }));
        match result {
            Ok(Ok(summary)) => {
                for (_, why) in summary.truncated {
                    failed.push((pcap.clone(), format!("truncated: {why}")));
                }
            }
            Ok(Err(e)) => failed.push((pcap.clone(), e.to_string())),
            Err(_) => failed.push((pcap.clone(), "PANIC".into())),
        }
        for r in local {
            flows_total += 1;
            let port = |k: &str| r[k].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
            let a = (addr(r["local_ip"].as_str().unwrap_or_default()), port("local_port"));
            let b = (addr(r["other_ip"].as_str().unwrap_or_default()), port("other_port"));
            let proto = r["ip_protocol"].as_u64().and_then(|p| u8::try_from(p).ok()).unwrap_or(0);
            let vlan = r["vlan_id"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
            let id = flow_id(pcap, proto, a, b, vlan);
            let first_seen = |v: &Value| v["first_seen"].as_f64().unwrap_or(f64::MAX);
            match ours.get(&id) {
                Some(existing) if first_seen(existing) <= first_seen(&r) => {}
                _ => {
                    ours.insert(id, r);
                }
            }
        }
    }

    let fields = fields();
    let mut field_tallies = vec![Tally::default(); fields.len()];
    let mut field_examples: Vec<BTreeMap<(String, String), u64>> = vec![BTreeMap::new(); fields.len()];
    let mut field_misses: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); fields.len()];
    let mut field_classes: Vec<BTreeMap<&'static str, u64>> = vec![BTreeMap::new(); fields.len()];
    let mut by_protocol: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_protocol_dpi: BTreeMap<String, Tally> = BTreeMap::new();
    let mut all = Tally::default();
    let mut targeted = Tally::default();
    let mut targeted_dpi = Tally::default();
    let mut confusion: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut protocol_classes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut unknown_detected: BTreeMap<String, u64> = BTreeMap::new();
    let (mut unknown_flows, mut unpaired, mut paired) = (0u64, 0u64, 0u64);
    // Flows where nDPI names an application (its app differs from its protocol).
    let (mut app_flows, mut app_mapped, mut app_agree) = (0u64, 0u64, 0u64);
    let mut app_classes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut app_misses: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut app_unmapped: BTreeMap<String, u64> = BTreeMap::new();

    // CORPUS_DETAIL=<nDPI protocol name> lists that protocol's disagreeing flows; `Unknown` lists
    // the flows nDPI calls Unknown that flowsieve names; `app:<nDPI application>` the flows of
    // that application that disagree (`app:*`: of every application).
    let detail = std::env::var("CORPUS_DETAIL").ok();
    // CORPUS_FIELD=<field name> lists every flow not agreeing on that field.
    let field_detail = std::env::var("CORPUS_FIELD").ok();
    let mut field_details: Vec<String> = Vec::new();
    let mut details: Vec<String> = Vec::new();
    let mut ids: Vec<&FlowId> = truth.keys().collect();
    ids.sort();
    for id in ids {
        for t in &truth[id] {
            let master_id = t["master_id"].as_u64().unwrap_or(0);
            let master_name = t["master_name"].as_str().unwrap_or("Unknown");
            let app_id = t["app_id"].as_u64().unwrap_or(0);
            if app_id != 0 && app_id != master_id {
                let app = t["app_name"].as_str().unwrap_or("?");
                app_flows += 1;
                // A documented class (see `explain_application`): flowsieve's name proven on
                // the wire, at another granularity than nDPI's.
                let explained = ours.get(id).and_then(|r| explain_application(app, t, r));
                match ours.get(id).map(|r| (same_application(app, r), our_names(r))) {
                    Some((Some(true), _)) => {
                        app_mapped += 1;
                        app_agree += 1;
                    }
                    Some((Some(false), _)) if explained.is_some() => {
                        app_mapped += 1;
                        *app_classes.entry(explained.unwrap_or_default()).or_default() += 1;
                    }
                    Some((Some(false), (tag, proto))) => {
                        app_mapped += 1;
                        if detail.as_deref().is_some_and(|d| d == "app:*" || d == format!("app:{app}")) {
                            if let Some(r) = ours.get(id) {
                                let ours = protocol::ProtocolId(
                                    r["protocol"]["id"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
                                );
                                details.push(format!(
                                    "{} nDPI={app} host={} app={}",
                                    detail_line(&id.0, t, r, ours),
                                    t["hostname"].as_str().unwrap_or("-"),
                                    tag.unwrap_or("-")
                                ));
                            }
                        }
                        let shown = tag.map_or_else(|| format!("(no application; {proto})"), str::to_string);
                        *app_misses.entry((app.to_string(), shown)).or_default() += 1;
                    }
                    None if has_mapping(app) => {
                        app_mapped += 1;
                        *app_misses.entry((app.to_string(), "(no flowsieve flow)".into())).or_default() += 1;
                    }
                    _ => *app_unmapped.entry(app.to_string()).or_default() += 1,
                }
            }
            let Some(r) = ours.get(id) else {
                unpaired += 1;
                continue;
            };
            paired += 1;
            let our_id =
                protocol::ProtocolId(r["protocol"]["id"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0));
            // netifyd names nDPI's TLS by port and by the server's ALPN (HTTP/S on 443, IMAP/S
            // on 993 …): where nDPI says TLS, such a name is the same wire protocol. Anywhere
            // else (nDPI says HTTP, say) it stays a disagreement.
            let ndpi_tls = t["master_id"].as_u64() == Some(91);
            let our_id = if ndpi_tls && flowsieve::dissect::tls::is_tls_by_port_or_alpn(our_id) {
                protocol::TLS
            } else {
                our_id
            };
            // nDPI names IPP, SOAP, MPEG-DASH, HLS, OCSP, WebDAV, MS-RPCH, Gnutella's transfers and BitTorrent's
            // tracker announces over HTTP as applications of HTTP
            // (`HTTP.IPP`); flowsieve names them as protocols (`dissect::http_payload`): where
            // nDPI says HTTP, they are HTTP on the wire.
            let our_id = match master_name {
                "HTTP" if flowsieve::dissect::http_payload::is_carried_over_http(our_id) => protocol::HTTP,
                // The same for the SMB a NetBIOS session or datagram carries (`NetBIOS.SMBv1`).
                "NetBIOS" if flowsieve::dissect::netbios::is_carried_by_netbios(our_id) => protocol::NETBIOS,
                // GTP' is Netify's `GTP/P`; nDPI names it as an application of GTP.
                "GTP" if our_id == protocol::GTP_P => protocol::ProtocolId(152),
                // And PROFINET IO's DCE/RPC interfaces (`DCERPC.PROFINET_IO`).
                "DCERPC" if flowsieve::dissect::dcerpc::is_carried_by_dcerpc(our_id) => protocol::DCERPC,
                // And Schneider's UMAS in Modbus/TCP (`Modbus.UMAS`).
                "Modbus" if flowsieve::dissect::modbus::is_carried_by_modbus(our_id) => protocol::MODBUS,
                _ => our_id,
            };
            // Netify's Telegram/VoIP (calls through Telegram's reflectors) is nDPI's Telegram.
            let our_id = if our_id == protocol::TELEGRAM_VOIP { protocol::TELEGRAM } else { our_id };
            // Netify's soft dissectors name these applications' transport `SignalCall`, `ZOOM`,
            // `Telegram`; nDPI says the transport and the application.
            let ndpi_app = t["app_name"].as_str().unwrap_or_default();
            let our_id = match SOFT_RENAMES.iter().find(|&&(app, id)| app == ndpi_app && id == our_id) {
                Some(_) => ndpi_protocol(master_id, master_name),
                None => our_id,
            };
            // Netify's DoT/DoH/DoQ are protocols; nDPI names them as the application `DoH_DoT`
            // over its transport, TLS or QUIC.
            let our_id = match our_id {
                protocol::DOT | protocol::DOH | protocol::DOQ if id.1 == 17 => protocol::QUIC,
                protocol::DOT | protocol::DOH | protocol::DOQ => protocol::TLS,
                other => other,
            };
            if master_id == 0 {
                unknown_flows += 1;
                if our_id != protocol::UNKNOWN {
                    *unknown_detected.entry(protocol::name_of(our_id).to_string()).or_default() += 1;
                    if detail.as_deref() == Some("Unknown") {
                        details.push(detail_line(&id.0, t, r, our_id));
                    }
                }
                continue;
            }
            let want = ndpi_protocol(master_id, master_name);
            let our_text = (our_id != protocol::UNKNOWN).then(|| our_id.to_string());
            let agrees = {
                let want_text = want.to_string();
                let dpi = t["confidence"].as_str() == Some("DPI");
                let targeted_flow = TARGETED.contains(&master_name);
                let ok = by_protocol.entry(master_name.to_string()).or_default().add(&want_text, our_text.as_deref());
                all.add(&want_text, our_text.as_deref());
                if dpi {
                    by_protocol_dpi.entry(master_name.to_string()).or_default().add(&want_text, our_text.as_deref());
                }
                if targeted_flow {
                    targeted.add(&want_text, our_text.as_deref());
                    if dpi {
                        targeted_dpi.add(&want_text, our_text.as_deref());
                    }
                }
                let why = if ok { None } else { explain_protocol(t, r, our_id) };
                if let Some(why) = why {
                    let had = our_text.is_some();
                    *protocol_classes.entry(why).or_default() += 1;
                    by_protocol.entry(master_name.to_string()).or_default().explain(had);
                    all.explain(had);
                    if dpi {
                        by_protocol_dpi.entry(master_name.to_string()).or_default().explain(had);
                    }
                    if targeted_flow {
                        targeted.explain(had);
                        if dpi {
                            targeted_dpi.explain(had);
                        }
                    }
                }
                ok || why.is_some()
            };
            if !agrees && detail.as_deref() == Some(master_name) {
                details.push(detail_line(&id.0, t, r, our_id));
            }
            if !agrees {
                let ours_name = if our_id == protocol::UNKNOWN {
                    "Unknown".to_string()
                } else {
                    protocol::name_of(our_id).to_string()
                };
                *confusion.entry((master_name.to_string(), ours_name)).or_default() += 1;
            }
            for (i, f) in fields.iter().enumerate() {
                let Some(theirs) = (f.theirs)(t) else { continue };
                let mine = (f.ours)(r);
                let agreed = field_tallies[i].add(&theirs, mine.as_deref());
                if agreed && f.name == "TLS version" && best_tls_version(r).is_some_and(|(_, offered)| offered) {
                    *field_classes[i]
                        .entry("(counted as agree) by the ClientHello's offer: no ServerHello seen")
                        .or_default() += 1;
                }
                if !agreed {
                    if let Some(why) = (f.explain)(t, r, &theirs, mine.as_deref()) {
                        field_tallies[i].explain(mine.is_some());
                        *field_classes[i].entry(why).or_default() += 1;
                        continue;
                    }
                    if field_detail.as_deref() == Some(f.name) {
                        field_details.push(format!(
                            "{} #{} {} {master_name}/{} ndpi={theirs:?} ours={:?} proto={}",
                            id.0,
                            t["idx"],
                            t["l4"],
                            t["app_name"].as_str().unwrap_or_default(),
                            mine.as_deref().unwrap_or("(none)"),
                            protocol::name_of(our_id),
                        ));
                    }
                    let shown = mine.unwrap_or_else(|| "(none)".into());
                    *field_examples[i].entry((format!("{master_name}: {theirs}"), shown)).or_default() += 1;
                    *field_misses[i].entry(master_name.to_string()).or_default() += 1;
                }
            }
        }
    }

    println!(
        "nDPI corpus report: {} captures, {} flowsieve flows, {:.1} s",
        pcaps.len(),
        flows_total,
        started.elapsed().as_secs_f64()
    );
    println!(
        "nDPI flows: {} paired with a flowsieve flow, {} unpaired; {} of the paired are Unknown to nDPI (excluded below)",
        paired, unpaired, unknown_flows
    );
    println!();
    println!("{}", header("field"));
    println!("{}", all.row("protocol (all)"));
    println!("{}", targeted.row("protocol (targeted)"));
    println!("{}", targeted_dpi.row("protocol (targeted, DPI)"));
    for (i, f) in fields.iter().enumerate() {
        println!("{}", field_tallies[i].row(f.name));
    }
    let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    println!();
    println!(
        "application: {app_agree} of {app_flows} flows where nDPI names an application get the same application ({:.1}%); {app_mapped} of them have a mapping (NDPI_APPS or the same name), {:.1}% of those agree",
        pct(app_agree, app_flows),
        pct(app_agree, app_mapped)
    );
    let app_explained: u64 = app_classes.values().sum();
    println!(
        "application: {app_explained} more in documented classes (flowsieve's name proven on the wire; below), {:.1}% with them",
        pct(app_agree + app_explained, app_flows)
    );
    for (why, n) in &app_classes {
        println!("{n:>6}  application: {why}");
    }
    println!("application: 25 most common disagreements (nDPI application → flowsieve):");
    let mut misses: Vec<_> = app_misses.iter().collect();
    misses.sort_by_key(|(k, n)| (std::cmp::Reverse(**n), (*k).clone()));
    for ((theirs, mine), n) in misses.iter().take(25) {
        println!("{n:>6}  {theirs} → {mine}");
    }
    let mut unmapped: Vec<_> = app_unmapped.iter().collect();
    unmapped.sort_by_key(|(k, n)| (std::cmp::Reverse(**n), (*k).clone()));
    let unmapped: Vec<String> = unmapped.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("application: nDPI names without a flowsieve counterpart: {}", unmapped.join(", "));
    service_shares(&truth, &ours);
    println!();
    // CORPUS_MIN_FLOWS=<n> lists the other protocols from n flows up (default 5; 1 lists every
    // protocol nDPI names).
    let min_flows: u64 = std::env::var("CORPUS_MIN_FLOWS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    println!("Per nDPI master protocol (targeted protocols, then others with ≥ {min_flows} flows):");
    println!("{}   {:>9}", header("protocol"), "DPI-only%");
    let mut rows: Vec<(&String, &Tally)> = by_protocol.iter().collect();
    rows.sort_by_key(|(name, t)| (!TARGETED.contains(&name.as_str()), std::cmp::Reverse(t.with_value)));
    for (name, t) in rows {
        if !TARGETED.contains(&name.as_str()) && t.with_value < min_flows {
            continue;
        }
        let dpi = by_protocol_dpi.get(name).map_or_else(|| "-".to_string(), |d| format!("{:.1}%", d.pct()));
        println!("{}   {:>9}", t.row(name), dpi);
    }
    println!();
    println!("20 most common protocol disagreements (nDPI → flowsieve):");
    let mut conf: Vec<_> = confusion.into_iter().collect();
    conf.sort_by_key(|(k, n)| (std::cmp::Reverse(*n), k.clone()));
    for ((theirs, mine), n) in conf.iter().take(20) {
        println!("{n:>6}  {theirs} → {mine}");
    }
    println!();
    println!("Documented classes (counted under 'explained', not as disagreements):");
    for (why, n) in &protocol_classes {
        println!("{n:>6}  protocol: {why}");
    }
    for (i, f) in fields.iter().enumerate() {
        for (why, n) in &field_classes[i] {
            println!("{n:>6}  {}: {why}", f.name);
        }
    }
    for (i, f) in fields.iter().enumerate() {
        if field_examples[i].is_empty() {
            continue;
        }
        println!();
        let mut misses: Vec<_> = field_misses[i].iter().collect();
        misses.sort_by_key(|(k, n)| (std::cmp::Reverse(**n), (*k).clone()));
        let by: Vec<String> = misses.iter().take(8).map(|(k, n)| format!("{k} {n}")).collect();
        println!("{}: not agreeing, by nDPI protocol: {}", f.name, by.join(", "));
        println!("{}: most common disagreements (nDPI → flowsieve):", f.name);
        let mut ex: Vec<_> = field_examples[i].iter().collect();
        ex.sort_by_key(|(k, n)| (std::cmp::Reverse(**n), (*k).clone()));
        for ((theirs, mine), n) in ex.iter().take(5) {
            println!("{n:>6}  {theirs:?} → {mine:?}");
        }
    }
    println!();
    println!("Flows nDPI calls Unknown that flowsieve names:");
    let mut ud: Vec<_> = unknown_detected.into_iter().collect();
    ud.sort_by_key(|(k, n)| (std::cmp::Reverse(*n), k.clone()));
    for (name, n) in ud {
        println!("{n:>6}  {name}");
    }
    if let Some(name) = &detail {
        println!();
        println!("{name} flows flowsieve disagrees on:");
        for d in &details {
            println!("  {d}");
        }
    }
    if let Some(name) = &field_detail {
        println!();
        println!("{name}: flows not agreeing:");
        for d in &field_details {
            println!("  {d}");
        }
    }
    if !failed.is_empty() {
        println!();
        println!("Captures that did not replay cleanly:");
        for (pcap, why) in &failed {
            println!("  {pcap}: {why}");
        }
    }
    if failed.iter().any(|(_, why)| why == "PANIC") {
        bail!("a capture made flowsieve panic");
    }
    Ok(())
}
