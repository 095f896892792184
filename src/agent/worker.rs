//! The worker, shared by replay and live capture: decode, flow table, dissection and action
//! evaluation on one thread.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use crate::actions::ActionSet;
use crate::capture::Frame;
use crate::decode::{self, DecodeError};
use crate::enforce::MatchEvent;
use crate::flow::ctcache::{CtChange, CtLookup};
use crate::flow::table::{Change, Flow, FlowTable};

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
    /// NFQUEUE capture: what the queue said about the packet being processed.
    pub queued: Option<super::nfqueue::QueuedMeta>,
    /// NFQUEUE capture: the last packet's flow is decided and its connection should get the
    /// bypass mark (its key).
    pub queued_bypass: Option<crate::flow::key::FlowKey>,
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
            queued: None,
            queued_bypass: None,
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
        let Some((flow, mut change)) = self.table.process(&packet, now) else {
            return;
        };
        if let Some(meta) = &self.queued {
            if super::nfqueue::note_queued(&mut flow.facts, meta, &packet) && change == Change::None {
                change = Change::Updated;
            }
            self.queued_bypass = super::nfqueue::wants_bypass(flow, meta);
        }
        if !self.evaluate {
            return;
        }
        if change != Change::None {
            // Conntrack is consulted when the flow's facts change, not per packet, and for a flow
            // opened by a bare SYN only once it is established or carries payload (its
            // conntrack facts are not final until then): a SYN flood from random sources costs
            // no conntrack query (docs/ARCHITECTURE.md, "Floods").
            let first_read = flow.take_conntrack_due();
            if let Some(conntrack) = &mut self.conntrack {
                if !flow.conntrack_deferred() {
                    conntrack.fill(&mut flow.facts, change == Change::New || first_read);
                }
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
                    let event =
                        MatchEvent { action: action.name.clone(), flow: event_flow.clone(), at, times: flow.times() };
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

    /// Expire idle flows ([`FlowTable::expire`]) and drain the table (`now` `None`, the end
    /// of a capture file or shutdown). A flow whose detection was still running completes it
    /// as it ends (Netify's guess at expiry): the flows `mine` accepts are evaluated on those
    /// final facts before `on_end` gets them, so every flow whose final facts satisfy an
    /// action has fired it. Only first matches act (no refresh of a flow that is gone).
    pub fn end_flows(
        &mut self,
        now: Option<Duration>,
        mine: impl Fn(&Flow) -> bool,
        mut dispatch: impl FnMut(&mut Flow, Dispatch),
        mut on_end: impl FnMut(Flow),
    ) {
        let actions = self.actions.load();
        let evaluate_now = self.evaluate;
        let conntrack = &mut self.conntrack;
        let mut end = |mut flow: Flow| {
            if let (true, Some(conntrack)) = (flow.conntrack_deferred(), conntrack.as_mut()) {
                // Never established: what the listener heard, no kernel query per flow.
                conntrack.fill(&mut flow.facts, false);
            }
            end_flow(&actions, evaluate_now, flow, &mine, &mut dispatch, &mut on_end)
        };
        match now {
            Some(now) => self.table.expire(now, &mut end),
            None => self.table.drain(&mut end),
        }
    }

    /// End the flows a full table evicted since the last call (replay's table keeps them, see
    /// [`FlowTable::take_evicted`]) as [`Worker::end_flows`] ends expired ones.
    pub fn end_evicted(
        &mut self,
        mine: impl Fn(&Flow) -> bool,
        mut dispatch: impl FnMut(&mut Flow, Dispatch),
        mut on_end: impl FnMut(Flow),
    ) {
        if !self.table.has_evicted() {
            return;
        }
        let actions = self.actions.load();
        let evaluate_now = self.evaluate;
        self.table.take_evicted(|flow| end_flow(&actions, evaluate_now, flow, &mine, &mut dispatch, &mut on_end));
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

/// A flow that leaves the table: its facts final, evaluated once more (when `evaluate` and
/// `mine` say so), then handed to `on_end`.
fn end_flow(
    actions: &ActionSet,
    evaluate_now: bool,
    mut flow: Flow,
    mine: &impl Fn(&Flow) -> bool,
    dispatch: &mut impl FnMut(&mut Flow, Dispatch),
    on_end: &mut impl FnMut(Flow),
) {
    flow.facts.mark_ending();
    if evaluate_now && mine(&flow) {
        let at = packet_time(flow.last_seen.as_duration());
        evaluate(actions, &mut flow, at, false, dispatch);
    }
    on_end(flow);
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
        let event = MatchEvent { action: action.name.clone(), flow: event_flow.clone(), at, times: flow.times() };
        dispatch(flow, Dispatch { targets: action.targets.clone(), event, refresh: !first });
    }
    flow.verdicts.last_refresh = flow.last_seen.as_duration();
}

/// Packet time as wall-clock time.
pub fn packet_time(ts: Duration) -> SystemTime {
    UNIX_EPOCH + ts
}
