//! The DNS hint cache: which name a client looked up to reach an address.
//!
//! DNS responses seen by a worker fill it (A/AAAA answer address → the question's name, for
//! the answer's TTL); later flows to that address get the name as Netify's `dns_hostname`, and
//! as `detected_hostname` when their own dissection found none (docs/FLOW-ACTIONS.md §4).
//!
//! Bounded: at most `capacity` entries in a [`ClockCache`] (an entry looked up since the hand
//! last passed gets a second chance; expired entries go first). Insert and lookup are O(1)
//! amortised, with no allocation once the slots are full except for the name itself, which is
//! shared (`SharedName`) with the flows that use it.

use std::net::IpAddr;
use std::time::Duration;

use super::clock::ClockCache;
use crate::facts::dns::{DnsAnswer, DnsFacts};
use crate::facts::protocol;
use crate::facts::{FlowFacts, SharedName};

/// TTLs are clamped to this range: a TTL of 0 would make the hint useless for the flow that
/// follows the lookup at once, and very long TTLs would pin stale names.
pub const MIN_TTL: u32 = 60;
pub const MAX_TTL: u32 = 24 * 3600;

/// Address → hostname hints learned from DNS answers.
#[derive(Debug)]
pub struct DnsHintCache {
    cache: ClockCache<IpAddr, SharedName>,
}

impl DnsHintCache {
    /// A cache holding at most `capacity` addresses (at least one).
    pub fn new(capacity: usize) -> DnsHintCache {
        DnsHintCache { cache: ClockCache::new(capacity) }
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Remember that `ip` was the answer for `name`, for `ttl` seconds from `now` (clamped to
    /// [`MIN_TTL`]..=[`MAX_TTL`]). A newer answer for the same address replaces the name.
    pub fn insert(&mut self, ip: IpAddr, name: SharedName, ttl: u32, now: Duration) {
        let expires = now + Duration::from_secs(u64::from(ttl.clamp(MIN_TTL, MAX_TTL)));
        self.cache.insert(ip, name, expires, now);
    }

    /// The name for `ip`, if an unexpired answer gave one (the entry counts as in use).
    pub fn lookup(&mut self, ip: IpAddr, now: Duration) -> Option<SharedName> {
        self.cache.get(&ip, now, true).cloned()
    }

    /// Learn every A/AAAA answer of a DNS flow under its question name.
    pub fn learn(&mut self, dns: &DnsFacts, now: Duration) {
        let Some(query) = dns.query.as_deref().filter(|q| !q.is_empty()) else {
            return;
        };
        let name = SharedName::from(query);
        for answer in &dns.answers {
            if let DnsAnswer::Addr(ip, ttl) = answer {
                self.insert(*ip, name.clone(), *ttl, now);
            }
        }
    }

    /// Give a new flow the name its other address was looked up by (`dns_hostname`). DNS
    /// flows themselves are not hinted: their server's name is not what they are about.
    pub fn hint_new_flow(&mut self, facts: &mut FlowFacts, now: Duration) {
        if facts.dns_hostname.is_some() || is_dns_family(facts.protocol) {
            return;
        }
        if let Some(name) = self.lookup(facts.other_ip, now) {
            facts.dns_hostname = Some(name);
        }
    }
}

/// DNS, mDNS and LLMNR flows: they fill the cache rather than use it.
pub fn is_dns_family(protocol_id: protocol::ProtocolId) -> bool {
    matches!(protocol_id, protocol::DNS | protocol::MDNS | protocol::LLMNR)
}

/// When detection completes without a hostname of its own, the DNS hint stands in
/// (Netify fills `detected_hostname` from the DNS hint cache when it is empty).
pub fn fill_detected_hostname(facts: &mut FlowFacts) {
    if let Some(name) = facts.dns_hostname.clone().filter(|_| facts.detected_hostname().is_none()) {
        facts.set_detected_hostname(&*name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
    }

    const T0: Duration = Duration::from_secs(1000);

    #[test]
    fn insert_lookup_and_expiry() {
        let mut c = DnsHintCache::new(8);
        c.insert(ip(1), "a.example".into(), 300, T0);
        assert_eq!(c.lookup(ip(1), T0).as_deref(), Some("a.example"));
        assert_eq!(c.lookup(ip(1), T0 + Duration::from_secs(299)).as_deref(), Some("a.example"));
        assert_eq!(c.lookup(ip(1), T0 + Duration::from_secs(300)), None);
        assert_eq!(c.lookup(ip(2), T0), None);
        // TTL 0 is clamped up so the flow right after the lookup still finds it.
        c.insert(ip(3), "b.example".into(), 0, T0);
        assert_eq!(c.lookup(ip(3), T0 + Duration::from_secs(59)).as_deref(), Some("b.example"));
        c.insert(ip(3), "c.example".into(), 100, T0);
        assert_eq!(c.lookup(ip(3), T0).as_deref(), Some("c.example"));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn bounded_with_second_chance() {
        let mut c = DnsHintCache::new(3);
        for n in 1..=3 {
            c.insert(ip(n), format!("h{n}").as_str().into(), 300, T0);
        }
        assert!(c.lookup(ip(1), T0).is_some()); // referenced: survives the next eviction
        c.insert(ip(4), "h4".into(), 300, T0);
        assert_eq!(c.len(), 3);
        assert!(c.lookup(ip(1), T0).is_some());
        assert!(c.lookup(ip(4), T0).is_some());
        assert_eq!([2, 3].iter().filter(|&&n| c.lookup(ip(n), T0).is_some()).count(), 1);
        for n in 10..200 {
            c.insert(ip(n), "x".into(), 300, T0);
            assert!(c.len() <= 3);
            assert_eq!(c.cache.index_len(), c.len());
        }
    }

    #[test]
    fn learns_from_dns_and_hints_flows() {
        let dns = DnsFacts {
            query: Some("www.example.com".into()),
            answers: vec![DnsAnswer::Cname("cdn.example.net".into(), 60), DnsAnswer::Addr(ip(7), 120)],
            ..DnsFacts::default()
        };
        let mut c = DnsHintCache::new(16);
        c.learn(&dns, T0);
        let mut f = FlowFacts { protocol: protocol::TLS, other_ip: ip(7), ..FlowFacts::default() };
        c.hint_new_flow(&mut f, T0 + Duration::from_secs(5));
        assert_eq!(f.dns_hostname.as_deref(), Some("www.example.com"));
        fill_detected_hostname(&mut f);
        assert_eq!(f.detected_hostname(), Some("www.example.com"));
        let mut d = FlowFacts { protocol: protocol::DNS, other_ip: ip(7), ..FlowFacts::default() };
        c.hint_new_flow(&mut d, T0);
        assert_eq!(d.dns_hostname, None);
    }
}
