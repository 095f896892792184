//! Wiring: the worker loop shared by replay and live capture, the enforcer thread, signals and
//! configuration reload.
//!
//! A worker owns one flow table and evaluates actions itself; it never blocks on the enforcer.
//! Live, each capture interface is one worker (a flow is seen on one interface), and events go
//! to the enforcer thread over a bounded channel whose overflow is counted. In replay, the
//! enforcer runs inline so each flow's output can say what its targets did.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::actions::config::{self, FlowActionsConfig, TargetSpec};
use crate::actions::ActionSet;
use crate::capture::live::{LiveEvent, LiveStats};
use crate::capture::Frame;
use crate::decode::{self, DecodeError};
use crate::enforce::{EnforceMode, Enforcer, MatchEvent};
use crate::flow::ctcache::{CtCache, CtChange, CtLookup};
use crate::flow::table::{Change, Flow, FlowTable, TableConfig, TableStats};
use crate::status::{SharedStatus, Status, WorkerStatus};

/// How often a flow that keeps matching re-sends its match, so set elements stay alive.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

/// Frames a worker could not use, by reason.
#[derive(Debug, Default, Clone, Copy)]
pub struct DecodeStats {
    pub malformed: u64,
    pub not_ip: u64,
    pub fragments: u64,
    pub unsupported_link: u64,
}

/// One match for the enforcer: the event plus the target names of its action.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub targets: Vec<Arc<str>>,
    pub event: MatchEvent,
    /// True when this re-sends an earlier match to keep kernel state alive.
    pub refresh: bool,
}

/// A worker: decode, flow table, dissection, action evaluation.
pub struct Worker {
    pub table: FlowTable,
    pub decode_stats: DecodeStats,
    actions: Arc<ArcSwap<ActionSet>>,
    /// Replay `--repeat`: every packet of this round gets this VLAN id (0: keep the packet's).
    pub vlan_override: u16,
    /// Evaluate actions (off for `--decode-only` measurements).
    pub evaluate: bool,
    /// Conntrack facts (`ct_mark`, and `ip_nat` on external interfaces); set by `run`, never
    /// in replay (a capture file's flows are not the host's connections).
    pub conntrack: Option<CtLookup>,
}

impl Worker {
    pub fn new(table: FlowTable, actions: Arc<ArcSwap<ActionSet>>) -> Worker {
        Worker {
            table,
            decode_stats: DecodeStats::default(),
            actions,
            vlan_override: 0,
            evaluate: true,
            conntrack: None,
        }
    }

    /// Process one frame; every match or refresh goes to `dispatch`. `at` stamps the events.
    pub fn on_frame(&mut self, frame: Frame<'_>, at: SystemTime, dispatch: impl FnMut(&mut Flow, Dispatch)) {
        self.on_frame_at(frame, || at, dispatch)
    }

    /// [`Self::on_frame`] with the event time made only when an event is: most packets
    /// change nothing, and replay would turn every packet time into a wall-clock time.
    pub fn on_frame_at(
        &mut self,
        frame: Frame<'_>,
        at: impl FnOnce() -> SystemTime,
        mut dispatch: impl FnMut(&mut Flow, Dispatch),
    ) {
        let mut packet = match decode::decode(frame.link, frame.data) {
            Ok(p) => p,
            Err(e) => {
                let s = &mut self.decode_stats;
                match e {
                    DecodeError::Malformed(_) => s.malformed += 1,
                    DecodeError::NotIp => s.not_ip += 1,
                    DecodeError::Fragment => s.fragments += 1,
                    DecodeError::UnsupportedLink(_) => s.unsupported_link += 1,
                }
                return;
            }
        };
        if let (Some(tag), 0) = (frame.vlan, packet.vlan_id) {
            // AF_PACKET hands over VLAN-tagged frames with the tag removed: put it back.
            packet.vlan_id = tag;
        }
        if self.vlan_override != 0 {
            packet.vlan_id = self.vlan_override;
        }
        let now = frame.timestamp;
        let Some((flow, change)) = self.table.process(&packet, now) else {
            return;
        };
        if !self.evaluate {
            return;
        }
        if change != Change::None {
            // Conntrack is consulted when the flow's facts change, not per packet.
            if let Some(conntrack) = &mut self.conntrack {
                conntrack.fill(&mut flow.facts, change == Change::New);
            }
            let actions = self.actions.load();
            evaluate(&actions, flow, at(), true, &mut dispatch);
        } else if !flow.verdicts.matched.is_empty()
            && now.saturating_sub(flow.verdicts.last_refresh) >= REFRESH_INTERVAL
        {
            flow.verdicts.last_refresh = now;
            let at = at();
            let actions = self.actions.load();
            let event_flow = Arc::new(flow.facts.clone());
            for &index in &flow.verdicts.matched.clone() {
                if let Some(action) = actions.actions.get(index) {
                    let event = MatchEvent { action: action.name.clone(), flow: event_flow.clone(), at };
                    dispatch(flow, Dispatch { targets: action.targets.clone(), event, refresh: true });
                }
            }
        }
    }

    /// A connection's conntrack facts changed (a mark set by the firewall, NAT): when this
    /// worker tracks it, refresh the flow's facts and, if they changed, evaluate the actions —
    /// a fact change like any other. Flows are found by the connection's 5-tuple on VLAN 0.
    pub fn on_conntrack_change(
        &mut self,
        change: &CtChange,
        at: SystemTime,
        mut dispatch: impl FnMut(&mut Flow, Dispatch),
    ) {
        let Some(conntrack) = &mut self.conntrack else { return };
        for (n, key) in change.keys.iter().enumerate() {
            if n == 1 && change.keys[0] == change.keys[1] {
                break;
            }
            let Some(flow) = self.table.get_mut(key) else { continue };
            if conntrack.fill(&mut flow.facts, false) && self.evaluate {
                let actions = self.actions.load();
                // Only first matches act: refreshing here could make two ctmark actions (or a
                // firewall rule) re-mark each other's connection forever, event after event.
                evaluate(&actions, flow, at, false, &mut dispatch);
            }
        }
    }

    /// After a reload: forget which actions matched (their indexes refer to the old
    /// configuration) and, with `reprocess_flows`, re-evaluate every live flow now.
    pub fn reevaluate_all(&mut self, at: SystemTime, mut dispatch: impl FnMut(&mut Flow, Dispatch)) {
        let actions = self.actions.load_full();
        for flow in self.table.flows_mut() {
            if !actions.reprocess_flows {
                if let Some(verdicts) = flow.verdicts.present_mut() {
                    verdicts.matched.clear();
                }
                continue;
            }
            if let Some(verdicts) = flow.verdicts.present_mut() {
                verdicts.matched.clear();
            }
            evaluate(&actions, flow, at, true, &mut dispatch);
        }
    }
}

/// Evaluate the actions on a flow whose facts changed (called once per change). An action
/// acts — its targets apply — the first time it matches a flow; when a later change still
/// matches, its targets are refreshed with the new facts (kernel state follows them; log and
/// sink targets, one record per match, do not write again). So each action acts at most once
/// per fact change, and never twice for the same facts. `refresh_matched` false: only first
/// matches act.
fn evaluate(
    actions: &ActionSet,
    flow: &mut Flow,
    at: SystemTime,
    refresh_matched: bool,
    dispatch: &mut impl FnMut(&mut Flow, Dispatch),
) {
    // (action index, first match); allocated only when something matches.
    let mut hits: Vec<(usize, bool)> = Vec::new();
    actions.evaluate(&flow.facts, at, |index, _| {
        let first = !flow.verdicts.matched.contains(&index);
        if first || refresh_matched {
            hits.push((index, first));
        }
    });
    if hits.is_empty() {
        return;
    }
    let event_flow = Arc::new(flow.facts.clone());
    for (index, first) in hits {
        let action = &actions.actions[index];
        if first {
            flow.verdicts.matched.push(index);
            if !flow.verdicts.actions.contains(&action.name) {
                flow.verdicts.actions.push(action.name.clone());
            }
        }
        let event = MatchEvent { action: action.name.clone(), flow: event_flow.clone(), at };
        dispatch(flow, Dispatch { targets: action.targets.clone(), event, refresh: !first });
    }
    flow.verdicts.last_refresh = flow.last_seen.as_duration();
}

/// Packet time as wall-clock time.
pub fn packet_time(ts: Duration) -> SystemTime {
    UNIX_EPOCH + ts
}

// ---------------------------------------------------------------------------------------------
// Replay

/// Options of `flowsieve replay`.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub mode: EnforceMode,
    pub table: TableConfig,
    pub locality: Arc<crate::flow::locality::Locality>,
    /// Show a progress bar (stderr is a terminal).
    pub progress: bool,
    /// Replay the inputs this many times; round r > 0 puts every packet on VLAN r so each
    /// round is fresh flows (a long benchmark from short captures).
    pub repeat: u16,
    /// Stop after L2–L4 decoding and the flow lookup (no dissection, no actions): the
    /// baseline the full pipeline is compared with.
    pub decode_only: bool,
    /// Names applications; `None` leaves them unknown.
    pub classifier: Option<Arc<crate::classify::Classifier>>,
    /// Worker threads; packets go to them by the symmetric flow hash. 1 (or 0): everything
    /// on the calling thread.
    pub workers: usize,
    /// BPF filter (tcpdump syntax), applied in userspace before decoding.
    pub filter: Option<String>,
}

impl ReplayOptions {
    /// One dry-run pass by one worker, default table limits, no local networks, the built-in
    /// application catalogue: how the measurement examples replay the corpus.
    pub fn dry_run() -> ReplayOptions {
        ReplayOptions {
            mode: EnforceMode::DryRun,
            table: TableConfig::default(),
            locality: Arc::new(crate::flow::locality::Locality::new(Vec::new(), Vec::new())),
            progress: false,
            repeat: 1,
            decode_only: false,
            classifier: Some(Arc::new(crate::classify::Classifier::load_default())),
            workers: 1,
            filter: None,
        }
    }
}

/// Totals of a replay.
#[derive(Debug, Default, Clone)]
pub struct ReplaySummary {
    pub files: usize,
    pub frames: u64,
    pub flows: u64,
    pub matched_flows: u64,
    pub table: TableStats,
    pub decode: DecodeStats,
    /// Files that ended early, with why.
    pub truncated: Vec<(String, String)>,
    pub elapsed: Duration,
    pub target_counters: Vec<(String, crate::enforce::TargetCounters)>,
    /// With workers: how often the reader found a worker's queue full and waited for it.
    pub reader_waits: u64,
    /// Frames the `--filter` expression rejected.
    pub filtered: u64,
}

impl ReplaySummary {
    fn add_table(&mut self, t: TableStats, d: DecodeStats) {
        let s = &mut self.table;
        s.packets += t.packets;
        s.bytes += t.bytes;
        s.flows_created += t.flows_created;
        s.flows_refused += t.flows_refused;
        s.flows_expired += t.flows_expired;
        let x = &mut self.decode;
        x.malformed += d.malformed;
        x.not_ip += d.not_ip;
        x.fragments += d.fragments;
        x.unsupported_link += d.unsupported_link;
    }

    fn count_flow(&mut self, flow: &Flow) {
        self.flows += 1;
        self.matched_flows += u64::from(!flow.verdicts.actions.is_empty());
    }
}

/// Largest total capture size `--repeat` keeps in memory; bigger inputs are re-read each round.
const REPLAY_CACHE_LIMIT: u64 = 2 << 30;

/// The capture files of a replay. With `--repeat`, each file is parsed once and its frames
/// kept in memory for the later rounds (when the inputs fit in [`REPLAY_CACHE_LIMIT`]).
struct Inputs<'a> {
    files: &'a [String],
    /// Per file: its frames, or why it is not a capture.
    cache: Option<Vec<Option<Result<crate::capture::file::LoadedFile, String>>>>,
}

impl<'a> Inputs<'a> {
    fn new(files: &'a [String], repeat: u16) -> Inputs<'a> {
        let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
        let cache = (repeat > 1 && total <= REPLAY_CACHE_LIMIT).then(|| files.iter().map(|_| None).collect());
        Inputs { files, cache }
    }

    /// Every frame of file `index`, in order.
    fn read(
        &mut self,
        index: usize,
        on_frame: impl FnMut(Frame<'_>),
    ) -> Result<crate::capture::file::FileStats, crate::capture::CaptureError> {
        use crate::capture::{file, CaptureError};
        let path = &self.files[index];
        let Some(cache) = &mut self.cache else {
            return file::read_file(path, on_frame);
        };
        if cache[index].is_none() {
            cache[index] = Some(match file::LoadedFile::load(path) {
                Ok(loaded) => Ok(loaded),
                Err(CaptureError::Format { reason, .. }) => Err(reason),
                Err(e) => return Err(e),
            });
        }
        match &cache[index] {
            Some(Ok(loaded)) => Ok(loaded.replay(on_frame)),
            Some(Err(reason)) => Err(CaptureError::Format { path: path.clone(), reason: reason.clone() }),
            None => unreachable!("filled above"),
        }
    }
}

fn file_name(file: &str) -> String {
    std::path::Path::new(file).file_name().map_or(file.to_string(), |n| n.to_string_lossy().into_owned())
}

/// A worker as replay sets it up: its own table (flows never span files: it is drained between
/// files, so its memory is allocated once).
fn replay_worker(options: &ReplayOptions, actions: &Arc<ArcSwap<ActionSet>>) -> Worker {
    let mut table_config = options.table.clone();
    table_config.dissect = !options.decode_only;
    // Drained after every file: room for a typical capture's flows, grown when one has more.
    table_config.initial_flows = 4096;
    let mut table = FlowTable::new(table_config, options.locality.clone(), "pcap", false);
    if let (Some(c), false) = (&options.classifier, options.decode_only) {
        table = table.with_classifier(c.clone());
    }
    let mut worker = Worker::new(table, actions.clone());
    worker.evaluate = !options.decode_only;
    worker
}

/// Replay capture files through the pipeline. `on_flow` receives every flow when it ends
/// (idle expiry, or the end of its file) with the file name.
///
/// With `options.workers > 1`, each file's flows are handed over once the whole file is done,
/// sorted by first packet time (then by key), so the output does not depend on thread timing.
pub fn replay(
    config: &FlowActionsConfig,
    files: &[String],
    options: &ReplayOptions,
    on_flow: impl FnMut(&str, &Flow),
) -> Result<ReplaySummary, crate::capture::CaptureError> {
    let filter = options.filter.as_deref().map(crate::capture::filter::ReplayFilter::new).transpose()?;
    if options.workers > 1 {
        return parallel::replay(config, files, options, filter, on_flow);
    }
    replay_inline(config, files, options, filter, on_flow)
}

fn replay_inline(
    config: &FlowActionsConfig,
    files: &[String],
    options: &ReplayOptions,
    mut filter: Option<crate::capture::filter::ReplayFilter>,
    mut on_flow: impl FnMut(&str, &Flow),
) -> Result<ReplaySummary, crate::capture::CaptureError> {
    let started = Instant::now();
    let mut summary = ReplaySummary::default();
    let actions = Arc::new(ArcSwap::from_pointee(config.actions.clone()));
    let mut enforcer = Enforcer::new(&config.targets, options.mode);
    let bar = options.progress.then(|| progress_bar(files, options.repeat));
    let mut worker = replay_worker(options, &actions);
    let mut inputs = Inputs::new(files, options.repeat);
    let rounds = (0..options.repeat.max(1)).flat_map(|round| (0..files.len()).map(move |index| (round, index)));
    for (round, index) in rounds {
        worker.vlan_override = round;
        let mut next_tick = Duration::ZERO;
        let mut last_ts = Duration::ZERO;
        let mut frames_in_file = 0u64;
        let name = file_name(&files[index]);
        let stats = inputs.read(index, |frame| {
            frames_in_file += 1;
            if let Some(filter) = &mut filter {
                if !filter.matches(&frame) {
                    summary.filtered += 1;
                    return;
                }
            }
            last_ts = last_ts.max(frame.timestamp);
            let timestamp = frame.timestamp;
            worker.on_frame_at(
                frame,
                || packet_time(timestamp),
                |flow, d| {
                    // Ops list what each match did; refreshes of it are not new operations.
                    let ops = (!d.refresh).then_some(&mut flow.verdicts.ops);
                    enforcer.handle(&d.targets, &d.event, d.refresh, ops);
                },
            );
            if enforcer.pending() >= 1024 {
                enforcer.flush();
            }
            if frame.timestamp >= next_tick {
                next_tick = frame.timestamp + Duration::from_secs(1);
                enforcer.flush();
                enforcer.tick(packet_time(timestamp));
                worker.table.expire(frame.timestamp, |flow| {
                    summary.count_flow(&flow);
                    on_flow(&name, &flow);
                });
            }
            if let Some(bar) = &bar {
                if frames_in_file % 4096 == 0 {
                    bar.set_position(bar.position() + 4096);
                }
            }
        });
        let stats = match stats {
            Ok(s) => s,
            // A file that cannot be opened is the user's mistake: stop. One that is not a
            // capture (or is damaged from the start) is reported and skipped.
            Err(e @ crate::capture::CaptureError::Open { .. }) => return Err(e),
            Err(e) => {
                summary.truncated.push((name.clone(), e.to_string()));
                continue;
            }
        };
        if let Some(bar) = &bar {
            bar.set_position(bar.position() + frames_in_file % 4096);
        }
        if let Some(why) = stats.truncated {
            summary.truncated.push((name.clone(), why));
        }
        worker.table.drain(|flow| {
            summary.count_flow(&flow);
            on_flow(&name, &flow);
        });
        enforcer.flush();
        enforcer.tick(packet_time(last_ts));
        summary.files += 1;
        summary.frames += stats.frames;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    enforcer.shutdown();
    summary.add_table(worker.table.stats(), worker.decode_stats);
    summary.elapsed = started.elapsed();
    summary.target_counters = enforcer.counters();
    Ok(summary)
}

/// `replay --workers N`: share-nothing workers over the parsed captures.
mod parallel;

fn progress_bar(files: &[String], repeat: u16) -> indicatif::ProgressBar {
    // File sizes over an average frame size is a fine estimate for a bar.
    let bytes: u64 =
        files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum::<u64>() * u64::from(repeat.max(1));
    let bar = indicatif::ProgressBar::new((bytes / 400).max(1));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} frames (~{len}) {per_sec} [{elapsed_precise}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

// ---------------------------------------------------------------------------------------------
// Live

/// How live packets are captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureMethod {
    /// AF_PACKET rings (TPACKET_V2 or V3, `RunOptions::ring`) with hash fanout: `workers` sockets per interface.
    AfPacket,
    /// libpcap, one worker per interface.
    Pcap,
}

/// A live packet source feeding one worker.
pub enum LiveSource {
    Ring(crate::capture::ring::PacketRing),
    Pcap(crate::capture::live::LiveCapture),
}

impl LiveSource {
    fn run(
        &mut self,
        stop: &AtomicBool,
        on_event: impl FnMut(LiveEvent<'_>),
    ) -> Result<(), crate::capture::CaptureError> {
        match self {
            LiveSource::Ring(r) => r.run(stop, on_event),
            LiveSource::Pcap(p) => p.run(stop, on_event),
        }
    }
    fn stats(&mut self) -> LiveStats {
        match self {
            LiveSource::Ring(r) => r.stats(),
            LiveSource::Pcap(p) => p.stats(),
        }
    }
    fn iface(&self) -> &str {
        match self {
            LiveSource::Ring(r) => r.iface(),
            LiveSource::Pcap(p) => p.iface(),
        }
    }
}

/// An interface to capture on and its role.
#[derive(Debug, Clone)]
pub struct CaptureInterface {
    pub name: String,
    /// `-E` (WAN) rather than `-I` (LAN).
    pub external: bool,
}

/// Options of `flowsieve run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub config_path: std::path::PathBuf,
    pub interfaces: Vec<CaptureInterface>,
    pub table: TableConfig,
    pub locality: Arc<crate::flow::locality::Locality>,
    pub filter: Option<String>,
    /// Capacity of the queue from workers to the enforcer.
    pub queue_capacity: usize,
    /// Netify address-groups file for `@name` operands, re-read on reload.
    pub address_groups: Option<std::path::PathBuf>,
    /// Where `flowsieve status` finds the agent; `None` serves no status.
    pub control_socket: Option<std::path::PathBuf>,
    /// Where the Prometheus endpoint (`/metrics`) listens; `None` serves none.
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub capture: CaptureMethod,
    /// Names applications; `None` leaves them unknown.
    pub classifier: Option<Arc<crate::classify::Classifier>>,
    /// Workers (ring sockets, threads, flow-table shards) per interface with AF_PACKET.
    pub workers: usize,
    /// AF_PACKET ring geometry and block retire timeout.
    pub ring: crate::capture::ring::RingConfig,
}

enum EnforcerMsg {
    Match(Dispatch),
    Reload(Vec<TargetSpec>),
}

/// Run the agent until SIGINT or SIGTERM. SIGHUP reloads the configuration.
pub fn run(initial: FlowActionsConfig, options: RunOptions) -> anyhow::Result<()> {
    use anyhow::Context;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

    let stop = Arc::new(AtomicBool::new(false));
    let actions = Arc::new(ArcSwap::from_pointee(initial.actions.clone()));
    // Workers re-evaluate live flows when this changes.
    let generation = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let (tx, rx) = bounded::<EnforcerMsg>(options.queue_capacity);

    let mut signals =
        signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGTERM]).context("installing signal handlers")?;
    let status: SharedStatus = Arc::new(Mutex::new(Status {
        version: env!("CARGO_PKG_VERSION").into(),
        config: options.config_path.display().to_string(),
        started: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs(),
        workers: Vec::new(),
        ..Status::default()
    }));

    // Open every capture first so a bad interface fails before anything is changed.
    let mut sources: Vec<(LiveSource, &CaptureInterface)> = Vec::new();
    for (n, iface) in options.interfaces.iter().enumerate() {
        match options.capture {
            CaptureMethod::Pcap => {
                let capture = crate::capture::live::LiveCapture::open(&iface.name, options.filter.as_deref())
                    .with_context(|| format!("opening capture on {}", iface.name))?;
                sources.push((LiveSource::Pcap(capture), iface));
            }
            CaptureMethod::AfPacket => {
                let filter = match &options.filter {
                    Some(expr) => Some(crate::capture::filter::compile(expr, crate::decode::LinkType::Ethernet)?),
                    None => None,
                };
                let workers = options.workers.max(1);
                // One fanout group per interface; the id only has to be unique on this host.
                let group = ((std::process::id() as u16) ^ (n as u16).wrapping_mul(0x9e37)).max(1);
                for _ in 0..workers {
                    let ring = crate::capture::ring::PacketRing::open(
                        &iface.name,
                        options.ring,
                        (workers > 1).then_some(group),
                        filter.as_ref(),
                    )
                    .with_context(|| format!("opening AF_PACKET ring on {}", iface.name))?;
                    sources.push((LiveSource::Ring(ring), iface));
                }
            }
        }
    }
    let status_thread = match &options.control_socket {
        Some(path) => Some(
            crate::status::serve(path, status.clone(), stop.clone())
                .with_context(|| format!("opening control socket {}", path.display()))?,
        ),
        None => None,
    };
    let metrics_thread = match options.metrics_listen {
        Some(addr) => Some(
            crate::metrics::serve(addr, status.clone(), stop.clone())
                .with_context(|| format!("opening the metrics endpoint on {addr} (--metrics-listen)"))?,
        ),
        None => None,
    };

    let enforcer_thread = {
        let targets = initial.targets.clone();
        let (stop, status) = (stop.clone(), status.clone());
        std::thread::Builder::new().name("enforcer".into()).spawn(move || enforcer_loop(targets, rx, stop, status))?
    };

    // Conntrack facts for every worker: a cache fed by conntrack events, bounded like the
    // flow tables.
    let conntrack_cache = Arc::new(CtCache::new(options.table.max_flows.saturating_mul(2).max(1024)));
    // Each worker hears which connections changed (a mark set later, NAT) through its own queue.
    let (ct_senders, ct_receivers): (Vec<_>, Vec<_>) = (0..sources.len()).map(|_| bounded::<CtChange>(4096)).unzip();
    let mut ct_receivers = ct_receivers.into_iter();
    let conntrack_thread = crate::flow::ctcache::spawn_listener(conntrack_cache.clone(), stop.clone(), ct_senders);
    let mut workers = Vec::new();
    lock(&status).workers = sources
        .iter()
        .map(|(_, i)| WorkerStatus { iface: i.name.clone(), external: i.external, ..WorkerStatus::default() })
        .collect();
    for (index, (capture, iface)) in sources.into_iter().enumerate() {
        let mut table = FlowTable::new(options.table.clone(), options.locality.clone(), &iface.name, iface.external);
        if let Some(c) = &options.classifier {
            table = table.with_classifier(c.clone());
        }
        let mut worker = Worker::new(table, actions.clone());
        worker.conntrack = Some(CtLookup::new(conntrack_cache.clone()));
        let shared = WorkerShared {
            stop: stop.clone(),
            tx: tx.clone(),
            generation: generation.clone(),
            dropped: dropped.clone(),
            status: status.clone(),
            index,
            conntrack_changes: ct_receivers.next().unwrap_or_else(|| bounded(0).1),
        };
        let handle = std::thread::Builder::new()
            .name(format!("worker-{}", iface.name))
            .spawn(move || worker_loop(worker, capture, shared))?;
        workers.push(handle);
    }
    let capture = match (options.capture, options.ring.version) {
        (CaptureMethod::Pcap, _) => "libpcap",
        (CaptureMethod::AfPacket, crate::capture::ring::RingVersion::V2) => "AF_PACKET TPACKET_V2",
        (CaptureMethod::AfPacket, crate::capture::ring::RingVersion::V3) => "AF_PACKET TPACKET_V3",
    };
    tracing::info!(
        interfaces = ?options.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        capture,
        actions = initial.actions.actions.len(),
        targets = initial.targets.len(),
        "flowsieve running"
    );

    for signal in signals.forever() {
        match signal {
            SIGHUP => match config::load_files(&options.config_path, options.address_groups.as_deref()) {
                Ok(new) => {
                    for w in &new.warnings {
                        tracing::warn!("{w}");
                    }
                    actions.store(Arc::new(new.actions.clone()));
                    // Blocking send: a reload must not be lost to a full queue.
                    if tx.send(EnforcerMsg::Reload(new.targets.clone())).is_err() {
                        break;
                    }
                    generation.fetch_add(1, Ordering::Release);
                    lock(&status).reloads += 1;
                    tracing::info!(path = %options.config_path.display(), "configuration reloaded");
                }
                Err(e) => {
                    {
                        let mut s = lock(&status);
                        s.failed_reloads += 1;
                        s.last_reload_error =
                            Some(e.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "));
                    }
                    tracing::error!("reload failed, keeping the running configuration: {e}");
                    for p in &e.problems {
                        tracing::error!("{p}");
                    }
                }
            },
            _ => {
                tracing::info!("shutting down");
                break;
            }
        }
        if workers.iter().any(|w| w.is_finished()) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        match w.join() {
            Ok(Err(e)) => tracing::error!("worker stopped: {e}"),
            Err(_) => tracing::error!("worker panicked"),
            Ok(Ok(())) => {}
        }
    }
    drop(tx);
    if conntrack_thread.is_some_and(|t| t.join().is_err()) {
        tracing::error!("conntrack listener panicked");
    }
    if enforcer_thread.join().is_err() {
        tracing::error!("enforcer panicked");
    }
    for t in [status_thread, metrics_thread].into_iter().flatten() {
        let _ = t.join();
    }
    let dropped = dropped.load(Ordering::Relaxed);
    if dropped > 0 {
        tracing::warn!(dropped, "match events dropped because the enforcer queue was full");
    }
    Ok(())
}

/// What a worker thread shares with the rest of the agent.
struct WorkerShared {
    stop: Arc<AtomicBool>,
    tx: Sender<EnforcerMsg>,
    generation: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    status: SharedStatus,
    /// This worker's entry in `status.workers`.
    index: usize,
    /// Connections whose conntrack facts changed (from the conntrack listener).
    conntrack_changes: Receiver<CtChange>,
}

fn worker_loop(mut worker: Worker, mut capture: LiveSource, shared: WorkerShared) -> anyhow::Result<()> {
    let WorkerShared { stop, tx, generation, dropped, status, index, conntrack_changes } = shared;
    let events_dropped = std::cell::Cell::new(0u64);
    let mut seen_generation = generation.load(Ordering::Acquire);
    let mut send = |_: &mut Flow, d: Dispatch| match tx.try_send(EnforcerMsg::Match(d)) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
            dropped.fetch_add(1, Ordering::Relaxed);
            events_dropped.set(events_dropped.get() + 1);
        }
    };
    let mut last_expire = Instant::now();
    let started_wall = SystemTime::now();
    let started_mono = Instant::now();
    let result = capture.run(&stop, |event| match event {
        LiveEvent::Frame(frame) => {
            // Events carry the packet's capture time (the kernel's timestamp), which the
            // enforcer's match-to-kernel latency starts from.
            let at = if frame.timestamp.is_zero() { SystemTime::now() } else { UNIX_EPOCH + frame.timestamp };
            worker.on_frame(frame, at, &mut send)
        }
        LiveEvent::Idle(capture_stats) => {
            while let Ok(change) = conntrack_changes.try_recv() {
                worker.on_conntrack_change(&change, SystemTime::now(), &mut send);
            }
            let current = generation.load(Ordering::Acquire);
            if current != seen_generation {
                seen_generation = current;
                worker.reevaluate_all(SystemTime::now(), &mut send);
            }
            if last_expire.elapsed() >= Duration::from_secs(1) {
                last_expire = Instant::now();
                // Monotonic time since start keeps expiry right if the wall clock jumps.
                let now = started_wall.duration_since(UNIX_EPOCH).unwrap_or_default() + started_mono.elapsed();
                worker.table.expire(now, |_| {});
            }
            publish(&status, index, &worker, capture_stats, events_dropped.get());
        }
    });
    let stats = capture.stats();
    tracing::info!(
        iface = capture.iface(),
        received = stats.received,
        kernel_dropped = stats.dropped,
        flows = worker.table.stats().flows_created,
        flows_refused = worker.table.stats().flows_refused,
        malformed = worker.decode_stats.malformed,
        "capture stopped"
    );
    result.map_err(Into::into)
}

/// Copy a worker's counters into the shared status (on its idle tick, not per packet).
fn publish(status: &SharedStatus, index: usize, worker: &Worker, capture: LiveStats, events_dropped: u64) {
    let t = worker.table.stats();
    let d = worker.decode_stats;
    let mut s = lock(status);
    if let Some(w) = s.workers.get_mut(index) {
        w.packets = t.packets;
        w.bytes = t.bytes;
        w.flows_active = worker.table.len() as u64;
        w.flows_created = t.flows_created;
        w.flows_refused = t.flows_refused;
        w.flows_expired = t.flows_expired;
        w.malformed = d.malformed;
        w.not_ip = d.not_ip;
        w.fragments = d.fragments;
        w.capture_received = u64::from(capture.received);
        w.capture_dropped = u64::from(capture.dropped) + u64::from(capture.if_dropped);
        w.events_dropped = events_dropped;
    }
}

fn lock(status: &SharedStatus) -> std::sync::MutexGuard<'_, Status> {
    status.lock().unwrap_or_else(|e| e.into_inner())
}

fn enforcer_loop(targets: Vec<TargetSpec>, rx: Receiver<EnforcerMsg>, stop: Arc<AtomicBool>, status: SharedStatus) {
    let mut enforcer = Enforcer::new(&targets, EnforceMode::Apply).measure_latency();
    let mut next_tick = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(msg) => {
                handle_msg(&mut enforcer, msg);
                // Drain what is queued, then send it as one batch.
                while let Ok(msg) = rx.try_recv() {
                    handle_msg(&mut enforcer, msg);
                    if enforcer.pending() >= 4096 {
                        enforcer.flush();
                    }
                }
                enforcer.flush();
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if Instant::now() >= next_tick {
            next_tick = Instant::now() + Duration::from_millis(250);
            enforcer.tick(SystemTime::now());
            let buckets = enforcer.latency_buckets();
            let mut s = lock(&status);
            s.targets = enforcer.status();
            if let Some([total, to_enforcer, in_enforcer]) = enforcer.latency() {
                s.match_to_kernel = total;
                s.match_to_enforcer = to_enforcer;
                s.enforcer_to_kernel = in_enforcer;
            }
            if let Some(buckets) = buckets {
                s.match_to_kernel_buckets = buckets;
            }
        }
        if stop.load(Ordering::Relaxed) && rx.is_empty() {
            break;
        }
    }
    enforcer.shutdown();
    for (name, c) in enforcer.counters() {
        tracing::info!(target_name = %name, applied = c.applied, refreshed = c.refreshed, failures = c.failures, "target totals");
    }
}

fn handle_msg(enforcer: &mut Enforcer, msg: EnforcerMsg) {
    match msg {
        EnforcerMsg::Match(d) => enforcer.handle(&d.targets, &d.event, d.refresh, None),
        EnforcerMsg::Reload(specs) => enforcer.reload(&specs),
    }
}
