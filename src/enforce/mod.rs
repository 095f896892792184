//! The enforcer: the only code that changes kernel state or writes action output.
//!
//! Workers send [`MatchEvent`]s over a bounded channel; the enforcer thread hands each to the
//! targets the action names, then calls [`Target::flush`] once the queue is drained so kernel
//! changes go out in batches.

pub mod ctlabel;
pub mod ctmark;
pub mod ipset;
pub mod latency;
pub mod log;
pub mod netlink;
pub mod nftset;
pub mod sink;

use std::sync::Arc;
use std::time::SystemTime;

use crate::actions::config::TargetSpec;
use crate::flow::facts::FlowFacts;

/// A flow matched an action.
#[derive(Debug, Clone)]
pub struct MatchEvent {
    /// Name of the action (the key in `actions`).
    pub action: Arc<str>,
    /// Snapshot of the flow's facts at the time of the match.
    pub flow: Arc<FlowFacts>,
    /// When the match happened: the capture time of the packet that made the flow match.
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
    /// Send whatever `apply` queued. Called when the event queue is drained. Targets that act
    /// at once in `apply` keep the default.
    fn flush(&mut self) -> Result<(), TargetError> {
        Ok(())
    }
    /// Periodic work (log files every `interval`). `now` is packet time in replay.
    fn tick(&mut self, _now: SystemTime) -> Result<(), TargetError> {
        Ok(())
    }
    /// Clean shutdown: write pending output, honour `flush_on_destroy`.
    fn shutdown(&mut self) -> Result<(), TargetError>;
    /// The target was removed from the configuration by a reload: clean up what `managed`
    /// created. The default is a normal shutdown.
    fn remove(&mut self) -> Result<(), TargetError> {
        self.shutdown()
    }
    /// The flow still matches: keep its kernel state alive (element timeouts). Targets whose
    /// output is one record per match (log) do nothing.
    fn refresh(&mut self, _event: &MatchEvent) -> Result<(), TargetError> {
        Ok(())
    }
    /// Target-specific counters for summaries (ctlabel: flows not in conntrack, connections
    /// without label storage…). None by default.
    fn details(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// Whether targets touch the kernel and files or only say what they would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnforceMode {
    /// Describe operations only (replay without `--apply`).
    DryRun,
    /// Perform them.
    Apply,
}

/// Per-target counters, for the summary and the log.
#[derive(Debug, Default, Clone, Copy)]
pub struct TargetCounters {
    pub applied: u64,
    pub refreshed: u64,
    pub failures: u64,
}

struct Slot {
    spec: TargetSpec,
    target: Box<dyn Target>,
    counters: TargetCounters,
    last_error: Option<String>,
    /// When a failure was last logged, and how many were not logged since.
    last_logged: Option<std::time::Instant>,
    unlogged: u64,
}

/// A failing target (a full set, a missing table) fails on every batch: log it at most this often.
const FAILURE_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

impl Slot {
    fn fail(&mut self, what: &str, error: &TargetError) {
        self.counters.failures += 1;
        let text = error.to_string();
        let quiet = self.last_logged.is_some_and(|t| t.elapsed() < FAILURE_LOG_INTERVAL)
            && self.last_error.as_deref() == Some(text.as_str());
        if quiet {
            self.unlogged += 1;
        } else {
            let also = std::mem::take(&mut self.unlogged);
            if also > 0 {
                tracing::warn!(target_name = self.target.name(), "{what} failed: {text} (and {also} more failures)");
            } else {
                tracing::warn!(target_name = self.target.name(), "{what} failed: {text}");
            }
            self.last_logged = Some(std::time::Instant::now());
        }
        self.last_error = Some(text);
    }
}

/// Owns the targets of the running configuration and routes match events to them.
pub struct Enforcer {
    slots: Vec<Slot>,
    mode: EnforceMode,
    pending: usize,
    /// Match time and arrival at the enforcer of the applied events not flushed yet (only
    /// while measuring latency).
    unflushed: Vec<(SystemTime, SystemTime)>,
    latency: Option<Box<Latencies>>,
}

/// Match-to-kernel latency, whole and in its two parts.
#[derive(Debug, Default)]
struct Latencies {
    total: latency::LatencyHistogram,
    /// Capture to the enforcer's hands: ring delivery, worker, queue.
    to_enforcer: latency::LatencyHistogram,
    /// Enforcer to acknowledged flush.
    in_enforcer: latency::LatencyHistogram,
}

fn micros_between(from: SystemTime, to: SystemTime) -> u64 {
    to.duration_since(from).map_or(0, |d| d.as_micros() as u64)
}

/// Build the target a spec describes. Constructors never touch the kernel.
fn build(spec: &TargetSpec) -> Box<dyn Target> {
    match spec {
        TargetSpec::NftSet(c) => Box::new(nftset::NftSetTarget::new(c.clone())),
        TargetSpec::Log(c) => Box::new(log::LogTarget::new(c.clone())),
        TargetSpec::Sink(c) => Box::new(sink::SinkTarget::new(c.clone())),
        TargetSpec::Ipset(c) => Box::new(ipset::IpsetTarget::new(c.clone())),
        TargetSpec::CtMark(c) => Box::new(ctmark::CtMarkTarget::new(c.clone())),
        TargetSpec::CtLabel(c) => Box::new(ctlabel::CtLabelTarget::new(c.clone())),
    }
}

impl Enforcer {
    /// Build every target; in `Apply` mode also set each up (failures are logged and counted,
    /// the target stays in place so a later flush can retry).
    pub fn new(specs: &[TargetSpec], mode: EnforceMode) -> Enforcer {
        let mut enforcer = Enforcer { slots: Vec::new(), mode, pending: 0, unflushed: Vec::new(), latency: None };
        for spec in specs {
            enforcer.add(spec.clone());
        }
        enforcer
    }

    /// Measure, for every applied match, the time from its packet's capture to the end of the
    /// flush that sent it (live only: in replay packet times are in the past).
    pub fn measure_latency(mut self) -> Enforcer {
        self.latency = Some(Box::default());
        self
    }

    /// Match-to-kernel latency so far, when measured: whole, capture to enforcer, and enforcer
    /// to acknowledged flush.
    pub fn latency(&self) -> Option<[latency::LatencySummary; 3]> {
        self.latency.as_ref().map(|l| [l.total.summary(), l.to_enforcer.summary(), l.in_enforcer.summary()])
    }

    fn add(&mut self, spec: TargetSpec) {
        let mut slot = Slot {
            target: build(&spec),
            spec,
            counters: TargetCounters::default(),
            last_error: None,
            last_logged: None,
            unlogged: 0,
        };
        if self.mode == EnforceMode::Apply {
            if let Err(e) = slot.target.setup() {
                slot.fail("setting up target", &e);
            }
        }
        self.slots.push(slot);
    }

    /// Switch to a new configuration's targets. Targets whose configuration is unchanged are kept
    /// as they are (their sets and pending output survive: no gap in blocking); removed or
    /// changed ones are shut down, new ones set up.
    pub fn reload(&mut self, specs: &[TargetSpec]) {
        let mut kept = Vec::new();
        for slot in std::mem::take(&mut self.slots) {
            if specs.contains(&slot.spec) {
                kept.push(slot);
            } else {
                let mut slot = slot;
                if self.mode == EnforceMode::Apply {
                    if let Err(e) = slot.target.remove() {
                        tracing::warn!(target_name = slot.target.name(), "cleaning up removed target: {e}");
                    }
                }
            }
        }
        self.slots = kept;
        for spec in specs {
            if !self.slots.iter().any(|s| &s.spec == spec) {
                self.add(spec.clone());
            }
        }
    }

    /// Hand a match to the named targets. `ops`, when given, receives what each target does.
    pub fn handle(
        &mut self,
        targets: &[Arc<str>],
        event: &MatchEvent,
        refresh: bool,
        mut ops: Option<&mut Vec<String>>,
    ) {
        let mut handled = false;
        for name in targets {
            let Some(slot) = self.slots.iter_mut().find(|s| s.target.name() == &**name) else {
                continue;
            };
            if let Some(ops) = ops.as_deref_mut() {
                slot.target.describe(event, ops);
            }
            if self.mode == EnforceMode::DryRun {
                continue;
            }
            let result = if refresh { slot.target.refresh(event) } else { slot.target.apply(event) };
            match result {
                Ok(()) if refresh => slot.counters.refreshed += 1,
                Ok(()) => slot.counters.applied += 1,
                Err(e) => slot.fail(&format!("applying action '{}'", event.action), &e),
            }
            self.pending += 1;
            handled = true;
        }
        if handled && !refresh && self.latency.is_some() {
            self.unflushed.push((event.at, SystemTime::now()));
        }
    }

    /// Operations queued since the last flush.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Send queued operations (one netlink batch per set).
    pub fn flush(&mut self) {
        self.pending = 0;
        if self.mode == EnforceMode::DryRun {
            return;
        }
        let mut ok = true;
        for slot in &mut self.slots {
            if let Err(e) = slot.target.flush() {
                slot.fail("sending queued operations", &e);
                ok = false;
            }
        }
        if let Some(l) = &mut self.latency {
            // Failed flushes are counted as failures, not as latencies.
            if ok {
                let now = SystemTime::now();
                for &(at, handled) in &self.unflushed {
                    l.total.record_us(micros_between(at, now));
                    l.to_enforcer.record_us(micros_between(at, handled));
                    l.in_enforcer.record_us(micros_between(handled, now));
                }
            }
            self.unflushed.clear();
        }
    }

    /// Periodic work (log files).
    pub fn tick(&mut self, now: SystemTime) {
        if self.mode == EnforceMode::DryRun {
            return;
        }
        for slot in &mut self.slots {
            if let Err(e) = slot.target.tick(now) {
                slot.fail("periodic work", &e);
            }
        }
    }

    /// Flush, then shut every target down (`flush_on_destroy`, last log file).
    pub fn shutdown(&mut self) {
        self.flush();
        if self.mode == EnforceMode::DryRun {
            return;
        }
        for slot in &mut self.slots {
            if let Err(e) = slot.target.shutdown() {
                slot.fail("shutting down", &e);
            }
        }
    }

    /// Counters per target name.
    pub fn counters(&self) -> Vec<(String, TargetCounters)> {
        self.slots.iter().map(|s| (s.target.name().to_string(), s.counters)).collect()
    }

    /// Counters and last error of every target, for `flowsieve status`.
    pub fn status(&self) -> Vec<crate::status::TargetStatus> {
        self.slots
            .iter()
            .map(|s| crate::status::TargetStatus {
                name: s.target.name().to_string(),
                applied: s.counters.applied,
                refreshed: s.counters.refreshed,
                failures: s.counters.failures,
                last_error: s.last_error.clone(),
            })
            .collect()
    }

    /// Each target's own counters ([`Target::details`]), for targets that have any.
    pub fn details(&self) -> Vec<(String, Vec<(&'static str, u64)>)> {
        self.slots
            .iter()
            .map(|s| (s.target.name().to_string(), s.target.details()))
            .filter(|(_, d)| !d.is_empty())
            .collect()
    }
}
