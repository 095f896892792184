//! flowsieve: a deep-packet-inspection agent that turns Netify-style *flow actions* into firewall
//! state (nftables sets, log files, …).
//!
//! Packets move forward through the modules in this order, and no stage reaches back:
//!
//! ```text
//! capture ──▶ decode ──▶ flow ──▶ dissect ──▶ classify ──▶ criteria ──▶ actions ──▶ enforce
//! ```
//!
//! [`agent`] wires the stages into threads for live capture and for replay.

pub mod actions;
pub mod agent;
pub mod capture;
pub mod classify;
pub mod criteria;
pub mod decode;
pub mod dissect;
pub mod enforce;
pub mod flow;
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
