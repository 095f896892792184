//! Writes seed corpora for the fuzz targets (fuzz/) from real captures.
//!
//! `cargo run --example fuzz-seeds -- [PCAP_DIR] [OUT_DIR]` (defaults: `pcap/` in
//! `flowsieve::corpus_dir()`, which `$FLOWSIEVE_CORPUS` overrides, and `fuzz/corpus`) reads
//! every capture and writes, under `OUT_DIR/<target>/`:
//! - `decode`: single frames, behind the link-type selector byte;
//! - `worker`: each capture's first frames as a frame sequence;
//! - `dissect`: the first payloads of flows a dissector's probe is certain of, as a flow input
//!   behind that dissector's selector byte (its index in the registry); `registry`: any flow's
//!   first payloads;
//! - `x509`: DER certificates found in TLS flows; `criteria`: sample criteria.
//!
//! The input formats are defined in `fuzz/src/lib.rs`; keep the two in step.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use flowsieve::decode::{self, LinkType};
use flowsieve::dissect::registry::{self, Visitor};
use flowsieve::dissect::{self, Direction, Dissector, FlowInfo, Probe, Segment};

/// Seeds per target (per dissector for `dissect`) at most, and the same from one capture.
const MAX_PER_TARGET: usize = 1000;
const MAX_PER_FILE: usize = 4;
/// Payloads kept per flow, and frames per worker seed.
const FLOW_PAYLOADS: usize = 12;
const WORKER_FRAMES: usize = 32;

struct Seeds {
    out: PathBuf,
    written: HashMap<String, usize>,
}

impl Seeds {
    /// Write a seed for `key`: a target name, or `dissect/<dissector>` (the seed goes to the
    /// target's directory; the limits count per dissector).
    fn write(&mut self, key: &str, data: &[u8]) {
        let n = self.written.entry(key.to_string()).or_default();
        if *n >= MAX_PER_TARGET {
            return;
        }
        let dir = self.out.join(key.split('/').next().unwrap_or(key));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut h = DefaultHasher::new();
        data.hash(&mut h);
        let path = dir.join(format!("{:016x}", h.finish()));
        if !path.exists() {
            std::fs::write(&path, data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            *n += 1;
        }
    }
}

/// The decoder targets' selector byte for a link type (index into fuzz's `LINK_TYPES`).
fn selector(link: LinkType) -> u8 {
    match link {
        LinkType::Ethernet => 0,
        LinkType::Null => 1,
        LinkType::RawIp => 3,
        LinkType::LinuxSll => 8,
        LinkType::LinuxSll2 => 9,
        LinkType::Ppp => 10,
        LinkType::PppOverEthernet => 12,
        LinkType::CiscoHdlc => 13,
        LinkType::Other(_) => 14,
    }
}

/// VLAN, IP protocol, and the two ends in sorted order.
type FlowKey = (u16, u8, [(IpAddr, u16); 2]);

#[derive(Default)]
struct FlowSeed {
    initiator: Option<(IpAddr, u16)>,
    flow: Option<FlowInfo>,
    payloads: Vec<(Direction, Vec<u8>)>,
}

impl FlowSeed {
    /// As a flow input: transport byte, ports, then length-prefixed segments.
    fn encode(&self) -> Vec<u8> {
        let flow = self.flow.expect("a flow seed has a flow");
        let mut out = vec![u8::from(flow.is_tcp())];
        out.extend_from_slice(&flow.ports[0].to_be_bytes());
        out.extend_from_slice(&flow.ports[1].to_be_bytes());
        for (dir, p) in &self.payloads {
            let len = p.len().min(0x3fff);
            let header = len as u16 | if *dir == Direction::Reverse { 0x8000 } else { 0 };
            out.extend_from_slice(&header.to_be_bytes());
            out.extend_from_slice(&p[..len]);
        }
        out
    }

    fn certain<D: Dissector>(&self) -> bool {
        let flow = self.flow.expect("a flow seed has a flow");
        self.payloads.iter().any(|(direction, payload)| {
            let s = Segment { direction: *direction, tcp_seq: flow.is_tcp().then_some(0), payload };
            D::probe_flow(&flow, &s) == Probe::Certain
        })
    }
}

/// Whether a dissector is certain of a flow.
struct Certain<'a>(&'a FlowSeed);

impl Visitor for Certain<'_> {
    type Output = bool;
    fn visit<D: Dissector>(self, _name: &'static str) -> bool {
        self.0.certain::<D>()
    }
}

/// The dissect target's selector bytes (registry indexes) of the dissectors certain of a flow.
fn certain_dissectors(flow: &FlowSeed) -> Vec<u8> {
    (0..registry::NAMES.len()).filter(|&i| registry::visit(i, Certain(flow)) == Some(true)).map(|i| i as u8).collect()
}

/// DER certificates (`30 82 len len 30 82`) inside a server's payloads.
fn certificates(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 6 <= bytes.len() {
        if bytes[i] == 0x30 && bytes[i + 1] == 0x82 && bytes[i + 4] == 0x30 && bytes[i + 5] == 0x82 {
            let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]])) + 4;
            if let Some(cert) = bytes.get(i..i + len) {
                out.push(cert);
                i += len;
                continue;
            }
        }
        i += 1;
    }
    out
}

const CRITERIA: &[&str] = &[
    "ip_nat == false && ssl_version == 0x0302;",
    "ip_nat == true && other_port == 443;",
    "ip_nat && (app == 'youtube' || !local_mac);",
    "category == 'games' || proto == 'tls' || other_type == other_remote;",
    "*",
    "ai:facebook",
    "pi:dot",
    "local_ip == 192.168.0.0/16 && other_ip != fe80::/10;",
    "other_ip == 2001:db8::/32 || other_ip == ::1;",
    "protocol == 'HTTP/S' || proto_id == 91;",
    "detected_hostname == 'rx:^(www\\.)?example\\.com$';",
    "dns_hostname == 'example.org' && detection_complete == true;",
    "ssl_cipher == 0xc02f && tls_version >= 0x0303;",
    "local_port > 1024 && other_port <= 80 && ip_protocol == 6;",
    "vlan_id == 42 || iface == 'eth0' || fwmark == 0x10;",
    "risks == 'known_proto_on_non_std_port' || ndpi_risk_score > 100;",
    "application_category == 'streaming-media' && !detection_guessed;",
    "origin == local && tunnel_type == none;",
    "local_mac == 00:11:22:33:44:55;",
    "(ip_version == 4 || ip_version == 6) && (other_type == other_local || other_type == other_multicast);",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pcaps = args.first().map_or_else(|| flowsieve::corpus_dir().join("pcap"), PathBuf::from);
    let out = PathBuf::from(args.get(1).map_or("fuzz/corpus", |s| s.as_str()));
    let mut seeds = Seeds { out, written: HashMap::new() };
    for c in CRITERIA {
        seeds.write("criteria", c.as_bytes());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&pcaps)
        .unwrap_or_else(|e| panic!("{}: {e}", pcaps.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in &files {
        seed_file(file, &mut seeds);
    }
    let mut counts: Vec<_> = seeds.written.iter().collect();
    counts.sort();
    for (target, n) in counts {
        println!("{target}: {n} seeds");
    }
}

/// Captures small enough to seed the file-reader target whole.
const CAPTURE_SEED_BYTES: u64 = 16 << 10;

fn seed_file(file: &Path, seeds: &mut Seeds) {
    if std::fs::metadata(file).is_ok_and(|m| m.len() <= CAPTURE_SEED_BYTES) {
        if let Ok(bytes) = std::fs::read(file) {
            // The segment-size byte: 16 makes segments of 257 bytes, so blocks straddle them.
            seeds.write("capture_file", &[&[16u8][..], &bytes].concat());
        }
    }
    let mut worker_seed: Option<Vec<u8>> = None;
    let mut worker_frames = 0;
    let mut last_ts = None;
    let mut decode_seeds = 0;
    let mut flows: HashMap<FlowKey, FlowSeed> = HashMap::new();
    // Damaged captures end early: what was read is still good seed material.
    let _ = flowsieve::capture::file::read_file(&file.to_string_lossy(), |frame| {
        let sel = selector(frame.link);
        let data = &frame.data[..frame.data.len().min(0xffff)];
        if worker_frames < WORKER_FRAMES {
            let seed = worker_seed.get_or_insert_with(|| vec![sel]);
            let step = last_ts.map_or(0, |t| (frame.timestamp.saturating_sub(t).as_millis() / 250).min(255) as u8);
            last_ts = Some(frame.timestamp);
            seed.extend_from_slice(&(data.len() as u16).to_be_bytes());
            seed.push(step);
            seed.extend_from_slice(data);
            worker_frames += 1;
        }
        let Ok(packet) = decode::decode(frame.link, frame.data) else { return };
        if decode_seeds < 2 {
            let mut seed = vec![sel];
            seed.extend_from_slice(data);
            seeds.write("decode", &seed);
            decode_seeds += 1;
        }
        if packet.ip_protocol != 6 && packet.ip_protocol != 17 {
            return;
        }
        let ends = {
            let mut e = [(packet.src_ip, packet.src_port), (packet.dst_ip, packet.dst_port)];
            e.sort();
            e
        };
        let flow = flows.entry((packet.vlan_id, packet.ip_protocol, ends)).or_default();
        let initiator = *flow.initiator.get_or_insert((packet.src_ip, packet.src_port));
        flow.flow.get_or_insert(FlowInfo {
            ip_protocol: packet.ip_protocol,
            ports: [packet.src_port, packet.dst_port],
            ..FlowInfo::default()
        });
        if packet.payload.is_empty() || flow.payloads.len() >= FLOW_PAYLOADS {
            return;
        }
        let direction =
            if (packet.src_ip, packet.src_port) == initiator { Direction::Forward } else { Direction::Reverse };
        flow.payloads.push((direction, packet.payload.to_vec()));
    });
    if let Some(seed) = worker_seed {
        seeds.write("worker", &seed);
    }
    let mut per_target: HashMap<String, usize> = HashMap::new();
    let mut flows: Vec<_> = flows.into_values().filter(|f| !f.payloads.is_empty()).collect();
    flows.sort_by_key(|f| std::cmp::Reverse(f.payloads.len()));
    for flow in &flows {
        let encoded = flow.encode();
        let mut targets: Vec<(String, Vec<u8>)> = certain_dissectors(flow)
            .into_iter()
            .map(|i| (format!("dissect/{}", registry::NAMES[usize::from(i)]), [&[i][..], &encoded].concat()))
            .collect();
        targets.push(("registry".to_string(), encoded));
        for (key, seed) in targets {
            let n = per_target.entry(key.clone()).or_default();
            if *n < MAX_PER_FILE {
                *n += 1;
                seeds.write(&key, &seed);
            }
        }
        if flow.certain::<dissect::tls::TlsDissector>() {
            let server: Vec<u8> = flow
                .payloads
                .iter()
                .filter(|(d, _)| *d == Direction::Reverse)
                .flat_map(|(_, p)| p.iter().copied())
                .collect();
            for cert in certificates(&server).into_iter().take(2) {
                seeds.write("x509", cert);
            }
        }
    }
}
