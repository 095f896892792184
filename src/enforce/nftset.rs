//! nftables set target (`"target_type": "nftset"`): one element per matching flow, in the set
//! `<set_name>.v4` or `<set_name>.v6` of the configured table.
//!
//! Elements are built from the flow's facts in the configured key order (Netify's `type`
//! array), queued by [`Target::apply`] and sent in one nftables transaction per
//! [`Target::flush`]. With `ttl` the elements expire in the kernel; a flow that keeps matching is
//! re-added, which restarts its timer. The socket opens on first use, so building the target (and
//! [`Target::describe`] in a dry-run replay) needs no privileges.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use hashbrown::{HashMap, HashSet};
use serde_json::Value;

use super::{MatchEvent, Target, TargetError};
use crate::facts::FlowFacts;
use crate::netlink::nftables::{
    AddReport, KeyLayout, KeyType, NftBatch, NftSocket, PackError, SetKey, SetRef, SetSpec, TableFamily,
};
use crate::netlink::NetlinkError;
use super::kind::{kind, Props, TargetKind};

/// Queued elements that make [`Target::apply`] send without waiting for a flush.
const AUTO_FLUSH_ELEMENTS: usize = 8192;

/// Which address families get a set (Netify's `set_family`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetFamily {
    /// `"*"`: `<set_name>.v4` and `<set_name>.v6`.
    Both,
    /// `"ipv4"`: only `<set_name>.v4`.
    V4,
    /// `"ipv6"`: only `<set_name>.v6`.
    V6,
}

impl SetFamily {
    /// Parses Netify's spelling: `"*"`, `"ipv4"`, `"ipv6"`.
    pub fn from_netify_name(name: &str) -> Option<SetFamily> {
        Some(match name {
            "*" => SetFamily::Both,
            "ipv4" => SetFamily::V4,
            "ipv6" => SetFamily::V6,
            _ => return None,
        })
    }

    fn has(self, ip_version: u8) -> bool {
        matches!((self, ip_version), (SetFamily::Both, 4 | 6) | (SetFamily::V4, 4) | (SetFamily::V6, 6))
    }
}

/// One field of a set element (an entry of Netify's `type` array).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPart {
    LocalAddr,
    OtherAddr,
    LocalPort,
    OtherPort,
    IpProto,
    LocalMac,
    OtherMac,
    /// The flow's connection mark (Netify's `mark`; nft type `mark`, host byte order as nft
    /// stores it, so `ct mark . … @set` finds it).
    Mark,
    /// The capture interface (Netify's `interface`; nft type `ifname`: the name zero-padded to
    /// 16 bytes, matched by `iifname`/`oifname`).
    Interface,
}

impl KeyPart {
    /// Parses Netify's field names (`local_addr`, `other_port`, `ip_proto`, …).
    pub fn from_netify_name(name: &str) -> Option<KeyPart> {
        Some(match name {
            "local_addr" => KeyPart::LocalAddr,
            "other_addr" => KeyPart::OtherAddr,
            "local_port" => KeyPart::LocalPort,
            "other_port" => KeyPart::OtherPort,
            "ip_proto" => KeyPart::IpProto,
            "local_mac" => KeyPart::LocalMac,
            "other_mac" => KeyPart::OtherMac,
            "mark" => KeyPart::Mark,
            "interface" => KeyPart::Interface,
            _ => return None,
        })
    }

    pub fn netify_name(self) -> &'static str {
        match self {
            KeyPart::LocalAddr => "local_addr",
            KeyPart::OtherAddr => "other_addr",
            KeyPart::LocalPort => "local_port",
            KeyPart::OtherPort => "other_port",
            KeyPart::IpProto => "ip_proto",
            KeyPart::LocalMac => "local_mac",
            KeyPart::OtherMac => "other_mac",
            KeyPart::Mark => "mark",
            KeyPart::Interface => "interface",
        }
    }

    fn key_type(self, ip_version: u8) -> KeyType {
        match self {
            KeyPart::LocalAddr | KeyPart::OtherAddr if ip_version == 6 => KeyType::Ipv6Addr,
            KeyPart::LocalAddr | KeyPart::OtherAddr => KeyType::Ipv4Addr,
            KeyPart::LocalPort | KeyPart::OtherPort => KeyType::InetService,
            KeyPart::IpProto => KeyType::InetProto,
            KeyPart::LocalMac | KeyPart::OtherMac => KeyType::EtherAddr,
            KeyPart::Mark => KeyType::Mark,
            KeyPart::Interface => KeyType::Ifname,
        }
    }

    /// The field's value in network byte order, or `None` when an address is of the other
    /// family.
    fn value(self, flow: &FlowFacts, ip_version: u8, out: &mut SetKey) -> Result<(), KeyError> {
        let addr = |ip: IpAddr, out: &mut SetKey| match (ip, ip_version) {
            (IpAddr::V4(a), 4) => Ok(out.extend(&a.octets())?),
            (IpAddr::V6(a), 6) => Ok(out.extend(&a.octets())?),
            _ => Err(KeyError::Family),
        };
        match self {
            KeyPart::LocalAddr => addr(flow.local_ip, out)?,
            KeyPart::OtherAddr => addr(flow.other_ip, out)?,
            KeyPart::LocalPort => out.extend(&flow.local_port.to_be_bytes())?,
            KeyPart::OtherPort => out.extend(&flow.other_port.to_be_bytes())?,
            KeyPart::IpProto => out.extend(&[flow.ip_protocol])?,
            KeyPart::LocalMac => out.extend(&flow.local_mac)?,
            KeyPart::OtherMac => out.extend(&flow.other_mac)?,
            KeyPart::Mark => out.extend(&flow.ct_mark.to_ne_bytes())?,
            KeyPart::Interface => out.extend(&ifname(&flow.iface))?,
        }
        Ok(())
    }

    /// The field as nft prints it with `-nn` (addresses, decimal numbers, lower-case MACs).
    fn write_text(self, flow: &FlowFacts, out: &mut String) {
        let _ = match self {
            KeyPart::LocalAddr => write!(out, "{}", flow.local_ip),
            KeyPart::OtherAddr => write!(out, "{}", flow.other_ip),
            KeyPart::LocalPort => write!(out, "{}", flow.local_port),
            KeyPart::OtherPort => write!(out, "{}", flow.other_port),
            KeyPart::IpProto => write!(out, "{}", flow.ip_protocol),
            KeyPart::LocalMac => write!(out, "{}", Mac(&flow.local_mac)),
            KeyPart::OtherMac => write!(out, "{}", Mac(&flow.other_mac)),
            KeyPart::Mark => write!(out, "{:#010x}", flow.ct_mark),
            KeyPart::Interface => write!(out, "\"{}\"", &*flow.iface),
        };
    }
}

/// An interface name as nft's `ifname` type holds it: 16 bytes (IFNAMSIZ), zero-padded.
fn ifname(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    let bytes = name.as_bytes();
    let n = bytes.len().min(15);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

/// Why a flow gave no key value.
enum KeyError {
    /// An address of the other IP version.
    Family,
    Netlink(NetlinkError),
}

impl From<NetlinkError> for KeyError {
    fn from(e: NetlinkError) -> Self {
        KeyError::Netlink(e)
    }
}

/// A MAC address as nft prints it: lower-case hex, colon-separated.
struct Mac<'a>(&'a [u8; 6]);

impl std::fmt::Display for Mac<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// An `nftset` target's configuration, defaults merged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftSetConfig {
    /// Target name (`nftset.weakssl`).
    pub name: String,
    /// Set name without the family suffix (`weakssl` → `weakssl.v4`, `weakssl.v6`).
    pub set_name: String,
    /// Table holding the sets; default `nfa`.
    pub table_name: String,
    /// nft table family: `inet` (default), `ip`, `ip6`, `bridge` or `netdev`.
    pub table_family: String,
    pub set_family: SetFamily,
    /// Element layout, in order.
    pub key: Vec<KeyPart>,
    /// Maximum elements per set; default 65536.
    pub size: u32,
    /// Element timeout in seconds; 0 = elements stay until removed.
    pub ttl: u32,
    /// Create the table and sets when missing.
    pub managed: bool,
    /// Empty the sets at start (only with `managed`, as Netify documents).
    pub flush_on_create: bool,
    /// Empty the sets at shutdown.
    pub flush_on_destroy: bool,
}

impl NftSetConfig {
    /// A configuration with Netify's defaults for everything but the names and the key.
    pub fn new(name: &str, set_name: &str, key: Vec<KeyPart>) -> NftSetConfig {
        NftSetConfig {
            name: name.to_string(),
            set_name: set_name.to_string(),
            table_name: "nfa".to_string(),
            table_family: "inet".to_string(),
            set_family: SetFamily::Both,
            key,
            size: 65536,
            ttl: 0,
            managed: false,
            flush_on_create: false,
            flush_on_destroy: false,
        }
    }
}

/// Running totals of a target's kernel work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NftSetStats {
    /// Elements added or refreshed.
    pub accepted: u64,
    /// Elements refused because the set was full.
    pub refused: u64,
    /// Transactions sent for elements, retries included.
    pub batches: u64,
    /// Times a set that had disappeared was created again.
    pub recreated: u64,
}

/// One family's set and the elements waiting for the next flush.
#[derive(Debug)]
struct FamilySet {
    ip_version: u8,
    spec: SetSpec,
    pending: Vec<SetKey>,
    queued: HashSet<SetKey>,
    /// Elements the kernel accepted and when their timeout ends (`None`: no timeout), so a set
    /// deleted behind our back can be filled again. Never larger than the set's `size`.
    live: HashMap<SetKey, Option<Instant>>,
}

/// How often managed sets are checked for deletion behind our back. With the enforcer's
/// 250 ms tick, a deleted set is back (and refilled) within 750 ms.
pub const REPAIR_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// The `nftset` target.
#[derive(Debug)]
pub struct NftSetTarget {
    cfg: NftSetConfig,
    /// Set up from the configuration, or why the configuration cannot work.
    sets: Result<(TableFamily, Vec<FamilySet>), String>,
    sock: Option<NftSocket>,
    stats: NftSetStats,
    /// When the sets were last checked for existence (managed sets only).
    last_check: Option<Instant>,
}

impl NftSetTarget {
    /// Builds the target; never touches the kernel. A configuration the kernel cannot take
    /// (unknown table family, key too long) is reported by `setup` and `apply`.
    pub fn new(cfg: NftSetConfig) -> NftSetTarget {
        let sets = Self::plan(&cfg);
        NftSetTarget { cfg, sets, sock: None, stats: NftSetStats::default(), last_check: None }
    }

    fn plan(cfg: &NftSetConfig) -> Result<(TableFamily, Vec<FamilySet>), String> {
        let family = TableFamily::from_name(&cfg.table_family).ok_or_else(|| {
            format!("unknown table family {:?} (expected inet, ip, ip6, bridge or netdev)", cfg.table_family)
        })?;
        let mut sets = Vec::new();
        for (ip_version, suffix) in [(4u8, "v4"), (6, "v6")] {
            if !cfg.set_family.has(ip_version) {
                continue;
            }
            let fields = cfg.key.iter().map(|p| p.key_type(ip_version)).collect();
            let key = KeyLayout::new(fields).map_err(|e| e.to_string())?;
            sets.push(FamilySet {
                ip_version,
                spec: SetSpec {
                    name: format!("{}.{suffix}", cfg.set_name),
                    key,
                    size: cfg.size,
                    timeout_ms: u64::from(cfg.ttl) * 1000,
                },
                pending: Vec::new(),
                queued: HashSet::new(),
                live: HashMap::new(),
            });
        }
        Ok((family, sets))
    }

    pub fn config(&self) -> &NftSetConfig {
        &self.cfg
    }

    pub fn stats(&self) -> NftSetStats {
        self.stats
    }

    /// Name of the kernel set that holds flows of this IP version, if there is one.
    pub fn set_name(&self, ip_version: u8) -> Option<&str> {
        let (_, sets) = self.sets.as_ref().ok()?;
        sets.iter().find(|s| s.ip_version == ip_version).map(|s| s.spec.name.as_str())
    }

    /// Elements queued and not yet sent.
    pub fn pending(&self) -> usize {
        self.sets.as_ref().map_or(0, |(_, sets)| sets.iter().map(|s| s.pending.len()).sum())
    }

    fn queue(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        let flow = &event.flow;
        let sets = match &mut self.sets {
            Ok((_, sets)) => sets,
            Err(why) => return Err(TargetError::Other(format!("{}: {why}", self.cfg.name))),
        };
        let Some(set) = sets.iter_mut().find(|s| s.ip_version == flow.ip_version) else {
            return Ok(()); // no set for this family
        };
        let parts = &self.cfg.key;
        let key = match set.spec.key.pack_with(|i, out| parts[i].value(flow, flow.ip_version, out)) {
            Ok(key) => key,
            Err(PackError::Field(KeyError::Family)) => {
                return Err(TargetError::Other(format!(
                    "flow {} → {}: address family does not match ip_version {}",
                    flow.local_ip, flow.other_ip, flow.ip_version
                )))
            }
            Err(PackError::Field(KeyError::Netlink(e)) | PackError::Layout(e)) => return Err(e.into()),
        };
        if set.queued.insert(key) {
            set.pending.push(key);
        }
        if self.pending() >= AUTO_FLUSH_ELEMENTS {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends one family's queued elements. A set or table that vanished (ENOENT) is created
    /// again once, when managed, and the elements re-sent.
    fn send_pending(
        sock: &mut NftSocket,
        cfg: &NftSetConfig,
        family: TableFamily,
        set: &mut FamilySet,
        stats: &mut NftSetStats,
    ) -> Result<(), NetlinkError> {
        if set.pending.is_empty() {
            return Ok(());
        }
        // Taken out while the socket works, put back emptied: its capacity is reused.
        let mut keys = std::mem::take(&mut set.pending);
        set.queued.clear();
        let result = Self::send_keys(sock, cfg, family, set, stats, &keys);
        keys.clear();
        set.pending = keys;
        result
    }

    fn send_keys(
        sock: &mut NftSocket,
        cfg: &NftSetConfig,
        family: TableFamily,
        set: &mut FamilySet,
        stats: &mut NftSetStats,
        keys: &[SetKey],
    ) -> Result<(), NetlinkError> {
        let dest = SetRef { family, table: &cfg.table_name, set: &set.spec.name };
        let timeout_ms = set.spec.timeout_ms;
        let report: AddReport = match sock.add_elements(dest, keys, timeout_ms) {
            Err(e) if e.errno() == Some(libc::ENOENT) && cfg.managed => {
                tracing::warn!(target_name = cfg.name, "set {dest} is gone ({e}); creating it again");
                let mut batch = NftBatch::new();
                batch.add_table(family, &cfg.table_name)?;
                batch.add_set(family, &cfg.table_name, &set.spec)?;
                sock.commit(batch)?;
                stats.recreated += 1;
                sock.add_elements(dest, keys, timeout_ms)
            }
            other => other,
        }?;
        stats.accepted += report.accepted as u64;
        stats.refused += report.refused as u64;
        stats.batches += report.batches as u64;
        let full = (report.refused > 0).then(|| NetlinkError::SetFull {
            set: dest.to_string(),
            refused: report.refused,
            accepted: report.accepted,
        });
        remember(set, cfg, keys);
        full.map_or(Ok(()), Err)
    }

    /// Runs `f` once per set with the socket (opened on first use). Every set is tried; the
    /// first error is returned. A socket that lost track of its replies is reopened next time.
    fn for_each_set(
        &mut self,
        mut f: impl FnMut(
            &mut NftSocket,
            &NftSetConfig,
            TableFamily,
            &mut FamilySet,
            &mut NftSetStats,
        ) -> Result<(), NetlinkError>,
    ) -> Result<(), TargetError> {
        let (family, sets) = match &mut self.sets {
            Ok((family, sets)) => (*family, sets),
            Err(why) => return Err(TargetError::Other(format!("{}: {why}", self.cfg.name))),
        };
        let sock = match &mut self.sock {
            Some(sock) => sock,
            None => match NftSocket::open() {
                Ok(sock) => self.sock.insert(sock),
                Err(e) => {
                    // Without a socket nothing queued can go out: do not let it pile up.
                    clear_pending(sets);
                    return Err(e.into());
                }
            },
        };
        let mut first_error = None;
        for set in sets.iter_mut() {
            if let Err(e) = f(sock, &self.cfg, family, set, &mut self.stats) {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            None => Ok(()),
            Some(e) => {
                if matches!(e, NetlinkError::Io(_) | NetlinkError::NoReply { .. }) {
                    self.sock = None;
                }
                Err(e.into())
            }
        }
    }
}

/// Records elements the kernel now holds, with their expiry, up to the set's size.
fn remember(set: &mut FamilySet, cfg: &NftSetConfig, keys: &[SetKey]) {
    let now = Instant::now();
    let expiry = (cfg.ttl > 0).then(|| now + Duration::from_secs(u64::from(cfg.ttl)));
    if set.live.len() + keys.len() > cfg.size as usize {
        set.live.retain(|_, e| e.is_none_or(|e| e > now));
    }
    for key in keys {
        if set.live.len() < cfg.size as usize {
            set.live.insert(*key, expiry);
        } else if let Some(e) = set.live.get_mut(key) {
            *e = expiry;
        }
    }
}

/// Forgets queued elements that cannot or need not be sent (a flow that still matches is
/// queued again by `refresh`).
fn clear_pending(sets: &mut [FamilySet]) {
    for set in sets {
        set.pending.clear();
        set.queued.clear();
    }
}

impl Target for NftSetTarget {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    /// With `managed`: create the table and sets (one transaction), emptied first when
    /// `flush_on_create` (only sets flowsieve created). Without it the sets are the
    /// administrator's: nothing is changed.
    fn setup(&mut self) -> Result<(), TargetError> {
        let cfg = &self.cfg;
        let (family, sets) = match &self.sets {
            Ok((family, sets)) => (*family, sets),
            Err(why) => return Err(TargetError::Other(format!("{}: {why}", cfg.name))),
        };
        let sock = match &mut self.sock {
            Some(sock) => sock,
            None => self.sock.insert(NftSocket::open()?),
        };
        if !cfg.managed {
            return Ok(());
        }
        let mut batch = NftBatch::new();
        batch.add_table(family, &cfg.table_name)?;
        for set in sets {
            // A set of that name someone else made is used as it is, never emptied (one of
            // another type fails the whole transaction below).
            let theirs = sock.set_owner(family, &cfg.table_name, &set.spec.name)? == Some(false);
            batch.add_set(family, &cfg.table_name, &set.spec)?;
            if cfg.flush_on_create && !theirs {
                batch.flush_set(SetRef { family, table: &cfg.table_name, set: &set.spec.name })?;
            }
            if theirs {
                tracing::warn!(
                    target_name = cfg.name,
                    "set {family} {} {} was not created by flowsieve: elements are added to it, but it is never \
                     flushed or deleted",
                    cfg.table_name,
                    set.spec.name
                );
            }
        }
        sock.commit(batch)?;
        Ok(())
    }

    /// `nftset inet netify weakssl.v4 add 192.168.1.10 . 6 . 1010 . 10.99.0.2 timeout 120s`
    fn describe(&self, event: &MatchEvent, ops: &mut Vec<String>) {
        let flow = &event.flow;
        let Some(set_name) = self.set_name(flow.ip_version) else {
            return;
        };
        let cfg = &self.cfg;
        let mut line = format!("nftset {} {} {set_name} add ", cfg.table_family, cfg.table_name);
        for (i, part) in cfg.key.iter().enumerate() {
            if i > 0 {
                line.push_str(" . ");
            }
            part.write_text(flow, &mut line);
        }
        if cfg.ttl > 0 {
            let _ = write!(line, " timeout {}s", cfg.ttl);
        }
        ops.push(line);
    }

    fn apply(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        self.queue(event)
    }

    /// Re-adding the element restarts its timeout.
    fn refresh(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        self.queue(event)
    }

    fn flush(&mut self) -> Result<(), TargetError> {
        if self.pending() == 0 {
            return Ok(());
        }
        self.for_each_set(Self::send_pending)
    }

    /// Every [`REPAIR_CHECK_INTERVAL`], for managed sets: if a set (or its table) was deleted behind our back,
    /// create it again and re-add the elements whose timeout has not run out.
    fn tick(&mut self, _now: std::time::SystemTime) -> Result<(), TargetError> {
        if !self.cfg.managed || self.last_check.is_some_and(|t| t.elapsed() < REPAIR_CHECK_INTERVAL) {
            return Ok(());
        }
        self.last_check = Some(Instant::now());
        self.for_each_set(|sock, cfg, family, set, stats| {
            // A read-only lookup first: the restoring transaction, refused while the set
            // exists, would hold up the elements queued behind it for milliseconds.
            if sock.set_exists(family, &cfg.table_name, &set.spec.name)?
                || !sock.restore_set_if_missing(family, &cfg.table_name, &set.spec)?
            {
                return Ok(());
            }
            stats.recreated += 1;
            let now = Instant::now();
            set.live.retain(|_, e| e.is_none_or(|e| e > now));
            tracing::warn!(
                target_name = cfg.name,
                "set {family} {} {} was deleted; created it again and re-adding {} live element(s)",
                cfg.table_name,
                set.spec.name,
                set.live.len()
            );
            let keys: Vec<SetKey> = set.live.keys().copied().collect();
            let dest = SetRef { family, table: &cfg.table_name, set: &set.spec.name };
            let report = sock.add_elements(dest, &keys, set.spec.timeout_ms)?;
            stats.accepted += report.accepted as u64;
            stats.batches += report.batches as u64;
            Ok(())
        })
    }

    fn hand_over(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        let (_, sets) = self.sets.as_mut().ok()?;
        let known: Vec<(String, HashMap<SetKey, Option<Instant>>)> =
            sets.iter_mut().map(|s| (s.spec.name.clone(), std::mem::take(&mut s.live))).collect();
        Some(Box::new(known))
    }

    fn take_over(&mut self, known: Box<dyn std::any::Any + Send>) {
        let Ok(known) = known.downcast::<Vec<(String, HashMap<SetKey, Option<Instant>>)>>() else { return };
        let Ok((_, sets)) = &mut self.sets else { return };
        let size = self.cfg.size as usize;
        for (name, live) in *known {
            if let Some(set) = sets.iter_mut().find(|s| s.spec.name == name) {
                for (key, expiry) in live {
                    if set.live.len() >= size {
                        break;
                    }
                    set.live.entry(key).or_insert(expiry);
                }
            }
        }
    }

    /// The target left the configuration: managed sets are deleted (the table stays: it may
    /// hold the administrator's rules); unmanaged ones get the usual shutdown.
    fn remove(&mut self) -> Result<(), TargetError> {
        if !self.cfg.managed {
            return self.shutdown();
        }
        if let Ok((_, sets)) = &mut self.sets {
            clear_pending(sets);
        }
        self.for_each_set(|sock, cfg, family, set, _| {
            let dest = SetRef { family, table: &cfg.table_name, set: &set.spec.name };
            if !owned(sock, cfg, dest)? {
                return Ok(());
            }
            match sock.delete_set(dest) {
                // Gone already, or still referenced by a rule (EBUSY): then flush it instead.
                Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
                Err(e) if e.errno() == Some(libc::EBUSY) => match sock.flush_set(dest) {
                    Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
                    other => other,
                },
                other => other,
            }
        })
    }

    /// With `flush_on_destroy` the sets are emptied (queued elements are dropped); otherwise
    /// queued elements are sent. A set that is already gone is not an error.
    fn shutdown(&mut self) -> Result<(), TargetError> {
        if !self.cfg.flush_on_destroy {
            return self.flush();
        }
        if let Ok((_, sets)) = &mut self.sets {
            clear_pending(sets);
        }
        self.for_each_set(|sock, cfg, family, set, _| {
            let dest = SetRef { family, table: &cfg.table_name, set: &set.spec.name };
            if cfg.managed && !owned(sock, cfg, dest)? {
                return Ok(());
            }
            match sock.flush_set(dest) {
                Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
                other => other,
            }
        })
    }
}

/// Whether flowsieve created this set (its user data carries the mark), so may flush or delete
/// it; a set someone else made under that name is left as it is (and said so).
fn owned(sock: &mut NftSocket, cfg: &NftSetConfig, dest: SetRef<'_>) -> Result<bool, crate::netlink::NetlinkError> {
    match sock.set_owner(dest.family, dest.table, dest.set)? {
        Some(true) => Ok(true),
        Some(false) => {
            tracing::info!(
                target_name = cfg.name,
                "set {} {} {} was not created by flowsieve: left as it is",
                dest.family,
                dest.table,
                dest.set
            );
            Ok(false)
        }
        None => Ok(false),
    }
}

impl TargetKind for NftSetConfig {
    const TYPE: &'static str = "nftset";
    const KEYS: &'static [&'static [&'static str]] = &[SET_KEYS, &["table_name", "table_family"]];
    type Globals = ();

    fn parse(props: &mut Props<'_, '_>, _: &()) -> Option<NftSetConfig> {
        let set_name = set_name(props)?;
        let table_name = props.string("table_name", "nfa");
        let table_family = props.string("table_family", "inet");
        if !["inet", "ip", "ip6", "bridge", "netdev"].contains(&table_family.as_str()) {
            let p = props.path_of("table_family");
            props.error(&p, format!("unknown table family '{table_family}' (expected inet, ip, ip6, bridge or netdev)"));
        }
        let set_family = set_family(props);
        let mut key = Vec::new();
        match props.get("type") {
            None => {
                props.target_error("missing key 'type' (the element layout, e.g. [\"local_addr\", \"ip_proto\", \"other_port\", \"other_addr\"])");
                return None;
            }
            Some((Value::Array(items), p)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().and_then(KeyPart::from_netify_name) {
                        Some(part) => key.push(part),
                        None => props.error(&format!("{p}[{i}]"), format!("unknown set key field {item} (expected local_addr, other_addr, local_port, other_port, ip_proto, local_mac, other_mac, mark or interface)")),
                    }
                }
            }
            Some((other, p)) => {
                props.error(&p, format!("expected a non-empty array of key fields, found {}", kind(other)))
            }
        }
        if !key.is_empty() {
            // The kernel stores a concatenated key in 32-bit registers, at most 64 bytes.
            let address = if set_family.has(6) { 16 } else { 4 };
            let bytes: usize = key
                .iter()
                .map(|part| match part {
                    KeyPart::LocalAddr | KeyPart::OtherAddr => address,
                    KeyPart::LocalPort | KeyPart::OtherPort | KeyPart::IpProto => 4,
                    KeyPart::LocalMac | KeyPart::OtherMac => 8,
                    KeyPart::Mark => 4,
                    // nft's ifname type is IFNAMSIZ (16) bytes.
                    KeyPart::Interface => 16,
                })
                .sum();
            if bytes > 64 {
                let p = props.path_of("type");
                props.error(
                    &p,
                    format!("{} key fields make a {bytes}-byte key; the kernel takes at most 64 bytes", key.len()),
                );
            }
        }
        check_kernel_name(props, "table_name", &table_name, NFT_NAME_MAX);
        let longest = format!("{set_name}.v4");
        check_kernel_name(props, "set_name", &longest, NFT_NAME_MAX);
        let size = set_size(props);
        let ttl = set_ttl(props);
        let managed = props.flag("managed", false);
        let flush_on_create = props.flag("flush_on_create", false);
        let flush_on_destroy = props.flag("flush_on_destroy", false);
        Some(NftSetConfig {
            name: props.name().to_string(),
            set_name,
            table_name,
            table_family,
            set_family,
            key,
            size,
            ttl,
            managed,
            flush_on_create,
            flush_on_destroy,
        })
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self) -> Box<dyn Target> {
        Box::new(NftSetTarget::new(self.clone()))
    }

    fn kernel_sets(&self) -> Vec<(String, String)> {
        [4, 6]
            .into_iter()
            .filter(|&v| self.set_family.has(v))
            .map(|v| {
                let set = format!("nft {} {} {}.v{v}", self.table_family, self.table_name, self.set_name);
                (set, format!("{:?}", self.key))
            })
            .collect()
    }

    fn skip_flush_on_create(&mut self) {
        self.flush_on_create = false;
    }
}

/// The keys nftset and ipset targets share.
pub(super) const SET_KEYS: &[&str] = &[
    "set_name",
    "set_family",
    "type",
    "size",
    "max_elements",
    "ttl",
    "managed",
    "flush_on_create",
    "flush_on_destroy",
];

/// A `set_name` that must be present and non-empty (nftset and ipset).
pub(super) fn set_name(props: &mut Props<'_, '_>) -> Option<String> {
    match props.get("set_name") {
        Some((Value::String(s), _)) if !s.is_empty() => Some(s.clone()),
        Some((other, p)) => {
            props.error(&p, format!("expected a non-empty string, found {}", kind(other)));
            None
        }
        None => {
            props.target_error("missing key 'set_name'");
            None
        }
    }
}

/// Longest nftables table or set name the kernel takes (`NFT_NAME_MAXLEN` less its NUL).
pub(super) const NFT_NAME_MAX: usize = 255;

/// Longest element timeout, in seconds, both nftables and ipset take (ipset's limit, the lower).
pub(super) const TTL_MAX: u64 = 2_147_483;

/// Report a kernel object name (`value`, from `key`) that is empty, longer than `max` bytes or
/// holds control characters.
pub(super) fn check_kernel_name(props: &mut Props<'_, '_>, key: &str, value: &str, max: usize) {
    let p = props.path_of(key);
    if value.is_empty() {
        props.error(&p, "must not be empty");
    } else if value.len() > max {
        props.error(&p, format!("the kernel takes names of at most {max} bytes; this one is {}", value.len()));
    } else if value.chars().any(char::is_control) {
        props.error(&p, format!("control characters are not allowed in names: {value:?}"));
    }
}

/// `ttl` in seconds (nftset and ipset): 0 (no timeout) to [`TTL_MAX`].
pub(super) fn set_ttl(props: &mut Props<'_, '_>) -> u32 {
    let ttl = props.number("ttl", 0);
    if ttl > TTL_MAX {
        let p = props.path_of("ttl");
        props.error(&p, format!("ttl is at most {TTL_MAX} seconds (about 24 days), found {ttl}"));
    }
    u32::try_from(ttl.min(TTL_MAX)).unwrap_or(0)
}

/// A set's capacity (nftset and ipset). Netify documents `max_elements`; its own example and
/// NethSecurity use `size`, which wins when both are given. Default 65536.
pub(super) fn set_size(props: &mut Props<'_, '_>) -> u32 {
    let size = if props.get("size").is_some() {
        props.number("size", 65536)
    } else {
        props.number("max_elements", 65536)
    };
    if size == 0 || size > u64::from(u32::MAX) {
        let key = if props.get("size").is_some() { "size" } else { "max_elements" };
        let p = props.path_of(key);
        props.error(&p, format!("a set holds 1 to {} elements, found {size}", u32::MAX));
    }
    u32::try_from(size).unwrap_or(u32::MAX)
}

/// `set_family` (nftset and ipset); default `"*"`.
pub(super) fn set_family(props: &mut Props<'_, '_>) -> SetFamily {
    let name = props.string("set_family", "*");
    SetFamily::from_netify_name(&name).unwrap_or_else(|| {
        let p = props.path_of("set_family");
        props.error(&p, format!("unknown set family '{name}' (expected \"*\", \"ipv4\" or \"ipv6\")"));
        SetFamily::Both
    })
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;

    const WEAK_TLS_KEY: [KeyPart; 4] = [KeyPart::LocalAddr, KeyPart::IpProto, KeyPart::OtherPort, KeyPart::OtherAddr];

    fn weakssl() -> NftSetConfig {
        let mut cfg = NftSetConfig::new("nftset.weakssl", "weakssl", WEAK_TLS_KEY.to_vec());
        cfg.table_name = "netify".into();
        cfg.ttl = 120;
        cfg.managed = true;
        cfg
    }

    fn event(flow: FlowFacts) -> MatchEvent {
        MatchEvent { action: Arc::from("weakssl"), flow: Arc::new(flow), at: SystemTime::UNIX_EPOCH, times: Default::default() }
    }

    fn v4_flow() -> FlowFacts {
        FlowFacts {
            ip_version: 4,
            ip_protocol: 6,
            local_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)),
            local_port: 51000,
            other_ip: IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2)),
            other_port: 1010,
            local_mac: [0x02, 0, 0, 0, 0, 0x0a],
            other_mac: [0xde, 0xad, 0xbe, 0xef, 0, 1],
            ..FlowFacts::default()
        }
    }

    fn v6_flow() -> FlowFacts {
        FlowFacts {
            ip_version: 6,
            ip_protocol: 17,
            local_ip: IpAddr::V6("fd00::10".parse::<Ipv6Addr>().unwrap()),
            local_port: 40000,
            other_ip: IpAddr::V6("2001:db8::2".parse::<Ipv6Addr>().unwrap()),
            other_port: 443,
            ..FlowFacts::default()
        }
    }

    #[test]
    fn netify_names_parse() {
        let names = [
            "local_addr",
            "other_addr",
            "local_port",
            "other_port",
            "ip_proto",
            "local_mac",
            "other_mac",
            "mark",
            "interface",
        ];
        for name in names {
            assert_eq!(KeyPart::from_netify_name(name).unwrap().netify_name(), name);
        }
        assert_eq!(KeyPart::from_netify_name("fwmark"), None);
        assert_eq!(SetFamily::from_netify_name("*"), Some(SetFamily::Both));
        assert_eq!(SetFamily::from_netify_name("ipv4"), Some(SetFamily::V4));
        assert_eq!(SetFamily::from_netify_name("ipv6"), Some(SetFamily::V6));
        assert_eq!(SetFamily::from_netify_name("both"), None);
    }

    #[test]
    fn describe_uses_nft_element_syntax() {
        let target = NftSetTarget::new(weakssl());
        let mut ops = Vec::new();
        target.describe(&event(v4_flow()), &mut ops);
        target.describe(&event(v6_flow()), &mut ops);
        assert_eq!(
            ops,
            vec![
                "nftset inet netify weakssl.v4 add 192.168.1.10 . 6 . 1010 . 10.99.0.2 timeout 120s",
                "nftset inet netify weakssl.v6 add fd00::10 . 17 . 443 . 2001:db8::2 timeout 120s",
            ]
        );
    }

    #[test]
    fn describe_without_ttl_and_with_macs_and_ports() {
        let mut cfg = NftSetConfig::new("nftset.macs", "macs", vec![KeyPart::OtherMac, KeyPart::LocalPort]);
        cfg.set_family = SetFamily::V4;
        let target = NftSetTarget::new(cfg);
        let mut ops = Vec::new();
        target.describe(&event(v4_flow()), &mut ops);
        target.describe(&event(v6_flow()), &mut ops); // no v6 set: nothing
        assert_eq!(ops, vec!["nftset inet nfa macs.v4 add de:ad:be:ef:00:01 . 51000"]);
    }

    #[test]
    fn apply_queues_packed_keys_per_family_without_duplicates() {
        let mut target = NftSetTarget::new(weakssl());
        // Queue only: stays under the auto-flush threshold, so no socket is opened.
        target.queue(&event(v4_flow())).unwrap();
        target.queue(&event(v4_flow())).unwrap();
        target.queue(&event(v6_flow())).unwrap();
        assert_eq!(target.pending(), 2);
        let (_, sets) = target.sets.as_ref().unwrap();
        assert_eq!(sets[0].pending[0].as_bytes(), [192, 168, 1, 10, 6, 0, 0, 0, 0x03, 0xf2, 0, 0, 10, 99, 0, 2]);
        assert_eq!(sets[1].pending[0].as_bytes().len(), 40);
        assert_eq!(sets[1].spec.key.type_id(), (((8 << 6 | 12) << 6 | 13) << 6) | 8);
        assert_eq!(target.set_name(4), Some("weakssl.v4"));
        assert_eq!(target.set_name(6), Some("weakssl.v6"));
    }

    #[test]
    fn mismatched_address_family_is_an_error() {
        let mut target = NftSetTarget::new(weakssl());
        let mut flow = v4_flow();
        flow.ip_version = 6;
        assert!(target.queue(&event(flow)).is_err());
        assert_eq!(target.pending(), 0);
    }

    #[test]
    fn bad_configuration_is_reported_not_panicked() {
        let mut cfg = weakssl();
        cfg.table_family = "arp6".into();
        let mut target = NftSetTarget::new(cfg);
        assert!(target.setup().is_err());
        assert!(target.apply(&event(v4_flow())).is_err());
        let mut cfg = weakssl();
        cfg.key = vec![KeyPart::LocalPort; 6];
        assert!(NftSetTarget::new(cfg).setup().is_err());
    }
}
