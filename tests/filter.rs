//! `--filter`: BPF expressions compiled by libpcap. Replay applies them in userspace; live, the
//! kernel runs them on the AF_PACKET ring sockets (the live test needs root and the lab tools).

mod common;

use std::process::Command;
use std::time::Duration;

use common::lab::{self, Agent, Lab, CLIENT, SERVER};

const BIN: &str = env!("CARGO_BIN_EXE_flowsieve");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weak-tls.pcap");

/// An action that lists every TLS 1.1 and TLS 1.2 flow, so the set shows which flows the agent saw.
const ALL_TLS: &str = r#"{
  "version": 1,
  "actions": {
    "tls": { "criteria": "ssl_version == 0x0302 || ssl_version == 0x0303;", "targets": [ "nftset.tls" ] }
  },
  "targets": { "nftset.tls": { "target_type": "nftset", "set_name": "tls" } },
  "target_defaults": {
    "nftset": {
      "table_name": "netify", "table_family": "inet", "set_family": "ipv4",
      "type": [ "local_addr", "ip_proto", "other_port", "other_addr" ],
      "ttl": 120, "managed": true, "flush_on_create": true, "flush_on_destroy": true
    }
  }
}"#;

fn write_config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("all-tls.json");
    std::fs::write(&path, ALL_TLS).unwrap();
    path
}

/// (other_port, actions) of every flow a replay prints.
fn replay(config: &std::path::Path, extra: &[&str]) -> (Vec<(u64, String)>, String) {
    let out = Command::new(BIN)
        .args(["replay", "--json", "--config", config.to_str().unwrap()])
        .args(extra)
        .arg(FIXTURE)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let flows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|f| (f["other_port"].as_u64().unwrap(), f["actions"].to_string()))
        .collect();
    (flows, stderr)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("flowsieve-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn replay_filter_keeps_only_matching_flows() {
    let dir = temp_dir("filter-replay");
    let config = write_config(&dir);
    let (all, _) = replay(&config, &[]);
    assert_eq!(all.iter().filter(|(port, _)| *port == 443).count(), 1, "{all:?}");
    assert!(all.iter().all(|(_, actions)| actions.contains("tls")), "every flow is TLS and matches: {all:?}");

    for workers in ["1", "2"] {
        let (kept, summary) = replay(&config, &["--workers", workers, "--filter", "not tcp port 443"]);
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(kept.iter().all(|(port, _)| *port == 1010), "{kept:?}");
        assert!(summary.contains("17 frames rejected by --filter"), "{summary}");
        assert!(summary.contains("34 packets, 2 flows (2 matched an action)"), "{summary}");
    }
    let (only, _) = replay(&config, &["--filter", "tcp port 443 and host 192.168.1.10"]);
    assert_eq!(only.iter().map(|f| f.0).collect::<Vec<_>>(), [443]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_filter_expression_is_a_clear_error() {
    let out = Command::new(BIN)
        .args(["replay", "--config", concat!(env!("CARGO_MANIFEST_DIR"), "/examples/weak-tls.json")])
        .args(["--filter", "tcp prot 443", FIXTURE])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad filter expression 'tcp prot 443'"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing replayed: {}", String::from_utf8_lossy(&out.stdout));
}

fn tls_set(lab: &Lab) -> String {
    lab.nft_set("tls.v4")
}

/// `run --filter` on AF_PACKET rings with two workers in one fanout group, with each ring layout
/// (`--ring v2` and `--ring v3`): the kernel drops the port-443 packets before they reach the
/// rings, so only the port-1010 flow is classified and listed.
#[test]
fn live_filter_on_afpacket_rings_hides_filtered_flows() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::start();
    let config = write_config(&lab.dir);
    for (ring, layout) in [("v2", "AF_PACKET TPACKET_V2"), ("v3", "AF_PACKET TPACKET_V3")] {
        let mut agent = Agent::start(
            &lab.router,
            &[
                "run",
                "--config",
                config.to_str().unwrap(),
                "-I",
                "br-lan",
                "--workers",
                "2",
                "--ring",
                ring,
                "--filter",
                "not tcp port 443",
                "--control-socket",
                "none",
            ],
            &lab.path(&format!("agent-{ring}.log")),
        );
        // The set is flushed when the agent creates it, so each layout starts from empty.
        assert!(
            Lab::wait_for(Duration::from_secs(10), || tls_set(&lab).contains("set tls.v4")
                && !tls_set(&lab).contains(" . 6 . ")
                && agent.log_text().contains("flowsieve running")),
            "{ring}: agent did not start:\n{}",
            agent.log_text()
        );
        assert!(agent.log_text().contains(layout), "{ring}: not capturing with {layout}:\n{}", agent.log_text());
        assert!(lab.tls_request(&lab.client, 443, false), "{ring}: TLS 1.2 to 443");
        assert!(lab.tls_request(&lab.client, 1010, true), "{ring}: TLS 1.1 to 1010");
        let seen = format!("{CLIENT} . 6 . 1010 . {SERVER}");
        assert!(
            Lab::wait_for(Duration::from_secs(5), || tls_set(&lab).contains(&seen)),
            "{ring}: element {seen} missing:\n{}\n{}",
            tls_set(&lab),
            agent.log_text()
        );
        // The 443 flow went first; give it the same time again before asserting it is absent.
        std::thread::sleep(Duration::from_millis(500));
        let set = tls_set(&lab);
        assert!(!set.contains(". 443 ."), "{ring}: the filter must hide the 443 flow: {set}");
        let status = agent.signal_and_wait(nix::sys::signal::Signal::SIGTERM);
        assert!(status.success(), "{ring}: {}", agent.log_text());
    }
}
