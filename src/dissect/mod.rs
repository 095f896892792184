//! Protocol dissectors: one file per protocol, one trait, and a registry that runs them on a
//! flow's first packets until detection completes.
//!
//! A new protocol is its file (a [`Dissector`]: `PROTOCOL`, a probe, its [`Ports`] table and,
//! unless the probe says all there is, a `parse`; integers read through `reader`), its `pub mod`
//! line below, one line in the `registry!` list of [`registry`] (which also reaches the `dissect`
//! fuzz target and its seeds), and its name in `protocol` if the ID is new.

pub mod ajp;
pub mod bacnet;
pub mod bgp;
pub mod bitcoin;
pub mod bittorrent;
pub mod bjnp;
pub mod can;
pub mod ceph;
pub mod cipher_suites;
pub mod coap;
pub mod dcerpc;
pub mod dhcp;
pub mod dhcpv6;
pub mod discord;
pub mod dnp3;
pub mod dns;
pub mod dropbox;
pub mod elasticsearch;
pub mod ethereum;
pub mod fastcgi;
pub mod fix;
pub mod ftp;
pub mod git;
pub mod gnutella;
pub mod gquic;
pub mod hislip;
pub mod hsrp;
pub mod http;
pub mod ike;
pub mod jrmi;
pub mod kafka;
pub mod kcp;
pub mod kerberos;
pub mod ldap;
pub mod mail;
pub mod mining;
pub mod monero;
pub mod mongodb;
pub mod mqtt;
pub mod munin;
pub mod mysql;
pub mod natpmp;
pub mod netbios;
pub mod ntp;
pub mod oicq;
pub mod openvpn;
pub mod postgres;
use crate::facts::protocol;
pub mod quic;
pub mod radius;
pub mod rdp;
mod reader;
pub mod registry;
pub mod ripe_atlas;
pub mod risks;
pub mod rmcp;
pub mod rsync;
pub mod rtp;
pub mod rtsp;
pub mod sdrtn;
pub mod sip;
pub mod slp;
pub mod smb;
pub mod snmp;
pub mod socks;
pub mod source_engine;
pub mod spotify;
pub mod ssdp;
pub mod ssh;
pub mod starttls;
pub mod stream;
pub mod stun;
pub mod syncthing;
pub mod syslog;
pub mod tds;
pub mod telnet;
pub mod teredo;
pub mod text;
pub mod tls;
pub mod tocaboca;
pub mod tuya;
pub mod ubntac2;
pub mod vnc;
pub mod whatsapp;
pub mod whois;
pub mod wireguard;
pub mod x509;
pub mod xiaomi;
pub mod xmpp;
pub mod zabbix;

pub use crate::facts::Direction;
use crate::facts::FlowFacts;

/// One transport payload handed to a dissector.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub direction: Direction,
    /// TCP sequence number of the first payload byte; `None` for UDP.
    pub tcp_seq: Option<u32>,
    pub payload: &'a [u8],
}

/// A dissector's first look at a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The payload is certainly this protocol.
    Certain,
    /// Could be: not enough bytes to tell yet.
    Unsure,
    /// Not this protocol.
    NotForUs,
}

impl Probe {
    /// `Certain` when `yes`, else `NotForUs`: for protocols one payload decides.
    pub fn certain_if(yes: bool) -> Probe {
        if yes {
            Probe::Certain
        } else {
            Probe::NotForUs
        }
    }
}

/// What a parse step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// Nothing new; wants more segments.
    Continue,
    /// New facts were written; wants more segments.
    Updated,
    /// Detection for this protocol is finished (facts may have changed).
    Done,
    /// Gave up, for this reason; facts keep what was learned.
    Skipped(Skip),
}

/// Why a dissector gave up on a flow it had claimed. The registry counts them
/// ([`registry::skipped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The bytes do not parse as the protocol (a bad header or message, a fatal alert).
    Malformed,
    /// The reassembly buffer filled before a whole message arrived.
    TooLarge,
    /// The protocol does not run over this transport as the dissector reads it.
    WrongTransport,
    /// A shortlisted flow whose later packets did not confirm the protocol (RTP).
    Unconfirmed,
    /// The packets the dissector reads ran out before what it looks for (QUIC Initials).
    NotFound,
}

impl Skip {
    /// Every reason, in the order [`registry::skipped`] counts them.
    pub const ALL: [Skip; 5] =
        [Skip::Malformed, Skip::TooLarge, Skip::WrongTransport, Skip::Unconfirmed, Skip::NotFound];

    pub fn name(self) -> &'static str {
        match self {
            Skip::Malformed => "malformed",
            Skip::TooLarge => "too_large",
            Skip::WrongTransport => "wrong_transport",
            Skip::Unconfirmed => "unconfirmed",
            Skip::NotFound => "not_found",
        }
    }
}

/// What the registry knows about a flow while probing: its transport and ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowInfo {
    /// IANA protocol number (6 TCP, 17 UDP, …).
    pub ip_protocol: u8,
    /// Both ports of the flow, in no particular order.
    pub ports: [u16; 2],
}

impl FlowInfo {
    pub const TCP: u8 = crate::facts::ip_proto::TCP;
    pub const UDP: u8 = crate::facts::ip_proto::UDP;

    pub fn is_tcp(&self) -> bool {
        self.ip_protocol == Self::TCP
    }

    pub fn is_udp(&self) -> bool {
        self.ip_protocol == Self::UDP
    }

    /// True when either end of the flow uses `port`.
    pub fn has_port(&self, port: u16) -> bool {
        self.ports[0] == port || self.ports[1] == port
    }
}

/// A protocol parser. Implementations never panic and never allocate per packet once warm.
///
/// The registry probes every dissector on a flow's first payloads (either direction) through
/// [`Dissector::probe_flow`]; a dissector that only needs the payload implements
/// [`Dissector::probe`] instead.
pub trait Dissector: Default {
    /// Netify protocol ID this dissector sets when its probe is certain (`parse` may refine it,
    /// e.g. DNS → mDNS).
    const PROTOCOL: protocol::ProtocolId;
    /// False when a certain probe only shortlists the flow and `parse` names it once later
    /// packets confirm (RTP): until then the flow stays unnamed, and gets the port guess if
    /// the dissector gives up or detection ends.
    const NAMED_ON_CLAIM: bool = true;
    /// Cheap check on the first payload of a flow in either direction.
    fn probe(_segment: &Segment<'_>) -> Probe {
        Probe::NotForUs
    }
    /// Like [`Dissector::probe`], knowing the flow's transport and ports.
    fn probe_flow(_flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Self::probe(segment)
    }
    /// This protocol's well-known ports. Only a tie-breaker between certain probes, and the
    /// guess for a flow no dissector claimed (Netify's `detection_guessed`); never a reason to
    /// claim a flow on its own.
    const PORTS: Ports = Ports::NONE;
    /// The flow uses one of [`Dissector::PORTS`] on its transport.
    fn port_hint(flow: &FlowInfo) -> bool {
        Self::PORTS.hint(flow)
    }
    /// Consume one segment and write what it shows into `facts`. The default suits a dissector
    /// whose certain probe is all there is to learn: detection is done.
    fn parse(&mut self, _segment: &Segment<'_>, _facts: &mut FlowFacts) -> Parsed {
        Parsed::Done
    }
}

/// A protocol's well-known ports, per transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub tcp: &'static [u16],
    pub udp: &'static [u16],
}

impl Ports {
    /// No well-known port: the dissector is found by payload only.
    pub const NONE: Ports = Ports { tcp: &[], udp: &[] };

    /// The same ports on TCP and UDP.
    pub const fn both(ports: &'static [u16]) -> Ports {
        Ports { tcp: ports, udp: ports }
    }

    pub const fn tcp(ports: &'static [u16]) -> Ports {
        Ports { tcp: ports, udp: &[] }
    }

    pub const fn udp(ports: &'static [u16]) -> Ports {
        Ports { tcp: &[], udp: ports }
    }

    /// Either end of `flow` uses one of these ports on the flow's transport.
    pub fn hint(&self, flow: &FlowInfo) -> bool {
        let ports = match flow.ip_protocol {
            FlowInfo::TCP => self.tcp,
            FlowInfo::UDP => self.udp,
            _ => &[],
        };
        ports.iter().any(|&p| flow.has_port(p))
    }
}

/// Helpers shared by the dissectors' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Bytes from a hex string (packets copied from a capture).
    pub fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    pub fn udp(ports: [u16; 2]) -> FlowInfo {
        FlowInfo { ip_protocol: FlowInfo::UDP, ports }
    }

    pub fn tcp(ports: [u16; 2]) -> FlowInfo {
        FlowInfo { ip_protocol: FlowInfo::TCP, ports }
    }

    /// A segment of a flow: TCP segments get a sequence number, UDP ones none.
    pub fn segment<'a>(flow: &FlowInfo, direction: Direction, seq: u32, payload: &'a [u8]) -> Segment<'a> {
        Segment { direction, tcp_seq: flow.is_tcp().then_some(seq), payload }
    }

    /// Probe and parse one payload of a fresh flow; the facts after it.
    pub fn run_one<D: Dissector>(flow: &FlowInfo, payload: &[u8]) -> (Probe, Parsed, FlowFacts) {
        let s = segment(flow, Direction::Forward, 0, payload);
        let probe = D::probe_flow(flow, &s);
        let mut facts = FlowFacts {
            ip_protocol: flow.ip_protocol,
            local_port: flow.ports[0],
            other_port: flow.ports[1],
            ..FlowFacts::default()
        };
        let parsed = D::default().parse(&s, &mut facts);
        (probe, parsed, facts)
    }

    /// Feed payloads alternating in direction, probing each: must never panic.
    pub fn no_panic<D: Dissector>(flow: &FlowInfo, payloads: &[Vec<u8>]) {
        let mut d = D::default();
        let mut facts = FlowFacts { ip_protocol: flow.ip_protocol, ..FlowFacts::default() };
        let mut seq = [0u32; 2];
        for (i, p) in payloads.iter().enumerate() {
            let dir = if i % 2 == 0 { Direction::Forward } else { Direction::Reverse };
            let s = segment(flow, dir, seq[dir.index()], p);
            let _ = D::probe_flow(flow, &s);
            let _ = d.parse(&s, &mut facts);
            seq[dir.index()] = seq[dir.index()].wrapping_add(p.len() as u32);
        }
    }

    /// Every prefix of `payload` probes and parses without panicking, and no strict prefix
    /// shorter than `certain_from` is certain.
    pub fn truncations<D: Dissector>(flow: &FlowInfo, payload: &[u8]) {
        for cut in 0..payload.len() {
            let _ = run_one::<D>(flow, &payload[..cut]);
        }
    }
}
