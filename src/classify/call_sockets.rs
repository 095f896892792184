//! Call sockets: the application a call's local UDP socket was tied to, for the call's other
//! flows (docs/FLOW-ACTIONS.md §5, "Call sockets").
//!
//! An ICE agent (RFC 8445 §5.1.1, §6.1.4) gathers its candidates and runs its connectivity
//! checks from one local socket: the TURN allocation, the binding requests to a public STUN
//! server and to every peer, then DTLS and (S)RTP (RFC 7983) all leave from the same address and
//! port. When one of those flows names its application by its own messages (a wire signature,
//! or the relay's REALM), the others from that socket are the same call. A STUN flow to a relay
//! whose address names an application (Telegram's published networks) ties the socket too, but
//! more weakly: it never replaces what a flow's messages said, and gives its application only
//! to flows that have none (a binding request to a peer), not to flows other addresses name
//! (a call's request to Google's public STUN server stays Google's unless the call's messages
//! named it). Only flows of the
//! WebRTC multiplex (STUN, DTLS, RTP, RTCP) take an application from here, and an entry lasts
//! [`HOLD`] after it was last used, so a port reused later (or by another host behind a NAT)
//! is not tied to an old call for long.
//!
//! Bounded: at most `capacity` sockets, the table allocated when the cache is made; the oldest
//! entry gives way when it is full. Learning happens when a flow's facts change, never per
//! packet.

use std::net::IpAddr;
use std::time::Duration;

use hashbrown::HashMap;

use super::signatures;
use crate::facts::protocol;
use crate::facts::FlowFacts;

/// How long a socket stays tied to its application after its last use.
pub const HOLD: Duration = Duration::from_secs(600);

#[derive(Debug)]
struct Entry {
    id: u32,
    until: Duration,
    /// Learned from a flow's messages (not only its address).
    by_messages: bool,
}

/// Local UDP socket → the application a call from it named.
#[derive(Debug)]
pub struct CallSockets {
    sockets: HashMap<(IpAddr, u16), Entry, foldhash::fast::RandomState>,
    capacity: usize,
}

/// Protocols of the WebRTC multiplex (RFC 7983): the flows an ICE socket carries.
fn is_call_protocol(p: protocol::ProtocolId) -> bool {
    matches!(p, protocol::STUN | protocol::DTLS | protocol::RTP | protocol::RTCP)
}

/// The flow named its application itself: a wire signature, or the host name a STUN relay's
/// REALM gave.
fn named_by_its_messages(facts: &FlowFacts) -> bool {
    facts.application.id != 0
        && !facts.application.from_dns_hint
        && (signatures::signature_of(facts).is_some() || facts.app_protocol.stun().is_some_and(|s| s.realm))
}

impl CallSockets {
    /// A cache of at most `capacity` sockets (at least one).
    pub fn new(capacity: usize) -> CallSockets {
        let capacity = capacity.max(1);
        CallSockets {
            sockets: HashMap::with_capacity_and_hasher(capacity, foldhash::fast::RandomState::default()),
            capacity,
        }
    }

    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    /// After a UDP flow's facts changed and it was classified: learn its socket when it named
    /// its application, or find the application its socket is tied to. Returns the
    /// application ID to give the flow, if it should change.
    pub fn update(&mut self, facts: &FlowFacts, now: Duration) -> Option<u32> {
        if facts.ip_protocol != 17 || !is_call_protocol(facts.protocol) {
            return None;
        }
        let key = (facts.local_ip, facts.local_port);
        let live = self.sockets.get(&key).filter(|e| e.until > now);
        if named_by_its_messages(facts) {
            self.insert(key, Entry { id: facts.application.id, until: now + HOLD, by_messages: true }, now);
            return None;
        }
        let by_address = facts.application.id != 0 && !facts.application.from_dns_hint;
        if by_address && facts.protocol == protocol::STUN && !live.is_some_and(|e| e.by_messages) {
            self.insert(key, Entry { id: facts.application.id, until: now + HOLD, by_messages: false }, now);
            return None;
        }
        let entry = self.sockets.get_mut(&key).filter(|e| e.until > now)?;
        entry.until = now + HOLD;
        let gives = entry.by_messages || facts.application.id == 0;
        (gives && entry.id != facts.application.id).then_some(entry.id)
    }

    /// On a packet that changed nothing, of a flow still in detection: the application a
    /// call's messages tied its socket to since the flow was last classified (a call asks
    /// Google's public STUN server before its own relay names the call). One lookup; only for
    /// UDP flows of the WebRTC multiplex.
    pub fn recheck(&mut self, facts: &FlowFacts, now: Duration) -> Option<u32> {
        if facts.ip_protocol != 17 || !is_call_protocol(facts.protocol) {
            return None;
        }
        let entry = self.sockets.get(&(facts.local_ip, facts.local_port)).filter(|e| e.until > now)?;
        let differs = entry.by_messages && entry.id != facts.application.id;
        (differs && !named_by_its_messages(facts)).then_some(entry.id)
    }

    fn insert(&mut self, key: (IpAddr, u16), entry: Entry, now: Duration) {
        if self.sockets.len() >= self.capacity && !self.sockets.contains_key(&key) {
            self.sockets.retain(|_, e| e.until > now);
            if self.sockets.len() >= self.capacity {
                let oldest = self.sockets.iter().min_by_key(|(_, e)| e.until).map(|(k, _)| *k);
                if let Some(oldest) = oldest {
                    self.sockets.remove(&oldest);
                }
            }
        }
        self.sockets.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Classifier;
    use crate::facts::stun::StunClient;

    const T0: Duration = Duration::from_secs(1000);

    /// A STUN flow from the local socket 192.168.2.12:56328 to `other`, classified with the
    /// built-in data; `msg` is its first message (hex) from a WhatsApp voice call's frames (see
    /// dissect::stun's tests): what the STUN dissector finds in it is set here (this module does
    /// not run dissectors): WhatsApp's relay answer (attribute 0x4002) or a plain binding request.
    fn stun_flow(c: &Classifier, msg: &str, other: &str) -> FlowFacts {
        let mut f = FlowFacts { ip_protocol: 17, local_port: 56328, other_port: 3478, ..FlowFacts::default() };
        if msg.contains("40020008") {
            f.app_protocol.stun_mut().client = StunClient::WhatsApp;
        }
        f.protocol = protocol::STUN;
        f.local_ip = "192.168.2.12".parse().unwrap();
        f.other_ip = other.parse().unwrap();
        c.classify(&mut f);
        f
    }

    #[test]
    fn a_call_socket_names_the_calls_other_flows() {
        let c = Classifier::load_default();
        let mut sockets = CallSockets::new(8);
        // WhatsApp's relay answers an Allocate (its private attribute 0x4002), then the same
        // socket sends a plain binding request to the other caller (MESSAGE-INTEGRITY only):
        // the frames of a WhatsApp voice call (see dissect::stun's tests).
        let relay = stun_flow(
            &c,
            "010300182112a442a6674f75f0ad2c001315b336002000080001ed8671a60672400200080000016b8e034333",
            "31.13.86.48",
        );
        assert_eq!(relay.application.tag.as_deref(), Some("netify.whatsapp"));
        assert_eq!(sockets.update(&relay, T0), None);
        let peer_binding = "000100182112a442598b5154d52991564c4666040008001460299848dfab932358548c7d235e82768b4958a7";
        let mut peer = stun_flow(&c, peer_binding, "91.252.56.51");
        assert_ne!(peer.application.tag.as_deref(), Some("netify.whatsapp"));
        let id = sockets.update(&peer, T0 + Duration::from_secs(5)).expect("the socket is WhatsApp's");
        assert!(c.give_application(&mut peer, id));
        assert_eq!(peer.application.tag.as_deref(), Some("netify.whatsapp"));
        assert_ne!(peer.application.category, 0);
        // Another local port, a TCP flow, or a TLS flow from that socket: not the call.
        let mut other_port = peer.clone();
        other_port.local_port = 56329;
        other_port.application = Default::default();
        assert_eq!(sockets.update(&other_port, T0), None);
        let mut tls = peer.clone();
        tls.protocol = protocol::TLS;
        assert_eq!(sockets.update(&tls, T0), None);
        let mut tcp = peer.clone();
        tcp.ip_protocol = 6;
        assert_eq!(sockets.update(&tcp, T0), None);
        // HOLD after its last use the socket is forgotten.
        peer.application = Default::default();
        assert_eq!(sockets.update(&peer, T0 + Duration::from_secs(5) + HOLD), None);
    }

    #[test]
    fn an_address_ties_a_socket_weakly() {
        let c = Classifier::load_default();
        let plain = "000100182112a442598b5154d52991564c4666040008001460299848dfab932358548c7d235e82768b4958a7";
        let relay = "010300182112a442a6674f75f0ad2c001315b336002000080001ed8671a60672400200080000016b8e034333";
        // A binding request to a Meta relay: Facebook's by its network (not WhatsApp's).
        let meta = stun_flow(&c, plain, "31.13.86.48");
        let facebook = meta.application.id;
        assert_ne!(facebook, 0);
        assert_ne!(meta.application.tag.as_deref(), Some("netify.whatsapp"));
        let mut sockets = CallSockets::new(8);
        assert_eq!(sockets.update(&meta, T0), None);
        // A peer flow with no application of its own gets the relay's owner ...
        let mut peer = stun_flow(&c, plain, "198.51.100.7");
        assert_eq!(peer.application.id, 0);
        assert_eq!(sockets.update(&peer, T0), Some(facebook));
        // ... but a flow another address names keeps its own.
        let google = stun_flow(&c, plain, "74.125.128.127");
        assert_ne!(google.application.id, 0);
        assert_eq!(sockets.update(&google, T0), None);
        // WhatsApp's own messages then tie the socket for good: an address does not undo it.
        let whatsapp = stun_flow(&c, relay, "31.13.86.48");
        assert_eq!(sockets.update(&whatsapp, T0), None);
        assert_eq!(sockets.update(&meta, T0), c.apps.by_tag("netify.whatsapp").map(|a| a.id));
        peer.application = Default::default();
        assert_eq!(sockets.update(&peer, T0), c.apps.by_tag("netify.whatsapp").map(|a| a.id));
    }

    #[test]
    fn a_flow_classified_before_the_call_was_named_is_rechecked() {
        let c = Classifier::load_default();
        let mut sockets = CallSockets::new(8);
        let plain = "000100182112a442598b5154d52991564c4666040008001460299848dfab932358548c7d235e82768b4958a7";
        // The call asks Google's public STUN server first: Google's, and nothing to recheck.
        let google = stun_flow(&c, plain, "74.125.128.127");
        assert_eq!(sockets.update(&google, T0), None);
        assert_eq!(sockets.recheck(&google, T0), None);
        // Then WhatsApp's relay answers from the same socket: the earlier flow is the call's.
        let relay = stun_flow(
            &c,
            "010300182112a442a6674f75f0ad2c001315b336002000080001ed8671a60672400200080000016b8e034333",
            "31.13.86.48",
        );
        assert_eq!(sockets.update(&relay, T0), None);
        let whatsapp = c.apps.by_tag("netify.whatsapp").map(|a| a.id);
        assert_eq!(sockets.recheck(&google, T0 + Duration::from_secs(1)), whatsapp);
        // The relay's own flow needs nothing.
        assert_eq!(sockets.recheck(&relay, T0), None);
    }

    #[test]
    fn bounded() {
        let c = Classifier::load_default();
        let mut sockets = CallSockets::new(2);
        let relay = stun_flow(
            &c,
            "010300182112a442a6674f75f0ad2c001315b336002000080001ed8671a60672400200080000016b8e034333",
            "31.13.86.48",
        );
        for port in 1..50 {
            let mut f = relay.clone();
            f.local_port = port;
            sockets.update(&f, T0 + Duration::from_secs(u64::from(port)));
            assert!(sockets.len() <= 2);
        }
        // The newest two remain.
        let mut f = relay.clone();
        f.application = Default::default();
        f.app_protocol = Default::default();
        f.local_port = 49;
        assert!(sockets.update(&f, T0 + Duration::from_secs(60)).is_some());
        f.local_port = 1;
        assert_eq!(sockets.update(&f, T0 + Duration::from_secs(60)), None);
    }
}
