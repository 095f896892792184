//! ctlabel target (`"target_type": "ctlabel"`): sets conntrack label bits on every matching
//! flow's connection, for rules such as `ct label netify-blocked reject`.
//!
//! Labels bind to one conntrack entry (both directions, any protocol, NAT-independent) and die
//! with it, which is why NethSecurity moved its blocking from nft sets to labels
//! (docs/FLOW-ACTIONS.md §6). Names come from connlabel.conf (`<bit> <name>` lines), the file
//! iptables and `conntrack -o labels` read.
//!
//! Kernel prerequisite: a connection gets label storage only if some rule referencing
//! `ct label` was loaded when it was created; updating any other connection fails with ENOSPC.
//! [`Target::setup`] therefore loads `ct label set <bit>` into the unhooked chain
//! `inet flowsieve ctlabel_init` (it never runs; loading it is what counts). Connections older
//! than that rule stay unlabelled: they are counted in [`CtStats::no_label_space`].

use std::path::{Path, PathBuf};

use hashbrown::HashMap;
use serde_json::Value;

use super::ctmark::{account, describe_flow, original_tuple, with_socket, CtStats};
use super::kind::{kind, Props, TargetKind};
use crate::netlink::conntrack::{is_no_label_space, ConntrackSocket};
use crate::netlink::nftables::{NftBatch, NftSocket, TableFamily, CT_LABEL_MAX_BIT};
use crate::netlink::NetlinkError;
use super::{MatchEvent, Target, TargetError};
use crate::facts::protocol;
use crate::facts::FlowFacts;

/// flowsieve's own table and the unhooked chain holding the label rule.
pub const INIT_TABLE: &str = "flowsieve";
pub const INIT_CHAIN: &str = "ctlabel_init";
/// Where iptables (and libnetfilter_conntrack) look; nft reads `/etc/connlabel.conf`.
pub const DEFAULT_CONNLABEL_CONF: &str = "/etc/xtables/connlabel.conf";
pub const FALLBACK_CONNLABEL_CONF: &str = "/etc/connlabel.conf";

/// `target_globals.ctlabel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtLabelGlobals {
    /// Highest label bit flowsieve may set; default 127 (`XT_CONNLABEL_MAXBIT`).
    pub max_bits: u8,
    /// connlabel.conf to read; `None` = the default, falling back to `/etc/connlabel.conf`.
    pub connlabel_conf: Option<PathBuf>,
}

impl Default for CtLabelGlobals {
    fn default() -> Self {
        CtLabelGlobals { max_bits: CT_LABEL_MAX_BIT, connlabel_conf: None }
    }
}

/// An entry of `labels`: a connlabel.conf name or a bit number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LabelRef {
    Bit(u8),
    Name(String),
}

/// A `ctlabel` target's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtLabelConfig {
    pub name: String,
    pub labels: Vec<LabelRef>,
    /// Also set `a-<application>` and `p-<protocol>` when connlabel.conf has them.
    pub auto_label: bool,
    /// Log every flow that could not be labelled (debug level otherwise).
    pub log_errors: bool,
    pub globals: CtLabelGlobals,
}

impl CtLabelConfig {
    pub fn new(name: &str, labels: Vec<LabelRef>) -> CtLabelConfig {
        CtLabelConfig {
            name: name.to_string(),
            labels,
            auto_label: false,
            log_errors: false,
            globals: CtLabelGlobals::default(),
        }
    }
}

/// Label names to bits, from connlabel.conf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnLabelMap {
    by_name: HashMap<String, u8>,
}

impl ConnLabelMap {
    /// Parses `<bit> <name>` lines; `#` comments and blank lines are skipped, as are lines
    /// whose bit is not a number up to 127 (the tools skip them too).
    pub fn parse(text: &str) -> ConnLabelMap {
        let mut by_name = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((bit, name)) = line.split_once(char::is_whitespace) else { continue };
            let (Ok(bit), name) = (bit.parse::<u8>(), name.trim()) else { continue };
            if bit <= CT_LABEL_MAX_BIT && !name.is_empty() {
                by_name.entry(name.to_string()).or_insert(bit);
            }
        }
        ConnLabelMap { by_name }
    }

    /// Reads the configured file, or the default then the fallback (as every configuration file:
    /// `input::read_file`, a bounded regular file). A missing file is an empty
    /// map (only names then fail); the path read, if any, comes back for messages.
    pub fn load(globals: &CtLabelGlobals) -> Result<(ConnLabelMap, Option<PathBuf>), String> {
        let candidates: Vec<&Path> = match &globals.connlabel_conf {
            Some(p) => vec![p.as_path()],
            None => vec![Path::new(DEFAULT_CONNLABEL_CONF), Path::new(FALLBACK_CONNLABEL_CONF)],
        };
        for path in candidates {
            match crate::input::read_file(path) {
                Ok(text) => return Ok((ConnLabelMap::parse(&text), Some(path.to_path_buf()))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        Ok((ConnLabelMap::default(), None))
    }

    pub fn bit(&self, name: &str) -> Option<u8> {
        self.by_name.get(name).copied()
    }
}

/// The names `auto_label` looks up: `a-<app>` from the application tag without its vendor
/// prefix (`netify.google-meet` → `a-google-meet`; connlabel names cannot hold a dot) and
/// `p-<protocol>` from the Netify protocol name (`HTTP/S` → `p-http-s`), lower-cased, `/`→`-`.
pub fn auto_label_names(flow: &FlowFacts) -> Vec<String> {
    let clean = |s: &str| s.to_lowercase().replace(['/', ' '], "-");
    let mut names = Vec::new();
    if let Some(tag) = flow.application.tag.as_deref() {
        let short = tag.split_once('.').map_or(tag, |(_, rest)| rest);
        if !short.is_empty() {
            names.push(format!("a-{}", clean(short)));
        }
    }
    if flow.protocol != protocol::UNKNOWN {
        names.push(format!("p-{}", clean(protocol::name_of(flow.protocol))));
    }
    names
}

/// The `ctlabel` target.
#[derive(Debug)]
pub struct CtLabelTarget {
    cfg: CtLabelConfig,
    map: ConnLabelMap,
    /// The configured labels as bits, or why they cannot be resolved.
    fixed: Result<u128, String>,
    sock: Option<ConntrackSocket>,
    stats: CtStats,
    warned_no_space: bool,
}

impl CtLabelTarget {
    /// Builds the target and resolves label names (reads connlabel.conf; no kernel access).
    pub fn new(cfg: CtLabelConfig) -> CtLabelTarget {
        let (map, fixed) = match ConnLabelMap::load(&cfg.globals) {
            Ok((map, path)) => {
                let fixed = Self::resolve(&cfg, &map, path.as_deref());
                (map, fixed)
            }
            Err(why) => (ConnLabelMap::default(), Err(why)),
        };
        CtLabelTarget { cfg, map, fixed, sock: None, stats: CtStats::default(), warned_no_space: false }
    }

    fn resolve(cfg: &CtLabelConfig, map: &ConnLabelMap, path: Option<&Path>) -> Result<u128, String> {
        let mut bits = 0u128;
        for label in &cfg.labels {
            let bit = match label {
                LabelRef::Bit(b) => *b,
                LabelRef::Name(n) => map.bit(n).ok_or_else(|| match path {
                    Some(p) => format!("label '{n}' is not in {}", p.display()),
                    None => format!(
                        "label '{n}': no connlabel.conf ({DEFAULT_CONNLABEL_CONF} or {FALLBACK_CONNLABEL_CONF})"
                    ),
                })?,
            };
            if bit > cfg.globals.max_bits {
                return Err(format!("label bit {bit} is above max_bits {}", cfg.globals.max_bits));
            }
            bits |= 1u128 << bit;
        }
        Ok(bits)
    }

    pub fn config(&self) -> &CtLabelConfig {
        &self.cfg
    }

    /// Updated / no connection (ENOENT) / no label space (ENOSPC) / unsupported / failed.
    pub fn stats(&self) -> CtStats {
        self.stats
    }

    /// Every bit this flow gets: the configured labels plus, with `auto_label`, the names of its
    /// application and protocol that connlabel.conf knows.
    fn bits_for(&self, flow: &FlowFacts) -> Result<u128, TargetError> {
        let mut bits = self.fixed.clone().map_err(|why| TargetError::Other(format!("{}: {why}", self.cfg.name)))?;
        if self.cfg.auto_label {
            for name in auto_label_names(flow) {
                match self.map.bit(&name) {
                    Some(bit) if bit <= self.cfg.globals.max_bits => bits |= 1u128 << bit,
                    _ => tracing::trace!(target_name = self.cfg.name, "auto label '{name}' is not in connlabel.conf"),
                }
            }
        }
        Ok(bits)
    }

    fn label(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        let bits = self.bits_for(&event.flow)?;
        if bits == 0 {
            return Ok(());
        }
        let Some(tuple) = original_tuple(&event.flow) else {
            self.stats.unsupported += 1;
            return Ok(());
        };
        match with_socket(&mut self.sock, &self.cfg.name, |sock| sock.set_labels(&tuple, bits, bits)) {
            Err(e) if is_no_label_space(&e) => {
                self.stats.no_label_space += 1;
                if self.cfg.log_errors || !self.warned_no_space {
                    self.warned_no_space = true;
                    tracing::warn!(
                        target_name = self.cfg.name,
                        "{e}: the connection predates the ct label rule and cannot carry labels \
                         (counted from now on, logged with log_errors)"
                    );
                }
                Ok(())
            }
            result => {
                if let Err(e) = &result {
                    if self.cfg.log_errors {
                        tracing::warn!(target_name = self.cfg.name, "{e}");
                    }
                }
                account(result, &mut self.stats).map_err(TargetError::from)
            }
        }
    }

    /// Loads `ct label set <bit>` into flowsieve's unhooked chain (replacing what was there, so
    /// setting up twice leaves one rule).
    fn install_label_rule(&self, bit: u8) -> Result<(), NetlinkError> {
        let mut nft = NftSocket::open()?;
        let mut batch = NftBatch::new();
        batch.add_table(TableFamily::Inet, INIT_TABLE)?;
        batch.add_chain(TableFamily::Inet, INIT_TABLE, INIT_CHAIN)?;
        batch.flush_chain(TableFamily::Inet, INIT_TABLE, INIT_CHAIN)?;
        batch.add_ct_label_set_rule(TableFamily::Inet, INIT_TABLE, INIT_CHAIN, bit)?;
        nft.commit(batch)
    }
}

impl Target for CtLabelTarget {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    /// Installs the `ct label` rule (so connections from now on can carry labels) and opens the
    /// ctnetlink socket.
    fn setup(&mut self) -> Result<(), TargetError> {
        let fixed = self.fixed.clone().map_err(|why| TargetError::Other(format!("{}: {why}", self.cfg.name)))?;
        let bit = if fixed == 0 { 0 } else { fixed.trailing_zeros() as u8 };
        self.install_label_rule(bit)?;
        tracing::info!(
            target_name = self.cfg.name,
            "loaded `ct label set {bit}` into the unhooked chain inet {INIT_TABLE} {INIT_CHAIN} so new \
             connections can carry labels; connections older than this cannot be labelled (ENOSPC)"
        );
        if self.sock.is_none() {
            self.sock = Some(ConntrackSocket::open()?);
        }
        Ok(())
    }

    /// `ctlabel 192.168.1.10:40000 -> 1.2.3.4:443 tcp +netify-blocked +3`
    fn describe(&self, event: &MatchEvent, ops: &mut Vec<String>) {
        let mut line = format!("ctlabel {}", describe_flow(&event.flow));
        for label in &self.cfg.labels {
            match label {
                LabelRef::Bit(b) => line.push_str(&format!(" +{b}")),
                LabelRef::Name(n) => line.push_str(&format!(" +{n}")),
            }
        }
        if self.cfg.auto_label {
            for name in auto_label_names(&event.flow) {
                if self.map.bit(&name).is_some() {
                    line.push_str(&format!(" +{name}"));
                }
            }
        }
        ops.push(line);
    }

    fn apply(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        self.label(event)
    }

    /// Labels stay with the connection; labelling again picks up an application found later.
    fn refresh(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        self.label(event)
    }

    /// Labels die with their connections. The init rule stays: removing it would stop label
    /// storage for connections made while another ctlabel target (or a restart) needs it.
    fn shutdown(&mut self) -> Result<(), TargetError> {
        let s = self.stats;
        if s.no_connection + s.no_label_space + s.unsupported + s.failed > 0 {
            tracing::info!(
                target_name = self.cfg.name,
                "labelled {} connection(s); not labelled: {} not in conntrack, {} without label storage, \
                 {} unsupported, {} failed",
                s.updated,
                s.no_connection,
                s.no_label_space,
                s.unsupported,
                s.failed
            );
        }
        Ok(())
    }

    fn details(&self) -> Vec<(&'static str, u64)> {
        self.stats.details()
    }
}

impl TargetKind for CtLabelConfig {
    const TYPE: &'static str = "ctlabel";
    const KEYS: &'static [&'static [&'static str]] = &[&["labels", "auto_label", "log_errors"]];
    const GLOBAL_KEYS: &'static [&'static str] = &["max_bits", "connlabel_conf"];
    type Globals = CtLabelGlobals;

    fn parse_globals(props: &mut Props<'_, '_>) -> CtLabelGlobals {
        let mut globals = CtLabelGlobals::default();
        match props.get("max_bits") {
            None => {}
            Some((Value::Number(n), _)) if n.as_u64().is_some_and(|b| b <= 127) => {
                globals.max_bits = n.as_u64().unwrap_or(127) as u8;
            }
            Some((other, p)) => props.error(&p, format!("expected a label bit number from 0 to 127, found {other}")),
        }
        match props.get("connlabel_conf") {
            None => {}
            Some((Value::String(p), _)) if !p.is_empty() => globals.connlabel_conf = Some(PathBuf::from(p)),
            Some((other, p)) => props.error(&p, format!("expected a file path, found {}", kind(other))),
        }
        globals
    }

    fn parse(props: &mut Props<'_, '_>, globals: &CtLabelGlobals) -> Option<CtLabelConfig> {
        let mut labels = Vec::new();
        match props.get("labels") {
            None => {}
            Some((Value::Array(items), p)) => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{p}[{i}]");
                    match item {
                        Value::Number(n) => match n.as_u64() {
                            Some(b) if b <= u64::from(globals.max_bits) => labels.push(LabelRef::Bit(b as u8)),
                            _ => props.error(
                                &item_path,
                                format!(
                                    "label bit {n} is outside 0..={} (target_globals.ctlabel.max_bits)",
                                    globals.max_bits
                                ),
                            ),
                        },
                        Value::String(s) if s.parse::<u64>().is_ok() => match s.parse::<u8>() {
                            Ok(b) if b <= globals.max_bits => labels.push(LabelRef::Bit(b)),
                            _ => props.error(
                                &item_path,
                                format!(
                                    "label bit {s} is outside 0..={} (target_globals.ctlabel.max_bits)",
                                    globals.max_bits
                                ),
                            ),
                        },
                        Value::String(s) if !s.trim().is_empty() => labels.push(LabelRef::Name(s.trim().to_string())),
                        other => props
                            .error(&item_path, format!("expected a label name or bit number, found {}", kind(other))),
                    }
                }
            }
            Some((other, p)) => {
                props.error(&p, format!("expected an array of label names or bit numbers, found {}", kind(other)))
            }
        }
        // Names resolve against connlabel.conf when the target starts; say now (and in `check`)
        // which will not, without refusing a file that may be provisioned later.
        if labels.iter().any(|l| matches!(l, LabelRef::Name(_))) {
            let labels_path = props.path_of("labels");
            match ConnLabelMap::load(globals) {
                Ok((map, file)) => {
                    for label in &labels {
                        let LabelRef::Name(n) = label else { continue };
                        if map.bit(n).is_some() {
                            continue;
                        }
                        let message = match &file {
                            Some(f) => {
                                format!("label '{n}' is not in {}: the target will fail until it is", f.display())
                            }
                            None => format!(
                                "label '{n}' needs a connlabel.conf ({DEFAULT_CONNLABEL_CONF} or \
                                 {FALLBACK_CONNLABEL_CONF}) naming it: the target will fail until there is one"
                            ),
                        };
                        props.warn(&labels_path, message);
                    }
                }
                Err(why) => props.warn(&labels_path, format!("cannot read connlabel.conf: {why}")),
            }
        }
        let auto_label = props.flag("auto_label", false);
        let log_errors = props.flag("log_errors", false);
        if labels.is_empty() && !auto_label {
            props.target_error("a ctlabel target needs 'labels' or \"auto_label\": true");
        }
        Some(CtLabelConfig { name: props.name().to_string(), labels, auto_label, log_errors, globals: globals.clone() })
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self) -> Box<dyn Target> {
        Box::new(CtLabelTarget::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    use super::*;
    use crate::facts::AppFacts;

    const CONF: &str = "# NethSecurity's labels\n0 netify-init\n1 netify-blocked\n2 netify-analyzed\n\n7 a-youtube\n8 p-http-s\n300 too-big\nx bad\n";

    fn conf_file(test: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("flowsieve-connlabel-{test}-{}.conf", std::process::id()));
        std::fs::write(&p, CONF).unwrap();
        p
    }

    fn event() -> MatchEvent {
        let flow = FlowFacts {
            ip_protocol: 6,
            local_ip: Ipv4Addr::new(192, 168, 1, 10).into(),
            local_port: 40000,
            other_ip: Ipv4Addr::new(1, 2, 3, 4).into(),
            other_port: 443,
            local_origin: true,
            protocol: protocol::HTTPS,
            application: AppFacts { id: 124, tag: Some("netify.youtube".into()), ..AppFacts::default() },
            ..FlowFacts::default()
        };
        MatchEvent { action: Arc::from("block"), flow: Arc::new(flow), at: std::time::SystemTime::UNIX_EPOCH, times: Default::default() }
    }

    #[test]
    fn connlabel_conf_parses_like_the_tools() {
        let m = ConnLabelMap::parse(CONF);
        assert_eq!(m.bit("netify-blocked"), Some(1));
        assert_eq!(m.bit("p-http-s"), Some(8));
        assert_eq!(m.bit("too-big"), None);
        assert_eq!(m.bit("bad"), None);
    }

    #[test]
    fn auto_label_names_follow_netify() {
        assert_eq!(auto_label_names(&event().flow), vec!["a-youtube", "p-http-s"]);
        let mut f = (*event().flow).clone();
        f.application.tag = Some("Google/Meet/Duo".into());
        f.protocol = protocol::UNKNOWN;
        assert_eq!(auto_label_names(&f), vec!["a-google-meet-duo"]);
    }

    #[test]
    fn labels_resolve_names_and_bits_and_describe_shows_them() {
        let path = conf_file("resolve");
        let mut cfg =
            CtLabelConfig::new("ctlabel.block", vec![LabelRef::Name("netify-blocked".into()), LabelRef::Bit(5)]);
        cfg.globals.connlabel_conf = Some(path.clone());
        cfg.auto_label = true;
        let target = CtLabelTarget::new(cfg);
        assert_eq!(target.bits_for(&event().flow).unwrap(), (1 << 1) | (1 << 5) | (1 << 7) | (1 << 8));
        let mut ops = Vec::new();
        target.describe(&event(), &mut ops);
        assert_eq!(ops, vec!["ctlabel 192.168.1.10:40000 -> 1.2.3.4:443 tcp +netify-blocked +5 +a-youtube +p-http-s"]);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn unknown_names_and_bits_above_max_bits_are_errors() {
        let path = conf_file("errors");
        let mut cfg = CtLabelConfig::new("ctlabel.x", vec![LabelRef::Name("nope".into())]);
        cfg.globals.connlabel_conf = Some(path.clone());
        let mut t = CtLabelTarget::new(cfg.clone());
        let e = t.apply(&event()).unwrap_err().to_string();
        assert!(e.contains("label 'nope' is not in"), "{e}");
        assert!(t.setup().is_err());
        cfg.labels = vec![LabelRef::Bit(9)];
        cfg.globals.max_bits = 8;
        assert!(CtLabelTarget::new(cfg).apply(&event()).unwrap_err().to_string().contains("above max_bits 8"));
        let _ = std::fs::remove_file(path);
    }
}
