//! Protocol dissectors: one file per protocol, one trait, and a registry that runs them on a
//! flow's first packets until detection completes.
//!
//! A new protocol is its file (a [`Dissector`]: `PROTOCOL`, a probe, its [`Ports`] table and,
//! unless the probe says all there is, a `parse`; integers read through `reader`), its `pub mod`
//! line below, one line in the `registry!` list of [`registry`] (which also reaches the `dissect`
//! fuzz target and its seeds), and its name in `protocol` if the ID is new.

pub mod activision;
pub mod afp;
pub mod ajp;
pub mod alicloud;
pub mod amazon_video;
pub mod amqp;
pub mod answered;
pub mod armagetron;
pub mod atg;
pub mod avast;
pub mod bacnet;
pub mod beckhoff_ads;
pub mod bfcp;
pub mod bfd;
pub mod bgp;
pub mod bitcoin;
pub mod bittorrent;
pub mod bjnp;
pub mod c1222;
pub mod c37118;
pub mod can;
pub mod capwap;
pub mod cassandra;
pub mod ceph;
pub mod checkmk;
pub mod cipher_suites;
pub mod citrix;
pub mod cnp_ip;
pub mod coap;
pub mod cod_mobile;
pub mod collectd;
pub mod crossfire;
pub mod crynet;
pub mod dcerpc;
pub mod dhcp;
pub mod dhcpv6;
pub mod diameter;
pub mod dingtalk;
pub mod discord;
pub mod dlep;
pub mod dlms;
pub mod dnp3;
pub mod dns;
pub mod dnscrypt;
pub mod dofus;
pub mod drda;
pub mod dropbox;
pub mod eaq;
pub mod edonkey;
pub mod egd;
pub mod elasticsearch;
pub mod epicgames;
pub mod ethereum;
pub mod ethernet_ip;
pub mod ethersbus;
pub mod ethersio;
pub mod fastcgi;
pub mod fins;
pub mod fix;
pub mod flute;
pub mod ftp;
pub mod gaijin;
pub mod gearman;
pub mod genshin;
pub mod giop;
pub mod git;
pub mod gnutella;
pub mod gquic;
pub mod gtp_prime;
pub mod guildwars;
pub mod h323;
pub mod halflife2;
pub mod haproxy;
pub mod hart_ip;
pub mod hislip;
pub mod hl7;
pub mod hots;
pub mod hp_virtgrp;
pub mod hsrp;
pub mod http;
pub mod http2;
pub mod http_payload;
pub mod iax;
pub mod icecast;
pub mod iec104;
pub mod ike;
pub mod imo;
pub mod iqiyi;
pub mod irc;
pub mod jrmi;
pub mod json_rpc;
pub mod kafka;
pub mod kcp;
pub mod kerberos;
pub mod kismet;
pub mod knxnet_ip;
pub mod ldap;
pub mod ldp;
pub mod line_call;
pub mod lisp;
pub mod lol_wild_rift;
pub mod lotus_notes;
pub mod lustre;
pub mod mail;
pub mod maplestory;
pub mod megaco;
pub mod memcached;
pub mod mgcp;
pub mod mining;
pub mod modbus;
pub mod monero;
pub mod mongodb;
pub mod mpegts;
pub mod mqtt;
pub mod mumble;
pub mod munin;
pub mod mysql;
pub mod nano;
pub mod natpmp;
pub mod nats;
pub mod nest_log;
pub mod netbios;
pub mod netease_games;
pub mod netflow;
pub mod nfs;
pub mod nintendo;
pub mod nntp;
pub mod nomachine;
pub mod ntp;
pub mod oicq;
pub mod ookla;
pub mod opcua;
pub mod openflow;
pub mod openvpn;
pub mod openwire;
pub mod oracle;
pub mod path_of_exile;
pub mod pfcp;
pub mod postgres;
use crate::facts::protocol;
pub mod pptp;
pub mod protobuf;
pub mod ptp;
pub mod quic;
pub mod radius;
pub mod raft;
pub mod raknet;
pub mod rdp;
mod reader;
pub mod redis;
pub mod registry;
pub mod riotgames;
pub mod ripe_atlas;
pub mod risks;
pub mod rmcp;
pub mod rsh;
pub mod rsync;
pub mod rtmp;
pub mod rtp;
pub mod rtps;
pub mod rtsp;
pub mod rx;
pub mod s7comm;
pub mod sdrtn;
pub mod sflow;
pub mod sip;
pub mod skinny;
pub mod slp;
pub mod smb;
pub mod smpp;
pub mod snmp;
pub mod socks;
pub mod softether;
pub mod someip;
pub mod sonos;
pub mod source_engine;
pub mod spotify;
pub mod ssdp;
pub mod ssh;
pub mod starcraft;
pub mod starttls;
pub mod steam;
pub mod steam_sdr;
pub mod stomp;
pub mod stream;
pub mod stun;
pub mod syncthing;
pub mod syslog;
pub mod tds;
pub mod teamspeak;
pub mod teamviewer;
pub mod telegram_voip;
pub mod telnet;
pub mod tencent_games;
pub mod teredo;
pub mod teso;
pub mod text;
pub mod tftp;
pub mod threema;
pub mod thrift;
pub mod tinc;
pub mod tivo;
pub mod tls;
pub mod tocaboca;
pub mod trdp;
pub mod tuya;
pub mod ubntac2;
pub mod uftp;
pub mod ultrasurf;
pub mod vhua;
pub mod viber;
pub mod vnc;
pub mod warcraft3;
pub mod websocket;
pub mod whatsapp;
pub mod whois;
pub mod wireguard;
pub mod wokungfu;
pub mod wow;
pub mod wsd;
pub mod x509;
pub mod xbox;
pub mod xdmcp;
pub mod xiaomi;
pub mod xmpp;
pub mod yojimbo;
pub mod z3950;
pub mod zabbix;
pub mod zmq;
pub mod zoom;
pub mod zug;

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

/// What the registry knows about a flow while probing: its transport, ports and addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowInfo {
    /// IANA protocol number (6 TCP, 17 UDP, …).
    pub ip_protocol: u8,
    /// Both ports of the flow, in no particular order.
    pub ports: [u16; 2],
    /// Both addresses of the flow, in the order of `ports`: for the few protocols that write an
    /// endpoint's own address into their messages (EGD's producer ID, Lustre's LNet NIDs).
    pub addrs: [std::net::IpAddr; 2],
}

impl Default for FlowInfo {
    fn default() -> Self {
        let unspecified = std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        FlowInfo { ip_protocol: 0, ports: [0; 2], addrs: [unspecified; 2] }
    }
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

    /// True when either end of the flow has the IPv4 address whose octets are `octets`.
    pub fn has_ipv4(&self, octets: [u8; 4]) -> bool {
        self.addrs.iter().any(|a| matches!(a, std::net::IpAddr::V4(v4) if v4.octets() == octets))
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
    /// Like [`Dissector::probe`], knowing the flow's transport and ports. The default probes
    /// only flows on [`Dissector::TRANSPORTS`], so a declared transport is a promise the probe
    /// keeps even when called without the registry (tests, fuzzing).
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if Self::TRANSPORTS.allows(flow.ip_protocol) {
            Self::probe(segment)
        } else {
            Probe::NotForUs
        }
    }
    /// Transports on which [`Dissector::probe_flow`] can answer anything but `NotForUs`. The
    /// registry rules the dissector out on the others when the flow starts, without probing.
    /// The default, every transport, keeps a dissector that declares nothing probed everywhere.
    const TRANSPORTS: Transports = Transports::ANY;
    /// First payload bytes on which [`Dissector::probe_flow`] can answer anything but
    /// `NotForUs`, in either direction. The registry rules the dissector out, without probing,
    /// on a payload whose first byte is not here. Default: any byte.
    const FIRST_BYTES: FirstBytes = FirstBytes::ANY;
    /// True when [`Dissector::probe_flow`] answers `NotForUs` on every flow without one of its
    /// [`Dissector::PORTS`] (`port_hint` false): the registry rules it out when the flow
    /// starts. Default: false.
    const NEEDS_PORT: bool = false;
    /// This protocol's well-known ports. Only a tie-breaker between certain probes, and the
    /// guess for a flow no dissector claimed (Netify's `detection_guessed`); never a reason to
    /// claim a flow on its own.
    const PORTS: Ports = Ports::NONE;
    /// The flow uses one of [`Dissector::PORTS`] on its transport. Not to be overridden: the
    /// registry answers it for every dissector at once from a table built from their `PORTS`
    /// (`registry::PortHints`; a test holds the two to the same answers).
    fn port_hint(flow: &FlowInfo) -> bool {
        Self::PORTS.hint(flow)
    }
    /// Consume one segment and write what it shows into `facts`. The default suits a dissector
    /// whose certain probe is all there is to learn: detection is done.
    fn parse(&mut self, _segment: &Segment<'_>, _facts: &mut FlowFacts) -> Parsed {
        Parsed::Done
    }
}

/// The transports a dissector can match (see [`Dissector::TRANSPORTS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transports {
    pub tcp: bool,
    pub udp: bool,
    /// Any other IP protocol whose payload reaches the dissectors.
    pub other: bool,
}

impl Transports {
    pub const ANY: Transports = Transports { tcp: true, udp: true, other: true };
    pub const TCP: Transports = Transports { tcp: true, udp: false, other: false };
    pub const UDP: Transports = Transports { tcp: false, udp: true, other: false };
    pub const TCP_UDP: Transports = Transports { tcp: true, udp: true, other: false };
    /// Everything but TCP: probes that read datagrams (`tcp_seq` is `None`).
    pub const NOT_TCP: Transports = Transports { tcp: false, udp: true, other: true };

    /// The flow's IP protocol is one of these.
    pub const fn allows(self, ip_protocol: u8) -> bool {
        match ip_protocol {
            FlowInfo::TCP => self.tcp,
            FlowInfo::UDP => self.udp,
            _ => self.other,
        }
    }
}

/// A set of byte values, as a 256-bit map: the first payload bytes a dissector can match (see
/// [`Dissector::FIRST_BYTES`]). Built in `const` context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstBytes([u64; 4]);

impl FirstBytes {
    pub const ANY: FirstBytes = FirstBytes([u64::MAX; 4]);
    pub const NONE: FirstBytes = FirstBytes([0; 4]);

    /// Exactly these bytes.
    pub const fn of(bytes: &[u8]) -> FirstBytes {
        let mut set = FirstBytes::NONE;
        let mut i = 0;
        while i < bytes.len() {
            set = set.with(bytes[i]);
            i += 1;
        }
        set
    }

    /// The bytes `low..=high`.
    pub const fn range(low: u8, high: u8) -> FirstBytes {
        let mut set = FirstBytes::NONE;
        let mut b = low as usize;
        while b <= high as usize {
            set = set.with(b as u8);
            b += 1;
        }
        set
    }

    pub const fn with(self, byte: u8) -> FirstBytes {
        let mut words = self.0;
        words[(byte / 64) as usize] |= 1 << (byte % 64);
        FirstBytes(words)
    }

    pub const fn union(self, other: FirstBytes) -> FirstBytes {
        let (a, b) = (self.0, other.0);
        FirstBytes([a[0] | b[0], a[1] | b[1], a[2] | b[2], a[3] | b[3]])
    }

    pub const fn contains(self, byte: u8) -> bool {
        self.0[(byte / 64) as usize] & (1 << (byte % 64)) != 0
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
        FlowInfo { ip_protocol: FlowInfo::UDP, ports, ..FlowInfo::default() }
    }

    pub fn tcp(ports: [u16; 2]) -> FlowInfo {
        FlowInfo { ip_protocol: FlowInfo::TCP, ports, ..FlowInfo::default() }
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

    /// Parse `payloads` in order with a fresh dissector, without probing (the flow already
    /// claimed); the last parse result and the facts.
    pub fn parse_all<D: Dissector>(flow: &FlowInfo, payloads: &[(Direction, Vec<u8>)]) -> (Parsed, FlowFacts) {
        let mut d = D::default();
        let mut facts = FlowFacts::default();
        let mut last = Parsed::Continue;
        for (direction, p) in payloads {
            last = d.parse(&segment(flow, *direction, 0, p), &mut facts);
        }
        (last, facts)
    }

    /// [`parse_all`], for tests that look only at the protocol named.
    pub fn parse_each<D: Dissector>(
        flow: &FlowInfo,
        payloads: &[(Direction, Vec<u8>)],
    ) -> (Parsed, protocol::ProtocolId) {
        let (last, facts) = parse_all::<D>(flow, payloads);
        (last, facts.protocol)
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

    /// Run the whole registry over `payloads` of a new flow, as the flow table does, giving up
    /// after the last if detection has not ended: the protocol named (or guessed) and how many
    /// payloads detection read before it ended by itself (`None`: it was still going).
    pub fn through_registry(
        flow: &FlowInfo,
        payloads: &[(Direction, Vec<u8>)],
    ) -> (protocol::ProtocolId, Option<usize>) {
        let mut facts = FlowFacts {
            ip_protocol: flow.ip_protocol,
            local_port: flow.ports[0],
            other_port: flow.ports[1],
            ..FlowFacts::default()
        };
        let mut state = registry::DissectState::start(&mut facts);
        let mut seq = [1u32; 2];
        for (read, (direction, p)) in payloads.iter().enumerate() {
            state.on_segment(&segment(flow, *direction, seq[direction.index()], p), &mut facts);
            seq[direction.index()] = seq[direction.index()].wrapping_add(p.len() as u32);
            if state.is_finished() {
                return (facts.protocol, Some(read + 1));
            }
        }
        state.give_up(&mut facts);
        (facts.protocol, None)
    }

    /// Every prefix of `payload` probes and parses without panicking, and no strict prefix
    /// shorter than `certain_from` is certain.
    pub fn truncations<D: Dissector>(flow: &FlowInfo, payload: &[u8]) {
        for cut in 0..payload.len() {
            let _ = run_one::<D>(flow, &payload[..cut]);
        }
    }
}
