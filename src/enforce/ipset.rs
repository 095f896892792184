//! ipset target (`"target_type": "ipset"`): one member per matching flow in `<set_name>.v4` or
//! `<set_name>.v6`, for iptables rules (`-m set --match-set`, `SET --map-set`).
//!
//! Member layout per set type (docs/FLOW-ACTIONS.md §2.2, Netify's published member
//! `101.100.139.138,udp:51413,192.168.55.140`): `hash:ip` = other address, `hash:ip,port` =
//! other address, protocol and other port, `hash:ip,port,ip` = the same plus the local address,
//! `hash:mac` = other MAC; `address_type` `"src"` or `"dst"` makes a member describe the side
//! that opened the flow or the one that answered instead (its address, port and MAC, with the
//! opposite side as the second address of `hash:ip,port,ip`). Members are queued by [`Target::apply`] and sent at
//! [`Target::flush`], many per datagram; re-adding a member restarts its timeout. A reload that
//! removes a managed target destroys its sets; `flush_on_destroy` empties them at shutdown. A
//! managed target flushes and destroys only sets flowsieve created ([`owner`]); a set of that
//! name someone else made is used when it has the right type (and never flushed or destroyed),
//! and is an error at setup, left as it is, when it has another. The socket opens on first use,
//! so a dry-run replay needs no privileges.

mod owner;

use hashbrown::HashSet;
use serde_json::Value;

use super::{MatchEvent, Target, TargetError};
use crate::facts::FlowFacts;
use crate::netlink::ipset::{
    family_name, IpsetEntry, IpsetFamily, IpsetHeader, IpsetSocket, IpsetSpec, IpsetType, SkbInfo, IPSET_ERR_BUSY,
    IPSET_ERR_HASH_FULL, IPSET_MAXNAMELEN,
};
use crate::netlink::NetlinkError;
use super::kind::{kind, Props, TargetKind};
use super::nftset::{set_family, set_name, set_size, SetFamily, SET_KEYS};

/// An `ipset` target's configuration, defaults merged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpsetConfig {
    /// Target name (`ipset.social-media`).
    pub name: String,
    /// Set name without the family suffix.
    pub set_name: String,
    pub set_family: SetFamily,
    /// `type`; default `hash:ip`.
    pub set_type: IpsetType,
    /// `max_elements` (or `size`); default 65536.
    pub max_elements: u32,
    /// Member timeout in seconds; 0 = members stay.
    pub ttl: u32,
    pub managed: bool,
    pub flush_on_create: bool,
    pub flush_on_destroy: bool,
    /// `skb_mark`/`skb_mask`, `skb_prio`, `skb_queue`: stored with each member; a managed set is
    /// then created with `skbinfo`.
    pub skb: SkbInfo,
    /// `address_type`: which side of the flow a member describes.
    pub side: MemberSide,
}

/// Which side of a flow a member describes (its address, port and MAC; `hash:ip,port,ip` adds
/// the opposite side's address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberSide {
    /// No `address_type`: the other side (the remote server of a LAN client).
    #[default]
    Other,
    /// `"src"`: the side that opened the flow.
    Src,
    /// `"dst"`: the side that answered.
    Dst,
}

impl IpsetConfig {
    /// Netify's defaults for everything but the names.
    pub fn new(name: &str, set_name: &str) -> IpsetConfig {
        IpsetConfig {
            name: name.to_string(),
            set_name: set_name.to_string(),
            set_family: SetFamily::Both,
            set_type: IpsetType::HashIp,
            max_elements: 65536,
            ttl: 0,
            managed: false,
            flush_on_create: false,
            flush_on_destroy: false,
            skb: SkbInfo::default(),
            side: MemberSide::Other,
        }
    }

    /// The kernel set for flows of this IP version, if the target has one.
    pub fn kernel_set_name(&self, ip_version: u8) -> Option<String> {
        let has =
            matches!((self.set_family, ip_version), (SetFamily::Both, 4 | 6) | (SetFamily::V4, 4) | (SetFamily::V6, 6));
        has.then(|| format!("{}.v{ip_version}", self.set_name))
    }
}

/// The member a flow contributes to a set of `set_type`, describing the other side.
pub fn member_of(set_type: IpsetType, flow: &FlowFacts) -> IpsetEntry {
    member_of_side(set_type, MemberSide::Other, flow)
}

/// The member a flow contributes to a set of `set_type`, describing `side`.
pub fn member_of_side(set_type: IpsetType, side: MemberSide, flow: &FlowFacts) -> IpsetEntry {
    let this_is_other = match side {
        MemberSide::Other => true,
        MemberSide::Src => !flow.local_origin,
        MemberSide::Dst => flow.local_origin,
    };
    let ((ip, port, mac), opposite) = if this_is_other {
        ((flow.other_ip, flow.other_port, flow.other_mac), flow.local_ip)
    } else {
        ((flow.local_ip, flow.local_port, flow.local_mac), flow.other_ip)
    };
    // ipset keeps an ICMP "port" as type << 8 | code (what `icmp:8/0` means); the first
    // packet's type and code are the ones a rule will see again.
    let port = match (flow.ip_protocol, flow.icmp) {
        (1 | 58, Some(icmp)) => (u16::from(icmp.icmp_type) << 8) | u16::from(icmp.code),
        _ => port,
    };
    match set_type {
        IpsetType::HashIp => IpsetEntry::Ip(ip),
        IpsetType::HashIpPort => IpsetEntry::IpPort { ip, proto: flow.ip_protocol, port },
        IpsetType::HashIpPortIp => IpsetEntry::IpPortIp { ip, proto: flow.ip_protocol, port, ip2: opposite },
        IpsetType::HashMac => IpsetEntry::Mac(mac),
    }
}

/// Running totals of a target's kernel work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpsetStats {
    /// Members added or refreshed.
    pub added: u64,
    /// Members the kernel refused (set missing, full, wrong type…).
    pub failed: u64,
    /// Times a managed set that had disappeared was created again.
    pub recreated: u64,
    /// Times the netlink socket failed and was opened again.
    pub reconnected: u64,
}

/// The socket itself failed (not the kernel refusing a member): open a new one.
fn socket_lost(e: &NetlinkError) -> bool {
    matches!(e, NetlinkError::Io(_) | NetlinkError::NoReply { .. })
}

#[derive(Debug)]
struct FamilySet {
    ip_version: u8,
    spec: IpsetSpec,
    pending: Vec<IpsetEntry>,
    queued: HashSet<IpsetEntry>,
}

/// The `ipset` target.
#[derive(Debug)]
pub struct IpsetTarget {
    cfg: IpsetConfig,
    /// One set per family, or why the configuration cannot work.
    sets: Result<Vec<FamilySet>, String>,
    sock: Option<IpsetSocket>,
    stats: IpsetStats,
}

impl IpsetTarget {
    /// Builds the target; never touches the kernel.
    pub fn new(cfg: IpsetConfig) -> IpsetTarget {
        let sets = Self::plan(&cfg);
        IpsetTarget { cfg, sets, sock: None, stats: IpsetStats::default() }
    }

    fn plan(cfg: &IpsetConfig) -> Result<Vec<FamilySet>, String> {
        let mut sets = Vec::new();
        for (ip_version, family) in [(4u8, IpsetFamily::Inet), (6, IpsetFamily::Inet6)] {
            let Some(name) = cfg.kernel_set_name(ip_version) else { continue };
            if name.len() >= IPSET_MAXNAMELEN {
                return Err(format!("ipset name '{name}' is longer than {} bytes", IPSET_MAXNAMELEN - 1));
            }
            sets.push(FamilySet {
                ip_version,
                spec: IpsetSpec {
                    name,
                    set_type: cfg.set_type,
                    family,
                    max_elements: cfg.max_elements,
                    timeout: cfg.ttl,
                    skbinfo: !cfg.skb.is_empty(),
                },
                pending: Vec::new(),
                queued: HashSet::new(),
            });
        }
        Ok(sets)
    }

    pub fn config(&self) -> &IpsetConfig {
        &self.cfg
    }

    pub fn stats(&self) -> IpsetStats {
        self.stats
    }

    /// Members queued and not yet sent.
    pub fn pending(&self) -> usize {
        self.sets.as_ref().map_or(0, |sets| sets.iter().map(|s| s.pending.len()).sum())
    }

    fn queue(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        let sets = self.sets.as_mut().map_err(|why| TargetError::Other(format!("{}: {why}", self.cfg.name)))?;
        let flow = &event.flow;
        let Some(set) = sets.iter_mut().find(|s| s.ip_version == flow.ip_version) else {
            return Ok(());
        };
        let entry = member_of_side(self.cfg.set_type, self.cfg.side, flow);
        if set.queued.insert(entry) {
            set.pending.push(entry);
        }
        Ok(())
    }

    fn socket(sock: &mut Option<IpsetSocket>) -> Result<&mut IpsetSocket, NetlinkError> {
        match sock {
            Some(s) => Ok(s),
            None => Ok(sock.insert(IpsetSocket::open()?)),
        }
    }

    /// Shutdown and removal: drop queued members, then run `op` on every set's name over one
    /// socket, going on past failures; the first failure is the result.
    fn drop_queued_then_each_set(
        &mut self,
        mut op: impl FnMut(&mut IpsetSocket, &str) -> Result<(), NetlinkError>,
    ) -> Result<(), TargetError> {
        let Ok(sets) = self.sets.as_mut() else { return Ok(()) };
        for set in sets.iter_mut() {
            set.pending.clear();
            set.queued.clear();
        }
        let sock = Self::socket(&mut self.sock)?;
        let mut first_error = None;
        for set in sets.iter() {
            if let Err(e) = op(sock, &set.spec.name) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), |e| Err(e.into()))
    }
}

impl Target for IpsetTarget {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    /// With `managed`: create the sets (emptied when `flush_on_create`). Unmanaged sets belong to
    /// the administrator and are left alone. A set of that name that flowsieve did not create
    /// is used as it is when it has the configured type and family (members are added, it is
    /// never emptied nor destroyed) and is an error, left untouched, when it has another.
    fn setup(&mut self) -> Result<(), TargetError> {
        let sets = self.sets.as_ref().map_err(|why| TargetError::Other(format!("{}: {why}", self.cfg.name)))?;
        let sock = Self::socket(&mut self.sock)?;
        if !self.cfg.managed {
            return Ok(());
        }
        // Every set is looked at before any is changed: a user's set of another type under
        // the v6 name leaves the v4 set untouched too.
        let mut found = Vec::new();
        for set in sets {
            let header = sock.header(&set.spec.name)?;
            let ours = header.as_ref().is_some_and(|h| owned(&self.cfg.name, &set.spec.name, h));
            if let Some(h) = header.as_ref().filter(|h| !ours && !h.fits(&set.spec)) {
                return Err(TargetError::Other(format!(
                    "ipset {} exists as {} family {}, not created by flowsieve: left as it is (flowsieve needs {} family {}; \
                     destroy or rename that set, or choose another set_name)",
                    set.spec.name,
                    h.type_name,
                    family_name(h.family),
                    set.spec.set_type,
                    family_name(nfproto_of(&set.spec)),
                )));
            }
            found.push((header, ours));
        }
        for (set, (header, ours)) in sets.iter().zip(found) {
            let name = &set.spec.name;
            match header {
                None => create_owned(sock, &self.cfg.name, &set.spec)?,
                Some(h) if !ours => tracing::warn!(
                    target_name = self.cfg.name,
                    "ipset {name} ({}) was not created by flowsieve: members are added to it, but it is never \
                     flushed or destroyed",
                    h.type_name
                ),
                // Ours from an earlier run with another type: made again.
                Some(h) if !h.fits(&set.spec) => {
                    tracing::warn!(target_name = self.cfg.name, "ipset {name} is {}: creating it again as {}", h.type_name, set.spec.set_type);
                    sock.destroy(name)?;
                    create_owned(sock, &self.cfg.name, &set.spec)?;
                }
                Some(h) => {
                    // Same type, other parameters: after a reload that changed ttl or
                    // max_elements the live set is taken over as it is (members carry their
                    // own timeout).
                    let timeout = h.timeout.unwrap_or(0);
                    if timeout != set.spec.timeout || h.max_elements.is_some_and(|m| m != set.spec.max_elements) {
                        tracing::warn!(
                            target_name = self.cfg.name,
                            "ipset {name} exists with timeout {timeout} and maxelem {}; using it as it is (destroy it to have it created as configured)",
                            h.max_elements.unwrap_or(0)
                        );
                    }
                    if self.cfg.flush_on_create {
                        sock.flush(name)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `ipset add social-media.v4 1.2.3.4,tcp:443 timeout 900`
    fn describe(&self, event: &MatchEvent, ops: &mut Vec<String>) {
        let flow = &event.flow;
        let Some(set) = self.cfg.kernel_set_name(flow.ip_version) else { return };
        let mut line = format!("ipset add {set} {}", member_of_side(self.cfg.set_type, self.cfg.side, flow));
        if self.cfg.ttl > 0 {
            line.push_str(&format!(" timeout {}", self.cfg.ttl));
        }
        line.push_str(&self.cfg.skb.to_string());
        ops.push(line);
    }

    fn apply(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        self.queue(event)
    }

    /// Re-adding a member restarts its timeout.
    fn refresh(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        self.queue(event)
    }

    /// Sends every queued member; all are tried, the first failure is returned.
    fn flush(&mut self) -> Result<(), TargetError> {
        if self.pending() == 0 {
            return Ok(());
        }
        let Ok(sets) = self.sets.as_mut() else { return Ok(()) };
        let timeout = (self.cfg.ttl > 0).then_some(self.cfg.ttl);
        let mut first_error = None;
        for set in sets.iter_mut() {
            set.queued.clear();
            let entries = std::mem::take(&mut set.pending);
            if entries.is_empty() {
                continue;
            }
            let name = &set.spec.name;
            // A socket that failed (closed, no answer) is replaced and the members sent again
            // once: re-adding a member that made it the first time is harmless.
            let mut retried = false;
            let outcome = loop {
                let result =
                    Self::socket(&mut self.sock).and_then(|sock| sock.add_many(name, &entries, timeout, &self.cfg.skb));
                match result {
                    Err(e) if socket_lost(&e) => {
                        self.sock = None;
                        if retried {
                            break Err(e);
                        }
                        tracing::warn!(target_name = self.cfg.name, "ipset netlink socket failed ({e}); reconnecting");
                        self.stats.reconnected += 1;
                        retried = true;
                    }
                    other => break other,
                }
            };
            let mut report = match outcome {
                Ok(r) => r,
                Err(e) => {
                    self.stats.failed += entries.len() as u64;
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            // A managed set someone destroyed (ENOENT) is created again, once per flush.
            let gone = |e: &NetlinkError| e.errno() == Some(libc::ENOENT);
            if self.cfg.managed && report.refused.iter().any(|(_, e)| gone(e)) {
                tracing::warn!(target_name = self.cfg.name, "ipset {name} is gone; creating it again");
                let (missing, other): (Vec<_>, Vec<_>) = report.refused.into_iter().partition(|(_, e)| gone(e));
                report.refused = other;
                let missing: Vec<IpsetEntry> = missing.into_iter().map(|(m, _)| m).collect();
                let target_name = &self.cfg.name;
                let again = Self::socket(&mut self.sock).and_then(|sock| {
                    create_owned(sock, target_name, &set.spec)?;
                    sock.add_many(name, &missing, timeout, &self.cfg.skb)
                });
                match again {
                    Ok(again) => {
                        self.stats.recreated += 1;
                        report.added += again.added;
                        report.refused.extend(again.refused);
                    }
                    Err(e) => {
                        self.stats.failed += missing.len() as u64;
                        first_error.get_or_insert(e);
                    }
                }
            }
            self.stats.added += report.added as u64;
            self.stats.failed += report.refused.len() as u64;
            // A full set is one error naming the set, however many members it refused.
            let full = report.refused.iter().filter(|(_, e)| e.errno() == Some(IPSET_ERR_HASH_FULL)).count();
            if full > 0 {
                first_error.get_or_insert(NetlinkError::SetFull {
                    set: format!("ipset {name}"),
                    refused: full,
                    accepted: report.added,
                });
            } else if let Some((_, e)) = report.refused.into_iter().next() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), |e| Err(e.into()))
    }

    /// With `flush_on_destroy` the sets are emptied (queued members dropped); otherwise queued
    /// members are sent. A managed target empties only sets flowsieve created; an unmanaged
    /// one empties the administrator's sets it was told to. A set that is already gone is not
    /// an error.
    fn shutdown(&mut self) -> Result<(), TargetError> {
        if !self.cfg.flush_on_destroy {
            return self.flush();
        }
        let (target_name, managed) = (self.cfg.name.clone(), self.cfg.managed);
        self.drop_queued_then_each_set(|sock, set| {
            if managed && !owned_now(sock, &target_name, set)? {
                return Ok(());
            }
            match sock.flush(set) {
                Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
                other => other,
            }
        })
    }

    /// Removed from the configuration by a reload: a managed target destroys the sets
    /// flowsieve created (queued members dropped); a set a firewall rule still uses cannot be
    /// destroyed, so it is emptied and the error says why. Sets flowsieve did not create are
    /// left as they are. An unmanaged target only does what shutdown does.
    fn remove(&mut self) -> Result<(), TargetError> {
        if !self.cfg.managed {
            return self.shutdown();
        }
        let target_name = self.cfg.name.clone();
        self.drop_queued_then_each_set(|sock, set| {
            if !owned_now(sock, &target_name, set)? {
                return Ok(());
            }
            match sock.destroy(set) {
                Ok(()) => {
                    tracing::info!(target_name, "destroyed ipset {set}");
                    if let Err(e) = owner::forget(set) {
                        tracing::warn!(target_name, "ipset {set}: removing flowsieve's ownership record: {e}");
                    }
                    Ok(())
                }
                Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
                Err(e) if e.errno() == Some(IPSET_ERR_BUSY) => {
                    let flushed = sock.flush(set);
                    Err(NetlinkError::Kernel {
                        errno: IPSET_ERR_BUSY,
                        context: format!(
                            "{e}; emptied it instead{}",
                            flushed.err().map(|f| format!(" (that failed too: {f})")).unwrap_or_default()
                        ),
                    })
                }
                Err(e) => Err(e),
            }
        })
    }

    fn details(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("added", self.stats.added),
            ("failed", self.stats.failed),
            ("recreated", self.stats.recreated),
            ("reconnected", self.stats.reconnected),
        ]
    }
}

fn nfproto_of(spec: &IpsetSpec) -> u8 {
    IpsetHeader::nfproto(spec.set_type, spec.family)
}

/// Whether flowsieve created the live set with this header. An unreadable record counts as
/// "not ours" (a set is then never flushed or destroyed), and is said.
fn owned(target_name: &str, set: &str, header: &IpsetHeader) -> bool {
    owner::owns(set, header).unwrap_or_else(|e| {
        tracing::warn!(target_name, "ipset {set}: reading flowsieve's ownership record: {e}; treating the set as not flowsieve's");
        false
    })
}

/// Whether the set exists and flowsieve created it; one that is someone else's is said.
fn owned_now(sock: &mut IpsetSocket, target_name: &str, set: &str) -> Result<bool, NetlinkError> {
    let Some(header) = sock.header(set)? else { return Ok(false) };
    let ours = owned(target_name, set, &header);
    if !ours {
        tracing::info!(target_name, "ipset {set} was not created by flowsieve: left as it is");
    }
    Ok(ours)
}

/// Creates the set and records it as flowsieve's (with the hash seed the kernel drew).
fn create_owned(sock: &mut IpsetSocket, target_name: &str, spec: &IpsetSpec) -> Result<(), NetlinkError> {
    sock.create(spec)?;
    let recorded = match sock.header(&spec.name)? {
        Some(header) => owner::record(&spec.name, &header),
        None => return Ok(()), // destroyed again at once: nothing to record
    };
    if let Err(e) = recorded {
        tracing::warn!(
            target_name,
            "ipset {}: cannot record that flowsieve created it ({e}); it will not be flushed or destroyed",
            spec.name
        );
    }
    Ok(())
}

impl TargetKind for IpsetConfig {
    const TYPE: &'static str = "ipset";
    const KEYS: &'static [&'static [&'static str]] =
        &[SET_KEYS, &["skb_mark", "skb_mask", "skb_prio", "skb_queue", "address_type"]];
    type Globals = ();

    fn parse(props: &mut Props<'_, '_>, _: &()) -> Option<IpsetConfig> {
        let set_name = set_name(props)?;
        let mut cfg = IpsetConfig::new(props.name(), &set_name);
        cfg.set_family = set_family(props);
        let set_type = props.string("type", "hash:ip");
        match IpsetType::from_name(&set_type) {
            Some(t) => cfg.set_type = t,
            None => {
                let p = props.path_of("type");
                props.error(
                    &p,
                    format!(
                        "unsupported ipset type '{set_type}' (expected hash:ip, hash:ip,port, hash:ip,port,ip or hash:mac)"
                    ),
                )
            }
        }
        let longest = format!("{set_name}.v4");
        if longest.len() > 31 {
            let p = props.path_of("set_name");
            props.error(&p, format!("ipset names are at most 31 bytes: '{longest}' is {}", longest.len()));
        } else {
            super::nftset::check_kernel_name(props, "set_name", &longest, 31);
        }
        cfg.max_elements = set_size(props);
        match props.get("address_type") {
            None => {}
            Some((Value::String(s), p)) => match s.as_str() {
                "src" => cfg.side = MemberSide::Src,
                "dst" => cfg.side = MemberSide::Dst,
                other => props.error(&p, format!("unknown address_type '{other}' (expected \"src\" or \"dst\")")),
            },
            Some((other, p)) => props.error(&p, format!("expected \"src\" or \"dst\", found {}", kind(other))),
        }
        cfg.ttl = super::nftset::set_ttl(props);
        cfg.managed = props.flag("managed", false);
        cfg.flush_on_create = props.flag("flush_on_create", false);
        cfg.flush_on_destroy = props.flag("flush_on_destroy", false);
        let mark = props.u32_value("skb_mark");
        let mask = props.u32_value("skb_mask");
        // A mask in target_defaults is shared by targets without marks: only the target's own
        // stray mask is worth a word.
        let mask_path = props.path_of("skb_mask");
        if mask.is_some() && props.get("skb_mark").is_none() && !mask_path.starts_with("$.target_defaults") {
            props.warn(&mask_path, "skb_mask without skb_mark has no effect");
        }
        let prio = match props.get("skb_prio") {
            None => None,
            Some((Value::String(s), p)) => {
                let parsed = parse_tc_class(s);
                if parsed.is_none() {
                    props.error(&p, format!("expected a tc class \"MAJOR:MINOR\" in hex (e.g. \"1:10\"), found '{s}'"));
                }
                parsed
            }
            Some((other, p)) => {
                props.error(&p, format!("expected a string \"MAJOR:MINOR\", found {}", kind(other)));
                None
            }
        };
        let queue = match props.get("skb_queue") {
            None => None,
            Some((Value::Number(n), p)) => {
                let q = n.as_u64().and_then(|q| u16::try_from(q).ok());
                if q.is_none() {
                    props.error(&p, format!("expected a queue number from 0 to 65535, found {n}"));
                }
                q
            }
            Some((other, p)) => {
                props.error(&p, format!("expected a number, found {}", kind(other)));
                None
            }
        };
        // Netify: skb_mask defaults to 0xffffffff when a mark is set.
        cfg.skb = SkbInfo { mark: mark.map(|m| (m, mask.unwrap_or(u32::MAX))), prio, queue };
        Some(cfg)
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self) -> Box<dyn Target> {
        Box::new(IpsetTarget::new(self.clone()))
    }

    fn kernel_sets(&self) -> Vec<(String, String)> {
        [4, 6]
            .into_iter()
            .filter_map(|v| self.kernel_set_name(v))
            .map(|n| (format!("ipset {n}"), format!("{} skbinfo {}", self.set_type, !self.skb.is_empty())))
            .collect()
    }

    fn skip_flush_on_create(&mut self) {
        self.flush_on_create = false;
    }
}

/// A tc class `MAJOR:MINOR` (hex, as tc writes it) as `major << 16 | minor`.
fn parse_tc_class(text: &str) -> Option<u32> {
    let (major, minor) = text.trim().split_once(':')?;
    let major = u16::from_str_radix(major, 16).ok()?;
    let minor = u16::from_str_radix(minor, 16).ok()?;
    Some((u32::from(major) << 16) | u32::from(minor))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use super::*;

    fn event() -> MatchEvent {
        let flow = FlowFacts {
            ip_version: 4,
            ip_protocol: 17,
            local_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 55, 140)),
            local_port: 6881,
            other_ip: IpAddr::V4(Ipv4Addr::new(101, 100, 139, 138)),
            other_port: 51413,
            ..FlowFacts::default()
        };
        MatchEvent { action: Arc::from("p2p"), flow: Arc::new(flow), at: std::time::SystemTime::UNIX_EPOCH, times: Default::default() }
    }

    #[test]
    fn describe_shows_each_layout_in_ipset_syntax() {
        let mut lines = Vec::new();
        for t in [IpsetType::HashIp, IpsetType::HashIpPort, IpsetType::HashIpPortIp, IpsetType::HashMac] {
            let mut cfg = IpsetConfig::new("ipset.p2p", "p2p");
            cfg.set_type = t;
            cfg.ttl = if t == IpsetType::HashIp { 900 } else { 0 };
            IpsetTarget::new(cfg).describe(&event(), &mut lines);
        }
        assert_eq!(
            lines,
            vec![
                "ipset add p2p.v4 101.100.139.138 timeout 900",
                "ipset add p2p.v4 101.100.139.138,udp:51413",
                "ipset add p2p.v4 101.100.139.138,udp:51413,192.168.55.140",
                "ipset add p2p.v4 00:00:00:00:00:00",
            ]
        );
    }

    #[test]
    fn no_set_for_the_other_family_and_duplicates_are_queued_once() {
        let mut cfg = IpsetConfig::new("ipset.p2p", "p2p");
        cfg.set_family = SetFamily::V6;
        let mut target = IpsetTarget::new(cfg);
        let mut ops = Vec::new();
        target.describe(&event(), &mut ops);
        assert!(ops.is_empty());
        target.apply(&event()).unwrap();
        assert_eq!(target.pending(), 0);
        let mut target = IpsetTarget::new(IpsetConfig::new("ipset.p2p", "p2p"));
        target.apply(&event()).unwrap();
        target.apply(&event()).unwrap();
        assert_eq!(target.pending(), 1);
    }

    #[test]
    fn address_type_picks_the_side_that_opened_or_answered() {
        let mut flow = (*event().flow).clone();
        flow.local_origin = true;
        let local = IpAddr::V4(Ipv4Addr::new(192, 168, 55, 140));
        let other = IpAddr::V4(Ipv4Addr::new(101, 100, 139, 138));
        assert_eq!(member_of_side(IpsetType::HashIp, MemberSide::Src, &flow), IpsetEntry::Ip(local));
        assert_eq!(member_of_side(IpsetType::HashIp, MemberSide::Dst, &flow), IpsetEntry::Ip(other));
        assert_eq!(
            member_of_side(IpsetType::HashIpPortIp, MemberSide::Src, &flow).to_string(),
            "192.168.55.140,udp:6881,101.100.139.138"
        );
        flow.local_origin = false;
        assert_eq!(member_of_side(IpsetType::HashIp, MemberSide::Src, &flow), IpsetEntry::Ip(other));
        assert_eq!(member_of_side(IpsetType::HashIp, MemberSide::Other, &flow), IpsetEntry::Ip(other));
    }

    #[test]
    fn icmp_members_carry_type_and_code() {
        let mut flow = (*event().flow).clone();
        flow.ip_protocol = 1;
        flow.icmp = Some(crate::facts::IcmpFacts { icmp_type: 8, code: 0, id: 9 });
        let m = member_of(IpsetType::HashIpPort, &flow);
        assert_eq!(m, IpsetEntry::IpPort { ip: flow.other_ip, proto: 1, port: 0x0800 });
        assert_eq!(m.to_string(), "101.100.139.138,icmp:8/0");
    }

    #[test]
    fn names_too_long_for_ipset_are_reported() {
        let mut target = IpsetTarget::new(IpsetConfig::new("ipset.x", &"x".repeat(29)));
        assert!(target.setup().is_err());
        assert!(target.apply(&event()).is_err());
    }
}
