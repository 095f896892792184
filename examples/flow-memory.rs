//! Memory per tracked flow, and memory under a SYN flood with `max_flows` set (issue 7,
//! measurement 5). Synthetic Ethernet frames are built in memory and fed through the same
//! `Worker::on_frame` path `replay` uses (decode → flow table → dissectors → action evaluation,
//! here with no actions). Prints figures, asserts nothing.
//!
//! `cargo run --release --example flow-memory -- [FLOWS] [FLOOD_SOURCES] [FLOOD_MAX_FLOWS]`
//! (defaults 1,000,000, 10,000,000 and 100,000).
//!
//! Phase 1 opens FLOWS concurrent flows, none of which expires: 60 % TCP (SYN, SYN-ACK, ACK,
//! an HTTP request and response: detection completes), 40 % UDP (a DNS query and its answer).
//! RSS growth divided by flows is the cost of one tracked flow, hash table slack included.
//! The mix has no TLS flow and short strings, so it understates what TLS-heavy traffic costs:
//! the README gives the TLS facts' size over the nDPI corpus beside this figure.
//! Phase 2 sends one SYN from each of FLOOD_SOURCES distinct sources into a fresh table limited
//! to FLOOD_MAX_FLOWS and samples RSS every million packets.

use std::mem::size_of;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use flowsieve::actions::ActionSet;
use flowsieve::agent::Worker;
use flowsieve::capture::Frame;
use flowsieve::decode::LinkType;
use flowsieve::dissect::dns::{DnsAnswer, DnsFacts};
use flowsieve::dissect::http::HttpFacts;
use flowsieve::dissect::registry::DissectState;
use flowsieve::flow::facts::{AppFacts, FlowFacts, TlsFacts};
use flowsieve::flow::key::FlowKey;
use flowsieve::flow::locality::Locality;
use flowsieve::flow::table::{Flow, FlowTable, FlowVerdicts, TableConfig};

/// Resident set size in bytes (`VmRSS` of /proc/self/status).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;

/// Builds Ethernet/IPv4/TCP-or-UDP frames into one reused buffer (checksums left at zero: the
/// decoder does not check them, as captures with offloading often carry wrong ones).
struct FrameBuilder {
    buf: Vec<u8>,
}

impl FrameBuilder {
    #[allow(clippy::too_many_arguments)]
    fn build(
        &mut self,
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
        proto: u8,
        tcp_flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) -> &[u8] {
        let b = &mut self.buf;
        b.clear();
        b.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let l4_len = if proto == TCP { 20 } else { 8 } + payload.len();
        let total = (20 + l4_len) as u16;
        b.extend_from_slice(&[0x45, 0]);
        b.extend_from_slice(&total.to_be_bytes());
        b.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
        b.extend_from_slice(&src.0.octets());
        b.extend_from_slice(&dst.0.octets());
        b.extend_from_slice(&src.1.to_be_bytes());
        b.extend_from_slice(&dst.1.to_be_bytes());
        if proto == TCP {
            b.extend_from_slice(&seq.to_be_bytes());
            b.extend_from_slice(&ack.to_be_bytes());
            b.extend_from_slice(&[0x50, tcp_flags, 0xff, 0xff, 0, 0, 0, 0]);
        } else {
            b.extend_from_slice(&(l4_len as u16).to_be_bytes());
            b.extend_from_slice(&[0, 0]);
        }
        b.extend_from_slice(payload);
        b
    }
}

/// A DNS query (or its answer with one A record) for `name`.
fn dns(id: u16, name: &str, answer: bool, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(if answer { &[0x81, 0x80] } else { &[0x01, 0x00] });
    out.extend_from_slice(&[0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.extend_from_slice(&[0, 0, 1, 0, 1]);
    if answer {
        out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34]);
    }
}

struct Feeder {
    worker: Worker,
    frames: FrameBuilder,
    clock: Duration,
    packets: u64,
}

impl Feeder {
    fn new(max_flows: usize) -> Feeder {
        let config = TableConfig { max_flows, ..TableConfig::default() };
        let locality = Arc::new(Locality::new(vec!["10.0.0.0/8".parse().expect("net")], Vec::new()));
        let table = FlowTable::new(config, locality, "synthetic", false);
        let worker = Worker::new(table, Arc::new(ArcSwap::from_pointee(ActionSet::default())));
        Feeder {
            worker,
            frames: FrameBuilder { buf: Vec::with_capacity(2048) },
            clock: Duration::from_secs(1),
            packets: 0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
        proto: u8,
        flags: u8,
        seq: u32,
        ack: u32,
        data: &[u8],
    ) {
        // 1 µs between packets: 4 million packets span seconds, far below any idle timeout.
        self.clock += Duration::from_micros(1);
        let data = self.frames.build(src, dst, proto, flags, seq, ack, data);
        let frame =
            Frame { link: LinkType::Ethernet, timestamp: self.clock, data, wire_len: data.len() as u32, vlan: None };
        self.worker.on_frame(frame, SystemTime::UNIX_EPOCH + self.clock, |_, _| {});
        self.packets += 1;
    }
}

fn client(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 | (i >> 8 & 0x00ff_ffff))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let flows = args.first().copied().unwrap_or(1_000_000) as u32;
    let flood = args.get(1).copied().unwrap_or(10_000_000);
    let flood_max = args.get(2).copied().unwrap_or(100_000) as usize;

    println!(
        "size_of: slab slot Option<Flow> {} B (no FlowKey ({} B): derived from the facts; FlowFacts {} B with AppFacts {} B, DissectState {} B); \
         boxed on first write: TlsFacts {} B, FlowVerdicts {} B",
        size_of::<Option<Flow>>(),
        size_of::<FlowKey>(),
        size_of::<FlowFacts>(),
        size_of::<AppFacts>(),
        size_of::<DissectState>(),
        size_of::<TlsFacts>(),
        size_of::<FlowVerdicts>()
    );
    if flows > 0 {
        concurrent_flows(flows);
    }
    syn_flood(flood, flood_max);
    Ok(())
}

/// Phase 1: `flows` concurrent flows.
fn concurrent_flows(flows: u32) {
    let base = rss();
    let mut feeder = Feeder::new(flows as usize + 1);
    let after_table = rss();
    let started = Instant::now();
    let server = Ipv4Addr::new(93, 184, 216, 34);
    let mut payload = Vec::with_capacity(512);
    let mut reply = Vec::with_capacity(512);
    for i in 0..flows {
        let c = (client(i), 1024 + (i & 0xff) as u16 * 200 + (i % 199) as u16);
        if i % 5 < 3 {
            let s = (server, 80);
            feeder.send(c, s, TCP, SYN, 1000, 0, &[]);
            feeder.send(s, c, TCP, SYN | ACK, 5000, 1001, &[]);
            feeder.send(c, s, TCP, ACK, 1001, 5001, &[]);
            payload.clear();
            payload.extend_from_slice(
                format!("GET /item/{i} HTTP/1.1\r\nHost: h{i}.example.com\r\nUser-Agent: flow-memory\r\n\r\n")
                    .as_bytes(),
            );
            feeder.send(c, s, TCP, PSH | ACK, 1001, 5001, &payload);
            reply.clear();
            reply.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n");
            feeder.send(s, c, TCP, PSH | ACK, 5001, 1001 + payload.len() as u32, &reply);
        } else {
            let s = (Ipv4Addr::new(9, 9, 9, 9), 53);
            let name = format!("h{i}.example.org");
            dns(i as u16, &name, false, &mut payload);
            feeder.send(c, s, UDP, 0, 0, 0, &payload);
            dns(i as u16, &name, true, &mut reply);
            feeder.send(s, c, UDP, 0, 0, 0, &reply);
        }
    }
    let elapsed = started.elapsed();
    let after = rss();
    let table = &mut feeder.worker.table;
    let tracked = table.len();
    let mut complete = 0usize;
    let mut hostnames = 0usize;
    // Heap parts of the flows, as glibc malloc sizes them.
    let (mut heap_hostnames, mut heap_http, mut heap_dns, mut heap_other) = (0usize, 0usize, 0usize, 0usize);
    let text = |t: &Option<Box<str>>| t.as_ref().map_or(0, |t| chunk(t.len()));
    for flow in table.flows_mut() {
        complete += usize::from(flow.facts.detection_complete);
        hostnames += flow.facts.detected_hostname.as_ref().map_or(0, |h| h.len());
        let f = &flow.facts;
        // dns_hostname shares the hint cache's name: each holder pays its share.
        let shared = f.dns_hostname.as_ref().map_or(0, |n| chunk(n.len() + 16) / std::sync::Arc::strong_count(n));
        heap_hostnames += text(&f.detected_hostname) + shared;
        if let Some(h) = f.app_protocol.http() {
            heap_http += chunk(size_of::<HttpFacts>())
                + text(&h.host)
                + h.unknown_method().map_or(0, |m| chunk(m.len()))
                + text(&h.url)
                + text(&h.user_agent);
        }
        if let Some(d) = f.app_protocol.dns() {
            heap_dns += chunk(size_of::<DnsFacts>()) + text(&d.query);
            if d.answers.capacity() > 0 {
                heap_dns += chunk(d.answers.capacity() * size_of::<DnsAnswer>());
            }
            for a in &d.answers {
                if let DnsAnswer::Cname(name, _) = a {
                    heap_dns += chunk(name.len());
                }
            }
        }
        heap_other += if f.tls.is_present() { chunk(size_of::<TlsFacts>()) } else { 0 };
        heap_other += if flow.verdicts.is_present() { chunk(size_of::<FlowVerdicts>()) } else { 0 };
        heap_other += if f.app_protocol.ssh().is_some() || f.app_protocol.dhcp().is_some() { 32 } else { 0 };
    }
    println!(
        "phase 1: {} packets, {tracked} flows tracked ({complete} with detection complete) in {:.2} s",
        feeder.packets,
        elapsed.as_secs_f64()
    );
    println!(
        "         RSS {:.1} MiB before, {:.1} MiB after creating the table, {:.1} MiB with the flows",
        base as f64 / 1048576.0,
        after_table as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    println!(
        "         = {:.0} bytes per tracked flow (RSS growth / flows; hostnames hold {:.1} B/flow of it)",
        (after - base) as f64 / tracked as f64,
        hostnames as f64 / tracked as f64
    );
    let m = feeder.worker.table.memory();
    let per = |b: usize| b as f64 / tracked as f64;
    println!(
        "         per flow: slab {:.0} B (slots filled), hash index {:.1} B, timer wheel {:.1} B; heap (malloc \
         chunks): hostnames {:.0} B, HTTP facts {:.0} B, DNS facts {:.0} B, TLS/verdicts/other {:.0} B; \
         sum {:.0} B (the rest: DNS hint cache, allocator slack)",
        per(m.slab_used),
        per(m.index),
        per(m.wheel),
        per(heap_hostnames),
        per(heap_http),
        per(heap_dns),
        per(heap_other),
        per(m.slab_used + m.index + m.wheel + heap_hostnames + heap_http + heap_dns + heap_other)
    );
    let table = &feeder.worker.table;
    println!("         table stats: {:?}; decode: {:?}", table.stats(), feeder.worker.decode_stats);
}

/// Bytes glibc malloc takes for a request of `n` bytes: 8 bytes of header, 16-byte steps,
/// 32 at least.
fn chunk(n: usize) -> usize {
    ((n + 8).div_ceil(16) * 16).max(32)
}

/// Phase 2: a SYN flood from `flood` distinct sources into a table of `flood_max` flows.
fn syn_flood(flood: u64, flood_max: usize) {
    let mut feeder = Feeder::new(flood_max);
    let victim = (Ipv4Addr::new(10, 0, 0, 1), 443);
    println!(
        "phase 2: SYN flood of {flood} distinct sources, max_flows {flood_max}; RSS at start {:.1} MiB \
         (the allocator keeps phase 1's freed memory mapped; run with FLOWS=0 for a clean start)",
        rss() as f64 / 1048576.0
    );
    let started = Instant::now();
    for n in 0..flood {
        // Distinct (address, port) pairs from outside: 2^24 addresses x 256 ports.
        let src = Ipv4Addr::from(0x6400_0000 | (n as u32 & 0x00ff_ffff));
        let port = 1024 + (n >> 24) as u16;
        feeder.send((src, port), victim, TCP, SYN, n as u32, 0, &[]);
        if (n + 1) % 1_000_000 == 0 {
            let s = feeder.worker.table.stats();
            println!(
                "         {:>3} M packets: RSS {:.1} MiB, {} flows, {} created, {} refused",
                (n + 1) / 1_000_000,
                rss() as f64 / 1048576.0,
                feeder.worker.table.len(),
                s.flows_created,
                s.flows_refused
            );
        }
    }
    println!(
        "         {:.2} s ({:.2} M packets/s)",
        started.elapsed().as_secs_f64(),
        flood as f64 / started.elapsed().as_secs_f64() / 1e6
    );
}
