//! The application catalogue: Netify's `netify-apps.conf` format, parsed once, looked up per flow.
//!
//! Lines (docs/FLOW-ACTIONS.md §5, netifyd `nd-apps.cpp`):
//!
//! ```text
//! app:<id>:<tag>                          an application, e.g. app:124:netify.youtube
//! dom:<id>:<domain>                       a domain and everything under it
//! net:<id>:<cidr>                         an IPv4 or IPv6 network (or a single address)
//! xfm:<regex>:<replacement>               rewrite a host name before lookup (case-insensitive)
//! nsd:<app>:<proto>:<base64 expression>   soft dissector (-1 = leave as is; app 0 clears)
//! ```
//!
//! `#` starts a comment line; blank lines are ignored. A malformed line is reported with its
//! file and line number and skipped; everything else still loads.
//!
//! Lookups never allocate unless an `xfm` rewrite applies (the rewritten name is a new string):
//! host names are lower-cased into a stack buffer, then looked up whole and at every label
//! boundary (`a.b.example.com`, `b.example.com`, `example.com`, `com`) in one hash map, so
//! `notyoutube.com` never matches `youtube.com`. Networks sit in one hash map per prefix length,
//! longest first: a lookup costs one probe per distinct prefix length present.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use hashbrown::HashMap;
use regex::{Regex, RegexBuilder};

use crate::criteria::Criteria;
use crate::facts::net::IpNet;
use crate::facts::{FlowFacts, SharedName};

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

fn new_map<K, V>() -> Map<K, V> {
    HashMap::with_hasher(foldhash::fast::RandomState::default())
}

/// A problem in a signature or category file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct FormatError {
    /// File name as given (or `<built-in …>` for the compiled-in data).
    pub file: String,
    /// 1-based line number; 0 when the problem is about the whole file.
    pub line: usize,
    pub message: String,
}

/// An application: Netify ID and full tag (`netify.youtube`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: u32,
    pub tag: SharedName,
    /// Where its `app:` line came from: index into [`AppCatalog::source`].
    pub source: u32,
}

/// What a domain or network table holds: the application (index into the catalogue's list)
/// and the source of the `dom:`/`net:` line (index into its source list). 8 bytes, as the
/// `usize` index alone was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    app: u32,
    source: u32,
}

/// A soft dissector (`nsd:` line): when its expression matches a flow, the flow's application
/// and/or protocol are set.
///
/// The expression is kept as text and compiled with the criteria engine when that engine knows
/// every attribute it uses. Netify's own soft dissectors test `app == '…'`, which the criteria
/// engine does not support yet: those stay inert data ([`SoftDissector::is_active`] is false)
/// until it does — no code here needs to change then.
#[derive(Debug, Clone)]
pub struct SoftDissector {
    /// Application ID to set; -1 leaves the application alone, 0 clears it.
    pub app_id: i64,
    /// Netify protocol ID to set; -1 leaves the protocol alone.
    pub protocol_id: i64,
    /// The decoded expression text.
    pub expression: Box<str>,
    /// Line in its file.
    pub line: usize,
    criteria: Option<Criteria>,
    /// Why it did not compile, when it did not.
    pub inactive_reason: Option<String>,
}

impl SoftDissector {
    /// Whether the expression compiled and is evaluated.
    pub fn is_active(&self) -> bool {
        self.criteria.is_some()
    }

    /// `Some(matched)` for an active soft dissector, `None` for one kept as data only.
    pub fn evaluate(&self, facts: &FlowFacts) -> Option<bool> {
        self.criteria.as_ref().map(|c| c.admits_application(&facts.application) && c.matches(facts))
    }
}

/// How a host name or address found its application (for `explain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppMatch {
    /// The name (after any rewrite) or one of its parent domains is listed: the listed domain.
    Domain(Box<str>),
    /// The address lies in this listed network (the longest one that contains it).
    Network(IpNet),
}

impl fmt::Display for AppMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppMatch::Domain(d) => write!(f, "domain {d}"),
            AppMatch::Network(n) => write!(f, "network {n}"),
        }
    }
}

/// A host-name rewrite (`xfm:` line).
#[derive(Debug, Clone)]
pub struct Rewrite {
    pub pattern: Regex,
    pub replacement: Box<str>,
}

/// Applications with their domains, networks, rewrites and soft dissectors.
#[derive(Debug, Clone, Default)]
pub struct AppCatalog {
    apps: Vec<App>,
    by_id: Map<u32, usize>,
    by_tag: Map<Box<str>, usize>,
    /// Domain (lower case, no trailing dot) → application and source.
    domains: Map<Box<str>, Entry>,
    /// Per prefix length, longest first: network bits → application and source.
    nets_v4: Vec<(u8, Map<u32, Entry>)>,
    nets_v6: Vec<(u8, Map<u128, Entry>)>,
    /// Where entries came from: `#source: …` comment lines of the file (index 0: the file
    /// itself, for lines before any such comment).
    sources: Vec<Arc<str>>,
    /// For the leading 16 bits of an address, the prefix lengths of the listed networks that
    /// may contain it: most remote addresses are in no list (no probe at all), and one that
    /// is probes only the lengths listed under its 16 bits (about one), not every length the
    /// tables hold (24 for IPv4 in the built-in data, with the cloud operators' networks).
    reach_v4: PrefixReach,
    reach_v6: PrefixReach,
    rewrites: Vec<Rewrite>,
    soft: Vec<SoftDissector>,
}

/// Longest host name we lower-case on the stack (DNS names are at most 253 characters).
const HOST_BUF: usize = 256;

/// The fewest leading letters of a CDN customer's label that may name the customer
/// (`AppCatalog::customer_index`): shorter words (`api`, `img`, `cdn`, `wd`) name too many
/// things to tell a customer by.
pub const MIN_CUSTOMER_NAME: usize = 5;

impl AppCatalog {
    /// Parses a `netify-apps.conf` text. `file` names it in errors. Returns the catalogue of
    /// everything that parsed and one error per line that did not.
    pub fn parse(file: &str, text: &str) -> (AppCatalog, Vec<FormatError>) {
        let mut catalog = AppCatalog { sources: vec![Arc::from(file)], ..AppCatalog::default() };
        let mut errors = Vec::new();
        let mut source = 0u32;
        let mut source_index: Map<&str, u32> = new_map();
        let error = |line: usize, message: String| FormatError { file: file.to_string(), line, message };
        // dom/net lines may come before their app line: resolve them after the whole file.
        let mut pending_domains: Vec<(usize, u32, String, u32)> = Vec::new();
        let mut pending_nets: Vec<(usize, u32, IpNet, u32)> = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let line = raw.trim();
            if let Some(text) = line.strip_prefix("#source:") {
                // A comment to Netify's loader; to ours, where the lines below come from.
                let text = text.trim();
                source = *source_index.entry(text).or_insert_with(|| {
                    catalog.sources.push(Arc::from(text));
                    u32::try_from(catalog.sources.len() - 1).unwrap_or(0)
                });
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((kind, rest)) = line.split_once(':') else {
                errors.push(error(line_no, format!("expected `kind:…`, found `{line}`")));
                continue;
            };
            let result = match kind {
                "app" => parse_id_value(rest).and_then(|(id, tag)| catalog.add_app(id, tag, source)),
                "dom" => parse_id_value(rest).and_then(|(id, domain)| {
                    let domain = normalize_domain_entry(domain)?;
                    pending_domains.push((line_no, id, domain, source));
                    Ok(())
                }),
                "net" => parse_id_value(rest).and_then(|(id, cidr)| {
                    let net: IpNet = cidr.parse().map_err(|e: crate::facts::net::BadIpNet| e.to_string())?;
                    pending_nets.push((line_no, id, net, source));
                    Ok(())
                }),
                "xfm" => parse_rewrite(rest).map(|r| catalog.rewrites.push(r)),
                "nsd" => parse_soft_dissector(rest, line_no).map(|s| catalog.soft.push(s)),
                other => Err(format!("unknown line kind `{other}` (expected app, dom, net, xfm or nsd)")),
            };
            if let Err(message) = result {
                errors.push(error(line_no, message));
            }
        }
        for (line_no, id, domain, source) in pending_domains {
            if let Err(message) = catalog.add_domain(id, &domain, source) {
                errors.push(error(line_no, message));
            }
        }
        for (line_no, id, net, source) in pending_nets {
            if let Err(message) = catalog.add_net(id, net, source) {
                errors.push(error(line_no, message));
            }
        }
        catalog.nets_v4.sort_by_key(|t| std::cmp::Reverse(t.0));
        catalog.nets_v6.sort_by_key(|t| std::cmp::Reverse(t.0));
        errors.sort_by_key(|e| e.line);
        (catalog, errors)
    }

    fn add_app(&mut self, id: u32, tag: &str, source: u32) -> Result<(), String> {
        if id == 0 {
            return Err("application ID 0 is reserved for `unknown`".into());
        }
        if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            return Err(format!("bad application tag `{tag}` (letters, digits, `.`, `_`, `-`)"));
        }
        let key: Box<str> = tag.to_ascii_lowercase().into();
        if let Some(&other) = self.by_id.get(&id) {
            return Err(format!("application ID {id} already used by {}", self.apps[other].tag));
        }
        if let Some(&other) = self.by_tag.get(&key) {
            return Err(format!("application tag {tag} already used by ID {}", self.apps[other].id));
        }
        let index = self.apps.len();
        if u32::try_from(index).is_err() {
            return Err("too many applications".into());
        }
        self.apps.push(App { id, tag: SharedName::from(tag), source });
        self.by_id.insert(id, index);
        self.by_tag.insert(key, index);
        Ok(())
    }

    fn add_domain(&mut self, id: u32, domain: &str, source: u32) -> Result<(), String> {
        let index = *self.by_id.get(&id).ok_or_else(|| format!("domain {domain}: no application with ID {id}"))?;
        match self.domains.get(domain) {
            Some(other) if other.app as usize == index => {
                Err(format!("domain {domain} listed twice for {}", self.apps[index].tag))
            }
            Some(other) => Err(format!("domain {domain} already belongs to {}", self.apps[other.app as usize].tag)),
            None => {
                self.domains.insert(domain.into(), entry(index, source));
                Ok(())
            }
        }
    }

    fn add_net(&mut self, id: u32, net: IpNet, source: u32) -> Result<(), String> {
        let index = *self.by_id.get(&id).ok_or_else(|| format!("network {net}: no application with ID {id}"))?;
        let index = entry(index, source);
        let prefix = net.prefix();
        let existing = match net.addr() {
            IpAddr::V4(a) => {
                self.reach_v4.mark((u32::from(a) >> 16) as u16, prefix);
                insert_net(&mut self.nets_v4, prefix, u32::from(a), index)
            }
            IpAddr::V6(a) => {
                self.reach_v6.mark((u128::from(a) >> 112) as u16, prefix);
                insert_net(&mut self.nets_v6, prefix, u128::from(a), index)
            }
        };
        match existing {
            Some(other) => Err(format!("network {net} already belongs to {}", self.apps[other.app as usize].tag)),
            None => Ok(()),
        }
    }

    /// Where entries with this source index came from: the `#source:` comment above them, or
    /// the file name.
    pub fn source(&self, index: u32) -> &str {
        self.sources.get(index as usize).map_or("?", |s| &**s)
    }

    /// Every application, in file order.
    pub fn apps(&self) -> &[App] {
        &self.apps
    }

    pub fn by_id(&self, id: u32) -> Option<&App> {
        self.by_id.get(&id).map(|&i| &self.apps[i])
    }

    /// By full tag (`netify.youtube`) or short tag (`youtube`), case-insensitively.
    pub fn by_tag(&self, tag: &str) -> Option<&App> {
        let lower = tag.to_ascii_lowercase();
        self.by_tag
            .get(lower.as_str())
            .or_else(|| self.by_tag.get(format!("netify.{lower}").as_str()))
            .map(|&i| &self.apps[i])
    }

    pub fn rewrites(&self) -> &[Rewrite] {
        &self.rewrites
    }

    pub fn soft_dissectors(&self) -> &[SoftDissector] {
        &self.soft
    }

    /// Number of domains and networks listed.
    pub fn domain_count(&self) -> usize {
        self.domains.len()
    }

    pub fn network_count(&self) -> usize {
        self.nets_v4.iter().map(|(_, m)| m.len()).sum::<usize>()
            + self.nets_v6.iter().map(|(_, m)| m.len()).sum::<usize>()
    }

    /// Domains listed for an application, sorted.
    pub fn domains_of(&self, id: u32) -> Vec<&str> {
        let Some(&index) = self.by_id.get(&id) else { return Vec::new() };
        let mut list: Vec<&str> =
            self.domains.iter().filter(|(_, e)| e.app as usize == index).map(|(d, _)| &**d).collect();
        list.sort_unstable();
        list
    }

    /// The application of a host name: rewrites first, then the name and its parent domains.
    /// Does not allocate unless a rewrite applies.
    pub fn lookup_host(&self, host: &str) -> Option<&App> {
        self.lookup_host_index(host).map(|(e, _)| &self.apps[e.app as usize])
    }

    /// Like [`AppCatalog::lookup_host`], also saying which listed domain matched, where that
    /// `dom:` line came from ([`AppCatalog::source`]) and the name after rewriting (when a
    /// rewrite applied).
    pub fn explain_host(&self, host: &str) -> (Option<(&App, AppMatch, &str)>, Option<String>) {
        let rewritten = with_lowercase(host, |h| self.rewrite(h).map(|r| r.into_owned()));
        let name = rewritten.as_deref().unwrap_or(host).to_ascii_lowercase();
        let name = name.trim_end_matches('.');
        let hit = self
            .suffix_lookup(name)
            .map(|(e, at)| (&self.apps[e.app as usize], AppMatch::Domain(name[at..].into()), self.source(e.source)));
        (hit, rewritten)
    }

    fn lookup_host_index(&self, host: &str) -> Option<(Entry, usize)> {
        with_lowercase(host, |h| match self.rewrite(h) {
            Some(rewritten) => self.suffix_lookup(rewritten.trim_end_matches('.')),
            None => self.suffix_lookup(h),
        })
    }

    /// The first rewrite whose pattern matches, applied (only the first applies).
    fn rewrite<'h>(&self, host: &'h str) -> Option<std::borrow::Cow<'h, str>> {
        self.rewrites.iter().find(|r| r.pattern.is_match(host)).map(|r| r.pattern.replace(host, &*r.replacement))
    }

    /// Exact name, then each parent at a label boundary. Returns the app index and the byte
    /// offset in `name` where the matching domain starts.
    fn suffix_lookup(&self, name: &str) -> Option<(Entry, usize)> {
        if self.domains.is_empty() {
            return None;
        }
        let mut at = 0;
        loop {
            if let Some(&index) = self.domains.get(&name[at..]) {
                return Some((index, at));
            }
            at += name[at..].find('.')? + 1;
        }
    }

    /// The application of an address: the longest listed network that contains it.
    pub fn lookup_ip(&self, ip: IpAddr) -> Option<(&App, IpNet)> {
        self.lookup_ip_index(ip).map(|(e, net)| (&self.apps[e.app as usize], net))
    }

    /// Like [`AppCatalog::lookup_ip`], also saying where the `net:` line came from.
    pub fn explain_ip(&self, ip: IpAddr) -> Option<(&App, IpNet, &str)> {
        self.lookup_ip_index(ip).map(|(e, net)| (&self.apps[e.app as usize], net, self.source(e.source)))
    }

    fn lookup_ip_index(&self, ip: IpAddr) -> Option<(Entry, IpNet)> {
        match ip {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                let reach = self.reach_v4.lengths((bits >> 16) as u16);
                if reach == 0 {
                    return None;
                }
                self.nets_v4.iter().filter(|(prefix, _)| reach & PrefixReach::bit(*prefix) != 0).find_map(
                    |(prefix, map)| {
                        let key = bits & mask_u32(*prefix);
                        map.get(&key).map(|&i| (i, IpNet::new(ip, *prefix)))
                    },
                )
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                let reach = self.reach_v6.lengths((bits >> 112) as u16);
                if reach == 0 {
                    return None;
                }
                self.nets_v6.iter().filter(|(prefix, _)| reach & PrefixReach::bit(*prefix) != 0).find_map(
                    |(prefix, map)| {
                        let key = bits & mask_u128(*prefix);
                        map.get(&key).map(|&i| (i, IpNet::new(ip, *prefix)))
                    },
                )
            }
        }
    }

    pub(crate) fn app_at(&self, index: usize) -> &App {
        &self.apps[index]
    }

    pub(crate) fn host_index(&self, host: &str) -> Option<usize> {
        self.lookup_host_index(host).map(|(e, _)| e.app as usize)
    }

    /// The application named by the customer part of a host one label under a listed domain
    /// (`Classifier::host_app`): the leading ASCII letters of the host's first label, at least
    /// [`MIN_CUSTOMER_NAME`] of them, with `.com` appended, looked up as an exact listed domain.
    /// No allocation: the name is built on the stack.
    pub(crate) fn customer_index(&self, host: &str) -> Option<usize> {
        with_lowercase(host, |h| {
            let (_, at) = self.suffix_lookup(h)?;
            let first = h.get(..at.checked_sub(1)?)?;
            if first.contains('.') {
                return None;
            }
            let letters = first.bytes().take_while(u8::is_ascii_lowercase).count();
            if letters < MIN_CUSTOMER_NAME || letters + 4 > HOST_BUF {
                return None;
            }
            let mut buf = [0u8; HOST_BUF];
            buf[..letters].copy_from_slice(&first.as_bytes()[..letters]);
            buf[letters..letters + 4].copy_from_slice(b".com");
            let name = std::str::from_utf8(&buf[..letters + 4]).ok()?;
            self.domains.get(name).map(|e| e.app as usize)
        })
    }

    pub(crate) fn ip_index(&self, ip: IpAddr) -> Option<usize> {
        self.lookup_ip_index(ip).map(|(e, _)| e.app as usize)
    }

    /// Bytes this catalogue holds on the heap, estimated from table capacities and string
    /// lengths (hash tables: one control byte and one slot per bucket).
    pub fn heap_bytes(&self) -> usize {
        fn table<K, V>(m: &Map<K, V>) -> usize {
            let buckets = if m.capacity() == 0 { 0 } else { (m.capacity() * 8 / 7).next_power_of_two() };
            buckets * (std::mem::size_of::<(K, V)>() + 1)
        }
        let strings = self.domains.keys().map(|k| k.len()).sum::<usize>()
            + self.by_tag.keys().map(|k| k.len()).sum::<usize>()
            + self.apps.iter().map(|a| a.tag.len() + 16).sum::<usize>()
            + self.sources.iter().map(|s| s.len() + 16).sum::<usize>();
        self.apps.capacity() * std::mem::size_of::<App>()
            + self.sources.capacity() * std::mem::size_of::<Arc<str>>()
            + table(&self.by_id)
            + table(&self.by_tag)
            + table(&self.domains)
            + self.nets_v4.iter().map(|(_, m)| table(m)).sum::<usize>()
            + self.nets_v6.iter().map(|(_, m)| table(m)).sum::<usize>()
            + self.reach_v4.heap_bytes()
            + self.reach_v6.heap_bytes()
            + strings
    }

    /// Tag → index, for callers that resolve tags once at load.
    pub(crate) fn index_of_tag(&self, tag: &str) -> Option<usize> {
        self.by_tag.get(tag.to_ascii_lowercase().as_str()).copied()
    }
}

/// Per 16-bit address prefix, the set of network prefix lengths listed under it: one byte per
/// 16-bit prefix (64 KiB once anything is marked) naming one of at most 255 distinct sets; past
/// that many sets, a prefix's set becomes "every length" (still right, only slower).
#[derive(Debug, Clone, Default)]
struct PrefixReach {
    /// Index into `sets` for each 16-bit prefix; 0: nothing listed.
    index: Vec<u8>,
    /// The distinct sets of prefix lengths (bit [`PrefixReach::bit`]); `sets[0]` is empty.
    sets: Vec<u128>,
    /// `sets` the other way round, for marking.
    positions: std::collections::HashMap<u128, u8>,
}

impl PrefixReach {
    /// The index of the "every length" set, used once the table is full.
    const ALL: u8 = u8::MAX;

    /// The bit of prefix length `prefix` (/127 and /128 share the last bit: a shared bit only
    /// makes a lookup probe both).
    fn bit(prefix: u8) -> u128 {
        1 << prefix.min(127)
    }

    /// Note a network `top/prefix` (`top`: the network's leading 16 bits) under every 16-bit
    /// prefix its addresses start with.
    fn mark(&mut self, top: u16, prefix: u8) {
        if self.index.is_empty() {
            self.index = vec![0; 1 << 16];
            self.sets = vec![0];
            self.positions.insert(0, 0);
        }
        let span = 1usize << 16u8.saturating_sub(prefix);
        let first = usize::from(top) & !(span - 1);
        for value in first..first + span {
            let old = self.index[value];
            if old == Self::ALL {
                continue;
            }
            let set = self.sets[usize::from(old)] | Self::bit(prefix);
            self.index[value] = match self.positions.get(&set) {
                Some(&i) => i,
                None if self.sets.len() < usize::from(Self::ALL) => {
                    let i = self.sets.len() as u8;
                    self.sets.push(set);
                    self.positions.insert(set, i);
                    i
                }
                None => Self::ALL,
            };
        }
    }

    /// The prefix lengths (bits) listed under an address's leading 16 bits; 0: none.
    fn lengths(&self, top: u16) -> u128 {
        match self.index.get(usize::from(top)) {
            None | Some(0) => 0,
            Some(&Self::ALL) => u128::MAX,
            Some(&i) => self.sets.get(usize::from(i)).copied().unwrap_or(u128::MAX),
        }
    }

    fn heap_bytes(&self) -> usize {
        self.index.capacity() + self.sets.capacity() * 16 + self.positions.capacity() * 24
    }
}

fn entry(app: usize, source: u32) -> Entry {
    // add_app refuses more applications than a u32 counts.
    Entry { app: u32::try_from(app).unwrap_or(u32::MAX), source }
}

fn insert_net<K: std::hash::Hash + Eq>(
    tables: &mut Vec<(u8, Map<K, Entry>)>,
    prefix: u8,
    key: K,
    index: Entry,
) -> Option<Entry> {
    let pos = match tables.iter().position(|(p, _)| *p == prefix) {
        Some(pos) => pos,
        None => {
            tables.push((prefix, new_map()));
            tables.len() - 1
        }
    };
    let map = &mut tables[pos].1;
    match map.get(&key) {
        Some(&other) => Some(other),
        None => {
            map.insert(key, index);
            None
        }
    }
}

fn mask_u32(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

fn mask_u128(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

/// Runs `f` on `host` lower-cased and without a trailing dot, on the stack when it fits.
pub(crate) fn with_lowercase<R>(host: &str, f: impl FnOnce(&str) -> R) -> R {
    let host = host.trim_end_matches('.');
    if !host.bytes().any(|b| b.is_ascii_uppercase()) {
        return f(host);
    }
    if host.len() <= HOST_BUF {
        let mut buf = [0u8; HOST_BUF];
        let out = &mut buf[..host.len()];
        out.copy_from_slice(host.as_bytes());
        out.make_ascii_lowercase();
        // Only ASCII bytes changed, so this is still the same valid UTF-8.
        match std::str::from_utf8(out) {
            Ok(lower) => f(lower),
            Err(_) => f(host),
        }
    } else {
        f(&host.to_ascii_lowercase())
    }
}

/// `<id>:<value>` with a decimal ID.
fn parse_id_value(rest: &str) -> Result<(u32, &str), String> {
    let (id, value) = rest.split_once(':').ok_or_else(|| format!("expected `<id>:<value>`, found `{rest}`"))?;
    let id: u32 = id.trim().parse().map_err(|_| format!("`{id}` is not an application ID"))?;
    let value = value.trim();
    if value.is_empty() {
        return Err("empty value".into());
    }
    Ok((id, value))
}

/// A domain as listed, lower-cased, without a leading `*.`/`.` or a trailing dot.
pub(crate) fn normalize_domain_entry(domain: &str) -> Result<String, String> {
    let d = domain.trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.');
    let valid = !d.is_empty()
        && d.len() <= 253
        && d.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        && !d.split('.').any(str::is_empty);
    if valid {
        Ok(d.to_ascii_lowercase())
    } else {
        Err(format!("`{domain}` is not a domain name"))
    }
}

/// `<regex>:<replacement>`; the regex may itself hold `:`, so split at the last one.
fn parse_rewrite(rest: &str) -> Result<Rewrite, String> {
    let (pattern, replacement) =
        rest.rsplit_once(':').ok_or_else(|| format!("expected `<regex>:<replacement>`, found `{rest}`"))?;
    // Netify compiles these as case-insensitive POSIX extended expressions; ours are linear-time.
    let pattern = RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("bad rewrite pattern: {e}"))?;
    // POSIX-style `\1` back-references become `${1}`.
    let mut repl = String::with_capacity(replacement.len());
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(d)) if d.is_ascii_digit() => {
                repl.push_str(&format!("${{{d}}}"));
                chars.next();
            }
            _ => repl.push(c),
        }
    }
    Ok(Rewrite { pattern, replacement: repl.into() })
}

/// `<app>:<proto>:<base64 expression>`.
fn parse_soft_dissector(rest: &str, line: usize) -> Result<SoftDissector, String> {
    let mut parts = rest.splitn(3, ':');
    let (Some(app), Some(proto), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("expected `<app>:<proto>:<base64 expression>`, found `{rest}`"));
    };
    let app_id: i64 = app.trim().parse().map_err(|_| format!("`{app}` is not an application ID"))?;
    let protocol_id: i64 = proto.trim().parse().map_err(|_| format!("`{proto}` is not a protocol ID"))?;
    if app_id < -1 || protocol_id < -1 {
        return Err("IDs must be -1 (leave alone) or more".into());
    }
    let bytes = decode_base64(b64.trim()).ok_or("expression is not valid base64")?;
    let expression = String::from_utf8(bytes).map_err(|_| "decoded expression is not UTF-8".to_string())?;
    let (criteria, inactive_reason) = match Criteria::compile(&expression) {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(SoftDissector { app_id, protocol_id, expression: expression.trim().into(), line, criteria, inactive_reason })
}

/// Standard base64 (with or without `=` padding).
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = vec![0; text.len() * 3 / 4];
    let len = crate::facts::decode_base64_into(text.bytes(), &mut out)?;
    out.truncate(len);
    Some(out)
}

pub use crate::facts::encode_base64;

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# comment
app:124:netify.youtube
app:119:netify.facebook
app:20001:netify.example-cdn
dom:124:youtube.com
dom:124:ytimg.com
dom:124:*.googlevideo.com
dom:119:facebook.com
dom:119:fbcdn.net
net:119:157.240.0.0/16
net:20001:157.240.10.0/24
net:119:2a03:2880::/32
net:20001:2a03:2880:f000::/36
xfm:^r[0-9]+---sn-[a-z0-9-]+\\.googlevideo\\.com$:video.googlevideo.com
";

    fn sample() -> AppCatalog {
        let (catalog, errors) = AppCatalog::parse("sample.conf", SAMPLE);
        assert!(errors.is_empty(), "{errors:?}");
        catalog
    }

    fn host(c: &AppCatalog, h: &str) -> Option<u32> {
        c.lookup_host(h).map(|a| a.id)
    }

    fn ip(c: &AppCatalog, a: &str) -> Option<(u32, String)> {
        c.lookup_ip(a.parse().unwrap()).map(|(app, net)| (app.id, net.to_string()))
    }

    #[test]
    fn exact_and_parent_domains() {
        let c = sample();
        assert_eq!(host(&c, "youtube.com"), Some(124));
        assert_eq!(host(&c, "www.youtube.com"), Some(124));
        assert_eq!(host(&c, "a.b.c.ytimg.com"), Some(124));
        assert_eq!(host(&c, "WWW.YouTube.COM."), Some(124), "case and trailing dot do not matter");
        assert_eq!(host(&c, "static.xx.fbcdn.net"), Some(119));
        assert_eq!(host(&c, "googlevideo.com"), Some(124), "`*.` in the file lists the domain itself");
    }

    #[test]
    fn only_label_boundaries_match() {
        let c = sample();
        assert_eq!(host(&c, "notyoutube.com"), None);
        assert_eq!(host(&c, "youtube.com.evil.example"), None);
        assert_eq!(host(&c, "youtube.co"), None);
        assert_eq!(host(&c, "com"), None);
        assert_eq!(host(&c, ""), None);
        assert_eq!(host(&c, "."), None);
        assert_eq!(host(&c, "..youtube..com"), None);
    }

    #[test]
    fn rewrite_applies_before_lookup() {
        let text = "app:1:netify.a\napp:2:netify.b\ndom:1:example.com\ndom:2:cdn.example.net\n\
                    xfm:^([a-z]+)-edge[0-9]+\\.example\\.org$:\\1.cdn.example.net\n";
        let (c, errors) = AppCatalog::parse("x.conf", text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(host(&c, "eu-edge12.example.org"), Some(2));
        assert_eq!(host(&c, "EU-EDGE12.example.org"), Some(2), "rewrites are case-insensitive");
        assert_eq!(host(&c, "eu-edge.example.org"), None);
        let (hit, rewritten) = c.explain_host("eu-edge12.example.org");
        assert_eq!(rewritten.as_deref(), Some("eu.cdn.example.net"));
        assert_eq!(hit.unwrap().1, AppMatch::Domain("cdn.example.net".into()));
    }

    #[test]
    fn lookups_probe_only_the_lengths_listed_under_an_address_but_find_every_network() {
        // 300 16-bit prefixes, each with its own set of prefix lengths (the bits of its
        // number: /24 + bit), more sets than the reach table names, so the last ones fall back
        // to every length.
        let mut text = String::from("app:1:netify.a\napp:2:netify.b\nnet:1:10.0.0.0/8\n");
        let mut expected = Vec::new();
        for i in 1..=300u32 {
            let (first, second) = (11 + (i / 256) as u8, (i % 256) as u8);
            for bit in (0..9u8).filter(|b| i & (1 << b) != 0) {
                let net = IpNet::new(IpAddr::from([first, second, bit, 0]), 24 + bit);
                text.push_str(&format!("net:2:{net}\n"));
                expected.push(net);
            }
        }
        let (c, errors) = AppCatalog::parse("x.conf", &text);
        assert!(errors.is_empty(), "{errors:?}");
        for net in &expected {
            assert_eq!(c.lookup_ip(net.addr()).map(|(a, n)| (a.id, n)), Some((2, *net)), "{net}");
        }
        // The /8 is found under every one of its 16-bit prefixes, alone or beside others.
        assert_eq!(ip(&c, "10.200.1.1"), Some((1, "10.0.0.0/8".into())));
        assert_eq!(ip(&c, "10.0.0.1"), Some((1, "10.0.0.0/8".into())));
        assert_eq!(ip(&c, "11.1.200.1"), None);
        assert_eq!(ip(&c, "12.44.1.1"), None, "12.44 (number 300: bits 2, 3, 5, 8) lists no network holding 12.44.1.1");
        assert_eq!(ip(&c, "12.0.0.1"), None);
        assert!(c.reach_v4.sets.len() <= usize::from(PrefixReach::ALL));
        assert!(c.reach_v4.index.contains(&PrefixReach::ALL), "the table overflowed as meant");
    }

    #[test]
    fn longest_prefix_wins_v4_and_v6() {
        let c = sample();
        assert_eq!(ip(&c, "157.240.1.1"), Some((119, "157.240.0.0/16".into())));
        assert_eq!(ip(&c, "157.240.10.7"), Some((20001, "157.240.10.0/24".into())));
        assert_eq!(ip(&c, "157.241.0.1"), None);
        assert_eq!(ip(&c, "2a03:2880:1::1"), Some((119, "2a03:2880::/32".into())));
        assert_eq!(ip(&c, "2a03:2880:f00d::1"), Some((20001, "2a03:2880:f000::/36".into())));
        assert_eq!(ip(&c, "2a03:2881::1"), None);
        assert_eq!(ip(&c, "::ffff:157.240.1.1"), None, "families never mix");
    }

    /// Networks shorter than the 16-bit pre-check still match every address they hold, and
    /// only those.
    #[test]
    fn networks_shorter_than_16_bits() {
        let text = "app:1:netify.a\napp:2:netify.b\napp:3:netify.c\n\
                    net:1:10.4.0.0/14\nnet:2:0.0.0.0/0\nnet:3:2400::/6\nnet:3:2a00::/15\n";
        let (c, errors) = AppCatalog::parse("short.conf", text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(ip(&c, "10.4.0.1"), Some((1, "10.4.0.0/14".into())));
        assert_eq!(ip(&c, "10.7.255.254"), Some((1, "10.4.0.0/14".into())));
        assert_eq!(ip(&c, "10.8.0.1"), Some((2, "0.0.0.0/0".into())));
        assert_eq!(ip(&c, "255.255.255.255"), Some((2, "0.0.0.0/0".into())));
        assert_eq!(ip(&c, "2400::1"), Some((3, "2400::/6".into())));
        assert_eq!(ip(&c, "27ff:ffff::1"), Some((3, "2400::/6".into())));
        assert_eq!(ip(&c, "2800::1"), None);
        assert_eq!(ip(&c, "2a01:1::1"), Some((3, "2a00::/15".into())));
        assert_eq!(ip(&c, "2a02::1"), None);
        let (empty, _) = AppCatalog::parse("empty.conf", "app:1:netify.a\n");
        assert_eq!(ip(&empty, "10.4.0.1"), None);
    }

    #[test]
    fn errors_name_file_and_line_and_the_rest_loads() {
        let text = "app:1:netify.a\n\
                    app:x:netify.b\n\
                    dom:1:Example.COM.\n\
                    dom:9:nowhere.example\n\
                    net:1:10.0.0.0/33\n\
                    xfm:([:x\n\
                    nsd:1:2:%%%\n\
                    bogus\n\
                    app:1:netify.again\n\
                    app:2:netify.A\n\
                    dom:1:example.com\n\
                    dom:2:example.com\n\
                    net:1:10.0.0.0/8\n";
        let (c, errors) = AppCatalog::parse("/etc/netifyd/netify-apps.conf", text);
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 4, 5, 6, 7, 8, 9, 10, 11, 12], "{errors:#?}");
        assert!(errors[0].to_string().starts_with("/etc/netifyd/netify-apps.conf:2: "), "{}", errors[0]);
        assert_eq!(errors[1].message, "domain nowhere.example: no application with ID 9");
        assert_eq!(errors[7].message, "application tag netify.A already used by ID 1");
        assert_eq!(errors[8].message, "domain example.com listed twice for netify.a", "upper case was folded");
        assert_eq!(c.apps().len(), 1);
        assert_eq!(host(&c, "www.example.com"), Some(1));
        assert_eq!(ip(&c, "10.1.2.3"), Some((1, "10.0.0.0/8".into())));
    }

    #[test]
    fn soft_dissectors_keep_their_expression() {
        let expr = "other_port >= 27015 && other_port <= 27030;";
        let steam = "app == 'netify.steam' && protocol_id != 74;";
        // An attribute flowsieve's criteria do not know keeps the dissector inactive.
        let inert = "intel_category == 'malware';";
        let text = format!(
            "app:74:netify.steam\nnsd:74:-1:{}\nnsd:-1:74:{}\nnsd:-1:75:{}\n",
            encode_base64(expr.as_bytes()),
            encode_base64(steam.as_bytes()),
            encode_base64(inert.as_bytes())
        );
        let (c, errors) = AppCatalog::parse("x.conf", &text);
        assert!(errors.is_empty(), "{errors:?}");
        let soft = c.soft_dissectors();
        assert_eq!(&*soft[0].expression, expr);
        assert_eq!((soft[0].app_id, soft[0].protocol_id), (74, -1));
        assert!(soft[0].is_active());
        let mut facts = FlowFacts { other_port: 27020, ..FlowFacts::default() };
        assert_eq!(soft[0].evaluate(&facts), Some(true));
        facts.other_port = 443;
        assert_eq!(soft[0].evaluate(&facts), Some(false));
        assert_eq!(&*soft[1].expression, steam);
        assert!(soft[1].is_active(), "app is a criteria attribute");
        facts.application.tag = Some("netify.steam".into());
        facts.application.id = 74;
        assert_eq!(soft[1].evaluate(&facts), Some(true));
        assert_eq!(&*soft[2].expression, inert);
        assert!(!soft[2].is_active());
        assert_eq!(soft[2].evaluate(&facts), None);
    }

    #[test]
    fn base64_round_trip() {
        for text in ["", "a", "ab", "abc", "abcd", "app == 'netify.steam';"] {
            assert_eq!(decode_base64(&encode_base64(text.as_bytes())).unwrap(), text.as_bytes());
        }
        assert_eq!(encode_base64(b"ab"), "YWI=");
        assert!(decode_base64("YWI*").is_none());
    }
}
