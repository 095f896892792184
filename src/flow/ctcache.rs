//! The conntrack facts of flows (`ip_nat`, `ct_mark`): a bounded cache fed by conntrack events,
//! consulted by workers when a flow is created and when its facts change — never per packet.
//!
//! One listener thread reads the kernel's conntrack events (new, update, destroy) and keeps, per
//! connection, whether it is translated and its mark, under both its original tuple and its
//! reply tuple reversed (the WAN-side copy of a NAT'd flow carries the translated addresses).
//! A worker that misses the cache asks the kernel directly ([`CtLookup`]). Without conntrack
//! (no module, no permission) both fail: `ip_nat` stays false and `ct_mark` 0, with one warning.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hashbrown::HashMap;

use super::key::FlowKey;
use crate::facts::{ip_proto, FlowFacts};
use crate::netlink::conntrack::{is_nat, ConntrackEvents, ConntrackSocket, CtEntry, CtEvent, CtL4, CtTuple};

/// What conntrack says about one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtFacts {
    /// Translated (Netify's `ip_nat` rule: the reply does not simply swap the addresses).
    pub nat: bool,
    pub mark: u32,
}

/// Both directions of a connection give the same key (endpoints in order); ICMP queries use
/// their identifier as both ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CtKey {
    proto: u8,
    lower: (IpAddr, u16),
    upper: (IpAddr, u16),
}

impl CtKey {
    fn of(t: &CtTuple) -> CtKey {
        let (sport, dport) = match t.l4 {
            CtL4::Ports { sport, dport } => (sport, dport),
            CtL4::Icmp { id, .. } => (id, id),
        };
        let (a, b) = ((t.src, sport), (t.dst, dport));
        let (lower, upper) = if a <= b { (a, b) } else { (b, a) };
        CtKey { proto: t.proto, lower, upper }
    }
}

/// Counters of the cache, for status and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CtCacheStats {
    pub entries: usize,
    pub events: u64,
    /// Connections not cached because the cache was full.
    pub refused: u64,
}

/// The shared cache. Its lock is taken by the listener per event and by workers per lookup
/// (flow creation, fact change), not per packet.
#[derive(Debug)]
pub struct CtCache {
    map: Mutex<HashMap<CtKey, CtFacts, foldhash::fast::RandomState>>,
    capacity: usize,
    events: AtomicU64,
    refused: AtomicU64,
    /// A listener is feeding the cache.
    listening: AtomicBool,
}

impl CtCache {
    /// A cache holding at most `capacity` keys (two per translated connection).
    pub fn new(capacity: usize) -> CtCache {
        CtCache {
            map: Mutex::new(HashMap::with_hasher(foldhash::fast::RandomState::default())),
            capacity,
            events: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            listening: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CtKey, CtFacts, foldhash::fast::RandomState>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What conntrack last said about the connection `tuple` (either direction) belongs to.
    pub fn get(&self, tuple: &CtTuple) -> Option<CtFacts> {
        self.lock().get(&CtKey::of(tuple)).copied()
    }

    /// Remember an entry (from an event or a direct query). True when the cache learnt
    /// something: a connection it did not hold, or a new mark or NAT state.
    pub fn insert(&self, entry: &CtEntry) -> bool {
        let facts = CtFacts { nat: is_nat(entry), mark: entry.mark };
        let keys = [CtKey::of(&entry.original), CtKey::of(&entry.reply)];
        let mut map = self.lock();
        let mut changed = false;
        for (n, key) in keys.iter().enumerate() {
            if n == 1 && keys[1] == keys[0] {
                break;
            }
            if map.len() >= self.capacity && !map.contains_key(key) {
                self.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            changed |= map.insert(*key, facts) != Some(facts);
        }
        changed
    }

    /// Apply one conntrack event; true when it changed what the cache says (see [`insert`]).
    ///
    /// [`insert`]: CtCache::insert
    pub fn apply(&self, event: &CtEvent) -> bool {
        self.events.fetch_add(1, Ordering::Relaxed);
        match event {
            CtEvent::Update(entry) => self.insert(entry),
            CtEvent::Destroy(entry) => {
                let mut map = self.lock();
                map.remove(&CtKey::of(&entry.original));
                map.remove(&CtKey::of(&entry.reply));
                false
            }
        }
    }

    pub fn stats(&self) -> CtCacheStats {
        CtCacheStats {
            entries: self.lock().len(),
            events: self.events.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }
}

/// A connection whose conntrack facts changed, as the flow keys (VLAN 0) its packets have on
/// either side of a NAT: the original tuple and the reply tuple reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtChange {
    pub keys: [FlowKey; 2],
}

impl CtChange {
    pub fn of(entry: &CtEntry) -> CtChange {
        let key = |t: &CtTuple| {
            let (sport, dport) = match t.l4 {
                CtL4::Ports { sport, dport } => (sport, dport),
                // ICMP flows are keyed without ports.
                CtL4::Icmp { .. } => (0, 0),
            };
            FlowKey::of_endpoints((t.src, sport), (t.dst, dport), t.proto, 0).0
        };
        CtChange { keys: [key(&entry.original), key(&entry.reply)] }
    }
}

/// Start the thread that feeds `cache` from conntrack events until `stop` is set, and tells
/// every worker (`workers`, bounded queues; a full queue drops the notice) which connections
/// changed, so a mark the firewall sets later reaches the flow's facts. `None` (and a debug
/// note) when the event socket cannot be opened; lookups then go to the kernel.
pub fn spawn_listener(
    cache: Arc<CtCache>,
    stop: Arc<AtomicBool>,
    workers: Vec<crossbeam_channel::Sender<CtChange>>,
) -> Option<std::thread::JoinHandle<()>> {
    let mut events = match ConntrackEvents::open() {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!("conntrack events unavailable ({e}): ip_nat and ct_mark from direct lookups only");
            return None;
        }
    };
    cache.listening.store(true, Ordering::Relaxed);
    let thread = std::thread::Builder::new().name("conntrack".into()).spawn(move || {
        let mut reported_overruns = 0;
        while !stop.load(Ordering::Relaxed) {
            let notify = |event: CtEvent| {
                if let (true, CtEvent::Update(entry)) = (cache.apply(&event), event) {
                    let change = CtChange::of(&entry);
                    for worker in &workers {
                        // A full queue: the flow still learns at its next fact change.
                        let _ = worker.try_send(change);
                    }
                }
            };
            if let Err(e) = events.poll(notify) {
                tracing::warn!("conntrack events stopped ({e}): ip_nat and ct_mark from direct lookups only");
                break;
            }
            if events.overruns != reported_overruns {
                reported_overruns = events.overruns;
                tracing::debug!(overruns = reported_overruns, "conntrack events lost (receive buffer full)");
            }
        }
        cache.listening.store(false, Ordering::Relaxed);
    });
    match thread {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!("cannot start the conntrack listener: {e}");
            None
        }
    }
}

/// Warns once per process that conntrack cannot be read.
fn warn_unavailable(e: &dyn std::fmt::Display) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| tracing::warn!("conntrack unavailable ({e}): ip_nat stays false and ct_mark 0"));
}

/// A worker's view of conntrack: the shared cache, then a direct query on a miss.
#[derive(Debug)]
pub struct CtLookup {
    cache: Arc<CtCache>,
    socket: Option<ConntrackSocket>,
    unavailable: bool,
}

impl CtLookup {
    pub fn new(cache: Arc<CtCache>) -> CtLookup {
        CtLookup { cache, socket: None, unavailable: false }
    }

    /// Fill `ct_mark`, and `ip_nat` on external interfaces, from conntrack. Called when a flow
    /// is created (`new_flow`) and when its facts change. Returns true when either fact changed.
    ///
    /// On a cache miss the kernel is asked directly — with a listener running, only for a new
    /// flow (a connection older than the listener has sent no event yet); later misses are
    /// connections conntrack does not track, and their events would have filled the cache.
    pub fn fill(&mut self, facts: &mut FlowFacts, new_flow: bool) -> bool {
        let Some(tuple) = original_tuple(facts) else { return false };
        let ask_kernel = new_flow || !self.cache.is_listening();
        let cached = self.cache.get(&tuple);
        let Some(found) = cached.or_else(|| if ask_kernel { self.query(&tuple) } else { None }) else {
            return false;
        };
        let nat = facts.external && found.nat;
        let changed = facts.ip_nat != nat || facts.ct_mark != found.mark;
        facts.ip_nat = nat;
        facts.ct_mark = found.mark;
        changed
    }

    fn query(&mut self, tuple: &CtTuple) -> Option<CtFacts> {
        if self.unavailable {
            return None;
        }
        if self.socket.is_none() {
            match ConntrackSocket::open() {
                Ok(s) => self.socket = Some(s),
                Err(e) => {
                    self.unavailable = true;
                    if !self.cache.is_listening() {
                        warn_unavailable(&e);
                    }
                    return None;
                }
            }
        }
        let socket = self.socket.as_mut()?;
        match socket.find(tuple) {
            Ok(Some(entry)) => {
                self.cache.insert(&entry);
                Some(CtFacts { nat: is_nat(&entry), mark: entry.mark })
            }
            Ok(None) => None,
            Err(e) if e.errno() == Some(libc::EPERM) || e.errno() == Some(libc::EOPNOTSUPP) => {
                self.unavailable = true;
                if !self.cache.is_listening() {
                    warn_unavailable(&e);
                }
                None
            }
            Err(e) => {
                tracing::debug!("conntrack lookup of {tuple}: {e}");
                self.socket = None;
                None
            }
        }
    }
}

/// The conntrack tuple of the flow's original direction (the side that opened it). `None` for
/// flows conntrack has no entry of their own for: ICMP messages other than queries (errors
/// belong to the connection they report on), or ICMP seen without its header.
pub fn original_tuple(flow: &FlowFacts) -> Option<CtTuple> {
    let (origin, responder) = if flow.local_origin {
        ((flow.local_ip, flow.local_port), (flow.other_ip, flow.other_port))
    } else {
        ((flow.other_ip, flow.other_port), (flow.local_ip, flow.local_port))
    };
    if matches!(flow.ip_protocol, ip_proto::ICMP | ip_proto::ICMPV6) {
        let icmp = flow.icmp?;
        let (request, was_reply) = icmp_query(flow.ip_protocol, icmp.icmp_type)?;
        // conntrack's original direction is the request's, even when we saw the reply first.
        let (src, dst) = if was_reply { (responder.0, origin.0) } else { (origin.0, responder.0) };
        return Some(CtTuple::icmp(src, dst, icmp.id, request, icmp.code));
    }
    Some(CtTuple::ports(origin.0, origin.1, responder.0, responder.1, flow.ip_protocol))
}

/// For an ICMP query type conntrack tracks, the request type and whether `icmp_type` is the
/// reply (nf_conntrack_proto_icmp.c / icmpv6.c `invmap`): echo, timestamp, information and
/// address mask for IPv4; echo and node information for IPv6.
fn icmp_query(proto: u8, icmp_type: u8) -> Option<(u8, bool)> {
    let pairs: &[(u8, u8)] =
        if proto == ip_proto::ICMP { &[(8, 0), (13, 14), (15, 16), (17, 18)] } else { &[(128, 129), (139, 140)] };
    pairs.iter().find_map(|&(request, reply)| match icmp_type {
        t if t == request => Some((request, false)),
        t if t == reply => Some((request, true)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// LAN 192.168.1.10:40000 -> 10.99.0.2:443, masqueraded to 10.99.0.1:40000.
    fn natted(mark: u32) -> CtEntry {
        CtEntry {
            original: CtTuple::ports(ip("192.168.1.10"), 40000, ip("10.99.0.2"), 443, 6),
            reply: CtTuple::ports(ip("10.99.0.2"), 443, ip("10.99.0.1"), 40000, 6),
            mark,
            labels: 0,
        }
    }

    #[test]
    fn both_sides_of_a_translated_connection_are_found_and_destroy_forgets_them() {
        let cache = CtCache::new(100);
        cache.apply(&CtEvent::Update(natted(0)));
        let lan = CtTuple::ports(ip("192.168.1.10"), 40000, ip("10.99.0.2"), 443, 6);
        let wan = CtTuple::ports(ip("10.99.0.1"), 40000, ip("10.99.0.2"), 443, 6);
        assert_eq!(cache.get(&lan), Some(CtFacts { nat: true, mark: 0 }));
        assert!(!cache.apply(&CtEvent::Update(natted(0))), "the same facts again: no change");
        let change = CtChange::of(&natted(0));
        assert_eq!(change.keys[0].lower_ip, ip("10.99.0.2"));
        assert_eq!((change.keys[1].lower_ip, change.keys[1].upper_ip), (ip("10.99.0.1"), ip("10.99.0.2")));
        assert_eq!(cache.get(&wan), Some(CtFacts { nat: true, mark: 0 }));
        // Seen the other way round (the server's answer first): same connection.
        let wan_reversed = CtTuple::ports(ip("10.99.0.2"), 443, ip("10.99.0.1"), 40000, 6);
        assert!(cache.get(&wan_reversed).is_some());
        // A later event carries the mark the firewall set.
        assert!(cache.apply(&CtEvent::Update(natted(0x42))));
        assert_eq!(cache.get(&wan).map(|f| f.mark), Some(0x42));
        assert_eq!(cache.stats().entries, 2);
        cache.apply(&CtEvent::Destroy(natted(0x42)));
        assert_eq!((cache.get(&lan), cache.get(&wan), cache.stats().entries), (None, None, 0));
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = CtCache::new(3);
        for port in 0..10u16 {
            let t = CtTuple::ports(Ipv4Addr::new(10, 0, 0, 1).into(), port, Ipv4Addr::new(10, 0, 0, 2).into(), 80, 6);
            let reply = CtTuple::ports(t.dst, 80, t.src, port, 6);
            cache.insert(&CtEntry { original: t, reply, mark: 0, labels: 0 });
        }
        assert_eq!(cache.stats().entries, 3);
        assert_eq!(cache.stats().refused, 7);
    }

    #[test]
    fn a_lookup_fills_mark_everywhere_and_nat_only_on_external_interfaces() {
        let cache = Arc::new(CtCache::new(100));
        cache.apply(&CtEvent::Update(natted(0x42)));
        let mut lookup = CtLookup::new(cache);
        let mut facts = FlowFacts {
            ip_protocol: 6,
            local_ip: ip("10.99.0.1"),
            local_port: 40000,
            other_ip: ip("10.99.0.2"),
            other_port: 443,
            local_origin: true,
            ..FlowFacts::default()
        };
        assert!(lookup.fill(&mut facts, true));
        assert_eq!((facts.ip_nat, facts.ct_mark), (false, 0x42), "internal interface: no ip_nat");
        facts.external = true;
        assert!(lookup.fill(&mut facts, true));
        assert_eq!((facts.ip_nat, facts.ct_mark), (true, 0x42));
        assert!(!lookup.fill(&mut facts, true), "nothing new");
    }
}
