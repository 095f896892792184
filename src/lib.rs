//! flowsieve: a deep-packet-inspection agent that turns Netify-style *flow actions* into firewall
//! state (nftables sets, log files, …).
//!
//! Packets move forward through the stages in this order:
//!
//! ```text
//! capture ──▶ decode ──▶ flow ──▶ dissect ──▶ classify ──▶ criteria ──▶ actions ──▶ enforce
//! ```
//!
//! [`agent`] wires the stages into threads for live capture and for replay.
//!
//! The code depends the other way round from the packets' path only where a stage drives
//! the next: the flow table calls the dissectors and the classifier, so `flow` uses `dissect`
//! and `classify`, not the reverse. What every stage reads or writes about a flow lives at
//! the bottom, in [`facts`], which uses no other module of the crate; [`netlink`] (the kernel
//! interface), [`status`], [`sdnotify`] and [`input`] (reading configuration files, quoting what
//! users wrote) are leaves as well.
//!
//! Allowed dependencies between the top-level modules (each line: a module → the modules it
//! may use; `tests/layering.rs` checks that this is exactly what the code does and that there
//! is no cycle):
//!
//! ```text
//! facts    → nothing
//! netlink  → nothing
//! status   → nothing
//! metrics  → status
//! sdnotify → nothing
//! decode   → facts
//! capture  → decode, netlink
//! dissect  → facts
//! netifyd  → facts
//! input    → nothing
//! criteria → facts, input
//! classify → criteria, facts
//! flow     → classify, decode, dissect, facts, netlink
//! output   → classify, dissect, facts, flow
//! enforce  → facts, flow, input, netlink, output, status
//! actions  → criteria, enforce, facts, input, netlink
//! agent    → actions, capture, classify, decode, enforce, facts, flow, metrics, netlink, sdnotify, status
//! ```

pub mod actions;
pub mod agent;
pub mod capture;
pub mod classify;
pub mod criteria;
pub mod decode;
pub mod dissect;
pub mod enforce;
pub mod facts;
pub mod flow;
pub mod input;
pub mod metrics;
pub mod netifyd;
pub mod netlink;
pub mod output;
pub mod sdnotify;
pub mod status;

/// Where nDPI's test corpus (`pcap/` and `truth.jsonl`) is read from by the tests, examples,
/// benchmarks and measurement scripts: `$FLOWSIEVE_CORPUS` when set (and not empty), else
/// `../shared/corpus/ndpi` beside the crate root. The agent itself never reads it.
#[doc(hidden)]
pub fn corpus_dir() -> std::path::PathBuf {
    match std::env::var_os("FLOWSIEVE_CORPUS") {
        Some(dir) if !dir.is_empty() => dir.into(),
        _ => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/ndpi"),
    }
}
