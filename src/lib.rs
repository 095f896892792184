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
pub mod metrics;
pub mod mqtt;
pub mod status;
