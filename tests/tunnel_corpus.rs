//! Tunnels and PPP links against nDPI's captures (read in place from `flowsieve::corpus_dir()`,
//! which `$FLOWSIEVE_CORPUS` overrides):
//! flowsieve must find the same flows nDPI 4.11 reports in `truth.jsonl` — the inner 5-tuples of
//! GTP-U, IP-in-IP and CAPWAP data packets, with the same VLAN and tunnel type — and must not
//! open what only looks like a tunnel (GTP-C, GTP'). Skipped (with a note) without the corpus.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use flowsieve::flow::locality::Locality;
use flowsieve::flow::table::{FlowTable, TableConfig};

/// A flow as both sides name it: IP protocol, the two endpoints in order, VLAN, tunnel.
type FlowId = (u8, (IpAddr, u16), (IpAddr, u16), u16, &'static str);

fn id(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16), vlan: u16, tunnel: &'static str) -> FlowId {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (proto, lo, hi, vlan, tunnel)
}

fn flowsieve_flows(capture: &str) -> BTreeSet<FlowId> {
    let locality = Arc::new(Locality::new(Vec::new(), Vec::new()));
    let mut table = FlowTable::new(TableConfig::default(), locality, "pcap", false);
    let mut flows = BTreeSet::new();
    let mut add = |flow: flowsieve::flow::table::Flow| {
        let f = &flow.facts;
        let tunnel = f.tunnel_type.as_str();
        flows.insert(id(f.ip_protocol, (f.local_ip, f.local_port), (f.other_ip, f.other_port), f.vlan_id, tunnel));
    };
    flowsieve::capture::file::read_file(capture, |frame| {
        if let Ok(packet) = flowsieve::decode::decode(frame.link, frame.data) {
            table.process(&packet, frame.timestamp);
        }
    })
    .unwrap_or_else(|e| panic!("{capture}: {e}"));
    table.drain(&mut add);
    flows
}

fn ndpi_flows(truth: &str, capture: &str) -> BTreeSet<FlowId> {
    let mut flows = BTreeSet::new();
    let quoted = format!("\"{capture}\"");
    for line in truth.lines().filter(|l| l.contains(&quoted)) {
        let Ok(r) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if r["pcap"].as_str() != Some(capture) {
            continue;
        }
        let proto = match r["l4"].as_str().unwrap_or_default() {
            "TCP" => 6,
            "UDP" => 17,
            "ICMP" => 1,
            "ICMPV6" => 58,
            "IGMP" => 2,
            "ESP" => 50,
            other => panic!("{capture}: l4 {other} not mapped"),
        };
        let ip = |k: &str| r[k].as_str().unwrap_or_default().parse::<IpAddr>().unwrap();
        let port = |k: &str| r[k].as_u64().unwrap_or(0) as u16;
        let tunnel = match r["tunnel"].as_str() {
            None => "none",
            Some("GTP") => "gtp",
            Some("CAPWAP") => "capwap",
            Some(other) => panic!("{capture}: tunnel {other} not mapped"),
        };
        let vlan = r["vlan"].as_u64().unwrap_or(0) as u16;
        flows.insert(id(proto, (ip("src_ip"), port("src_port")), (ip("dst_ip"), port("dst_port")), vlan, tunnel));
    }
    flows
}

#[test]
fn tunnelled_and_ppp_flows_match_ndpi() {
    let truth_path = flowsieve::corpus_dir().join("truth.jsonl");
    let Ok(truth) = std::fs::read_to_string(&truth_path) else {
        eprintln!("skipped: {} not found", truth_path.display());
        return;
    };
    let captures = [
        "ipv6_in_gtp.pcap",
        "gtp_false_positive.pcapng",
        "gtp_prime.pcapng",
        "4in4tunnel.pcap",
        "4in6tunnel.pcap",
        "6in4tunnel.pcap",
        "capwap.pcap",
        "capwap_data.pcapng",
        "dlt_ppp.pcap",
    ];
    let mut failures = Vec::new();
    for capture in captures {
        let path = flowsieve::corpus_dir().join("pcap").join(capture);
        if !path.exists() {
            eprintln!("skipped {capture}: not in the corpus");
            continue;
        }
        let ours = flowsieve_flows(path.to_str().unwrap());
        let theirs = ndpi_flows(&truth, capture);
        assert!(!theirs.is_empty(), "{capture}: no truth records");
        if ours != theirs {
            failures.push(format!(
                "{capture}:\n  only flowsieve: {:?}\n  only nDPI: {:?}",
                ours.difference(&theirs).collect::<Vec<_>>(),
                theirs.difference(&ours).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
