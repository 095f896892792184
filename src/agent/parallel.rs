//! `replay --workers N`: share-nothing workers over one read-only copy of the input.
//!
//! The calling thread (the reader) reads each capture once into [`Chunk`]s — a segment of the
//! file's bytes as read, plus an index of the frames in it — and hands every worker the same
//! `Arc` of each chunk. While indexing a frame it learns its flow's hash (the symmetric key
//! without the VLAN id, so `--repeat` rounds split the same way and the hash is computed once
//! for all of them; common frames straight off their headers, see [`quick_key`]) and whether it
//! is a DNS packet. The queues let the reader go on with the next file while the workers handle
//! this one. Every worker then walks every frame of every chunk: frames whose hash picks
//! another worker cost it a comparison, the rest go through the full pipeline. Nothing is copied
//! per worker, no per-packet messages exist: a file is one start marker, its chunks and one end
//! marker in each worker's bounded queue (the reader waits when one is full, never drops;
//! `reader_waits` counts the waits).
//!
//! Same output as one worker, whatever the thread timing:
//! - both directions of a flow hash alike, so each flow lives on one worker, which owns its
//!   table entry, dissectors and action evaluation; frames that do not decode belong to
//!   worker 0, which counts them.
//! - time: every worker sees every frame's timestamp and expires idle flows after the same
//!   frames a single worker would (one pass per second of packet time, per file). At the end of
//!   a file every worker drains its table and sends its flows back sorted by first packet time
//!   (then key); the reader merges them when all workers are done with the file, then hands
//!   each worker its flows back to be freed by the thread whose malloc arena holds them.
//! - DNS hints: a flow table names new flows after earlier DNS answers it saw. Frames of DNS,
//!   mDNS and LLMNR flows (by port) are also processed by every other worker (no action
//!   evaluation, not reported), so each worker's hint cache learns the same answers at the same
//!   point of the stream as one worker's; counters leave these shadows out.
//! - call hints: a flow table names a call's media and ICE flows after the STUN messages of the
//!   call's other flows (`classify::call_hints`). UDP frames whose payload has STUN's magic
//!   cookie at offset 4 are marked while indexing; every other worker hands them to its table's
//!   call hint cache alone (no flow is made for them), so each cache learns the same messages
//!   in the same order as one worker's, and only learning decides what it evicts.
//! - `--filter` runs in the reader while it stores frames: rejected frames never reach a worker.
//!
//! Memory: with `--repeat` (inputs up to [`super::replay::REPLAY_CACHE_LIMIT`]) every file's chunks are
//! kept for the later rounds, which then only send `Arc`s; otherwise a file is streamed chunk
//! by chunk, so at most the queued chunks are in memory whatever the file size.
//!
//! Targets: each worker describes what its matches do (the per-flow `ops` text) with a dry-run
//! enforcer of its own; with `--apply` the matches are also sent back and the reader thread's
//! one enforcer performs them, as the enforcer thread does in `run`.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::replay::{file_name, progress_bar, replay_worker, ReplayOptions, ReplaySummary, REPLAY_CACHE_LIMIT};
use super::worker::{packet_time, DecodeStats, Dispatch, Worker};
use crate::actions::config::FlowActionsConfig;
use crate::capture::file::{self, FileStats};
use crate::capture::filter::ReplayFilter;
use crate::capture::{CaptureError, Frame};
use crate::enforce::{EnforceMode, Enforcer};
use crate::facts::stun::has_magic_cookie;
use crate::flow::key::FlowKey;
use crate::flow::table::{Change, Flow, TableStats};

/// Bytes of a capture file read at once (a smaller file is read whole): one chunk, the
/// workers' unit of work. The frames stay where they are in the file's bytes (no copy).
const CHUNK_BYTES: usize = 256 << 10;
/// Jobs (chunks and file markers) that may wait in each worker's queue when files are
/// streamed: this bounds the memory in flight.
const QUEUE_JOBS: usize = 64;
/// The same when the input is held in memory anyway (`--repeat`): queued jobs cost no more,
/// and the reader thread, which then only sends `Arc`s, need not be woken again and again to
/// refill the queues (on the corpus benchmark it waited 248 times with 64, never with this).
const QUEUE_JOBS_IN_MEMORY: usize = 16 << 10;
/// The flow hash that picks a worker (fixed: the same input always splits the same way).
const HASHER: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x5eed);

/// Where one frame of a [`Chunk`] is, and which flow it belongs to.
struct StoredFrame {
    at: file::StoredFrame,
    /// The flow's [`flow_hash`]; 0 for a frame that does not decode (worker 0 counts those).
    hash: u32,
    /// The frame belongs to a DNS flow: every worker learns its answers.
    dns: bool,
    /// A UDP frame whose payload may be a STUN message with the magic cookie: every worker's
    /// call hint cache learns from it.
    call: bool,
}

/// Consecutive frames of one capture, shared read-only by every worker.
struct Chunk {
    /// A segment of the file as read: the frames' bytes among the capture's block headers.
    data: Vec<u8>,
    frames: Vec<StoredFrame>,
    /// Latest frame time in the chunk.
    last: Duration,
}

impl StoredFrame {
    /// `frame`, found `at` in its chunk, with its flow's hash.
    fn of(frame: &Frame<'_>, at: file::StoredFrame) -> StoredFrame {
        let key = match quick_key(frame.link, frame.data) {
            Some(key) => Some(key),
            None => crate::decode::decode(frame.link, frame.data)
                .ok()
                .map(|packet| (FlowKey::of(&packet).0, packet.ip_protocol == 17 && has_magic_cookie(packet.payload))),
        };
        let (hash, dns, call) = key.map_or((0, false, false), |(key, call)| (flow_hash(&key), is_dns(&key), call));
        StoredFrame { at, hash, dns, call }
    }
}

/// The flow key (VLAN 0) of the frames most captures are made of, and whether the frame is UDP
/// whose payload has STUN's magic cookie ([`has_magic_cookie`]: the payload up to the IP
/// length, a superset of the decoder's), read straight off the
/// headers: Ethernet (untagged or one tag) or raw IP; IPv4, or IPv6 without extension headers;
/// TCP or UDP not on a tunnel port, or another protocol (no ports). `None` for everything else,
/// which goes through the full decoder. For every frame it answers, the decoder would give the
/// same key: `quick_key_agrees_with_the_decoder` checks that on every frame of the corpus.
/// (Building the whole [`crate::decode::Packet`] cost the reader half of its time.)
fn quick_key(link: crate::decode::LinkType, frame: &[u8]) -> Option<(FlowKey, bool)> {
    use crate::decode::LinkType;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip = match link {
        LinkType::Ethernet => {
            let (h, rest) = frame.split_first_chunk::<14>()?;
            match u16::from_be_bytes([h[12], h[13]]) {
                0x0800 | 0x86dd => rest,
                0x8100 => match rest {
                    [_, _, 0x08, 0x00, ip @ ..] | [_, _, 0x86, 0xdd, ip @ ..] => ip,
                    _ => return None,
                },
                _ => return None,
            }
        }
        LinkType::RawIp => frame,
        _ => return None,
    };
    let (src, dst, protocol, l4): (IpAddr, IpAddr, u8, &[u8]) = match ip.first()? >> 4 {
        4 => {
            let (h, _) = ip.split_first_chunk::<20>()?;
            let ihl = usize::from(h[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            if ihl < 20 || ip.len() < ihl || u16::from_be_bytes([h[6], h[7]]) & 0x1fff != 0 {
                return None;
            }
            let end = if total == 0 { ip.len() } else { total.clamp(ihl, ip.len()) };
            let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
            let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
            (src.into(), dst.into(), h[9], &ip[ihl..end])
        }
        6 => {
            let (h, _) = ip.split_first_chunk::<40>()?;
            let payload = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let end = if payload == 0 { ip.len() } else { (40 + payload).min(ip.len()) };
            let src: [u8; 16] = h[8..24].try_into().ok()?;
            let dst: [u8; 16] = h[24..40].try_into().ok()?;
            (Ipv6Addr::from(src).into(), Ipv6Addr::from(dst).into(), h[6], ip.get(40..end.max(40))?)
        }
        _ => return None,
    };
    let mut call = false;
    let ports = match protocol {
        // Extension headers and IP-in-IP: the decoder's business.
        0 | 4 | 41 | 43 | 44 | 51 | 60 => return None,
        6 => {
            let (h, _) = l4.split_first_chunk::<20>()?;
            if h[12] >> 4 < 5 {
                return None;
            }
            (u16::from_be_bytes([h[0], h[1]]), u16::from_be_bytes([h[2], h[3]]))
        }
        17 => {
            let (h, _) = l4.split_first_chunk::<8>()?;
            let ports = (u16::from_be_bytes([h[0], h[1]]), u16::from_be_bytes([h[2], h[3]]));
            // GTP-U and CAPWAP data carry the flow inside.
            if [ports.0, ports.1].iter().any(|p| matches!(p, 2152 | 5247)) {
                return None;
            }
            call = l4.get(8..).is_some_and(has_magic_cookie);
            ports
        }
        _ => (0, 0),
    };
    Some((FlowKey::of_endpoints((src, ports.0), (dst, ports.1), protocol, 0).0, call))
}

impl Chunk {
    fn frames(&self) -> impl Iterator<Item = (Frame<'_>, &StoredFrame)> {
        self.frames.iter().map(|f| (f.at.frame(&self.data), f))
    }
}

/// The worker-picking hash of a flow: its symmetric key without the VLAN id, so every
/// `--repeat` round (round r is VLAN r) splits like the first and frames are hashed once.
fn flow_hash(key: &FlowKey) -> u32 {
    let h = HASHER.hash_one((key.lower_ip, key.upper_ip, key.lower_port, key.upper_port, key.ip_protocol));
    (h ^ (h >> 32)) as u32
}

/// DNS, mDNS and LLMNR by port: the flows whose answers feed the flow table's DNS hint cache
/// (the name a later flow to a resolved address gets).
fn is_dns(key: &FlowKey) -> bool {
    matches!(key.ip_protocol, 6 | 17) && [key.lower_port, key.upper_port].iter().any(|p| matches!(p, 53 | 5353 | 5355))
}

/// A capture as read once: its chunks, what reading it found, frames `--filter` rejected.
struct StoredCapture {
    chunks: Vec<Arc<Chunk>>,
    stats: FileStats,
    filtered: u64,
}

/// What feeding one file to the workers found.
struct Fed {
    stats: FileStats,
    filtered: u64,
    /// Latest frame time (for the enforcer's clock).
    last: Duration,
}

/// The capture files, read into chunks (and kept for later rounds with `--repeat`).
struct Reader<'a> {
    files: &'a [String],
    filter: Option<ReplayFilter>,
    /// Per file: its chunks, or why it is not a capture.
    cache: Option<Vec<Option<Result<StoredCapture, String>>>>,
}

impl<'a> Reader<'a> {
    fn new(files: &'a [String], repeat: u16, filter: Option<ReplayFilter>) -> Reader<'a> {
        let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
        let cache = (repeat > 1 && total <= REPLAY_CACHE_LIMIT).then(|| files.iter().map(|_| None).collect());
        Reader { files, filter, cache }
    }

    /// Hand every chunk of file `index`, in order, to `on_chunk`.
    fn feed(&mut self, index: usize, mut on_chunk: impl FnMut(&Arc<Chunk>)) -> Result<Fed, CaptureError> {
        let path = &self.files[index];
        if let Some(Some(stored)) = self.cache.as_ref().map(|c| &c[index]) {
            return match stored {
                Ok(s) => {
                    s.chunks.iter().for_each(&mut on_chunk);
                    let last = s.chunks.iter().map(|c| c.last).max().unwrap_or_default();
                    Ok(Fed { stats: s.stats.clone(), filtered: s.filtered, last })
                }
                Err(reason) => Err(CaptureError::Format { path: path.clone(), reason: reason.clone() }),
            };
        }
        let keep = self.cache.is_some();
        let mut kept = Vec::new();
        let mut filtered = 0;
        let mut last = Duration::ZERO;
        let mut reader = match file::CaptureReader::open(path, CHUNK_BYTES) {
            Ok(reader) => reader,
            Err(e) => return self.failed(index, e),
        };
        let filter = &mut self.filter;
        loop {
            let mut frames = Vec::new();
            let mut chunk_last = Duration::ZERO;
            let more = reader.next_segment(|frame, at| {
                if let Some(filter) = filter.as_mut() {
                    if !filter.matches(&frame) {
                        filtered += 1;
                        return;
                    }
                }
                frames.push(StoredFrame::of(&frame, at));
                chunk_last = chunk_last.max(frame.timestamp);
            });
            if !frames.is_empty() {
                let chunk = Arc::new(Chunk { data: reader.take_segment(), frames, last: chunk_last });
                last = last.max(chunk.last);
                on_chunk(&chunk);
                if keep {
                    kept.push(chunk);
                }
            }
            if !more {
                break;
            }
        }
        let stats = reader.stats().clone();
        if let Some(cache) = &mut self.cache {
            cache[index] = Some(Ok(StoredCapture { chunks: kept, stats: stats.clone(), filtered }));
        }
        Ok(Fed { stats, filtered, last })
    }

    /// File `index` is no capture: remember why for later rounds.
    fn failed(&mut self, index: usize, e: CaptureError) -> Result<Fed, CaptureError> {
        if let CaptureError::Format { reason, .. } = &e {
            if let Some(cache) = &mut self.cache {
                cache[index] = Some(Err(reason.clone()));
            }
        }
        Err(e)
    }
}
/// What a worker is told, in stream order.
#[derive(Clone)]
enum Job {
    /// A new file begins; its packets get this VLAN override.
    Start {
        round: u16,
    },
    Frames(Arc<Chunk>),
    /// File `seq` ended: drain the table and report its flows.
    End {
        seq: usize,
    },
}

/// Every worker's queue.
struct Queues {
    senders: Vec<Sender<Job>>,
    waits: u64,
}

impl Queues {
    /// Queue a job for every worker, waiting while a queue is full.
    fn send(&mut self, job: Job) {
        for tx in &self.senders {
            match tx.try_send(job.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(job)) => {
                    self.waits += 1;
                    // A worker that died leaves the channel disconnected: its panic surfaces at join.
                    let _ = tx.send(job);
                }
                Err(TrySendError::Disconnected(_)) => {}
            }
        }
    }
}

enum Output {
    /// Every flow of file `seq` that ended on `worker`.
    File { seq: usize, worker: usize, flows: Vec<Ordered> },
    /// A match for the reader's enforcer (`--apply`).
    Match(Dispatch),
}

/// The VLAN id a worker gives a packet: `--repeat`'s round, when not 0.
fn with_round(mut packet: crate::decode::Packet<'_>, round: u16) -> crate::decode::Packet<'_> {
    if round != 0 {
        packet.vlan_id = round;
    }
    packet
}

/// What shadow packets added to a worker's table counters, to take off again.
#[derive(Default)]
struct ShadowStats {
    packets: u64,
    bytes: u64,
    created: u64,
    refused: u64,
    expired: u64,
}

/// Where a worker sits among the others.
#[derive(Clone, Copy)]
struct Place {
    index: usize,
    workers: usize,
}

impl Place {
    /// The hash scaled onto the workers (multiply and shift: every worker asks this of every
    /// frame, and the division `%` compiled to cost a sixth of the loop's own time).
    fn owns_hash(&self, hash: u32) -> bool {
        (u64::from(hash) * self.workers as u64) >> 32 == self.index as u64
    }

    /// The flow with its place in the output, when this worker reports it (it is not another
    /// worker's DNS flow).
    fn owned(&self, flow: Flow) -> Option<Ordered> {
        let key = flow.key();
        self.owns_hash(flow_hash(&key)).then(|| (output_order(&flow, &key), flow))
    }
}

/// Where a flow goes among a file's flows: by first packet time, then by key (workers differ
/// in which flows they end when, never in this).
type Order = (crate::flow::table::PacketTime, std::net::IpAddr, std::net::IpAddr, u16, u16, u8, u16);
type Ordered = (Order, Flow);

fn output_order(flow: &Flow, k: &FlowKey) -> Order {
    (flow.first_seen, k.lower_ip, k.upper_ip, k.lower_port, k.upper_port, k.ip_protocol, k.vlan_id)
}

/// A worker's matches: to its own enforcer (ops list what each match did; refreshes of it are
/// not new operations) and, with `--apply`, on to the reader's.
fn hand_over<'a>(
    enforcer: &'a mut Enforcer,
    forward: bool,
    out: &'a Sender<Output>,
) -> impl FnMut(&mut Flow, Dispatch) + 'a {
    move |flow, d| {
        let ops = (!d.refresh).then_some(&mut flow.verdicts.ops);
        enforcer.handle(&d.targets, &d.event, d.refresh, ops);
        if forward {
            let _ = out.send(Output::Match(d));
        }
    }
}

fn run_worker(
    mut worker: Worker,
    mut enforcer: Enforcer,
    forward: bool,
    place: Place,
    jobs: Receiver<Job>,
    out: Sender<Output>,
    printed: Receiver<Vec<Ordered>>,
) -> (TableStats, DecodeStats) {
    let mut flows = Vec::new();
    let mut shadow = ShadowStats::default();
    let mut next_tick = Duration::ZERO;
    for job in jobs {
        match job {
            Job::Start { round } => {
                worker.vlan_override = round;
                next_tick = Duration::ZERO;
            }
            Job::Frames(chunk) => {
                for (frame, stored) in chunk.frames() {
                    let timestamp = frame.timestamp;
                    if place.owns_hash(stored.hash) {
                        worker.on_frame(frame, packet_time(timestamp), hand_over(&mut enforcer, forward, &out));
                    } else if stored.dns {
                        // Another worker's DNS flow: dissected as its owner does, with no action
                        // evaluation, only so this worker's hint cache learns its answers.
                        if let Ok(packet) = crate::decode::decode(frame.link, frame.data) {
                            let packet = with_round(packet, worker.vlan_override);
                            shadow.packets += 1;
                            shadow.bytes += u64::from(packet.ip_len);
                            match worker.table.process(&packet, timestamp) {
                                Some((_, Change::New)) => shadow.created += 1,
                                Some(_) => {}
                                None => shadow.refused += 1,
                            }
                        }
                    } else if stored.call {
                        // Another worker's STUN message: only this worker's call hint cache
                        // learns from it, as the owner's table does first thing in `process`.
                        if let Ok(packet) = crate::decode::decode(frame.link, frame.data) {
                            worker.table.learn_call(&with_round(packet, worker.vlan_override), timestamp);
                        }
                    }
                    // A flow a full table evicted ends now, as an expired one would (a shadow
                    // DNS flow of another worker's only leaves this worker's table).
                    let mine = |flow: &Flow| place.owns_hash(flow_hash(&flow.key()));
                    worker.end_evicted(mine, hand_over(&mut enforcer, forward, &out), |flow| {
                        flows.extend(place.owned(flow));
                    });
                    if timestamp >= next_tick {
                        next_tick = timestamp + Duration::from_secs(1);
                        let mine = |flow: &Flow| place.owns_hash(flow_hash(&flow.key()));
                        let dispatch = hand_over(&mut enforcer, forward, &out);
                        worker.end_flows(Some(timestamp), mine, dispatch, |flow| match place.owned(flow) {
                            Some(ordered) => flows.push(ordered),
                            None => shadow.expired += 1,
                        });
                    }
                }
            }
            Job::End { seq } => {
                let mine = |flow: &Flow| place.owns_hash(flow_hash(&flow.key()));
                let dispatch = hand_over(&mut enforcer, forward, &out);
                worker.end_flows(None, mine, dispatch, |flow| flows.extend(place.owned(flow)));
                // Sorted here, in parallel; the reader only merges the workers' runs.
                flows.sort_by_key(|(order, _)| *order);
                let _ = out.send(Output::File { seq, worker: place.index, flows: std::mem::take(&mut flows) });
                // Flows the reader has printed come back to be freed here, by the thread that
                // allocated them: freed in the reader they went through this thread's malloc
                // arena under its lock (contention, a futex storm) and left it to grow afresh.
                while let Ok(mut done) = printed.try_recv() {
                    done.clear();
                    if flows.capacity() == 0 {
                        flows = done;
                    }
                }
            }
        }
    }
    let mut stats = worker.table.stats();
    stats.packets -= shadow.packets;
    stats.bytes -= shadow.bytes;
    stats.flows_created -= shadow.created;
    stats.flows_refused -= shadow.refused;
    stats.flows_expired -= shadow.expired;
    (stats, worker.decode_stats)
}

/// What the reader keeps to print files in order.
struct Collector {
    workers: usize,
    names: Vec<String>,
    /// Flows of files not all workers are done with: each worker's, in order.
    pending: HashMap<usize, Vec<Option<Vec<Ordered>>>>,
    next: usize,
    /// Per worker: where its printed flows go back to be freed.
    printed: Vec<Sender<Vec<Ordered>>>,
}

impl Collector {
    fn take(
        &mut self,
        output: Output,
        enforcer: &mut Enforcer,
        summary: &mut ReplaySummary,
        on_flow: &mut impl FnMut(&str, &Flow),
    ) {
        match output {
            Output::Match(d) => {
                enforcer.handle(&d.targets, &d.event, d.refresh, None);
                if enforcer.pending() >= 1024 {
                    enforcer.flush();
                }
            }
            Output::File { seq, worker, flows } => {
                let runs = self.pending.entry(seq).or_insert_with(|| (0..self.workers).map(|_| None).collect());
                runs[worker] = Some(flows);
                while self.pending.get(&self.next).is_some_and(|runs| runs.iter().all(Option::is_some)) {
                    let runs: Vec<Vec<Ordered>> =
                        self.pending.remove(&self.next).unwrap_or_default().into_iter().flatten().collect();
                    // Merge the sorted runs: the smallest head first (a few workers: a scan).
                    let mut heads = vec![0; runs.len()];
                    while let Some(r) = (0..runs.len())
                        .filter(|&r| heads[r] < runs[r].len())
                        .min_by(|&a, &b| runs[a][heads[a]].0.cmp(&runs[b][heads[b]].0))
                    {
                        let flow = &runs[r][heads[r]].1;
                        heads[r] += 1;
                        summary.count_flow(flow);
                        on_flow(&self.names[self.next], flow);
                    }
                    self.next += 1;
                    for (tx, run) in self.printed.iter().zip(runs) {
                        // A worker that has ended leaves the run to be freed here.
                        let _ = tx.send(run);
                    }
                }
            }
        }
    }
}

pub(super) fn replay(
    config: &FlowActionsConfig,
    files: &[String],
    options: &ReplayOptions,
    filter: Option<ReplayFilter>,
    mut on_flow: impl FnMut(&str, &Flow),
) -> Result<ReplaySummary, CaptureError> {
    let started = Instant::now();
    let mut summary = ReplaySummary::default();
    let actions = Arc::new(ArcSwap::from_pointee(config.actions.clone()));
    let mut enforcer = Enforcer::new(&config.targets, options.mode);
    let forward = options.mode == EnforceMode::Apply && !options.decode_only;
    let bar = options.progress.then(|| progress_bar(files, options.repeat));
    let n = options.workers.max(1);
    let (out_tx, out_rx) = crossbeam_channel::unbounded::<Output>();
    let mut collector =
        Collector { workers: n, names: Vec::new(), pending: HashMap::new(), next: 0, printed: Vec::new() };
    let result = std::thread::scope(|scope| {
        let mut reader = Reader::new(files, options.repeat, filter);
        let capacity = if reader.cache.is_some() { QUEUE_JOBS_IN_MEMORY } else { QUEUE_JOBS };
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for index in 0..n {
            let (tx, rx) = bounded::<Job>(capacity);
            senders.push(tx);
            let (printed_tx, printed) = crossbeam_channel::unbounded();
            collector.printed.push(printed_tx);
            let worker = replay_worker(options, &actions);
            let worker_enforcer = Enforcer::new(&config.targets, EnforceMode::DryRun);
            let out = out_tx.clone();
            let place = Place { index, workers: n };
            let handle = std::thread::Builder::new()
                .name(format!("replay-{index}"))
                .spawn_scoped(scope, move || run_worker(worker, worker_enforcer, forward, place, rx, out, printed))
                .map_err(|e| CaptureError::Live {
                    iface: "replay".into(),
                    message: format!("starting worker thread: {e}"),
                })?;
            handles.push(handle);
        }
        drop(out_tx);
        let mut queues = Queues { senders, waits: 0 };
        let rounds = (0..options.repeat.max(1)).flat_map(|round| (0..files.len()).map(move |index| (round, index)));
        let mut outcome = Ok(());
        for (round, index) in rounds {
            let name = file_name(&files[index]);
            let seq = collector.names.len();
            collector.names.push(name.clone());
            queues.send(Job::Start { round });
            let fed = reader.feed(index, |chunk| queues.send(Job::Frames(chunk.clone())));
            // Every worker drains its table whatever happened to the file.
            queues.send(Job::End { seq });
            let mut last = Duration::ZERO;
            match fed {
                Ok(fed) => {
                    if let Some(bar) = &bar {
                        bar.set_position(bar.position() + fed.stats.frames);
                    }
                    if let Some(why) = fed.stats.truncated {
                        summary.truncated.push((name, why));
                    }
                    summary.files += 1;
                    summary.frames += fed.stats.frames;
                    summary.filtered += fed.filtered;
                    last = fed.last;
                }
                Err(e @ CaptureError::Open { .. }) => {
                    outcome = Err(e);
                    break;
                }
                Err(e) => {
                    summary.unreadable += 1;
                    summary.truncated.push((name, e.to_string()));
                }
            }
            while let Ok(output) = out_rx.try_recv() {
                collector.take(output, &mut enforcer, &mut summary, &mut on_flow);
            }
            enforcer.flush();
            enforcer.tick(packet_time(last));
        }
        let waits = queues.waits;
        // Closing the queues ends the workers once they have done everything sent.
        drop(queues);
        for output in out_rx.iter() {
            collector.take(output, &mut enforcer, &mut summary, &mut on_flow);
        }
        for handle in handles {
            match handle.join() {
                Ok((table, decode)) => summary.add_table(table, decode),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        summary.reader_waits = waits;
        outcome
    });
    result?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    enforcer.shutdown();
    summary.elapsed = started.elapsed();
    summary.target_counters = enforcer.counters();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_key_agrees_with_the_decoder() {
        let corpus = crate::corpus_dir().join("pcap");
        let Ok(dir) = std::fs::read_dir(&corpus) else {
            eprintln!("skipped: no corpus at {}", corpus.display());
            return;
        };
        let (mut quick, mut total) = (0u64, 0u64);
        for entry in dir.flatten() {
            let path = entry.path().to_string_lossy().into_owned();
            let _ = file::read_file(&path, |frame| {
                total += 1;
                let decoded = crate::decode::decode(frame.link, frame.data).ok().map(|p| FlowKey::of(&p).0);
                if let Some((key, _)) = quick_key(frame.link, frame.data) {
                    quick += 1;
                    let mut decoded =
                        decoded.unwrap_or_else(|| panic!("{path}: quick key of a frame that does not decode"));
                    decoded.vlan_id = 0;
                    assert_eq!(key, decoded, "{path}");
                }
            });
        }
        // Most frames take the quick way, or it would not be worth having.
        assert!(quick * 10 > total * 9, "{quick} of {total}");
    }
}
