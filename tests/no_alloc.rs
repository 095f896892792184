//! The packet path allocates nothing once warm: decode, flow lookup, counters, dissection state
//! and action evaluation for flows that already exist.
//!
//! A counting global allocator (this test binary only) counts the test thread's allocations
//! while the recorded weak-TLS capture is replayed a second and a third time into the same flow
//! table: every flow exists, detection is complete, and the matched flow has already been acted
//! on.

// A counting global allocator needs `unsafe impl GlobalAlloc` (Cargo.toml denies `unsafe_code`
// elsewhere); it forwards every call to the system allocator unchanged.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use flowsieve::actions::config;
use flowsieve::agent::{packet_time, Worker};
use flowsieve::capture::Frame;
use flowsieve::decode::LinkType;
use flowsieve::flow::locality::Locality;
use flowsieve::flow::table::{FlowTable, TableConfig};

struct Counting;

thread_local! {
    /// Allocations made by this thread: the packet path runs on the test's thread, and the
    /// test harness's own thread allocates now and then while a test runs (it records the
    /// running test in a hash map), which a counter global to the process would count too.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the allocator is also called while a thread's locals are being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_packets_allocate_nothing() {
    let root = env!("CARGO_MANIFEST_DIR");
    let config = config::load(&Path::new(root).join("examples/weak-tls.json")).unwrap();
    // Load the capture into memory first: file reading is not the packet path.
    let mut frames: Vec<(LinkType, Duration, Vec<u8>, u32)> = Vec::new();
    flowsieve::capture::file::read_file(&format!("{root}/tests/fixtures/weak-tls.pcap"), |f| {
        frames.push((f.link, f.timestamp, f.data.to_vec(), f.wire_len));
    })
    .unwrap();
    assert!(frames.len() > 40);

    let table = FlowTable::new(TableConfig::default(), Arc::new(Locality::new(vec![], vec![])), "pcap", false);
    let mut worker = Worker::new(table, Arc::new(ArcSwap::from_pointee(config.actions.clone())));
    let mut matches = 0;
    let mut replay = |worker: &mut Worker| {
        for (link, ts, data, wire_len) in &frames {
            let frame = Frame { link: *link, timestamp: *ts, data, wire_len: *wire_len, vlan: None };
            worker.on_frame(frame, packet_time(*ts), |_, _| matches += 1);
            worker.table.expire(*ts, |_| {});
        }
    };
    let start = allocations();
    replay(&mut worker); // warm-up: flows, hostnames, dissector buffers, the match
    let before = allocations();
    assert!(before > start, "the counter sees the warm-up's allocations");
    replay(&mut worker);
    replay(&mut worker);
    let during = allocations() - before;
    assert_eq!(worker.table.len(), 3);
    assert_eq!(matches, 1, "the TLS 1.1 flow matched once, during warm-up");
    assert_eq!(worker.table.stats().packets, 3 * frames.len() as u64);
    assert_eq!(during, 0, "{during} allocations for {} warm packets", 2 * frames.len());

    // The same traffic inside GTP-U: opening the tunnel allocates nothing either.
    let tunnelled: Vec<_> =
        frames.iter().map(|(link, ts, data, wire_len)| (*link, *ts, in_gtp(data), *wire_len)).collect();
    let table = FlowTable::new(TableConfig::default(), Arc::new(Locality::new(vec![], vec![])), "pcap", false);
    let mut worker = Worker::new(table, Arc::new(ArcSwap::from_pointee(config.actions.clone())));
    let replay = |worker: &mut Worker| {
        for (link, ts, data, wire_len) in &tunnelled {
            let frame = Frame { link: *link, timestamp: *ts, data, wire_len: *wire_len, vlan: None };
            worker.on_frame(frame, packet_time(*ts), |_, _| {});
            worker.table.expire(*ts, |_| {});
        }
    };
    replay(&mut worker);
    let before = allocations();
    replay(&mut worker);
    let during = allocations() - before;
    assert_eq!(worker.table.len(), 3, "the inner flows");
    assert!(worker.table.flows_mut().all(|f| f.facts.tunnel_type == flowsieve::facts::TunnelType::Gtp));
    assert_eq!(during, 0, "{during} allocations for {} warm GTP-U packets", tunnelled.len());
}

/// An untagged Ethernet frame's IP packet wrapped in Ethernet + IPv4 + UDP 2152 + GTP-U.
fn in_gtp(frame: &[u8]) -> Vec<u8> {
    let inner = &frame[14..];
    let gtp_len = inner.len() as u16;
    let udp_len = gtp_len + 8 + 8;
    let ip_len = udp_len + 20;
    let mut out = frame[..12].to_vec();
    out.extend_from_slice(&[0x08, 0x00, 0x45, 0, (ip_len >> 8) as u8, ip_len as u8, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    out.extend_from_slice(&[172, 16, 0, 1, 172, 16, 0, 2]);
    out.extend_from_slice(&[0x08, 0x68, 0x08, 0x68, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
    out.extend_from_slice(&[0x30, 0xff, (gtp_len >> 8) as u8, gtp_len as u8, 0, 0, 0, 7]);
    out.extend_from_slice(inner);
    out
}
