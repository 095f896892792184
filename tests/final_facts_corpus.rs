//! Actions decide on final facts, over nDPI's test captures (read in place from
//! `flowsieve::corpus_dir()`, which `$FLOWSIEVE_CORPUS` overrides; never copied here).
//!
//! A configuration with negations, `== 0`, exemptions and positive early matches is replayed
//! over every capture twice:
//! - through the flow table, packet by packet: whenever a flow's facts change, every action
//!   decided true then must still hold on the flow's final facts (no action fires on facts that
//!   later change so that its criteria no longer hold). The two-valued evaluation actions used
//!   before (on whatever the facts were at the time) is counted alongside, to show the check
//!   catches early matches that do not last;
//! - through `replay` (the real pipeline): the actions each flow fired are exactly those its
//!   final facts satisfy (every flow whose detection completed and whose final facts satisfy an
//!   action fired it, and no other).
//!
//! Run with `cargo test --test final_facts_corpus -- --nocapture` for the figures. Skipped (with
//! a note) when the corpus is not there.

mod common {
    pub mod corpus;
}

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use flowsieve::actions::config::{parse, FlowActionsConfig};
use flowsieve::actions::ActionSet;
use flowsieve::agent::{replay, ReplayOptions};
use flowsieve::classify::Classifier;
use flowsieve::facts::finality::Final;
use flowsieve::facts::FlowFacts;
use flowsieve::flow::key::FlowKey;
use flowsieve::flow::locality::Locality;
use flowsieve::flow::table::{Change, Flow, FlowTable, TableConfig};

/// Every kind of test whose answer can change while detection runs (a soft dissector's match,
/// which sets `soft_dissector` and may change the application and protocol, included).
const CONFIG: &str = r#"{
  "exemptions": ["detected_hostname == 'rx:\\.local$';"],
  "actions": {
    "unknown":      { "criteria": "app_id == 0 || proto_id == 0;", "targets": ["l"] },
    "not_dns_udp":  { "criteria": "ip_protocol == 17 && !(protocol == 'DNS');", "targets": ["l"] },
    "all_but_google": { "criteria": "*", "exemptions": ["app == 'netify.google';"], "targets": ["l"] },
    "weak_tls":     { "criteria": "ip_nat == false && ssl_version != 0 && ssl_version < 0x0303;", "targets": ["l"] },
    "tls13":        { "criteria": "tls_version == 0x0304;", "targets": ["l"] },
    "google":       { "criteria": "app == 'netify.google';", "targets": ["l"] },
    "complete":     { "criteria": "detection_complete;", "targets": ["l"] },
    "not_guessed":  { "criteria": "!detection_guessed && protocol != 0;", "targets": ["l"] },
    "no_host_tls":  { "criteria": "(protocol == 'TLS' || protocol == 'QUIC') && !detected_hostname;", "targets": ["l"] },
    "host_not_example": { "criteria": ["detected_hostname != 'rx:google|gstatic';", "other_port == 53;"], "targets": ["l"] },
    "halting":      { "criteria": "ssl_cipher == 0xc02f;", "targets": ["l"], "halt_on_match": true },
    "after_halt":   { "criteria": "other_port == 443;", "targets": ["l"] },
    "http":         { "criteria": "protocol == 'HTTP' && local_port != 0;", "targets": ["l"] },
    "soft":         { "criteria": "soft_dissector;", "targets": ["l"] },
    "not_soft_zoom": { "criteria": "app == 'netify.zoom' && !soft_dissector && protocol != 'ZOOM';", "targets": ["l"] },
    "ntp_by_soft":  { "criteria": "protocol == 'NTP' && app == 'netify.ntp';", "targets": ["l"] }
  },
  "targets": { "l": { "target_type": "log" } }
}"#;

fn config() -> FlowActionsConfig {
    let config = parse(CONFIG, Path::new("final-facts.json")).unwrap_or_else(|e| panic!("{:?}", e.problems));
    assert_eq!(config.actions.actions.len(), 16);
    config
}

/// The actions `facts` decide true now (three-valued: only on final facts).
fn decided(set: &ActionSet, facts: &FlowFacts) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    set.evaluate(facts, SystemTime::UNIX_EPOCH, |i, _| {
        out.insert(i);
    });
    out
}

/// The actions the current facts satisfy, taken as they are (the evaluation before final facts).
fn two_valued(set: &ActionSet, facts: &FlowFacts) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    if set.exemptions.iter().any(|e| e.exempts(facts)) {
        return out;
    }
    for (i, action) in set.actions.iter().enumerate() {
        if action.exemptions.iter().any(|e| e.exempts(facts)) || !action.criteria.iter().any(|c| c.matches(facts)) {
            continue;
        }
        out.insert(i);
        if action.halt_on_match {
            break;
        }
    }
    out
}

#[derive(Default)]
struct Tally {
    flows: u64,
    /// (flow, action) pairs decided true before the flow's facts were all final.
    early_decisions: u64,
    /// Decided true at some change, false on the final facts: must stay 0.
    wrong_decisions: u64,
    /// Two-valued matches at some change that the final facts do not satisfy.
    two_valued_misfires: u64,
    examples: Vec<String>,
}

/// One flow ended: compare what was decided along the way with its final facts.
fn settle(
    set: &ActionSet,
    flow: &Flow,
    seen: &mut HashMap<FlowKey, (BTreeSet<usize>, BTreeSet<usize>)>,
    t: &mut Tally,
    file: &str,
) {
    let facts = &flow.facts;
    assert_eq!(facts.final_facts, Final::ALL, "{file}: a flow ended with facts not final");
    assert!(facts.detection_complete, "{file}: a flow ended without detection_complete");
    let finals = decided(set, facts);
    let (early, old) = seen.remove(&flow.key()).unwrap_or_default();
    t.flows += 1;
    for &i in &early {
        if !finals.contains(&i) {
            t.wrong_decisions += 1;
            if t.examples.len() < 10 {
                t.examples
                    .push(format!("{file}: {} decided early, false on final facts {facts:?}", set.actions[i].name));
            }
        }
    }
    t.two_valued_misfires += old.difference(&finals).count() as u64;
}

#[test]
fn decisions_made_early_hold_on_final_facts() {
    let Some(files) = common::corpus::captures() else { return };
    let config = config();
    let set = &config.actions;
    let classifier = Arc::new(Classifier::load_default());
    let mut t = Tally::default();
    for file in &files {
        let locality =
            Arc::new(Locality::new(vec!["192.168.0.0/16".parse().unwrap(), "10.0.0.0/8".parse().unwrap()], vec![]));
        let mut table =
            FlowTable::new(TableConfig::default(), locality, "pcap", false).with_classifier(classifier.clone());
        let mut seen: HashMap<FlowKey, (BTreeSet<usize>, BTreeSet<usize>)> = HashMap::new();
        let read = flowsieve::capture::file::read_file(file, |frame| {
            if let Ok(packet) = flowsieve::decode::decode(frame.link, frame.data) {
                if let Some((flow, change)) = table.process(&packet, frame.timestamp) {
                    if change != Change::None {
                        let now = decided(set, &flow.facts);
                        if flow.facts.final_facts != Final::ALL {
                            let entry = seen.entry(flow.key()).or_default();
                            t.early_decisions += now.difference(&entry.0).count() as u64;
                        }
                        let old = two_valued(set, &flow.facts);
                        let entry = seen.entry(flow.key()).or_default();
                        entry.0.extend(now);
                        entry.1.extend(old);
                    }
                }
            }
            table.expire(frame.timestamp, |flow| settle(set, &flow, &mut seen, &mut t, file));
        });
        if read.is_err() {
            continue; // not a capture (the corpus holds a few on purpose)
        }
        table.drain(|flow| settle(set, &flow, &mut seen, &mut t, file));
    }
    println!(
        "final facts: {} flows over {} captures; {} early decisions (before detection completed), {} of them \
         false on the final facts; two-valued evaluation would have fired {} (flow, action) matches the final \
         facts do not satisfy",
        t.flows,
        files.len(),
        t.early_decisions,
        t.wrong_decisions,
        t.two_valued_misfires
    );
    assert!(t.flows > 7000, "only {} flows", t.flows);
    assert_eq!(t.wrong_decisions, 0, "{:#?}", t.examples);
    // The configuration exercises what the check is for: decisions before completion (weak
    // TLS at the ServerHello) and matches that two-valued evaluation gets wrong.
    assert!(t.early_decisions > 100, "{} early decisions", t.early_decisions);
    assert!(t.two_valued_misfires > 100, "{} two-valued misfires", t.two_valued_misfires);
}

#[test]
fn every_flow_fires_exactly_the_actions_its_final_facts_satisfy() {
    let Some(files) = common::corpus::captures() else { return };
    let config = config();
    let set = &config.actions;
    let (mut flows, mut fired, mut mismatches) = (0u64, 0u64, Vec::new());
    let mut per_action = vec![0u64; set.actions.len()];
    replay(&config, &files, &ReplayOptions::dry_run(), |file, flow| {
        flows += 1;
        assert!(flow.facts.detection_complete, "{file}: detection_complete false at the end");
        let expected: BTreeSet<&str> = decided(set, &flow.facts).iter().map(|&i| &*set.actions[i].name).collect();
        let actual: BTreeSet<&str> = flow.verdicts.actions.iter().map(|a| &**a).collect();
        fired += actual.len() as u64;
        for (i, action) in set.actions.iter().enumerate() {
            per_action[i] += u64::from(actual.contains(&*action.name));
        }
        if expected != actual && mismatches.len() < 10 {
            mismatches.push(format!("{file}: fired {actual:?}, final facts satisfy {expected:?}: {:?}", flow.facts));
        }
    })
    .expect("replay");
    let counts: Vec<String> = set.actions.iter().zip(&per_action).map(|(a, n)| format!("{} {n}", a.name)).collect();
    println!("replay: {flows} flows, {fired} actions fired ({})", counts.join(", "));
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    assert!(flows > 7000, "only {flows} flows");
    // Every action is reachable on the corpus, so each kind of test was exercised.
    for (action, n) in set.actions.iter().zip(&per_action) {
        assert!(*n > 0, "{} never fired", action.name);
    }
}

/// The weak-TLS walkthrough's action is decided with the packet that brings the ServerHello
/// (the version is final then), whatever else that packet completes.
#[test]
fn weak_tls_is_decided_at_the_server_hello() {
    let root = env!("CARGO_MANIFEST_DIR");
    let config = flowsieve::actions::config::load(Path::new(&format!("{root}/examples/weak-tls.json")))
        .unwrap_or_else(|e| panic!("{:?}", e.problems));
    let locality = Arc::new(Locality::new(vec!["192.168.1.0/24".parse().unwrap()], vec![]));
    let mut table = FlowTable::new(TableConfig::default(), locality, "pcap", false);
    // Per flow (by key): the packet number that brought the ServerHello, the one that decided.
    let mut seen: HashMap<FlowKey, (Option<u64>, Option<u64>)> = HashMap::new();
    flowsieve::capture::file::read_file(&format!("{root}/tests/fixtures/weak-tls.pcap"), |frame| {
        let Ok(packet) = flowsieve::decode::decode(frame.link, frame.data) else { return };
        let Some((flow, _)) = table.process(&packet, frame.timestamp) else { return };
        let f = &flow.facts;
        let entry = seen.entry(flow.key()).or_default();
        if f.tls.version != 0 && entry.0.is_none() {
            entry.0 = Some(f.packets());
        }
        if !decided(&config.actions, f).is_empty() && entry.1.is_none() {
            entry.1 = Some(f.packets());
        }
    })
    .unwrap();
    let decided: Vec<_> = seen.values().filter(|(_, d)| d.is_some()).collect();
    let [(server_hello, decision)] = decided[..] else { panic!("{seen:?}") };
    assert!(server_hello.is_some() && server_hello == decision, "{seen:?}");
}

/// Three-valued decisions and `explain` on facts mid-detection.
#[test]
fn unknown_facts_leave_negations_and_exemptions_undecided() {
    use flowsieve::criteria::Criteria;
    let mut facts = FlowFacts { final_facts: Final::NONE, other_port: 443, ..FlowFacts::default() };
    let c = |text: &str| Criteria::compile(text).unwrap();
    assert_eq!(c("app_id == 0;").decide(&facts), None);
    assert_eq!(c("!detection_guessed;").decide(&facts), None);
    assert_eq!(c("other_port == 443 || app_id == 0;").decide(&facts), Some(true));
    assert_eq!(c("other_port == 80 && app_id == 0;").decide(&facts), Some(false));
    assert_eq!(c("other_port == 443 && app_id == 0;").decide(&facts), None);
    assert_eq!(c("*").decide(&facts), Some(true));
    facts.tls.version = 0x0302;
    facts.final_facts = Final::TLS_SERVER;
    // A live flow opened by a bare SYN has not read conntrack yet: `ip_nat` is unknown.
    assert_eq!(c("ip_nat == false && ssl_version == 0x0302;").decide(&facts), None);
    facts.final_facts = Final::TLS_SERVER | Final::CONNTRACK;
    assert_eq!(c("ip_nat == false && ssl_version == 0x0302;").decide(&facts), Some(true));
    let text = c("ssl_version == 0x0302 && !(app == 'netify.google');").explain(&facts).to_string();
    assert!(text.contains("(application is not final; currently 0 (no tag))"), "{text}");
    assert!(text.ends_with("result: unknown (currently true)"), "{text}");
    facts.final_facts = Final::ALL;
    assert!(c("ssl_version == 0x0302 && !(app == 'netify.google');")
        .explain(&facts)
        .to_string()
        .ends_with("result: true"));

    // An exemption that is not decided holds the action back.
    let config = parse(
        r#"{"actions":{"a":{"criteria":"other_port == 443;","targets":["l"],"exemptions":["app == 'netify.google';"]}},
            "targets":{"l":{"target_type":"log"}}}"#,
        Path::new("t.json"),
    )
    .unwrap();
    facts.final_facts = Final::NONE;
    assert!(decided(&config.actions, &facts).is_empty());
    facts.final_facts = Final::ALL;
    assert_eq!(decided(&config.actions, &facts), BTreeSet::from([0]));
}
