//! One worker's flow table: bidirectional lookup, facts, dissection, idle expiry, `max_flows`.
//!
//! A full table makes room rather than refusing: it evicts the least useful flow, in this order:
//! a flow not yet established (TCP: no ACK from the opener after the other side answered; other
//! protocols: no answer yet), then one whose detection is not complete, then the oldest. So a
//! flood of SYNs from random sources only ever pushes out other unanswered flows, and an
//! established flow is tracked and classified at any flood rate. Unestablished TCP flows also
//! time out after `unestablished_idle` (20 s by default) rather than the 300 s of TCP.
//! Candidates are found through one FIFO queue of slot numbers in creation order, read from two
//! places (the unestablished flows from a cursor, all flows from the front; entries of flows that
//! left or got established are skipped when met), sized with the table: no allocation per packet,
//! amortised constant work per eviction.
//!
//! Expiry runs once a second of packet time through a timer wheel ([`super::wheel`]): its cost
//! follows the flows that come due, not the size of the table.
//!
//! Flows live densely in a slab grown by chunks; the hash index holds only 4-byte slot
//! numbers, so the index's empty buckets (a hash table runs up to half empty) cost 5 bytes
//! each rather than a whole flow.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hashbrown::HashTable;

use super::key::{direction, FlowKey};
use super::locality::Locality;
use super::wheel::TimerWheel;
use crate::classify::call_hints::CallHintCache;
use crate::classify::dns_hints::{self, DnsHintCache};
use crate::classify::Classifier;
use crate::decode::{tcp_flags, Packet};
use crate::dissect::registry::{DissectState, Step};
use crate::dissect::Segment;
use crate::facts::finality::Final;
use crate::facts::{Cold, Empty, FlowFacts, IcmpFacts, IfaceName};

/// Limits and timeouts of a flow table.
#[derive(Debug, Clone)]
pub struct TableConfig {
    /// New flows beyond this many are refused (and counted).
    pub max_flows: usize,
    /// Idle timeout for TCP flows.
    pub tcp_idle: Duration,
    /// Idle timeout for TCP flows not established yet (a SYN and maybe its answer).
    pub unestablished_idle: Duration,
    /// Idle timeout for everything else.
    pub other_idle: Duration,
    /// Idle timeout once a TCP flow has seen FIN or RST.
    pub closed_idle: Duration,
    /// Packets with payload after which detection gives up (Netify's `max_detection_pkts`).
    pub max_detection_packets: u16,
    /// Run dissectors (off only to measure decoding and lookup alone).
    pub dissect: bool,
    /// Addresses the table's DNS hint cache remembers (0: no cache).
    pub dns_hint_capacity: usize,
    /// UDP endpoints the table's call hint cache remembers (0: no cache; see
    /// [`crate::classify::call_hints`]).
    pub call_hint_capacity: usize,
    /// Flows the table has room for before it first grows (at most `max_flows`). Live tables
    /// are pre-sized so arriving flows do not allocate; replay drains its table after every
    /// file, and a smaller table keeps that (and the memory it touches) small.
    pub initial_flows: usize,
    /// Conntrack facts come from the host (live `run`): a flow opened by a bare SYN reads them
    /// once it is established or carries payload, and until then they are not final
    /// ([`Final::CONNTRACK`]). Off (replay): they are final from the start.
    pub conntrack: bool,
    /// Keep the flows eviction takes out until [`FlowTable::take_evicted`] collects them (replay:
    /// every flow of a capture is reported). Off, an evicted flow is only counted.
    pub keep_evicted: bool,
}

impl Default for TableConfig {
    fn default() -> Self {
        TableConfig {
            max_flows: 262_144,
            tcp_idle: Duration::from_secs(300),
            unestablished_idle: Duration::from_secs(20),
            other_idle: Duration::from_secs(30),
            closed_idle: Duration::from_secs(10),
            max_detection_packets: 32,
            dissect: true,
            dns_hint_capacity: 65_536,
            call_hint_capacity: CALL_HINT_CAPACITY,
            initial_flows: 65_536,
            conntrack: false,
            keep_evicted: false,
        }
    }
}

/// Endpoints the call hint cache holds by default: a call ties a few (its ICE socket, its
/// relay, its peers), so this is thousands of calls in the last [`crate::classify::call_hints::HOLD`];
/// 424 KiB a table when full (`call_hints_take_what_their_capacity_says`).
pub const CALL_HINT_CAPACITY: usize = 4096;

/// What the flow table has counted.
#[derive(Debug, Default, Clone, Copy)]
pub struct TableStats {
    pub packets: u64,
    pub bytes: u64,
    pub flows_created: u64,
    pub flows_refused: u64,
    pub flows_expired: u64,
    /// Flows pushed out of a full table, by the tier they were taken from.
    pub evicted_unestablished: u64,
    pub evicted_undetected: u64,
    pub evicted_oldest: u64,
}

/// Bytes the flow table's structures take (see [`FlowTable::memory`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct TableMemory {
    /// The hash index's bucket array.
    pub index: usize,
    /// Flow slots filled since the last drain (vacated ones included).
    pub slab_used: usize,
    /// Flow slots allocated; untouched ones cost address space, not resident memory.
    pub slab_reserved: usize,
    /// The timer wheel's entry vectors.
    pub wheel: usize,
}

/// A packet time in nanoseconds: half the size of a `Duration` (a flow holds two), and
/// enough for 584 years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PacketTime(u64);

impl PacketTime {
    pub fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.as_duration().as_secs_f64()
    }
}

impl From<Duration> for PacketTime {
    fn from(d: Duration) -> Self {
        PacketTime(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// What the enforcement side did with a flow: kept for output, allocated only on a match.
#[derive(Debug, Default, Clone)]
pub struct FlowVerdicts {
    /// Indexes of actions that matched, in the order they first matched.
    pub matched: Vec<usize>,
    /// Names of those actions.
    pub actions: Vec<Arc<str>>,
    /// Target operations done or described, as text.
    pub ops: Vec<String>,
    /// Packet time of the last refresh sent to the enforcer.
    pub last_refresh: Duration,
}

static NO_VERDICTS: FlowVerdicts =
    FlowVerdicts { matched: Vec::new(), actions: Vec::new(), ops: Vec::new(), last_refresh: Duration::ZERO };

impl Empty for FlowVerdicts {
    fn empty() -> &'static Self {
        &NO_VERDICTS
    }
}

/// A tracked flow: one slab slot, 256 bytes (checked by `a_flow_slot_stays_within_its_budget`),
/// plus its heap parts (see [`crate::facts`] for where new facts go).
#[derive(Debug)]
pub struct Flow {
    pub facts: FlowFacts,
    /// Boxed on the first match: most flows match no action.
    pub verdicts: Cold<FlowVerdicts>,
    pub first_seen: PacketTime,
    pub last_seen: PacketTime,
    /// Whether the first packet went from the key's lower to upper endpoint.
    first_lower_to_upper: bool,
    dissect: DissectState,
    detection_packets: u16,
    /// How far the handshake got ([`ONE_WAY`], [`ANSWERED`] or [`ESTABLISHED`]), or'ed with
    /// [`CLOSING`] once a TCP flow saw FIN or RST and [`ORIGIN_BY_PORTS`]: one byte, as the slot
    /// has no room for more.
    state: u8,
    /// The timer wheel second the flow is filed under (truncated); entries for other seconds
    /// are stale.
    filed: u32,
}

/// When a flow was seen and how much of it detection read: what a record of the flow says
/// besides its facts (Netify's `first_seen_at`, `last_seen_at`, `detection_packets`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowTimes {
    /// Packet times (since the Unix epoch) of the first and the latest packet.
    pub first_seen: Duration,
    pub last_seen: Duration,
    /// Packets with payload handed to the dissectors.
    pub detection_packets: u16,
}

/// A TCP flow first seen without its SYN: its origin was guessed from the ports, and a TLS
/// ClientHello may still show the client (a bit of [`Flow::state`] beside the handshake and
/// [`CLOSING`]).
const ORIGIN_BY_PORTS: u8 = 8;

/// A flow opened by a bare SYN whose conntrack facts have not been read yet
/// ([`TableConfig::conntrack`]): they are due once the flow is established or carries payload,
/// so a flood of SYNs that are never answered costs no conntrack query (docs/ARCHITECTURE.md,
/// "Floods").
const CONNTRACK_DEFERRED: u8 = 16;
/// The packet just processed made the deferred conntrack facts due ([`Flow::take_conntrack_due`]).
const CONNTRACK_DUE: u8 = 32;
/// A TCP flow first seen on its SYN+ACK (its SYN was not captured, or came later: a SYN flood
/// can overrun the capture's ring of bare SYNs, docs/ARCHITECTURE.md "Floods"): the opener is
/// the receiver of the first packet, so its ACK, in the reverse direction, establishes it.
const OPENED_BY_ANSWER: u8 = 64;

impl Flow {
    pub fn times(&self) -> FlowTimes {
        FlowTimes {
            first_seen: self.first_seen.as_duration(),
            last_seen: self.last_seen.as_duration(),
            detection_packets: self.detection_packets,
        }
    }

    /// The flow's key. Not stored: the facts' two sides, protocol and VLAN are the key's
    /// fields (set when the flow is created, never changed), and 42 bytes a flow add up.
    pub fn key(&self) -> FlowKey {
        let f = &self.facts;
        FlowKey::of_endpoints((f.local_ip, f.local_port), (f.other_ip, f.other_port), f.ip_protocol, f.vlan_id).0
    }

    /// Whether the flow has this key (without building its own).
    fn has_key(&self, key: &FlowKey) -> bool {
        let f = &self.facts;
        let lower = (key.lower_ip, key.lower_port);
        let upper = (key.upper_ip, key.upper_port);
        let (local, other) = ((f.local_ip, f.local_port), (f.other_ip, f.other_port));
        f.ip_protocol == key.ip_protocol
            && f.vlan_id == key.vlan_id
            && ((local == lower && other == upper) || (local == upper && other == lower))
    }

    /// The flow ends while detection is still running: a flow no dissector claimed gets the
    /// protocol its ports suggest, as Netify's guess at expiry does, and the classifier has
    /// its say on that guess (netifyd's give-up runs its application steps and soft
    /// dissectors too).
    fn end_detection(&mut self, classifier: Option<&Classifier>) {
        if !self.dissect.is_finished() {
            self.dissect.give_up(&mut self.facts);
            self.facts.detection_complete = true;
            dns_hints::fill_detected_hostname(&mut self.facts);
            if let Some(classifier) = classifier {
                classifier.classify(&mut self.facts);
            }
            crate::dissect::risks::assess(&mut self.facts);
            self.facts.final_facts = Final::ALL;
            self.facts.shrink_to_fit();
        }
    }
}

/// Only the opener has spoken.
const ONE_WAY: u8 = 0;
/// The other side answered (TCP: the opener has not acknowledged yet).
const ANSWERED: u8 = 1;
const ESTABLISHED: u8 = 2;
/// The bits of [`Flow::state`] holding the handshake.
const HANDSHAKE: u8 = 3;
/// A FIN or RST was seen: the flow times out sooner.
const CLOSING: u8 = 4;

impl Flow {
    /// Whether the flow's conntrack facts wait for the flow to be worth a query (opened by a
    /// bare SYN, neither established nor carrying payload yet).
    pub fn conntrack_deferred(&self) -> bool {
        self.state & CONNTRACK_DEFERRED != 0
    }

    /// True once, after the packet that made the deferred conntrack facts of the flow due
    /// (the flow got established or carried payload): they are to be read now, and they are
    /// final from now on.
    pub fn take_conntrack_due(&mut self) -> bool {
        let due = self.state & CONNTRACK_DUE != 0;
        self.state &= !CONNTRACK_DUE;
        due
    }

    /// Whether the handshake completed (see the module documentation).
    pub fn is_established(&self) -> bool {
        self.state & HANDSHAKE == ESTABLISHED
    }

    fn closing(&self) -> bool {
        self.state & CLOSING != 0
    }

    /// Advance the handshake with a packet in `direction` carrying TCP `flags` (none: not TCP).
    fn see(&mut self, direction: crate::facts::Direction, flags: Option<u8>) {
        use crate::facts::Direction::{Forward, Reverse};
        // The opener's direction: the first packet's, unless that was the answer (SYN+ACK).
        let opener = if self.state & OPENED_BY_ANSWER != 0 { Reverse } else { Forward };
        let handshake = match (self.state & HANDSHAKE, direction, flags) {
            (ESTABLISHED, ..) => ESTABLISHED,
            (_, Reverse, None) => ESTABLISHED,
            (ONE_WAY, Reverse, Some(_)) => ANSWERED,
            (ANSWERED, d, Some(f)) if d == opener && f & tcp_flags::ACK != 0 && f & tcp_flags::SYN == 0 => ESTABLISHED,
            (state, ..) => state,
        };
        self.state = (self.state & !HANDSHAKE) | handshake;
    }
}

/// Slot numbers in creation order, each with the low bits of its flow's first packet time to
/// tell a later flow in the same slot; entries are checked when met, never searched for.
///
/// One queue serves both eviction orders: every flow is created unestablished, so the queue of
/// unestablished flows held the same entries in the same order as the queue of all flows, 8
/// bytes a flow twice (docs/BENCHMARKS.md, "Memory per flow"). It is the part of the queue from
/// `unestablished` on: the entries before it were looked at for an unestablished victim.
struct Fifo {
    queue: std::collections::VecDeque<(u32, u32)>,
    /// Where the entries not yet looked at for an unestablished flow start.
    unestablished: usize,
}

impl Fifo {
    fn with_capacity(flows: usize) -> Fifo {
        // Room for the live flows and as many stale entries again before compacting.
        Fifo { queue: std::collections::VecDeque::with_capacity(flows.saturating_mul(2).max(CHUNK)), unestablished: 0 }
    }

    fn stamp(flow: &Flow) -> u32 {
        flow.first_seen.0 as u32
    }

    /// Queue `id`; when full, first drop the entries `live` rejects (no allocation: the queue
    /// never grows past its capacity).
    fn push(&mut self, id: u32, stamp: u32, live: impl Fn(u32, u32) -> bool) {
        if self.queue.len() == self.queue.capacity() {
            let (mut seen, mut kept_before) = (0, 0);
            let cursor = self.unestablished;
            self.queue.retain(|&(id, stamp)| {
                let keep = live(id, stamp);
                kept_before += usize::from(keep && seen < cursor);
                seen += 1;
                keep
            });
            self.unestablished = kept_before;
            if self.queue.len() == self.queue.capacity() {
                self.pop_front();
            }
        }
        self.queue.push_back((id, stamp));
    }

    fn pop_front(&mut self) -> Option<(u32, u32)> {
        self.unestablished = self.unestablished.saturating_sub(1);
        self.queue.pop_front()
    }

    /// The next entry not yet looked at for an unestablished flow.
    fn next_unestablished(&mut self) -> Option<(u32, u32)> {
        let entry = *self.queue.get(self.unestablished)?;
        self.unestablished += 1;
        Some(entry)
    }

    fn clear(&mut self) {
        self.queue.clear();
        self.unestablished = 0;
    }
}

/// How a packet changed its flow: the points at which actions are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Nothing criteria could see.
    None,
    /// The packet created the flow.
    New,
    /// Dissection added facts.
    Updated,
    /// Detection finished with this packet.
    Completed,
}

/// Flows per slab chunk: the slab grows by this many at a time, never moving a flow.
const CHUNK: usize = 1024;

/// Flows stored densely by slot number, with a free list of vacated slots.
struct Slab {
    chunks: Vec<Vec<Option<Flow>>>,
    /// Slots ever used since the last drain (the next new slot number).
    used: usize,
    free: Vec<u32>,
}

impl Slab {
    fn with_capacity(flows: usize) -> Slab {
        // Reserved, not touched: the pages cost memory only once flows fill them.
        let chunks = flows.div_ceil(CHUNK);
        Slab {
            chunks: (0..chunks).map(|_| Vec::with_capacity(CHUNK)).collect(),
            used: 0,
            free: Vec::with_capacity(flows),
        }
    }

    fn get(&self, id: u32) -> Option<&Flow> {
        self.chunks.get(id as usize / CHUNK)?.get(id as usize % CHUNK)?.as_ref()
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut Flow> {
        self.chunks.get_mut(id as usize / CHUNK)?.get_mut(id as usize % CHUNK)?.as_mut()
    }

    /// Store `flow`, returning its slot; `None` when slot numbers ran out.
    fn insert(&mut self, flow: Flow) -> Option<u32> {
        if let Some(id) = self.free.pop() {
            if let Some(slot) = self.chunks.get_mut(id as usize / CHUNK).and_then(|c| c.get_mut(id as usize % CHUNK)) {
                *slot = Some(flow);
                return Some(id);
            }
        }
        let id = u32::try_from(self.used).ok()?;
        let chunk = self.used / CHUNK;
        if chunk == self.chunks.len() {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks[chunk].push(Some(flow));
        self.used += 1;
        Some(id)
    }

    fn remove(&mut self, id: u32) -> Option<Flow> {
        let flow = self.chunks.get_mut(id as usize / CHUNK)?.get_mut(id as usize % CHUNK)?.take()?;
        self.free.push(id);
        Some(flow)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Flow> {
        self.chunks.iter_mut().flatten().filter_map(Option::as_mut)
    }

    /// Empty every slot, keeping the chunks for the next flows.
    fn clear(&mut self) {
        for chunk in &mut self.chunks {
            chunk.clear();
        }
        self.used = 0;
        self.free.clear();
    }
}

pub struct FlowTable {
    /// Slot numbers of the flows in `slab`, by the hash of their key.
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    slab: Slab,
    config: TableConfig,
    site: Site,
    stats: TableStats,
    next_sweep: Duration,
    wheel: TimerWheel,
    /// Fills each flow's application after its facts change; none = no classification.
    classifier: Option<Arc<Classifier>>,
    /// Names from this table's DNS flows for the addresses they resolved.
    dns_hints: Option<DnsHintCache>,
    /// Applications of the calls the UDP endpoints this table saw STUN messages of are in.
    call_hints: Option<CallHintCache>,
    /// Every flow, in creation order: the unestablished ones are the first to be evicted, then
    /// the others.
    created: Fifo,
    /// Evicted flows not collected yet (only with `keep_evicted`).
    evicted: Vec<Flow>,
}

/// Live entries of the `created` queue looked at for an undetected flow before the oldest is
/// taken.
const EVICTION_SCAN: usize = 64;

impl FlowTable {
    /// A table for flows seen on `iface`; `external` for a WAN (`-E`) interface.
    pub fn new(config: TableConfig, locality: Arc<Locality>, iface: &str, external: bool) -> FlowTable {
        let capacity = config.max_flows.min(config.initial_flows);
        FlowTable {
            index: HashTable::with_capacity(capacity),
            hasher: foldhash::fast::RandomState::default(),
            slab: Slab::with_capacity(capacity),
            wheel: TimerWheel::new(config_longest(&config)),
            site: Site { locality, iface: IfaceName::from(iface), external },
            stats: TableStats::default(),
            next_sweep: Duration::ZERO,
            classifier: None,
            dns_hints: (config.dns_hint_capacity > 0).then(|| DnsHintCache::new(config.dns_hint_capacity)),
            call_hints: (config.call_hint_capacity > 0).then(|| CallHintCache::new(config.call_hint_capacity)),
            created: Fifo::with_capacity(config.max_flows),
            evicted: Vec::new(),
            config,
        }
    }

    /// Classify applications (and categories) whenever a flow's facts change.
    pub fn with_classifier(mut self, classifier: Arc<Classifier>) -> FlowTable {
        self.classifier = Some(classifier);
        self
    }

    pub fn stats(&self) -> TableStats {
        self.stats
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// What the table's own structures occupy (flows' heap parts not included).
    pub fn memory(&self) -> TableMemory {
        // hashbrown keeps at most 7/8 of its power-of-two buckets full; each bucket is a slot
        // number and a control byte.
        let buckets = if self.index.capacity() == 0 { 0 } else { (self.index.capacity() * 8 / 7).next_power_of_two() };
        TableMemory {
            index: buckets * (std::mem::size_of::<u32>() + 1),
            slab_used: self.slab.used * std::mem::size_of::<Option<Flow>>(),
            slab_reserved: self.slab.chunks.iter().map(Vec::capacity).sum::<usize>()
                * std::mem::size_of::<Option<Flow>>(),
            wheel: self.wheel.bytes(),
        }
    }

    /// The table's DNS hint cache, when enabled (`dns_hint_capacity > 0`).
    pub fn dns_hints_mut(&mut self) -> Option<&mut DnsHintCache> {
        self.dns_hints.as_mut()
    }

    /// The table's call hint cache, when enabled (`call_hint_capacity > 0`).
    pub fn call_hints(&self) -> Option<&CallHintCache> {
        self.call_hints.as_ref()
    }

    /// Teach the call hint cache from a packet (`crate::classify::call_hints`): a UDP datagram
    /// that is one STUN message with the magic cookie. [`FlowTable::process`] does this for
    /// every packet, before anything else, whatever its flow's state; parallel replay calls it
    /// for the STUN frames of other workers' flows, so every worker learns the same.
    pub fn learn_call(&mut self, packet: &Packet<'_>, now: Duration) {
        let Some(calls) = &mut self.call_hints else { return };
        if packet.ip_protocol != 17 {
            return;
        }
        let Some(msg) = crate::dissect::stun::call_message(packet.payload) else { return };
        let (src, dst) = ((packet.src_ip, packet.src_port), (packet.dst_ip, packet.dst_port));
        let mut named = crate::dissect::stun::message_client(msg);
        // A message to or from a published call relay names the call too.
        if named == crate::facts::stun::StunClient::Unknown {
            if let Some(relay) = self.classifier.as_ref().and_then(|c| c.call_relay(dst.0).or(c.call_relay(src.0))) {
                named = relay;
            }
        }
        calls.learn(src, dst, named, crate::dissect::stun::xor_peer_addresses(msg), now);
    }

    /// The flow with this key, if the table holds it.
    pub fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow> {
        let Self { index, slab, .. } = self;
        let id = *index.find(self.hasher.hash_one(key), |&id| slab.get(id).is_some_and(|f| f.has_key(key)))?;
        slab.get_mut(id)
    }

    pub fn flows_mut(&mut self) -> impl Iterator<Item = &mut Flow> {
        self.slab.iter_mut()
    }

    /// Account one packet to its flow and run dissection. `None` when the flow was refused
    /// because the table is full.
    pub fn process(&mut self, packet: &Packet<'_>, now: Duration) -> Option<(&mut Flow, Change)> {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(packet.ip_len);
        self.learn_call(packet, now);
        // One hash lookup per packet; a new flow probes once more to be indexed.
        let (key, lower_to_upper, hash) = FlowKey::of_hashed(packet, &self.hasher);
        let mut change = Change::None;
        let found = {
            let Self { index, slab, .. } = &*self;
            index.find(hash, |&id| slab.get(id).is_some_and(|f| f.has_key(&key))).copied()
        };
        if found.is_none() && self.index.len() >= self.config.max_flows && !self.evict_one() {
            self.stats.flows_refused += 1;
            return None;
        }
        let Self { index, slab, hasher, .. } = self;
        let id = match found {
            Some(id) => id,
            None => {
                let mut flow = self.site.new_flow(lower_to_upper, packet, now, self.config.conntrack);
                if let Some(hints) = &mut self.dns_hints {
                    hints.hint_new_flow(&mut flow.facts, now);
                }
                let deadline = now + idle_limit(&self.config, &flow);
                let Some(id) = slab.insert(flow) else {
                    self.stats.flows_refused += 1;
                    return None;
                };
                index.insert_unique(hash, id, |&id| slab.get(id).map_or(0, |f| hasher.hash_one(f.key())));
                let filed = self.wheel.schedule(id, now, deadline);
                if let Some(flow) = slab.get_mut(id) {
                    flow.filed = filed as u32;
                    let stamp = Fifo::stamp(flow);
                    let live = |id, stamp| slab.get(id).is_some_and(|f| Fifo::stamp(f) == stamp);
                    self.created.push(id, stamp, live);
                }
                self.stats.flows_created += 1;
                change = Change::New;
                id
            }
        };
        let flow = slab.get_mut(id)?;
        flow.see(direction(flow.first_lower_to_upper, lower_to_upper), packet.tcp.map(|t| t.flags));
        flow.state &= !CONNTRACK_DUE;
        if flow.state & CONNTRACK_DEFERRED != 0 && (flow.is_established() || !packet.payload.is_empty()) {
            flow.state = (flow.state & !CONNTRACK_DEFERRED) | CONNTRACK_DUE;
            flow.facts.final_facts |= Final::CONNTRACK;
            if change == Change::None {
                change = Change::Updated;
            }
        }
        flow.last_seen = now.into();
        let from_other = (packet.src_ip, packet.src_port) != (flow.facts.local_ip, flow.facts.local_port);
        flow.facts.counters.add(usize::from(from_other), u64::from(packet.ip_len));
        if let Some(tcp) = packet.tcp {
            if !flow.closing() && (tcp.has(tcp_flags::FIN) || tcp.has(tcp_flags::RST)) {
                flow.state |= CLOSING;
                // The timeout just got shorter: file the flow again (once per flow); the
                // earlier entry is now stale.
                flow.filed = self.wheel.schedule(id, now, now + self.config.closed_idle) as u32;
            }
        }
        let detecting = !flow.facts.detection_complete;
        if self.config.dissect && !packet.payload.is_empty() && !flow.dissect.is_finished() {
            let segment = Segment {
                direction: direction(flow.first_lower_to_upper, lower_to_upper),
                tcp_seq: packet.tcp.map(|t| t.seq),
                payload: packet.payload,
            };
            flow.detection_packets += 1;
            let named_before = flow.facts.protocol != crate::facts::protocol::UNKNOWN;
            let step = flow.dissect.on_segment(&segment, &mut flow.facts);
            // The sender of a TLS ClientHello is the client (RFC 8446 §2): it names the origin of
            // a flow picked up without its SYN, which the ports only guessed.
            if flow.state & ORIGIN_BY_PORTS != 0 && flow.facts.tls.client_version != 0 {
                flow.state &= !ORIGIN_BY_PORTS;
                self.site.set_origin(&mut flow.facts, (packet.src_ip, packet.src_port));
            }
            // Netify's detection_updated: metadata added after the protocol was first named
            // (a ServerHello's cipher, a certificate's names).
            if named_before && step != Step::NothingNew {
                flow.facts.detection_updated = true;
            }
            let mut step_change = match step {
                Step::NothingNew => Change::None,
                Step::Updated => Change::Updated,
                Step::Complete => Change::Completed,
            };
            if step_change != Change::Completed && flow.detection_packets >= self.config.max_detection_packets {
                flow.facts.detection_guessed = true;
                flow.dissect.give_up(&mut flow.facts);
                step_change = Change::Completed;
            }
            if step_change == Change::Completed {
                flow.facts.detection_complete = true;
                // A flow no dissector claimed is a give-up: Netify calls that guessed.
                if flow.facts.protocol == crate::facts::protocol::UNKNOWN {
                    flow.facts.detection_guessed = true;
                }
                // Free dissector buffers as soon as detection is over.
                flow.dissect = DissectState::Finished;
            }
            // A call transport whose own messages named nothing takes the application of the call
            // one of its endpoints is in, while its detection runs (so before its facts are final).
            if let Some(calls) = &mut self.call_hints {
                if calls.hint_flow(&mut flow.facts, now) && step_change == Change::None {
                    step_change = Change::Updated;
                }
            }
            if let (Some(hints), Some(dns)) = (&mut self.dns_hints, flow.facts.app_protocol.dns()) {
                if step_change != Change::None && !dns.answers.is_empty() {
                    hints.learn(dns, now);
                }
            }
            if step_change == Change::Completed {
                dns_hints::fill_detected_hostname(&mut flow.facts);
                flow.facts.shrink_to_fit();
            }
            if change == Change::None || step_change == Change::Completed {
                change = step_change;
            }
        }
        // The classifier runs while detection does and at the update that ends it (a new flow
        // whose protocol its IP protocol number names is over at once): after that nothing it
        // reads changes.
        if change != Change::None && (detecting || change == Change::New) {
            if let Some(classifier) = &self.classifier {
                let soft_before = flow.facts.application.soft_dissector;
                classifier.classify(&mut flow.facts);
                // A soft dissector that matched completes detection, as in netifyd.
                if !soft_before && flow.facts.application.soft_dissector && !flow.facts.detection_complete {
                    flow.facts.detection_complete = true;
                    flow.dissect = DissectState::Finished;
                    dns_hints::fill_detected_hostname(&mut flow.facts);
                    flow.facts.shrink_to_fit();
                    change = Change::Completed;
                }
            }
        }
        if change == Change::Completed && flow.facts.final_facts != Final::ALL {
            // Detection is over (the classifier has had its say): nothing a criterion reads
            // changes any more.
            crate::dissect::risks::assess(&mut flow.facts);
            flow.facts.final_facts = Final::ALL;
        }
        Some((flow, change))
    }
}

/// Where a table's flows are seen: what a new flow needs to tell its local side.
struct Site {
    locality: Arc<Locality>,
    iface: IfaceName,
    /// The capture interface is external (WAN).
    external: bool,
}

impl Site {
    /// Make `sender`, one of the flow's two endpoints, its origin: the local and other sides
    /// are chosen again as for a new flow (with equally local ends the origin is the local one).
    fn set_origin(&self, facts: &mut FlowFacts, sender: (IpAddr, u16)) {
        let local = (facts.local_ip, facts.local_port, facts.local_mac);
        let other = (facts.other_ip, facts.other_port, facts.other_mac);
        let (origin, responder) = if (local.0, local.1) == sender { (local, other) } else { (other, local) };
        let (origin_is_local, other_type) = self.locality.sides(origin.0, responder.0);
        let (local, other) = if origin_is_local { (origin, responder) } else { (responder, origin) };
        if (local.0, local.1) != (facts.local_ip, facts.local_port) {
            facts.counters.swap_sides();
        }
        (facts.local_ip, facts.local_port, facts.local_mac) = local;
        (facts.other_ip, facts.other_port, facts.other_mac) = other;
        facts.local_origin = origin_is_local;
        facts.other_type = other_type;
    }

    fn new_flow(&self, lower_to_upper: bool, packet: &Packet<'_>, now: Duration, conntrack: bool) -> Flow {
        // A connection attempt (RFC 9293 §3.5: the SYN opens, the opener's ACK of the answer
        // establishes) whose conntrack facts wait until it is worth a query.
        let deferred = conntrack
            && packet.tcp.is_some_and(|t| t.has(tcp_flags::SYN) && !t.has(tcp_flags::ACK))
            && packet.payload.is_empty();
        let (origin, responder) = if super::origin::sender_opened(packet) {
            ((packet.src_ip, packet.src_port, packet.src_mac), (packet.dst_ip, packet.dst_port, packet.dst_mac))
        } else {
            ((packet.dst_ip, packet.dst_port, packet.dst_mac), (packet.src_ip, packet.src_port, packet.src_mac))
        };
        let (origin_is_local, other_type) = self.locality.sides(origin.0, responder.0);
        let (local, other) = if origin_is_local { (origin, responder) } else { (responder, origin) };
        let mut facts = FlowFacts {
            iface: self.iface.clone(),
            external: self.external,
            ip_version: if packet.src_ip.is_ipv4() { 4 } else { 6 },
            ip_protocol: packet.ip_protocol,
            vlan_id: packet.vlan_id,
            tunnel_type: packet.tunnel,
            ip_dscp: packet.dscp,
            local_ip: local.0,
            local_port: local.1,
            local_mac: local.2,
            other_ip: other.0,
            other_port: other.1,
            other_mac: other.2,
            local_origin: origin_is_local,
            other_type,
            // As the origin sent it: a reply seen first stands for its request.
            icmp: packet.icmp.map(|i| IcmpFacts {
                icmp_type: super::origin::icmp_request_of_reply(packet.ip_protocol, i.icmp_type).unwrap_or(i.icmp_type),
                code: i.code,
                id: i.id,
            }),
            // Only what the packet that created the flow fixed; detection adds the rest.
            final_facts: if deferred { Final::NONE } else { Final::CONNTRACK },
            ..FlowFacts::default()
        };
        let dissect = DissectState::start(&mut facts);
        Flow {
            facts,
            verdicts: Cold::default(),
            first_seen: now.into(),
            last_seen: now.into(),
            first_lower_to_upper: lower_to_upper,
            dissect,
            detection_packets: 0,
            state: match packet.tcp {
                Some(t) if t.has(tcp_flags::SYN) && t.has(tcp_flags::ACK) => ANSWERED | OPENED_BY_ANSWER,
                Some(t) if !t.has(tcp_flags::SYN) => ONE_WAY | ORIGIN_BY_PORTS,
                _ => ONE_WAY,
            } | if deferred { CONNTRACK_DEFERRED } else { 0 },
            filed: 0,
        }
    }
}

impl FlowTable {
    /// Make room for one flow: evict an unestablished flow, else one of the oldest still in
    /// detection, else the oldest. False when the table holds nothing to evict.
    fn evict_one(&mut self) -> bool {
        let Self { slab, created, .. } = self;
        let mut victim = None;
        while let Some((id, stamp)) = created.next_unestablished() {
            if slab.get(id).is_some_and(|f| Fifo::stamp(f) == stamp && !f.is_established()) {
                victim = Some(id);
                self.stats.evicted_unestablished += 1;
                break;
            }
        }
        if victim.is_none() {
            // Drop stale entries at the front, then look a little way in for an undetected flow.
            while let Some(&(id, stamp)) = created.queue.front() {
                if slab.get(id).is_some_and(|f| Fifo::stamp(f) == stamp) {
                    break;
                }
                created.pop_front();
            }
            let live = |&&(id, stamp): &&(u32, u32)| slab.get(id).is_some_and(|f| Fifo::stamp(f) == stamp);
            let undetected = created
                .queue
                .iter()
                .take(EVICTION_SCAN * 4)
                .filter(live)
                .take(EVICTION_SCAN)
                .position(|&(id, _)| slab.get(id).is_some_and(|f| !f.facts.detection_complete));
            victim = match undetected {
                Some(nth) => {
                    self.stats.evicted_undetected += 1;
                    created.queue.iter().take(EVICTION_SCAN * 4).filter(live).nth(nth).map(|&(id, _)| id)
                }
                None => {
                    let oldest = created.pop_front().map(|(id, _)| id);
                    if oldest.is_some() {
                        self.stats.evicted_oldest += 1;
                    }
                    oldest
                }
            };
        }
        let Some(id) = victim else { return false };
        let Some(mut flow) = self.remove_flow(id) else { return false };
        if self.config.keep_evicted {
            flow.end_detection(self.classifier.as_deref());
            self.evicted.push(flow);
        }
        true
    }

    /// Whether evicted flows wait for [`FlowTable::take_evicted`].
    pub fn has_evicted(&self) -> bool {
        !self.evicted.is_empty()
    }

    /// Hand over the flows evicted since the last call (with `keep_evicted`), in eviction order.
    pub fn take_evicted(&mut self, on_flow: impl FnMut(Flow)) {
        self.evicted.drain(..).for_each(on_flow);
    }

    /// Take flow `id` out of the index and the slab.
    fn remove_flow(&mut self, id: u32) -> Option<Flow> {
        let flow = self.slab.get(id)?;
        let hash = self.hasher.hash_one(flow.key());
        if let Ok(entry) = self.index.find_entry(hash, |&i| i == id) {
            entry.remove();
        }
        self.slab.remove(id)
    }

    /// Remove flows idle for longer than their timeout, at most once a second of `now`.
    pub fn expire(&mut self, now: Duration, mut on_expired: impl FnMut(Flow)) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + Duration::from_secs(1);
        while let Some((id, second)) = self.wheel.next_due(now) {
            let Some(flow) = self.slab.get_mut(id) else { continue };
            if flow.filed != second as u32 {
                continue; // stale: the flow was filed again, or the slot holds another flow
            }
            let deadline = flow.last_seen.as_duration() + idle_limit(&self.config, flow);
            if now <= deadline {
                flow.filed = self.wheel.schedule(id, now, deadline) as u32;
                continue;
            }
            if let Some(mut flow) = self.remove_flow(id) {
                self.stats.flows_expired += 1;
                flow.end_detection(self.classifier.as_deref());
                on_expired(flow);
            }
        }
    }

    /// Remove every flow (end of a capture file, shutdown), oldest first. The next packet may
    /// come from another clock (the next file), so expiry starts afresh.
    pub fn drain(&mut self, mut on_flow: impl FnMut(Flow)) {
        self.next_sweep = Duration::ZERO;
        self.wheel.clear();
        self.created.clear();
        if self.index.is_empty() {
            self.slab.clear();
            return;
        }
        self.index.clear();
        // Sort (first seen, slot) pairs rather than the flows themselves: a flow is a few
        // hundred bytes and a sort moves its elements many times.
        let mut order: Vec<(PacketTime, u32)> = Vec::with_capacity(self.slab.used);
        for (c, chunk) in self.slab.chunks.iter().enumerate() {
            for (i, flow) in chunk.iter().enumerate() {
                if let Some(flow) = flow {
                    order.push((flow.first_seen, (c * CHUNK + i) as u32));
                }
            }
        }
        order.sort_unstable();
        for (_, id) in order {
            if let Some(mut flow) = self.slab.remove(id) {
                flow.end_detection(self.classifier.as_deref());
                on_flow(flow);
            }
        }
        self.slab.clear();
    }
}

/// The longest idle timeout: how far the timer wheel must reach.
fn config_longest(config: &TableConfig) -> Duration {
    config.tcp_idle.max(config.other_idle).max(config.closed_idle)
}

fn idle_limit(config: &TableConfig, flow: &Flow) -> Duration {
    match (flow.facts.ip_protocol, flow.closing()) {
        (6, true) => config.closed_idle,
        (6, false) if !flow.is_established() => config.unestablished_idle.min(config.tcp_idle),
        (6, false) => config.tcp_idle,
        _ => config.other_idle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Packet, TcpInfo};
    use crate::dissect::dns::tests::{query, response};
    use std::net::{IpAddr, Ipv4Addr};

    fn table(max_flows: usize) -> FlowTable {
        let locality = Arc::new(Locality::new(vec!["192.168.1.0/24".parse().unwrap()], vec![]));
        FlowTable::new(TableConfig { max_flows, ..TableConfig::default() }, locality, "br-lan", false)
    }

    fn tcp<'a>(src: &str, sport: u16, dst: &str, dport: u16, flags: u8, payload: &'a [u8]) -> Packet<'a> {
        Packet {
            vlan_id: 0,
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            src_ip: src.parse::<IpAddr>().unwrap(),
            dst_ip: dst.parse::<IpAddr>().unwrap(),
            ip_protocol: 6,
            src_port: sport,
            dst_port: dport,
            tcp: Some(TcpInfo { seq: 1, flags }),
            payload,
            ip_len: 40 + payload.len() as u32,
            icmp: None,
            tunnel: crate::facts::TunnelType::None,
            dscp: 0,
        }
    }

    const SYN: u8 = tcp_flags::SYN;
    const SYN_ACK: u8 = tcp_flags::SYN | tcp_flags::ACK;
    const ACK: u8 = tcp_flags::ACK;

    #[test]
    fn a_flow_slot_stays_within_its_budget() {
        // Every tracked flow pays its slot: with the hash index, the timer wheel and typical
        // heap facts it must stay under 512 bytes (issue 7; `examples/flow-memory.rs`
        // measures the whole). A new fact that does not fit belongs out of line: see the
        // `facts` module documentation. 256 since the per-direction counters; the probing
        // state's ruled-out set is 32-bit words beside the state's tag, one bit per dissector
        // of the flow's transport, so it costs nothing more up to 160 dissectors per transport
        // (a TLS flow measured 538 bytes in all when a third 64-bit word made the slot 264).
        // 248 since the application's tag is one shared thin pointer (`SharedName`).
        let slot = std::mem::size_of::<Option<Flow>>();
        assert!(slot <= 248, "a flow slot grew to {slot} bytes");
    }

    #[test]
    fn call_hints_take_what_their_capacity_says() {
        // The default call hint cache, full: its slots and hash index (CALL_HINT_CAPACITY's doc
        // and docs/FLOW-ACTIONS.md §5 quote this).
        let t = table(10);
        let bytes = t.call_hints().map_or(0, |c| c.bytes_when_full());
        eprintln!("call hint cache: {bytes} bytes for {CALL_HINT_CAPACITY} endpoints");
        assert!(bytes > 0 && bytes <= 512 << 10, "{bytes} bytes");
    }

    #[test]
    fn both_directions_are_one_flow_with_local_and_other_sides() {
        let mut t = table(10);
        let s = Duration::from_secs(1);
        let (_, change) = t.process(&tcp("192.168.1.10", 40000, "93.184.216.34", 443, SYN, b""), s).unwrap();
        assert_eq!(change, Change::New);
        let (_, change) = t.process(&tcp("93.184.216.34", 443, "192.168.1.10", 40000, SYN_ACK, b""), s).unwrap();
        assert_eq!(change, Change::None);
        assert_eq!(t.len(), 1);
        let flow = t.flows_mut().next().unwrap();
        let f = &flow.facts;
        assert_eq!(f.local_ip.to_string(), "192.168.1.10");
        assert_eq!((f.local_port, f.other_port), (40000, 443));
        assert!(f.local_origin);
        assert_eq!(f.other_type, crate::facts::OtherType::Remote);
        assert_eq!((f.packets(), f.iface.as_ref()), (2, "br-lan"));
        assert_eq!((f.counters.packets, f.counters.bytes[0] > 0, f.counters.bytes[1] > 0), ([1, 1], true, true));
    }

    #[test]
    fn origin_follows_syn_then_first_sender() {
        // First packet seen is the SYN+ACK from the server: the receiver opened the flow.
        let mut t = table(10);
        t.process(&tcp("93.184.216.34", 443, "192.168.1.10", 40000, SYN_ACK, b""), Duration::ZERO).unwrap();
        let f = &t.flows_mut().next().unwrap().facts;
        assert!(f.local_origin, "the LAN client that received the SYN+ACK opened it");
        // An inbound SYN from the internet: the other side opened it, ours is still local.
        let mut t = table(10);
        t.process(&tcp("93.184.216.34", 50000, "192.168.1.10", 22, SYN, b""), Duration::ZERO).unwrap();
        let f = &t.flows_mut().next().unwrap().facts;
        assert!(!f.local_origin);
        assert_eq!((f.local_ip.to_string().as_str(), f.local_port), ("192.168.1.10", 22));
    }

    #[test]
    fn a_flow_first_seen_on_its_syn_ack_is_established_by_the_opener_and_kept_by_a_late_syn() {
        // Under a SYN flood the client's SYN may be lost from the capture or come after its
        // answer (docs/ARCHITECTURE.md, "Floods").
        let (client, server) = ("192.168.1.10", "93.184.216.34");
        let mut t = table(10);
        let (flow, change) = t.process(&tcp(server, 443, client, 40000, SYN_ACK, b""), Duration::ZERO).unwrap();
        assert_eq!(change, Change::New);
        assert!(!flow.is_established() && flow.facts.local_origin);
        let (flow, _) = t.process(&tcp(client, 40000, server, 443, ACK, b""), Duration::ZERO).unwrap();
        assert!(flow.is_established(), "the opener's ACK of the SYN+ACK (RFC 9293 §3.5)");
        let hello = tcp(client, 40000, server, 443, ACK | 0x08, b"\x16\x03\x01\x00\x05hello");
        t.process(&hello, Duration::from_millis(1)).unwrap();
        // The SYN, late: the same flow, still established, same origin and sides.
        let (flow, change) = t.process(&tcp(client, 40000, server, 443, SYN, b""), Duration::from_millis(2)).unwrap();
        assert_ne!(change, Change::New);
        assert!(flow.is_established() && flow.facts.local_origin);
        assert_eq!((flow.facts.local_port, flow.facts.other_port), (40000, 443));
        assert_eq!((t.len(), t.stats().flows_created), (1, 1));
        // Without the opener's ACK (a forged source never answers), the flow stays unestablished.
        let mut t = table(10);
        t.process(&tcp(server, 443, client, 40001, SYN_ACK, b""), Duration::ZERO).unwrap();
        let (flow, _) = t.process(&tcp(server, 443, client, 40001, SYN_ACK, b""), Duration::ZERO).unwrap();
        assert!(!flow.is_established(), "a retransmitted SYN+ACK");
        let (flow, _) = t.process(&tcp(client, 40001, server, 443, SYN, b""), Duration::ZERO).unwrap();
        assert!(!flow.is_established(), "a late SYN");
    }

    #[test]
    fn a_client_hello_names_the_origin_of_a_flow_seen_without_its_syn() {
        // dns_dot.pcap's ClientHello (nDPI's corpus), here from a client whose port is lower
        // than the server's: the ports alone would make the server the origin.
        let hello = crate::dissect::testing::hex(crate::dissect::tls::tests::DOT_CLIENT_HELLO);
        let mut t = table(10);
        t.process(&tcp("192.168.1.20", 1714, "192.168.1.10", 40000, ACK, b""), Duration::ZERO).unwrap();
        let f = &t.flows_mut().next().unwrap().facts;
        assert_eq!((f.local_ip.to_string().as_str(), f.local_port, f.local_origin), ("192.168.1.10", 40000, true));
        t.process(&tcp("192.168.1.20", 1714, "192.168.1.10", 40000, ACK, &hello), Duration::ZERO).unwrap();
        let f = &t.flows_mut().next().unwrap().facts;
        assert_eq!(f.tls.client_version, 0x0303);
        assert_eq!((f.local_ip.to_string().as_str(), f.local_port, f.local_origin), ("192.168.1.20", 1714, true));
        assert_eq!((f.other_port, f.local_mac), (40000, [2, 0, 0, 0, 0, 1]));
        // A remote client on a low port: the LAN server stays the local side, the remote end
        // becomes the origin.
        let mut t = table(10);
        t.process(&tcp("93.184.216.34", 1000, "192.168.1.10", 40000, ACK, &hello), Duration::ZERO).unwrap();
        let f = &t.flows_mut().next().unwrap().facts;
        assert_eq!((f.local_ip.to_string().as_str(), f.local_port, f.local_origin), ("192.168.1.10", 40000, false));
        // With the SYN seen, the handshake decides and the hello changes nothing.
        let mut t = table(10);
        t.process(&tcp("192.168.1.10", 40000, "192.168.1.20", 1714, SYN, b""), Duration::ZERO).unwrap();
        t.process(&tcp("192.168.1.20", 1714, "192.168.1.10", 40000, ACK, &hello), Duration::ZERO).unwrap();
        let f = &t.flows_mut().next().unwrap().facts;
        assert_eq!((f.local_ip.to_string().as_str(), f.local_port, f.local_origin), ("192.168.1.10", 40000, true));
    }

    #[test]
    fn an_echo_reply_seen_first_names_the_requester_and_its_request() {
        let mut t = table(10);
        let mut reply = tcp("93.184.216.34", 0, "192.168.1.10", 0, 0, b"");
        reply.ip_protocol = 1;
        reply.tcp = None;
        reply.icmp = Some(crate::decode::IcmpInfo { icmp_type: 0, code: 0, id: 99 });
        t.process(&reply, Duration::ZERO).unwrap();
        let f = &t.flows_mut().next().unwrap().facts;
        assert!(f.local_origin, "the LAN host that receives the reply pinged");
        assert_eq!(f.icmp, Some(IcmpFacts { icmp_type: 8, code: 0, id: 99 }));
        let tuple = crate::flow::ctcache::original_tuple(f).unwrap();
        assert_eq!(tuple.src.to_string(), "192.168.1.10", "conntrack's original direction is the request's");
    }

    #[test]
    fn conntrack_is_read_for_a_syn_flow_once_it_is_established_or_carries_payload() {
        use tcp_flags::{ACK, SYN};
        let locality = Arc::new(Locality::new(vec!["192.168.1.0/24".parse().unwrap()], vec![]));
        let config = TableConfig { conntrack: true, ..TableConfig::default() };
        let mut t = FlowTable::new(config, locality, "br-lan", false);
        let mut step = |p: &Packet<'_>| {
            let (flow, change) = t.process(p, Duration::ZERO).unwrap();
            let known = flow.facts.final_facts.contains(Final::CONNTRACK);
            (flow.conntrack_deferred(), flow.take_conntrack_due(), known, change)
        };
        // A bare SYN and its answer: deferred, the conntrack facts unknown (a flood's SYNs are
        // never answered).
        assert_eq!(step(&tcp("192.168.1.10", 40000, "1.1.1.1", 443, SYN, b"")), (true, false, false, Change::New));
        let answer = tcp("1.1.1.1", 443, "192.168.1.10", 40000, SYN | ACK, b"");
        assert_eq!(step(&answer), (true, false, false, Change::None));
        // The opener's ACK establishes it: due once, final from then on.
        let ack = tcp("192.168.1.10", 40000, "1.1.1.1", 443, ACK, b"");
        assert_eq!(step(&ack), (false, true, true, Change::Updated));
        assert_eq!(step(&ack), (false, false, true, Change::None));
        // A SYN that carries data (TCP Fast Open), a flow picked up mid-connection: never deferred.
        assert!(!step(&tcp("192.168.1.10", 40001, "1.1.1.1", 443, SYN, b"x")).0);
        assert_eq!(step(&tcp("192.168.1.10", 40002, "1.1.1.1", 443, ACK, b"")), (false, false, true, Change::New));
        // Without host conntrack (replay) nothing is deferred.
        let mut replay = table(10);
        let (flow, _) = replay.process(&tcp("192.168.1.10", 40000, "1.1.1.1", 443, SYN, b""), Duration::ZERO).unwrap();
        assert!(!flow.conntrack_deferred() && flow.facts.final_facts.contains(Final::CONNTRACK));
    }

    /// A TCP handshake from 192.168.1.10:`port` to 1.1.1.1:443.
    fn establish(t: &mut FlowTable, port: u16, at: Duration) {
        t.process(&tcp("192.168.1.10", port, "1.1.1.1", 443, SYN, b""), at).unwrap();
        t.process(&tcp("1.1.1.1", 443, "192.168.1.10", port, SYN_ACK, b""), at).unwrap();
        let (flow, _) = t.process(&tcp("192.168.1.10", port, "1.1.1.1", 443, ACK, b""), at).unwrap();
        assert!(flow.is_established());
    }

    #[test]
    fn idle_expiry_is_shorter_after_fin_and_for_udp() {
        let mut t = table(10);
        let start = Duration::from_secs(100);
        establish(&mut t, 1, start);
        t.process(&tcp("192.168.1.10", 2, "1.1.1.1", 443, SYN, b""), start).unwrap();
        t.process(&tcp("192.168.1.10", 2, "1.1.1.1", 443, tcp_flags::FIN | ACK, b""), start).unwrap();
        let mut udp = tcp("192.168.1.10", 3, "1.1.1.1", 53, 0, b"");
        udp.ip_protocol = 17;
        udp.tcp = None;
        t.process(&udp, start).unwrap();
        let mut expired = Vec::new();
        t.expire(start + Duration::from_secs(11), |f| expired.push(f.facts.local_port));
        assert_eq!(expired, [2], "closed TCP after 10 s");
        t.expire(start + Duration::from_secs(31), |f| expired.push(f.facts.local_port));
        assert_eq!(expired, [2, 3], "UDP after 30 s");
        t.expire(start + Duration::from_secs(299), |f| expired.push(f.facts.local_port));
        assert_eq!(expired.len(), 2, "open TCP lives 300 s");
        t.expire(start + Duration::from_secs(301), |f| expired.push(f.facts.local_port));
        assert_eq!(expired, [2, 3, 1]);
        assert_eq!(t.stats().flows_expired, 3);
    }

    #[test]
    fn expiry_follows_packet_times_across_gaps_and_reused_slots() {
        let mut t = table(10);
        let mut expired = Vec::new();
        let udp = |port| {
            let mut p = tcp("192.168.1.10", port, "1.1.1.1", 53, 0, b"");
            p.ip_protocol = 17;
            p.tcp = None;
            p
        };
        establish(&mut t, 1, Duration::from_secs(100));
        t.process(&udp(2), Duration::from_secs(100)).unwrap();
        t.expire(Duration::from_secs(131), |f| expired.push(f.facts.local_port));
        assert_eq!(expired, [2]);
        // The UDP flow's slot is reused; its old wheel entry must not touch the new flow.
        t.process(&udp(3), Duration::from_secs(140)).unwrap();
        t.expire(Duration::from_secs(170), |f| expired.push(f.facts.local_port));
        assert_eq!(expired, [2], "port 3 lives until 170 s");
        t.expire(Duration::from_secs(171), |f| expired.push(f.facts.local_port));
        assert_eq!(expired, [2, 3]);
        // Packets stop for longer than a wheel turn (512 s), then the TCP flow speaks again:
        // it lives 300 s from then, neither less nor a turn more.
        t.process(&tcp("192.168.1.10", 1, "1.1.1.1", 443, ACK, b""), Duration::from_secs(1700)).unwrap();
        t.expire(Duration::from_secs(1700), |f| expired.push(f.facts.local_port));
        t.expire(Duration::from_secs(2000), |f| expired.push(f.facts.local_port));
        assert_eq!(expired, [2, 3]);
        t.expire(Duration::from_secs(2001), |f| expired.push(f.facts.local_port));
        assert_eq!(expired, [2, 3, 1]);
        assert!(t.is_empty());
        assert_eq!(t.stats().flows_expired, 3);
    }

    #[test]
    fn a_full_table_evicts_unestablished_then_undetected_then_oldest() {
        let mut t = table(4);
        let server = "1.1.1.1";
        // An established TLS-port flow (SYN, SYN/ACK, ACK) and an answered-only one.
        t.process(&tcp("192.168.1.10", 1, server, 443, SYN, b""), Duration::ZERO).unwrap();
        t.process(&tcp(server, 443, "192.168.1.10", 1, SYN_ACK, b""), Duration::ZERO).unwrap();
        let (flow, _) = t.process(&tcp("192.168.1.10", 1, server, 443, ACK, b""), Duration::ZERO).unwrap();
        assert!(flow.is_established());
        t.process(&tcp("192.168.1.10", 2, server, 443, SYN, b""), Duration::ZERO).unwrap();
        let (flow, _) = t.process(&tcp(server, 443, "192.168.1.10", 2, SYN_ACK, b""), Duration::ZERO).unwrap();
        assert!(!flow.is_established(), "an answered SYN is not a handshake");
        // A flood of SYNs from random sources: each pushes out another unanswered flow only.
        for i in 0..10_000u32 {
            let src = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            assert!(t.process(&tcp(&src, 1000, "192.168.1.10", 80, SYN, b""), Duration::ZERO).is_some());
        }
        assert_eq!(t.len(), 4);
        assert_eq!(t.stats().flows_refused, 0);
        assert_eq!(t.stats().evicted_unestablished, 10_000 - 2);
        let key = |port| {
            FlowKey::of_endpoints(("192.168.1.10".parse().unwrap(), port), (server.parse().unwrap(), 443), 6, 0).0
        };
        assert!(t.get_mut(&key(1)).is_some(), "the established flow is kept");
        assert!(t.get_mut(&key(2)).is_none(), "the unestablished one went first");
        // Only established flows: the undetected ones go before the oldest.
        let mut t = table(2);
        for port in [1, 2, 3] {
            t.process(&tcp("192.168.1.10", port, server, 443, SYN, b""), Duration::ZERO).unwrap();
            t.process(&tcp(server, 443, "192.168.1.10", port, SYN_ACK, b""), Duration::ZERO).unwrap();
            t.process(&tcp("192.168.1.10", port, server, 443, ACK, b""), Duration::ZERO).unwrap();
        }
        assert_eq!(t.len(), 2);
        assert_eq!(t.stats().evicted_undetected + t.stats().evicted_oldest, 1);
        assert!(t.get_mut(&key(1)).is_none(), "the oldest undetected flow went");
        assert!(t.get_mut(&key(3)).is_some());
    }

    #[test]
    fn evicted_flows_are_kept_for_collection_only_when_asked() {
        let server = "1.1.1.1";
        for keep in [false, true] {
            let mut t = FlowTable::new(
                TableConfig { max_flows: 2, keep_evicted: keep, ..TableConfig::default() },
                Arc::new(Locality::new(vec!["192.168.1.0/24".parse().unwrap()], vec![])),
                "br-lan",
                false,
            );
            for port in [1, 2, 3, 4] {
                t.process(&tcp("192.168.1.10", port, server, 443, SYN, b""), Duration::ZERO).unwrap();
            }
            let mut ports = Vec::new();
            t.take_evicted(|f| ports.push(f.facts.local_port));
            assert_eq!(ports, if keep { vec![1, 2] } else { vec![] });
            assert!(!t.has_evicted());
        }
    }

    #[test]
    fn unestablished_tcp_flows_time_out_quickly() {
        let mut t = table(10);
        let mut expired = Vec::new();
        t.process(&tcp("192.168.1.10", 1, "1.1.1.1", 443, SYN, b""), Duration::from_secs(100)).unwrap();
        t.process(&tcp("192.168.1.10", 2, "1.1.1.1", 443, SYN, b""), Duration::from_secs(100)).unwrap();
        t.process(&tcp("1.1.1.1", 443, "192.168.1.10", 2, SYN_ACK, b""), Duration::from_secs(100)).unwrap();
        t.process(&tcp("192.168.1.10", 2, "1.1.1.1", 443, ACK, b""), Duration::from_secs(100)).unwrap();
        t.expire(Duration::from_secs(121), |f| expired.push(f.facts.local_port));
        assert_eq!(expired, [1]);
        t.expire(Duration::from_secs(401), |f| expired.push(f.facts.local_port));
        assert_eq!(expired, [1, 2]);
    }

    #[test]
    fn vlans_separate_flows() {
        let mut t = table(10);
        let mut p = tcp("192.168.1.10", 1, "1.1.1.1", 443, SYN, b"");
        t.process(&p, Duration::ZERO).unwrap();
        p.vlan_id = 7;
        let (flow, change) = t.process(&p, Duration::ZERO).unwrap();
        assert_eq!((change, flow.facts.vlan_id), (Change::New, 7));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_flow_no_dissector_claims_completes_as_guessed() {
        let mut t = table(10);
        t.process(&tcp("192.168.1.10", 1, "1.1.1.1", 80, SYN, b""), Duration::ZERO).unwrap();
        let (flow, change) = t
            .process(
                &tcp("192.168.1.10", 1, "1.1.1.1", 8999, ACK, b"\x00\xffnothing anyone speaks\x00\x01"),
                Duration::ZERO,
            )
            .unwrap();
        assert_eq!(change, Change::Completed);
        assert!(flow.facts.detection_complete);
        assert!(flow.facts.detection_guessed);
        assert_eq!(flow.facts.protocol, crate::facts::protocol::UNKNOWN);
    }

    /// A soft dissector that matches completes detection there and then (netifyd's behaviour,
    /// docs/FLOW-ACTIONS.md §5): every fact is final, the flag is set; a flow no line matches goes
    /// on being dissected.
    #[test]
    fn a_soft_dissector_match_completes_detection() {
        use crate::classify::apps::{encode_base64, AppCatalog};
        use crate::classify::categories::CategoryIndex;
        let text =
            format!("app:74:netify.steam\nnsd:74:-1:{}\n", encode_base64(b"protocol_id == 7 && other_port == 8080;"));
        let (apps, errors) = AppCatalog::parse("t.conf", &text);
        assert!(errors.is_empty(), "{errors:?}");
        let classifier = Classifier::new(apps, CategoryIndex::parse_json("t.json", "{}").0);
        let mut t = table(10).with_classifier(Arc::new(classifier));
        let request = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
        for port in [8080, 8081] {
            t.process(&tcp("192.168.1.10", port, "192.0.2.1", port, SYN, b""), Duration::ZERO).unwrap();
            let (flow, change) =
                t.process(&tcp("192.168.1.10", port, "192.0.2.1", port, ACK, request), Duration::ZERO).unwrap();
            let f = &flow.facts;
            assert_eq!(f.protocol, crate::facts::protocol::HTTP);
            if port == 8080 {
                assert_eq!(change, Change::Completed);
                assert!(f.detection_complete && !f.detection_guessed && f.final_facts == Final::ALL);
                assert!(flow.dissect.is_finished());
                assert_eq!((f.application.id, f.application.soft_dissector), (74, true));
            } else {
                assert_ne!(change, Change::Completed, "the HTTP dissector waits for the response");
                assert!(!f.detection_complete && !f.final_facts.contains(Final::DETECTION));
                assert_eq!((f.application.id, f.application.soft_dissector), (0, false));
            }
        }
    }

    fn packet<'a>(src: ([u8; 4], u16), dst: ([u8; 4], u16), ip_protocol: u8, payload: &'a [u8]) -> Packet<'a> {
        Packet {
            vlan_id: 0,
            src_mac: [0; 6],
            dst_mac: [0; 6],
            src_ip: IpAddr::V4(Ipv4Addr::from(src.0)),
            dst_ip: IpAddr::V4(Ipv4Addr::from(dst.0)),
            ip_protocol,
            src_port: src.1,
            dst_port: dst.1,
            tcp: (ip_protocol == 6).then_some(crate::decode::TcpInfo { seq: 1, flags: tcp_flags::SYN }),
            payload,
            ip_len: 40 + payload.len() as u32,
            icmp: None,
            tunnel: crate::facts::TunnelType::None,
            dscp: 0,
        }
    }

    #[test]
    fn dns_answers_name_later_flows() {
        let mut table =
            FlowTable::new(TableConfig::default(), Arc::new(Locality::new(Vec::new(), Vec::new())), "t", false);
        let client = ([192, 168, 1, 10], 40000);
        let resolver = ([192, 168, 1, 1], 53);
        let name = b"\x07example\x03com\x00";
        let now = Duration::from_secs(100);
        table.process(&packet(client, resolver, 17, &query(name, 1)), now);
        let (flow, change) = table.process(&packet(resolver, client, 17, &response(name)), now).unwrap();
        assert_eq!(change, Change::Completed);
        assert_eq!(flow.facts.protocol, crate::facts::protocol::DNS);
        let answers = &flow.facts.app_protocol.dns().unwrap().answers;
        assert_eq!((answers.len(), answers.capacity()), (2, 2), "completed facts keep no spare capacity");
        // `response()` answers 93.184.216.34.
        let (flow, _) =
            table.process(&packet(([192, 168, 1, 10], 40001), ([93, 184, 216, 34], 443), 6, &[]), now).unwrap();
        assert_eq!(flow.facts.dns_hostname.as_deref(), Some("example.com"));
        assert_eq!(flow.facts.detected_hostname(), None, "filled only when detection completes");
        let mut ended = Vec::new();
        table.drain(|f| ended.push(f));
        let https = ended.iter().find(|f| f.facts.other_port == 443).unwrap();
        assert_eq!(https.facts.protocol, crate::facts::protocol::TLS, "guessed by port at the end");
        assert_eq!(https.facts.detected_hostname(), Some("example.com"));
    }
}
