//! dist/grafana/flowsieve.json is a valid dashboard whose queries ask only for metrics the
//! endpoint exposes (and only for target detail names a sink with MQTT reports).

use std::collections::BTreeSet;

use flowsieve::enforce::sink::{SinkConfig, SinkTarget};
use flowsieve::enforce::Target;
use flowsieve::status::latency::{LatencyHistogram, PUBLISHED_BOUNDS_US};
use flowsieve::status::{Status, TargetStatus, WorkerStatus};

const DASHBOARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/dist/grafana/flowsieve.json");

/// Every query expression in the dashboard (panel targets and template variables).
fn expressions(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "query" | "definition", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => expressions(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| expressions(v, out)),
        _ => {}
    }
}

/// The detail names a sink with an MQTT broker reports.
fn mqtt_sink_details() -> Vec<String> {
    let mqtt = flowsieve::output::mqtt::MqttConfig::parse(
        &serde_json::json!({"url": "mqtt://127.0.0.1:1", "topic": "t"}),
        "$.mqtt",
        "fleet",
        None,
    )
    .unwrap()
    .0;
    let config = SinkConfig {
        name: "fleet".into(),
        socket: None,
        path: None,
        channel: None,
        sink: None,
        mqtt: Some(Box::new(mqtt)),
        format: Default::default(),
    };
    let mut sink = SinkTarget::new(config);
    sink.setup().unwrap();
    let names = sink.details().into_iter().map(|(k, _)| k.to_string()).collect();
    sink.shutdown().unwrap();
    names
}

#[test]
fn every_metric_the_dashboard_queries_is_exposed() {
    let text = std::fs::read_to_string(DASHBOARD).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard is valid JSON");
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10, "{} panels", panels.len());
    let ids: BTreeSet<u64> = panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    for p in panels {
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
        assert!(p["targets"].as_array().is_some_and(|t| !t.is_empty()), "{p}");
    }

    // An exposition with every family populated.
    let details = mqtt_sink_details();
    let mut h = LatencyHistogram::default();
    h.record_us(1500);
    let status = Status {
        version: "test".into(),
        workers: vec![WorkerStatus { iface: "br-lan".into(), ..WorkerStatus::default() }],
        targets: vec![TargetStatus {
            name: "fleet".into(),
            details: details.iter().map(|d| (d.clone(), 1)).collect(),
            ..TargetStatus::default()
        }],
        match_to_kernel_buckets: h.buckets(PUBLISHED_BOUNDS_US),
        ..Status::default()
    };
    let exposition = flowsieve::metrics::render(&status, Some(1 << 20));
    let exposed: BTreeSet<&str> =
        exposition.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split(['{', ' ']).next()).collect();

    let metric = regex::Regex::new(r"\bflowsieve_[a-z0-9_]+").unwrap();
    let detail = regex::Regex::new(r#"name=~?"([a-z0-9_|]+)""#).unwrap();
    let mut exprs = Vec::new();
    expressions(&dashboard, &mut exprs);
    let mut queried = BTreeSet::new();
    for e in &exprs {
        for m in metric.find_iter(e) {
            queried.insert(m.as_str().to_string());
            assert!(exposed.contains(m.as_str()), "the dashboard queries {} which is not exposed:\n{e}", m.as_str());
        }
        for c in detail.captures_iter(e) {
            for name in c[1].split('|') {
                assert!(details.iter().any(|d| d == name), "no sink detail '{name}' (have {details:?}): {e}");
            }
        }
    }
    for needed in [
        "flowsieve_interface_packets_total",
        "flowsieve_interface_drops_total",
        "flowsieve_worker_flows_active",
        "flowsieve_target_operations_total",
        "flowsieve_target_failures_total",
        "flowsieve_match_to_kernel_seconds_bucket",
        "flowsieve_process_resident_memory_bytes",
    ] {
        assert!(queried.contains(needed), "the dashboard shows no {needed}");
    }
}
