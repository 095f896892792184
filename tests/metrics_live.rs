//! The agent in the weak-TLS lab with `--metrics-listen` and a sink publishing to a mosquitto
//! broker in the router namespace: `/metrics` is scraped over TCP before and after a TLS 1.1
//! connection (packets, flows, target operations, the latency histogram and the MQTT counters
//! move), the connection's record arrives on the broker's topic (seen by `mosquitto_sub`), a
//! sink whose broker is down shows up as failures, the broker is restarted and the next record
//! still arrives, and a SIGHUP is counted as a reload.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::lab::{self, Agent, Lab, CLIENT};
use common::mosquitto::{self, Broker};

const METRICS_PORT: u16 = 9464;

/// `GET path` on 127.0.0.1:METRICS_PORT inside namespace `ns`: (status line, body).
fn http_get(ns: &str, path: &str) -> Option<(String, String)> {
    let ns = format!("/run/netns/{ns}");
    let path = path.to_string();
    std::thread::spawn(move || {
        // This thread only: its sockets belong to the router namespace.
        let file = std::fs::File::open(ns).ok()?;
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).ok()?;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", METRICS_PORT)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: router\r\n\r\n").as_bytes()).ok()?;
        let mut reply = String::new();
        s.read_to_string(&mut reply).ok()?;
        let (head, body) = reply.split_once("\r\n\r\n")?;
        Some((head.lines().next()?.to_string(), body.to_string()))
    })
    .join()
    .ok()
    .flatten()
}

/// The value of the sample `series` (name and labels exactly as exposed), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The sum of every sample of family `name` whose labels contain `having`.
fn sum(text: &str, name: &str, having: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(having))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn metrics_move_with_traffic_and_records_reach_the_broker() {
    if !lab::can_run() {
        return;
    }
    if let Some(why) = mosquitto::unavailable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let lab = Lab::start();
    let mut broker = Broker::start(Some(&lab.router), 1883, None);
    let mut sub = broker.subscribe("fleet/flows");
    let config = lab.path("metrics.json");
    let text = serde_json::json!({
        "actions": { "weakssl": { "criteria": "ssl_version == 0x0302;", "targets": ["fleet", "offline"],
                                  "exemptions": ["192.168.1.50"] } },
        "targets": {
            "fleet": { "target_type": "sink",
                       "mqtt": { "url": "mqtt://127.0.0.1:1883", "topic": "fleet/flows", "qos": 1 } },
            "offline": { "target_type": "sink", "mqtt": { "url": "mqtt://127.0.0.1:1884", "topic": "t" } }
        }
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let socket = lab.path("metrics.sock");
    let listen = format!("127.0.0.1:{METRICS_PORT}");
    let mut agent = Agent::start(
        &lab.router,
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "-I",
            "br-lan",
            "--control-socket",
            socket.to_str().unwrap(),
            "--metrics-listen",
            &listen,
        ],
        &lab.path("agent.log"),
    );
    let ns = lab.router.name().to_string();
    let scrape = || http_get(&ns, "/metrics").map(|(_, body)| body).unwrap_or_default();
    assert!(
        Lab::wait_for(Duration::from_secs(10), || agent.log_text().contains("flowsieve running")
            && scrape().contains("flowsieve_build_info")),
        "agent did not start serving metrics:\n{}",
        agent.log_text()
    );
    let (status_line, _) = http_get(&ns, "/").unwrap();
    assert!(status_line.starts_with("HTTP/1.1 404"), "{status_line}");
    let before = scrape();
    for family in [
        "flowsieve_interface_packets_total counter",
        "flowsieve_interface_drops_total counter",
        "flowsieve_worker_flows_active gauge",
        "flowsieve_worker_flows_created_total counter",
        "flowsieve_worker_flows_refused_total counter",
        "flowsieve_target_operations_total counter",
        "flowsieve_target_failures_total counter",
        "flowsieve_match_to_kernel_seconds histogram",
        "flowsieve_process_resident_memory_bytes gauge",
        "flowsieve_config_reloads_total counter",
    ] {
        assert!(before.contains(&format!("# TYPE {family}\n")), "no {family} in\n{before}");
    }
    let packets_before = value(&before, "flowsieve_interface_packets_total{interface=\"br-lan\"}").unwrap();
    let rss = value(&before, "flowsieve_process_resident_memory_bytes").unwrap();
    assert!(rss > 1e6, "{rss}");

    // A TLS 1.1 connection: a flow, a match, one record to each sink.
    assert!(lab.tls_request(&lab.client, 1010, true), "TLS 1.1 connection failed");
    let record = sub.next_json(Duration::from_secs(10)).unwrap_or_else(|| panic!("no record: {:?}", sub.seen));
    assert_eq!((record["action"].as_str(), record["target"].as_str()), (Some("weakssl"), Some("fleet")));
    assert_eq!(record["flow"]["local_ip"], CLIENT);
    assert_eq!(record["flow"]["other_port"], 1010);

    let mut after = String::new();
    let settled = Lab::wait_for(Duration::from_secs(10), || {
        after = scrape();
        value(&after, "flowsieve_target_detail{target=\"fleet\",name=\"mqtt_published\"}") == Some(1.0)
            && value(&after, "flowsieve_match_to_kernel_seconds_count").is_some_and(|n| n >= 1.0)
            && sum(&after, "flowsieve_worker_flows_created_total", "br-lan") >= 1.0
            // A worker publishes on its idle tick, the ring statistics count what it has not
            // read yet: wait for the workers' own counts too.
            && sum(&after, "flowsieve_worker_packets_total", "br-lan") >= 8.0
            && value(&after, "flowsieve_target_failures_total{target=\"offline\"}").is_some_and(|n| n >= 1.0)
    });
    assert!(settled, "metrics did not move:\n{after}\n{}", agent.log_text());
    let packets_after = value(&after, "flowsieve_interface_packets_total{interface=\"br-lan\"}").unwrap();
    assert!(packets_after >= packets_before + 8.0, "{packets_before} -> {packets_after}");
    for series in [
        "flowsieve_target_operations_total{target=\"fleet\",operation=\"applied\"}",
        "flowsieve_target_operations_total{target=\"offline\",operation=\"applied\"}",
        "flowsieve_target_detail{target=\"fleet\",name=\"mqtt_connected\"}",
        "flowsieve_target_detail{target=\"fleet\",name=\"mqtt_connects\"}",
        "flowsieve_match_to_kernel_seconds_bucket{le=\"+Inf\"}",
    ] {
        assert_eq!(value(&after, series), Some(1.0), "{series} in\n{after}");
    }
    assert_eq!(value(&after, "flowsieve_target_failures_total{target=\"fleet\"}"), Some(0.0), "{after}");
    assert!(value(&after, "flowsieve_target_detail{target=\"offline\",name=\"mqtt_connect_failures\"}") >= Some(1.0));
    assert_eq!(value(&after, "flowsieve_target_detail{target=\"offline\",name=\"mqtt_connected\"}"), Some(0.0));
    // `flowsieve status` names the unreachable broker.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowsieve"))
        .args(["status", "--control-socket", socket.to_str().unwrap()])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("MQTT mqtt://127.0.0.1:1884: connecting to 127.0.0.1:1884"), "{status}");

    // The broker restarts: the agent reconnects and the next record arrives.
    broker.restart();
    let mut sub = broker.subscribe("fleet/flows");
    assert!(
        Lab::wait_for(Duration::from_secs(30), || {
            value(&scrape(), "flowsieve_target_detail{target=\"fleet\",name=\"mqtt_connects\"}") == Some(2.0)
        }),
        "no reconnect:\n{}\n{}",
        scrape(),
        broker.log()
    );
    assert!(lab.tls_request(&lab.client, 1010, true), "second TLS 1.1 connection failed");
    let record = sub.next_json(Duration::from_secs(10)).unwrap_or_else(|| panic!("no record: {:?}", sub.seen));
    assert_eq!(record["action"], "weakssl");

    // A reload is counted.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(agent.child.id() as i32), nix::sys::signal::Signal::SIGHUP)
        .unwrap();
    assert!(
        Lab::wait_for(Duration::from_secs(10), || {
            value(&scrape(), "flowsieve_config_reloads_total{result=\"success\"}") == Some(1.0)
        }),
        "{}",
        agent.log_text()
    );
    let status = agent.signal_and_wait(nix::sys::signal::Signal::SIGTERM);
    assert!(status.success(), "{}", agent.log_text());
}
