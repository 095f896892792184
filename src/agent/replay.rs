//! `flowsieve replay`: capture files through one worker (or, with `--workers`, through
//! [`super::parallel`]), the enforcer inline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use super::worker::{packet_time, DecodeStats, Dispatch, Worker};
use crate::actions::config::FlowActionsConfig;
use crate::actions::ActionSet;
use crate::capture::Frame;
use crate::enforce::{EnforceMode, Enforcer};
use crate::flow::table::{Flow, FlowTable, TableConfig, TableStats};

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
    /// Files that were not captures at all (also listed in `truncated`).
    pub unreadable: usize,
    pub elapsed: Duration,
    pub target_counters: Vec<(String, crate::enforce::TargetCounters)>,
    /// With workers: how often the reader found a worker's queue full and waited for it.
    pub reader_waits: u64,
    /// Frames the `--filter` expression rejected.
    pub filtered: u64,
}

impl ReplaySummary {
    pub(super) fn add_table(&mut self, t: TableStats, d: DecodeStats) {
        let s = &mut self.table;
        s.packets += t.packets;
        s.bytes += t.bytes;
        s.flows_created += t.flows_created;
        s.flows_refused += t.flows_refused;
        s.flows_expired += t.flows_expired;
        s.evicted_unestablished += t.evicted_unestablished;
        s.evicted_undetected += t.evicted_undetected;
        s.evicted_oldest += t.evicted_oldest;
        let x = &mut self.decode;
        x.malformed += d.malformed;
        x.not_ip += d.not_ip;
        x.fragments += d.fragments;
        x.unsupported_link += d.unsupported_link;
    }

    pub(super) fn count_flow(&mut self, flow: &Flow) {
        self.flows += 1;
        self.matched_flows += u64::from(!flow.verdicts.actions.is_empty());
    }
}

/// Largest total capture size `--repeat` keeps in memory; bigger inputs are re-read each round.
pub(super) const REPLAY_CACHE_LIMIT: u64 = 2 << 30;

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

pub(super) fn file_name(file: &str) -> String {
    std::path::Path::new(file).file_name().map_or(file.to_string(), |n| n.to_string_lossy().into_owned())
}

/// A worker as replay sets it up: its own table (flows never span files: it is drained between
/// files, so its memory is allocated once).
pub(super) fn replay_worker(options: &ReplayOptions, actions: &Arc<ArcSwap<ActionSet>>) -> Worker {
    let mut table_config = options.table.clone();
    table_config.dissect = !options.decode_only;
    // Drained after every file: room for a typical capture's flows, grown when one has more.
    table_config.initial_flows = 4096;
    // Every flow of a capture is reported, those a full table evicts too (when they go).
    table_config.keep_evicted = true;
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
        return super::parallel::replay(config, files, options, filter, on_flow);
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
            worker.on_frame_at(frame, || packet_time(timestamp), dispatch_to(&mut enforcer));
            // The flow a full table pushed out ends now, as an expired one would.
            worker.end_evicted(
                |_| true,
                dispatch_to(&mut enforcer),
                |flow| {
                    summary.count_flow(&flow);
                    on_flow(&name, &flow);
                },
            );
            if enforcer.pending() >= 1024 {
                enforcer.flush();
            }
            if frame.timestamp >= next_tick {
                next_tick = frame.timestamp + Duration::from_secs(1);
                enforcer.flush();
                enforcer.tick(packet_time(timestamp));
                worker.end_flows(
                    Some(frame.timestamp),
                    |_| true,
                    &mut dispatch_to(&mut enforcer),
                    |flow| {
                        summary.count_flow(&flow);
                        on_flow(&name, &flow);
                    },
                );
            }
            if let Some(bar) = &bar {
                if frames_in_file.is_multiple_of(4096) {
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
                summary.unreadable += 1;
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
        worker.end_flows(
            None,
            |_| true,
            &mut dispatch_to(&mut enforcer),
            |flow| {
                summary.count_flow(&flow);
                on_flow(&name, &flow);
            },
        );
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

/// Hand a match to the enforcer; ops list what each match did (refreshes of it are not new
/// operations).
pub(super) fn dispatch_to(enforcer: &mut Enforcer) -> impl FnMut(&mut Flow, Dispatch) + '_ {
    move |flow, d| {
        let ops = (!d.refresh).then_some(&mut flow.verdicts.ops);
        enforcer.handle(&d.targets, &d.event, d.refresh, ops);
    }
}

pub(super) fn progress_bar(files: &[String], repeat: u16) -> indicatif::ProgressBar {
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
