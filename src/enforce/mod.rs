//! The enforcer: the only code that changes kernel state or writes action output.
//!
//! Workers send [`MatchEvent`]s over a bounded channel; the enforcer thread hands each to the
//! targets the action names, then calls [`Target::flush`] once the queue is drained so kernel
//! changes go out in batches.

#[macro_use]
pub mod kind;
pub mod files;
use crate::netlink;
use crate::status::latency;

use std::sync::Arc;
use std::time::SystemTime;

use crate::facts::FlowFacts;

// The target kinds, one file each (see `kind`; this list also declares their modules): a new
// kind is its file and one line here.
targets! {
    NftSet(nftset::NftSetConfig),
    Ipset(ipset::IpsetConfig),
    CtLabel(ctlabel::CtLabelConfig),
    CtMark(ctmark::CtMarkConfig),
    Log(log::LogConfig),
    Sink(sink::SinkConfig),
    PfTable(pftable::PfTableConfig),
}

/// A flow matched an action.
#[derive(Debug, Clone)]
pub struct MatchEvent {
    /// Name of the action (the key in `actions`).
    pub action: Arc<str>,
    /// Snapshot of the flow's facts at the time of the match.
    pub flow: Arc<FlowFacts>,
    /// When the match happened: the capture time of the packet that made the flow match.
    pub at: SystemTime,
    /// When the flow was first and last seen, and its detection packets (for records).
    pub times: crate::flow::table::FlowTimes,
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
    /// created (nftset and ipset delete their sets). The default is a normal shutdown: ctmark
    /// and ctlabel leave marks and labels on their connections, log and sink write what is
    /// pending.
    fn remove(&mut self) -> Result<(), TargetError> {
        self.shutdown()
    }
    /// A reload hands this target's kernel sets to a successor with the same sets: what this
    /// target knows of their live elements (for the successor's repair of a deleted set).
    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        None
    }
    /// Receive what [`Target::hand_over`] gave.
    fn take_over(&mut self, _known: Box<dyn std::any::Any + Send>) {}
    /// A reload (SIGHUP) kept this target: reopen output files (logrotate moved them).
    fn reopen(&mut self) -> Result<(), TargetError> {
        Ok(())
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
    /// Why the target could not be set up, if it could not.
    setup_error: Option<String>,
}

/// A failing target (a full set, a missing table) fails on every batch: log it at most this often.
const FAILURE_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Two failure texts that differ only in their numbers (a full set refusing 3 members, then 5)
/// are the same failure for the log's rate limit.
fn same_failure(a: &str, b: &str) -> bool {
    a.chars().filter(|c| !c.is_ascii_digit()).eq(b.chars().filter(|c| !c.is_ascii_digit()))
}

impl Slot {
    fn fail(&mut self, what: &str, error: &TargetError) {
        self.counters.failures += 1;
        let text = error.to_string();
        let quiet = self.last_logged.is_some_and(|t| t.elapsed() < FAILURE_LOG_INTERVAL)
            && self.last_error.as_deref().is_some_and(|last| same_failure(last, &text));
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

/// Whether `new` takes over `old`'s kernel sets as they are: same target name and type, and the
/// same sets with the same shape.
fn hands_over(old: &TargetSpec, new: &TargetSpec) -> bool {
    let sets = old.kernel_sets();
    old.name() == new.name()
        && std::mem::discriminant(old) == std::mem::discriminant(new)
        && !sets.is_empty()
        && sets == new.kernel_sets()
}

/// `spec` with `flush_on_create` off: a target taking over live sets must not empty them.
fn without_flush_on_create(spec: &TargetSpec) -> TargetSpec {
    let mut spec = spec.clone();
    spec.skip_flush_on_create();
    spec
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

    /// Match-to-kernel latency at the published bounds, when measured (for the metrics
    /// endpoint's histogram).
    pub fn latency_buckets(&self) -> Option<latency::LatencyBuckets> {
        self.latency.as_ref().map(|l| l.total.buckets(latency::PUBLISHED_BOUNDS_US))
    }

    fn add(&mut self, spec: TargetSpec) {
        let built = spec.clone();
        let slot = self.build_slot(spec, built);
        self.slots.push(slot);
    }

    /// A slot for `spec` whose target is built from `build_from` (the same configuration,
    /// maybe with start-up flushing switched off), set up in `Apply` mode.
    fn build_slot(&self, spec: TargetSpec, build_from: TargetSpec) -> Slot {
        let mut slot = Slot {
            target: build_from.build(),
            spec,
            counters: TargetCounters::default(),
            last_error: None,
            last_logged: None,
            unlogged: 0,
            setup_error: None,
        };
        if self.mode == EnforceMode::Apply {
            if let Err(e) = slot.target.setup() {
                slot.fail("setting up target", &e);
                slot.setup_error = Some(e.to_string());
            }
        }
        slot
    }

    /// The targets that could not be set up, each as "name: why".
    pub fn setup_failures(&self) -> Vec<String> {
        self.slots.iter().filter_map(|s| s.setup_error.as_ref().map(|e| format!("{}: {e}", s.target.name()))).collect()
    }

    /// Switch to a new configuration's targets, without a gap in blocking:
    /// - a target whose configuration is unchanged is kept as it is (its sets, members, pending
    ///   output; output files are reopened);
    /// - a changed target whose kernel sets keep their names and shape (same set names, set
    ///   type or key; other ttl, size, skb values, flags…) hands its sets over: the new target
    ///   is set up without `flush_on_create` and the old one is not removed, so the members stay;
    /// - a removed target, or a changed one whose sets changed name or shape, is removed
    ///   ([`Target::remove`]: managed sets deleted; marks and labels stay with their
    ///   connections), then the new one is set up.
    ///
    /// The new targets are set up before anything of the old ones is touched: when one cannot
    /// be set up, the reload is rolled back whole (what the new ones created is removed, the
    /// running targets and their sets stay as they were) and the failures are returned. Only a
    /// new target reusing a set name with another shape has to wait for the old set to go; if
    /// it then fails, the old target is set up again (its set empty) and the failure returned.
    pub fn reload(&mut self, specs: &[TargetSpec]) -> Result<(), Vec<String>> {
        let old = std::mem::take(&mut self.slots);
        let (kept, replaced): (Vec<Slot>, Vec<Slot>) = old.into_iter().partition(|s| specs.contains(&s.spec));
        let replaced_sets: Vec<String> =
            replaced.iter().flat_map(|s| s.spec.kernel_sets()).map(|(name, _)| name).collect();
        // New targets: (index in specs, slot, takes over sets) set up now; the deferred ones
        // reuse a replaced target's set name with another shape.
        let mut staged: Vec<(usize, Slot, bool)> = Vec::new();
        let mut deferred = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            if kept.iter().any(|s| &s.spec == spec) {
                continue;
            }
            let heir = replaced.iter().any(|old| hands_over(&old.spec, spec));
            if heir {
                staged.push((i, self.build_slot(spec.clone(), without_flush_on_create(spec)), true));
            } else if spec.kernel_sets().iter().any(|(name, _)| replaced_sets.contains(name)) {
                deferred.push(i);
            } else {
                staged.push((i, self.build_slot(spec.clone(), spec.clone()), false));
            }
        }
        let failures: Vec<String> = staged
            .iter()
            .filter_map(|(_, s, _)| s.setup_error.as_ref().map(|e| format!("{}: {e}", s.target.name())))
            .collect();
        if !failures.is_empty() {
            for (_, mut slot, heir) in staged {
                // What a failed one did not create is not removed either.
                if !heir && slot.setup_error.is_none() && self.mode == EnforceMode::Apply {
                    if let Err(e) = slot.target.remove() {
                        tracing::warn!(target_name = slot.target.name(), "rolling back the new target: {e}");
                    }
                }
            }
            // Back as they were, in their order.
            self.slots = kept.into_iter().chain(replaced).collect();
            return Err(failures);
        }
        let mut kept = kept;
        for slot in &mut kept {
            if self.mode == EnforceMode::Apply {
                if let Err(e) = slot.target.reopen() {
                    slot.fail("reopening after reload", &e);
                }
            }
        }
        let mut new_slots: Vec<(usize, Slot)> = staged.into_iter().map(|(i, s, _)| (i, s)).collect();
        let mut removed_specs = Vec::new();
        for mut slot in replaced {
            let heir = new_slots.iter_mut().find(|(_, new)| hands_over(&slot.spec, &new.spec)).map(|(_, new)| new);
            if self.mode == EnforceMode::Apply && slot.setup_error.is_none() {
                let result = if heir.is_some() { slot.target.flush() } else { slot.target.remove() };
                if let Err(e) = result {
                    tracing::warn!(target_name = slot.target.name(), "cleaning up the replaced target: {e}");
                }
            }
            if let Some(heir) = heir {
                tracing::info!(target_name = slot.target.name(), "changed target keeps its sets (no flush)");
                if let Some(known) = slot.target.hand_over() {
                    heir.target.take_over(known);
                }
            } else {
                removed_specs.push(slot.spec);
            }
        }
        let mut failures = Vec::new();
        for i in deferred {
            let slot = self.build_slot(specs[i].clone(), specs[i].clone());
            if let Some(e) = &slot.setup_error {
                failures.push(format!("{}: {e}", slot.target.name()));
                // Put the old target with that set back rather than run without either.
                if let Some(old) = removed_specs
                    .iter()
                    .find(|o| o.kernel_sets().iter().any(|n| specs[i].kernel_sets().iter().any(|m| m.0 == n.0)))
                {
                    tracing::error!(target_name = slot.target.name(), "new target failed; restoring the previous one");
                    new_slots.push((i, self.build_slot(old.clone(), old.clone())));
                    continue;
                }
            }
            new_slots.push((i, slot));
        }
        new_slots.sort_by_key(|(i, _)| *i);
        self.slots = kept;
        self.slots.extend(new_slots.into_iter().map(|(_, s)| s));
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
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
            // A target that was never set up owns nothing: its sets (a user's set of another
            // type under that name) are not flushed.
            if slot.setup_error.is_some() {
                continue;
            }
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
                details: s.target.details().into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ipset_spec(name: &str, set_name: &str) -> TargetSpec {
        TargetSpec::Ipset(ipset::IpsetConfig::new(name, set_name))
    }

    #[test]
    fn failures_are_counted_per_target_with_the_last_error() {
        // A set name too long for ipset fails before any socket is opened.
        let mut enforcer = Enforcer::new(&[ipset_spec("ipset.bad", &"x".repeat(40))], EnforceMode::Apply);
        let event = MatchEvent {
            action: Arc::from("a"),
            flow: Arc::new(FlowFacts { ip_version: 4, ..FlowFacts::default() }),
            at: SystemTime::UNIX_EPOCH,
            times: Default::default(),
        };
        enforcer.handle(&[Arc::from("ipset.bad")], &event, false, None);
        let status = enforcer.status();
        assert_eq!((status[0].name.as_str(), status[0].applied, status[0].failures), ("ipset.bad", 0, 2));
        assert!(status[0].last_error.as_deref().unwrap().contains("longer than 31 bytes"), "{status:?}");
        // The type's own counters travel with it, so `flowsieve status` shows them too.
        let details: Vec<&str> = status[0].details.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(details, ["added", "failed", "recreated", "reconnected"], "{status:?}");
        let shown = crate::status::Status { targets: status, ..Default::default() }.to_string();
        assert!(shown.contains("  added 0, failed "), "{shown}");
    }

    #[test]
    fn a_full_set_is_logged_once_however_many_members_it_refuses() {
        let mut enforcer = Enforcer::new(&[ipset_spec("ipset.a", "a")], EnforceMode::DryRun);
        let slot = &mut enforcer.slots[0];
        for refused in [3, 5, 8] {
            let e = netlink::NetlinkError::SetFull { set: "ipset a.v4".into(), refused, accepted: 0 };
            slot.fail("sending queued operations", &TargetError::from(e));
        }
        assert_eq!((slot.counters.failures, slot.unlogged), (3, 2));
        slot.fail("sending queued operations", &TargetError::Other("another failure".into()));
        assert_eq!((slot.counters.failures, slot.unlogged), (4, 0), "a different failure is logged at once");
        assert!(!same_failure("set a is full", "set b is full"));
    }

    #[test]
    fn a_changed_target_hands_its_sets_over_only_when_they_keep_name_and_shape() {
        let old = ipset::IpsetConfig::new("ipset.a", "a");
        let mut ttl = old.clone();
        ttl.ttl = 600;
        ttl.flush_on_create = true;
        let mut kind = old.clone();
        kind.set_type = netlink::ipset::IpsetType::HashIpPort;
        let mut renamed = old.clone();
        renamed.set_name = "b".into();
        let mut skb = old.clone();
        skb.skb.prio = Some(1);
        let old = TargetSpec::Ipset(old);
        assert!(hands_over(&old, &TargetSpec::Ipset(ttl.clone())));
        for other in [kind, renamed, skb] {
            assert!(!hands_over(&old, &TargetSpec::Ipset(other)));
        }
        let TargetSpec::Ipset(adopted) = without_flush_on_create(&TargetSpec::Ipset(ttl)) else { unreachable!() };
        assert!(!adopted.flush_on_create);
        // Targets without kernel sets never hand over.
        let mark = TargetSpec::CtMark(ctmark::CtMarkConfig::new("m", 1));
        assert!(!hands_over(&mark, &TargetSpec::CtMark(ctmark::CtMarkConfig::new("m", 2))));
    }
}
