//! The call hint cache: which application a call's UDP endpoints belong to, for the call's
//! other flows (docs/FLOW-ACTIONS.md §5, "A call's other flows").
//!
//! Wire facts: an ICE agent (RFC 8445 §5.1.1, §6.1.4) gathers its candidates and runs its
//! connectivity checks from one local socket per component, and sends the call's DTLS and
//! (S)RTP from it too (RFC 7983 multiplexes them on one 5-tuple): the flows that share an
//! endpoint with a flow whose own messages name its application (a wire signature:
//! WhatsApp's or Microsoft's attributes, the REALM of Google's, Signal's or Telegram's relays,
//! `dissect::stun`), or that exchange STUN with a network published as that call's relays
//! (`super::CALL_RELAY_NETWORKS`), are that call's. A TURN client names the peers its relay is to reach in
//! XOR-PEER-ADDRESS attributes (RFC 8656 §18.3): they are that call's other ends.
//!
//! What is learned, from every UDP datagram that is one STUN message with the magic cookie
//! (the flow table hands them over, whatever the state of their flow's detection):
//! - a message that names an application (or is sent to or from a published call relay, the
//!   flow table asks the classifier) teaches both its endpoints and its peer addresses;
//! - any other message refreshes the endpoints of its own that the cache holds, and when one of
//!   them is held, teaches its peer addresses that endpoint's application (the TURN client's
//!   CreatePermission after an Allocate that named the call).
//!
//! Nothing else teaches: a flow named only by its server's address (Google's public STUN
//! server, which every WebRTC application uses; the shared ranges of Google, Meta, Telegram)
//! or by this cache itself does not pass its application on, so one call's name does not
//! spread to the unrelated calls of a shared server. An entry lasts [`HOLD`] after the last message that taught or refreshed it (ICE
//! keeps a call's sockets busy: consent checks every few seconds, RFC 7675 §5.1), so a port
//! reused later is not tied to an old call for long.
//!
//! What is given: a UDP flow the dissectors named STUN, DTLS, RTP or RTCP whose own
//! messages named no application gets the application of one of its endpoints in
//! `AppFacts::call_hint`; the classifier ranks it below the flow's own wire signature and host
//! name, above its DNS hint and its server's address (docs/FLOW-ACTIONS.md §5).
//!
//! Bounded: at most `capacity` endpoints in a [`ClockCache`], with no allocation once full.
//! Only learning references an entry (lookups do not), so what the cache holds depends only on
//! the frames it learned from: parallel replay hands every worker those frames
//! (`agent::parallel`), and each worker's cache is the same as one worker's. Live capture's
//! workers (AF_PACKET fanout) each learn from their own flows only: a call whose flows hash to
//! different workers may not be named (docs/ARCHITECTURE.md, "Decisions and why").

use std::net::IpAddr;
use std::time::Duration;

use super::clock::ClockCache;
use crate::facts::protocol;
use crate::facts::stun::StunClient;
use crate::facts::FlowFacts;

/// How long an endpoint stays tied to its call after the last STUN message that touched it.
pub const HOLD: Duration = Duration::from_secs(300);

/// A UDP endpoint: address and port.
pub type Endpoint = (IpAddr, u16);

/// Endpoint → the application of the call it is in.
#[derive(Debug)]
pub struct CallHintCache {
    cache: ClockCache<Endpoint, StunClient>,
}

impl CallHintCache {
    /// A cache holding at most `capacity` endpoints (at least one).
    pub fn new(capacity: usize) -> CallHintCache {
        CallHintCache { cache: ClockCache::new(capacity) }
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Bytes the cache takes once full.
    pub fn bytes_when_full(&self) -> usize {
        self.cache.bytes_when_full()
    }

    /// Learn from one STUN message sent from `src` to `dst` (see the module documentation):
    /// `named` is what the message itself names, `peers` its XOR-PEER-ADDRESS values.
    pub fn learn(
        &mut self,
        src: Endpoint,
        dst: Endpoint,
        named: StunClient,
        peers: impl Iterator<Item = Endpoint>,
        now: Duration,
    ) {
        let until = now + HOLD;
        let client = if named != StunClient::Unknown {
            self.cache.insert(src, named, until, now);
            self.cache.insert(dst, named, until, now);
            named
        } else {
            let from_src = self.cache.refresh(&src, until, now).copied();
            let from_dst = self.cache.refresh(&dst, until, now).copied();
            match from_src.or(from_dst) {
                Some(client) => client,
                None => return,
            }
        };
        for peer in peers {
            self.cache.insert(peer, client, until, now);
        }
    }

    /// The application of the call `endpoint` is in, if the cache holds it unexpired.
    pub fn lookup(&mut self, endpoint: Endpoint, now: Duration) -> Option<StunClient> {
        self.cache.get(&endpoint, now, false).copied()
    }

    /// Give a flow its call's application (`call_hint`) when it is a call transport whose own
    /// messages named none: STUN, DTLS, RTP or RTCP over UDP. Its local endpoint is
    /// asked first (the ICE socket), then its other one. Returns whether the flow got one.
    pub fn hint_flow(&mut self, facts: &mut FlowFacts, now: Duration) -> bool {
        let own = facts.app_protocol.stun().map_or(StunClient::Unknown, |s| s.client);
        if facts.application.call_hint != StunClient::Unknown || own != StunClient::Unknown || !is_call_transport(facts)
        {
            return false;
        }
        let found = self
            .lookup((facts.local_ip, facts.local_port), now)
            .or_else(|| self.lookup((facts.other_ip, facts.other_port), now));
        match found {
            Some(client) => {
                facts.application.call_hint = client;
                true
            }
            None => false,
        }
    }
}

/// The protocols of the WebRTC multiplex (RFC 7983) over UDP: what an ICE socket carries.
pub fn is_call_transport(facts: &FlowFacts) -> bool {
    facts.ip_protocol == 17
        && matches!(facts.protocol, protocol::STUN | protocol::DTLS | protocol::RTP | protocol::RTCP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const T0: Duration = Duration::from_secs(1000);

    fn ep(n: u8, port: u16) -> Endpoint {
        (IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), port)
    }

    fn stun_flow(local: Endpoint, other: Endpoint) -> FlowFacts {
        FlowFacts {
            ip_protocol: 17,
            protocol: protocol::STUN,
            local_ip: local.0,
            local_port: local.1,
            other_ip: other.0,
            other_port: other.1,
            ..FlowFacts::default()
        }
    }

    #[test]
    fn a_named_message_ties_both_endpoints_and_its_peers() {
        let mut c = CallHintCache::new(16);
        let (client, relay, peer) = (ep(1, 40000), ep(2, 3478), ep(3, 50000));
        c.learn(client, relay, StunClient::WhatsApp, [peer].into_iter(), T0);
        for e in [client, relay, peer] {
            assert_eq!(c.lookup(e, T0), Some(StunClient::WhatsApp));
        }
        // Another port of the same host is another socket.
        assert_eq!(c.lookup(ep(1, 40001), T0), None);
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn an_unnamed_message_teaches_nothing_new_but_refreshes_and_adds_peers() {
        let mut c = CallHintCache::new(16);
        let (client, relay, stun_server) = (ep(1, 40000), ep(2, 3478), ep(9, 19302));
        // A binding request to a public STUN server from a socket nothing named: nothing.
        c.learn(client, stun_server, StunClient::Unknown, [ep(4, 1)].into_iter(), T0);
        assert!(c.is_empty());
        c.learn(client, relay, StunClient::Signal, std::iter::empty(), T0);
        // The same socket's request to the public server later: the server is not tied (it
        // serves everyone), the socket's entry is kept alive and its peers are the call's.
        let later = T0 + HOLD - Duration::from_secs(1);
        c.learn(client, stun_server, StunClient::Unknown, [ep(5, 2)].into_iter(), later);
        assert_eq!(c.lookup(stun_server, later), None);
        assert_eq!(c.lookup(ep(5, 2), later), Some(StunClient::Signal));
        assert_eq!(c.lookup(client, T0 + HOLD + Duration::from_secs(10)), Some(StunClient::Signal));
        // The relay was not refreshed: it expires HOLD after it was taught.
        assert_eq!(c.lookup(relay, T0 + HOLD), None);
    }

    #[test]
    fn bounded_and_evicted_by_learning_only() {
        let mut c = CallHintCache::new(3);
        for n in 1..=3 {
            c.learn(ep(n, 1), ep(n, 1), StunClient::WhatsApp, std::iter::empty(), T0);
        }
        // A lookup does not keep an entry (workers that own different flows must evict alike);
        // a message that touches it does.
        assert!(c.lookup(ep(1, 1), T0).is_some());
        c.learn(ep(2, 1), ep(8, 8), StunClient::Unknown, std::iter::empty(), T0);
        c.learn(ep(4, 1), ep(4, 1), StunClient::Telegram, std::iter::empty(), T0);
        assert_eq!(c.len(), 3);
        assert_eq!(c.lookup(ep(1, 1), T0), None, "looked up only: evicted first");
        assert!(c.lookup(ep(2, 1), T0).is_some());
        assert_eq!(c.lookup(ep(4, 1), T0), Some(StunClient::Telegram));
        for n in 10..200 {
            c.learn(ep(n, 1), ep(n, 1), StunClient::Google, std::iter::empty(), T0);
            assert!(c.len() <= 3);
            assert_eq!(c.cache.index_len(), c.len());
        }
    }

    #[test]
    fn only_call_transports_without_their_own_application_are_hinted() {
        let mut c = CallHintCache::new(16);
        let v6 = (IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)), 40000);
        c.learn(v6, ep(2, 3478), StunClient::WhatsApp, std::iter::empty(), T0);
        // A peer check from the same socket.
        let mut f = stun_flow(v6, ep(7, 50000));
        assert!(c.hint_flow(&mut f, T0));
        assert_eq!(f.application.call_hint, StunClient::WhatsApp);
        for p in [protocol::RTP, protocol::RTCP, protocol::DTLS] {
            let mut f = stun_flow(v6, ep(7, 50000));
            f.protocol = p;
            assert!(c.hint_flow(&mut f, T0), "{p:?}");
        }
        // Not a call transport, or not UDP: left alone.
        let mut quic = stun_flow(v6, ep(7, 50000));
        quic.protocol = protocol::QUIC;
        assert!(!c.hint_flow(&mut quic, T0));
        let mut tcp = stun_flow(v6, ep(7, 50000));
        tcp.ip_protocol = 6;
        assert!(!c.hint_flow(&mut tcp, T0));
        // Its own messages named another application: kept.
        let mut own = stun_flow(v6, ep(7, 50000));
        own.app_protocol.stun_mut().client = StunClient::Microsoft;
        assert!(!c.hint_flow(&mut own, T0));
        // The near miss: another socket of the same host, to a server nothing named.
        let mut other = stun_flow((v6.0, 40002), ep(9, 19302));
        assert!(!c.hint_flow(&mut other, T0));
        assert_eq!(other.application.call_hint, StunClient::Unknown);
        // Expired.
        let mut late = stun_flow(v6, ep(7, 50000));
        assert!(!c.hint_flow(&mut late, T0 + HOLD));
    }
}
