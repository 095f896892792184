//! Netify's v5 flow telemetry record: what `replay --json --format netify` prints and what sink
//! targets send by default (`format: netify`).
//!
//! The shape is Netify's (envelope `{type, interface, internal, flow}`; the `flow` object's keys,
//! JSON types and units as Netify's v5 flow telemetry lists them: timestamps in Unix
//! milliseconds, IDs as numbers, TLS versions and ciphers as `0x%04x` text). Every key is
//! listed, with what flowsieve puts in it or why it leaves it out, in docs/FLOW-ACTIONS.md
//! ("Netify records"); `tests/netify_records.rs` checks emitted records against that table.
//! Keys flowsieve cannot know are left out, never filled with a made-up value, and flowsieve's
//! own facts with no Netify key are not written.
//!
//! The text is written straight into a caller's buffer (no intermediate JSON tree): one pass,
//! no allocation once the buffer has grown to a record's size. Strings are escaped as netifyd
//! escapes them: non-ASCII as `\uXXXX`.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::facts::protocol::{self, ProtocolId};
use crate::facts::{FlowFacts, SideCounters};
use crate::flow::key::FlowKey;
use crate::flow::table::FlowTimes;

/// Netify's telemetry record type for a flow in this state: `flow_dpi_complete` once detection
/// is over, `flow_dpi_update` when metadata was added after the first detection, else `flow`.
pub fn telemetry_type(f: &FlowFacts) -> &'static str {
    if f.detection_complete {
        "flow_dpi_complete"
    } else if f.detection_updated {
        "flow_dpi_update"
    } else {
        "flow"
    }
}

/// A whole record: `{"type":…,"interface":…,"internal":…,<extra string keys>,"flow":{…}}`,
/// appended to `out`. `extra` are envelope keys of flowsieve's own (a sink's `action`,
/// `target`, `channel`), each left out when `None`.
pub fn write_record(
    out: &mut Vec<u8>,
    record_type: &str,
    extra: &[(&str, Option<&str>)],
    f: &FlowFacts,
    times: &FlowTimes,
) {
    let mut o = Object::open(out);
    o.str("type", record_type);
    o.str("interface", &f.iface);
    o.bool("internal", !f.external);
    for &(key, value) in extra {
        if let Some(value) = value {
            o.str(key, value);
        }
    }
    o.key("flow");
    write_flow(o.out, f, times);
    o.close();
}

/// The `flow` object alone.
pub fn write_flow(out: &mut Vec<u8>, f: &FlowFacts, times: &FlowTimes) {
    let mut o = Object::open(out);
    let (digest, tuple_digest) = digests(f);
    o.key("digest");
    o.hex(&digest);
    o.key("digest_prev");
    o.out.push(b'[');
    if digest != tuple_digest {
        o.out.extend_from_slice(b"\"");
        hex(o.out, &tuple_digest);
        o.out.extend_from_slice(b"\"");
    }
    o.out.push(b']');
    o.num("first_seen_at", millis(times.first_seen));
    o.num("last_seen_at", millis(times.last_seen));
    o.num("ip_version", f.ip_version.into());
    o.num("ip_protocol", f.ip_protocol.into());
    o.num("ip_dscp", f.ip_dscp.into());
    o.num("vlan_id", f.vlan_id.into());
    o.bool("ip_nat", f.ip_nat);
    o.str("other_type", f.other_type.as_str());
    o.bool("local_origin", f.local_origin);
    o.ip("local_ip", f.local_ip);
    o.ip("other_ip", f.other_ip);
    o.mac("local_mac", &f.local_mac);
    o.mac("other_mac", &f.other_mac);
    o.num("local_port", f.local_port.into());
    o.num("other_port", f.other_port.into());
    o.num("detected_protocol", f.protocol.0.into());
    o.str("detected_protocol_name", protocol::name_of(f.protocol));
    let app = &f.application;
    o.num("detected_application", app.id.into());
    o.str("detected_application_name", app.tag.as_deref().filter(|_| app.id != 0).unwrap_or("Unknown"));
    o.bool("detection_guessed", f.detection_guessed);
    o.bool("detection_updated", f.detection_updated);
    o.num("detection_packets", times.detection_packets.into());
    o.bool("dhc_hit", f.dns_hostname.is_some());
    // flowsieve keeps no flow hash cache: a classification is never reused from one.
    o.bool("fhc_hit", false);
    o.bool("soft_dissector", app.soft_dissector);
    if let Some(name) = f.detected_hostname().filter(|n| !n.is_empty()) {
        o.str("host_server_name", name);
    }
    if let Some(name) = f.dns_hostname.as_deref().filter(|n| !n.is_empty()) {
        o.str("dns_host_name", name);
    }
    o.key("category");
    let mut c = Object::open(o.out);
    c.num("application", app.category.into());
    c.num("protocol", app.protocol_category.into());
    c.num("domain", app.domain_category.into());
    c.close();
    if f.ct_mark != 0 {
        o.key("conntrack");
        let mut c = Object::open(o.out);
        c.num("mark", f.ct_mark.into());
        c.close();
    }
    let (nfq_src, nfq_dst) = (f.iface.nfq_src(), f.iface.nfq_dst());
    if !nfq_src.is_empty() || !nfq_dst.is_empty() {
        o.key("nfq");
        let mut n = Object::open(o.out);
        n.str("src_iface", nfq_src);
        n.str("dst_iface", nfq_dst);
        n.close();
    }
    o.key("risks");
    write_risks(o.out, f);
    write_protocol_facts(&mut o, f);
    let c = &f.counters;
    o.num("local_bytes", c.bytes[SideCounters::LOCAL]);
    o.num("other_bytes", c.bytes[SideCounters::OTHER]);
    o.num("local_packets", c.packets[SideCounters::LOCAL].into());
    o.num("other_packets", c.packets[SideCounters::OTHER].into());
    o.num("total_bytes", f.bytes());
    o.num("total_packets", f.packets());
    o.close();
}

/// `ssl`, `http`, `ssh`, `ssdp`, `dhcp`: present for flows that have such facts.
fn write_protocol_facts(o: &mut Object<'_>, f: &FlowFacts) {
    let tls = &f.tls;
    if f.protocol == protocol::TLS || tls.version != 0 || tls.client_version != 0 || tls.sni().is_some() {
        o.key("ssl");
        let mut s = Object::open(o.out);
        // The negotiated version once a ServerHello is seen, else the highest the client offered.
        let version = if tls.version != 0 { tls.version } else { tls.client_version };
        s.hex16("version", version);
        s.hex16("cipher_suite", tls.cipher);
        if let Some(sni) = tls.sni() {
            s.str("client_sni", sni);
        }
        if let Some(cn) = tls.subject_cn() {
            s.str("server_cn", cn);
        }
        if !tls.alpn().is_empty() {
            s.strs("alpn", tls.alpn().iter());
        }
        if let Some(chosen) = tls.alpn_negotiated() {
            s.strs("alpn_server", std::iter::once(chosen));
        }
        if let Some(ja4) = tls.ja4() {
            s.str("client_ja4", ja4.as_str());
        }
        s.close();
    }
    if let Some(h) = f.app_protocol.http() {
        // netifyd reports an SSDP message's User-Agent as `ssdp.user_agent`.
        let (url, agent) = (h.url.as_deref(), h.user_agent.as_deref());
        if f.protocol == protocol::SSDP {
            if let Some(agent) = agent {
                o.key("ssdp");
                let mut s = Object::open(o.out);
                s.str("user_agent", agent);
                s.close();
            }
        } else if url.is_some() || agent.is_some() {
            o.key("http");
            let mut s = Object::open(o.out);
            if let Some(url) = url {
                s.str("url", url);
            }
            if let Some(agent) = agent {
                s.str("user_agent", agent);
            }
            s.close();
        }
    }
    if let Some(ssh) = f.app_protocol.ssh().filter(|s| s.client.is_some() || s.server.is_some()) {
        o.key("ssh");
        let mut s = Object::open(o.out);
        if let Some(client) = ssh.client.as_deref() {
            s.str("client", client);
        }
        if let Some(server) = ssh.server.as_deref() {
            s.str("server", server);
        }
        s.close();
    }
    if let Some(class) = f.app_protocol.dhcp().and_then(|d| d.vendor_class.as_deref()) {
        o.key("dhcp");
        let mut s = Object::open(o.out);
        s.str("class_ident", class);
        s.close();
    }
}

/// `{"risks":[Netify IDs],"ndpi_risk_score":…,"ndpi_risk_score_client":…,"ndpi_risk_score_server":…}`.
fn write_risks(out: &mut Vec<u8>, f: &FlowFacts) {
    let mut o = Object::open(out);
    o.key("risks");
    o.out.push(b'[');
    let mut first = true;
    let bits = f.risk.risks;
    for bit in (0..64u8).filter(|&b| b != 0 && bits & (1u64 << b) != 0) {
        if !first {
            o.out.push(b',');
        }
        first = false;
        let _ = write!(o.out, "{}", netify_risk_id(bit));
    }
    o.out.push(b']');
    o.num("ndpi_risk_score", f.risk.score.into());
    o.num("ndpi_risk_score_client", f.risk.score_client.into());
    o.num("ndpi_risk_score_server", f.risk.score_server.into());
    o.close();
}

/// Netify's ID of an nDPI risk bit, as netifyd reports risks in telemetry (its risk table,
/// docs/FLOW-ACTIONS.md "Risks"); bits Netify does not map are its `TODO Add Risk`, 4294967295.
pub fn netify_risk_id(bit: u8) -> u32 {
    const IDS: &[(u8, u32)] = &[
        (1, 45),
        (2, 44),
        (3, 43),
        (4, 2),
        (5, 16),
        (6, 37),
        (7, 36),
        (8, 41),
        (9, 30),
        (10, 31),
        (11, 14),
        (12, 10),
        (13, 13),
        (14, 12),
        (15, 47),
        (16, 27),
        (17, 17),
        (18, 25),
        (19, 26),
        (20, 24),
        (21, 38),
        (22, 42),
        (23, 7),
        (24, 35),
        (25, 11),
        (26, 22),
        (27, 23),
        (28, 57),
        (29, 19),
        (30, 4),
        (31, 40),
        (32, 32),
        (33, 39),
        (34, 33),
        (35, 28),
        (36, 3),
        (37, 6),
        (38, 5),
        (39, 15),
        (40, 20),
        (41, 29),
        (42, 21),
        (43, 8),
        (44, 9),
        (45, 1),
        (46, 46),
        (47, 48),
        (48, 49),
        (49, 50),
        (50, 51),
        (51, 52),
        (52, 53),
        (53, 54),
        (54, 55),
        (55, 56),
        (56, 58),
    ];
    IDS.iter().find(|&&(b, _)| b == bit).map_or(u32::MAX, |&(_, id)| id)
}

/// Unix milliseconds of a packet time.
fn millis(t: Duration) -> u64 {
    u64::try_from(t.as_millis()).unwrap_or(u64::MAX)
}

/// The flow's digest and its tuple digest (Netify's `digest` and `digest_prev[0]`): 160-bit
/// opaque IDs. The tuple digest hashes the interface, IP version and protocol, VLAN and the two
/// endpoints in a fixed order, so both directions and every record of a flow share it; the
/// digest adds what Netify adds, the protocol ID and host name, once the flow has either.
/// (Netify hashes its in-memory structures with SHA-1; the values cannot match Netify's, only
/// their role and form: 40 hex characters.)
fn digests(f: &FlowFacts) -> ([u8; 20], [u8; 20]) {
    let key = FlowKey::of_endpoints((f.local_ip, f.local_port), (f.other_ip, f.other_port), f.ip_protocol, f.vlan_id).0;
    let mut h = Sha256::new();
    h.update(f.iface.as_bytes());
    h.update([0, f.ip_version, f.ip_protocol]);
    h.update(key.vlan_id.to_be_bytes());
    for (ip, port) in [(key.lower_ip, key.lower_port), (key.upper_ip, key.upper_port)] {
        match ip {
            IpAddr::V4(a) => h.update(a.octets()),
            IpAddr::V6(a) => h.update(a.octets()),
        }
        h.update(port.to_be_bytes());
    }
    let tuple = truncate(h.clone().finalize().as_slice());
    let hostname = f.detected_hostname().unwrap_or("");
    if f.protocol == protocol::UNKNOWN && hostname.is_empty() {
        return (tuple, tuple);
    }
    let ProtocolId(id) = f.protocol;
    h.update(id.to_be_bytes());
    h.update(hostname.as_bytes());
    (truncate(h.finalize().as_slice()), tuple)
}

fn truncate(digest: &[u8]) -> [u8; 20] {
    let mut out = [0; 20];
    out.copy_from_slice(&digest[..20]);
    out
}

fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

/// A JSON string, escaped as netifyd escapes its output: `"`, `\` and control characters, and
/// every non-ASCII character as `\uXXXX` (UTF-16, surrogate pairs beyond the BMP).
fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            ' '..='~' => out.push(c as u8),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push(b'"');
}

/// A JSON object being written: keys and values appended in order, commas between them.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        string(self.out, key);
        self.out.push(b':');
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        string(self.out, value);
    }

    fn num(&mut self, key: &str, value: u64) {
        self.key(key);
        let _ = write!(self.out, "{value}");
    }

    fn bool(&mut self, key: &str, value: bool) {
        self.key(key);
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn hex(&mut self, bytes: &[u8]) {
        self.out.push(b'"');
        hex(self.out, bytes);
        self.out.push(b'"');
    }

    /// A 16-bit wire value as netifyd prints it: `0x0303`.
    fn hex16(&mut self, key: &str, value: u16) {
        self.key(key);
        let _ = write!(self.out, "\"0x{value:04x}\"");
    }

    fn ip(&mut self, key: &str, ip: IpAddr) {
        self.key(key);
        let _ = write!(self.out, "\"{ip}\"");
    }

    fn mac(&mut self, key: &str, mac: &[u8; 6]) {
        self.key(key);
        let [a, b, c, d, e, g] = *mac;
        let _ = write!(self.out, "\"{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}\"");
    }

    fn strs<'s>(&mut self, key: &str, values: impl Iterator<Item = &'s str>) {
        self.key(key);
        self.out.push(b'[');
        for (i, value) in values.enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            string(self.out, value);
        }
        self.out.push(b']');
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{FlowFacts, OtherType};
    use serde_json::Value;

    fn record(f: &FlowFacts, times: &FlowTimes) -> Value {
        let mut out = Vec::new();
        write_record(&mut out, telemetry_type(f), &[("action", Some("a")), ("channel", None)], f, times);
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
    }

    fn tls_flow() -> FlowFacts {
        let mut f = FlowFacts {
            iface: "br-lan".into(),
            ip_protocol: 6,
            local_ip: "192.168.1.10".parse().unwrap(),
            local_port: 44224,
            other_ip: "10.99.0.2".parse().unwrap(),
            other_port: 1010,
            local_mac: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            local_origin: true,
            other_type: OtherType::Remote,
            protocol: protocol::TLS,
            detection_complete: true,
            ..FlowFacts::default()
        };
        f.set_tls_sni_and_alpn("server.test", Some(["h2", "http/1.1"]));
        f.tls.version = 0x0302;
        f.tls.cipher = 0xc013;
        f.counters.add(SideCounters::LOCAL, 100);
        f.counters.add(SideCounters::LOCAL, 50);
        f.counters.add(SideCounters::OTHER, 1500);
        f
    }

    #[test]
    fn a_tls_flow_in_netify_names_types_and_units() {
        let times = FlowTimes {
            first_seen: Duration::from_millis(1_700_000_000_123),
            last_seen: Duration::from_millis(1_700_000_001_456),
            detection_packets: 4,
        };
        let r = record(&tls_flow(), &times);
        assert_eq!(
            (r["type"].as_str(), r["interface"].as_str(), r["internal"].as_bool()),
            (Some("flow_dpi_complete"), Some("br-lan"), Some(true))
        );
        assert_eq!(r["action"], "a");
        assert!(r.get("channel").is_none(), "an unset envelope key is left out");
        let flow = &r["flow"];
        assert_eq!(flow["first_seen_at"], 1_700_000_000_123u64);
        assert_eq!(flow["last_seen_at"], 1_700_000_001_456u64);
        assert_eq!(flow["detected_protocol"], 91);
        assert_eq!(flow["detected_protocol_name"], protocol::name_of(protocol::TLS));
        assert_eq!(
            (flow["detected_application"].as_u64(), flow["detected_application_name"].as_str()),
            (Some(0), Some("Unknown"))
        );
        assert_eq!(flow["host_server_name"], "server.test");
        assert_eq!(flow["ssl"]["version"], "0x0302");
        assert_eq!(flow["ssl"]["cipher_suite"], "0xc013");
        assert_eq!(flow["ssl"]["client_sni"], "server.test");
        assert_eq!(flow["ssl"]["alpn"], serde_json::json!(["h2", "http/1.1"]));
        assert_eq!(flow["local_mac"], "52:54:00:12:34:56");
        assert_eq!(flow["other_mac"], "00:00:00:00:00:00");
        assert_eq!((flow["local_bytes"].as_u64(), flow["other_bytes"].as_u64()), (Some(150), Some(1500)));
        assert_eq!((flow["local_packets"].as_u64(), flow["other_packets"].as_u64()), (Some(2), Some(1)));
        assert_eq!((flow["total_bytes"].as_u64(), flow["total_packets"].as_u64()), (Some(1650), Some(3)));
        assert_eq!(flow["detection_packets"], 4);
        assert_eq!(
            flow["risks"],
            serde_json::json!({"risks": [], "ndpi_risk_score": 0, "ndpi_risk_score_client": 0, "ndpi_risk_score_server": 0})
        );
        let digest = flow["digest"].as_str().unwrap();
        assert!(digest.len() == 40 && digest.bytes().all(|b| b.is_ascii_hexdigit()), "{digest}");
        assert_eq!(flow["digest_prev"].as_array().map(Vec::len), Some(1), "the tuple digest, as the flow has metadata");
    }

    #[test]
    fn the_tuple_digest_is_the_same_whichever_side_is_local_and_the_digest_follows_metadata() {
        let a = tls_flow();
        let mut b = a.clone();
        (b.local_ip, b.local_port, b.other_ip, b.other_port) = (a.other_ip, a.other_port, a.local_ip, a.local_port);
        assert_eq!(digests(&a), digests(&b));
        let mut bare = a.clone();
        bare.protocol = protocol::UNKNOWN;
        bare.tls = Default::default();
        let (digest, tuple) = digests(&bare);
        assert_eq!(digest, tuple, "no metadata: the digest is the tuple digest");
        assert_eq!(tuple, digests(&a).1);
        assert_ne!(digests(&a).0, tuple);
        let mut other_iface = a.clone();
        other_iface.iface = "wan0".into();
        assert_ne!(digests(&other_iface).1, tuple);
    }

    #[test]
    fn strings_are_escaped_as_netifyd_escapes_them() {
        let mut out = Vec::new();
        string(&mut out, "a\"b\\c\u{1}é😀");
        assert_eq!(String::from_utf8(out.clone()).unwrap(), r#""a\"b\\c\u0001\u00e9\ud83d\ude00""#);
        assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), "a\"b\\c\u{1}é😀");
    }

    #[test]
    fn risks_are_reported_by_netify_id() {
        let mut f = tls_flow();
        crate::dissect::risks::flag(&mut f, crate::dissect::risks::TLS_OBSOLETE_VERSION);
        crate::dissect::risks::flag(&mut f, crate::dissect::risks::TLS_MISSING_SNI);
        let r = record(&f, &FlowTimes::default());
        // Netify's table: 36 "Obsolete TLS (v1.1 or older)", 35 "TLS SNI Extension Not Found".
        assert_eq!(r["flow"]["risks"]["risks"], serde_json::json!([36, 35]));
        assert_eq!(netify_risk_id(57), u32::MAX, "an nDPI bit Netify does not map");
    }
}
