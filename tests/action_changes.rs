//! Actions are evaluated when a flow's facts change (creation, new detection, update,
//! completion): each action acts at most once per flow per fact change, never twice for the same
//! facts — its first match applies its targets, later changes that still match refresh them.
//! Checked on the weak-TLS fixture (three real TLS connections) against the flow table's own
//! account of when each flow changed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use flowsieve::agent::{packet_time, Worker};
use flowsieve::flow::key::FlowKey;
use flowsieve::flow::locality::Locality;
use flowsieve::flow::table::{Change, FlowTable, TableConfig};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weak-tls.pcap");

fn table() -> FlowTable {
    let locality = Arc::new(Locality::new(vec!["192.168.1.0/24".parse().unwrap()], vec![]));
    FlowTable::new(TableConfig::default(), locality, "pcap", false)
}

/// For each flow, the indexes of the frames that changed its facts.
fn changes() -> HashMap<FlowKey, Vec<usize>> {
    let mut table = table();
    let mut out: HashMap<FlowKey, Vec<usize>> = HashMap::new();
    let mut index = 0;
    flowsieve::capture::file::read_file(FIXTURE, |frame| {
        if let Ok(packet) = flowsieve::decode::decode(frame.link, frame.data) {
            if let Some((flow, change)) = table.process(&packet, frame.timestamp) {
                if change != Change::None {
                    out.entry(flow.key()).or_default().push(index);
                }
            }
        }
        index += 1;
    })
    .unwrap();
    out
}

/// For each flow, (frame index, refresh) of every dispatch of `criteria`'s action.
fn dispatches(criteria: &str) -> HashMap<FlowKey, Vec<(usize, bool)>> {
    let json = serde_json::json!({
        "actions": { "a": { "criteria": criteria, "targets": ["audit"] } },
        "targets": { "audit": { "target_type": "log", "path": "/nonexistent-not-written" } }
    });
    let config = flowsieve::actions::config::parse(&json.to_string(), Path::new("t.json")).unwrap();
    let mut worker = Worker::new(table(), Arc::new(ArcSwap::from_pointee(config.actions)));
    let mut out: HashMap<FlowKey, Vec<(usize, bool)>> = HashMap::new();
    let mut index = 0;
    flowsieve::capture::file::read_file(FIXTURE, |frame| {
        worker.on_frame(frame, packet_time(frame.timestamp), |flow, d| {
            out.entry(flow.key()).or_default().push((index, d.refresh));
        });
        index += 1;
    })
    .unwrap();
    out
}

#[test]
fn a_match_all_action_acts_once_per_fact_change() {
    let changes = changes();
    assert_eq!(changes.len(), 3, "three TLS connections");
    assert!(changes.values().all(|c| c.len() >= 2), "every flow's facts change more than once: {changes:?}");
    let dispatches = dispatches("*");
    assert_eq!(dispatches.len(), changes.len());
    for (key, frames) in &changes {
        let got = &dispatches[key];
        // Exactly one dispatch per change, at the frame of that change.
        assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), *frames, "{key:?}");
        // The first applies the targets, the later ones refresh them.
        assert!(!got[0].1, "{key:?}: {got:?}");
        assert!(got[1..].iter().all(|(_, refresh)| *refresh), "{key:?}: {got:?}");
    }
}

#[test]
fn an_action_that_matches_late_acts_at_that_change_only() {
    let changes = changes();
    let dispatches = dispatches("detection_complete;");
    assert_eq!(dispatches.len(), changes.len());
    for (key, got) in &dispatches {
        assert_eq!(got.iter().filter(|(_, refresh)| !refresh).count(), 1, "{key:?}: {got:?}");
        // Nothing before the flow's completion, which is one of its changes.
        assert!(changes[key].contains(&got[0].0), "{key:?}: {got:?}");
        assert!(got[0].0 > changes[key][0], "not at creation: {key:?}");
    }
}

/// A conntrack mark that arrives after the flow's last fact change (the firewall marks it
/// late): the conntrack listener's notice makes it a fact change, evaluated once.
#[test]
fn a_conntrack_mark_set_later_is_a_fact_change() {
    use flowsieve::flow::ctcache::{CtCache, CtChange, CtLookup};
    use flowsieve::netlink::conntrack::{CtEntry, CtEvent, CtL4, CtTuple};

    let json = serde_json::json!({
        "actions": { "marked": { "criteria": "ct_mark == 0x42;", "targets": ["audit"] } },
        "targets": { "audit": { "target_type": "log", "path": "/nonexistent-not-written" } }
    });
    let config = flowsieve::actions::config::parse(&json.to_string(), Path::new("t.json")).unwrap();
    let mut worker = Worker::new(table(), Arc::new(ArcSwap::from_pointee(config.actions)));
    let cache = Arc::new(CtCache::new(1024));
    worker.conntrack = Some(CtLookup::new(cache.clone()));
    let mut dispatched = 0;
    flowsieve::capture::file::read_file(FIXTURE, |frame| {
        worker.on_frame(frame, packet_time(frame.timestamp), |_, _| dispatched += 1);
    })
    .unwrap();
    assert_eq!(dispatched, 0, "no flow of the fixture is marked");
    // The firewall marks the first connection; conntrack reports it.
    let facts = worker.table.flows_mut().next().unwrap().facts.clone();
    let original = flowsieve::flow::ctcache::original_tuple(&facts).unwrap();
    let CtL4::Ports { sport, dport } = original.l4 else { panic!("TCP") };
    let reply = CtTuple::ports(original.dst, dport, original.src, sport, original.proto);
    let entry = CtEntry { original, reply, mark: 0x42, labels: 0 };
    assert!(cache.apply(&CtEvent::Update(entry)));
    let mut events = Vec::new();
    let at = packet_time(Duration::from_secs(1));
    worker.on_conntrack_change(&CtChange::of(&entry), at, |flow, d| events.push((flow.key(), d.refresh)));
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(!events[0].1, "the first match applies");
    // The same notice again: the facts did not change, nothing acts.
    worker.on_conntrack_change(&CtChange::of(&entry), at, |flow, d| events.push((flow.key(), d.refresh)));
    assert_eq!(events.len(), 1, "{events:?}");
    // The mark flips away and back (two ctmark actions fighting, say): the action already acted,
    // and conntrack notices only let first matches act, so the fight cannot feed itself.
    for mark in [0x10, 0x42] {
        let entry = CtEntry { mark, ..entry };
        assert!(cache.apply(&CtEvent::Update(entry)));
        worker.on_conntrack_change(&CtChange::of(&entry), at, |flow, d| events.push((flow.key(), d.refresh)));
    }
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(worker.table.flows_mut().find(|f| f.key() == events[0].0).unwrap().facts.ct_mark, 0x42);
}
