//! The sink's MQTT publisher against a real mosquitto broker: records arrive on the topic (seen
//! by `mosquitto_sub`, not by our own code), a replay's record is published, wrong credentials
//! are refused with a clear error and counted, and a restarted broker is reconnected to.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::mosquitto::{self, Broker};
use flowsieve::output::mqtt::{MqttConfig, MqttPublisher, MqttStats};

const BIN: &str = env!("CARGO_BIN_EXE_flowsieve");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weak-tls.pcap");

fn config(json: serde_json::Value) -> MqttConfig {
    MqttConfig::parse(&json, "$.mqtt", "test", None).unwrap_or_else(|p| panic!("{:?}", p.errors)).0
}

fn wait_stats(p: &MqttPublisher, limit: Duration, check: impl Fn(&MqttStats) -> bool) -> MqttStats {
    let deadline = Instant::now() + limit;
    loop {
        let s = p.stats();
        if check(&s) || Instant::now() >= deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn qos_1_records_arrive_and_a_restarted_broker_is_reconnected_to() {
    if let Some(why) = mosquitto::unavailable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let port = mosquitto::free_port();
    let mut broker = Broker::start(None, port, None);
    let mut sub = broker.subscribe("fleet/flows");
    let c = config(serde_json::json!({
        "url": format!("mqtt://127.0.0.1:{port}"), "topic": "fleet/flows", "qos": 1, "keepalive": 5
    }));
    let mut publisher = MqttPublisher::start(c, "test").unwrap();
    assert!(publisher.publish(br#"{"n":1}"#.to_vec()));
    let got = sub.next_json(Duration::from_secs(10));
    assert_eq!(got, Some(serde_json::json!({"n": 1})), "{:?}\n{}", sub.seen, broker.log());
    let s = wait_stats(&publisher, Duration::from_secs(5), |s| s.published == 1);
    assert_eq!((s.published, s.connects, s.dropped, s.connected), (1, 1, 0, true), "{s:?}");

    // The broker goes away: the publisher notices, keeps what it is given, and reconnects once
    // the broker is back.
    broker.stop();
    let s = wait_stats(&publisher, Duration::from_secs(10), |s| !s.connected);
    assert!(!s.connected && s.disconnects == 1, "{s:?}");
    assert!(publisher.publish(br#"{"n":2}"#.to_vec()));
    broker.restart();
    let mut sub = broker.subscribe("fleet/flows");
    let s = wait_stats(&publisher, Duration::from_secs(40), |s| s.connects == 2 && s.published == 2);
    assert_eq!((s.connects, s.published), (2, 2), "record queued during the outage: {s:?}\n{}", broker.log());
    assert!(publisher.publish(br#"{"n":3}"#.to_vec()));
    // The record queued during the outage reaches the new subscriber too when it subscribed
    // before the publisher reconnected.
    let mut got = sub.next_json(Duration::from_secs(10));
    if got == Some(serde_json::json!({"n": 2})) {
        got = sub.next_json(Duration::from_secs(10));
    }
    assert_eq!(got, Some(serde_json::json!({"n": 3})), "{:?}\n{}", sub.seen, broker.log());
    publisher.shutdown();
    let s = publisher.stats();
    assert_eq!((s.published, s.dropped), (3, 0), "{s:?}");
    assert!(broker.log().contains("flowsieve") || broker.log().contains("test"), "{}", broker.log());
}

#[test]
fn wrong_credentials_are_refused_with_a_clear_error_and_counted() {
    if let Some(why) = mosquitto::unavailable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let port = mosquitto::free_port();
    let broker = Broker::start(None, port, Some(("agent", "s3cret")));
    let url = format!("mqtt://127.0.0.1:{port}");
    let bad = config(serde_json::json!({"url": url, "topic": "t", "username": "agent", "password": "wrong"}));
    let mut publisher = MqttPublisher::start(bad, "bad").unwrap();
    publisher.publish(b"{}".to_vec());
    let s = wait_stats(&publisher, Duration::from_secs(10), |s| s.connect_failures >= 1);
    assert!(s.connect_failures >= 1 && s.connects == 0 && !s.connected, "{s:?}");
    let error = publisher.last_error().unwrap();
    assert!(
        error.contains("refused the connection")
            && (error.contains("not authorized") || error.contains("bad user name")),
        "{error}"
    );
    publisher.shutdown();

    let mut sub = broker.subscribe("t");
    let good = config(serde_json::json!({"url": url, "topic": "t", "username": "agent", "password": "s3cret"}));
    let mut publisher = MqttPublisher::start(good, "good").unwrap();
    publisher.publish(br#"{"ok":true}"#.to_vec());
    assert_eq!(sub.next_json(Duration::from_secs(10)), Some(serde_json::json!({"ok": true})), "{}", broker.log());
    publisher.shutdown();
    assert_eq!(publisher.stats().connect_failures, 0);
}

#[test]
fn a_replay_publishes_its_sink_records_to_the_broker() {
    if let Some(why) = mosquitto::unavailable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let port = mosquitto::free_port();
    let broker = Broker::start(None, port, None);
    let mut sub = broker.subscribe("netify/actions");
    let config = broker.dir.join("sink-mqtt.json");
    let text = serde_json::json!({
        "actions": { "weakssl": { "criteria": "ssl_version == 0x0302;", "targets": ["fleet"],
                                  "exemptions": ["192.168.1.50"] } },
        "targets": { "fleet": { "target_type": "sink", "channel": "blocks",
                                "mqtt": { "url": format!("mqtt://127.0.0.1:{port}"), "topic": "netify/actions", "qos": 1 } } }
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let out = Command::new(BIN).args(["replay", "--apply", "--config"]).arg(&config).arg(FIXTURE).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let record = sub.next_json(Duration::from_secs(10)).unwrap_or_else(|| panic!("{:?}\n{stderr}", sub.seen));
    assert_eq!(record["type"], "flow_action");
    assert_eq!(record["action"], "weakssl");
    assert_eq!(record["target"], "fleet");
    assert_eq!(record["channel"], "blocks");
    assert_eq!(record["flow"]["local_ip"], "192.168.1.10");
    assert_eq!(record["flow"]["other_port"], 1010);
    assert_eq!(sub.next_json(Duration::from_millis(500)), None, "one matching flow, one record");
}

#[test]
#[cfg(feature = "mqtt-tls")]
fn a_bad_mqtt_key_is_a_configuration_error_naming_it() {
    let dir = std::env::temp_dir().join(format!("flowsieve-mqtt-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("bad.json");
    let text = serde_json::json!({
        "actions": { "a": { "criteria": "ssl_version == 0x0302;", "targets": ["fleet"] } },
        "targets": { "fleet": { "target_type": "sink",
                                "mqtt": { "url": "mqtts://broker:8883", "topic": "t", "qos": 2,
                                          "tls": { "ca_file": "/nonexistent/ca.pem" } } } }
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let out = Command::new(BIN).args(["replay", "--config"]).arg(&config).arg(FIXTURE).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("$.targets.fleet.mqtt.tls.ca_file") && stderr.contains("/nonexistent/ca.pem"), "{stderr}");
    assert!(stderr.contains("$.targets.fleet.mqtt.qos") && stderr.contains("QoS 2 is not supported"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg(feature = "mqtt-tls")]
fn mqtts_checks_the_broker_certificate_and_delivers_over_tls() {
    if let Some(why) = mosquitto::unavailable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let (port, tls_port) = (mosquitto::free_port(), mosquitto::free_port());
    let broker = Broker::start_tls(port, tls_port);
    let mut sub = broker.subscribe("secure");
    let url = format!("mqtts://127.0.0.1:{tls_port}");

    // An authority that did not sign the broker's certificate: refused, and said why.
    let other = mosquitto::unrelated_ca(&broker.dir);
    let c = config(serde_json::json!({"url": url, "topic": "secure", "tls": {"ca_file": other}}));
    let mut publisher = MqttPublisher::start(c, "untrusted").unwrap();
    publisher.publish(br#"{"untrusted":true}"#.to_vec());
    let s = wait_stats(&publisher, Duration::from_secs(10), |s| s.connect_failures >= 1);
    assert!(s.connect_failures >= 1 && s.connects == 0, "{s:?}");
    let error = publisher.last_error().unwrap();
    assert!(error.contains("TLS handshake with 127.0.0.1") && error.contains("invalid peer certificate"), "{error}");
    publisher.shutdown();

    let c = config(serde_json::json!({"url": url, "topic": "secure", "qos": 1, "tls": {"ca_file": broker.ca_file()}}));
    let mut publisher = MqttPublisher::start(c, "trusted").unwrap();
    publisher.publish(br#"{"tls":1}"#.to_vec());
    let got = sub.next_json(Duration::from_secs(10));
    assert_eq!(got, Some(serde_json::json!({"tls": 1})), "{:?}\n{}", sub.seen, broker.log());
    let s = wait_stats(&publisher, Duration::from_secs(5), |s| s.published == 1);
    assert_eq!((s.published, s.connects), (1, 1), "{s:?}");
    publisher.shutdown();
    assert!(broker.log().contains(&format!("on port {tls_port}")), "{}", broker.log());
}
