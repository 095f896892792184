//! Application and category classification: which application a flow belongs to, and the
//! categories of its application, protocol and host name.
//!
//! - [`apps`]: the application catalogue (Netify's `netify-apps.conf` format): domains,
//!   networks, host-name rewrites, soft dissectors.
//! - [`categories`]: `netify-categories.json`, the built-in category lists, `domains.d` lists.
//!
//! [`Classifier`] ties them together and fills [`AppFacts`] from what the flow table and the
//! dissectors found, in Netify's order (docs/FLOW-ACTIONS.md §5): protocol "twins", wire
//! [`signatures`] (flowsieve's), the detected host name, the call a flow's endpoint is in
//! ([`call_hints`], flowsieve's), the DNS host name, the remote address (not for DNS flows), the
//! TLS certificate's names, then soft dissectors.
//!
//! flowsieve ships its own signature set (`data/apps.conf`, `data/categories.json`, written for
//! this project), compiled into the binary: [`Classifier::load_default`] works with no files
//! installed, and [`Classifier::load`] reads Netify's files (or ours) from paths instead.

pub mod apps;
pub mod call_hints;
pub mod categories;
mod clock;
pub mod dns_hints;
pub mod signatures;

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use apps::{AppCatalog, FormatError};
use categories::{CategoryIndex, CategoryKind};

use crate::criteria::names::{self, AppRef};
use crate::criteria::{Criteria, CriteriaWarning};
use crate::facts::finality::Final;
use crate::facts::ip_proto::{TCP, UDP};
use crate::facts::protocol;
use crate::facts::{AppFacts, FlowFacts};

/// The built-in signature set, `data/apps.conf`.
pub const DEFAULT_APPS: &str = include_str!("../../data/apps.conf");
/// The built-in categories, `data/categories.json`.
pub const DEFAULT_CATEGORIES: &str = include_str!("../../data/categories.json");

/// Protocols that *are* an application ("twins"): a flow with this Netify protocol ID gets
/// this application tag, whatever its host name or address (a WhatsApp call relayed through a
/// Meta address is WhatsApp, not Facebook). IDs from Netify's protocol table (Steam 74,
/// WhatsApp 142, WhatsApp/Call 246, SignalCall 39, Spotify 156, Telegram 185, Telegram/VoIP
/// 333, ZOOM 248, Dropbox 121, OICQ 320 — the QQ messenger's protocol, Xiaomi 297,
/// Genshin/Impact 271 — miHoYo's, now HoYoverse's, games) and flowsieve's Discord, Mumble and
/// the games named from their own traffic (their publishers' applications, in Netify's `games`
/// category but NetEase's, which Netify lists as a portal), Ookla's Speedtest (OOKLA 191),
/// Alibaba Cloud's own protocol (Alibaba/Cloud 301), LINE's calls (Line/Call 310), UltraSurf's
/// tunnel (296), Xbox Live's UDP traffic (Xbox 47), Blizzard's Warcraft III (116), iQIYI's
/// PPStream (54) and flowsieve's DingTalk, IMO and AmazonVideo (Amazon Prime Video). A tag
/// missing from the loaded catalogue is skipped.
pub const PROTOCOL_TWINS: &[(u16, &str)] = &[
    (74, "netify.steam"),
    (protocol::WHATSAPP.0, "netify.whatsapp"),
    (246, "netify.whatsapp"),
    (39, "netify.signal"),
    (protocol::SPOTIFY.0, "netify.spotify"),
    (185, "netify.telegram"),
    (333, "netify.telegram"),
    (248, "netify.zoom"),
    (protocol::DROPBOX.0, "netify.dropbox"),
    (protocol::OICQ.0, "netify.qq"),
    (protocol::XIAOMI.0, "netify.xiaomi"),
    (protocol::DISCORD.0, "netify.discord"),
    (protocol::MUMBLE.0, "netify.mumble"),
    (protocol::GENSHIN_IMPACT.0, "netify.hoyoverse"),
    (protocol::EPIC_GAMES.0, "netify.epic-games"),
    (protocol::ACTIVISION.0, "netify.activision"),
    (protocol::COD_MOBILE.0, "netify.activision"),
    (protocol::TENCENT_GAMES.0, "netify.tencent-games"),
    (protocol::GAIJIN.0, "netify.gaijin"),
    (protocol::NETEASE_GAMES.0, "netify.netease"),
    (protocol::HOTS.0, "netify.blizzard"),
    (protocol::TES_ONLINE.0, "netify.bethesda"),
    (protocol::STEAM_DATAGRAM_RELAY.0, "netify.steam"),
    (protocol::SONOS.0, "netify.sonos"),
    (protocol::LINE_CALL.0, "netify.line"),
    (protocol::ULTRASURF.0, "netify.ultrasurf"),
    (protocol::XBOX.0, "netify.xbox-live"),
    (protocol::WARCRAFT3.0, "netify.blizzard"),
    (protocol::OOKLA.0, "netify.ookla-speedtest"),
    (protocol::ALIBABA_CLOUD.0, "netify.alibaba-cloud"),
    (protocol::VIBER.0, "netify.viber"),
    (protocol::DINGTALK.0, "netify.dingtalk"),
    (protocol::IMO.0, "netify.imo"),
    (protocol::PPSTREAM.0, "netify.iqiyi"),
    (protocol::AMAZON_VIDEO.0, "netify.amazon-prime"),
];

/// Applications whose published server networks name the protocol of a flow nothing in its
/// payload named (docs/FLOW-ACTIONS.md §5, "Protocols by address"): Telegram's apps speak
/// MTProto over TCP with an obfuscated transport whose first bytes are random (Telegram's
/// "MTProto transport obfuscation"), so no dissector can read it, and Telegram publishes its
/// server networks (Netify's `netify.telegram` list). nDPI names such flows Telegram by address
/// too. Telegram's own protocol ID, 185. Apple's push notification service (APNs) is TLS on
/// TCP 5223 to Apple's 17.0.0.0/8 (Apple's support documents both for firewalls), often
/// picked up mid-session, its records too long to read whole: Netify's `Apple/Push` (238), on
/// that port only. Cloudflare WARP tunnels over UDP 2408 (500, 1701 and 4500 as fallbacks) to
/// the ingress networks Cloudflare publishes for firewalls (`netify.cloudflare-warp`), in a
/// WireGuard variant of its own (other message types, reserved bytes set), so a WireGuard
/// reader does not take it: `CloudflareWarp` (flowsieve-only, nDPI's name; nDPI names it by
/// the same networks and ports).
pub const ADDRESS_PROTOCOLS: &[AddressProtocol] = &[
    AddressProtocol { tag: "netify.telegram", protocol: protocol::TELEGRAM, ip_protocol: TCP, ports: &[] },
    AddressProtocol { tag: "netify.apple", protocol: protocol::APPLE_PUSH, ip_protocol: TCP, ports: &[5223] },
    AddressProtocol {
        tag: "netify.cloudflare-warp",
        protocol: protocol::CLOUDFLARE_WARP,
        ip_protocol: UDP,
        ports: &[2408, 500, 1701, 4500],
    },
];

/// One entry of [`ADDRESS_PROTOCOLS`]. A tag missing from the loaded catalogue is skipped.
#[derive(Debug, Clone, Copy)]
pub struct AddressProtocol {
    /// The application whose networks name the protocol.
    pub tag: &'static str,
    pub protocol: protocol::ProtocolId,
    /// The transport (IP protocol number) the service uses.
    pub ip_protocol: u8,
    /// The server's ports, or empty for any.
    pub ports: &'static [u16],
}

/// Applications whose listed networks are, by their operator's publication, call relays and
/// nothing else, with the call they serve: Google publishes Meet's media relay networks
/// (74.125.247.128/32, 74.125.250.0/24, 142.250.82.0/24 and three IPv6 prefixes; Google
/// Workspace Admin Help, "Prepare your network for Meet"), `netify.google-meet`'s networks. A
/// STUN message to or from such an address ties its endpoints like a message naming the call
/// (`call_hints`, docs/FLOW-ACTIONS.md §5, "A call's other flows"); nDPI's STUN code names and
/// caches those relays the same. Shared ranges (Google's own, Meta's, Telegram's, which also
/// carry web and messaging) are not call relays and are not here.
pub const CALL_RELAY_NETWORKS: &[(&str, crate::facts::stun::StunClient)] =
    &[("netify.google-meet", crate::facts::stun::StunClient::Google)];

/// Where to read signature files from; `None` = the built-in data.
#[derive(Debug, Clone, Default)]
pub struct ClassifierPaths {
    /// A `netify-apps.conf` (e.g. `/etc/netifyd/netify-apps.conf`).
    pub apps: Option<PathBuf>,
    /// A `netify-categories.json`.
    pub categories: Option<PathBuf>,
    /// A `domains.d` directory of `<priority>-<category>.txt` lists.
    pub domains_dir: Option<PathBuf>,
}

/// A signature file could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ReadError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// Applications and categories, shared read-only by every worker.
#[derive(Debug, Clone)]
pub struct Classifier {
    apps: AppCatalog,
    categories: CategoryIndex,
    /// (protocol ID, index of the application in `apps`).
    twins: Vec<(protocol::ProtocolId, usize)>,
    /// (wire signature, index of the application in `apps`).
    signatures: Vec<(signatures::Signature, usize)>,
    /// (index of the application in `apps`, the entry): [`ADDRESS_PROTOCOLS`].
    address_protocols: Vec<(usize, AddressProtocol)>,
    /// [`CALL_RELAY_NETWORKS`], by application index.
    call_relays: Vec<(usize, crate::facts::stun::StunClient)>,
    /// Netify's application category `cdn`: content delivery networks, whose customers' host
    /// names carry the customer's name ([`Classifier::host_app`]).
    cdn: Option<u16>,
    /// Netify's application category `hosting`: cloud operators, whose addresses serve their
    /// customers' services ([`Classifier::find_application`]).
    hosting: Option<u16>,
}

impl Classifier {
    /// A classifier over a catalogue and category index.
    pub fn new(apps: AppCatalog, categories: CategoryIndex) -> Classifier {
        let twins = PROTOCOL_TWINS
            .iter()
            .filter_map(|&(p, tag)| Some((protocol::ProtocolId(p), apps.index_of_tag(tag)?)))
            .collect();
        let subjects = crate::facts::KNOWN_SUBJECTS.iter().enumerate().filter_map(|(i, k)| {
            Some((signatures::Signature::CertificateSubject(u8::try_from(i).ok()?), k.application))
        });
        let servers = crate::facts::http::KNOWN_SERVERS
            .iter()
            .enumerate()
            .filter_map(|(i, k)| Some((signatures::Signature::HttpServer(u8::try_from(i).ok()?), k.application)));
        let signatures = signatures::SIGNATURES
            .iter()
            .map(|&(sig, tag, _)| (sig, tag))
            .chain(subjects)
            .chain(servers)
            .filter_map(|(sig, tag)| Some((sig, apps.index_of_tag(tag)?)))
            .collect();
        let address_protocols =
            ADDRESS_PROTOCOLS.iter().filter_map(|&entry| Some((apps.index_of_tag(entry.tag)?, entry))).collect();
        let call_relays =
            CALL_RELAY_NETWORKS.iter().filter_map(|&(tag, client)| Some((apps.index_of_tag(tag)?, client))).collect();
        let cdn = categories.category_id(CategoryKind::Application, "cdn");
        let hosting = categories.category_id(CategoryKind::Application, "hosting");
        Classifier { apps, categories, twins, signatures, address_protocols, call_relays, cdn, hosting }
    }

    /// flowsieve's own signature set, compiled in. Its tests guarantee it loads without errors.
    pub fn load_default() -> Classifier {
        let (apps, _) = AppCatalog::parse("<built-in data/apps.conf>", DEFAULT_APPS);
        let (categories, _) = CategoryIndex::parse_json("<built-in data/categories.json>", DEFAULT_CATEGORIES);
        Classifier::new(apps, categories)
    }

    /// Reads the files named in `paths`, the built-in data for the rest. Malformed lines are
    /// returned (file and line) and skipped; a file that cannot be read is an error.
    ///
    /// When `apps` is a file but `categories` is not, the built-in category *lists* are used
    /// without the built-in memberships (they describe our IDs, not the file's), and a problem
    /// saying so is returned.
    pub fn load(paths: &ClassifierPaths) -> Result<(Classifier, Vec<FormatError>), ReadError> {
        let read = |p: &PathBuf| {
            std::fs::read_to_string(p).map_err(|source| ReadError { path: p.display().to_string(), source })
        };
        let mut problems = Vec::new();
        let apps = match &paths.apps {
            Some(p) => {
                let (apps, errors) = AppCatalog::parse(&p.display().to_string(), &read(p)?);
                problems.extend(errors);
                apps
            }
            None => AppCatalog::parse("<built-in data/apps.conf>", DEFAULT_APPS).0,
        };
        let mut categories = match &paths.categories {
            Some(p) => {
                let (index, errors) = CategoryIndex::parse_json(&p.display().to_string(), &read(p)?);
                problems.extend(errors);
                index
            }
            None => CategoryIndex::parse_json("<built-in data/categories.json>", DEFAULT_CATEGORIES).0,
        };
        if let (Some(p), None) = (&paths.apps, &paths.categories) {
            categories.clear_application_members();
            problems.push(FormatError {
                file: p.display().to_string(),
                line: 0,
                message: "no categories file given: applications from this file have no category".into(),
            });
        }
        if let Some(dir) = &paths.domains_dir {
            let errors = categories
                .load_domain_dir(dir)
                .map_err(|source| ReadError { path: dir.display().to_string(), source })?;
            problems.extend(errors);
        }
        Ok((Classifier::new(apps, categories), problems))
    }

    pub fn apps(&self) -> &AppCatalog {
        &self.apps
    }

    pub fn categories(&self) -> &CategoryIndex {
        &self.categories
    }

    /// Fills `facts.application` (ID, tag, categories) from the flow's protocol, host names
    /// and remote address, then runs the soft dissectors when they are due. Returns whether
    /// anything changed. Allocates nothing (tags are shared from the catalogue) unless a
    /// host-name rewrite applies.
    ///
    /// An application once found is kept when nothing matches later (facts only grow); a
    /// better source found later (a host name after the address) replaces it. Once a soft
    /// dissector has matched (`facts.application.soft_dissector`), the application and protocol
    /// are what it left: as in netifyd, the match completes detection (the flow table finishes
    /// it, [`Classifier::soft_dissect`]).
    pub fn classify(&self, facts: &mut FlowFacts) -> bool {
        let before = (
            facts.application.id,
            facts.application.category,
            facts.application.protocol_category,
            facts.application.domain_category,
            facts.application.from_dns_hint,
            facts.application.soft_dissector,
            facts.protocol,
        );
        if !facts.application.soft_dissector {
            self.address_protocol(facts);
            self.find_application(facts);
            self.soft_dissect(facts);
        }
        let domain_category = facts
            .detected_hostname()
            .map(|h| self.categories.domain_category(h))
            .filter(|&c| c != 0)
            .or_else(|| facts.dns_hostname.as_deref().map(|h| self.categories.domain_category(h)))
            .unwrap_or(0);
        let app = &mut facts.application;
        app.category = self.categories.application_category(app.id);
        app.protocol_category = self.categories.protocol_category(facts.protocol);
        app.domain_category = domain_category;
        before
            != (
                app.id,
                app.category,
                app.protocol_category,
                app.domain_category,
                app.from_dns_hint,
                app.soft_dissector,
                facts.protocol,
            )
    }

    /// The call whose relays `ip` is in, by the networks of [`CALL_RELAY_NETWORKS`].
    pub fn call_relay(&self, ip: IpAddr) -> Option<crate::facts::stun::StunClient> {
        if self.call_relays.is_empty() {
            return None;
        }
        let index = self.apps.ip_index(ip)?;
        self.call_relays.iter().find(|&&(i, _)| i == index).map(|&(_, client)| client)
    }

    /// A flow whose detection gave up with nothing read from its payload (no dissector's facts,
    /// no TLS hello: its protocol is at most a port guess) to an address in the networks of an
    /// application of [`ADDRESS_PROTOCOLS`], on the entry's transport and ports, gets the
    /// entry's protocol.
    fn address_protocol(&self, facts: &mut FlowFacts) {
        let nothing_read = facts.detection_guessed
            && facts.app_protocol == crate::facts::ProtocolFacts::None
            && !facts.tls.is_present();
        if !nothing_read || self.address_protocols.is_empty() {
            return;
        }
        let Some(index) = self.apps.ip_index(facts.other_ip) else { return };
        let fits = |e: &AddressProtocol| {
            e.ip_protocol == facts.ip_protocol && (e.ports.is_empty() || e.ports.contains(&facts.other_port))
        };
        if let Some((_, entry)) = self.address_protocols.iter().find(|(i, e)| *i == index && fits(e)) {
            facts.protocol = entry.protocol;
        }
    }

    /// Netify's order (docs/FLOW-ACTIONS.md §5): protocol twins, wire signatures, the detected
    /// host name, the call hint, the DNS host name, the other address (not for DNS flows), the
    /// TLS certificate's names. An address in a cloud or CDN operator's network (an application
    /// of category `hosting` or `cdn`) comes after the certificate: it names whose machine
    /// served the flow, where the certificate names whose service it is.
    fn find_application(&self, facts: &mut FlowFacts) {
        // A DNS server's address says nothing about what the query was for.
        // Looked up at most once: an operator's address is tried again after the certificate.
        let looked_up = std::cell::OnceCell::new();
        let address = || {
            *looked_up
                .get_or_init(|| (facts.protocol != protocol::DNS).then(|| self.apps.ip_index(facts.other_ip)).flatten())
        };
        let found = self
            .twins
            .iter()
            .find(|(p, _)| *p == facts.protocol)
            .map(|&(_, i)| (i, false))
            .or_else(|| {
                let sig = signatures::signature_of(facts)?;
                self.signatures.iter().find(|(s, _)| *s == sig).map(|&(_, i)| (i, false))
            })
            .or_else(|| facts.detected_hostname().and_then(|h| self.host_app(h)).map(|i| (i, false)))
            // The call a flow's endpoint is in (`call_hints`): the flow's own packets outrank
            // it, and it outranks what the server's name or address says (a public STUN server
            // serves every application's calls).
            .or_else(|| {
                let sig = signatures::call_signature(facts.application.call_hint)?;
                self.signatures.iter().find(|(s, _)| *s == sig).map(|&(_, i)| (i, false))
            })
            .or_else(|| facts.dns_hostname.as_deref().and_then(|h| self.host_app(h)).map(|i| (i, true)))
            .or_else(|| address().filter(|&i| !self.is_operator(i)).map(|i| (i, false)))
            // Then, as Netify does: the names in the server's TLS certificate.
            .or_else(|| {
                let cn = facts.tls.subject_cn().into_iter();
                cn.chain(facts.tls.server_names().iter())
                    .find_map(|name| self.host_app(name.trim_start_matches("*.")))
                    .map(|i| (i, false))
            })
            .or_else(|| address().map(|i| (i, false)));
        if let Some((index, from_dns_hint)) = found {
            set_app(&mut facts.application, Some(self.apps.app_at(index)), from_dns_hint);
        }
    }

    /// Whether the application at `index` is a cloud or CDN operator (category `hosting` or
    /// `cdn`).
    fn is_operator(&self, index: usize) -> bool {
        self.in_category(index, self.hosting) || self.in_category(index, self.cdn)
    }

    /// Whether the application at `index` is in `category` (`None`: a category the loaded
    /// categories lack, which no application is in).
    fn in_category(&self, index: usize, category: Option<u16>) -> bool {
        category.is_some_and(|c| self.categories.application_category(self.apps.app_at(index).id) == c)
    }

    /// The application of a host name (docs/FLOW-ACTIONS.md §5, "A CDN and the service it
    /// serves"): the listed domain that matches it, except that a name one label under a
    /// content delivery network's domain (`<customer>.imgix.net`, `<customer>-a.akamaihd.net`)
    /// is the CDN customer's when the leading letters of that label (at least
    /// [`apps::MIN_CUSTOMER_NAME`]) followed by `.com` name an application that is not a CDN
    /// itself (`pluralsight.imgix.net` → `pluralsight.com`). A user who blocks a service
    /// expects the content its CDN serves it under its own name blocked too; the service's own
    /// listed names on the CDN (Netify's way) match first, being longer.
    fn host_app(&self, host: &str) -> Option<usize> {
        let index = self.apps.host_index(host)?;
        let is_cdn = |i: usize| self.in_category(i, self.cdn);
        if is_cdn(index) {
            if let Some(customer) = self.apps.customer_index(host).filter(|&c| c != index && !is_cdn(c)) {
                return Some(customer);
            }
        }
        Some(index)
    }

    /// The soft dissectors (`nsd:` lines), after the other steps, as netifyd runs them: only
    /// once detection has named a protocol or is over (netifyd evaluates them in its flow
    /// update, which follows the first detection, each metadata update and the give-up), the
    /// first line whose expression matches wins, and it sets the flow's `soft_dissector` flag.
    /// Returns whether a line matched now; the caller completes detection then.
    ///
    /// A line that would rename a protocol its dissector has already made final during
    /// detection (an HTTP request's) does not match: actions may have decided on that protocol
    /// (docs/FLOW-ACTIONS.md §5 says so).
    pub fn soft_dissect(&self, facts: &mut FlowFacts) -> bool {
        if facts.application.soft_dissector
            || (facts.protocol == protocol::UNKNOWN && !facts.detection_complete)
            || self.apps.soft_dissectors().is_empty()
        {
            return false;
        }
        let protocol_kept =
            facts.final_facts.contains(Final::PROTOCOL) && !facts.final_facts.contains(Final::DETECTION);
        for soft in self.apps.soft_dissectors() {
            let new_protocol = u16::try_from(soft.protocol_id).ok().map(protocol::ProtocolId);
            if protocol_kept && new_protocol.is_some_and(|p| p != facts.protocol) {
                continue;
            }
            if soft.evaluate(facts) != Some(true) {
                continue;
            }
            match u32::try_from(soft.app_id) {
                // netifyd sets an ID its list does not name as it is, without a name.
                Ok(id) if id != 0 => match self.apps.by_id(id) {
                    Some(app) => set_app(&mut facts.application, Some(app), false),
                    None => {
                        facts.application.id = id;
                        facts.application.tag = None;
                        facts.application.from_dns_hint = false;
                    }
                },
                Ok(_) => set_app(&mut facts.application, None, false),
                Err(_) => {} // -1: the application stays
            }
            if let Some(p) = new_protocol {
                facts.protocol = p;
            }
            facts.application.soft_dissector = true;
            return true;
        }
        false
    }

    /// Human-readable answer to "what is this host name or address, and why" (`flowsieve
    /// lookup`): the listed domain or network that matched, the source of that entry, and the
    /// protocol signatures that also name the application.
    pub fn explain_lookup(&self, query: &str) -> String {
        let query = query.trim();
        let mut out = String::new();
        if let Ok(ip) = query.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            match self.apps.explain_ip(ip) {
                Some((app, net, source)) => {
                    let _ = writeln!(out, "{ip}: {} by network {net}", self.describe(app.id, &app.tag));
                    let _ = writeln!(out, "  source: {source}");
                    self.explain_signatures(&mut out, app);
                }
                None => {
                    let _ = writeln!(out, "{ip}: no application (no listed network contains it)");
                }
            }
            return out;
        }
        let (hit, rewritten) = self.apps.explain_host(query);
        if let Some(r) = &rewritten {
            let _ = writeln!(out, "{query}: rewritten to {r} by an xfm rule");
        }
        match hit {
            Some((app, how, source)) => {
                let customer = self.host_app(query).map(|i| self.apps.app_at(i)).filter(|c| c.id != app.id);
                if let Some(c) = customer {
                    let _ = writeln!(
                        out,
                        "{query}: {} as a customer of the CDN {} ({how}, source: {source}): the first label's leading letters + .com is listed for it (docs/FLOW-ACTIONS.md §5)",
                        self.describe(c.id, &c.tag),
                        app.tag
                    );
                    self.explain_signatures(&mut out, c);
                } else {
                    let _ = writeln!(out, "{query}: {} by {how}", self.describe(app.id, &app.tag));
                    let _ = writeln!(out, "  source: {source}");
                    self.explain_signatures(&mut out, app);
                }
            }
            None => {
                let _ = writeln!(out, "{query}: no application (neither the name nor a parent domain is listed)");
            }
        }
        if let Some((domain, category)) = self.categories.domain_match(query) {
            let tag = self.categories.category_tag(CategoryKind::Application, category).unwrap_or("?");
            let _ = writeln!(out, "{query}: domain category {tag} ({category}) from a domains.d list entry {domain}");
        }
        out
    }

    /// The protocol-level signatures that also give a flow this application.
    fn explain_signatures(&self, out: &mut String, app: &apps::App) {
        for &(proto, _) in self.twins.iter().filter(|&&(_, i)| self.apps.app_at(i).id == app.id) {
            let _ = writeln!(out, "  also: every {} flow (protocol {proto}) is {}", protocol::name_of(proto), app.tag);
        }
        for &(sig, _) in self.signatures.iter().filter(|&&(_, i)| self.apps.app_at(i).id == app.id) {
            let what = match sig {
                signatures::Signature::CertificateSubject(i) => signatures::describe_subject(i),
                signatures::Signature::HttpServer(i) => signatures::describe_server(i),
                _ => signatures::SIGNATURES.iter().find(|(s, _, _)| *s == sig).map_or("", |(_, _, what)| what).into(),
            };
            let _ = writeln!(out, "  also: wire signature: {what}");
        }
        for soft in self.apps.soft_dissectors().iter().filter(|s| s.app_id == i64::from(app.id)) {
            let state = if soft.is_active() { "" } else { " (inactive)" };
            let _ = writeln!(out, "  also: soft dissector line {}{state}: {}", soft.line, soft.expression);
        }
    }

    /// Warnings for the applications a criteria names (`app == 'netify.youtub'`, `app_id ==
    /// 99999`) that the loaded list does not have, with the closest tag ("did you mean"). The
    /// criteria compiler does not see the list, so `check` asks here.
    pub fn unknown_applications(&self, criteria: &Criteria) -> Vec<CriteriaWarning> {
        let mut out = Vec::new();
        for (column, app) in criteria.application_refs() {
            let message = match app {
                AppRef::Tag(tag) if self.apps.by_tag(tag).is_none() => {
                    let full = if tag.contains('.') { tag.to_string() } else { format!("netify.{tag}") };
                    let best = names::closest(&full, self.apps.apps().iter().map(|a| &*a.tag));
                    names::unknown("application", tag, "no loaded application has this tag", best)
                }
                AppRef::Id(id) if id != 0 && u32::try_from(id).ok().and_then(|id| self.apps.by_id(id)).is_none() => {
                    format!("unknown application ID {id} (no loaded application has it)")
                }
                _ => continue,
            };
            out.push(CriteriaWarning { column, message });
        }
        out
    }

    /// Heap bytes held by the application catalogue (estimated from table capacities).
    pub fn heap_bytes(&self) -> usize {
        self.apps.heap_bytes()
    }

    fn describe(&self, id: u32, tag: &str) -> String {
        let category = self.categories.application_category(id);
        match self.categories.category_tag(CategoryKind::Application, category) {
            Some(c) if category != 0 => format!("{tag} (ID {id}), category {c} ({category})"),
            _ => format!("{tag} (ID {id}), no category"),
        }
    }
}

fn set_app(slot: &mut AppFacts, app: Option<&apps::App>, from_dns_hint: bool) {
    match app {
        Some(app) if slot.id != app.id || slot.tag.is_none() => {
            slot.id = app.id;
            slot.tag = Some(app.tag.clone());
        }
        Some(_) => {}
        None => {
            slot.id = 0;
            slot.tag = None;
        }
    }
    slot.from_dns_hint = from_dns_hint && slot.id != 0;
}

/// `--dump-apps`: one line per application, by ID: `ID tag category`.
pub fn dump_apps(classifier: &Classifier) -> String {
    let mut apps: Vec<_> = classifier.apps.apps().iter().collect();
    apps.sort_by_key(|a| a.id);
    let mut out = String::new();
    for app in apps {
        let category = classifier.categories.application_category(app.id);
        let tag = classifier.categories.category_tag(CategoryKind::Application, category).unwrap_or("-");
        let _ = writeln!(out, "{:>6} {} {}", app.id, app.tag, if category == 0 { "-" } else { tag });
    }
    out
}

/// `--dump-protos`: one line per protocol flowsieve can name: `ID name category`.
pub fn dump_protos(classifier: &Classifier) -> String {
    let mut out = String::new();
    for p in protocol::PROTOCOLS {
        let category = classifier.categories.protocol_category(p.id);
        let tag = classifier.categories.category_tag(CategoryKind::Protocol, category).filter(|_| category != 0);
        let _ = writeln!(out, "{:>6} {} {}", p.id, p.name, tag.unwrap_or("-"));
    }
    out
}

/// `--dump-category application|protocol`: one line per category: `ID tag`.
pub fn dump_category(classifier: &Classifier, kind: CategoryKind) -> String {
    let mut out = String::new();
    for c in classifier.categories.categories(kind) {
        let _ = writeln!(out, "{:>6} {}", c.id, c.tag);
    }
    out
}

#[cfg(test)]
mod tests;
