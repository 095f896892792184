//! Wire signatures: facts of a flow's own packets that name its application whatever its
//! address or host name says (docs/FLOW-ACTIONS.md §5, "Wire signatures"). The classifier tries
//! them right after the protocol twins: a WhatsApp call relayed through a Meta address is
//! WhatsApp, not Facebook.

use crate::facts::http::KNOWN_SERVERS;
use crate::facts::stun::StunClient;
use crate::facts::{FlowFacts, KNOWN_SUBJECTS};

/// A wire signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// STUN/TURN with WhatsApp's private attributes or message types (`dissect::stun`).
    WhatsAppRelay,
    /// STUN/TURN with Microsoft's ICE/TURN extension attributes (`dissect::stun`).
    MicrosoftCall,
    /// A TURN relay whose REALM is Google's (`google.com` or a name under it).
    GoogleRelayRealm,
    /// A TURN relay whose REALM is Signal's (under `signal.org` or `whispersystems.org`).
    SignalRelayRealm,
    /// A TURN relay whose REALM is Telegram's (under `telegram.org`).
    TelegramRelayRealm,
    /// RTP or RTCP after an SNI-less Q046 handshake on one 5-tuple (`dissect::gquic`).
    SnapchatCall,
    /// A Tor client's TLS link handshake: its random server name and no ALPN.
    TorLink,
    /// An HTTP request from one of Microsoft's update clients ([`WINDOWS_UPDATE_AGENTS`]).
    WindowsUpdateAgent,
    /// A server certificate whose subject is the entry of [`KNOWN_SUBJECTS`] at this index: a
    /// device or service its maker names in its certificates (`crate::facts::KnownSubject`).
    CertificateSubject(u8),
    /// An HTTP response whose `Server` product is the entry of [`KNOWN_SERVERS`] at this index
    /// (`crate::facts::http::KnownServer`): the server that answered, whatever host was asked.
    HttpServer(u8),
    /// A TLS ClientHello offering an ALPN protocol ID that starts `anydesk/`: AnyDesk's client
    /// names its own protocol and version there (`anydesk/6.2.0/linux`); no registered ALPN ID
    /// (IANA's TLS ALPN Protocol IDs) starts so. nDPI's tls.c names the flow AnyDesk by it.
    AnyDeskAlpn,
    /// A WireGuard handshake with TunnelBear's longer messages (`dissect::wireguard`).
    TunnelBearHandshake,
}

/// User agent product tokens (RFC 9110 §10.1.5) of Microsoft's update clients: the Windows
/// Update Agent (`Windows-Update-Agent`, the client of MS-WUSP) and Delivery Optimization, the
/// Windows service that downloads updates and Store apps (`Microsoft-Delivery-Optimization`).
/// Their requests often go to a bare address or a cache's name, so the host says nothing. Not
/// netifyd's: an addition of flowsieve's.
pub const WINDOWS_UPDATE_AGENTS: &[&str] = &["Windows-Update-Agent/", "Microsoft-Delivery-Optimization/"];

/// Each signature, the application tag it names and what `flowsieve lookup` says about it.
pub const SIGNATURES: &[(Signature, &str, &str)] = &[
    (
        Signature::WhatsAppRelay,
        "netify.whatsapp",
        "STUN/TURN messages with WhatsApp's private attributes (0x4000-0x4004, 0x4007) or message types (0x0800-0x0802)",
    ),
    (
        Signature::MicrosoftCall,
        "netify.microsoft-teams",
        "STUN/TURN messages with Microsoft's ICE/TURN extension attributes (MS-ICE2 0x8054, 0x8070; MS-TURN 0x8055, 0x8095)",
    ),
    (
        Signature::GoogleRelayRealm,
        "netify.google-meet",
        "a TURN relay's REALM attribute naming google.com (Google's call relays)",
    ),
    (
        Signature::SignalRelayRealm,
        "netify.signal",
        "a TURN relay's REALM attribute naming signal.org or whispersystems.org (Signal's call relays)",
    ),
    (
        Signature::TelegramRelayRealm,
        "netify.telegram",
        "a TURN relay's REALM attribute naming telegram.org (Telegram's call relays)",
    ),
    (
        Signature::SnapchatCall,
        "netify.snapchat",
        "RTP or RTCP on the 5-tuple of a Google QUIC Q046 connection opened without a server name (Snapchat's calls)",
    ),
    (
        Signature::TorLink,
        "netify.tor",
        "a TLS ClientHello with Tor's random server name (www.<4-25 base32 characters>.com) and no ALPN",
    ),
    (
        Signature::AnyDeskAlpn,
        "netify.anydesk",
        "a TLS ClientHello offering an ALPN protocol ID that starts with anydesk/ (AnyDesk's client and version)",
    ),
    (
        Signature::TunnelBearHandshake,
        "netify.tunnelbear",
        "a WireGuard handshake of TunnelBear's sizes: a 204-byte initiation answered by a 100-byte response (WireGuard's are 148 and 92)",
    ),
    (
        Signature::WindowsUpdateAgent,
        "netify.windows-update",
        "an HTTP user agent of Microsoft's update clients (Windows-Update-Agent/, Microsoft-Delivery-Optimization/)",
    ),
];

/// The signature a flow's facts show, if any.
pub fn signature_of(facts: &FlowFacts) -> Option<Signature> {
    if let Some(signature) = facts.app_protocol.stun().and_then(|s| call_signature(s.client)) {
        return Some(signature);
    }
    if facts.app_protocol.wireguard().is_some_and(|w| w.tunnelbear_handshake) {
        return Some(Signature::TunnelBearHandshake);
    }
    if facts.tls.media_after_handshake() {
        return Some(Signature::SnapchatCall);
    }
    if facts.tls.client_version != 0 && facts.tls.alpn().is_empty() && facts.tls.sni().is_some_and(is_tor_server_name) {
        return Some(Signature::TorLink);
    }
    if let Some(index) = facts.tls.known_subject_position() {
        return Some(Signature::CertificateSubject(index));
    }
    if facts.tls.alpn().iter().any(|id| id.len() > ANYDESK_ALPN.len() && id.starts_with(ANYDESK_ALPN)) {
        return Some(Signature::AnyDeskAlpn);
    }
    let http = facts.app_protocol.http()?;
    if let Some(index) = http.known_server_position() {
        return Some(Signature::HttpServer(index));
    }
    let agent = http.user_agent.as_deref()?;
    WINDOWS_UPDATE_AGENTS.iter().any(|p| agent.starts_with(p)).then_some(Signature::WindowsUpdateAgent)
}

/// The signature of a call application STUN messages name (`dissect::stun`): WhatsApp's and
/// Microsoft's attributes, the REALM of Google's, Signal's or Telegram's relays
/// ([`crate::facts::stun::realm_client`]). Google's realm names Google's calls: without the
/// signature the realm, taken as the flow's host name, would name Google's web services
/// (`netify.google`) before the relay's address is looked at (docs/FLOW-ACTIONS.md §5). The call
/// hint cache's application for a call's other flows is named the same way.
pub fn call_signature(client: StunClient) -> Option<Signature> {
    match client {
        StunClient::WhatsApp => Some(Signature::WhatsAppRelay),
        StunClient::Microsoft => Some(Signature::MicrosoftCall),
        StunClient::Google => Some(Signature::GoogleRelayRealm),
        StunClient::Signal => Some(Signature::SignalRelayRealm),
        StunClient::Telegram => Some(Signature::TelegramRelayRealm),
        StunClient::Unknown => None,
    }
}

/// A Tor client names a random host in its ClientHello: `www.`, 4 to 25 characters of the
/// lower-case base32 alphabet (`a`–`z`, `2`–`7`), `.com`. A name of letters only is an ordinary
/// web site's as often as Tor's, so at least one digit and one letter are required (Tor's
/// names without a digit, (26/32)^length of them, are not named).
pub fn is_tor_server_name(name: &str) -> bool {
    let Some(random) = name.strip_prefix("www.").and_then(|n| n.strip_suffix(".com")) else { return false };
    let b = random.as_bytes();
    (4..=25).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(c))
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_lowercase)
}

/// The ALPN prefix of AnyDesk's client ([`Signature::AnyDeskAlpn`]).
const ANYDESK_ALPN: &str = "anydesk/";

/// What `flowsieve lookup` says about a server-product signature.
pub fn describe_server(index: u8) -> String {
    KNOWN_SERVERS
        .get(usize::from(index))
        .map_or_else(String::new, |k| format!("an HTTP response whose Server header names the product {}", k.product))
}

/// What `flowsieve lookup` says about a certificate-subject signature.
pub fn describe_subject(index: u8) -> String {
    let Some(k) = KNOWN_SUBJECTS.get(usize::from(index)) else { return String::new() };
    let parts: Vec<String> = [("O", k.organization), ("OU", k.unit), ("CN", k.common_name)]
        .iter()
        .filter_map(|(key, value)| value.map(|v| format!("{key}={v}")))
        .collect();
    format!("a server certificate whose subject has {}", parts.join(", "))
}
