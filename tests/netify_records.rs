//! Netify's v5 flow telemetry records (`replay --json --format netify`, sink targets by default)
//! checked against the field list in docs/FLOW-ACTIONS.md §2.7, which transcribes Netify's v5
//! flow record key by key with what flowsieve does with each:
//! - every record replayed from nDPI's captures (read in place from `flowsieve::corpus_dir()`,
//!   which `$FLOWSIEVE_CORPUS` overrides; skipped with a note when absent) has every key the
//!   table says is always there, only keys the table lists and does not mark omitted, each with
//!   the table's JSON type; values keep Netify's units and forms (ms timestamps, 40-hex digests,
//!   MACs, `0x%04x` TLS numbers, per-side counters adding up to the totals);
//! - `replay --json --format netify` prints those records, `replay --json` flowsieve's own
//!   record as before;
//! - a sink target with no `format` writes Netify records, `format: flowsieve` the old record.

mod common {
    pub mod corpus;
}

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use flowsieve::actions::config::parse;
use flowsieve::agent::{replay, ReplayOptions};
use flowsieve::facts::protocol::{self, ProtocolId};
use flowsieve::output::netify;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_flowsieve");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weak-tls.pcap");

#[derive(Debug, Clone, PartialEq)]
enum Presence {
    Always,
    WhenKnown,
    Sink,
    SinkWhenSet,
    Omitted,
}

#[derive(Debug)]
struct Field {
    json_type: String,
    presence: Presence,
}

/// The table of docs/FLOW-ACTIONS.md §2.7: key → (JSON type, presence).
fn fields() -> BTreeMap<String, Field> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/FLOW-ACTIONS.md")).unwrap();
    let section = doc.split("### 2.7 Netify records").nth(1).expect("docs/FLOW-ACTIONS.md has §2.7");
    let section = section.split("\n## ").next().unwrap();
    let mut fields = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let key = cells[0].trim_matches('`').to_string();
        let presence = match cells[2] {
            "always" => Presence::Always,
            "when known" => Presence::WhenKnown,
            "sink" => Presence::Sink,
            "sink, when set" => Presence::SinkWhenSet,
            "omitted" => Presence::Omitted,
            other => panic!("{key}: presence '{other}'"),
        };
        assert!(
            ["string", "integer", "boolean", "number", "object", "string[]", "integer[]"].contains(&cells[1]),
            "{key}: type {}",
            cells[1]
        );
        assert!(fields.insert(key.clone(), Field { json_type: cells[1].into(), presence }).is_none(), "{key} twice");
    }
    // Netify's v5 flow record (its telemetry field list), key by key: the table must list them
    // all, so a key cannot silently drop out of the documentation or the records.
    for key in NETIFY_KEYS {
        assert!(fields.contains_key(*key), "docs/FLOW-ACTIONS.md §2.7 does not list Netify's '{key}'");
    }
    fields
}

/// Every key of Netify's v5 `flow` / `flow_dpi_update` / `flow_dpi_complete` record (envelope
/// and `flow` object; dotted keys are members of objects), from Netify's published field list.
const NETIFY_KEYS: &[&str] = &[
    "type",
    "interface",
    "internal",
    "flow",
    "flow.digest",
    "flow.digest_prev",
    "flow.first_seen_at",
    "flow.last_seen_at",
    "flow.ip_version",
    "flow.ip_protocol",
    "flow.ip_dscp",
    "flow.vlan_id",
    "flow.ip_nat",
    "flow.other_type",
    "flow.local_origin",
    "flow.local_ip",
    "flow.other_ip",
    "flow.local_mac",
    "flow.other_mac",
    "flow.local_port",
    "flow.other_port",
    "flow.detected_protocol",
    "flow.detected_protocol_name",
    "flow.detected_application",
    "flow.detected_application_name",
    "flow.detection_guessed",
    "flow.detection_updated",
    "flow.detection_packets",
    "flow.dhc_hit",
    "flow.fhc_hit",
    "flow.soft_dissector",
    "flow.app_ip_override",
    "flow.app_proto_twins",
    "flow.host_server_name",
    "flow.dns_host_name",
    "flow.category.application",
    "flow.category.protocol",
    "flow.category.domain",
    "flow.category.overlay",
    "flow.category.local_network",
    "flow.category.other_network",
    "flow.conntrack.id",
    "flow.conntrack.mark",
    "flow.conntrack.reply_src_ip",
    "flow.conntrack.reply_src_port",
    "flow.conntrack.reply_dst_ip",
    "flow.conntrack.reply_dst_port",
    "flow.nfq.src_iface",
    "flow.nfq.dst_iface",
    "flow.risks.risks",
    "flow.risks.ndpi_risk_score",
    "flow.risks.ndpi_risk_score_client",
    "flow.risks.ndpi_risk_score_server",
    "flow.ssl.version",
    "flow.ssl.cipher_suite",
    "flow.ssl.client_sni",
    "flow.ssl.server_cn",
    "flow.ssl.issuer_dn",
    "flow.ssl.subject_dn",
    "flow.ssl.fingerprint",
    "flow.ssl.alpn",
    "flow.ssl.alpn_server",
    "flow.ssl.client_ja4",
    "flow.ssl.encrypted_ch_version",
    "flow.http.url",
    "flow.http.user_agent",
    "flow.dhcp.fingerprint",
    "flow.dhcp.class_ident",
    "flow.ssh.client",
    "flow.ssh.server",
    "flow.ssdp.user_agent",
    "flow.mdns.answer",
    "flow.bt.info_hash",
    "flow.stun",
    "flow.gtp",
    "flow.tags",
    "flow.local_bytes",
    "flow.other_bytes",
    "flow.local_packets",
    "flow.other_packets",
    "flow.total_bytes",
    "flow.total_packets",
    "flow.local_rate",
    "flow.other_rate",
    "flow.tcp.resets",
    "flow.tcp.retrans",
    "flow.tcp.seq_errors",
];

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Object(_) => "object",
        Value::Array(items) if items.iter().all(Value::is_string) => "string[]",
        Value::Array(items) if items.iter().all(|v| v.is_u64()) => "integer[]",
        Value::Array(_) => "mixed array",
    }
}

/// Problems of one record against the table (empty when it conforms).
fn check(record: &Value, fields: &BTreeMap<String, Field>, sink: bool) -> Vec<String> {
    let mut problems = Vec::new();
    check_object(record, "", fields, sink, &mut problems);
    problems
}

fn check_object(value: &Value, prefix: &str, fields: &BTreeMap<String, Field>, sink: bool, out: &mut Vec<String>) {
    let Some(map) = value.as_object() else {
        out.push(format!("{prefix} is not an object"));
        return;
    };
    for (key, value) in map {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let Some(field) = fields.get(&path) else {
            out.push(format!("unknown key {path}"));
            continue;
        };
        let allowed = match field.presence {
            Presence::Omitted => false,
            Presence::Sink | Presence::SinkWhenSet => sink,
            Presence::Always | Presence::WhenKnown => true,
        };
        if !allowed {
            out.push(format!("{path} is not written ({:?})", field.presence));
        }
        // An empty array is every array type.
        let empty_array = value.as_array().is_some_and(Vec::is_empty) && field.json_type.ends_with("[]");
        if type_of(value) != field.json_type && !empty_array {
            out.push(format!("{path} is {} ({value}), not {}", type_of(value), field.json_type));
        }
        if value.is_object() {
            check_object(value, &path, fields, sink, out);
        }
    }
    // Keys always there: directly in this object.
    for (path, field) in fields {
        let Some(key) =
            (if prefix.is_empty() { Some(path.as_str()) } else { path.strip_prefix(&format!("{prefix}.")) })
        else {
            continue;
        };
        if key.contains('.') {
            continue;
        }
        let required = field.presence == Presence::Always || (field.presence == Presence::Sink && sink);
        if required && !map.contains_key(key) {
            out.push(format!("missing {path}"));
        }
    }
}

/// Netify's forms and units, and what the values must agree on.
fn check_values(record: &Value, out: &mut Vec<String>) {
    let f = &record["flow"];
    let hex40 = |v: &Value| v.as_str().is_some_and(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    if !hex40(&f["digest"]) || !f["digest_prev"].as_array().is_some_and(|d| d.iter().all(hex40)) {
        out.push(format!("digests {} {}", f["digest"], f["digest_prev"]));
    }
    for mac in ["local_mac", "other_mac"] {
        let ok = f[mac].as_str().is_some_and(|m| {
            m.len() == 17
                && m.split(':').count() == 6
                && m.split(':')
                    .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
        });
        if !ok {
            out.push(format!("{mac} {}", f[mac]));
        }
    }
    for ip in ["local_ip", "other_ip"] {
        if f[ip].as_str().and_then(|s| s.parse::<std::net::IpAddr>().ok()).is_none() {
            out.push(format!("{ip} {}", f[ip]));
        }
    }
    let n = |k: &str| f[k].as_u64().unwrap_or(u64::MAX);
    if n("local_bytes").checked_add(n("other_bytes")) != Some(n("total_bytes"))
        || n("local_packets") + n("other_packets") != n("total_packets")
        || n("total_packets") == 0
    {
        out.push(format!("counters {f}"));
    }
    let proto = u16::try_from(n("detected_protocol")).unwrap_or(u16::MAX);
    if f["detected_protocol_name"].as_str() != Some(protocol::name_of(ProtocolId(proto))) {
        out.push(format!("protocol {proto} named {}", f["detected_protocol_name"]));
    }
    let app_name = f["detected_application_name"].as_str().unwrap_or("");
    if (n("detected_application") == 0) != (app_name == "Unknown") || (app_name != "Unknown" && !app_name.contains('.'))
    {
        out.push(format!("application {} named {app_name}", f["detected_application"]));
    }
    if let Some(ssl) = f.get("ssl") {
        for k in ["version", "cipher_suite"] {
            let ok = ssl[k]
                .as_str()
                .is_some_and(|s| s.len() == 6 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit()));
            if !ok {
                out.push(format!("ssl.{k} {}", ssl[k]));
            }
        }
    }
    if !["flow", "flow_dpi_update", "flow_dpi_complete", "flow_action"].contains(&record["type"].as_str().unwrap_or(""))
    {
        out.push(format!("type {}", record["type"]));
    }
}

#[test]
fn every_corpus_record_has_netify_keys_types_and_units() {
    let fields = fields();
    let Some(files) = common::corpus::captures() else { return };
    let config =
        parse(r#"{"actions":{}, "targets":{}}"#, Path::new("none.json")).unwrap_or_else(|e| panic!("{:?}", e.problems));
    let (mut records, mut problems) = (0u64, Vec::new());
    // Which optional keys the corpus exercised, so the check is not vacuous.
    let mut seen = BTreeSet::new();
    let mut buffer = Vec::new();
    replay(&config, &files, &ReplayOptions::dry_run(), |file, flow| {
        buffer.clear();
        netify::write_record(&mut buffer, netify::telemetry_type(&flow.facts), &[], &flow.facts, &flow.times());
        let record: Value = match serde_json::from_slice(&buffer) {
            Ok(r) => r,
            Err(e) => return problems.push(format!("{file}: not JSON ({e}): {}", String::from_utf8_lossy(&buffer))),
        };
        records += 1;
        let mut found = check(&record, &fields, false);
        check_values(&record, &mut found);
        let times = flow.times();
        let ms = |t: std::time::Duration| Some(t.as_millis() as u64);
        if (record["flow"]["first_seen_at"].as_u64(), record["flow"]["last_seen_at"].as_u64())
            != (ms(times.first_seen), ms(times.last_seen))
        {
            found.push(format!("seen at is not the packet times in ms: {times:?}"));
        }
        if record["flow"]["total_bytes"].as_u64() != Some(flow.facts.bytes()) {
            found.push(format!("total_bytes is not the flow's {}", flow.facts.bytes()));
        }
        for p in found.into_iter().take(3) {
            if problems.len() < 20 {
                problems.push(format!("{file}: {p}"));
            }
        }
        for (k, v) in record["flow"].as_object().into_iter().flatten() {
            seen.insert(k.clone());
            for (inner, _) in v.as_object().into_iter().flatten() {
                seen.insert(format!("{k}.{inner}"));
            }
        }
    })
    .expect("replay");
    eprintln!("{records} records from {} captures; keys seen: {seen:?}", files.len());
    assert!(problems.is_empty(), "{} problems, first:\n{}", problems.len(), problems.join("\n"));
    assert!(records > 1000, "{records}");
    for key in [
        "ssl.client_sni",
        "ssl.client_ja4",
        "ssl.alpn_server",
        "http.url",
        "http.user_agent",
        "ssh.client",
        "dhcp.class_ident",
        "host_server_name",
        "dns_host_name",
        "ssdp.user_agent",
    ] {
        assert!(seen.contains(key), "no record of the corpus has {key}");
    }
}

fn replay_json(extra: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .args(["replay", "--json", "--config", concat!(env!("CARGO_MANIFEST_DIR"), "/examples/weak-tls.json")])
        .args(extra)
        .arg(FIXTURE)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn replay_prints_netify_records_only_when_asked() {
    let fields = fields();
    let (own, _) = replay_json(&[]);
    let (also_own, _) = replay_json(&["--format", "flowsieve"]);
    assert_eq!(own, also_own, "--format flowsieve is the default");
    let first: Value = serde_json::from_str(own.lines().next().unwrap()).unwrap();
    assert!(first["protocol"]["id"].is_u64() && first["capture"].is_string(), "flowsieve's record: {first}");

    let (netify_out, _) = replay_json(&["--format", "netify"]);
    let records: Vec<Value> = netify_out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), own.lines().count());
    for (r, line) in records.iter().zip(own.lines()) {
        let mut problems = check(r, &fields, false);
        check_values(r, &mut problems);
        assert!(problems.is_empty(), "{problems:?}\n{r}");
        // The same flow in both records, in Netify's units.
        let mine: Value = serde_json::from_str(line).unwrap();
        let f = &r["flow"];
        let ms = |secs: &Value| (secs.as_f64().unwrap() * 1000.0).floor() as u64;
        assert_eq!(f["first_seen_at"].as_u64(), Some(ms(&mine["first_seen"])), "{r}\n{mine}");
        assert_eq!(f["last_seen_at"].as_u64(), Some(ms(&mine["last_seen"])), "{r}\n{mine}");
        for (netify, flowsieve) in [
            ("local_ip", "local_ip"),
            ("other_port", "other_port"),
            ("total_packets", "packets"),
            ("total_bytes", "bytes"),
        ] {
            assert_eq!(f[netify], mine[flowsieve], "{netify}: {r}\n{mine}");
        }
        assert_eq!(f["detected_protocol"], mine["protocol"]["id"]);
    }
    // The weak-TLS fixture: the client's TLS 1.1 flow to server.test:1010.
    let tls11 = records
        .iter()
        .find(|r| r["flow"]["ssl"]["version"] == "0x0302" && r["flow"]["local_ip"] == "192.168.1.10")
        .unwrap();
    let f = &tls11["flow"];
    assert_eq!((tls11["type"].as_str(), tls11["interface"].as_str()), (Some("flow_dpi_complete"), Some("pcap")));
    assert_eq!((f["other_port"].as_u64(), f["host_server_name"].as_str()), (Some(1010), Some("server.test")));
    assert_eq!(f["detected_protocol"], 91);
    assert_eq!(f["total_packets"], 17);
    assert!(f["local_packets"].as_u64().unwrap() > 0 && f["other_packets"].as_u64().unwrap() > 0, "{f}");
    assert!(
        f["local_bytes"].as_u64().unwrap() < f["other_bytes"].as_u64().unwrap(),
        "the server sent its certificate: {f}"
    );

    let bad = Command::new(BIN).args(["replay", "--format", "netify", "--config", "x.json", FIXTURE]).output().unwrap();
    assert!(!bad.status.success(), "--format without --json is refused");
}

/// Netify's soft dissectors compiled into the built-in list (docs/FLOW-ACTIONS.md §5), seen by a
/// user of `replay --json --format netify`: `protocol_id == 9 && application_id == 0` names an NTP
/// flow without an application `netify.ntp`; `app == 'netify.signal' && (other_port == 3478 ||
/// …)` and `app == 'netify.signal' && protocol_id == 78 && (other_port == 443 || …)` name
/// Signal's STUN `SignalCall`. Both set `soft_dissector` and
/// complete detection; flows no line matched say false.
#[test]
fn soft_dissectors_show_in_netify_records() {
    let Some(files) = common::corpus::captures() else { return };
    let pick = |name: &str| files.iter().find(|f| f.ends_with(name)).cloned();
    let (Some(ntp), Some(signal)) = (pick("/NTPv4.pcap"), pick("/stun_signal.pcapng")) else {
        eprintln!("SKIPPED: NTPv4.pcap or stun_signal.pcapng not in the corpus");
        return;
    };
    let config = std::env::temp_dir().join(format!("flowsieve-soft-{}.json", std::process::id()));
    std::fs::write(&config, "{}").unwrap();
    let records = |capture: &str| -> Vec<Value> {
        let out = Command::new(BIN)
            .args(["replay", "--json", "--format", "netify", "--config"])
            .arg(&config)
            .arg(capture)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let (ntp, signal) = (records(&ntp), records(&signal));
    let _ = std::fs::remove_file(&config);
    assert!(!ntp.is_empty());
    for r in &ntp {
        let f = &r["flow"];
        assert_eq!(f["detected_protocol_name"], "NTP", "{r}");
        assert_eq!(
            (f["detected_application"].as_u64(), f["detected_application_name"].as_str()),
            (Some(10061), Some("netify.ntp"))
        );
        assert_eq!((f["soft_dissector"].as_bool(), r["type"].as_str()), (Some(true), Some("flow_dpi_complete")), "{r}");
    }
    let soft: Vec<&Value> = signal.iter().filter(|r| r["flow"]["soft_dissector"] == true).collect();
    assert!(!soft.is_empty(), "no soft dissector matched stun_signal.pcapng");
    for r in &soft {
        let f = &r["flow"];
        assert_eq!(
            (f["detected_protocol_name"].as_str(), f["detected_application_name"].as_str()),
            (Some("SignalCall"), Some("netify.signal")),
            "{r}"
        );
        // Netify's two Signal lines: any flow of the application on 3478, or its STUN (78) on
        // 443 (its relays' TURN over 443, named netify.signal by its REALM or by the call it is
        // in: docs/FLOW-ACTIONS.md §5, "A call's other flows").
        let on = |port: u64| f["other_port"] == port || f["local_port"] == port;
        assert!(on(3478) || on(443), "{r}");
    }
    assert!(signal.iter().any(|r| r["flow"]["soft_dissector"] == false), "STUN flows of other applications stay");
}

fn sink_records(dir: &Path, format: Option<&str>) -> Vec<Value> {
    let file = dir.join(format!("records-{}.jsonl", format.unwrap_or("default")));
    let mut target = serde_json::json!({ "target_type": "sink", "path": file, "channel": "blocks" });
    if let Some(format) = format {
        target["format"] = format.into();
    }
    let config = serde_json::json!({
        "actions": { "weakssl": { "criteria": "ip_nat == false && ssl_version == 0x0302;", "targets": ["audit"],
                                  "exemptions": ["192.168.1.50"] } },
        "targets": { "audit": target }
    });
    let path = dir.join("sink.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let out = Command::new(BIN).args(["replay", "--apply", "-q", "--config"]).arg(&path).arg(FIXTURE).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(&file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_sink_sends_netify_records_unless_told_flowsieve() {
    let fields = fields();
    let dir: PathBuf = std::env::temp_dir().join(format!("flowsieve-netify-sink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let records = sink_records(&dir, None);
    assert_eq!(records.len(), 1, "one flow matches: {records:?}");
    let r = &records[0];
    let mut problems = check(r, &fields, true);
    check_values(r, &mut problems);
    assert!(problems.is_empty(), "{problems:?}\n{r}");
    assert_eq!(
        (r["type"].as_str(), r["action"].as_str(), r["target"].as_str()),
        (Some("flow_action"), Some("weakssl"), Some("audit"))
    );
    assert_eq!((r["channel"].as_str(), r.get("sink")), (Some("blocks"), None));
    assert_eq!((r["interface"].as_str(), r["internal"].as_bool()), (Some("pcap"), Some(true)));
    let f = &r["flow"];
    assert_eq!((f["local_ip"].as_str(), f["other_port"].as_u64()), (Some("192.168.1.10"), Some(1010)));
    assert_eq!(f["ssl"]["version"], "0x0302");
    // Sent at the ServerHello, the flow's facts of that moment: part of the flow only.
    assert!(f["total_packets"].as_u64().unwrap() < 17, "{f}");
    assert_eq!(records, sink_records(&dir, Some("netify")), "netify is the default");

    let own = sink_records(&dir, Some("flowsieve"));
    assert_eq!(own.len(), 1);
    assert_eq!((own[0]["type"].as_str(), own[0]["action"].as_str()), (Some("flow_action"), Some("weakssl")));
    assert!(own[0]["time"].is_f64() && own[0]["flow"]["protocol"]["id"] == 91, "{}", own[0]);

    let bad = dir.join("bad.json");
    let text = serde_json::json!({ "actions": {}, "targets": { "s": { "target_type": "sink", "path": "/tmp/x", "format": "csv" } } });
    std::fs::write(&bad, text.to_string()).unwrap();
    let out = Command::new(BIN).args(["check", "--config"]).arg(&bad).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("$.targets.s.format") && text.contains("'csv'"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
