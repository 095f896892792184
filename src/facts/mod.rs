//! The facts a flow has: what dissectors fill and criteria read.
//!
//! One plain struct, written by the flow table (addresses, counters) and the dissectors
//! (protocol, hostname, TLS), read by criteria evaluation and the enforcer. Dissector scratch
//! state lives elsewhere and is freed when detection completes.
//!
//! Memory (issue 7: at most 512 bytes a tracked flow, heap included): [`FlowFacts`] is inline
//! in every flow slot (200 of the slot's 264 bytes, not one to spare), so a field added here costs every flow,
//! SYN-only ones included. Where a new fact goes:
//! - a fact of one application protocol: a field of that protocol's struct (`HttpFacts`,
//!   `DnsFacts`, …), or a new struct and one line of the `protocol_facts!` list
//!   ([`ProtocolFacts`]); it costs heap only for flows of that protocol;
//! - a fact few flows have, of any protocol: a [`Cold`] part (one pointer, boxed on first
//!   write), as `tls` and `risk` are;
//! - text: `Box<str>` (no capacity word), not `String`; a list of names: joined in one block
//!   ([`Names`]), not a vector of boxes; several strings of one part: one block with offsets
//!   (as [`TlsFacts`] keeps its strings); a fixed-size value (a digest): inline
//!   ([`Md5Digest`], [`Ja4`]); vectors are shrunk when detection completes
//!   ([`FlowFacts::shrink_to_fit`]).

pub mod dhcp;
pub mod dns;
pub mod finality;
pub mod http;
pub mod ip_proto;
pub mod net;
pub mod protocol;
pub mod ssh;
pub mod stun;
mod tls;
pub mod wireguard;

pub use tls::{known_subject_index, Ja4, KnownSubject, Md5Digest, Names, TlsFacts, COMMON_ALPN_LISTS, KNOWN_SUBJECTS};

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Which way a segment travels, relative to the packet that created the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Same direction as the flow's first packet.
    Forward,
    /// The opposite direction.
    Reverse,
}

impl Direction {
    /// 0 for forward, 1 for reverse: an index into per-direction state.
    pub fn index(self) -> usize {
        match self {
            Direction::Forward => 0,
            Direction::Reverse => 1,
        }
    }
}

/// A fact string from wire bytes: at most `max` bytes, invalid UTF-8 replaced, control
/// characters dropped. Allocates once (per flow, when the fact is learned).
pub fn fact_string(bytes: &[u8], max: usize) -> Box<str> {
    let cut = bytes.get(..max.min(bytes.len())).unwrap_or_default();
    let text = String::from_utf8_lossy(cut);
    if text.chars().any(char::is_control) {
        text.chars().filter(|c| !c.is_control()).collect::<String>().into_boxed_str()
    } else {
        text.into_owned().into_boxed_str()
    }
}

/// Decode base64 text (standard or URL-safe alphabet, `=` padding optional) into `out`, and
/// return how many bytes it holds. `None` when a character is not base64, the text ends
/// inside a byte, or `out` is too short. Shared by the application list's `nsd:` lines and the
/// OCSP request in an HTTP target, so it takes text as bytes and never allocates.
pub fn decode_base64_into(text: impl IntoIterator<Item = u8>, out: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    let (mut acc, mut bits, mut padding) = (0u32, 0u32, false);
    for c in text {
        let value = match c {
            b'=' => {
                padding = true;
                continue;
            }
            _ if padding => return None, // text after the padding
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(len)? = (acc >> bits) as u8;
            len += 1;
            acc &= (1 << bits) - 1;
        }
    }
    // Left-over bits must be padding zeros, and one lone character is not a byte.
    (bits < 6 && acc == 0).then_some(len)
}

/// Standard base64 with padding (for writing `nsd:` lines in tests and tools).
pub fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A type with a shared empty value: what an absent [`Cold`] reads as.
pub trait Empty: 'static {
    fn empty() -> &'static Self;
}

/// A part of a flow most flows never have, kept out of line: one pointer while absent, boxed
/// on first write (through `DerefMut`). Reading an absent one sees the empty value, so code
/// reads and writes it as if it were inline.
pub struct Cold<T>(Option<Box<T>>);

impl<T> Cold<T> {
    /// Whether anything was ever written.
    pub fn is_present(&self) -> bool {
        self.0.is_some()
    }

    /// The value if present, without boxing an empty one.
    pub fn present_mut(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut()
    }
}

impl<T> Default for Cold<T> {
    fn default() -> Self {
        Cold(None)
    }
}

impl<T: Clone> Clone for Cold<T> {
    fn clone(&self) -> Self {
        Cold(self.0.clone())
    }
}

impl<T> From<T> for Cold<T> {
    fn from(value: T) -> Self {
        Cold(Some(Box::new(value)))
    }
}

impl<T: Empty> Deref for Cold<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(value) => value,
            None => T::empty(),
        }
    }
}

impl<T: Empty + Default> DerefMut for Cold<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Empty + fmt::Debug> fmt::Debug for Cold<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: Empty + PartialEq> PartialEq for Cold<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Empty + PartialEq> PartialEq<T> for Cold<T> {
    fn eq(&self, other: &T) -> bool {
        **self == *other
    }
}

/// A capture interface's name, shared by every flow seen on it. One pointer (an `Arc<str>`
/// is two): the name is read by criteria and output, never on the packet path.
///
/// With NFQUEUE capture it also carries the input and output interfaces of the flow's
/// client-to-server packets (Netify's `iface_nfq_src`/`iface_nfq_dst`): one shared value per
/// queue and interface pair, so the flow slot does not grow.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct IfaceName(Arc<IfaceInner>);

#[derive(PartialEq, Eq, Default)]
struct IfaceInner {
    name: Box<str>,
    /// NFQUEUE input and output interface ("" where the hook has none).
    nfq: Option<(Box<str>, Box<str>)>,
}

impl IfaceName {
    /// A queue's name with the interfaces its packets crossed.
    pub fn with_nfq(name: &str, src: &str, dst: &str) -> IfaceName {
        IfaceName(Arc::new(IfaceInner { name: name.into(), nfq: Some((src.into(), dst.into())) }))
    }

    /// NFQUEUE input interface ("" when none or not captured from a queue).
    pub fn nfq_src(&self) -> &str {
        self.0.nfq.as_ref().map_or("", |(src, _)| src)
    }

    /// NFQUEUE output interface ("" when none or not captured from a queue).
    pub fn nfq_dst(&self) -> &str {
        self.0.nfq.as_ref().map_or("", |(_, dst)| dst)
    }

    /// The very same shared value (not only equal text).
    pub fn same(&self, other: &IfaceName) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for IfaceName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0.name
    }
}

impl AsRef<str> for IfaceName {
    fn as_ref(&self) -> &str {
        self
    }
}

impl From<&str> for IfaceName {
    fn from(name: &str) -> Self {
        IfaceName(Arc::new(IfaceInner { name: name.into(), nfq: None }))
    }
}

impl fmt::Debug for IfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for IfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

/// How the "other" side of a flow relates to us (Netify's `other_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtherType {
    Local,
    Remote,
    Multicast,
    Broadcast,
    #[default]
    Unknown,
    Unsupported,
    Error,
}

impl OtherType {
    /// Spelling used in JSON output, as Netify's telemetry does.
    pub fn as_str(self) -> &'static str {
        match self {
            OtherType::Local => "local",
            OtherType::Remote => "remote",
            OtherType::Multicast => "multicast",
            OtherType::Broadcast => "broadcast",
            OtherType::Unknown => "unknown",
            OtherType::Unsupported => "unsupported",
            OtherType::Error => "error",
        }
    }
}

/// Encapsulation a flow was found in (Netify's `tunnel_type`). IP-in-IP and PPPoE are not
/// reported, as nDPI does not report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TunnelType {
    #[default]
    None,
    /// GTP-U (mobile core networks).
    Gtp,
    /// CAPWAP data channel (wireless controllers).
    Capwap,
    /// VXLAN (RFC 7348: layer-2 overlays in data centres and clouds).
    Vxlan,
}

impl TunnelType {
    /// Spelling used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelType::None => "none",
            TunnelType::Gtp => "gtp",
            TunnelType::Capwap => "capwap",
            TunnelType::Vxlan => "vxlan",
        }
    }

    /// The type to report for a packet found inside `self` and then `inner`: GTP wins (the
    /// only tunnel Netify's criteria name), otherwise the outermost reported tunnel.
    pub fn nest(self, inner: TunnelType) -> TunnelType {
        match (self, inner) {
            (TunnelType::Gtp, _) | (_, TunnelType::Gtp) => TunnelType::Gtp,
            (TunnelType::None, t) => t,
            (t, _) => t,
        }
    }
}

/// ICMP header fields of the flow's first packet, as sent by the origin: conntrack keys ICMP
/// queries on type, code and identifier instead of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpFacts {
    pub icmp_type: u8,
    pub code: u8,
    pub id: u16,
}

/// The application a flow belongs to (filled by classification; 0/None until known).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppFacts {
    /// Netify-style application ID; 0 = unknown.
    pub id: u32,
    /// Full tag, e.g. `netify.youtube`: the application list's own name, shared (one word in
    /// the flow slot).
    pub tag: Option<SharedName>,
    /// Application category ID (netify-categories.json `application_index`); 0 = none.
    pub category: u16,
    /// Category of the protocol (`protocol_index`); 0 = none.
    pub protocol_category: u16,
    /// Category from custom domain lists (`domains.d`); 0 = none.
    pub domain_category: u16,
    /// The application was found through the DNS hint cache rather than the flow's own facts.
    pub from_dns_hint: bool,
    /// A soft dissector (`nsd:` line) set the application or the protocol (Netify's
    /// `soft_dissector`; docs/FLOW-ACTIONS.md §5). It sits in this struct's padding: the flow
    /// slot does not grow.
    pub soft_dissector: bool,
    /// The application of the call one of the flow's endpoints is in, from the call hint
    /// cache (`classify::call_hints`, docs/FLOW-ACTIONS.md §5, "A call's other flows"): what the
    /// classifier names the flow by when its own packets name nothing. In the padding too.
    pub call_hint: stun::StunClient,
}

/// Bytes glibc malloc takes for a request of `n` bytes: 8 bytes of header, 16-byte steps, 32
/// at least (what the memory budgets count).
pub fn malloc_chunk(n: usize) -> usize {
    ((n + 8).div_ceil(16) * 16).max(32)
}

/// Declares [`ProtocolFacts`] and its accessors, one line per protocol.
macro_rules! protocol_facts {
    ($($variant:ident($ty:ty), $get:ident, $get_mut:ident;)+) => {
        /// Facts of a flow's application protocol, out of line: 16 bytes in every flow (tag and
        /// pointer) however many protocols have facts, and one heap chunk sized for the one the
        /// flow is. A flow is claimed by one dissector, so it has at most one of these; TLS
        /// facts stay apart in [`FlowFacts::tls`] because TLS flows also carry HTTP facts (a
        /// QUIC or TLS user agent).
        ///
        /// New per-protocol facts: a struct in its own file of `facts` (`facts/http.rs`, …), and one line in the
        /// `protocol_facts!` list below (variant, reader, writer). A new fact of an existing
        /// protocol is a field of its struct: it costs heap only for flows of that protocol.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub enum ProtocolFacts {
            #[default]
            None,
            $($variant(Box<$ty>),)+
        }

        impl ProtocolFacts {
            $(
                /// The facts, if the flow has this protocol's.
                pub fn $get(&self) -> Option<&$ty> {
                    match self {
                        ProtocolFacts::$variant(facts) => Some(facts),
                        _ => None,
                    }
                }

                /// The facts to fill, boxed empty on first write. A flow whose facts were of
                /// another protocol (a dissector never does that) loses them.
                pub fn $get_mut(&mut self) -> &mut $ty {
                    if !matches!(self, ProtocolFacts::$variant(_)) {
                        *self = ProtocolFacts::$variant(Box::default());
                    }
                    match self {
                        ProtocolFacts::$variant(facts) => facts,
                        _ => unreachable!("set just above"),
                    }
                }
            )+
        }
    };
}

protocol_facts! {
    Http(http::HttpFacts), http, http_mut;
    Dns(dns::DnsFacts), dns, dns_mut;
    Ssh(ssh::SshFacts), ssh, ssh_mut;
    Dhcp(dhcp::DhcpFacts), dhcp, dhcp_mut;
    Stun(stun::StunFacts), stun, stun_mut;
    WireGuard(wireguard::WireGuardFacts), wireguard, wireguard_mut;
}

/// nDPI-style risk bits (bit n = risk id n) and scores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskFacts {
    pub risks: u64,
    pub score: u16,
    pub score_client: u16,
    pub score_server: u16,
}

static NO_RISK: RiskFacts = RiskFacts { risks: 0, score: 0, score_client: 0, score_server: 0 };

impl Empty for RiskFacts {
    fn empty() -> &'static Self {
        &NO_RISK
    }
}

/// A name many flows share (the DNS hint cache's `dns_hostname`, an application's tag): one
/// thin pointer in the flow slot, where `Arc<str>` would take two words; the text sits behind
/// one more indirection, paid once per name, not per flow.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedName(Arc<Box<str>>);

impl SharedName {
    /// Heap bytes of the name as glibc malloc sizes it (the shared block with its two counts
    /// and the text), shared by [`SharedName::holders`] holders.
    pub fn heap_bytes(&self) -> usize {
        malloc_chunk(16 + std::mem::size_of::<Box<str>>()) + malloc_chunk(self.len())
    }

    /// Whether both hold the one shared block (not merely equal text).
    pub fn is_same_block(&self, other: &SharedName) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// How many flows and caches hold the name.
    pub fn holders(&self) -> usize {
        Arc::strong_count(&self.0)
    }
}

impl Deref for SharedName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SharedName {
    fn from(name: &str) -> Self {
        SharedName(Arc::new(name.into()))
    }
}

impl fmt::Display for SharedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl fmt::Debug for SharedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A flow's own host name, when it is not the TLS SNI (see [`FlowFacts::detected_hostname`]).
/// Opaque, so that nothing writes it past the TLS facts' link to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hostname(Option<Box<str>>);

/// Everything criteria can ask about a flow.
#[derive(Debug, Clone)]
pub struct FlowFacts {
    /// Capture interface name.
    pub iface: IfaceName,
    /// 4 or 6.
    pub ip_version: u8,
    /// IANA protocol number (6 TCP, 17 UDP, …).
    pub ip_protocol: u8,
    /// 802.1Q VLAN id (the innermost tag of a stack), 0 when untagged.
    pub vlan_id: u16,
    pub local_ip: IpAddr,
    pub local_port: u16,
    pub other_ip: IpAddr,
    pub other_port: u16,
    pub local_mac: [u8; 6],
    pub other_mac: [u8; 6],
    /// True when the local side opened the flow.
    pub local_origin: bool,
    pub other_type: OtherType,
    /// True for the WAN-side copy of a NAT'd flow (Netify's `ip_nat`).
    pub ip_nat: bool,
    /// Captured on an external (`-E`, WAN) interface rather than an internal (`-I`, LAN) one.
    pub external: bool,
    pub tunnel_type: TunnelType,
    /// DSCP of the flow's first packet.
    pub ip_dscp: u8,
    /// ICMP/ICMPv6 type, code and identifier of the first packet; `None` for other protocols.
    pub icmp: Option<IcmpFacts>,
    /// Conntrack mark of the flow's connection, when known (0 otherwise).
    pub ct_mark: u32,
    /// Netify protocol ID (see [`protocol`]); [`protocol::UNKNOWN`] until known.
    pub protocol: protocol::ProtocolId,
    /// Host name the flow is about (TLS SNI, HTTP Host, DNS hints…), unless it is the TLS SNI,
    /// which stays in the TLS facts: read through [`FlowFacts::detected_hostname`], written
    /// through [`FlowFacts::set_detected_hostname`].
    pub hostname: Hostname,
    /// Name the DNS hint cache gives for the other address (Netify's `dns_hostname`).
    pub dns_hostname: Option<SharedName>,
    pub application: AppFacts,
    /// nDPI-style risks; nothing sets them until risk detection exists, so they stay out of
    /// line (one pointer per flow).
    pub risk: Cold<RiskFacts>,
    /// Boxed on first write: only TLS, DTLS and QUIC flows pay for it.
    pub tls: Cold<TlsFacts>,
    /// QUIC version from the client's Initial packet (0x00000001 = v1); 0 when not QUIC.
    pub quic_version: u32,
    /// What the dissector that claimed the flow learned (HTTP, DNS, SSH, DHCP facts): one
    /// tagged pointer for all of them, as one dissector claims a flow.
    pub app_protocol: ProtocolFacts,
    /// No more dissection will happen for this flow.
    pub detection_complete: bool,
    /// Detection gave up and guessed (max packets reached, or expiry).
    pub detection_guessed: bool,
    /// Metadata was added after the first detection.
    pub detection_updated: bool,
    /// Which facts can no longer change (see [`finality`]). The flow table starts a flow
    /// with [`finality::Final::NONE`]; facts built any other way default to everything
    /// detection fills final ([`finality::Final::ALL`]), not yet ending.
    pub final_facts: finality::Final,
    /// What each side sent (Netify's `local_packets`/`other_packets`, `local_bytes`/
    /// `other_bytes`; bytes are IP lengths), counted by the flow table; the totals are
    /// [`FlowFacts::packets`] and [`FlowFacts::bytes`].
    pub counters: SideCounters,
}

/// Packets and bytes per side of a flow (index 0 the local side, 1 the other). Packets are
/// 32-bit, as the flow slot has room for no more: a side's count stops at 4,294,967,295
/// packets (bytes are 64-bit and never stop).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SideCounters {
    pub bytes: [u64; 2],
    pub packets: [u32; 2],
}

impl SideCounters {
    pub const LOCAL: usize = 0;
    pub const OTHER: usize = 1;

    /// Count a packet of `bytes` sent by one side ([`SideCounters::LOCAL`] or
    /// [`SideCounters::OTHER`]).
    #[inline]
    pub fn add(&mut self, side: usize, bytes: u64) {
        let side = side & 1;
        self.packets[side] = self.packets[side].saturating_add(1);
        self.bytes[side] += bytes;
    }

    /// The local and other sides changed places.
    pub fn swap_sides(&mut self) {
        self.packets.swap(0, 1);
        self.bytes.swap(0, 1);
    }
}

impl FlowFacts {
    /// Packets seen, both directions.
    pub fn packets(&self) -> u64 {
        u64::from(self.counters.packets[0]) + u64::from(self.counters.packets[1])
    }

    /// Bytes (IP lengths) seen, both directions.
    pub fn bytes(&self) -> u64 {
        self.counters.bytes[0] + self.counters.bytes[1]
    }

    /// The host name the flow is about (Netify's `detected_hostname`).
    pub fn detected_hostname(&self) -> Option<&str> {
        match &self.hostname.0 {
            Some(name) => Some(name),
            None => self.tls.hostname(),
        }
    }

    /// Set the host name the flow is about (the dissectors set it only when there is none).
    pub fn set_detected_hostname(&mut self, name: impl Into<Box<str>>) {
        if let Some(tls) = self.tls.present_mut() {
            tls.flags &= !TlsFacts::SNI_IS_HOSTNAME;
        }
        self.hostname = Hostname(Some(name.into()));
    }

    /// Record the TLS SNI. A flow without a hostname takes it as its hostname, stored once (in
    /// the TLS facts); a later, different SNI leaves the hostname as it was.
    pub fn set_tls_sni(&mut self, sni: &str) {
        self.set_tls_sni_and_alpn(sni, None::<[&str; 0]>);
    }

    /// [`FlowFacts::set_tls_sni`] and [`TlsFacts::set_alpn`] (when `alpn` is given) with one
    /// rebuild of the TLS text block: a ClientHello brings both.
    pub fn set_tls_sni_and_alpn<'a>(&mut self, sni: &str, alpn: Option<impl IntoIterator<Item = &'a str>>) {
        if let Some(hostname) = self.tls.hostname().filter(|&name| name != sni).map(Box::<str>::from) {
            self.set_detected_hostname(hostname);
        }
        self.tls.set_sni(sni, alpn);
        if self.detected_hostname().is_none() {
            self.use_sni_as_hostname();
        }
    }

    /// Make the TLS SNI, if there is one, the flow's hostname (STARTTLS: the name the client
    /// asked the TLS server for wins over the greeting's).
    pub fn use_sni_as_hostname(&mut self) {
        if let Some(tls) = self.tls.present_mut().filter(|tls| tls.sni().is_some()) {
            tls.flags |= TlsFacts::SNI_IS_HOSTNAME;
            self.hostname = Hostname(None);
        }
    }

    /// Heap bytes of the hostname as glibc malloc sizes it (0 when it is the TLS SNI).
    pub fn hostname_heap_bytes(&self) -> usize {
        self.hostname.0.as_ref().map_or(0, |name| malloc_chunk(name.len()))
    }

    /// The flow is ending (idle expiry, end of a capture file): Netify's `expiring` and
    /// `expired` are true, and final (see [`finality::Final::END`]).
    pub fn mark_ending(&mut self) {
        self.final_facts |= finality::Final::END;
    }

    /// Whether [`FlowFacts::mark_ending`] was called (kept in `final_facts`: no byte of its own).
    pub fn is_ending(&self) -> bool {
        self.final_facts.contains(finality::Final::END)
    }

    /// Give back the spare capacity of the facts' vectors: called once detection completes,
    /// when they stop growing (a vector's first push reserves four elements, and a DNS
    /// answer is 24 bytes). The TLS facts' text is exactly sized whenever it is written.
    pub fn shrink_to_fit(&mut self) {
        if let ProtocolFacts::Dns(dns) = &mut self.app_protocol {
            dns.answers.shrink_to_fit();
        }
    }
}

impl Default for FlowFacts {
    fn default() -> Self {
        FlowFacts {
            iface: IfaceName::default(),
            ip_version: 4,
            ip_protocol: 0,
            vlan_id: 0,
            local_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            local_port: 0,
            other_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            other_port: 0,
            local_mac: [0; 6],
            other_mac: [0; 6],
            local_origin: false,
            other_type: OtherType::Unknown,
            ip_nat: false,
            external: false,
            tunnel_type: TunnelType::None,
            ip_dscp: 0,
            icmp: None,
            ct_mark: 0,
            protocol: protocol::UNKNOWN,
            hostname: Hostname(None),
            dns_hostname: None,
            application: AppFacts::default(),
            risk: Cold::default(),
            tls: Cold::default(),
            quic_version: 0,
            app_protocol: ProtocolFacts::None,
            detection_complete: false,
            detection_guessed: false,
            detection_updated: false,
            final_facts: finality::Final::ALL,
            counters: SideCounters::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lists_keep_names_in_order_in_one_block() {
        let mut tls = TlsFacts::default();
        tls.set_alpn(["h2", "http/1.1", "", "bad\nname", "spdy/3"]);
        let list = tls.alpn();
        assert_eq!(list.iter().collect::<Vec<_>>(), ["h2", "http/1.1", "spdy/3"]);
        assert_eq!((list.first(), list.len(), list.is_empty()), (Some("h2"), 3, false));
        assert_eq!(format!("{list:?}"), r#"["h2", "http/1.1", "spdy/3"]"#);
        tls.set_alpn(["", "\n"]);
        let empty = tls.alpn();
        assert_eq!((empty.iter().count(), empty.first(), empty.is_empty()), (0, None, true));
        assert_eq!(tls, TlsFacts::default(), "nothing left: no text block");
        assert_eq!(Names("a\nbb\nccc").cut(5), "a\nbb");
        assert_eq!(Names("a\nbb\nccc").cut(4), "a\nbb");
        assert_eq!(Names("a\nbb\nccc").cut(3), "a");
        assert_eq!(Names("a\nbb\nccc").cut(8), "a\nbb\nccc");
        assert_eq!(Names("a\nbb\nccc").cut(0), "");
    }

    #[test]
    fn tls_strings_share_one_block_and_read_back_as_written() {
        let mut tls = TlsFacts::default();
        tls.set_sni("www.example.com", None::<[&str; 0]>);
        tls.set_alpn(["h2", "http/1.1"]);
        tls.set_alpn_negotiated("http/1.1");
        tls.set_subject_cn("example.com");
        tls.set_server_names(["www.example.com", "example.com", "192.0.2.1"]);
        let check = |tls: &TlsFacts| {
            assert_eq!(tls.sni(), Some("www.example.com"));
            assert_eq!(tls.alpn().iter().collect::<Vec<_>>(), ["h2", "http/1.1"]);
            assert_eq!(tls.alpn_negotiated(), Some("http/1.1"));
            assert_eq!(tls.subject_cn(), Some("example.com"));
            assert_eq!(tls.server_names().iter().collect::<Vec<_>>(), ["www.example.com", "example.com", "192.0.2.1"]);
        };
        check(&tls);
        // The SNI, the chosen ALPN and the CN are references, not copies; the offered ALPN list
        // is a common one, not stored.
        let text = "www.example.com\nexample.com\n192.0.2.1".len();
        assert_eq!(tls.text.as_deref().map(str::len), Some(text));
        // Rewriting one string keeps the others, and a string not found elsewhere is stored.
        tls.set_subject_cn("Example Inc");
        assert_eq!(tls.subject_cn(), Some("Example Inc"));
        tls.set_alpn_negotiated("spdy/3");
        assert_eq!(tls.alpn_negotiated(), Some("spdy/3"));
        tls.set_subject_cn("www.example.com");
        tls.set_alpn_negotiated("http/1.1");
        assert_eq!(tls.text.as_deref().map(str::len), Some(text));
        tls.set_subject_cn("example.com");
        check(&tls);
        // Without the names the SNI is stored, and a CN equal to it is read from it.
        tls.set_server_names([]);
        tls.set_subject_cn("www.example.com");
        assert_eq!((tls.sni(), tls.subject_cn()), (Some("www.example.com"), Some("www.example.com")));
        assert!(tls.server_names().is_empty());
        assert_eq!(tls.text.as_deref(), Some("www.example.com"));
    }

    #[test]
    fn a_common_alpn_list_costs_no_text_and_reads_back_in_its_order() {
        let mut tls = TlsFacts::default();
        tls.set_alpn(["h2", "http/1.1"]);
        tls.set_alpn_negotiated("h2");
        assert_eq!(tls.alpn().iter().collect::<Vec<_>>(), ["h2", "http/1.1"]);
        assert_eq!(
            (tls.alpn_negotiated(), tls.heap_bytes()),
            (Some("h2"), malloc_chunk(std::mem::size_of::<TlsFacts>()))
        );
        assert_eq!(tls.text, None);
        for list in COMMON_ALPN_LISTS {
            tls.set_alpn(Names(list).iter());
            assert_eq!(tls.alpn(), Names(list));
            assert_eq!(tls.text.as_deref(), (!list.contains("h2")).then_some("h2"), "{list:?}: the chosen h2 kept");
        }
        // Another list, or a common one's names in another order, is stored as offered.
        tls.set_alpn_negotiated("");
        for list in [&["http/1.1", "h2"][..], &["h2", "http/1.1", "h3"], &["h3-29"], &["spdy/3", "http/1.1"]] {
            tls.set_alpn(list.iter().copied());
            assert_eq!(tls.alpn().iter().collect::<Vec<_>>(), list);
            assert_eq!(tls.text.as_deref(), Some(list.join("\n").as_str()));
        }
        tls.set_alpn(["h3"]);
        assert_eq!((tls.alpn().first(), tls.text.as_deref()), (Some("h3"), None));
    }

    #[test]
    fn the_hostname_can_be_the_tls_sni_stored_once() {
        let mut f = FlowFacts::default();
        f.set_tls_sni("www.example.com");
        assert_eq!((f.detected_hostname(), f.hostname_heap_bytes()), (Some("www.example.com"), 0));
        // A second ClientHello's name is the SNI; the hostname stays the first one.
        f.set_tls_sni("other.example");
        assert_eq!((f.detected_hostname(), f.tls.sni()), (Some("www.example.com"), Some("other.example")));
        f.use_sni_as_hostname();
        assert_eq!((f.detected_hostname(), f.hostname_heap_bytes()), (Some("other.example"), 0));
        f.set_detected_hostname("mail.example");
        assert_eq!((f.detected_hostname(), f.tls.sni()), (Some("mail.example"), Some("other.example")));
        // A flow that had a hostname before the ClientHello keeps it.
        let mut f = FlowFacts::default();
        f.set_detected_hostname("from-dns.example");
        f.set_tls_sni("www.example.com");
        assert_eq!(f.detected_hostname(), Some("from-dns.example"));
        // Without an SNI there is nothing to use.
        let mut f = FlowFacts::default();
        f.use_sni_as_hostname();
        assert_eq!(f.detected_hostname(), None);
    }

    #[test]
    fn fingerprints_are_inline_and_print_as_text() {
        let ja4 = Ja4::new("t13d1516h2_8daaf6152771_e5627efa2ab1").unwrap();
        assert_eq!(ja4.as_str(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(Ja4::new("t13d1516h2_8daaf6152771_e5627efa2ab"), None);
        assert_eq!(Ja4::new("t13d1516h2_8daaf6152771_e5627efa2ab1x"), None);
        assert_eq!(Ja4::new("t13d1516h2_8daaf6152771_e5627efa2aé"), None);
        let digest = Md5Digest([0, 1, 0xab, 0xff, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xf0]);
        assert_eq!(digest.to_string(), "0001abff02030405060708090a0b0cf0");
        let mut tls = TlsFacts::default();
        assert_eq!((tls.ja3(), tls.ja3s(), tls.ja4()), (None, None, None));
        tls.set_ja3(digest);
        tls.set_ja4(ja4);
        assert_eq!((tls.ja3(), tls.ja3s(), tls.ja4()), (Some(digest), None, Some(&ja4)));
        // 112 bytes as malloc sizes the box (`TlsFacts::heap_bytes`, issue 7's TLS budget).
        assert!(std::mem::size_of::<TlsFacts>() <= 104, "{}", std::mem::size_of::<TlsFacts>());
    }
}
