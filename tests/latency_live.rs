//! Bench, not a check (ignored; `scripts/match-latency.sh` runs it): how long from the packet
//! that completes a TLS 1.1 classification to its element being in the kernel's nftables set,
//! over many flows, with the AF_PACKET TPACKET_V2 ring, the TPACKET_V3 ring and libpcap
//! (env `FLOWSIEVE_LATENCY_CAPTURE`: a comma-separated subset of `v2,v3,pcap`, default all;
//! `FLOWSIEVE_LATENCY_RT=1` runs the agent SCHED_FIFO, to see past a busy machine's run queue).
//!
//! The weak-TLS lab (router namespace, LAN bridge, openssl servers) carries FLOWS TLS 1.1
//! connections (env `FLOWSIEVE_LATENCY_FLOWS`, default 200), several at a time; the set key
//! includes the client port so every connection is its own element. The agent measures each
//! match from the packet's kernel capture timestamp to the acknowledgement of the nftables batch
//! that carried it (sent after the kernel's commit: the element is in the set), and
//! `flowsieve status` reports median, p90, p99 and max. Also prints the VM's steal time during
//! the handshakes (a CPU the hypervisor took away runs none of the agent's threads, so long
//! steals show up in the tail). Prints figures; asserts only that the elements arrived, never a
//! time.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::lab::{self, Agent, Lab};

fn bench_config(lab: &Lab) -> std::path::PathBuf {
    let config = serde_json::json!({
        "version": 1,
        "actions": {
            "weakssl": { "criteria": "ssl_version == 0x0302;", "targets": ["nftset.weakssl"] }
        },
        "targets": { "nftset.weakssl": { "target_type": "nftset", "set_name": "weakssl" } },
        "target_defaults": {
            "nftset": {
                "table_name": "netify", "table_family": "inet", "set_family": "ipv4",
                "type": ["local_addr", "ip_proto", "local_port", "other_port", "other_addr"],
                "ttl": 600, "managed": true, "flush_on_create": true, "flush_on_destroy": true
            }
        }
    });
    let path = lab.path("latency.json");
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    path
}

fn element_count(lab: &Lab) -> usize {
    lab.nft_set("weakssl.v4").matches(" . 6 . ").count()
}

/// The `run` arguments of a capture mode named in `FLOWSIEVE_LATENCY_CAPTURE`.
fn capture_args(mode: &str) -> &'static [&'static str] {
    match mode {
        "v2" => &["--capture", "afpacket", "--ring", "v2"],
        "v3" => &["--capture", "afpacket", "--ring", "v3"],
        "pcap" => &["--capture", "pcap"],
        other => panic!("FLOWSIEVE_LATENCY_CAPTURE: unknown mode '{other}' (v2, v3, pcap)"),
    }
}

/// Per-CPU steal time from /proc/stat (the 8th value, in USER_HZ ticks of 10 ms): time the
/// hypervisor ran something else while this VM's CPU had work. Empty on hosts without it.
fn steal_ticks() -> Vec<u64> {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    stat.lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .map(|l| l.split_whitespace().nth(8).and_then(|v| v.parse().ok()).unwrap_or(0))
        .collect()
}

/// Samples steal time every 10 ms until `done`: (total ms over all CPUs, longest single
/// stall seen on one CPU in ms). A stolen CPU runs none of the agent's threads, whatever their
/// priority, so a stall here shows up in the latency's tail without being the program's.
fn watch_steal(done: &AtomicBool) -> (u64, u64) {
    let first = steal_ticks();
    let mut last = first.clone();
    let mut longest = 0;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
        let now = steal_ticks();
        for (a, b) in now.iter().zip(&last) {
            longest = longest.max(a.saturating_sub(*b));
        }
        last = now;
    }
    let total: u64 = last.iter().zip(&first).map(|(a, b)| a.saturating_sub(*b)).sum();
    (total * 10, longest * 10)
}

fn run_once(lab: &Lab, capture: &str, flows: usize) {
    let config = bench_config(lab);
    let socket = lab.path(&format!("latency-{capture}.sock"));
    // FLOWSIEVE_LATENCY_RT=1: the agent runs SCHED_FIFO (chrt -f 20), so on a busy machine the
    // figures show the capture path rather than how long the agent's threads wait for a CPU.
    let rt = std::env::var_os("FLOWSIEVE_LATENCY_RT").is_some_and(|v| v != "0" && !v.is_empty());
    let wrapper: &[&str] = if rt { &["chrt", "-f", "20"] } else { &[] };
    let mut agent = Agent::start_under(
        &lab.router,
        wrapper,
        &["run", "--config", config.to_str().unwrap(), "-I", "br-lan", "--control-socket", socket.to_str().unwrap()]
            .iter()
            .chain(capture_args(capture))
            .copied()
            .collect::<Vec<_>>(),
        &lab.path(&format!("agent-{capture}.log")),
    );
    assert!(
        Lab::wait_for(Duration::from_secs(10), || lab.nft_table().contains("set weakssl.v4")
            && agent.log_text().contains("flowsieve running")),
        "agent did not create its set:\n{}",
        agent.log_text()
    );
    let next = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let (steal_ms, longest_steal_ms) = std::thread::scope(|s| {
        let steal = s.spawn(|| watch_steal(&done));
        let clients: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    while next.fetch_add(1, Ordering::Relaxed) < flows {
                        if lab.tls_request(&lab.client, 1010, true) {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        steal.join().unwrap()
    });
    let ok = ok.load(Ordering::Relaxed);
    let query = || -> serde_json::Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowsieve"))
            .args(["status", "--json", "--control-socket", socket.to_str().unwrap()])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    };
    // Counting, not timing: wait until the enforcer has published a figure for (nearly) every
    // connection — a match is counted once the batch that carried it is acknowledged, so its
    // element is committed — and for every element the set holds (the enforcer publishes every
    // 250 ms).
    let mut doc = query();
    let mut elements = 0;
    let settled = Lab::wait_for(Duration::from_secs(10), || {
        doc = query();
        elements = element_count(lab);
        let matches = doc["match_to_kernel"]["count"].as_u64().unwrap_or(0) as usize;
        // Two connections may share a client port (ephemeral ports are reused; on a busy
        // machine 7 of 300 did): one element for two matches, so elements are not compared
        // with connections.
        elements > 0 && matches >= elements && matches >= ok.saturating_sub(ok / 50)
    });
    let l = &doc["match_to_kernel"];
    let part = |name: &str| {
        let p = &doc[name];
        format!("median {} µs, p99 {} µs, max {} µs", p["p50_us"], p["p99_us"], p["max_us"])
    };
    let dropped: u64 =
        doc["workers"].as_array().map_or(0, |w| w.iter().map(|w| w["capture_dropped"].as_u64().unwrap_or(0)).sum());
    println!(
        "{capture}{}: {ok}/{flows} TLS 1.1 connections, {elements} elements in the set; match to kernel \
         over {} matches: median {} µs, p90 {} µs, p99 {} µs, max {} µs (capture drops {dropped})",
        if rt { " (SCHED_FIFO)" } else { "" },
        l["count"],
        l["p50_us"],
        l["p90_us"],
        l["p99_us"],
        l["max_us"],
    );
    println!("    capture to enforcer: {}", part("match_to_enforcer"));
    println!("    enforcer to kernel:  {}", part("enforcer_to_kernel"));
    println!(
        "    vCPU steal during the handshakes: {steal_ms} ms over all CPUs, longest stall on one CPU \
         {longest_steal_ms} ms (10 ms resolution; the agent cannot run on a stolen CPU)"
    );
    let log = agent.log_text();
    agent.signal_and_wait(nix::sys::signal::Signal::SIGTERM);
    assert!(ok > 0, "no TLS 1.1 connection succeeded");
    assert!(settled, "{elements} elements for {ok} connections, {} matches:\n{log}", l["count"]);
}

#[test]
#[ignore = "bench: run by scripts/match-latency.sh"]
fn match_to_kernel_latency() {
    if !lab::can_run() {
        return;
    }
    let flows = std::env::var("FLOWSIEVE_LATENCY_FLOWS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let modes = std::env::var("FLOWSIEVE_LATENCY_CAPTURE").unwrap_or_else(|_| "v2,v3,pcap".into());
    let lab = Lab::start();
    for capture in modes.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        run_once(&lab, capture, flows);
    }
}
