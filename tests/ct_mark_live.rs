//! `ct_mark` live: in the weak-TLS lab, an nft rule in the router marks forwarded connections to
//! port 443 (`ct mark set 0x42`); the agent on the LAN bridge learns the mark from conntrack
//! and an action `ct_mark == 0x42` matches that connection and not one to port 1010. Then the
//! connection to 1010, already matched as unmarked, gets mark 0x43 (through ctnetlink, standing
//! for a firewall that marks late): no packet of the flow comes any more, so only the conntrack
//! event (through the worker's notice queue) can bring that mark to the flow.

mod common;

use std::time::Duration;

use common::lab::{self, Agent, Lab, CLIENT};
use nix::sys::signal::Signal;

#[test]
fn a_mark_set_by_the_firewall_is_seen_by_ct_mark_criteria() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::start();
    lab::must(
        &lab.router,
        "nft",
        &["add table inet ctm; add chain inet ctm marking { type filter hook forward priority 0 ; }; add rule inet ctm marking tcp dport 443 ct mark set 0x42"],
    );
    let (config, sink) = lab.sink_config(
        "marks",
        serde_json::json!({
            "marked": { "criteria": "ct_mark == 0x42;", "targets": ["audit"] },
            "unmarked": { "criteria": "ct_mark == 0 && other_port == 1010;", "targets": ["audit"] },
            "late": { "criteria": "ct_mark == 0x43;", "targets": ["audit"] }
        }),
    );
    let mut agent = Agent::start(
        &lab.router,
        &["run", "--control-socket", "none", "--config", config.to_str().unwrap(), "-I", "br-lan"],
        &lab.path("agent-marks.log"),
    );
    assert!(
        Lab::wait_for(Duration::from_secs(10), || agent.log_text().contains("flowsieve running")),
        "{}",
        agent.log_text()
    );
    assert!(lab.tls_request(&lab.client, 443, false), "TLS 1.2 to 443");
    assert!(lab.tls_request(&lab.client, 1010, true), "TLS 1.1 to 1010");
    let records = || Lab::sink_records(&sink);
    assert!(Lab::wait_for(Duration::from_secs(5), || records().len() >= 2), "{:?}\n{}", records(), agent.log_text());
    let first = records();
    let unmarked_flow = &first.iter().find(|r| r["action"] == "unmarked").expect("unmarked record")["flow"];
    set_mark_in(lab.router.name(), unmarked_flow, 0x43);
    assert!(Lab::wait_for(Duration::from_secs(5), || records().len() >= 3), "{:?}\n{}", records(), agent.log_text());
    assert!(agent.signal_and_wait(Signal::SIGTERM).success());
    let conntrack = lab.router.exec("conntrack", &["-L", "-p", "tcp", "--dport", "443"]);
    let records = records();
    let by_action = |name: &str| records.iter().filter(|r| r["action"] == name).collect::<Vec<_>>();
    let marked = by_action("marked");
    assert_eq!(marked.len(), 1, "{records:#?}\nconntrack: {}", String::from_utf8_lossy(&conntrack.stdout));
    assert_eq!(marked[0]["flow"]["other_port"], 443);
    assert_eq!(marked[0]["flow"]["local_ip"], CLIENT);
    assert_eq!(marked[0]["flow"]["conntrack"]["mark"], 0x42, "Netify's conntrack.mark");
    let unmarked = by_action("unmarked");
    assert_eq!(unmarked.len(), 1, "{records:#?}");
    assert!(unmarked[0]["flow"].get("conntrack").is_none(), "no mark, no conntrack.mark: {}", unmarked[0]);
    let late = by_action("late");
    assert_eq!(late.len(), 1, "{records:#?}");
    assert_eq!(late[0]["flow"]["other_port"], 1010);
    assert_eq!(late[0]["flow"]["conntrack"]["mark"], 0x43);
}

/// Set the mark of the connection of a sink record's flow, from a thread inside namespace `ns`.
fn set_mark_in(ns: &str, flow: &serde_json::Value, mark: u32) {
    use flowsieve::netlink::conntrack::{ConntrackSocket, CtTuple};
    let ip = |k: &str| flow[k].as_str().unwrap().parse::<std::net::IpAddr>().unwrap();
    let port = |k: &str| flow[k].as_u64().unwrap() as u16;
    let tuple = CtTuple::ports(ip("local_ip"), port("local_port"), ip("other_ip"), port("other_port"), 6);
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let target = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&target, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let mut socket = ConntrackSocket::open().unwrap();
        socket.set_mark(&tuple, mark, u32::MAX).unwrap_or_else(|e| panic!("marking {tuple}: {e}"));
    })
    .join()
    .unwrap();
}
