//! `replay --workers N` gives the same flows, matches and counters as one worker: packets go
//! to workers by the symmetric flow hash, so each flow lives on one worker, and ticks and file
//! ends reach every worker at the same point of the packet stream.
//!
//! Known difference, not covered here: the DNS hint cache (a flow named after an earlier DNS
//! answer) is per worker, so captures where a flow's DNS lookup landed on another worker differ
//! in `dns_hostname` (see README). The corpus captures below have no such flows.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_flowsieve");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/weak-tls.json");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weak-tls.pcap");
const CORPUS: &str = "/work/shared/corpus/ndpi/pcap";
/// Many flows, TCP and UDP, IPv4 and IPv6, pcap and pcapng, damaged files.
const CAPTURES: &[&str] = &[
    "whatsapp.pcap",
    "webex.pcap",
    "telegram.pcap",
    "synscan.pcap",
    "reddit.pcap",
    "badpackets.pcap",
    "ethereum.pcap",
    "sites.pcapng",
];

/// Flow records (sorted lines) and the summary without its timing.
fn replay(workers: &str, captures: &[String]) -> (Vec<String>, String, String) {
    let out = Command::new(BIN)
        .args(["replay", "--json", "--repeat", "2", "--workers", workers, "--config", EXAMPLE])
        .args(captures)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut records: Vec<String> = stdout.lines().map(str::to_string).collect();
    records.sort();
    // "replayed …, N bytes in 0.1 s, …": keep what comes before the timing.
    let summary = stderr
        .lines()
        .filter(|l| !l.contains("workers; the reader waited"))
        .map(|l| l.split(" in ").next().unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    (records, summary, stdout)
}

#[test]
fn two_workers_give_the_same_flows_and_counters_as_one() {
    let mut captures = vec![FIXTURE.to_string()];
    if Path::new(CORPUS).is_dir() {
        captures.extend(CAPTURES.iter().map(|c| format!("{CORPUS}/{c}")).filter(|p| Path::new(p).exists()));
    } else {
        eprintln!("{CORPUS} absent: replaying only the fixture");
    }
    let (one, one_summary, _) = replay("1", &captures);
    let (two, two_summary, two_raw) = replay("2", &captures);
    assert!(one.len() > 6, "{one_summary}");
    assert!(one_summary.contains("matched an action"), "{one_summary}");
    assert!(!one_summary.contains("(0 matched"), "the fixture's weak flow matches in both rounds: {one_summary}");
    assert_eq!(one_summary, two_summary);
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(a, b);
    }
    assert_eq!(one.len(), two.len());
    // The order with workers is fixed too: per file, by first packet time.
    let (_, _, again) = replay("2", &captures);
    assert_eq!(two_raw, again);
    let (three, three_summary, _) = replay("3", &captures);
    assert_eq!((one, one_summary), (three, three_summary));
}
