//! What the TLS dissector learned about a flow, kept compact (see [`TlsFacts`]), and the
//! fingerprint and name-list types it stores.

use super::*;

/// What the TLS dissector learned. Numbers are wire values (version 0x0302 = TLS 1.1).
///
/// Memory (issue 7): one 104-byte box (112 as malloc sizes it) and one text block. The strings
/// (SNI, offered and negotiated ALPN, certificate subject CN and names) are laid end to end in
/// `text`, where `ends` says where each stops; a string that is already there is not stored
/// again but referenced: an SNI the certificate names, a negotiated ALPN the client offered, a
/// CN that is the SNI or one of the certificate's names. An offered ALPN list that is one of
/// [`COMMON_ALPN_LISTS`] (what browsers and most HTTP clients offer) is not stored at all, but
/// named by its position in that table, in the box's last spare byte.
/// The flow's hostname, when it is the SNI, is read from here too ([`FlowFacts::set_tls_sni`]).
/// The block is rebuilt, exactly sized, on each write: a handshake writes it three times.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsFacts {
    /// Negotiated version from the ServerHello (supported_versions wins); 0 until known.
    pub version: u16,
    /// Highest version the client offered (ClientHello legacy version or supported_versions).
    pub client_version: u16,
    /// Negotiated cipher suite from the ServerHello; 0 until known.
    pub cipher: u16,
    /// Which fingerprints are set, and whether the SNI is the flow's hostname (`TlsFacts::HAS_*`).
    pub(super) flags: u8,
    /// The negotiated ALPN as 1 + its index among the offered ones; 0 when it is in `text`
    /// (or absent).
    alpn_chosen: u8,
    /// The subject CN as 1 + its index among the server names, or [`TlsFacts::CN_IS_SNI`]; 0
    /// when it is in `text` (or absent).
    cn_ref: u8,
    /// The SNI as 1 + its index among the server names; 0 when it is in `text` (or absent).
    sni_ref: u8,
    /// The server certificate's subject as 1 + its index in [`KNOWN_SUBJECTS`]; 0: none of them.
    known_subject: u8,
    /// The offered ALPN list as 1 + its index in [`COMMON_ALPN_LISTS`]; 0 when it is in `text`
    /// (or absent).
    alpn_common: u8,
    /// JA3 and JA3S (MD5) and JA4 of the handshake, valid when their flag is set.
    ja3: [u8; 16],
    ja3s: [u8; 16],
    ja4: Ja4,
    /// Where the SNI, the offered ALPN list, the stored negotiated ALPN and the stored CN end
    /// in `text`; the server names run from the last to the end.
    ends: [u16; 4],
    /// All the strings, `None` when there are none (no heap block).
    pub(super) text: Option<Box<str>>,
}

/// The strings of a [`TlsFacts`], each empty when absent; lists joined by [`Names::SEPARATOR`].
#[derive(Clone, Copy, Default)]
struct TlsText<'a> {
    sni: &'a str,
    alpn: &'a str,
    alpn_negotiated: &'a str,
    subject_cn: &'a str,
    server_names: &'a str,
}

impl TlsFacts {
    const HAS_JA3: u8 = 1;
    const HAS_JA3S: u8 = 2;
    const HAS_JA4: u8 = 4;
    /// The flow's detected hostname is this SNI (stored once, here).
    pub(super) const SNI_IS_HOSTNAME: u8 = 8;
    /// The ClientHello offered Encrypted Client Hello.
    const ECH: u8 = 16;
    const MEDIA_AFTER_HANDSHAKE: u8 = 32;
    /// `cn_ref` value: the subject CN is the SNI.
    const CN_IS_SNI: u8 = u8::MAX;

    /// Server Name Indication from the ClientHello.
    pub fn sni(&self) -> Option<&str> {
        non_empty(self.sni_part())
    }

    /// ALPN protocols offered by the client, in order.
    pub fn alpn(&self) -> Names<'_> {
        Names(self.alpn_part())
    }

    /// ALPN protocol chosen by the server.
    pub fn alpn_negotiated(&self) -> Option<&str> {
        non_empty(self.alpn_negotiated_part())
    }

    /// Subject common name of the server's certificate (TLS <= 1.2, where it is in the clear).
    pub fn subject_cn(&self) -> Option<&str> {
        non_empty(self.subject_cn_part())
    }

    /// The entry of [`KNOWN_SUBJECTS`] the server certificate's subject matches (TLS <= 1.2).
    pub fn known_subject(&self) -> Option<&'static KnownSubject> {
        KNOWN_SUBJECTS.get(usize::from(self.known_subject_position()?))
    }

    /// The index in [`KNOWN_SUBJECTS`] of [`TlsFacts::known_subject`].
    pub fn known_subject_position(&self) -> Option<u8> {
        self.known_subject.checked_sub(1)
    }

    /// Records which [`KNOWN_SUBJECTS`] entry the certificate's subject matches, if any.
    pub fn set_known_subject(&mut self, subject: Option<usize>) {
        self.known_subject = subject.and_then(|i| u8::try_from(i + 1).ok()).unwrap_or(0);
    }

    /// subjectAltName DNS names (and addresses) of the server's certificate, in order.
    pub fn server_names(&self) -> Names<'_> {
        Names(self.server_names_part())
    }

    /// JA3 of the ClientHello (printed as lowercase hex).
    pub fn ja3(&self) -> Option<Md5Digest> {
        (self.flags & Self::HAS_JA3 != 0).then_some(Md5Digest(self.ja3))
    }

    /// JA3S of the ServerHello (printed as lowercase hex).
    pub fn ja3s(&self) -> Option<Md5Digest> {
        (self.flags & Self::HAS_JA3S != 0).then_some(Md5Digest(self.ja3s))
    }

    /// JA4 of the ClientHello, e.g. `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    pub fn ja4(&self) -> Option<&Ja4> {
        (self.flags & Self::HAS_JA4 != 0).then_some(&self.ja4)
    }

    /// Whether the ClientHello carried the encrypted_client_hello extension.
    pub fn ech(&self) -> bool {
        self.flags & Self::ECH != 0
    }

    pub fn set_ech(&mut self) {
        self.flags |= Self::ECH;
    }

    /// Whether RTP or RTCP followed the QUIC handshake on the flow's 5-tuple (Snapchat's calls,
    /// `dissect::gquic`).
    pub fn media_after_handshake(&self) -> bool {
        self.flags & Self::MEDIA_AFTER_HANDSHAKE != 0
    }

    pub fn set_media_after_handshake(&mut self) {
        self.flags |= Self::MEDIA_AFTER_HANDSHAKE;
    }

    pub fn set_ja3(&mut self, digest: Md5Digest) {
        self.ja3 = digest.0;
        self.flags |= Self::HAS_JA3;
    }

    pub fn set_ja3s(&mut self, digest: Md5Digest) {
        self.ja3s = digest.0;
        self.flags |= Self::HAS_JA3S;
    }

    pub fn set_ja4(&mut self, ja4: Ja4) {
        self.ja4 = ja4;
        self.flags |= Self::HAS_JA4;
    }

    /// The offered ALPN protocols. Empty names and names holding [`Names::SEPARATOR`] are left
    /// out: they could not be told apart in the joined text.
    pub fn set_alpn<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let joined = Names::join(names);
        self.store(TlsText { alpn: &joined, ..self.parts() }.encode());
    }

    /// The ALPN protocol the server chose (empty: none).
    pub fn set_alpn_negotiated(&mut self, name: &str) {
        self.store(TlsText { alpn_negotiated: name, ..self.parts() }.encode());
    }

    /// The certificate's subject CN (empty: none).
    pub fn set_subject_cn(&mut self, cn: &str) {
        self.store(TlsText { subject_cn: cn, ..self.parts() }.encode());
    }

    /// The certificate's names, filtered as [`TlsFacts::set_alpn`] does.
    pub fn set_server_names<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let joined = Names::join(names);
        self.store(TlsText { server_names: &joined, ..self.parts() }.encode());
    }

    /// The certificate's subject CN (`None`: keep the one stored) and its names, already
    /// joined by [`Names::SEPARATOR`] (no empty name, none holding the separator), with one
    /// rebuild of the text block.
    pub fn set_certificate_names(&mut self, cn: Option<&str>, joined_names: &str) {
        let parts = self.parts();
        let subject_cn = cn.unwrap_or(parts.subject_cn);
        self.store(TlsText { subject_cn, server_names: joined_names, ..parts }.encode());
    }

    /// Private: the SNI may be the flow's hostname, so it is set through
    /// [`FlowFacts::set_tls_sni`]. `alpn`, when given, is set in the same rebuild.
    pub(super) fn set_sni<'a>(&mut self, sni: &str, alpn: Option<impl IntoIterator<Item = &'a str>>) {
        let joined = alpn.map(Names::join);
        let parts = self.parts();
        let alpn = joined.as_deref().unwrap_or(parts.alpn);
        self.store(TlsText { sni, alpn, ..parts }.encode());
    }

    /// The SNI when it is the flow's hostname.
    pub(super) fn hostname(&self) -> Option<&str> {
        (self.flags & Self::SNI_IS_HOSTNAME != 0).then(|| self.sni()).flatten()
    }

    /// Heap bytes the facts take as glibc malloc sizes its blocks: the box and the text block.
    pub fn heap_bytes(&self) -> usize {
        malloc_chunk(std::mem::size_of::<TlsFacts>()) + self.text.as_ref().map_or(0, |t| malloc_chunk(t.len()))
    }

    fn parts(&self) -> TlsText<'_> {
        TlsText {
            sni: self.sni_part(),
            alpn: self.alpn_part(),
            alpn_negotiated: self.alpn_negotiated_part(),
            subject_cn: self.subject_cn_part(),
            server_names: self.server_names_part(),
        }
    }

    /// Stored string `i` of `text` (SNI, ALPN list, negotiated ALPN, CN, server names), before
    /// references are resolved. Each accessor resolves only its own string: the criteria and
    /// the dissectors read them per packet.
    fn stored(&self, i: usize) -> &str {
        let text = self.text.as_deref().unwrap_or("");
        let from = if i == 0 { 0 } else { usize::from(self.ends[i - 1]) };
        let to = self.ends.get(i).map_or(text.len(), |&end| usize::from(end));
        text.get(from..to).unwrap_or("")
    }

    /// Name `reference` (1-based) of `list`.
    fn named(list: &str, reference: u8) -> &str {
        Names(list).iter().nth(usize::from(reference) - 1).unwrap_or("")
    }

    fn sni_part(&self) -> &str {
        match self.sni_ref {
            0 => self.stored(0),
            n => Self::named(self.server_names_part(), n),
        }
    }

    fn alpn_part(&self) -> &str {
        match self.alpn_common {
            0 => self.stored(1),
            n => COMMON_ALPN_LISTS.get(usize::from(n) - 1).copied().unwrap_or(""),
        }
    }

    fn alpn_negotiated_part(&self) -> &str {
        match self.alpn_chosen {
            0 => self.stored(2),
            n => Self::named(self.alpn_part(), n),
        }
    }

    fn subject_cn_part(&self) -> &str {
        match self.cn_ref {
            0 => self.stored(3),
            Self::CN_IS_SNI => self.sni_part(),
            n => Self::named(self.server_names_part(), n),
        }
    }

    fn server_names_part(&self) -> &str {
        self.stored(4)
    }

    fn store(&mut self, encoded: EncodedText) {
        (self.sni_ref, self.alpn_chosen, self.cn_ref, self.alpn_common, self.ends, self.text) = encoded;
    }
}

/// Offered ALPN lists (joined by [`Names::SEPARATOR`]) that cost a TLS flow no text: those of
/// browsers and common HTTP clients, from IANA's ALPN protocol IDs `http/1.1` (RFC 7301), `h2`
/// (RFC 9113) and `h3` (RFC 9114). Browsers and curl offer `h2` then `http/1.1` over TLS, and
/// `h3` alone over QUIC; HTTP libraries often offer one of `h2` or `http/1.1` alone. Any other
/// list is stored in the flow's text block as it was offered.
pub const COMMON_ALPN_LISTS: &[&str] = &["h2\nhttp/1.1", "http/1.1", "h2", "h3"];

/// `TlsFacts::sni_ref`, `alpn_chosen`, `cn_ref`, `alpn_common`, `ends` and `text` for a
/// [`TlsText`].
type EncodedText = (u8, u8, u8, u8, [u16; 4], Option<Box<str>>);

impl TlsText<'_> {
    /// Lay `parts` out in a new, exactly sized text block. Text beyond the 64 KiB the offsets
    /// reach (a handshake message is at most 16 KiB, so never from the dissector) is cut: the
    /// last names first, then whole strings.
    fn encode(self) -> EncodedText {
        let limit = usize::from(u16::MAX);
        let mut parts = [self.sni, self.alpn, self.alpn_negotiated, self.subject_cn];
        let length = |parts: &[&str; 4]| parts.iter().map(|p| p.len()).sum::<usize>();
        let mut server_names = self.server_names;
        if length(&parts) + server_names.len() > limit {
            server_names = Names(server_names).cut(limit.saturating_sub(length(&parts)));
            for i in (0..parts.len()).rev() {
                if length(&parts) > limit {
                    parts[i] = "";
                }
            }
        }
        let [mut sni, mut alpn, alpn_negotiated, mut subject_cn] = parts;
        let position = |list: &str, name: &str| {
            Names(list).iter().position(|n| n == name).filter(|&i| i < usize::from(u8::MAX - 1)).map(|i| i as u8 + 1)
        };
        let sni_ref = if sni.is_empty() { None } else { position(server_names, sni) };
        let alpn_chosen = if alpn_negotiated.is_empty() { None } else { position(alpn, alpn_negotiated) };
        let negotiated = if alpn_chosen.is_some() { "" } else { alpn_negotiated };
        let cn_ref = match subject_cn {
            "" => None,
            cn if cn == sni => Some(TlsFacts::CN_IS_SNI),
            cn => position(server_names, cn),
        };
        if cn_ref.is_some() {
            subject_cn = "";
        }
        if sni_ref.is_some() {
            sni = "";
        }
        let alpn_common = COMMON_ALPN_LISTS.iter().position(|&list| list == alpn).map(|i| i as u8 + 1);
        if alpn_common.is_some() {
            alpn = "";
        }
        let fixed = |s: &str, a: &str, n: &str, c: &str| s.len() + a.len() + n.len() + c.len();
        let mut text = String::with_capacity(fixed(sni, alpn, negotiated, subject_cn) + server_names.len());
        let mut ends = [0u16; 4];
        for (end, part) in ends.iter_mut().zip([sni, alpn, negotiated, subject_cn]) {
            text.push_str(part);
            *end = text.len() as u16;
        }
        text.push_str(server_names);
        let text = (!text.is_empty()).then(|| text.into_boxed_str());
        (sni_ref.unwrap_or(0), alpn_chosen.unwrap_or(0), cn_ref.unwrap_or(0), alpn_common.unwrap_or(0), ends, text)
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

impl fmt::Debug for TlsFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsFacts")
            .field("version", &self.version)
            .field("client_version", &self.client_version)
            .field("cipher", &self.cipher)
            .field("sni", &self.sni())
            .field("alpn", &self.alpn())
            .field("alpn_negotiated", &self.alpn_negotiated())
            .field("ja3", &self.ja3())
            .field("ja3s", &self.ja3s())
            .field("ja4", &self.ja4())
            .field("subject_cn", &self.subject_cn())
            .field("server_names", &self.server_names())
            .field("known_subject", &self.known_subject().map(|k| k.application))
            .finish()
    }
}

/// A server certificate subject that names the product the server is (docs/FLOW-ACTIONS.md §5,
/// "Wire signatures"): devices and services whose certificates their maker issues (or signs
/// itself) with its own organization in the subject, and no host name a client would look up.
/// An attribute that is `None` is not compared; the others must equal the subject's first
/// attribute of that type, byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownSubject {
    pub organization: Option<&'static str>,
    pub unit: Option<&'static str>,
    pub common_name: Option<&'static str>,
    /// The application tag the classifier gives the flow (`netify.<name>`).
    pub application: &'static str,
}

/// The known subjects. Public facts, each seen on the wire:
/// - a FortiGate firewall's factory certificate (the SSL VPN FortiClient connects to, and the
///   administration pages): O=Fortinet, OU=FortiGate, CN=<serial number>, issued by Fortinet's
///   own CA;
/// - Windscribe's VPN servers: self-signed, O=Windscribe;
/// - Private Internet Access' VPN servers: O=Private Internet Access, OU=Private Internet Access,
///   CN=<server name>, issued by PIA's own CA (the same O and OU, CN=Private Internet Access);
/// - Sonos players (their local control API on TCP 1443): O=Sonos, Inc, OU=Sonos Devices,
///   issued by Sonos' device root CA;
/// - NVIDIA GameStream hosts (GeForce NOW's streaming servers): self-signed, CN=NVIDIA GameStream;
/// - ntopng's web interface with the self-signed certificate ntop ships: O=ntop.org (C=IT; nDPI
///   names a certificate with that organization ntop too);
/// - AnyDesk's peers (the TLS service a client listens on for direct connections, TCP 7070):
///   self-signed, CN=AnyDesk Client.
pub const KNOWN_SUBJECTS: &[KnownSubject] = &[
    KnownSubject {
        organization: Some("Fortinet"),
        unit: Some("FortiGate"),
        common_name: None,
        application: "netify.forticlient",
    },
    KnownSubject { organization: Some("Windscribe"), unit: None, common_name: None, application: "netify.windscribe" },
    KnownSubject {
        organization: Some("Private Internet Access"),
        unit: Some("Private Internet Access"),
        common_name: None,
        application: "netify.private-internet-access",
    },
    KnownSubject {
        organization: Some("Sonos, Inc"),
        unit: Some("Sonos Devices"),
        common_name: None,
        application: "netify.sonos",
    },
    KnownSubject {
        organization: None,
        unit: None,
        common_name: Some("NVIDIA GameStream"),
        application: "netify.geforce-now",
    },
    KnownSubject { organization: Some("ntop.org"), unit: None, common_name: None, application: "netify.ntop" },
    KnownSubject { organization: None, unit: None, common_name: Some("AnyDesk Client"), application: "netify.anydesk" },
];

/// The index in [`KNOWN_SUBJECTS`] of the first entry a subject's first organization, unit and
/// common name (raw attribute values; empty when absent) match.
pub fn known_subject_index(organization: &[u8], unit: &[u8], common_name: &[u8]) -> Option<usize> {
    let same = |want: Option<&str>, have: &[u8]| want.is_none_or(|w| !have.is_empty() && w.as_bytes() == have);
    KNOWN_SUBJECTS.iter().position(|k| {
        (k.organization.is_some() || k.unit.is_some() || k.common_name.is_some())
            && same(k.organization, organization)
            && same(k.unit, unit)
            && same(k.common_name, common_name)
    })
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

impl Default for Ja4 {
    fn default() -> Self {
        Ja4([0; Ja4::LEN])
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

/// A list of short names (offered ALPN protocols, certificate names) inside a [`TlsFacts`]
/// text block: the names joined by `\n`, which none of them holds (the TLS dissector keeps
/// only text without control characters). A `Vec<Box<str>>` would cost a block per name.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Names<'a>(pub(super) &'a str);

impl<'a> Names<'a> {
    pub const SEPARATOR: char = '\n';

    /// The names, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let joined = self.0;
        (!joined.is_empty()).then_some(joined).into_iter().flat_map(|joined| joined.split(Self::SEPARATOR))
    }

    pub fn first(&self) -> Option<&'a str> {
        self.iter().next()
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `names` joined, empty names and names holding the separator left out (they cannot be
    /// told apart in the joined text).
    fn join(names: impl IntoIterator<Item = &'a str>) -> String {
        let mut joined = String::new();
        for name in names.into_iter().filter(|n| !n.is_empty() && !n.contains(Self::SEPARATOR)) {
            if !joined.is_empty() {
                joined.push(Self::SEPARATOR);
            }
            joined.push_str(name);
        }
        joined
    }

    /// The joined text of the first names that fit in `room` bytes.
    pub(super) fn cut(self, room: usize) -> &'a str {
        if self.0.len() <= room {
            return self.0;
        }
        // The separator is ASCII, so the cut is on a character boundary.
        let end = self.0.as_bytes()[..=room].iter().rposition(|&b| b == Self::SEPARATOR as u8).unwrap_or(0);
        self.0.get(..end).unwrap_or("")
    }
}

impl fmt::Debug for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

static NO_TLS: TlsFacts = TlsFacts {
    version: 0,
    client_version: 0,
    cipher: 0,
    flags: 0,
    alpn_chosen: 0,
    cn_ref: 0,
    sni_ref: 0,
    known_subject: 0,
    alpn_common: 0,
    ja3: [0; 16],
    ja3s: [0; 16],
    ja4: Ja4([0; Ja4::LEN]),
    ends: [0; 4],
    text: None,
};

impl Empty for TlsFacts {
    fn empty() -> &'static Self {
        &NO_TLS
    }
}
