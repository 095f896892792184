//! `flowsieve replay --json` over the weak-TLS lab recording (tests/fixtures/weak-tls.pcap, made
//! by `record_fixture` in weak_tls_live.rs): three flows, only the non-exempt TLS 1.1 one matches.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_flowsieve");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/weak-tls.json");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weak-tls.pcap");

fn replay_json(extra: &[&str]) -> (Vec<Value>, String) {
    let out =
        Command::new(BIN).args(["replay", "--json", "--config", EXAMPLE]).args(extra).arg(FIXTURE).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let flows = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (flows, String::from_utf8(out.stderr).unwrap())
}

fn find<'a>(flows: &'a [Value], local_ip: &str, other_port: u64) -> &'a Value {
    flows
        .iter()
        .find(|f| f["local_ip"] == local_ip && f["other_port"] == other_port)
        .unwrap_or_else(|| panic!("no flow {local_ip} -> :{other_port} in {flows:#?}"))
}

#[test]
fn only_the_non_exempt_tls_1_1_flow_is_acted_on() {
    let (flows, summary) = replay_json(&[]);
    assert_eq!(flows.len(), 3, "{flows:#?}");

    let weak = find(&flows, "192.168.1.10", 1010);
    assert_eq!(weak["other_ip"], "10.99.0.2");
    assert_eq!(weak["ip_version"], 4);
    assert_eq!(weak["ip_protocol"], 6);
    assert_eq!(weak["local_origin"], true);
    assert_eq!(weak["protocol"]["id"], 91);
    assert_eq!(weak["protocol"]["name"], "TLS");
    assert_eq!(weak["tls"]["version"], 0x0302);
    assert_eq!(weak["tls"]["sni"], "server.test");
    assert_eq!(weak["detected_hostname"], "server.test");
    assert_ne!(weak["tls"]["cipher"], 0);
    assert_eq!(weak["detection_complete"], true);
    assert_eq!(weak["detection_updated"], true, "the ServerHello added facts to a flow already named TLS");
    assert_eq!(weak["actions"], serde_json::json!(["weakssl"]));
    let ops: Vec<&str> = weak["ops"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    assert_eq!(ops[0], "nftset inet netify weakssl.v4 add 192.168.1.10 . 6 . 1010 . 10.99.0.2 timeout 120s");
    assert!(ops[1].starts_with("log log.weakssl: entry 192.168.1.10 -> 10.99.0.2:1010"), "{ops:?}");

    let exempt = find(&flows, "192.168.1.50", 1010);
    assert_eq!(exempt["tls"]["version"], 0x0302, "exempt client still speaks TLS 1.1");
    assert_eq!(exempt["actions"], serde_json::json!([]));
    assert_eq!(exempt["ops"], serde_json::json!([]));

    let modern = find(&flows, "192.168.1.10", 443);
    assert_eq!(modern["tls"]["version"], 0x0303);
    assert_eq!(modern["protocol"]["name"], "HTTP/S", "TLS on 443, as netifyd names it");
    assert_eq!(modern["actions"], serde_json::json!([]));

    assert!(summary.contains("51 packets, 3 flows (1 matched an action)"), "{summary}");
    assert!(summary.contains("0 malformed"), "{summary}");
}

#[test]
fn text_output_says_what_the_targets_would_do() {
    let out = Command::new(BIN).args(["replay", "--config", EXAMPLE, FIXTURE]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let weak = lines.iter().position(|l| l.contains("192.168.1.10:") && l.contains(":1010")).unwrap();
    assert!(lines[weak].contains("tls=TLS1.1") && lines[weak].contains("actions=[weakssl]"), "{text}");
    assert_eq!(
        lines[weak + 1].trim(),
        "nftset inet netify weakssl.v4 add 192.168.1.10 . 6 . 1010 . 10.99.0.2 timeout 120s"
    );
    assert!(text.contains("replayed 1 file(s): 51 packets"), "{text}");
}

#[test]
fn missing_capture_is_an_error_naming_the_file() {
    let out = Command::new(BIN).args(["replay", "--config", EXAMPLE, "/nonexistent/x.pcap"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
}

#[test]
fn every_corpus_capture_replays_without_crashing() {
    let dir = flowsieve::corpus_dir().join("pcap");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: nDPI corpus not found at {}", dir.display());
        return;
    };
    let mut files: Vec<String> =
        entries.filter_map(|e| e.ok()).map(|e| e.path().to_string_lossy().into_owned()).collect();
    files.sort();
    let out = Command::new(BIN).args(["replay", "--json", "--config", EXAMPLE]).args(&files).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let replayed: usize = stderr
        .split("replayed ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    // Only files that are not captures at all are left out; damaged ones count, up to the damage.
    let unreadable = stderr.lines().filter(|l| l.contains("not a pcap or pcapng file")).count();
    assert_eq!(replayed + unreadable, files.len(), "{stderr}");
    let flows = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(flows > 7000, "only {flows} flows from the corpus");
}

#[test]
fn explain_shows_why_each_flow_did_or_did_not_match() {
    let out = Command::new(BIN).args(["explain", "--config", EXAMPLE, FIXTURE]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let blocks: Vec<&str> = text.split("\n\n").filter(|b| !b.trim().is_empty()).collect();
    assert_eq!(blocks.len(), 3, "{text}");
    let weak = blocks.iter().find(|b| b.starts_with("TCP 192.168.1.10:") && b.contains(":1010")).unwrap();
    assert!(weak.contains("action weakssl: MATCHED") && weak.contains("ssl_version == 0x0302   → true"), "{weak}");
    let exempt = blocks.iter().find(|b| b.starts_with("TCP 192.168.1.50:")).unwrap();
    assert!(exempt.contains("no match") && exempt.contains("exempt by 192.168.1.50"), "{exempt}");
    let modern = blocks.iter().find(|b| b.contains(":443 ")).unwrap();
    assert!(modern.contains("(ssl_version is 0x0303)") && modern.contains("result: false"), "{modern}");
}

#[test]
fn address_groups_file_feeds_at_names_and_check_reports_bad_groups() {
    let dir = std::env::temp_dir().join(format!("flowsieve-groups-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("c.json");
    std::fs::write(
        &config,
        r#"{"actions":{"printers":{"criteria":"local_ip == @printers;","targets":["l"]}},"targets":{"l":{"target_type":"log"}}}"#,
    )
    .unwrap();
    let groups = dir.join("address-groups.json");
    std::fs::write(&groups, r#"{"printers":{"ips":["192.168.1.50","10.1.0.0/16"]}}"#).unwrap();
    let check = |groups_arg: &std::path::Path| {
        Command::new(BIN)
            .args(["check", "--config", config.to_str().unwrap(), "--address-groups", groups_arg.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let ok = check(&groups);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
    // Replaying the fixture with the group: only the printer's flow matches.
    let out = Command::new(BIN)
        .args([
            "replay",
            "--json",
            "--config",
            config.to_str().unwrap(),
            "--address-groups",
            groups.to_str().unwrap(),
            FIXTURE,
        ])
        .output()
        .unwrap();
    let flows: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let matched: Vec<&Value> = flows.iter().filter(|f| f["actions"] == serde_json::json!(["printers"])).collect();
    assert_eq!(matched.len(), 1, "{flows:#?}");
    assert_eq!(matched[0]["local_ip"], "192.168.1.50");
    std::fs::write(&groups, r#"{"printers":{"ips":["192.168.1.300"]}}"#).unwrap();
    let bad = check(&groups);
    assert!(!bad.status.success());
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(text.contains("address-groups.json") && text.contains("192.168.1.300"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// tests/fixtures/quic-rfc9001.pcap (written by scripts/quic_rfc_fixture.py from RFC 9001
/// Appendix A): the A.2 client Initial and the A.3 server Initial; the same after a forced
/// Version Negotiation; a forced Version Negotiation the client never follows.
#[test]
fn quic_server_initial_and_version_negotiation() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/quic-rfc9001.pcap");
    let out = Command::new(BIN).args(["replay", "--json", "--config", EXAMPLE, fixture]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let flows: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(flows.len(), 3, "{flows:#?}");
    for port in [50001, 50002] {
        let f = flows.iter().find(|f| f["local_port"] == port).unwrap();
        assert_eq!(f["protocol"]["name"], "QUIC", "{f:#}");
        assert_eq!(f["quic"]["version"], "V-1", "the version the client continued in, as nDPI reports it");
        assert_eq!(f["tls"]["sni"], "example.com");
        // From the server's Initial: RFC 9001 A.3's ServerHello.
        assert_eq!(f["tls"]["version"], 0x0304);
        assert_eq!(f["tls"]["cipher_name"], "TLS_AES_128_GCM_SHA256");
        assert_eq!(f["tls"]["ja3s"], "eb1d94daa7e0344597e756a1fb6e7054", "MD5 of 771,4865,51-43");
        assert_eq!(f["tls"]["alpn_negotiated"], Value::Null, "TLS 1.3 sends it encrypted");
        assert_eq!(f["detection_complete"], true);
        assert_eq!(f["detection_guessed"], false);
    }
    let abandoned = flows.iter().find(|f| f["local_port"] == 50003).unwrap();
    assert_eq!(abandoned["protocol"]["name"], "QUIC");
    assert_eq!(abandoned["quic"]["version"], "Ver-Negotiation");
    assert_eq!(abandoned["tls"], Value::Null);
}
