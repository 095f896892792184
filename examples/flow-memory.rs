//! Memory per tracked flow, by kind of flow, and memory under a SYN flood with `max_flows` set
//! (issue 7, measurement 5). Synthetic Ethernet frames are built in memory and fed through the
//! same `Worker::on_frame` path `replay` uses (decode → flow table → dissectors → action
//! evaluation, here with no actions). Prints figures, asserts nothing.
//!
//! `cargo run --release --example flow-memory -- [FLOWS] [FLOOD_SOURCES] [FLOOD_MAX_FLOWS]`
//! (defaults 1,000,000, 10,000,000 and 100,000).
//!
//! Phase 1 opens FLOWS concurrent flows, none of which expires, once for each kind of flow and
//! once for a mix of them, each run in a process of its own (the example starts itself with
//! `--kind KIND FLOWS`) so that RSS starts clean:
//! - HTTP: TCP handshake, a request and its response (detection completes);
//! - DNS: UDP, a query and its answer with one A record;
//! - TLS: TCP handshake, a browser-like ClientHello (SNI, ALPN h2 and http/1.1, TLS 1.3 and
//!   1.2 offered, GREASE, key share) and a TLS 1.2 server flight (ServerHello choosing h2,
//!   Certificate with a subject CN and four subjectAltName names, ServerHelloDone), read by the
//!   real TLS dissector: SNI, ALPN offered and chosen, version, cipher, JA3, JA3S, JA4, CN and
//!   names, as from the wire;
//! - mix: 30 % HTTP, 40 % TLS, 30 % DNS.
//!
//! RSS growth divided by flows is the cost of one tracked flow, hash table slack included; the
//! heap parts are also summed as glibc malloc sizes its blocks, by kind of fact. The benchmark
//! itself allocates nothing per flow (payloads go to reused buffers; the TLS messages are built
//! once per length of name and patched): its own short-lived blocks would sit among the flows'
//! long-lived ones and fill, or leave, holes that RSS counts (docs/BENCHMARKS.md, "Memory per
//! flow").
//! Phase 2 sends one SYN from each of FLOOD_SOURCES distinct sources into a fresh table limited
//! to FLOOD_MAX_FLOWS and samples RSS every million packets.
//!
//! `flow-memory --captures FILE...` replays captures (`replay`'s pipeline) instead and prints
//! the heap the facts of their flows with TLS facts take, as malloc sizes it: for real TLS
//! traffic such as the nDPI corpus (`--captures "$FLOWSIEVE_CORPUS"/pcap/*`).

use std::io::Write as _;
use std::mem::size_of;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use flowsieve::actions::{config, ActionSet};
use flowsieve::agent::{self, ReplayOptions, Worker};
use flowsieve::capture::Frame;
use flowsieve::decode::LinkType;
use flowsieve::dissect::registry::DissectState;
use flowsieve::facts::dns::{DnsAnswer, DnsFacts};
use flowsieve::facts::http::HttpFacts;
use flowsieve::facts::{malloc_chunk as chunk, AppFacts, FlowFacts, TlsFacts};
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

/// The kinds of flow phase 1 measures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Http,
    Dns,
    Tls,
    Mix,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Http, Kind::Dns, Kind::Tls, Kind::Mix];

    fn name(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Dns => "dns",
            Kind::Tls => "tls",
            Kind::Mix => "mix",
        }
    }

    /// The kind of flow number `i`.
    fn of_flow(self, i: u32) -> Kind {
        match (self, i % 10) {
            (Kind::Mix, 0..=2) => Kind::Http,
            (Kind::Mix, 3..=6) => Kind::Tls,
            (Kind::Mix, _) => Kind::Dns,
            (kind, _) => kind,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--captures") {
        return captures(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("--kind") {
        let kind = args.get(1).and_then(|k| Kind::ALL.into_iter().find(|kind| kind.name() == k));
        let flows = args.get(2).and_then(|n| n.parse().ok());
        let (Some(kind), Some(flows)) = (kind, flows) else {
            return Err("usage: flow-memory --kind http|dns|tls|mix FLOWS".into());
        };
        concurrent_flows(kind, flows);
        return Ok(());
    }
    let args: Vec<u64> = args.iter().map(|a| a.parse()).collect::<Result<_, _>>()?;
    let flows = args.first().copied().unwrap_or(1_000_000) as u32;
    let flood = args.get(1).copied().unwrap_or(10_000_000);
    let flood_max = args.get(2).copied().unwrap_or(100_000) as usize;

    println!(
        "size_of: slab slot Option<Flow> {} B (no FlowKey ({} B): derived from the facts; FlowFacts {} B with AppFacts {} B, DissectState {} B); \
         boxed on first write: TlsFacts {} B (+ one text block), FlowVerdicts {} B",
        size_of::<Option<Flow>>(),
        size_of::<FlowKey>(),
        size_of::<FlowFacts>(),
        size_of::<AppFacts>(),
        size_of::<DissectState>(),
        size_of::<TlsFacts>(),
        size_of::<FlowVerdicts>()
    );
    if flows > 0 {
        let me = std::env::current_exe()?;
        for kind in Kind::ALL {
            let status = std::process::Command::new(&me).args(["--kind", kind.name(), &flows.to_string()]).status()?;
            if !status.success() {
                return Err(format!("the {} run failed: {status}", kind.name()).into());
            }
        }
    }
    syn_flood(flood, flood_max);
    Ok(())
}

/// The heap of the flows with TLS facts in `files`, replayed as `replay` does.
fn captures(files: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let config = config::parse(r#"{"version": 1, "actions": {}, "targets": {}}"#, Path::new("<flow-memory>"))?;
    let options = ReplayOptions::dry_run();
    let (mut flows, mut tls_flows, mut tls_heap, mut hostname_heap, mut other_heap) = (0usize, 0usize, 0, 0, 0);
    // One file at a time: a capture the reader gives up on leaves the others counted.
    for file in files {
        let result = agent::replay(&config, std::slice::from_ref(file), &options, |_, flow| {
            flows += 1;
            let f = &flow.facts;
            let tls = &f.tls;
            // The flows whose `replay --json` record shows TLS facts.
            if tls.version != 0 || tls.client_version != 0 || tls.sni().is_some() || tls.ja3().is_some() {
                tls_flows += 1;
                tls_heap += tls.heap_bytes();
                hostname_heap += f.hostname_heap_bytes();
                // QUIC's user agent, for one.
                other_heap += if f.app_protocol.http().is_some() { chunk(size_of::<HttpFacts>()) } else { 0 };
            }
        });
        if let Err(e) = result {
            eprintln!("{file}: {e}");
        }
    }
    let per = |b: usize| b as f64 / tls_flows.max(1) as f64;
    println!(
        "{} capture(s), {flows} flows, {tls_flows} with TLS facts; per such flow, heap as malloc sizes it: TLS facts {:.1} B, \
         hostname {:.1} B (0 when it is the SNI), HTTP facts (QUIC user agent) {:.1} B; sum {:.1} B",
        files.len(),
        per(tls_heap),
        per(hostname_heap),
        per(other_heap),
        per(tls_heap + hostname_heap + other_heap)
    );
    Ok(())
}

/// Builds the payloads of one flow of each kind into reused buffers: the benchmark allocates
/// nothing per flow once warm, so its own short-lived blocks do not sit between the flows'
/// long-lived ones in the heap and count as their memory.
struct Payloads {
    request: Vec<u8>,
    reply: Vec<u8>,
    name: String,
    /// The TLS payloads by the number of digits in the flow's number (see [`TlsShape`]).
    tls: Vec<Option<TlsShape>>,
}

/// A TLS flow's ClientHello and server flight for the flows whose number has some number of
/// digits (the names, and so every length in the messages, are the same for all of them),
/// built once by `mod tls` for the first such flow, with where that flow's number stands in
/// each: another flow's messages are these with its number written there (the handshake
/// randoms stay the first flow's; nothing the dissector keeps depends on them).
struct TlsShape {
    client_hello: Vec<u8>,
    in_hello: Vec<usize>,
    server_flight: Vec<u8>,
    in_flight: Vec<usize>,
}

impl TlsShape {
    /// Where `number` stands in `bytes`, as part of one of the flow's names.
    fn places(bytes: &[u8], number: &[u8]) -> Vec<usize> {
        let name = [b"shop", number, b".example.com"].concat();
        (0..bytes.len()).filter(|&at| bytes[at..].starts_with(&name)).map(|at| at + 4).collect()
    }

    fn new(i: u32, number: &[u8]) -> TlsShape {
        let site = format!("shop{i}.example.com");
        let sni = format!("www.{site}");
        let mut client_hello = Vec::new();
        tls::client_hello(i, &sni, &mut client_hello);
        let names = [site.clone(), sni, format!("*.{site}"), format!("static.{site}")];
        let mut server_flight = Vec::new();
        tls::server_flight(i, &site, &names, &mut server_flight);
        let (in_hello, in_flight) = (Self::places(&client_hello, number), Self::places(&server_flight, number));
        // The SNI; the subject CN and the four subjectAltNames.
        assert_eq!((in_hello.len(), in_flight.len()), (1, 5), "the TLS messages changed: update TlsShape");
        TlsShape { client_hello, in_hello, server_flight, in_flight }
    }
}

/// `i` in decimal, in `buf`.
fn decimal(mut i: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (i % 10) as u8;
        i /= 10;
        if i == 0 {
            return &buf[at..];
        }
    }
}

/// `bytes` with `number` written at each of `places`, into `out`.
fn patched(bytes: &[u8], places: &[usize], number: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(bytes);
    for &at in places {
        out[at..at + number.len()].copy_from_slice(number);
    }
}

/// Phase 1: `flows` concurrent flows of `kind`.
fn concurrent_flows(kind: Kind, flows: u32) {
    let base = rss();
    let mut feeder = Feeder::new(flows as usize + 1);
    let started = Instant::now();
    let mut p = Payloads {
        request: Vec::with_capacity(2048),
        reply: Vec::with_capacity(4096),
        name: String::with_capacity(64),
        tls: (0..=10).map(|_| None).collect(),
    };
    for i in 0..flows {
        let c = (client(i), 1024 + (i & 0xff) as u16 * 200 + (i % 199) as u16);
        match kind.of_flow(i) {
            Kind::Http => http_flow(&mut feeder, &mut p, i, c),
            Kind::Tls => tls_flow(&mut feeder, &mut p, i, c),
            _ => dns_flow(&mut feeder, &mut p, i, c),
        }
    }
    let elapsed = started.elapsed();
    let after = rss();
    let table = &mut feeder.worker.table;
    let tracked = table.len();
    let mut complete = 0usize;
    let mut hostnames = 0usize;
    let mut tls_flows = 0usize;
    // Heap parts of the flows, as glibc malloc sizes them.
    let (mut heap_hostnames, mut heap_http, mut heap_dns, mut heap_tls, mut heap_other) = (0, 0, 0, 0, 0);
    let text = |t: &Option<Box<str>>| t.as_ref().map_or(0, |t| chunk(t.len()));
    for flow in table.flows_mut() {
        complete += usize::from(flow.facts.detection_complete);
        hostnames += flow.facts.detected_hostname().map_or(0, str::len);
        let f = &flow.facts;
        // dns_hostname shares the hint cache's name: each holder pays its share.
        let shared = f.dns_hostname.as_ref().map_or(0, |n| n.heap_bytes() / n.holders());
        // 0 for a hostname that is the TLS SNI: it is stored once, in the TLS facts.
        heap_hostnames += f.hostname_heap_bytes() + shared;
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
        if f.tls.is_present() {
            tls_flows += 1;
            heap_tls += f.tls.heap_bytes();
        }
        heap_other += if flow.verdicts.is_present() { chunk(size_of::<FlowVerdicts>()) } else { 0 };
        heap_other += if f.app_protocol.ssh().is_some() || f.app_protocol.dhcp().is_some() { 32 } else { 0 };
    }
    let name = kind.name().to_uppercase();
    println!(
        "phase 1, {name}: {} packets, {tracked} flows tracked ({complete} with detection complete, {tls_flows} with TLS facts) in {:.2} s",
        feeder.packets,
        elapsed.as_secs_f64()
    );
    let per = |b: usize| b as f64 / tracked as f64;
    println!(
        "         RSS {:.1} MiB before, {:.1} MiB with the flows = {:.0} bytes per tracked {name} flow (RSS growth / flows)",
        base as f64 / 1048576.0,
        after as f64 / 1048576.0,
        (after - base) as f64 / tracked as f64,
    );
    let m = feeder.worker.table.memory();
    println!(
        "         per flow: slab {:.0} B (slots filled), hash index {:.1} B, timer wheel {:.1} B; heap (malloc \
         chunks): hostnames {:.1} B (text {:.1} B), HTTP facts {:.0} B, DNS facts {:.0} B, TLS facts {:.0} B, \
         verdicts/other {:.0} B; sum {:.0} B (the rest: DNS hint cache, allocator slack)",
        per(m.slab_used),
        per(m.index),
        per(m.wheel),
        per(heap_hostnames),
        per(hostnames),
        per(heap_http),
        per(heap_dns),
        per(heap_tls),
        per(heap_other),
        per(m.slab_used + m.index + m.wheel + heap_hostnames + heap_http + heap_dns + heap_tls + heap_other)
    );
    let table = &feeder.worker.table;
    println!("         table stats: {:?}; decode: {:?}", table.stats(), feeder.worker.decode_stats);
}

/// TCP handshake, GET and its response.
fn http_flow(feeder: &mut Feeder, p: &mut Payloads, i: u32, c: (Ipv4Addr, u16)) {
    let s = (Ipv4Addr::new(93, 184, 216, 34), 80);
    tcp_handshake(feeder, c, s);
    p.request.clear();
    let _ = write!(p.request, "GET /item/{i} HTTP/1.1\r\nHost: h{i}.example.com\r\nUser-Agent: flow-memory\r\n\r\n");
    feeder.send(c, s, TCP, PSH | ACK, 1001, 5001, &p.request);
    p.reply.clear();
    p.reply.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n");
    feeder.send(s, c, TCP, PSH | ACK, 5001, 1001 + p.request.len() as u32, &p.reply);
}

/// A DNS query and its answer.
fn dns_flow(feeder: &mut Feeder, p: &mut Payloads, i: u32, c: (Ipv4Addr, u16)) {
    let s = (Ipv4Addr::new(9, 9, 9, 9), 53);
    p.name.clear();
    let _ = std::fmt::Write::write_fmt(&mut p.name, format_args!("h{i}.example.org"));
    dns(i as u16, &p.name, false, &mut p.request);
    feeder.send(c, s, UDP, 0, 0, 0, &p.request);
    dns(i as u16, &p.name, true, &mut p.reply);
    feeder.send(s, c, UDP, 0, 0, 0, &p.reply);
}

/// TCP handshake, ClientHello, and the server's TLS 1.2 flight up to ServerHelloDone.
fn tls_flow(feeder: &mut Feeder, p: &mut Payloads, i: u32, c: (Ipv4Addr, u16)) {
    let s = (Ipv4Addr::new(93, 184, 216, 34), 443);
    tcp_handshake(feeder, c, s);
    // Names of the corpus's typical length (SNI 20 characters on average): `www.shop{i}.example.com`
    // as the SNI, `shop{i}.example.com` as the CN, and those, `*.` and `static.` of it as names.
    let mut buf = [0; 10];
    let number = decimal(i, &mut buf);
    let shape = p.tls[number.len()].get_or_insert_with(|| TlsShape::new(i, number));
    patched(&shape.client_hello, &shape.in_hello, number, &mut p.request);
    feeder.send(c, s, TCP, PSH | ACK, 1001, 5001, &p.request);
    patched(&shape.server_flight, &shape.in_flight, number, &mut p.reply);
    feeder.send(s, c, TCP, PSH | ACK, 5001, 1001 + p.request.len() as u32, &p.reply);
}

fn tcp_handshake(feeder: &mut Feeder, c: (Ipv4Addr, u16), s: (Ipv4Addr, u16)) {
    feeder.send(c, s, TCP, SYN, 1000, 0, &[]);
    feeder.send(s, c, TCP, SYN | ACK, 5000, 1001, &[]);
    feeder.send(c, s, TCP, ACK, 1001, 5001, &[]);
}

/// TLS handshake messages as a browser and a TLS 1.2 server send them.
mod tls {
    const GREASE: [u8; 2] = [0x5a, 0x5a];

    fn vec8(out: &mut Vec<u8>, body: &[u8]) {
        out.push(body.len() as u8);
        out.extend_from_slice(body);
    }

    fn vec16(out: &mut Vec<u8>, body: &[u8]) {
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
    }

    fn vec24(out: &mut Vec<u8>, body: &[u8]) {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(body);
    }

    fn extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
        out.extend_from_slice(&kind.to_be_bytes());
        vec16(out, data);
    }

    /// A handshake record (content type 22) holding `messages`.
    fn record(messages: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&[22, 3, 1]);
        vec16(out, messages);
    }

    fn handshake(out: &mut Vec<u8>, kind: u8, body: &[u8]) {
        out.push(kind);
        vec24(out, body);
    }

    fn random(i: u32) -> [u8; 32] {
        let mut r = [0u8; 32];
        for (n, b) in r.iter_mut().enumerate() {
            *b = (i.wrapping_mul(2654435761).rotate_left(n as u32) >> 3) as u8;
        }
        r
    }

    /// Chrome's shape: GREASE, 15 cipher suites, SNI, EMS, renegotiation_info, groups, point
    /// formats, session ticket, ALPN h2/http1.1, OCSP, signature algorithms, SCT, an X25519
    /// key share, PSK modes, TLS 1.3 and 1.2, certificate compression.
    pub fn client_hello(i: u32, sni: &str, out: &mut Vec<u8>) {
        let mut body = vec![3, 3];
        body.extend_from_slice(&random(i));
        vec8(&mut body, &random(!i));
        let suites: &[u16] = &[
            0x5a5a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
            0x009d, 0x002f, 0x0035,
        ];
        let suites: Vec<u8> = suites.iter().flat_map(|s| s.to_be_bytes()).collect();
        vec16(&mut body, &suites);
        vec8(&mut body, &[0]);
        let mut exts = Vec::with_capacity(512);
        extension(&mut exts, u16::from_be_bytes(GREASE), &[]);
        let mut entry = vec![0];
        vec16(&mut entry, sni.as_bytes());
        let mut list = Vec::new();
        vec16(&mut list, &entry);
        extension(&mut exts, 0x0000, &list);
        extension(&mut exts, 0x0017, &[]);
        extension(&mut exts, 0xff01, &[0]);
        extension(&mut exts, 0x000a, &[0, 8, 0x5a, 0x5a, 0, 0x1d, 0, 0x17, 0, 0x18]);
        extension(&mut exts, 0x000b, &[1, 0]);
        extension(&mut exts, 0x0023, &[]);
        let mut alpn = Vec::new();
        for name in ["h2", "http/1.1"] {
            vec8(&mut alpn, name.as_bytes());
        }
        let mut list = Vec::new();
        vec16(&mut list, &alpn);
        extension(&mut exts, 0x0010, &list);
        extension(&mut exts, 0x0005, &[1, 0, 0, 0, 0]);
        let algorithms: Vec<u8> = [0x0403u16, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
            .iter()
            .flat_map(|a| a.to_be_bytes())
            .collect();
        let mut list = Vec::new();
        vec16(&mut list, &algorithms);
        extension(&mut exts, 0x000d, &list);
        extension(&mut exts, 0x0012, &[]);
        let mut share = vec![0x5a, 0x5a, 0, 1, 0, 0, 0x1d];
        vec16(&mut share, &random(i ^ 0x5555));
        let mut list = Vec::new();
        vec16(&mut list, &share);
        extension(&mut exts, 0x0033, &list);
        extension(&mut exts, 0x002d, &[1, 1]);
        extension(&mut exts, 0x002b, &[6, 0x5a, 0x5a, 3, 4, 3, 3]);
        extension(&mut exts, 0x001b, &[2, 0, 2]);
        extension(&mut exts, u16::from_be_bytes(GREASE), &[0]);
        vec16(&mut body, &exts);
        let mut message = Vec::with_capacity(body.len() + 4);
        handshake(&mut message, 1, &body);
        record(&message, out);
    }

    /// ServerHello (TLS 1.2, ECDHE-RSA-AES128-GCM, ALPN h2), Certificate (leaf for `cn` naming
    /// `names`, and an intermediate), ServerHelloDone, in one record.
    pub fn server_flight(i: u32, cn: &str, names: &[String], out: &mut Vec<u8>) {
        let mut hello = vec![3, 3];
        hello.extend_from_slice(&random(i ^ 0xaaaa));
        vec8(&mut hello, &random(!i));
        hello.extend_from_slice(&[0xc0, 0x2f, 0]);
        let mut exts = Vec::new();
        extension(&mut exts, 0xff01, &[0]);
        extension(&mut exts, 0x000b, &[1, 0]);
        extension(&mut exts, 0x0010, &[0, 3, 2, b'h', b'2']);
        extension(&mut exts, 0x0017, &[]);
        vec16(&mut hello, &exts);
        let mut messages = Vec::with_capacity(2048);
        handshake(&mut messages, 2, &hello);
        let leaf = super::x509::certificate(cn, names, "R11");
        let intermediate = super::x509::certificate("R11", &[], "ISRG Root X1");
        let mut chain = Vec::new();
        vec24(&mut chain, &leaf);
        vec24(&mut chain, &intermediate);
        let mut certificate = Vec::new();
        vec24(&mut certificate, &chain);
        handshake(&mut messages, 11, &certificate);
        handshake(&mut messages, 14, &[]);
        record(&messages, out);
        out[2] = 3; // the server's records say TLS 1.2
    }
}

/// DER certificates shaped like RFC 5280's (an EC key and signature of the right sizes).
mod x509 {
    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = value.len();
        if n < 0x80 {
            v.push(n as u8);
        } else if n < 0x100 {
            v.extend([0x81, n as u8]);
        } else {
            v.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend_from_slice(value);
        v
    }

    fn name(organization: &str, cn: &str) -> Vec<u8> {
        let attribute =
            |oid: &[u8], value: &str| tlv(0x31, &tlv(0x30, &[tlv(6, oid), tlv(0x0c, value.as_bytes())].concat()));
        let country = tlv(0x31, &tlv(0x30, &[tlv(6, &[0x55, 4, 6]), tlv(0x13, b"US")].concat()));
        tlv(0x30, &[country, attribute(&[0x55, 4, 10], organization), attribute(&[0x55, 4, 3], cn)].concat())
    }

    pub fn certificate(cn: &str, dns_names: &[String], issuer: &str) -> Vec<u8> {
        let algorithm = tlv(0x30, &tlv(6, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));
        let validity = tlv(0x30, &[tlv(0x17, b"260101000000Z"), tlv(0x17, b"260401000000Z")].concat());
        let key = [&[0u8, 4][..], &[0x42; 64]].concat();
        let spki = tlv(0x30, &[algorithm.clone(), tlv(3, &key)].concat());
        let mut extensions = vec![tlv(0x30, &[tlv(6, &[0x55, 0x1d, 0x13]), tlv(4, &tlv(0x30, &[]))].concat())];
        if !dns_names.is_empty() {
            let names: Vec<u8> = dns_names.iter().flat_map(|n| tlv(0x82, n.as_bytes())).collect();
            extensions.push(tlv(0x30, &[tlv(6, &[0x55, 0x1d, 0x11]), tlv(4, &tlv(0x30, &names))].concat()));
        }
        let tbs = tlv(
            0x30,
            &[
                tlv(0xa0, &tlv(2, &[2])),
                tlv(2, &[0x04, 0x51, 0x9a, 0x7e, 0x21, 0x33, 0x0c, 0x5d]),
                algorithm.clone(),
                name("Let's Encrypt", issuer),
                validity,
                name("Example Shops", cn),
                spki,
                tlv(0xa3, &tlv(0x30, &extensions.concat())),
            ]
            .concat(),
        );
        tlv(0x30, &[tbs, algorithm, tlv(3, &[0x42; 72])].concat())
    }
}

/// Phase 2: a SYN flood from `flood` distinct sources into a table of `flood_max` flows.
fn syn_flood(flood: u64, flood_max: usize) {
    let mut feeder = Feeder::new(flood_max);
    let victim = (Ipv4Addr::new(10, 0, 0, 1), 443);
    println!(
        "phase 2: SYN flood of {flood} distinct sources, max_flows {flood_max}; RSS at start {:.1} MiB",
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
