//! Wiring: the worker loop shared by replay and live capture, the enforcer thread, signals and
//! configuration reload.
//!
//! A worker owns one flow table and evaluates actions itself; it never blocks on the enforcer.
//! Live, each capture interface is one worker (a flow is seen on one interface), and events go
//! to the enforcer thread over a bounded channel whose overflow is counted. In replay, the
//! enforcer runs inline so each flow's output can say what its targets did.

mod enforcer;
mod instance;
mod live;
/// `run --nfqueue`: workers reading NFQUEUEs and giving verdicts.
pub mod nfqueue;
/// `replay --workers N`: share-nothing workers over the parsed captures.
mod parallel;
mod replay;
mod worker;

pub use live::{run, CaptureInterface, CaptureMethod, LiveSource, RunOptions};
pub use replay::{replay, ReplayOptions, ReplaySummary};
pub use worker::{packet_time, DecodeStats, Dispatch, Worker, REFRESH_INTERVAL};
