//! `Classifier::classify` allocates nothing on the hit path (host name, address, soft
//! dissector), counted by a global allocator wrapper on the test's own thread.

// A counting global allocator needs `unsafe impl GlobalAlloc` (Cargo.toml denies `unsafe_code`
// elsewhere); it forwards every call to the system allocator unchanged.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use flowsieve::classify::Classifier;
use flowsieve::facts::protocol;
use flowsieve::facts::FlowFacts;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn named(hostname: &str, mut facts: FlowFacts) -> FlowFacts {
    facts.set_detected_hostname(hostname);
    facts
}

#[test]
fn classify_does_not_allocate() {
    let classifier = Classifier::load_default();
    let mut flows = vec![
        named(
            "RR4---sn-4g5e6nzz.GoogleVideo.com",
            FlowFacts { other_ip: "203.0.113.9".parse().unwrap(), protocol: protocol::TLS, ..FlowFacts::default() },
        ),
        FlowFacts { other_ip: "149.154.167.51".parse().unwrap(), ..FlowFacts::default() },
        FlowFacts { other_ip: "2a03:2880:f003:c07:face:b00c::2".parse().unwrap(), ..FlowFacts::default() },
        // Soft dissectors run once detection has named a protocol or given up.
        FlowFacts {
            other_ip: "179.60.195.33".parse().unwrap(),
            other_port: 5222,
            ip_protocol: 6,
            detection_complete: true,
            ..FlowFacts::default()
        },
        named("nothing.example", FlowFacts { other_ip: "192.0.2.1".parse().unwrap(), ..FlowFacts::default() }),
    ];
    let before = allocations();
    for _ in 0..1000 {
        for facts in &mut flows {
            classifier.classify(facts);
        }
    }
    assert_eq!(allocations() - before, 0);
    let tags: Vec<_> = flows.iter().map(|f| f.application.tag.as_deref()).collect();
    assert_eq!(
        tags,
        [Some("netify.youtube"), Some("netify.telegram"), Some("netify.facebook"), Some("netify.whatsapp"), None]
    );
}
