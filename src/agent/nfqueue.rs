//! `run --nfqueue`: one worker per NFQUEUE, the same pipeline as the rings (decode, flow
//! table, dissectors, actions, enforcer), plus the verdicts.
//!
//! - **tap** (default, as netifyd): every received batch is accepted at once (one batch
//!   verdict), then processed. Enforcement races the flow as with AF_PACKET.
//! - **inline**: a packet's verdict waits until the worker has processed it and, when it made an
//!   action match, until the enforcer confirms that the action's kernel state (set elements,
//!   conntrack labels and marks, ipset members) is in place, at most `hold_timeout` (then the
//!   packet is released and counted). Verdicts stay in queue order: packets after a held one
//!   wait with it, so nothing of any flow overtakes the deciding packet. The verdict is ACCEPT;
//!   the firewall's own rules after the queue see the new state.
//!
//! With `bypass_mark`, inline mode sets a conntrack mark in the verdict of a packet whose
//! flow's detection is complete, so a rule before the queue can let the rest of the connection
//! skip userspace (`ct mark and MASK == MARK accept`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;

use super::enforcer::EnforcerMsg;
use super::live::{lock, publish, send_match, Housekeeping, WorkerShared};
use super::worker::{Dispatch, Worker};
use crate::capture::live::LiveStats;
use crate::capture::nfqueue::{IfaceNames, NfQueue, QueueConfig, WakeFd};
use crate::capture::Frame;
use crate::decode::{LinkType, Packet};
use crate::facts::{FlowFacts, IfaceName};
use crate::flow::table::Flow;
use crate::status::latency::LatencyHistogram;
use crate::status::{QueueStatus, WorkerStatus};

/// `--nfqueue ROLE=FIRST[:COUNT]`: queues FIRST … FIRST+COUNT-1 under role lan or wan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSpec {
    /// Role wan (Netify's external) rather than lan.
    pub external: bool,
    pub first: u16,
    pub count: u16,
}

impl std::str::FromStr for QueueSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || format!("'{s}': expected ROLE=FIRST[:COUNT] with ROLE lan or wan (e.g. lan=50:4)");
        let (role, range) = s.split_once('=').ok_or_else(usage)?;
        let external = match role.to_ascii_lowercase().as_str() {
            "lan" => false,
            "wan" => true,
            _ => return Err(usage()),
        };
        let (first, count) = match range.split_once(':') {
            Some((f, c)) => (f, c),
            None => (range, "1"),
        };
        let first: u16 = first.trim().parse().map_err(|_| usage())?;
        let count: u16 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 || u32::from(first) + u32::from(count) > 65_536 {
            return Err(format!("'{s}': COUNT must be at least 1 and the last queue at most 65535"));
        }
        Ok(QueueSpec { external, first, count })
    }
}

impl std::fmt::Display for QueueSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}:{}", if self.external { "wan" } else { "lan" }, self.first, self.count)
    }
}

/// `--nfqueue-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueMode {
    #[default]
    Tap,
    Inline,
}

impl QueueMode {
    fn name(self) -> &'static str {
        match self {
            QueueMode::Tap => "tap",
            QueueMode::Inline => "inline",
        }
    }
}

/// How every queue is read.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    pub mode: QueueMode,
    pub config: QueueConfig,
    /// Inline: longest wait for the enforcer before a held packet is released anyway.
    pub hold_timeout: Duration,
    /// Inline: `(mark, mask)` set on a connection in the verdict once detection is complete.
    pub bypass_mark: Option<(u32, u32)>,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            mode: QueueMode::Tap,
            config: QueueConfig::default(),
            hold_timeout: Duration::from_millis(100),
            bypass_mark: None,
        }
    }
}

/// Opens every queue of `specs` (so a queue held by another program fails before anything
/// else starts): each with whether it is role wan.
pub fn open_all(specs: &[QueueSpec], options: &QueueOptions) -> anyhow::Result<Vec<(NfQueue, bool)>> {
    let mut queues = Vec::new();
    for spec in specs {
        for n in 0..spec.count {
            let number = spec.first + n;
            if queues.iter().any(|(q, _): &(NfQueue, bool)| q.queue() == number) {
                anyhow::bail!("--nfqueue: queue {number} is given twice");
            }
            let queue = NfQueue::open(number, options.config).with_context(|| format!("binding NFQUEUE {number}"))?;
            queues.push((queue, spec.external));
        }
    }
    Ok(queues)
}

/// The status entry of a queue worker before it has published anything.
pub fn worker_status(queue: &NfQueue, external: bool, options: &QueueOptions) -> WorkerStatus {
    WorkerStatus {
        iface: format!("nfq{}", queue.queue()),
        external,
        queue: Some(QueueStatus { queue: queue.queue(), mode: options.mode.name().into(), ..QueueStatus::default() }),
        ..WorkerStatus::default()
    }
}

/// What the queue said about the packet a worker is processing.
#[derive(Debug, Clone, Default)]
pub struct QueuedMeta {
    /// The queue's name with the packet's input and output interfaces.
    pub iface: IfaceName,
    /// The packet's connection mark, when the queue handed over its conntrack entry.
    pub ct_mark: Option<u32>,
    /// `(mark, mask)` to set once the flow is decided.
    pub bypass: Option<(u32, u32)>,
}

/// The flow's key when its detection is done and its connection does not carry the bypass
/// mark yet.
pub fn wants_bypass(flow: &Flow, meta: &QueuedMeta) -> Option<crate::flow::key::FlowKey> {
    let (mark, mask) = meta.bypass?;
    let f = &flow.facts;
    ((f.detection_complete || f.detection_guessed) && f.ct_mark & mask != mark).then(|| flow.key())
}

/// Records the queue's facts on the packet's flow: the interfaces of its client-to-server
/// packets and the connection's mark. True when a fact criteria can see changed.
pub fn note_queued(facts: &mut FlowFacts, meta: &QueuedMeta, packet: &Packet<'_>) -> bool {
    let mut changed = false;
    let client =
        if facts.local_origin { (facts.local_ip, facts.local_port) } else { (facts.other_ip, facts.other_port) };
    if (packet.src_ip, packet.src_port) == client && !facts.iface.same(&meta.iface) {
        changed = facts.iface.nfq_src() != meta.iface.nfq_src() || facts.iface.nfq_dst() != meta.iface.nfq_dst();
        facts.iface = meta.iface.clone();
    }
    if let Some(mark) = meta.ct_mark.filter(|&m| m != facts.ct_mark) {
        facts.ct_mark = mark;
        changed = true;
    }
    changed
}

/// One shared interface value per (input, output) interface pair of a queue.
struct QueueIfaces {
    queue: String,
    names: IfaceNames,
    pairs: Vec<((u32, u32), IfaceName)>,
}

impl QueueIfaces {
    fn get(&mut self, indev: u32, outdev: u32) -> IfaceName {
        if let Some((_, iface)) = self.pairs.iter().find(|(pair, _)| *pair == (indev, outdev)) {
            return iface.clone();
        }
        let src = self.names.get(indev).to_string();
        let dst = self.names.get(outdev);
        let iface = IfaceName::with_nfq(&self.queue, &src, dst);
        // Interface pairs are few; indexes reused by new interfaces start afresh.
        if self.pairs.len() >= 1024 {
            self.pairs.clear();
        }
        self.pairs.push(((indev, outdev), iface.clone()));
        iface
    }
}

/// How the enforcer tells a queue worker that its matches are in the kernel: a counter it
/// raises, and an eventfd that wakes the worker's poll.
#[derive(Debug)]
pub struct AckSignal {
    counter: AtomicU64,
    wake: WakeFd,
}

impl AckSignal {
    /// Everything sent before `value` is in the kernel (called by the enforcer).
    pub fn confirm(&self, value: u64) {
        self.counter.fetch_max(value, Ordering::Release);
        self.wake.wake();
    }

    fn acked(&self) -> u64 {
        self.counter.load(Ordering::Acquire)
    }
}

/// A packet whose verdict waits for the enforcer.
#[derive(Debug, Clone, Copy)]
struct Hold {
    id: u32,
    /// Released once the enforcer's counter reaches this.
    ack: u64,
    since: Instant,
}

/// `a` comes after `b` in a queue's id sequence (ids wrap around).
fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The verdict side of a queue worker: which packets wait, and the counters.
struct Verdicts {
    mode: QueueMode,
    hold_timeout: Duration,
    /// Packets received and not yet given a verdict, oldest first, with their arrival.
    waiting: VecDeque<(u32, Instant)>,
    holds: VecDeque<Hold>,
    acked: Arc<AckSignal>,
    next_ack: u64,
    held: LatencyHistogram,
    status: QueueStatus,
}

impl Verdicts {
    /// Accepts every waiting packet up to `id` (one batch verdict) and records their wait.
    fn accept_up_to(&mut self, queue: &mut NfQueue, id: u32) {
        // Nothing waits, or the oldest waiting packet comes after `id`: nothing to accept.
        match self.waiting.front() {
            Some(&(first, _)) if !after(first, id) => {}
            _ => return,
        }
        if let Err(e) = queue.accept_up_to(id) {
            tracing::warn!(queue = queue.queue(), "sending a verdict: {e}");
        }
        self.retire(|w| !after(w, id));
    }

    fn retire(&mut self, mut done: impl FnMut(u32) -> bool) {
        let now = Instant::now();
        while let Some(&(id, at)) = self.waiting.front() {
            if !done(id) {
                break;
            }
            self.waiting.pop_front();
            self.status.verdicts += 1;
            self.held.record_us(now.duration_since(at).as_micros() as u64);
        }
    }

    /// Inline: drops confirmed or timed-out holds, then accepts everything before the first
    /// hold still waiting (everything, when none is).
    fn release(&mut self, queue: &mut NfQueue) {
        let acked = self.acked.acked();
        while let Some(hold) = self.holds.front() {
            if acked >= hold.ack {
                self.holds.pop_front();
            } else if hold.since.elapsed() >= self.hold_timeout {
                self.holds.pop_front();
                self.status.fail_open_releases += 1;
            } else {
                break;
            }
        }
        let upto = match self.holds.front() {
            Some(hold) => hold.id.wrapping_sub(1),
            None => match self.waiting.back() {
                Some(&(last, _)) => last,
                None => return,
            },
        };
        self.accept_up_to(queue, upto);
    }

    /// How long the worker may sleep: until the oldest hold times out (the enforcer's
    /// confirmation wakes it earlier), at most 100 ms.
    fn sleep(&self) -> Duration {
        match self.holds.front() {
            Some(hold) => self.hold_timeout.saturating_sub(hold.since.elapsed()).min(Duration::from_millis(100)),
            None => Duration::from_millis(100),
        }
    }
}

/// Sets the bypass mark on decided connections: in the verdict when the kernel takes
/// conntrack changes there, else over ctnetlink just before the verdict.
#[derive(Default)]
struct Bypass {
    conntrack: Option<crate::netlink::conntrack::ConntrackSocket>,
    unavailable: bool,
}

impl Bypass {
    /// Accepts everything up to packet `id`, marking its connection. True when marked.
    fn mark(&mut self, queue: &mut NfQueue, v: &mut Verdicts, id: u32, flow: &Flow, mark: u32, mask: u32) -> bool {
        let marked = if queue.has_conntrack() {
            v.accept_up_to(queue, id.wrapping_sub(1));
            let sent = queue.accept_with_ct_mark(id, mark, mask);
            if let Err(e) = &sent {
                tracing::warn!(queue = queue.queue(), "sending a verdict: {e}");
            }
            v.retire(|w| w == id);
            sent.is_ok()
        } else {
            let ok = self.set_mark(flow, mark, mask);
            v.accept_up_to(queue, id);
            ok
        };
        v.status.marked += u64::from(marked);
        marked
    }

    fn set_mark(&mut self, flow: &Flow, mark: u32, mask: u32) -> bool {
        use crate::netlink::conntrack::ConntrackSocket;
        let Some(tuple) = crate::enforce::ctmark::original_tuple(&flow.facts) else { return false };
        if self.unavailable {
            return false;
        }
        if self.conntrack.is_none() {
            match ConntrackSocket::open() {
                Ok(s) => self.conntrack = Some(s),
                Err(e) => {
                    tracing::warn!("--nfqueue-bypass-mark: cannot open a conntrack socket: {e}");
                    self.unavailable = true;
                    return false;
                }
            }
        }
        let Some(socket) = self.conntrack.as_mut() else { return false };
        match socket.set_mark(&tuple, mark, mask) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!("--nfqueue-bypass-mark: {e}");
                false
            }
        }
    }
}

/// Reads one queue until `stop`: processes every packet, gives every packet a verdict.
pub(super) fn queue_loop(
    mut worker: Worker,
    mut queue: NfQueue,
    shared: WorkerShared,
    options: QueueOptions,
) -> anyhow::Result<()> {
    let WorkerShared { stop, tx, generation, dropped, status, index, conntrack_changes } = shared;
    let events_dropped = std::cell::Cell::new(0u64);
    let mut housekeeping = Housekeeping::new(&generation);
    let mut ifaces =
        QueueIfaces { queue: format!("nfq{}", queue.queue()), names: IfaceNames::default(), pairs: Vec::new() };
    let capacity = options.config.max_len as usize + crate::capture::nfqueue::BATCH;
    let mut v = Verdicts {
        mode: options.mode,
        hold_timeout: options.hold_timeout,
        waiting: VecDeque::with_capacity(capacity),
        holds: VecDeque::with_capacity(capacity),
        acked: Arc::new(AckSignal {
            counter: AtomicU64::new(0),
            wake: WakeFd::new().context("creating the enforcer's wake-up eventfd")?,
        }),
        next_ack: 0,
        held: LatencyHistogram::default(),
        status: QueueStatus { queue: queue.queue(), mode: options.mode.name().into(), ..QueueStatus::default() },
    };
    let mut last_publish = Instant::now();
    let mut bypass = Bypass::default();
    let mut result = Ok(());
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = queue.wait(v.sleep(), Some(&v.acked.wake)) {
            result = Err(e);
            break;
        }
        v.acked.wake.drain();
        let n = match queue.receive() {
            Ok(n) => n,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let arrived = Instant::now();
        let wall = SystemTime::now();
        for i in 0..n {
            if let Some(p) = queue.packet(i) {
                v.waiting.push_back((p.id, arrived));
            }
        }
        if v.mode == QueueMode::Tap {
            // As netifyd: accepted as soon as copied, before the worker looks at them.
            if let Some(&(last, _)) = v.waiting.back() {
                v.accept_up_to(&mut queue, last);
            }
        }
        for i in 0..n {
            let Some(p) = queue.packet(i) else { continue };
            v.status.packets += 1;
            let id = p.id;
            worker.queued = Some(QueuedMeta {
                iface: ifaces.get(p.indev, p.outdev),
                ct_mark: (p.ct_id != 0).then_some(p.ct_mark),
                bypass: if v.mode == QueueMode::Inline { options.bypass_mark } else { None },
            });
            worker.queued_bypass = None;
            let frame = Frame {
                link: LinkType::RawIp,
                timestamp: wall.duration_since(UNIX_EPOCH).unwrap_or_default(),
                data: p.data,
                wire_len: p.len,
                vlan: None,
            };
            let (mut matched, mut lost) = (false, false);
            worker.on_frame(frame, wall, |_: &mut Flow, d: Dispatch| {
                matched |= !d.refresh;
                lost |= !send_match(&tx, &dropped, &events_dropped, d);
            });
            if v.mode != QueueMode::Inline {
                continue;
            }
            if matched && lost {
                // The enforcer's queue was full: nothing to wait for.
                v.status.fail_open_releases += 1;
            } else if matched {
                v.next_ack += 1;
                match tx.try_send(EnforcerMsg::Ack(v.acked.clone(), v.next_ack)) {
                    Ok(()) if v.holds.len() < v.holds.capacity() => {
                        v.holds.push_back(Hold { id, ack: v.next_ack, since: arrived })
                    }
                    _ => v.status.fail_open_releases += 1,
                }
            } else if let (Some((mark, mask)), Some(key), true) =
                (options.bypass_mark, worker.queued_bypass, v.holds.is_empty())
            {
                // Only with nothing held before it: the rest of the connection will skip the
                // queue, so nothing before it may still wait for firewall state.
                if let Some(flow) = worker.table.get_mut(&key) {
                    if bypass.mark(&mut queue, &mut v, id, flow, mark, mask) {
                        flow.facts.ct_mark = (flow.facts.ct_mark & !mask) | mark;
                    }
                }
            }
        }
        worker.queued = None;
        if v.mode == QueueMode::Inline {
            v.release(&mut queue);
        }
        if n == 0 || last_publish.elapsed() >= Duration::from_millis(100) {
            last_publish = Instant::now();
            let mut send = |_: &mut Flow, d: Dispatch| {
                send_match(&tx, &dropped, &events_dropped, d);
            };
            housekeeping.tick(&mut worker, &generation, &conntrack_changes, &mut send);
            v.status.held = v.held.summary();
            v.status.verdict_errors = queue.verdict_errors;
            if let Some(k) = queue.kernel_stats() {
                v.status.kernel_waiting = k.waiting;
                v.status.kernel_dropped = k.dropped;
                v.status.kernel_user_dropped = k.user_dropped;
            }
            let capture = LiveStats {
                received: v.status.packets as u32,
                dropped: v.status.kernel_dropped as u32,
                ..LiveStats::default()
            };
            publish(&status, index, &worker, capture, events_dropped.get());
            if let Some(w) = lock(&status).workers.get_mut(index) {
                w.queue = Some(v.status.clone());
            }
        }
    }
    // Stopping: every packet we hold or the kernel still queues for us gets its verdict.
    v.holds.clear();
    let deadline = Instant::now() + Duration::from_millis(200);
    loop {
        let n = queue.receive().unwrap_or(0);
        let arrived = Instant::now();
        for i in 0..n {
            if let Some(p) = queue.packet(i) {
                v.waiting.push_back((p.id, arrived));
            }
        }
        if let Some(&(last, _)) = v.waiting.back() {
            v.accept_up_to(&mut queue, last);
        }
        if n == 0 || Instant::now() >= deadline {
            break;
        }
    }
    tracing::info!(
        queue = queue.queue(),
        mode = v.mode.name(),
        packets = v.status.packets,
        verdicts = v.status.verdicts,
        fail_open_releases = v.status.fail_open_releases,
        held_p50_us = v.held.quantile_us(0.5),
        held_p99_us = v.held.quantile_us(0.99),
        flows = worker.table.stats().flows_created,
        "queue stopped"
    );
    result.map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_specs_parse() {
        assert_eq!("lan=50:4".parse(), Ok(QueueSpec { external: false, first: 50, count: 4 }));
        assert_eq!("WAN=54".parse(), Ok(QueueSpec { external: true, first: 54, count: 1 }));
        for bad in ["50:4", "dmz=50", "lan=", "lan=50:0", "lan=65535:2", "lan=x"] {
            assert!(bad.parse::<QueueSpec>().is_err(), "{bad}");
        }
        assert_eq!(QueueSpec { external: true, first: 54, count: 4 }.to_string(), "wan=54:4");
    }

    #[test]
    fn interfaces_come_from_client_to_server_packets_only() {
        let packet = |src: &str, sport: u16, dst: &str, dport: u16| Packet {
            vlan_id: 0,
            src_mac: [0; 6],
            dst_mac: [0; 6],
            src_ip: src.parse().unwrap(),
            dst_ip: dst.parse().unwrap(),
            ip_protocol: 6,
            src_port: sport,
            dst_port: dport,
            tcp: None,
            payload: &[],
            ip_len: 40,
            icmp: None,
            tunnel: crate::decode::TunnelType::None,
            dscp: 0,
        };
        let mut facts = FlowFacts {
            local_ip: "192.168.1.10".parse().unwrap(),
            local_port: 40000,
            other_ip: "10.99.0.2".parse().unwrap(),
            other_port: 443,
            local_origin: true,
            ..FlowFacts::default()
        };
        let reply = QueuedMeta { iface: IfaceName::with_nfq("nfq50", "wan0", "br-lan"), ct_mark: None, bypass: None };
        assert!(!note_queued(&mut facts, &reply, &packet("10.99.0.2", 443, "192.168.1.10", 40000)));
        assert_eq!((facts.iface.nfq_src(), facts.iface.nfq_dst()), ("", ""));
        let request =
            QueuedMeta { iface: IfaceName::with_nfq("nfq50", "br-lan", "wan0"), ct_mark: Some(7), bypass: None };
        assert!(note_queued(&mut facts, &request, &packet("192.168.1.10", 40000, "10.99.0.2", 443)));
        assert_eq!((facts.iface.nfq_src(), facts.iface.nfq_dst(), &*facts.iface), ("br-lan", "wan0", "nfq50"));
        assert_eq!(facts.ct_mark, 7);
        // The same again changes nothing.
        assert!(!note_queued(&mut facts, &request, &packet("192.168.1.10", 40000, "10.99.0.2", 443)));
    }

    #[test]
    fn ids_compare_across_the_wrap() {
        assert!(after(2, 1));
        assert!(!after(1, 1));
        assert!(after(0, u32::MAX));
        assert!(!after(u32::MAX, 0));
    }
}
