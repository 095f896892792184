//! Criteria evaluation speed: a realistic 20-action configuration against a few flows, two of
//! them mid-detection (three-valued evaluation on their final facts).
//!
//! Run with `cargo bench --bench criteria`. Criterion reports the time per pass over all
//! actions and flows and, as throughput, evaluations per second; a final line repeats the
//! figure from a plain timed loop and counts heap allocations during evaluation (must be 0:
//! plans are compiled once, evaluation only reads facts).

// A counting global allocator needs `unsafe impl GlobalAlloc` (Cargo.toml denies `unsafe_code`
// elsewhere); it forwards every call to the system allocator unchanged.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use criterion::{criterion_group, Criterion, Throughput};
use flowsieve::criteria::{AddressGroups, CompileContext, Criteria};
use flowsieve::facts::finality::Final;
use flowsieve::facts::protocol;
use flowsieve::facts::{FlowFacts, OtherType};

/// Counts allocations so the run can show that evaluation makes none.
struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Twenty actions of the kinds Netify users write (weak TLS, application and category blocks,
/// IoT isolation, port ranges, host-name regexes, exemptions as expressions).
const ACTIONS: [&str; 20] = [
    "ip_nat == false && ssl_version == 0x0302;",
    "ip_nat == false && tls_version < 0x0303 && protocol == 'TLS';",
    "app == 'netify.youtube' || app == 'netify.netflix';",
    "ai:netify.facebook",
    "ac:social-media",
    "category == 'games' && !ip_nat;",
    "protocol_category == 'vpn' || application_category == 'vpn-and-proxy';",
    "local_mac == @iot && other_type == other_remote;",
    "local_ip == @iot && !(other_ip == @servers);",
    "detected_hostname == 'rx:(^|\\.)tiktok(cdn)?\\.com$';",
    "dns_hostname == 'rx:\\.ads\\.' || detected_hostname == 'rx:^ads?\\.';",
    "detection_guessed || detection_complete;",
    "ip_protocol == 17 && other_port >= 27015 && other_port <= 27030;",
    "other_ip == 10.0.0.0/8 || other_ip == 172.16.0.0/12 || other_ip == 192.168.0.0/16;",
    "local_ip == fd00::/8 && ip_version == 6;",
    "vlan_id == 20 && other_type == other_remote && other_port == 443;",
    "proto == 'QUIC' && origin == origin_local;",
    "iface == 'rx:^wg' && ssl_cipher == 0xc013;",
    "detected_hostname == 'printer.lan' && local_port == 631;",
    "!detected_hostname && protocol == 'TLS' && other_port != 443;",
];

const GROUPS: &str = r#"{
    "iot": {"ips": ["192.168.1.50", "192.168.1.51", "10.9.0.0/16", "fd00:9::/32"],
            "macs": ["aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02", "aa:bb:cc:dd:ee:03"]},
    "servers": {"ips": ["203.0.113.0/24", "198.51.100.7", "2001:db8:1::/48"]}
}"#;

fn ip(text: &str) -> std::net::IpAddr {
    text.parse().expect("literal address")
}

/// A TLS 1.1 flow to a server, a YouTube QUIC flow, an IoT device talking out, a game flow.
fn flows() -> Vec<FlowFacts> {
    let mut weak = FlowFacts { iface: "br-lan".into(), ip_protocol: 6, ..FlowFacts::default() };
    (weak.local_ip, weak.other_ip, weak.local_port, weak.other_port) =
        (ip("192.168.1.10"), ip("10.99.0.2"), 44224, 1010);
    weak.protocol = protocol::TLS;
    weak.tls.version = 0x0302;
    weak.tls.cipher = 0xc013;
    weak.set_detected_hostname("server.test");
    // At the ServerHello: the handshake's facts are final (and conntrack's, read when the
    // flow was established), detection is not over.
    weak.final_facts = Final::TLS_CLIENT | Final::TLS_SERVER | Final::HOSTNAME | Final::CONNTRACK;

    let mut video = FlowFacts { iface: "br-lan".into(), ip_version: 6, ip_protocol: 17, ..FlowFacts::default() };
    (video.local_ip, video.other_ip, video.other_port) = (ip("fd00::10"), ip("2a00:1450::1"), 443);
    video.protocol = protocol::QUIC;
    video.application.id = 124;
    video.application.tag = Some("netify.youtube".into());
    video.application.category = 29;
    video.set_detected_hostname("rr3---sn-abc.googlevideo.com");
    video.other_type = OtherType::Remote;
    video.local_origin = true;
    // Mid-detection: nothing but the flow's addresses is final yet.
    video.final_facts = Final::NONE;

    let mut iot = FlowFacts { iface: "br-lan".into(), ip_protocol: 6, ..FlowFacts::default() };
    (iot.local_ip, iot.other_ip, iot.other_port) = (ip("192.168.1.51"), ip("52.1.2.3"), 8883);
    iot.local_mac = [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02];
    iot.other_type = OtherType::Remote;
    iot.dns_hostname = Some("mqtt.vendor.example".into());

    let mut game = FlowFacts { iface: "eth0".into(), ip_protocol: 17, vlan_id: 20, ..FlowFacts::default() };
    (game.local_ip, game.other_ip, game.other_port) = (ip("192.168.2.7"), ip("155.133.1.1"), 27020);
    game.application.id = 150;
    game.application.tag = Some("netify.steam".into());
    game.application.category = 12;
    game.detection_guessed = true;
    vec![weak, video, iot, game]
}

fn compile_actions() -> Vec<Criteria> {
    let groups = AddressGroups::from_json(GROUPS, "address-groups.json").expect("bench groups");
    let context = CompileContext { address_groups: Some(&groups) };
    ACTIONS
        .iter()
        .map(|text| Criteria::compile_with(text, &context).unwrap_or_else(|e| panic!("{text}: {}", e.render(text))))
        .collect()
}

/// Every action against every flow, as the action matcher does (three-valued, on the flows'
/// final facts: two flows are mid-detection); returns the count of decided matches.
fn evaluate_all(actions: &[Criteria], flows: &[FlowFacts]) -> usize {
    let mut matched = 0;
    for facts in flows {
        for action in actions {
            matched += usize::from(action.decide(black_box(facts)) == Some(true));
        }
    }
    matched
}

fn bench(c: &mut Criterion) {
    let actions = compile_actions();
    let flows = flows();
    let mut group = c.benchmark_group("criteria");
    group.throughput(Throughput::Elements((actions.len() * flows.len()) as u64));
    group.bench_function("20 actions x 4 flows", |b| b.iter(|| evaluate_all(black_box(&actions), &flows)));
    group.finish();
}

/// Every action against every flow two-valued, on the facts as they are (what actions did
/// before decisions waited for final facts): the comparison figure.
fn evaluate_all_two_valued(actions: &[Criteria], flows: &[FlowFacts]) -> usize {
    let mut matched = 0;
    for facts in flows {
        for action in actions {
            matched += usize::from(action.matches(black_box(facts)));
        }
    }
    matched
}

/// Evaluations per second of `pass` over `passes` passes, and the allocations made meanwhile.
fn timed(passes: u64, evaluations_per_pass: u64, mut pass: impl FnMut() -> usize) -> (f64, u64) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    for _ in 0..passes {
        black_box(pass());
    }
    let elapsed = start.elapsed();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    ((passes * evaluations_per_pass) as f64 / elapsed.as_secs_f64(), allocations)
}

/// A plain timed loop, for one figure to quote, and the allocation count; the two-valued
/// evaluation is timed in turn with it (five rounds each, best kept) so a busy machine slows
/// both alike.
fn summary() {
    let actions = compile_actions();
    let flows = flows();
    // Warm up: regex search caches are created on first use per thread.
    let matched = evaluate_all(&actions, &flows);
    let old_matched = evaluate_all_two_valued(&actions, &flows);
    let per_pass = (actions.len() * flows.len()) as u64;
    let passes = 100_000u64;
    let (mut best, mut best_old, mut allocations) = (0f64, 0f64, 0);
    for _ in 0..5 {
        let (rate, allocs) = timed(passes, per_pass, || evaluate_all(black_box(&actions), black_box(&flows)));
        best = best.max(rate);
        allocations += allocs;
        let (rate, allocs) =
            timed(passes, per_pass, || evaluate_all_two_valued(black_box(&actions), black_box(&flows)));
        best_old = best_old.max(rate);
        allocations += allocs;
    }
    println!(
        "criteria: {} actions x {} flows ({matched} decided matches per pass, {old_matched} two-valued): \
         {:.1} million evaluations/s ({:.1} ns each) three-valued on final facts, {:.1} million/s \
         ({:.1} ns) two-valued; best of 5 x {} evaluations each; {allocations} heap allocations while evaluating",
        actions.len(),
        flows.len(),
        best / 1e6,
        1e9 / best,
        best_old / 1e6,
        1e9 / best_old,
        passes * per_pass,
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
