//! The two hellos (RFC 8446 §4.1.2–4.1.3, RFC 5246 §7.4.1): the fields flowsieve keeps, checked
//! whole before any fact is written, and the leaf certificate's names.

use super::*;
use crate::facts::finality::Final;

/// Which transport carried a hello: the first character of its JA4 fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Quic,
    Dtls,
}

/// Read a ClientHello handshake message body (without its 4-byte header) that arrived some other
/// way than TLS records, e.g. QUIC CRYPTO frames, and write what it shows into `facts`. False
/// when it is malformed (facts untouched).
pub fn record_client_hello(body: &[u8], transport: Transport, facts: &mut FlowFacts) -> bool {
    match ClientHello::parse(body, transport == Transport::Dtls) {
        Some(hello) => {
            hello.record(facts, transport);
            true
        }
        None => false,
    }
}

/// What a ServerHello read by [`record_server_hello`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerAnswer {
    /// The ServerHello: the handshake's version and cipher are known. Up to TLS 1.2 (and DTLS
    /// 1.2) the server's certificate follows in the clear.
    Hello { certificate_follows: bool },
    /// A HelloRetryRequest (RFC 8446 §4.1.4): its version and cipher bind the ServerHello to
    /// come, which follows the client's second ClientHello.
    RetryRequest,
}

/// Read a ServerHello handshake message body (without its 4-byte header) and write what it shows
/// (version, cipher, JA3S, the ALPN if it carries one) into `facts`: the TLS walker's ServerHellos
/// and the ones in a QUIC server's Initial CRYPTO frames. `after_retry`: a HelloRetryRequest came
/// before, so another one is a protocol error (RFC 8446 §4.1.4). `None` when it is malformed
/// (facts untouched).
pub fn record_server_hello(
    body: &[u8],
    transport: Transport,
    after_retry: bool,
    facts: &mut FlowFacts,
) -> Option<ServerAnswer> {
    let hello = ServerHello::parse(body, transport == Transport::Dtls)?;
    if hello.retry && after_retry {
        return None;
    }
    // A HelloRetryRequest's facts are recorded too: a flow that ends there still has its version,
    // cipher and JA3S, as nDPI reports them.
    hello.record(facts, transport);
    Some(if hello.retry {
        ServerAnswer::RetryRequest
    } else {
        ServerAnswer::Hello { certificate_follows: hello.certificate_follows() }
    })
}

/// The ClientHello fields we keep, borrowed from the message; checked whole before any fact is
/// written, so a malformed hello leaves the facts untouched.
pub(super) struct ClientHello<'a> {
    pub(super) legacy_version: u16,
    /// Highest non-GREASE entry of supported_versions, when the extension is present.
    pub(super) offered: Option<u16>,
    pub(super) sni: Option<&'a str>,
    /// A server_name extension is present (JA4 `d`), whether or not its name is printable.
    pub(super) has_sni: bool,
    /// The hello carries the encrypted_client_hello extension (the outer hello of ECH, or a
    /// GREASE ECH: both say the client speaks ECH).
    pub(super) ech: bool,
    /// ALPN ProtocolNameList, already checked.
    pub(super) alpn: Option<&'a [u8]>,
    /// cipher_suites, an even number of bytes.
    pub(super) ciphers: &'a [u8],
    /// The extensions block, checked to be a well-formed list.
    pub(super) extensions: &'a [u8],
    /// supported_groups, ec_point_formats and signature_algorithms lists (empty when absent
    /// or malformed: they only feed fingerprints).
    pub(super) groups: &'a [u8],
    pub(super) point_formats: &'a [u8],
    pub(super) signature_algorithms: &'a [u8],
    /// QUIC transport parameters (RFC 9000 §18), when the hello carries them.
    pub(super) quic_parameters: &'a [u8],
}

/// The value of transport parameter `id` (RFC 9000 §18: varint id, varint length, value).
pub(super) fn transport_parameter(params: &[u8], id: u64) -> Option<&[u8]> {
    let mut r = Reader::new(params);
    while !r.is_empty() {
        let kind = r.varint()?;
        let len = r.varint_usize()?;
        let value = r.take(len)?;
        if kind == id {
            return Some(value);
        }
    }
    None
}

/// A hello's extensions block (RFC 8446 §4.1.2): absent (empty) or a `<0..2^16-1>` list that
/// ends the message.
fn extensions_block<'a>(r: &mut Reader<'a>) -> Option<&'a [u8]> {
    if r.is_empty() {
        return Some(&[]);
    }
    let block = r.vec16()?;
    r.is_empty().then_some(block)
}

/// Call `f` with each extension's type and data; `None` when the block is malformed or `f`
/// refuses an extension.
fn each_extension<'a>(block: &'a [u8], mut f: impl FnMut(u16, &'a [u8]) -> Option<()>) -> Option<()> {
    let mut exts = Reader::new(block);
    while !exts.is_empty() {
        let kind = exts.u16()?;
        let data = exts.vec16()?;
        f(kind, data)?;
    }
    Some(())
}

impl<'a> ClientHello<'a> {
    /// RFC 8446 §4.1.2 (RFC 5246 §7.4.1.2 and SSL 3.0 have the same layout; extensions are
    /// optional before TLS 1.3). DTLS adds a cookie after the session id (RFC 6347 §4.2.1).
    pub(super) fn parse(body: &'a [u8], dtls: bool) -> Option<Self> {
        let mut r = Reader::new(body);
        let legacy_version = r.u16().filter(|&v| if dtls { is_dtls_version(v) } else { v >> 8 == 3 })?;
        r.take(32)?; // random
        r.vec8().filter(|id| id.len() <= 32)?;
        if dtls {
            r.vec8()?; // cookie
        }
        let ciphers = r.vec16().filter(|suites| !suites.is_empty() && suites.len() % 2 == 0)?;
        r.vec8().filter(|methods| !methods.is_empty())?;
        let mut hello = ClientHello {
            legacy_version,
            offered: None,
            sni: None,
            has_sni: false,
            ech: false,
            alpn: None,
            ciphers,
            extensions: &[],
            groups: &[],
            point_formats: &[],
            signature_algorithms: &[],
            quic_parameters: &[],
        };
        hello.extensions = extensions_block(&mut r)?;
        each_extension(hello.extensions, |kind, data| {
            match kind {
                EXT_SERVER_NAME => {
                    hello.has_sni = true;
                    hello.sni = host_name(data)?;
                }
                EXT_ALPN => hello.alpn = Some(protocol_name_list(data)?),
                EXT_ENCRYPTED_CLIENT_HELLO => hello.ech = true,
                EXT_SUPPORTED_VERSIONS => hello.offered = highest_version(data)?,
                EXT_SUPPORTED_GROUPS => hello.groups = even_list16(data),
                EXT_SIGNATURE_ALGORITHMS => hello.signature_algorithms = even_list16(data),
                EXT_EC_POINT_FORMATS => {
                    hello.point_formats = Reader::new(data).vec8().unwrap_or_default();
                }
                EXT_QUIC_TRANSPORT_PARAMETERS | EXT_QUIC_TRANSPORT_PARAMETERS_DRAFT => hello.quic_parameters = data,
                _ => {}
            }
            Some(())
        })?;
        Some(hello)
    }

    pub(super) fn record(&self, facts: &mut FlowFacts, transport: Transport) {
        facts.tls.client_version = final_version(self.offered.unwrap_or(self.legacy_version));
        if self.ech {
            facts.tls.set_ech();
        }
        let alpn = self.alpn.map(|list| protocol_names(list).filter_map(printable));
        if let Some(sni) = self.sni {
            // Also the flow's hostname when it has none (stored once); one text rebuild for
            // the SNI and the ALPN list.
            facts.set_tls_sni_and_alpn(sni, alpn);
        } else if let Some(alpn) = alpn {
            facts.tls.set_alpn(alpn);
        }
        // After the ALPN list: the DNS names read it.
        match transport {
            Transport::Quic => {
                if let Some(dns) = dns_protocol(facts, Transport::Quic) {
                    facts.protocol = dns;
                }
            }
            Transport::Dtls => facts.protocol = protocol::DTLS,
            Transport::Tcp => facts.protocol = tls_protocol(facts),
        }
        facts.tls.set_ja3(md5(self.ja3_string().as_bytes()));
        // JA4 is always `Ja4::LEN` ASCII characters (two version characters, two-digit counts).
        let ja4 = Ja4::new(&self.ja4(transport));
        debug_assert!(ja4.is_some());
        if let Some(ja4) = ja4 {
            facts.tls.set_ja4(ja4);
        }
        // A flow has one ClientHello that counts (later ones are not read): what it says is
        // final, and so is the host name once it has one (dissectors only fill an empty one).
        facts.final_facts |= Final::TLS_CLIENT;
        if facts.detected_hostname().is_some() {
            facts.final_facts |= Final::HOSTNAME;
        }
        let agent = transport_parameter(self.quic_parameters, TP_GOOGLE_USER_AGENT)
            .filter(|ua| !ua.is_empty() && ua.iter().all(|&b| (0x20..0x7f).contains(&b)));
        if let Some(ua) = agent {
            let http = facts.app_protocol.http_mut();
            if http.user_agent.is_none() {
                http.user_agent = Some(crate::dissect::text::fact_string(ua, 512));
            }
        }
    }

    pub(super) fn extension_types(&self) -> impl Iterator<Item = u16> + 'a {
        extension_types(self.extensions)
    }
}

/// The ServerHello fields we keep.
pub(super) struct ServerHello<'a> {
    pub(super) retry: bool,
    pub(super) legacy_version: u16,
    /// supported_versions when present (TLS 1.3), else legacy_version.
    pub(super) version: u16,
    pub(super) cipher: u16,
    pub(super) alpn: Option<&'a str>,
    /// The extensions block, checked to be a well-formed list.
    pub(super) extensions: &'a [u8],
}

impl<'a> ServerHello<'a> {
    /// RFC 8446 §4.1.3 (same layout back to SSL 3.0, and in DTLS).
    pub(super) fn parse(body: &'a [u8], dtls: bool) -> Option<Self> {
        let mut r = Reader::new(body);
        // Up to draft 21 a TLS 1.3 server put its draft version in this field, not in
        // supported_versions (draft-ietf-tls-tls13-21 §4.1.3).
        let legacy_version =
            r.u16().filter(|&v| if dtls { is_dtls_version(v) } else { v >> 8 == 3 || is_tls13_draft(v) })?;
        let retry = r.take(32)? == HELLO_RETRY_RANDOM;
        r.vec8().filter(|id| id.len() <= 32)?;
        let cipher = r.u16()?;
        r.u8()?; // compression method
        let version = final_version(legacy_version);
        let mut hello = ServerHello { retry, legacy_version, version, cipher, alpn: None, extensions: &[] };
        hello.extensions = extensions_block(&mut r)?;
        each_extension(hello.extensions, |kind, data| {
            match kind {
                EXT_SUPPORTED_VERSIONS => {
                    let mut d = Reader::new(data);
                    let selected = d.u16()?;
                    if !d.is_empty() {
                        return None;
                    }
                    if !is_grease(selected) {
                        hello.version = final_version(selected);
                    }
                }
                EXT_ALPN => {
                    // RFC 7301 §3.1: the server answers with exactly one name.
                    let mut names = protocol_names(protocol_name_list(data)?);
                    let chosen = names.next()?;
                    if names.next().is_some() {
                        return None;
                    }
                    hello.alpn = printable(chosen);
                }
                _ => {}
            }
            Some(())
        })?;
        Some(hello)
    }

    /// TLS up to 1.2 and DTLS up to 1.2 send the certificate in the clear next.
    pub(super) fn certificate_follows(&self) -> bool {
        (0x0300..=0x0303).contains(&self.version) || matches!(self.version, DTLS_1_0 | DTLS_1_2)
    }

    pub(super) fn record(&self, facts: &mut FlowFacts, transport: Transport) {
        facts.tls.version = self.version;
        facts.tls.cipher = self.cipher;
        // Final: a HelloRetryRequest binds the ServerHello to come to its version and cipher
        // (RFC 8446 §4.1.4), and a flow's later handshakes are not read.
        facts.final_facts |= Final::TLS_SERVER;
        if let Some(alpn) = self.alpn {
            facts.tls.set_alpn_negotiated(alpn);
        }
        // A DTLS flow stays DTLS (its ClientHello said so); DTLS versions count down from 0xfeff.
        // A QUIC flow keeps the name its ClientHello gave it (QUIC, or DoQ by the offered ALPN).
        if transport != Transport::Quic && facts.protocol != protocol::DTLS {
            facts.protocol = if self.version >= 0xfe00 { protocol::DTLS } else { tls_protocol(facts) };
        }
        // JA3S is the server's first answer, a HelloRetryRequest included: it pairs with the
        // JA3 of the first ClientHello (the one flowsieve reads), as in nDPI and Netify.
        if facts.tls.ja3s().is_none() {
            facts.tls.set_ja3s(md5(self.ja3s_string().as_bytes()));
        }
    }
}

/// TLS over TCP as netifyd names it (docs/FLOW-ACTIONS.md, "TLS and QUIC naming"): a STARTTLS
/// upgrade keeps the secure variant it already has; DNS over TLS or HTTPS is named by
/// [`dns_protocol`]; otherwise the port of either side gives the name ([`TLS_PORTS`]: 443 is
/// `HTTP/S` whatever the payload, 993 `IMAP/S` …) and the ALPN the server chose refines it
/// ([`ALPN_PROTOCOLS`]: `h2` on 8443 is `HTTP/S`, `imap` on 443 `IMAP/S`). Anything else is `TLS`.
pub(super) fn tls_protocol(facts: &FlowFacts) -> protocol::ProtocolId {
    let secure = [protocol::SMTPS, protocol::IMAPS, protocol::POPS, protocol::FTPS];
    let by_port = if secure.contains(&facts.protocol) {
        facts.protocol
    } else if let Some(dns) = dns_protocol(facts, Transport::Tcp) {
        return dns;
    } else {
        TLS_PORTS
            .iter()
            .find(|&&(port, _)| facts.local_port == port || facts.other_port == port)
            .map_or(protocol::TLS, |&(_, id)| id)
    };
    facts.tls.alpn_negotiated().and_then(alpn_protocol).unwrap_or(by_port)
}

/// netifyd's names for TLS by port, in its order (the first entry naming either side's port
/// wins): DNS 53 and 853 `DoT`, 443 `HTTP/S`, NNTP 563, SMTP submission 465 and 587, IMAP 585
/// and 993, POP3 995, FTP 990, MQTT 1883 and 8883, SIP 5061, syslog 6514, IRC 6697. netifyd
/// also names port 989 (FTPS data) with an ID its protocol table gives no name; flowsieve
/// leaves that `TLS`.
pub(super) const TLS_PORTS: &[(u16, protocol::ProtocolId)] = &[
    (53, protocol::DOT),
    (443, protocol::HTTPS),
    (563, protocol::NNTPS),
    (853, protocol::DOT),
    (465, protocol::SMTPS),
    (585, protocol::IMAPS),
    (587, protocol::SMTPS),
    (993, protocol::IMAPS),
    (995, protocol::POPS),
    (990, protocol::FTPS),
    (1883, protocol::MQTTS),
    (5061, protocol::SIPS),
    (6514, protocol::SYSLOGS),
    (6697, protocol::IRCS),
    (8883, protocol::MQTTS),
];

/// netifyd's protocol for an ALPN the server chose (IANA's ALPN registry IDs). Its table maps
/// SPDY to `QUIC` and several registry entries (WebRTC, ManageSieve, ACME, NTS-KE, SunRPC,
/// DICOM) back to `TLS`; flowsieve keeps both as netifyd has them.
pub(super) const ALPN_PROTOCOLS: &[(&str, protocol::ProtocolId)] = &[
    ("http/0.9", protocol::HTTPS),
    ("http/1.0", protocol::HTTPS),
    ("http/1.1", protocol::HTTPS),
    ("h2", protocol::HTTPS),
    ("h2c", protocol::HTTPS),
    ("h3", protocol::HTTPS),
    ("spdy/1", protocol::QUIC),
    ("spdy/2", protocol::QUIC),
    ("spdy/3", protocol::QUIC),
    ("stun.turn", protocol::STUN),
    ("stun.nat-discovery", protocol::STUN),
    ("webrtc", protocol::TLS),
    ("c-webrtc", protocol::TLS),
    ("managesieve", protocol::TLS),
    ("acme-tls/1", protocol::TLS),
    ("ntske/1", protocol::TLS),
    ("sunrpc", protocol::TLS),
    ("dicom", protocol::TLS),
    ("ftp", protocol::FTPS),
    ("imap", protocol::IMAPS),
    ("pop3", protocol::POPS),
    ("coap", protocol::COAP),
    ("xmpp-client", protocol::XMPPS),
    ("xmpp-server", protocol::XMPPS),
    ("mqtt", protocol::MQTTS),
    ("dot", protocol::DOT),
    ("smb", protocol::SMBV23),
    ("irc", protocol::IRCS),
    ("nntp", protocol::NNTPS),
    ("nnsp", protocol::NNTPS),
    ("doq", protocol::DOQ),
    ("sip/2", protocol::SIPS),
    ("tds/8.0", protocol::MSSQL_TDS),
];

/// Whether netifyd gives this name to a flow nDPI calls `TLS`, by its port or the server's
/// ALPN ([`TLS_PORTS`], [`ALPN_PROTOCOLS`]): the wire protocol is TLS whatever the name says
/// (the corpus report compares such flows with nDPI's `TLS`).
pub fn is_tls_by_port_or_alpn(id: protocol::ProtocolId) -> bool {
    TLS_PORTS.iter().any(|&(_, p)| p == id) || ALPN_PROTOCOLS.iter().any(|&(_, p)| p == id && p != protocol::QUIC)
}

/// The protocol an ALPN names, when netifyd's table lists it.
pub(super) fn alpn_protocol(alpn: &str) -> Option<protocol::ProtocolId> {
    ALPN_PROTOCOLS.iter().find(|&&(a, _)| a == alpn).map(|&(_, id)| id)
}

/// DNS carried by TLS or QUIC, as netifyd names it: `DoT` for TLS offering ALPN `dot` (RFC 7858
/// and its IANA ALPN registration) or on TCP 853 (RFC 7858 §3.1); `DoQ` for QUIC offering `doq`
/// (RFC 9250 §4.1; `doq-iNN` in its drafts); `DoH` for TLS or QUIC to a public resolver's
/// DNS-over-HTTPS host ([`DOH_HOSTS`]: RFC 8484 runs on plain HTTPS, so the name is what tells).
pub(super) fn dns_protocol(facts: &FlowFacts, transport: Transport) -> Option<protocol::ProtocolId> {
    let offered = || facts.tls.alpn_negotiated().into_iter().chain(facts.tls.alpn().iter());
    match transport {
        Transport::Tcp if offered().any(|a| a == "dot") || facts.local_port == 853 || facts.other_port == 853 => {
            return Some(protocol::DOT);
        }
        Transport::Quic if offered().any(|a| a == "doq" || a.starts_with("doq-i")) => return Some(protocol::DOQ),
        Transport::Dtls => return None,
        _ => {}
    }
    facts.tls.sni().filter(|sni| is_doh_host(sni)).map(|_| protocol::DOH)
}

/// DNS-over-HTTPS hosts the public resolvers document for their RFC 8484 endpoints (Google,
/// Cloudflare and its Firefox/Chrome names, Quad9, OpenDNS, AdGuard, NextDNS, CleanBrowsing,
/// Mullvad, Control D, Alibaba, DNSPod, DNS.SB). A name matches itself and its subdomains.
pub(super) const DOH_HOSTS: &[&str] = &[
    "dns.google",
    "dns.google.com",
    "cloudflare-dns.com",
    "one.one.one.one",
    "dns.quad9.net",
    "dns9.quad9.net",
    "dns10.quad9.net",
    "dns11.quad9.net",
    "doh.opendns.com",
    "doh.familyshield.opendns.com",
    "dns.adguard.com",
    "dns.adguard-dns.com",
    "dns.nextdns.io",
    "doh.cleanbrowsing.org",
    "dns.mullvad.net",
    "doh.mullvad.net",
    "dns.controld.com",
    "dns.alidns.com",
    "doh.pub",
    "doh.dns.sb",
];

/// `sni` is one of [`DOH_HOSTS`] or a subdomain of one (ASCII case-insensitive).
pub(in crate::dissect) fn is_doh_host(sni: &str) -> bool {
    let sni = sni.strip_suffix('.').unwrap_or(sni).as_bytes();
    DOH_HOSTS.iter().any(|host| {
        let host = host.as_bytes();
        sni.len() >= host.len()
            && sni[sni.len() - host.len()..].eq_ignore_ascii_case(host)
            && (sni.len() == host.len() || sni[sni.len() - host.len() - 1] == b'.')
    })
}

/// The version a flow reports: a pre-RFC TLS 1.3 version is TLS 1.3 (0x0304). These are the
/// IETF drafts (0x7fNN, NN the draft number, draft-ietf-tls-tls13 §4.2.1), BoringSSL's TLS 1.3
/// experiment versions (0x7eNN) and Facebook Fizz's drafts (0xfbNN, e.g. 0xfb1a for draft 26).
/// JA3 and JA4 keep the version as sent.
pub(super) fn final_version(v: u16) -> u16 {
    if is_tls13_draft(v) {
        0x0304
    } else {
        v
    }
}

/// A pre-RFC TLS 1.3 version (see [`final_version`]).
pub(super) fn is_tls13_draft(v: u16) -> bool {
    matches!(v >> 8, 0x7f | 0x7e | 0xfb)
}

pub(super) fn is_dtls_version(v: u16) -> bool {
    matches!(v, DTLS_1_0 | DTLS_1_2 | DTLS_1_3 | DTLS_BAD)
}

/// Where a version stands among all versions, so DTLS (counting down from 0xfeff) compares with
/// TLS: DTLS 1.0 ranks as TLS 1.1, DTLS 1.2 as TLS 1.2, DTLS 1.3 as TLS 1.3 (RFC 9147 §5.3).
pub(super) fn version_rank(v: u16) -> u16 {
    match v {
        DTLS_1_0 => 0x0302,
        DTLS_1_2 => 0x0303,
        DTLS_1_3 => 0x0304,
        _ => v,
    }
}

/// Names a certificate may bring into the facts; more are ignored. (Real certificates list up
/// to a few hundred; the leaf's size bounds them anyway.)
pub(super) const MAX_SERVER_NAMES: usize = 1024;

thread_local! {
    /// The certificate names being gathered, joined as the text block keeps them (`Names`: no
    /// block per name), before the TLS facts' exact text block is made from them: one buffer
    /// per thread, kept from one certificate to the next. A list grown by doubling for each
    /// certificate had its last block taken past the flow's long-lived blocks and freed once
    /// the text block was made, leaving a hole in the heap for every TLS flow
    /// (docs/BENCHMARKS.md, "Memory per flow"). It keeps the longest list a thread has read:
    /// a few times the 16 KiB a reassembled handshake message may take at most (an address
    /// written as text is longer than its bytes).
    static CERTIFICATE_NAMES: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Record the subject CN and subjectAltName DNS names of the leaf certificate at the start of
/// a Certificate message body (RFC 5246 §7.4.2). A malformed certificate keeps the names found
/// before the fault.
pub(super) fn record_certificate(body: &[u8], facts: &mut FlowFacts) {
    let mut r = Reader::new(body);
    let (Some(_list), Some(leaf)) = (r.u24(), r.vec24()) else {
        return;
    };
    // Gathered here and stored in the TLS facts' text block once the certificate is read.
    let mut cn = facts.tls.subject_cn().is_some().then_some(None);
    if x509::is_self_issued(leaf) {
        crate::dissect::risks::flag(facts, crate::dissect::risks::TLS_SELFSIGNED_CERTIFICATE);
    }
    // The subject's first organization, unit and common name, for the known subjects.
    let (mut organization, mut unit, mut common_name): (&[u8], &[u8], &[u8]) = (&[], &[], &[]);
    fn first<'a>(slot: &mut &'a [u8], value: &'a [u8]) {
        if slot.is_empty() {
            *slot = value;
        }
    }
    CERTIFICATE_NAMES.with_borrow_mut(|names| {
        names.clear();
        let mut count = 0;
        let mut add = |names: &mut String, name: &dyn Fn(&mut String)| {
            if count < MAX_SERVER_NAMES {
                count += 1;
                if !names.is_empty() {
                    names.push(Names::SEPARATOR);
                }
                name(names);
            }
        };
        let _ = x509::certificate_names(leaf, |name| match name {
            CertificateName::CommonName(text) => {
                first(&mut common_name, text);
                if cn.is_none() {
                    cn = printable(text).map(Some);
                }
            }
            CertificateName::Organization(text) => first(&mut organization, text),
            CertificateName::OrganizationalUnit(text) => first(&mut unit, text),
            // DNS names compare case-insensitively (RFC 4343); stored lowercase, as SNI matching
            // and nDPI expect.
            CertificateName::DnsName(dns) => {
                if let Some(dns) = printable(dns) {
                    add(names, &|names| {
                        let start = names.len();
                        names.push_str(dns);
                        names[start..].make_ascii_lowercase();
                    });
                }
            }
            CertificateName::IpAddress(ip) => add(names, &|names| {
                let _ = write!(names, "{ip}");
            }),
        });
        facts.tls.set_certificate_names(cn.flatten(), names);
    });
    facts.tls.set_known_subject(crate::facts::known_subject_index(organization, unit, common_name));
}

/// server_name extension (RFC 6066 §3): the first host_name entry. Outer `None`: malformed;
/// inner `None`: no usable name (absent, or not printable text, which we do not store).
pub(super) fn host_name(data: &[u8]) -> Option<Option<&str>> {
    let mut r = Reader::new(data);
    let mut list = Reader::new(r.vec16()?);
    if !r.is_empty() || list.is_empty() {
        return None;
    }
    let mut found = None;
    while !list.is_empty() {
        let kind = list.u8()?;
        let name = list.vec16()?;
        if kind == 0 && found.is_none() {
            found = Some(name);
        }
    }
    Some(found.and_then(printable))
}

/// ALPN extension (RFC 7301 §3.1): the ProtocolNameList, checked to hold only non-empty names.
pub(super) fn protocol_name_list(data: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(data);
    let list = r.vec16()?;
    if !r.is_empty() || list.is_empty() {
        return None;
    }
    let mut names = Reader::new(list);
    while !names.is_empty() {
        names.vec8().filter(|name| !name.is_empty())?;
    }
    Some(list)
}

/// The names of a ProtocolNameList checked by [`protocol_name_list`].
pub(super) fn protocol_names(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut r = Reader::new(list);
    std::iter::from_fn(move || r.vec8())
}

/// ClientHello supported_versions (RFC 8446 §4.2.1): the highest version offered, GREASE
/// aside. Outer `None`: malformed.
pub(super) fn highest_version(data: &[u8]) -> Option<Option<u16>> {
    let mut r = Reader::new(data);
    let list = r.vec8()?;
    if !r.is_empty() || list.is_empty() || list.len() % 2 != 0 {
        return None;
    }
    let mut versions = Reader::new(list);
    Some(std::iter::from_fn(|| versions.u16()).filter(|&v| !is_grease(v)).max_by_key(|&v| version_rank(v)))
}

/// RFC 8701 §2: GREASE values are 0x0A0A, 0x1A1A, … 0xFAFA.
pub(super) fn is_grease(value: u16) -> bool {
    value & 0x0f0f == 0x0a0a && value >> 8 == value & 0xff
}

/// Text we are willing to store: UTF-8 without control characters. Anything else on the wire is
/// dropped rather than escaped, so logs and set names never carry it.
pub(super) fn printable(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    (!text.is_empty() && !text.chars().any(char::is_control)).then_some(text)
}
