//! The facts a flow has: what dissectors fill and criteria read.
//!
//! One plain struct, written by the flow table (addresses, counters) and the dissectors
//! (protocol, hostname, TLS), read by criteria evaluation and the enforcer. Dissector scratch
//! state lives elsewhere and is freed when detection completes.
//!
//! Memory (issue 7: at most 512 bytes a tracked flow, heap included): [`FlowFacts`] is inline
//! in every flow slot (200 of the slot's 248 bytes), so a field added here costs every flow,
//! SYN-only ones included. Where a new fact goes:
//! - a fact of one application protocol: a field of that protocol's struct (`HttpFacts`,
//!   `DnsFacts`, …), or a new struct and one line of the `protocol_facts!` list
//!   ([`ProtocolFacts`]); it costs heap only for flows of that protocol;
//! - a fact few flows have, of any protocol: a [`Cold`] part (one pointer, boxed on first
//!   write), as `tls` and `risk` are;
//! - text: `Box<str>` (no capacity word), not `String`; a list of names: one [`NameList`]
//!   block, not a vector of boxes; a fixed-size value (a digest): inline ([`Md5Digest`],
//!   [`Ja4`]); vectors are shrunk when detection completes ([`FlowFacts::shrink_to_fit`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

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
#[derive(Clone, PartialEq, Eq, Default)]
pub struct IfaceName(Arc<Box<str>>);

impl Deref for IfaceName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for IfaceName {
    fn as_ref(&self) -> &str {
        self
    }
}

impl From<&str> for IfaceName {
    fn from(name: &str) -> Self {
        IfaceName(Arc::new(name.into()))
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

/// Encapsulation the flow was found in (Netify's `tunnel_type`), decapsulated before tracking.
pub use crate::decode::TunnelType;

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
    /// Full tag, e.g. `netify.youtube`.
    pub tag: Option<Arc<str>>,
    /// Application category ID (netify-categories.json `application_index`); 0 = none.
    pub category: u16,
    /// Category of the protocol (`protocol_index`); 0 = none.
    pub protocol_category: u16,
    /// Category from custom domain lists (`domains.d`); 0 = none.
    pub domain_category: u16,
    /// The application was found through the DNS hint cache rather than the flow's own facts.
    pub from_dns_hint: bool,
}

/// What the TLS dissector learned. Numbers are wire values (version 0x0302 = TLS 1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFacts {
    /// Negotiated version from the ServerHello (supported_versions wins); 0 until known.
    pub version: u16,
    /// Highest version the client offered (ClientHello legacy version or supported_versions).
    pub client_version: u16,
    /// Negotiated cipher suite from the ServerHello; 0 until known.
    pub cipher: u16,
    /// Server Name Indication from the ClientHello.
    pub sni: Option<Box<str>>,
    /// ALPN protocols offered by the client, in order.
    pub alpn: NameList,
    /// ALPN protocol chosen by the server.
    pub alpn_negotiated: Option<Box<str>>,
    /// JA3 of the ClientHello (printed as lowercase hex).
    pub ja3: Option<Md5Digest>,
    /// JA3S of the ServerHello (printed as lowercase hex).
    pub ja3s: Option<Md5Digest>,
    /// JA4 of the ClientHello, e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    pub ja4: Option<Ja4>,
    /// Subject common name of the server's certificate (TLS <= 1.2, where it is in the clear).
    pub subject_cn: Option<Box<str>>,
    /// subjectAltName DNS names of the server's certificate, in order.
    pub server_names: NameList,
}

/// An MD5 digest (JA3, JA3S), kept as its 16 bytes: the 32-character hex text is made only
/// when printed, so a fingerprint costs no heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Md5Digest(pub [u8; 16]);

impl fmt::Display for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Md5Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A JA4 fingerprint, inline: JA4 is always [`Ja4::LEN`] ASCII characters
/// (`t13d1516h2_8daaf6152771_e5627efa2ab1`: ten of prefix, two truncated hashes of twelve).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ja4([u8; Ja4::LEN]);

impl Ja4 {
    pub const LEN: usize = 36;

    /// `text` as a JA4, if it has the JA4 length and is ASCII.
    pub fn new(text: &str) -> Option<Ja4> {
        let bytes: [u8; Ja4::LEN] = text.as_bytes().try_into().ok()?;
        bytes.is_ascii().then_some(Ja4(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Checked ASCII by `new`, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for Ja4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Ja4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A list of short names (offered ALPN protocols, certificate names) in one heap block: the
/// names joined by `\n`, which none of them holds (the TLS dissector keeps only text without
/// control characters). A `Vec<Box<str>>` would cost a block per name plus the vector's.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NameList(Option<Box<str>>);

impl NameList {
    const SEPARATOR: char = '\n';

    /// The names, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.as_deref().into_iter().flat_map(|joined| joined.split(Self::SEPARATOR))
    }

    pub fn first(&self) -> Option<&str> {
        self.iter().next()
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

/// Empty names and names holding the separator are left out: they cannot be told apart in
/// the joined text.
impl<'a> FromIterator<&'a str> for NameList {
    fn from_iter<I: IntoIterator<Item = &'a str>>(names: I) -> Self {
        let mut joined = String::new();
        for name in names.into_iter().filter(|n| !n.is_empty() && !n.contains(Self::SEPARATOR)) {
            if !joined.is_empty() {
                joined.push(Self::SEPARATOR);
            }
            joined.push_str(name);
        }
        NameList((!joined.is_empty()).then(|| joined.into_boxed_str()))
    }
}

impl fmt::Debug for NameList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

static NO_TLS: TlsFacts = TlsFacts {
    version: 0,
    client_version: 0,
    cipher: 0,
    sni: None,
    alpn: NameList(None),
    alpn_negotiated: None,
    ja3: None,
    ja3s: None,
    ja4: None,
    subject_cn: None,
    server_names: NameList(None),
};

impl Empty for TlsFacts {
    fn empty() -> &'static Self {
        &NO_TLS
    }
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
        /// New per-protocol facts: a struct in the dissector's module, and one line in the
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
    Http(crate::dissect::http::HttpFacts), http, http_mut;
    Dns(crate::dissect::dns::DnsFacts), dns, dns_mut;
    Ssh(crate::dissect::ssh::SshFacts), ssh, ssh_mut;
    Dhcp(crate::dissect::dhcp::DhcpFacts), dhcp, dhcp_mut;
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
    /// Netify protocol ID (see [`crate::dissect::protocol`]); 0 = unknown.
    pub protocol: u16,
    /// Host name the flow is about (TLS SNI, later HTTP Host, DNS hints…).
    pub detected_hostname: Option<Box<str>>,
    /// Name the DNS hint cache gives for the other address (Netify's `dns_hostname`).
    pub dns_hostname: Option<Arc<str>>,
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
    /// Packets and bytes seen, both directions.
    pub packets: u64,
    pub bytes: u64,
}

impl FlowFacts {
    /// Give back the spare capacity of the facts' vectors: called once detection completes,
    /// when they stop growing (a vector's first push reserves four elements, and a DNS
    /// answer is 24 bytes).
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
            protocol: 0,
            detected_hostname: None,
            dns_hostname: None,
            application: AppFacts::default(),
            risk: Cold::default(),
            tls: Cold::default(),
            quic_version: 0,
            app_protocol: ProtocolFacts::None,
            detection_complete: false,
            detection_guessed: false,
            detection_updated: false,
            packets: 0,
            bytes: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_list_keeps_names_in_order_in_one_block() {
        let list: NameList = ["h2", "http/1.1", "", "bad\nname", "spdy/3"].into_iter().collect();
        assert_eq!(list.iter().collect::<Vec<_>>(), ["h2", "http/1.1", "spdy/3"]);
        assert_eq!((list.first(), list.len(), list.is_empty()), (Some("h2"), 3, false));
        assert_eq!(format!("{list:?}"), r#"["h2", "http/1.1", "spdy/3"]"#);
        let empty: NameList = ["", "\n"].into_iter().collect();
        assert_eq!((empty.iter().count(), empty.first(), empty.is_empty()), (0, None, true));
        assert_eq!(empty, NameList::default());
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
        assert!(std::mem::size_of::<TlsFacts>() <= 160, "{}", std::mem::size_of::<TlsFacts>());
    }
}
