//! `flowsieve run`: live capture, one worker thread per interface, signals and configuration
//! reload.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::enforcer::{enforcer_loop, EnforcerMsg};
use super::nfqueue;
use super::worker::{Dispatch, Worker};
use crate::actions::config::{self, FlowActionsConfig};
use crate::capture::live::{LiveEvent, LiveStats};
use crate::flow::ctcache::{CtCache, CtChange, CtLookup};
use crate::flow::table::{Flow, FlowTable, TableConfig};
use crate::status::{LinkStatus, SharedStatus, Status, WorkerStatus};

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
    Ring(Box<crate::capture::ring::RingCapture>),
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

/// What a live worker reads: a capture opened once (libpcap), or AF_PACKET rings on an
/// interface that may come and go.
enum WorkerSource {
    Fixed(LiveSource),
    /// `ring`: open at start when the interface existed.
    Ring {
        ring: Option<Box<crate::capture::ring::RingCapture>>,
        recipe: Arc<RingRecipe>,
        watch: Arc<LinkWatch>,
    },
}

/// How a ring worker opens its socket, at start and whenever its interface comes back.
struct RingRecipe {
    iface: String,
    ring: crate::capture::ring::RingConfig,
    /// The fanout groups of the data and SYN rings.
    groups: Option<(u16, u16)>,
    filter: Option<String>,
}

impl RingRecipe {
    fn open(&self) -> anyhow::Result<Box<crate::capture::ring::RingCapture>> {
        Ok(Box::new(crate::capture::ring::RingCapture::open(
            &self.iface,
            self.ring,
            self.groups,
            self.filter.as_deref(),
        )?))
    }
}

/// Between the interface monitor and one ring worker.
#[derive(Default)]
struct LinkWatch {
    /// Set by the monitor when the interface the ring is bound to went away (and at shutdown):
    /// the worker's capture loop stops, and it opens a new ring when the interface is back.
    leave: AtomicBool,
    /// The interface index the worker's ring is bound to; 0 while it has none.
    ifindex: AtomicU32,
}

/// Listens to rtnetlink link events until `stop`; tells the workers whose interface was
/// deleted, or renamed away, or re-created under the same name with a new index.
fn link_loop(
    mut monitor: crate::netlink::link::LinkMonitor,
    watches: Vec<(String, Arc<LinkWatch>)>,
    stop: Arc<AtomicBool>,
) {
    let mut events = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        events.clear();
        if let Err(e) = monitor.recv(&mut events) {
            // Events were lost (ENOBUFS) or the socket failed: re-check every interface by name.
            tracing::warn!("interface monitor: {e}; re-checking interfaces");
            for (name, watch) in &watches {
                let bound = watch.ifindex.load(Ordering::SeqCst);
                if bound != 0 && crate::capture::ring::interface_index(name) != Some(bound) {
                    watch.leave.store(true, Ordering::SeqCst);
                }
            }
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        for event in &events {
            tracing::info!(iface = %event.name, ifindex = event.ifindex, deleted = event.deleted, up = event.up, "interface change");
            for (name, watch) in &watches {
                let bound = watch.ifindex.load(Ordering::SeqCst);
                let gone = if event.deleted {
                    bound == event.ifindex || (bound != 0 && *name == event.name)
                } else {
                    // Renamed away, or the name now belongs to another interface.
                    (bound == event.ifindex && *name != event.name)
                        || (bound != 0 && *name == event.name && bound != event.ifindex)
                };
                if gone {
                    watch.leave.store(true, Ordering::SeqCst);
                }
            }
        }
    }
}

/// An interface to capture on and its role.
#[derive(Debug, Clone)]
pub struct CaptureInterface {
    pub name: String,
    /// `-E` (WAN) rather than `-I` (LAN).
    pub external: bool,
    /// BPF filter for this interface only (netifyd's per-interface `filter`); replaces
    /// `RunOptions::filter` for it.
    pub filter: Option<String>,
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
    /// The group the control socket is given (its mode is 0660); `None` keeps the agent's.
    pub control_socket_group: Option<u32>,
    /// Where the Prometheus endpoint (`/metrics`) listens; `None` serves none.
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub capture: CaptureMethod,
    /// Names applications; `None` leaves them unknown.
    pub classifier: Option<Arc<crate::classify::Classifier>>,
    /// Workers (ring sockets, threads, flow-table shards) per interface with AF_PACKET.
    pub workers: usize,
    /// AF_PACKET ring geometry and block retire timeout.
    pub ring: crate::capture::ring::RingConfig,
    /// Ring size per socket in bytes (`run --ring-size`); `None`: chosen per interface by
    /// [`crate::capture::ring::RingConfig::for_interface`].
    pub ring_bytes: Option<usize>,
    /// Tells systemd when the agent is ready, reloading and stopping.
    pub notifier: crate::sdnotify::Notifier,
    /// NFQUEUE queues to read (`--nfqueue`), one worker each, and how.
    pub nfqueues: Vec<nfqueue::QueueSpec>,
    pub nfqueue: nfqueue::QueueOptions,
    /// Keep running when a target cannot be set up (otherwise `run` fails).
    pub degraded_ok: bool,
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

    // One agent per control socket and per managed table or set: before anything is changed.
    let mut instance = super::instance::InstanceLock::acquire(&super::instance::lock_paths(
        options.control_socket.as_deref(),
        &initial.targets,
    )?)?;

    // Open every capture first so a bad interface fails before anything is changed. With
    // AF_PACKET an interface that does not exist yet is waited for (its worker opens the rings
    // when it appears) and one deleted while running is captured again when it comes back.
    let mut sources: Vec<(WorkerSource, &CaptureInterface)> = Vec::new();
    let mut link_watches: Vec<(String, Arc<LinkWatch>)> = Vec::new();
    for (n, iface) in options.interfaces.iter().enumerate() {
        let iface_filter = iface.filter.as_ref().or(options.filter.as_ref());
        match options.capture {
            CaptureMethod::Pcap => {
                let capture = crate::capture::live::LiveCapture::open(&iface.name, iface_filter.map(String::as_str))
                    .with_context(|| format!("opening capture on {}", iface.name))?;
                sources.push((WorkerSource::Fixed(LiveSource::Pcap(capture)), iface));
            }
            CaptureMethod::AfPacket => {
                // Compiled now so a bad expression is refused at start; again on each reopen.
                if let Some(expr) = iface_filter {
                    crate::capture::filter::compile(expr, crate::decode::LinkType::Ethernet)?;
                }
                let workers = options.workers.max(1);
                let present = crate::capture::ring::interface_index(&iface.name).is_some();
                let ring = match options.ring_bytes {
                    Some(bytes) => options.ring.with_size(bytes),
                    // A missing interface has no link speed yet: the default for unknown speed.
                    None => options.ring.for_interface(&iface.name),
                };
                tracing::info!(
                    iface = %iface.name,
                    ring_kib = ring.bytes() / 1024,
                    syn_ring_kib = ring.for_bare_syns().bytes() / 1024,
                    workers,
                    "AF_PACKET rings per worker"
                );
                // Two fanout groups per interface (data and SYN rings); the ids only have to be
                // unique on this host.
                let group = ((std::process::id() as u16) ^ (n as u16).wrapping_mul(0x9e37)).max(1);
                let recipe = Arc::new(RingRecipe {
                    iface: iface.name.clone(),
                    ring,
                    groups: (workers > 1).then_some((group, (group ^ 0x8000).max(1))),
                    filter: iface_filter.cloned(),
                });
                if !present {
                    tracing::warn!(iface = %iface.name, "interface does not exist (yet); capturing when it appears");
                }
                for _ in 0..workers {
                    let ring = if present {
                        Some(recipe.open().with_context(|| format!("opening AF_PACKET ring on {}", iface.name))?)
                    } else {
                        None
                    };
                    let watch = Arc::new(LinkWatch::default());
                    link_watches.push((iface.name.clone(), watch.clone()));
                    sources.push((WorkerSource::Ring { ring, recipe: recipe.clone(), watch }, iface));
                }
            }
        }
    }
    // Interface deletions and re-creations, heard over rtnetlink.
    let link_thread = if link_watches.is_empty() {
        None
    } else {
        let monitor = crate::netlink::link::LinkMonitor::open(Duration::from_millis(200))
            .context("subscribing to interface changes (rtnetlink RTNLGRP_LINK)")?;
        let (watches, stop) = (link_watches.clone(), stop.clone());
        Some(std::thread::Builder::new().name("links".into()).spawn(move || link_loop(monitor, watches, stop))?)
    };
    let queues = nfqueue::open_all(&options.nfqueues, &options.nfqueue)?;
    let status_thread = match &options.control_socket {
        Some(path) => Some(
            crate::status::serve(path, options.control_socket_group, status.clone(), stop.clone())
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

    let enforcer = super::enforcer::start_enforcer(&initial.targets, options.degraded_ok)?;
    // The enforcer says when its targets are set up (sets created, files opened).
    let (ready_tx, ready_rx) = bounded::<()>(1);
    let enforcer_thread = {
        let (stop, status) = (stop.clone(), status.clone());
        std::thread::Builder::new()
            .name("enforcer".into())
            .spawn(move || enforcer_loop(enforcer, rx, stop, status, ready_tx))?
    };

    // Conntrack facts for every worker: a cache fed by conntrack events, bounded like the
    // flow tables.
    let conntrack_cache = Arc::new(CtCache::new(options.table.max_flows.saturating_mul(2).max(1024)));
    // Each worker hears which connections changed (a mark set later, NAT) through its own queue.
    let (ct_senders, ct_receivers): (Vec<_>, Vec<_>) =
        (0..sources.len() + queues.len()).map(|_| bounded::<CtChange>(4096)).unzip();
    let mut ct_receivers = ct_receivers.into_iter();
    let conntrack_thread = crate::flow::ctcache::spawn_listener(conntrack_cache.clone(), stop.clone(), ct_senders);
    let mut workers = Vec::new();
    lock(&status).workers = sources
        .iter()
        .map(|(source, i)| WorkerStatus {
            iface: i.name.clone(),
            external: i.external,
            link: match source {
                WorkerSource::Ring { ring, .. } => Some(LinkStatus {
                    online: ring.is_some(),
                    ifindex: ring.as_ref().map_or(0, |r| r.ifindex()),
                    ..LinkStatus::default()
                }),
                WorkerSource::Fixed(_) => None,
            },
            ..WorkerStatus::default()
        })
        .chain(queues.iter().map(|(q, external)| nfqueue::worker_status(q, *external, &options.nfqueue)))
        .collect();
    // `max_flows` is for the whole agent: the fanout spreads flows evenly over the workers, so
    // each table holds its share.
    let mut table_config = options.table.clone();
    table_config.max_flows = options.table.max_flows.div_ceil((sources.len() + queues.len()).max(1)).max(1);
    // Workers read conntrack facts from the host (CtLookup below).
    table_config.conntrack = true;
    let first_queue_index = sources.len();
    // A worker and what it shares: its own flow table, named after what it reads.
    let mut make_worker = |name: &str, external: bool, index: usize| {
        let mut table = FlowTable::new(table_config.clone(), options.locality.clone(), name, external);
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
        (worker, shared)
    };
    for (index, (capture, iface)) in sources.into_iter().enumerate() {
        let (worker, shared) = make_worker(&iface.name, iface.external, index);
        let handle =
            std::thread::Builder::new().name(format!("worker-{}", iface.name)).spawn(move || match capture {
                WorkerSource::Fixed(capture) => worker_loop(worker, capture, shared),
                WorkerSource::Ring { ring, recipe, watch } => ring_worker_loop(worker, ring, &recipe, &watch, shared),
            })?;
        workers.push(handle);
    }
    for (n, (queue, external)) in queues.into_iter().enumerate() {
        let name = format!("nfq{}", queue.queue());
        let (worker, shared) = make_worker(&name, external, first_queue_index + n);
        let queue_options = options.nfqueue.clone();
        let handle = std::thread::Builder::new()
            .name(format!("worker-{name}"))
            .spawn(move || nfqueue::queue_loop(worker, queue, shared, queue_options))?;
        workers.push(handle);
    }
    let capture = match (options.capture, options.ring.version) {
        (CaptureMethod::Pcap, _) => "libpcap",
        (CaptureMethod::AfPacket, crate::capture::ring::RingVersion::V2) => "AF_PACKET TPACKET_V2",
        (CaptureMethod::AfPacket, crate::capture::ring::RingVersion::V3) => "AF_PACKET TPACKET_V3",
    };
    tracing::info!(
        interfaces = ?options.interfaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        nfqueues = ?options.nfqueues.iter().map(|q| q.to_string()).collect::<Vec<_>>(),
        nfqueue_mode = ?options.nfqueue.mode,
        capture,
        actions = initial.actions.actions.len(),
        targets = initial.targets.len(),
        "flowsieve running"
    );
    // Ready for systemd once every capture is open and the targets are set up.
    if ready_rx.recv().is_ok() {
        options.notifier.ready();
    }

    for signal in signals.forever() {
        match signal {
            SIGHUP => {
                options.notifier.reloading();
                match config::load_files(&options.config_path, options.address_groups.as_deref()) {
                    Ok(new) => {
                        for w in &new.warnings {
                            tracing::warn!("{w}");
                        }
                        // A table or set the reload adds is locked first (another agent may be
                        // running on it); the running configuration keeps its locks.
                        let held = instance.paths();
                        let wanted = super::instance::lock_paths(options.control_socket.as_deref(), &new.targets)
                            .and_then(|paths| instance.take_more(&paths).map(|()| paths));
                        let paths = match wanted {
                            Ok(paths) => paths,
                            Err(e) => {
                                let text = format!("{e:#}");
                                {
                                    let mut s = lock(&status);
                                    s.failed_reloads += 1;
                                    s.last_reload_error = Some(text.clone());
                                }
                                tracing::error!("reload failed, keeping the running configuration: {text}");
                                options.notifier.ready();
                                continue;
                            }
                        };
                        // Blocking send: a reload must not be lost to a full queue. The targets go
                        // first: when one cannot be set up, the enforcer rolls back and the running
                        // actions stay too.
                        let (reply, outcome) = bounded(1);
                        if tx.send(EnforcerMsg::Reload(new.targets.clone(), reply)).is_err() {
                            break;
                        }
                        match outcome.recv() {
                            Ok(Ok(())) => {
                                // The locks of tables and sets no longer configured are let go.
                                instance.keep_only(&paths);
                                actions.store(Arc::new(new.actions.clone()));
                                generation.fetch_add(1, Ordering::Release);
                                lock(&status).reloads += 1;
                                tracing::info!(path = %options.config_path.display(), "configuration reloaded");
                            }
                            Ok(Err(failures)) => {
                                instance.keep_only(&held);
                                let text = failures.join("; ");
                                {
                                    let mut s = lock(&status);
                                    s.failed_reloads += 1;
                                    s.last_reload_error = Some(text.clone());
                                }
                                tracing::error!("reload failed, keeping the running configuration: targets could not be set up: {text}");
                            }
                            Err(_) => break,
                        }
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
                }
                // Reloaded, or kept the running configuration: ready either way.
                options.notifier.ready();
            }
            _ => {
                tracing::info!("shutting down");
                break;
            }
        }
        if workers.iter().any(|w| w.is_finished()) {
            break;
        }
    }
    options.notifier.stopping();
    stop.store(true, Ordering::SeqCst);
    for (_, watch) in &link_watches {
        watch.leave.store(true, Ordering::SeqCst);
    }
    for w in workers {
        match w.join() {
            Ok(Err(e)) => tracing::error!("worker stopped: {e}"),
            Err(_) => tracing::error!("worker panicked"),
            Ok(Ok(())) => {}
        }
    }
    drop(tx);
    if link_thread.is_some_and(|t| t.join().is_err()) {
        tracing::error!("interface monitor panicked");
    }
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
pub(super) struct WorkerShared {
    pub(super) stop: Arc<AtomicBool>,
    pub(super) tx: Sender<EnforcerMsg>,
    pub(super) generation: Arc<AtomicU64>,
    pub(super) dropped: Arc<AtomicU64>,
    pub(super) status: SharedStatus,
    /// This worker's entry in `status.workers`.
    pub(super) index: usize,
    /// Connections whose conntrack facts changed (from the conntrack listener).
    pub(super) conntrack_changes: Receiver<CtChange>,
}

/// Sends a match to the enforcer without blocking; a full queue loses it (counted).
pub(super) fn send_match(
    tx: &Sender<EnforcerMsg>,
    dropped: &AtomicU64,
    events_dropped: &std::cell::Cell<u64>,
    d: Dispatch,
) -> bool {
    match tx.try_send(EnforcerMsg::Match(d)) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
            dropped.fetch_add(1, Ordering::Relaxed);
            events_dropped.set(events_dropped.get() + 1);
            false
        }
    }
}

/// A live worker's periodic work on its idle tick: conntrack changes, re-evaluation after a
/// reload, flow expiry.
pub(super) struct Housekeeping {
    seen_generation: u64,
    last_expire: Instant,
    started_wall: SystemTime,
    started_mono: Instant,
}

impl Housekeeping {
    pub(super) fn new(generation: &AtomicU64) -> Housekeeping {
        Housekeeping {
            seen_generation: generation.load(Ordering::Acquire),
            last_expire: Instant::now(),
            started_wall: SystemTime::now(),
            started_mono: Instant::now(),
        }
    }

    pub(super) fn tick(
        &mut self,
        worker: &mut Worker,
        generation: &AtomicU64,
        conntrack_changes: &Receiver<CtChange>,
        send: &mut impl FnMut(&mut Flow, Dispatch),
    ) {
        while let Ok(change) = conntrack_changes.try_recv() {
            worker.on_conntrack_change(&change, SystemTime::now(), &mut *send);
        }
        let current = generation.load(Ordering::Acquire);
        if current != self.seen_generation {
            self.seen_generation = current;
            worker.reevaluate_all(SystemTime::now(), &mut *send);
        }
        if self.last_expire.elapsed() >= Duration::from_secs(1) {
            self.last_expire = Instant::now();
            // Monotonic time since start keeps expiry right if the wall clock jumps.
            let now = self.started_wall.duration_since(UNIX_EPOCH).unwrap_or_default() + self.started_mono.elapsed();
            worker.end_flows(Some(now), |_| true, &mut *send, |_| {});
        }
    }
}

fn worker_loop(mut worker: Worker, mut capture: LiveSource, shared: WorkerShared) -> anyhow::Result<()> {
    let WorkerShared { stop, tx, generation, dropped, status, index, conntrack_changes } = shared;
    let events_dropped = std::cell::Cell::new(0u64);
    let mut send = |_: &mut Flow, d: Dispatch| {
        send_match(&tx, &dropped, &events_dropped, d);
    };
    let mut housekeeping = Housekeeping::new(&generation);
    let result = capture.run(&stop, |event| match event {
        LiveEvent::Frame(frame) => {
            // Events carry the packet's capture time (the kernel's timestamp), which the
            // enforcer's match-to-kernel latency starts from.
            let at = if frame.timestamp.is_zero() { SystemTime::now() } else { UNIX_EPOCH + frame.timestamp };
            worker.on_frame(frame, at, &mut send)
        }
        LiveEvent::Idle(capture_stats) => {
            housekeeping.tick(&mut worker, &generation, &conntrack_changes, &mut send);
            publish(&status, index, &worker, capture_stats, events_dropped.get());
        }
    });
    let stats = capture.stats();
    log_stopped(capture.iface(), stats, &worker);
    result.map_err(Into::into)
}

fn log_stopped(iface: &str, stats: LiveStats, worker: &Worker) {
    tracing::info!(
        iface,
        received = stats.received,
        kernel_dropped = stats.dropped,
        syn_ring_dropped = stats.syn_dropped,
        flows = worker.table.stats().flows_created,
        flows_refused = worker.table.stats().flows_refused,
        malformed = worker.decode_stats.malformed,
        "capture stopped"
    );
}

/// A worker on AF_PACKET rings whose interface may be missing or come and go: it waits for the
/// interface, captures until the interface monitor says it went away (or shutdown), then
/// waits and opens a new ring on the new interface. Flow table and worker state carry over.
fn ring_worker_loop(
    mut worker: Worker,
    mut ring: Option<Box<crate::capture::ring::RingCapture>>,
    recipe: &RingRecipe,
    watch: &LinkWatch,
    shared: WorkerShared,
) -> anyhow::Result<()> {
    const RETRY: Duration = Duration::from_millis(250);
    let WorkerShared { stop, tx, generation, dropped, status, index, conntrack_changes } = shared;
    let events_dropped = std::cell::Cell::new(0u64);
    let mut send = |_: &mut Flow, d: Dispatch| {
        send_match(&tx, &dropped, &events_dropped, d);
    };
    let mut housekeeping = Housekeeping::new(&generation);
    // Kernel counters of rings closed before, added to the current ring's.
    let mut earlier = LiveStats::default();
    let mut last_packets = 0u64;
    let mut was_online = false;
    // The last reason an open failed, logged once per reason.
    let mut last_error = String::new();
    let set_link = |f: &mut dyn FnMut(&mut LinkStatus)| {
        if let Some(l) = lock(&status).workers.get_mut(index).and_then(|w| w.link.as_mut()) {
            f(l);
        }
    };
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let mut capture = match ring.take() {
            Some(r) => r,
            None => {
                // Cleared before opening: a deletion heard from now on concerns the new ring.
                watch.leave.store(false, Ordering::SeqCst);
                match recipe.open() {
                    Ok(r) => r,
                    Err(e) => {
                        let text = format!("{e:#}");
                        if text != last_error {
                            tracing::warn!(iface = %recipe.iface, "waiting for the interface: {text}");
                            last_error = text;
                        }
                        // Flows still expire and reloads still apply while offline.
                        housekeeping.tick(&mut worker, &generation, &conntrack_changes, &mut send);
                        publish(&status, index, &worker, earlier, events_dropped.get());
                        std::thread::sleep(RETRY);
                        continue;
                    }
                }
            }
        };
        let ifindex = capture.ifindex();
        watch.ifindex.store(ifindex, Ordering::SeqCst);
        if was_online {
            tracing::info!(iface = %recipe.iface, ifindex, "interface is back, capturing again");
        } else {
            tracing::info!(iface = %recipe.iface, ifindex, "capturing");
        }
        set_link(&mut |l| {
            if !l.online {
                l.changes += 1;
            }
            l.online = true;
            l.ifindex = ifindex;
        });
        was_online = true;
        last_error.clear();
        let result = capture.run(&watch.leave, |event| match event {
            LiveEvent::Frame(frame) => {
                let at = if frame.timestamp.is_zero() { SystemTime::now() } else { UNIX_EPOCH + frame.timestamp };
                worker.on_frame(frame, at, &mut send)
            }
            LiveEvent::Idle(capture_stats) => {
                housekeeping.tick(&mut worker, &generation, &conntrack_changes, &mut send);
                publish(&status, index, &worker, add_stats(earlier, capture_stats), events_dropped.get());
                let packets = worker.table.stats().packets;
                if packets != last_packets {
                    last_packets = packets;
                    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
                    set_link(&mut |l| l.last_packet = Some(now));
                }
            }
        });
        earlier = add_stats(earlier, capture.stats());
        drop(capture);
        watch.ifindex.store(0, Ordering::SeqCst);
        if stop.load(Ordering::SeqCst) {
            result?;
            break;
        }
        // The interface went away; an error from its dying socket is expected, not fatal.
        match result {
            Ok(()) => {
                tracing::warn!(iface = %recipe.iface, ifindex, "interface went away; capturing again when it is back")
            }
            Err(e) => {
                tracing::warn!(iface = %recipe.iface, ifindex, "interface went away ({e}); capturing again when it is back")
            }
        }
        set_link(&mut |l| {
            l.online = false;
            l.changes += 1;
        });
    }
    log_stopped(&recipe.iface, earlier, &worker);
    Ok(())
}

fn add_stats(a: LiveStats, b: LiveStats) -> LiveStats {
    LiveStats {
        received: a.received.wrapping_add(b.received),
        dropped: a.dropped.wrapping_add(b.dropped),
        if_dropped: a.if_dropped.wrapping_add(b.if_dropped),
        syn_received: a.syn_received.wrapping_add(b.syn_received),
        syn_dropped: a.syn_dropped.wrapping_add(b.syn_dropped),
    }
}

/// Copy a worker's counters into the shared status (on its idle tick, not per packet).
pub(super) fn publish(status: &SharedStatus, index: usize, worker: &Worker, capture: LiveStats, events_dropped: u64) {
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
        w.evicted_unestablished = t.evicted_unestablished;
        w.evicted_undetected = t.evicted_undetected;
        w.evicted_oldest = t.evicted_oldest;
        w.malformed = d.malformed;
        w.not_ip = d.not_ip;
        w.fragments = d.fragments;
        w.capture_received = u64::from(capture.received);
        w.capture_dropped = u64::from(capture.dropped) + u64::from(capture.if_dropped);
        w.syn_ring_received = u64::from(capture.syn_received);
        w.syn_ring_dropped = u64::from(capture.syn_dropped);
        w.events_dropped = events_dropped;
    }
}

pub(super) fn lock(status: &SharedStatus) -> std::sync::MutexGuard<'_, Status> {
    status.lock().unwrap_or_else(|e| e.into_inner())
}
