//! The README walkthrough, live: the weak-TLS example in a router namespace, real TLS 1.1 and
//! TLS 1.2 traffic from two LAN clients, the real kernel's nftables.
//!
//! Also holds the tool that recorded `tests/fixtures/weak-tls.pcap` from the same lab:
//! `cargo test --test weak_tls_live -- --ignored record_fixture` (needs tcpdump).

mod common;

use std::time::Duration;

use common::lab::{self, Agent, Lab, CLIENT, EXEMPT_CLIENT, SERVER};
use nix::sys::signal::Signal;

/// The README's weak-TLS example, with the log written into the lab's directory instead of /tmp.
fn example_config(lab: &Lab) -> std::path::PathBuf {
    lab.weak_tls_config()
}

fn weakssl_v4(lab: &Lab) -> String {
    lab.nft_set("weakssl.v4")
}

#[test]
fn weak_tls_example_blocks_tls_1_1_except_exempt_client() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::start();
    let config = example_config(&lab);
    let mut agent = Agent::start(
        &lab.router,
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "-I",
            "br-lan",
            "--control-socket",
            lab.path("flowsieve.sock").to_str().unwrap(),
        ],
        &lab.path("agent.log"),
    );
    assert!(
        Lab::wait_for(Duration::from_secs(10), || lab.nft_table().contains("set weakssl.v4")
            && agent.log_text().contains("flowsieve running")),
        "agent did not create its sets:\n{}",
        agent.log_text()
    );
    let table = lab.nft_table();
    assert!(table.contains("type ipv4_addr . inet_proto . inet_service . ipv4_addr"), "{table}");
    assert!(table.contains("set weakssl.v6"), "{table}");
    assert!(table.contains("type ipv6_addr . inet_proto . inet_service . ipv6_addr"), "{table}");
    assert!(table.contains("size 65536"), "{table}");
    // nft 1.0.6 (Debian 12) prints the 120 s timeout as "120s", newer releases as "2m".
    assert!(table.contains("timeout 120s") || table.contains("timeout 2m"), "{table}");

    // Before any rule: every connection works, and only the non-exempt TLS 1.1 flow is listed.
    assert!(lab.tls_request(&lab.client, 1010, true), "TLS 1.1 from the client should work before the rule");
    assert!(lab.tls_request(&lab.exempt, 1010, true), "TLS 1.1 from the exempt client");
    assert!(lab.tls_request(&lab.client, 443, false), "TLS 1.2 from the client");
    let element = format!("{CLIENT} . 6 . 1010 . {SERVER}");
    assert!(
        Lab::wait_for(Duration::from_secs(5), || weakssl_v4(&lab).contains(&element)),
        "element {element} missing:\n{}\n{}",
        weakssl_v4(&lab),
        agent.log_text()
    );
    // Give the other two flows time to be classified too before asserting they are absent.
    std::thread::sleep(Duration::from_millis(500));
    let set = weakssl_v4(&lab);
    let line = set.lines().find(|l| l.contains(&element)).unwrap_or_default().to_string();
    assert!(set.contains("expires"), "element has no timeout: {set}");
    assert!(!set.contains(EXEMPT_CLIENT), "exempt client must not be listed: {set}");
    assert!(!set.contains(". 443 ."), "TLS 1.2 flow must not be listed: {set}");
    eprintln!("element: {}", line.trim());

    // The drop rule from the README: new TLS 1.1 connections from the client now fail.
    lab.add_weakssl_drop_rule();
    assert!(!lab.tls_request(&lab.client, 1010, true), "TLS 1.1 from the client must be blocked by the rule");
    assert!(lab.tls_request(&lab.client, 443, false), "TLS 1.2 from the client must still work");
    assert!(lab.tls_request(&lab.exempt, 1010, true), "TLS 1.1 from the exempt client must still work");

    // The log target writes weakssl-YYYYMMDD-HHMMSS.json within its 10 s interval.
    let log_file = || {
        std::fs::read_dir(&lab.dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("weakssl-") && name.ends_with(".json")
        })
    };
    assert!(Lab::wait_for(Duration::from_secs(15), || log_file().is_some()), "no log file:\n{}", agent.log_text());
    let path = log_file().unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(name.len(), "weakssl-YYYYMMDD-HHMMSS.json".len(), "{name}");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let entries = doc["entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["src_addr"] == CLIENT
            && e["dst_addr"] == SERVER
            && e["dst_port"] == 1010
            && e["proto_id"] == "91"),
        "{doc}"
    );
    assert!(entries.iter().all(|e| e["src_addr"] != EXEMPT_CLIENT), "{doc}");
    assert!(doc["time_start"].is_u64() && doc["time_end"].is_u64(), "{doc}");

    // SIGHUP with a broken file: the running configuration stays, and the log says why.
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replace("ssl_version == 0x0302", "ssl_verison == 0x0302")).unwrap();
    let pid = nix::unistd::Pid::from_raw(agent.child.id() as i32);
    nix::sys::signal::kill(pid, Signal::SIGHUP).unwrap();
    assert!(
        Lab::wait_for(Duration::from_secs(5), || agent
            .log_text()
            .contains("reload failed, keeping the running configuration")),
        "{}",
        agent.log_text()
    );
    assert!(
        agent.log_text().contains("ssl_verison"),
        "the reload error names the bad attribute:\n{}",
        agent.log_text()
    );
    assert!(agent.child.try_wait().unwrap().is_none(), "agent must keep running after a bad reload");
    assert!(!lab.tls_request(&lab.client, 1010, true), "still blocked after the failed reload");
    // SIGHUP with the good file again: reloaded, and the set keeps its element (no flush, no gap).
    std::fs::write(&config, good).unwrap();
    nix::sys::signal::kill(pid, Signal::SIGHUP).unwrap();
    assert!(
        Lab::wait_for(Duration::from_secs(5), || agent.log_text().contains("configuration reloaded")),
        "{}",
        agent.log_text()
    );
    assert!(weakssl_v4(&lab).contains(&element), "reload must not flush a kept target: {}", weakssl_v4(&lab));

    // `flowsieve status` over the control socket.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowsieve"))
        .args(["status", "--json", "--control-socket", lab.path("flowsieve.sock").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // One worker per core by default, each with its own AF_PACKET ring in one fanout group.
    let workers = status["workers"].as_array().unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(workers.len(), cores, "{status}");
    assert!(workers.iter().all(|w| w["iface"] == "br-lan"), "{status}");
    let sum = |key: &str| workers.iter().map(|w| w[key].as_u64().unwrap()).sum::<u64>();
    assert!(sum("packets") > 0, "{status}");
    assert!(sum("flows_created") >= 6, "six TLS connections were made: {status}");
    assert_eq!(sum("capture_dropped"), 0, "{status}");
    assert_eq!(status["failed_reloads"], 1, "{status}");
    assert_eq!(status["reloads"], 1, "{status}");
    let nft = status["targets"].as_array().unwrap().iter().find(|t| t["name"] == "nftset.weakssl").unwrap();
    assert!(nft["applied"].as_u64().unwrap() >= 1 && nft["failures"] == 0, "{status}");

    // SIGTERM: clean exit, sets flushed (flush_on_destroy), table and sets still there.
    let status = agent.signal_and_wait(Signal::SIGTERM);
    assert!(status.success(), "agent exit status {status}:\n{}", agent.log_text());
    let set = weakssl_v4(&lab);
    assert!(set.contains("set weakssl.v4"), "{set}");
    assert!(!set.contains(&element), "set not flushed on shutdown: {set}");
}

#[test]
#[ignore = "records tests/fixtures/weak-tls.pcap; needs tcpdump"]
fn record_fixture() {
    if !lab::can_run() || !lab::which("tcpdump") {
        panic!("needs root, ip, nft, openssl and tcpdump");
    }
    let lab = Lab::start();
    let pcap = lab.path("weak-tls.pcap");
    let mut tcpdump = std::process::Command::new("ip")
        .args(["netns", "exec", lab.router.name(), "tcpdump", "-i", "br-lan", "-s", "0", "-U", "-w"])
        .arg(&pcap)
        .arg("tcp port 1010 or tcp port 443")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert!(lab.tls_request(&lab.client, 1010, true));
    assert!(lab.tls_request(&lab.exempt, 1010, true));
    assert!(lab.tls_request(&lab.client, 443, false));
    std::thread::sleep(Duration::from_secs(1));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(tcpdump.id() as i32), Signal::SIGINT).unwrap();
    tcpdump.wait().unwrap();
    let dest = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weak-tls.pcap");
    std::fs::copy(&pcap, dest).unwrap();
    eprintln!("wrote {dest}");
}

#[test]
fn libpcap_capture_finds_the_same_flow() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::start();
    let config = example_config(&lab);
    let mut agent = Agent::start(
        &lab.router,
        &["run", "--control-socket", "none", "--config", config.to_str().unwrap(), "-I", "br-lan"],
        &lab.path("agent-pcap.log"),
    );
    assert!(
        Lab::wait_for(Duration::from_secs(10), || agent.log_text().contains("flowsieve running")),
        "{}",
        agent.log_text()
    );
    assert!(lab.tls_request(&lab.client, 1010, true));
    let element = format!("{CLIENT} . 6 . 1010 . {SERVER}");
    assert!(
        Lab::wait_for(Duration::from_secs(5), || weakssl_v4(&lab).contains(&element)),
        "{}\n{}",
        weakssl_v4(&lab),
        agent.log_text()
    );
    assert!(agent.signal_and_wait(Signal::SIGINT).success(), "{}", agent.log_text());
}

#[test]
fn only_the_lan_side_copy_of_a_natted_flow_has_ip_nat_false() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::start();
    // The router masquerades LAN traffic leaving on wan0.
    lab::must(
        &lab.router,
        "nft",
        &["add table ip nat; add chain ip nat post { type nat hook postrouting priority 100 ; }; add rule ip nat post oifname wan0 masquerade"],
    );
    let (config, sink) = lab.sink_config(
        "nat",
        serde_json::json!({
            "direct": { "criteria": "ip_nat == false && other_port == 443;", "targets": ["audit"] },
            "translated": { "criteria": "ip_nat == true && other_port == 443;", "targets": ["audit"] }
        }),
    );
    let mut agent = Agent::start(
        &lab.router,
        &["run", "--control-socket", "none", "--config", config.to_str().unwrap(), "-I", "br-lan", "-E", "wan0"],
        &lab.path("agent-nat.log"),
    );
    assert!(
        Lab::wait_for(Duration::from_secs(10), || agent.log_text().contains("flowsieve running")),
        "{}",
        agent.log_text()
    );
    assert!(lab.tls_request(&lab.client, 443, false), "TLS 1.2 through the NAT");
    let records = || Lab::sink_records(&sink);
    assert!(Lab::wait_for(Duration::from_secs(5), || records().len() >= 2), "{:?}\n{}", records(), agent.log_text());
    assert!(agent.signal_and_wait(Signal::SIGTERM).success());
    let records = records();
    let by_action = |name: &str| records.iter().filter(|r| r["action"] == name).collect::<Vec<_>>();
    let direct = by_action("direct");
    let translated = by_action("translated");
    assert_eq!(direct.len(), 1, "{records:#?}");
    assert_eq!(translated.len(), 1, "{records:#?}");
    // The LAN copy: the client's own address, on the internal interface.
    assert_eq!((direct[0]["interface"].as_str(), direct[0]["internal"].as_bool()), (Some("br-lan"), Some(true)));
    assert_eq!(direct[0]["flow"]["local_ip"], CLIENT);
    // The WAN copy: after masquerading, the router's address, on the external interface.
    assert_eq!((translated[0]["interface"].as_str(), translated[0]["internal"].as_bool()), (Some("wan0"), Some(false)));
    let wan = &translated[0]["flow"];
    assert_eq!(wan["ip_nat"], true, "{wan}");
    assert_eq!(wan["local_ip"], "10.99.0.1", "{wan}");
    assert_eq!(wan["other_ip"], SERVER);
    assert_eq!(wan["other_port"], 443);
    assert_eq!(wan["local_origin"], true);
}
