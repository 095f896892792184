//! `replay --workers N` gives the same flows, matches and counters as one worker: packets go
//! to workers by the symmetric flow hash, so each flow lives on one worker, and ticks and file
//! ends reach every worker at the same point of the packet stream. DNS flows (by port) are
//! tracked by every worker, so each worker's DNS hint cache learns the same answers one
//! worker's would.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_flowsieve");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/weak-tls.json");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weak-tls.pcap");

/// Flow records (sorted lines), the summary without its timing, and stdout as printed.
fn replay(workers: &str, repeat: &str, captures: &[String]) -> (Vec<String>, String, String) {
    replay_with(&["--workers", workers, "--repeat", repeat], captures)
}

fn replay_with(args: &[&str], captures: &[String]) -> (Vec<String>, String, String) {
    let out =
        Command::new(BIN).args(["replay", "--json", "--config", EXAMPLE]).args(args).args(captures).output().unwrap();
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

fn assert_same(one: &[String], other: &[String]) {
    assert_eq!(one.len(), other.len());
    for (a, b) in one.iter().zip(other) {
        assert_eq!(a, b);
    }
}

#[test]
fn two_workers_give_the_same_flows_and_counters_as_one() {
    // The fixture has a matching flow; the corpus has many flows, TCP and UDP, IPv4 and IPv6,
    // pcap and pcapng, damaged files, DNS answers that name later flows.
    let mut captures = vec![FIXTURE.to_string()];
    let corpus = flowsieve::corpus_dir().join("pcap");
    match std::fs::read_dir(&corpus) {
        Ok(dir) => {
            let mut files: Vec<String> = dir.filter_map(|e| e.ok()).map(|e| e.path().display().to_string()).collect();
            files.sort();
            captures.extend(files);
        }
        Err(_) => eprintln!("{} absent: replaying only the fixture", corpus.display()),
    }
    let (one, one_summary, _) = replay("1", "1", &captures);
    let (two, two_summary, two_raw) = replay("2", "1", &captures);
    assert!(one.len() > 2, "{one_summary}");
    assert!(!one_summary.contains("(0 matched"), "the fixture's weak flow matches: {one_summary}");
    assert_eq!(one_summary, two_summary);
    assert_same(&one, &two);
    // The order with workers is fixed too: per file, by first packet time.
    let (_, _, again) = replay("2", "1", &captures);
    assert_eq!(two_raw, again);
}

#[test]
fn three_workers_and_repeat_rounds_give_the_same_flows_as_one() {
    let mut captures = vec![FIXTURE.to_string()];
    for name in ["gnutella.pcap", "iphone.pcap", "alexa-app.pcapng", "dns_fragmented.pcap"] {
        let path = flowsieve::corpus_dir().join("pcap").join(name);
        if path.exists() {
            captures.push(path.display().to_string());
        }
    }
    let (one, one_summary, _) = replay("1", "2", &captures);
    let (three, three_summary, _) = replay("3", "2", &captures);
    assert_eq!(one_summary, three_summary);
    assert_same(&one, &three);
}

#[test]
fn decode_only_and_filter_with_workers_count_what_one_worker_counts() {
    // The same small set, streamed (one round) and replayed from memory (three rounds).
    let mut captures = vec![FIXTURE.to_string()];
    for name in ["1kxun.pcap", "dns.pcap", "alexa-app.pcapng"] {
        let path = flowsieve::corpus_dir().join("pcap").join(name);
        if path.exists() {
            captures.push(path.display().to_string());
        }
    }
    for repeat in ["1", "3"] {
        let decode_only =
            |workers| replay_with(&["--decode-only", "--repeat", repeat, "--workers", workers], &captures);
        let (one, one_summary, _) = decode_only("1");
        let (two, two_summary, _) = decode_only("2");
        assert!(!one_summary.contains(": 0 packets"), "{one_summary}");
        assert_eq!(one_summary, two_summary);
        assert_same(&one, &two);
        let filtered = |workers| replay_with(&["--filter", "udp", "--repeat", repeat, "--workers", workers], &captures);
        let (one, one_summary, _) = filtered("1");
        let (three, three_summary, _) = filtered("3");
        assert!(one_summary.contains("frames rejected by --filter"), "{one_summary}");
        assert_eq!(one_summary, three_summary);
        assert_same(&one, &three);
    }
}
