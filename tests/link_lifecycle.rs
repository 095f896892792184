//! Interface lifecycle, end to end with real interfaces: the agent is started on an interface
//! that does not exist yet, waits for it, and matches a flow once it is created; then the
//! interface is deleted and re-created while the agent runs (as a VPN or PPPoE link is), and a
//! new flow on the new interface is matched again. `status` follows the interface offline and
//! online, with its ifindex and last packet time.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::lab::{self, Agent, Lab};
use common::netns::NetNs;
use nix::sys::signal::Signal;

const AGENT_IP: &str = "10.77.0.1";

/// A veth pair: `lc0` in the agent's namespace, `lc1` (10.77.0.2) in the peer's.
fn create_link(agent_ns: &NetNs, peer: &NetNs) {
    lab::must(agent_ns, "ip", &["link", "add", "lc0", "type", "veth", "peer", "name", "lc1", "netns", peer.name()]);
    lab::must(agent_ns, "ip", &["addr", "add", &format!("{AGENT_IP}/24"), "dev", "lc0"]);
    lab::must(agent_ns, "ip", &["link", "set", "lc0", "up"]);
    lab::must(peer, "ip", &["addr", "add", "10.77.0.2/24", "dev", "lc1"]);
    lab::must(peer, "ip", &["link", "set", "lc1", "up"]);
}

/// Three UDP datagrams from the peer to the agent's side on `port` (a new source port each).
fn send_udp(peer: &NetNs, port: u16) {
    for _ in 0..3 {
        lab::must(peer, "bash", &["-c", &format!("echo probe > /dev/udp/{AGENT_IP}/{port}")]);
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn link_status(socket: &Path) -> Option<flowsieve::status::LinkStatus> {
    flowsieve::status::query(socket).ok()?.workers.first()?.link.clone()
}

#[test]
fn a_missing_then_deleted_and_recreated_interface_is_captured_again() {
    if !lab::can_run() {
        return;
    }
    let agent_ns = NetNs::new("fs-link");
    let peer = NetNs::new("fs-linkp");
    let dir: PathBuf = std::env::temp_dir().join(format!("flowsieve-link-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sink = dir.join("sink.jsonl");
    let config = dir.join("actions.json");
    let socket = dir.join("agent.sock");
    std::fs::write(
        &config,
        serde_json::json!({
            "actions": {
                "before": { "criteria": "local_port == 9001 || other_port == 9001;", "targets": ["audit"] },
                "after": { "criteria": "local_port == 9002 || other_port == 9002;", "targets": ["audit"] }
            },
            "targets": { "audit": { "target_type": "sink", "path": sink.to_str().unwrap() } }
        })
        .to_string(),
    )
    .unwrap();
    let mut agent = Agent::start(
        &agent_ns,
        &["run", "--control-socket", socket.to_str().unwrap(), "--config", config.to_str().unwrap(), "-I", "lc0"],
        &dir.join("agent.log"),
    );
    // Not fatal: the agent runs and says it waits.
    assert!(
        Lab::wait_for(Duration::from_secs(10), || agent.log_text().contains("flowsieve running")),
        "{}",
        agent.log_text()
    );
    assert!(agent.log_text().contains("capturing when it appears"), "{}", agent.log_text());
    assert!(
        Lab::wait_for(Duration::from_secs(5), || link_status(&socket).is_some_and(|l| !l.online)),
        "{}",
        agent.log_text()
    );

    create_link(&agent_ns, &peer);
    assert!(
        Lab::wait_for(Duration::from_secs(5), || link_status(&socket).is_some_and(|l| l.online)),
        "{:?}\n{}",
        link_status(&socket),
        agent.log_text()
    );
    let first = link_status(&socket).unwrap();
    send_udp(&peer, 9001);
    let records = || Lab::sink_records(&sink);
    let count = |action: &str| records().iter().filter(|r| r["action"] == action).count();
    assert!(Lab::wait_for(Duration::from_secs(5), || count("before") >= 1), "{:?}\n{}", records(), agent.log_text());
    assert!(Lab::wait_for(Duration::from_secs(2), || link_status(&socket).is_some_and(|l| l.last_packet.is_some())));

    // Deleted while running: offline; re-created: online on a new ifindex, flows matched again.
    lab::must(&agent_ns, "ip", &["link", "del", "lc0"]);
    assert!(
        Lab::wait_for(Duration::from_secs(5), || link_status(&socket).is_some_and(|l| !l.online)),
        "{:?}\n{}",
        link_status(&socket),
        agent.log_text()
    );
    assert!(agent.log_text().contains("interface went away"), "{}", agent.log_text());
    create_link(&agent_ns, &peer);
    assert!(
        Lab::wait_for(Duration::from_secs(5), || link_status(&socket)
            .is_some_and(|l| l.online && l.ifindex != first.ifindex)),
        "{:?} (first {first:?})\n{}",
        link_status(&socket),
        agent.log_text()
    );
    send_udp(&peer, 9002);
    assert!(Lab::wait_for(Duration::from_secs(5), || count("after") >= 1), "{:?}\n{}", records(), agent.log_text());
    let last = link_status(&socket).unwrap();
    assert!(last.changes >= first.changes + 2, "{first:?} then {last:?}");
    assert!(agent.log_text().contains("interface is back, capturing again"), "{}", agent.log_text());

    let text = String::from_utf8_lossy(
        &std::process::Command::new(env!("CARGO_BIN_EXE_flowsieve"))
            .args(["status", "--control-socket", socket.to_str().unwrap()])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(text.contains("interface online (ifindex"), "{text}");
    assert!(agent.signal_and_wait(Signal::SIGTERM).success(), "{}", agent.log_text());
    // Three datagrams, three source ports: three flows each, matched once each.
    assert_eq!(count("before"), 3, "{:?}", records());
    assert_eq!(count("after"), 3, "{:?}", records());
    let _ = std::fs::remove_dir_all(&dir);
}
