//! The enforcer: the only code that changes kernel state or writes action output.
//!
//! Workers send [`MatchEvent`]s over a bounded channel; the enforcer thread hands each to the
//! targets the action names, then calls [`Target::flush`] once the queue is drained so kernel
//! changes go out in batches.

pub mod log;
pub mod netlink;
pub mod nftset;

use std::sync::Arc;
use std::time::SystemTime;

use crate::flow::facts::FlowFacts;

/// A flow matched an action.
#[derive(Debug, Clone)]
pub struct MatchEvent {
    /// Name of the action (the key in `actions`).
    pub action: Arc<str>,
    /// Snapshot of the flow's facts at the time of the match.
    pub flow: Arc<FlowFacts>,
    /// When the match happened (packet time in replay, wall clock live).
    pub at: SystemTime,
}

/// Errors a target reports. The enforcer counts them per target and keeps going.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("netlink: {0}")]
    Netlink(#[from] netlink::NetlinkError),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// One configured target (`nftset.weakssl`, `log.weakssl`, …).
pub trait Target: Send {
    /// The target's name as configured.
    fn name(&self) -> &str;
    /// Create kernel objects or files the target needs (`managed`, `flush_on_create`).
    fn setup(&mut self) -> Result<(), TargetError>;
    /// Describe, as one line of text per operation, what `apply` does for this event
    /// (`nftset weakssl.v4 add 192.168.1.10 . 6 . 1010 . 10.99.0.2 timeout 120s`).
    fn describe(&self, event: &MatchEvent, ops: &mut Vec<String>);
    /// Queue the operation for this event; may send immediately or wait for `flush`.
    fn apply(&mut self, event: &MatchEvent) -> Result<(), TargetError>;
    /// Send whatever `apply` queued. Called when the event queue is drained.
    fn flush(&mut self) -> Result<(), TargetError>;
    /// Periodic work (log files every `interval`). `now` is packet time in replay.
    fn tick(&mut self, now: SystemTime) -> Result<(), TargetError>;
    /// Clean shutdown: write pending output, honour `flush_on_destroy`.
    fn shutdown(&mut self) -> Result<(), TargetError>;
}
