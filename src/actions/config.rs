//! Loading Netify's `netify-proc-flow-actions.json`.
//!
//! The file is read as plain JSON (key order kept: `halt_on_match` depends on it) and walked by
//! hand so every problem can name its JSON path, and the criteria column. Every problem is
//! collected; a file with any error does not load, warnings never stop it.
//!
//! Target properties merge as: built-in default < `target_defaults[type]` < the target's own keys.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::schedule::{self, Schedule, Window, Zone};
use super::{Action, ActionSet, Exemption, InterfaceMatch};
use crate::criteria::{AddressGroups, CompileContext, Criteria};
use crate::enforce::ctlabel::{
    ConnLabelMap, CtLabelConfig, CtLabelGlobals, LabelRef, DEFAULT_CONNLABEL_CONF, FALLBACK_CONNLABEL_CONF,
};
use crate::enforce::ctmark::CtMarkConfig;
use crate::enforce::ipset::IpsetConfig;
use crate::enforce::log::LogConfig;
use crate::enforce::netlink::ipset::{IpsetType, SkbInfo};
use crate::enforce::nftset::{KeyPart, NftSetConfig, SetFamily};
use crate::enforce::sink::SinkConfig;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

/// One thing wrong with a configuration, located by JSON path (and criteria column).
#[derive(Debug, Clone)]
pub struct Problem {
    pub severity: Severity,
    /// JSON path, e.g. `actions.weakssl.criteria[1]`.
    pub path: String,
    pub message: String,
    /// Extra lines (the criteria text with a caret under the column).
    pub detail: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{level}: {}: {}", self.path, self.message)?;
        if let Some(detail) = &self.detail {
            for line in detail.lines() {
                write!(f, "\n    {line}")?;
            }
        }
        Ok(())
    }
}

/// A configured target, ready to be built by the enforcer.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetSpec {
    NftSet(NftSetConfig),
    Log(LogConfig),
    Sink(SinkConfig),
    Ipset(IpsetConfig),
    CtMark(CtMarkConfig),
    CtLabel(CtLabelConfig),
}

impl TargetSpec {
    pub fn name(&self) -> &str {
        match self {
            TargetSpec::NftSet(c) => &c.name,
            TargetSpec::Log(c) => &c.name,
            TargetSpec::Sink(c) => &c.name,
            TargetSpec::Ipset(c) => &c.name,
            TargetSpec::CtMark(c) => &c.name,
            TargetSpec::CtLabel(c) => &c.name,
        }
    }
}

/// A configuration that loaded.
#[derive(Debug, Clone)]
pub struct FlowActionsConfig {
    pub path: PathBuf,
    pub actions: ActionSet,
    /// Enabled targets, in file order.
    pub targets: Vec<TargetSpec>,
    /// Warnings found while loading.
    pub warnings: Vec<Problem>,
}

/// A configuration that did not load: every problem found (errors and warnings).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {} error(s)", path.display(), problems.iter().filter(|p| p.severity == Severity::Error).count())]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
}

/// Read the address-groups file (when given) and the configuration: what `run`, reload,
/// `replay`, `check` and `explain` all do. A bad groups file is reported like a configuration
/// problem, naming that file.
pub fn load_files(path: &Path, address_groups: Option<&Path>) -> Result<FlowActionsConfig, ConfigError> {
    let groups = match address_groups {
        None => None,
        Some(file) => match AddressGroups::load(file) {
            Ok(groups) => Some(groups),
            Err(e) => {
                return Err(ConfigError {
                    path: path.to_path_buf(),
                    problems: vec![Problem {
                        severity: Severity::Error,
                        path: "address groups".into(),
                        message: e.to_string(),
                        detail: None,
                    }],
                })
            }
        },
    };
    let mut config = load_with(path, groups.as_ref())?;
    for w in groups.iter().flat_map(|g| g.warnings()) {
        config.warnings.push(Problem {
            severity: Severity::Warning,
            path: "address groups".into(),
            message: w.clone(),
            detail: None,
        });
    }
    Ok(config)
}

/// Read and compile a configuration file (no address groups: `@name` is an error).
pub fn load(path: &Path) -> Result<FlowActionsConfig, ConfigError> {
    load_with(path, None)
}

/// Read and compile a configuration file; `@name` operands refer to `groups`.
pub fn load_with(path: &Path, groups: Option<&AddressGroups>) -> Result<FlowActionsConfig, ConfigError> {
    let fail = |message: String| ConfigError {
        path: path.to_path_buf(),
        problems: vec![Problem { severity: Severity::Error, path: "$".into(), message, detail: None }],
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    parse_with(&text, path, groups)
}

/// Compile configuration text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<FlowActionsConfig, ConfigError> {
    parse_with(text, path, None)
}

/// Compile configuration text with address groups for `@name` operands.
pub fn parse_with(text: &str, path: &Path, groups: Option<&AddressGroups>) -> Result<FlowActionsConfig, ConfigError> {
    let mut loader = Loader { problems: Vec::new(), context: CompileContext { address_groups: groups } };
    let root: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            loader.error("$", format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()));
            return Err(ConfigError { path: path.to_path_buf(), problems: loader.problems });
        }
    };
    let config = loader.root(&root, path);
    if loader.problems.iter().any(|p| p.severity == Severity::Error) {
        return Err(ConfigError { path: path.to_path_buf(), problems: loader.problems });
    }
    Ok(FlowActionsConfig { warnings: loader.problems, ..config })
}

struct Loader<'g> {
    problems: Vec<Problem>,
    context: CompileContext<'g>,
}

const TOP_KEYS: &[&str] = &[
    "version",
    "reprocess_flows",
    "timezone",
    "exemptions",
    "actions",
    "targets",
    "target_defaults",
    "target_globals",
];
const ACTION_KEYS: &[&str] =
    &["criteria", "targets", "exemptions", "enabled", "halt_on_match", "interface", "time_of_day"];
const COMMON_TARGET_KEYS: &[&str] = &["target_type", "target_enabled"];
const NFTSET_KEYS: &[&str] = &[
    "set_name",
    "table_name",
    "table_family",
    "set_family",
    "type",
    "size",
    "max_elements",
    "ttl",
    "managed",
    "flush_on_create",
    "flush_on_destroy",
];
const LOG_KEYS: &[&str] = &["interval", "path", "prefix", "suffix"];
const SINK_KEYS: &[&str] = &["socket", "path", "channel", "sink", "mqtt"];
const IPSET_KEYS: &[&str] = &[
    "set_name",
    "set_family",
    "type",
    "size",
    "max_elements",
    "ttl",
    "managed",
    "flush_on_create",
    "flush_on_destroy",
    "skb_mark",
    "skb_mask",
    "skb_prio",
    "skb_queue",
];
const CTMARK_KEYS: &[&str] = &["mark", "mask", "shift"];
const CTLABEL_KEYS: &[&str] = &["labels", "auto_label", "log_errors"];
const CTLABEL_GLOBAL_KEYS: &[&str] = &["max_bits", "connlabel_conf"];

impl Loader<'_> {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
            detail: None,
        });
    }

    fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Warning,
            path: path.into(),
            message: message.into(),
            detail: None,
        });
    }

    fn unknown_keys(&mut self, map: &Map<String, Value>, path: &str, known: &[&[&str]]) {
        for key in map.keys() {
            if !known.iter().any(|set| set.contains(&key.as_str())) {
                self.warn(&format!("{path}.{key}"), "unknown key, ignored");
            }
        }
    }

    fn object<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Some(map),
            _ => {
                self.error(path, format!("expected an object, found {}", kind(value)));
                None
            }
        }
    }

    fn root(&mut self, root: &Value, path: &Path) -> FlowActionsConfig {
        let mut config = FlowActionsConfig {
            path: path.to_path_buf(),
            actions: ActionSet::default(),
            targets: Vec::new(),
            warnings: Vec::new(),
        };
        let Some(top) = self.object(root, "$") else {
            return config;
        };
        self.unknown_keys(top, "$", &[TOP_KEYS]);
        config.actions.reprocess_flows = self.boolean(top, "reprocess_flows", "$", false);
        let zone = match top.get("timezone") {
            None => Zone::Local,
            Some(Value::String(name)) => match name.parse::<chrono_tz::Tz>() {
                Ok(tz) => Zone::Named(tz),
                Err(_) => {
                    self.error(
                        "$.timezone",
                        format!("unknown time zone '{name}' (expected an IANA name such as \"Europe/Rome\")"),
                    );
                    Zone::Local
                }
            },
            Some(other) => {
                self.error("$.timezone", format!("expected a string, found {}", kind(other)));
                Zone::Local
            }
        };
        let ctlabel_globals = match top.get("target_globals") {
            Some(v) => self.target_globals(v),
            None => CtLabelGlobals::default(),
        };
        if let Some(v) = top.get("version") {
            if !v.is_u64() {
                self.error("$.version", format!("expected a number, found {}", kind(v)));
            }
        }
        if let Some(v) = top.get("exemptions") {
            config.actions.exemptions = self.exemptions(v, "$.exemptions");
        }
        let empty = Map::new();
        let defaults = match top.get("target_defaults") {
            Some(v) => self.object(v, "$.target_defaults").unwrap_or(&empty),
            None => &empty,
        };
        let mut target_names: Vec<&str> = Vec::new();
        if let Some(targets) = top.get("targets") {
            if let Some(targets) = self.object(targets, "$.targets") {
                for (name, value) in targets {
                    target_names.push(name);
                    if let Some(spec) = self.target(name, value, defaults, &ctlabel_globals) {
                        config.targets.push(spec);
                    }
                }
            }
        }
        match top.get("actions") {
            None => self.error("$", "missing key 'actions'"),
            Some(actions) => {
                if let Some(actions) = self.object(actions, "$.actions") {
                    for (name, value) in actions {
                        if let Some(action) = self.action(name, value, &target_names, zone) {
                            config.actions.actions.push(action);
                        }
                    }
                }
            }
        }
        config
    }

    fn action(&mut self, name: &str, value: &Value, target_names: &[&str], zone: Zone) -> Option<Action> {
        let path = format!("$.actions.{name}");
        let map = self.object(value, &path)?;
        self.unknown_keys(map, &path, &[ACTION_KEYS]);
        let enabled = self.boolean(map, "enabled", &path, true);
        let halt_on_match = self.boolean(map, "halt_on_match", &path, false);
        let interface = match map.get("interface") {
            None => InterfaceMatch::Any,
            Some(Value::String(s)) => InterfaceMatch::parse(s),
            Some(other) => {
                self.error(
                    &format!("{path}.interface"),
                    format!("expected an interface name, \"lan\", \"wan\" or \"*\", found {}", kind(other)),
                );
                InterfaceMatch::Any
            }
        };
        let schedule = Schedule {
            windows: map
                .get("time_of_day")
                .map(|v| self.time_of_day(v, &format!("{path}.time_of_day")))
                .unwrap_or_default(),
            zone,
        };
        let mut criteria = Vec::new();
        match map.get("criteria") {
            None => self.error(&path, "missing key 'criteria'"),
            Some(Value::String(text)) => criteria.extend(self.criteria(text, &format!("{path}.criteria"))),
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}.criteria[{i}]");
                    match item {
                        Value::String(text) => criteria.extend(self.criteria(text, &item_path)),
                        other => self.error(&item_path, format!("expected a string, found {}", kind(other))),
                    }
                }
            }
            Some(other) => self.error(
                &format!("{path}.criteria"),
                format!("expected a string or a non-empty array of strings, found {}", kind(other)),
            ),
        }
        let mut targets = Vec::new();
        match map.get("targets") {
            None => self.error(&path, "missing key 'targets'"),
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}.targets[{i}]");
                    match item.as_str() {
                        Some(t) if target_names.contains(&t) => targets.push(Arc::from(t)),
                        Some(t) => self.error(&item_path, format!("no target named '{t}' in $.targets")),
                        None => self.error(&item_path, format!("expected a string, found {}", kind(item))),
                    }
                }
            }
            Some(other) => self.error(
                &format!("{path}.targets"),
                format!("expected a non-empty array of target names, found {}", kind(other)),
            ),
        }
        let exemptions =
            map.get("exemptions").map(|v| self.exemptions(v, &format!("{path}.exemptions"))).unwrap_or_default();
        enabled.then(|| Action {
            name: Arc::from(name),
            criteria,
            targets,
            exemptions,
            halt_on_match,
            interface,
            schedule,
        })
    }

    fn time_of_day(&mut self, value: &Value, path: &str) -> Vec<Window> {
        let Value::Array(items) = value else {
            self.error(
                path,
                format!("expected an array of {{day, time_start, time_end, policy}} objects, found {}", kind(value)),
            );
            return Vec::new();
        };
        let mut windows = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let Some(map) = self.object(item, &item_path) else { continue };
            self.unknown_keys(map, &item_path, &[&["day", "time_start", "time_end", "policy"]]);
            let mut days = 0u8;
            match map.get("day") {
                None => days = 0x7f,
                Some(Value::String(d)) => match schedule::parse_day(d) {
                    Ok(bit) => days = bit,
                    Err(e) => self.error(&format!("{item_path}.day"), e.to_string()),
                },
                Some(Value::Array(list)) => {
                    for (j, d) in list.iter().enumerate() {
                        match d.as_str().map(schedule::parse_day) {
                            Some(Ok(bit)) => days |= bit,
                            Some(Err(e)) => self.error(&format!("{item_path}.day[{j}]"), e.to_string()),
                            None => self.error(
                                &format!("{item_path}.day[{j}]"),
                                format!("expected a day name, found {}", kind(d)),
                            ),
                        }
                    }
                }
                Some(other) => self.error(
                    &format!("{item_path}.day"),
                    format!("expected an array of day names, found {}", kind(other)),
                ),
            }
            let mut time = |key: &str, default: u16| match map.get(key) {
                None => default,
                Some(Value::String(t)) => schedule::parse_time(t).unwrap_or_else(|e| {
                    self.error(&format!("{item_path}.{key}"), e.to_string());
                    default
                }),
                Some(other) => {
                    self.error(&format!("{item_path}.{key}"), format!("expected \"HH:MM\", found {}", kind(other)));
                    default
                }
            };
            let start = time("time_start", 0);
            let end = time("time_end", 0);
            let policy = map.get("policy").and_then(Value::as_str).unwrap_or("inclusive");
            match Window::new(days, start, end, policy) {
                Ok(w) => windows.push(w),
                Err(e) => self.error(&format!("{item_path}.policy"), e.to_string()),
            }
        }
        windows
    }

    fn criteria(&mut self, text: &str, path: &str) -> Option<Criteria> {
        match Criteria::compile_with(text, &self.context) {
            Ok(criteria) => {
                for w in criteria.warnings() {
                    self.problems.push(Problem {
                        severity: Severity::Warning,
                        path: format!("{path}, column {}", w.column),
                        message: w.message.clone(),
                        detail: Some(caret(text, w.column)),
                    });
                }
                Some(criteria)
            }
            Err(e) => {
                self.problems.push(Problem {
                    severity: Severity::Error,
                    path: format!("{path}, column {}", e.column),
                    message: "invalid criteria".into(),
                    detail: Some(e.render(text)),
                });
                None
            }
        }
    }

    fn exemptions(&mut self, value: &Value, path: &str) -> Vec<Exemption> {
        let Value::Array(items) = value else {
            self.error(path, format!("expected an array of strings, found {}", kind(value)));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let Some(text) = item.as_str() else {
                self.error(&item_path, format!("expected a string, found {}", kind(item)));
                continue;
            };
            // Netify: an exemption is an address, or a criteria expression ending with ';'.
            if let Ok(net) = text.parse() {
                out.push(Exemption::Network(net));
            } else if text.trim_end().ends_with(';') {
                out.extend(self.criteria(text, &item_path).map(Exemption::Expression));
            } else {
                self.error(
                    &item_path,
                    format!(
                        "'{text}' is neither an IP address/CIDR nor a criteria expression (which must end with ';')"
                    ),
                );
            }
        }
        out
    }

    fn boolean(&mut self, map: &Map<String, Value>, key: &str, path: &str, default: bool) -> bool {
        match map.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.error(&format!("{path}.{key}"), format!("expected true or false, found {}", kind(other)));
                default
            }
        }
    }

    /// `target_globals`: only `ctlabel` has globals (Netify documents no others).
    fn target_globals(&mut self, value: &Value) -> CtLabelGlobals {
        let mut globals = CtLabelGlobals::default();
        let Some(map) = self.object(value, "$.target_globals") else { return globals };
        for (key, v) in map {
            let path = format!("$.target_globals.{key}");
            if key != "ctlabel" {
                self.warn(&path, "accepted but not implemented in this version yet (only ctlabel has globals)");
                continue;
            }
            let Some(ct) = self.object(v, &path) else { continue };
            self.unknown_keys(ct, &path, &[CTLABEL_GLOBAL_KEYS]);
            match ct.get("max_bits") {
                None => {}
                Some(Value::Number(n)) if n.as_u64().is_some_and(|b| b <= 127) => {
                    globals.max_bits = n.as_u64().unwrap_or(127) as u8;
                }
                Some(other) => self.error(
                    &format!("{path}.max_bits"),
                    format!("expected a label bit number from 0 to 127, found {other}"),
                ),
            }
            match ct.get("connlabel_conf") {
                None => {}
                Some(Value::String(p)) if !p.is_empty() => globals.connlabel_conf = Some(PathBuf::from(p)),
                Some(other) => self
                    .error(&format!("{path}.connlabel_conf"), format!("expected a file path, found {}", kind(other))),
            }
        }
        globals
    }

    fn target(
        &mut self,
        name: &str,
        value: &Value,
        defaults: &Map<String, Value>,
        ctlabel_globals: &CtLabelGlobals,
    ) -> Option<TargetSpec> {
        let path = format!("$.targets.{name}");
        let own = self.object(value, &path)?;
        let Some(target_type) = own.get("target_type").and_then(Value::as_str) else {
            self.error(&path, "missing string key 'target_type'");
            return None;
        };
        let type_defaults = match defaults.get(target_type) {
            Some(v) => self.object(v, &format!("$.target_defaults.{target_type}")).cloned().unwrap_or_default(),
            None => Map::new(),
        };
        // Merge: defaults first, own keys override; remember where each value came from.
        let mut merged: Vec<(String, &Value, String)> = Vec::new();
        for (k, v) in &type_defaults {
            merged.push((k.clone(), v, format!("$.target_defaults.{target_type}.{k}")));
        }
        for (k, v) in own {
            merged.retain(|(key, _, _)| key != k);
            merged.push((k.clone(), v, format!("{path}.{k}")));
        }
        let props = Props { merged };
        let enabled = match props.get("target_enabled") {
            None => true,
            Some((Value::Bool(b), _)) => *b,
            Some((other, p)) => {
                self.error(&p, format!("expected true or false, found {}", kind(other)));
                true
            }
        };
        let spec = match target_type {
            "nftset" => {
                self.unknown_props(&props, &[COMMON_TARGET_KEYS, NFTSET_KEYS]);
                self.nftset(name, &path, &props).map(TargetSpec::NftSet)
            }
            "log" => {
                self.unknown_props(&props, &[COMMON_TARGET_KEYS, LOG_KEYS]);
                self.log(name, &props).map(TargetSpec::Log)
            }
            "sink" => {
                self.unknown_props(&props, &[COMMON_TARGET_KEYS, SINK_KEYS]);
                self.sink(name, &path, &props).map(TargetSpec::Sink)
            }
            "ipset" => {
                self.unknown_props(&props, &[COMMON_TARGET_KEYS, IPSET_KEYS]);
                self.ipset(name, &path, &props).map(TargetSpec::Ipset)
            }
            "ctmark" => {
                self.unknown_props(&props, &[COMMON_TARGET_KEYS, CTMARK_KEYS]);
                self.ctmark(name, &path, &props).map(TargetSpec::CtMark)
            }
            "ctlabel" => {
                self.unknown_props(&props, &[COMMON_TARGET_KEYS, CTLABEL_KEYS]);
                self.ctlabel(name, &path, &props, ctlabel_globals).map(TargetSpec::CtLabel)
            }
            "pftable" => {
                self.error(
                    &format!("{path}.target_type"),
                    "target type 'pftable' (BSD pf tables) is not available on Linux",
                );
                None
            }
            t => {
                self.error(
                    &format!("{path}.target_type"),
                    format!("unknown target type '{t}' (expected nftset, ipset, ctlabel, ctmark, log or sink)"),
                );
                None
            }
        };
        spec.filter(|_| enabled)
    }

    fn unknown_props(&mut self, props: &Props<'_>, known: &[&[&str]]) {
        for (key, _, path) in &props.merged {
            if !known.iter().any(|set| set.contains(&key.as_str())) {
                self.warn(path, "unknown key for this target type, ignored");
            }
        }
    }

    fn string(&mut self, props: &Props<'_>, key: &str, default: &str) -> String {
        match props.get(key) {
            None => default.to_string(),
            Some((Value::String(s), _)) => s.clone(),
            Some((other, p)) => {
                self.error(&p, format!("expected a string, found {}", kind(other)));
                default.to_string()
            }
        }
    }

    fn number(&mut self, props: &Props<'_>, key: &str, default: u64) -> u64 {
        match props.get(key) {
            None => default,
            Some((Value::Number(n), p)) => n.as_u64().unwrap_or_else(|| {
                self.error(&p, format!("expected a whole number ≥ 0, found {n}"));
                default
            }),
            Some((other, p)) => {
                self.error(&p, format!("expected a number, found {}", kind(other)));
                default
            }
        }
    }

    fn flag(&mut self, props: &Props<'_>, key: &str, default: bool) -> bool {
        match props.get(key) {
            None => default,
            Some((Value::Bool(b), _)) => *b,
            Some((other, p)) => {
                self.error(&p, format!("expected true or false, found {}", kind(other)));
                default
            }
        }
    }

    fn nftset(&mut self, name: &str, path: &str, props: &Props<'_>) -> Option<NftSetConfig> {
        let set_name = self.set_name(path, props)?;
        let table_name = self.string(props, "table_name", "nfa");
        let table_family = self.string(props, "table_family", "inet");
        if !["inet", "ip", "ip6", "bridge", "netdev"].contains(&table_family.as_str()) {
            let p = props.path_of("table_family");
            self.error(&p, format!("unknown table family '{table_family}' (expected inet, ip, ip6, bridge or netdev)"));
        }
        let set_family = self.set_family(props);
        let mut key = Vec::new();
        match props.get("type") {
            None => {
                self.error(path, "missing key 'type' (the element layout, e.g. [\"local_addr\", \"ip_proto\", \"other_port\", \"other_addr\"])");
                return None;
            }
            Some((Value::Array(items), p)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().and_then(KeyPart::from_netify_name) {
                        Some(part) => key.push(part),
                        None => self.error(&format!("{p}[{i}]"), format!("unknown set key field {item} (expected local_addr, other_addr, local_port, other_port, ip_proto, local_mac or other_mac)")),
                    }
                }
            }
            Some((other, p)) => {
                self.error(&p, format!("expected a non-empty array of key fields, found {}", kind(other)))
            }
        }
        let size = self.set_size(props);
        let ttl = self.number(props, "ttl", 0);
        let managed = self.flag(props, "managed", false);
        let flush_on_create = self.flag(props, "flush_on_create", false);
        let flush_on_destroy = self.flag(props, "flush_on_destroy", false);
        let ttl = u32::try_from(ttl).unwrap_or(u32::MAX);
        Some(NftSetConfig {
            name: name.to_string(),
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

    fn sink(&mut self, name: &str, path: &str, props: &Props<'_>) -> Option<SinkConfig> {
        let mut optional = |key: &str| props.get(key).is_some().then(|| self.string(props, key, ""));
        let socket = optional("socket").map(PathBuf::from);
        let file = optional("path").map(PathBuf::from);
        let channel = optional("channel");
        let sink = optional("sink");
        let mqtt = match props.get("mqtt") {
            None => None,
            Some((value, p)) => match crate::mqtt::MqttConfig::parse(value, &p, name, channel.as_deref()) {
                Ok((config, problems)) => {
                    problems.warnings.into_iter().for_each(|(p, m)| self.warn(&p, m));
                    Some(Box::new(config))
                }
                Err(problems) => {
                    problems.warnings.into_iter().for_each(|(p, m)| self.warn(&p, m));
                    problems.errors.into_iter().for_each(|(p, m)| self.error(&p, m));
                    return None;
                }
            },
        };
        if socket.is_none() && file.is_none() && mqtt.is_none() {
            self.error(path, "a sink needs a destination: 'socket' (a UNIX socket path to listen on), 'path' (a JSON-lines file) and/or 'mqtt' (a broker)");
            return None;
        }
        Some(SinkConfig { name: name.to_string(), socket, path: file, channel, sink, mqtt })
    }

    /// A `set_name` that must be present and non-empty.
    fn set_name(&mut self, path: &str, props: &Props<'_>) -> Option<String> {
        match props.get("set_name") {
            Some((Value::String(s), _)) if !s.is_empty() => Some(s.clone()),
            Some((other, p)) => {
                self.error(&p, format!("expected a non-empty string, found {}", kind(other)));
                None
            }
            None => {
                self.error(path, "missing key 'set_name'");
                None
            }
        }
    }

    /// A set's capacity. Netify documents `max_elements`; its own example and NethSecurity use
    /// `size`, which wins when both are given. Default 65536.
    fn set_size(&mut self, props: &Props<'_>) -> u32 {
        let size = if props.get("size").is_some() {
            self.number(props, "size", 65536)
        } else {
            self.number(props, "max_elements", 65536)
        };
        u32::try_from(size).unwrap_or(u32::MAX)
    }

    fn set_family(&mut self, props: &Props<'_>) -> SetFamily {
        match self.string(props, "set_family", "*").as_str() {
            "*" => SetFamily::Both,
            "ipv4" => SetFamily::V4,
            "ipv6" => SetFamily::V6,
            other => {
                let p = props.path_of("set_family");
                self.error(&p, format!("unknown set family '{other}' (expected \"*\", \"ipv4\" or \"ipv6\")"));
                SetFamily::Both
            }
        }
    }

    /// A 32-bit value written as a `"0x…"`/decimal string or a number (Netify's schema says
    /// string; numbers are accepted too).
    fn u32_value(&mut self, props: &Props<'_>, key: &str) -> Option<u32> {
        let (value, p) = props.get(key)?;
        let parsed = match value {
            Value::Number(n) => n.as_u64().and_then(|v| u32::try_from(v).ok()),
            Value::String(s) => parse_u32(s),
            _ => None,
        };
        if parsed.is_none() {
            self.error(&p, format!("expected a 32-bit number (\"0x10\", \"16\" or 16), found {value}"));
        }
        parsed
    }

    fn ipset(&mut self, name: &str, path: &str, props: &Props<'_>) -> Option<IpsetConfig> {
        let set_name = self.set_name(path, props)?;
        let mut cfg = IpsetConfig::new(name, &set_name);
        cfg.set_family = self.set_family(props);
        let set_type = self.string(props, "type", "hash:ip");
        match IpsetType::from_name(&set_type) {
            Some(t) => cfg.set_type = t,
            None => self.error(
                &props.path_of("type"),
                format!(
                    "unsupported ipset type '{set_type}' (expected hash:ip, hash:ip,port, hash:ip,port,ip or hash:mac)"
                ),
            ),
        }
        let longest = format!("{set_name}.v4");
        if longest.len() > 31 {
            self.error(
                &props.path_of("set_name"),
                format!("ipset names are at most 31 bytes: '{longest}' is {}", longest.len()),
            );
        }
        cfg.max_elements = self.set_size(props);
        cfg.ttl = u32::try_from(self.number(props, "ttl", 0)).unwrap_or(u32::MAX);
        cfg.managed = self.flag(props, "managed", false);
        cfg.flush_on_create = self.flag(props, "flush_on_create", false);
        cfg.flush_on_destroy = self.flag(props, "flush_on_destroy", false);
        let mark = self.u32_value(props, "skb_mark");
        let mask = self.u32_value(props, "skb_mask");
        // A mask in target_defaults is shared by targets without marks: only the target's own
        // stray mask is worth a word.
        let own_mask = !props.path_of("skb_mask").starts_with("$.target_defaults");
        if mask.is_some() && props.get("skb_mark").is_none() && own_mask {
            self.warn(&props.path_of("skb_mask"), "skb_mask without skb_mark has no effect");
        }
        let prio = match props.get("skb_prio") {
            None => None,
            Some((Value::String(s), p)) => {
                let parsed = parse_tc_class(s);
                if parsed.is_none() {
                    self.error(&p, format!("expected a tc class \"MAJOR:MINOR\" in hex (e.g. \"1:10\"), found '{s}'"));
                }
                parsed
            }
            Some((other, p)) => {
                self.error(&p, format!("expected a string \"MAJOR:MINOR\", found {}", kind(other)));
                None
            }
        };
        let queue = match props.get("skb_queue") {
            None => None,
            Some((Value::Number(n), p)) => {
                let q = n.as_u64().and_then(|q| u16::try_from(q).ok());
                if q.is_none() {
                    self.error(&p, format!("expected a queue number from 0 to 65535, found {n}"));
                }
                q
            }
            Some((other, p)) => {
                self.error(&p, format!("expected a number, found {}", kind(other)));
                None
            }
        };
        // Netify: skb_mask defaults to 0xffffffff when a mark is set.
        cfg.skb = SkbInfo { mark: mark.map(|m| (m, mask.unwrap_or(u32::MAX))), prio, queue };
        Some(cfg)
    }

    fn ctmark(&mut self, name: &str, path: &str, props: &Props<'_>) -> Option<CtMarkConfig> {
        if props.get("mark").is_none() {
            self.error(path, "missing key 'mark'");
            return None;
        }
        let mark = self.u32_value(props, "mark")?;
        let mut cfg = CtMarkConfig::new(name, mark);
        if props.get("mask").is_some() {
            cfg.mask = self.u32_value(props, "mask")?;
        }
        let shift = self.number(props, "shift", 0);
        if shift > 31 {
            self.error(&props.path_of("shift"), format!("shift must be 0 to 31, found {shift}"));
        }
        cfg.shift = shift.min(31) as u8;
        if cfg.value() == 0 && cfg.mark != 0 {
            self.warn(
                &props.path_of("mark"),
                "mark shifted by 'shift' has no bit inside 'mask': the target clears the masked bits",
            );
        }
        Some(cfg)
    }

    fn ctlabel(
        &mut self,
        name: &str,
        path: &str,
        props: &Props<'_>,
        globals: &CtLabelGlobals,
    ) -> Option<CtLabelConfig> {
        let mut labels = Vec::new();
        match props.get("labels") {
            None => {}
            Some((Value::Array(items), p)) => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{p}[{i}]");
                    match item {
                        Value::Number(n) => match n.as_u64() {
                            Some(b) if b <= u64::from(globals.max_bits) => labels.push(LabelRef::Bit(b as u8)),
                            _ => self.error(
                                &item_path,
                                format!(
                                    "label bit {n} is outside 0..={} (target_globals.ctlabel.max_bits)",
                                    globals.max_bits
                                ),
                            ),
                        },
                        Value::String(s) if s.parse::<u64>().is_ok() => match s.parse::<u8>() {
                            Ok(b) if b <= globals.max_bits => labels.push(LabelRef::Bit(b)),
                            _ => self.error(
                                &item_path,
                                format!(
                                    "label bit {s} is outside 0..={} (target_globals.ctlabel.max_bits)",
                                    globals.max_bits
                                ),
                            ),
                        },
                        Value::String(s) if !s.trim().is_empty() => labels.push(LabelRef::Name(s.trim().to_string())),
                        other => self
                            .error(&item_path, format!("expected a label name or bit number, found {}", kind(other))),
                    }
                }
            }
            Some((other, p)) => {
                self.error(&p, format!("expected an array of label names or bit numbers, found {}", kind(other)))
            }
        }
        // Names resolve against connlabel.conf when the target starts; say now (and in `check`)
        // which will not, without refusing a file that may be provisioned later.
        if labels.iter().any(|l| matches!(l, LabelRef::Name(_))) {
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
                        self.warn(&props.path_of("labels"), message);
                    }
                }
                Err(why) => self.warn(&props.path_of("labels"), format!("cannot read connlabel.conf: {why}")),
            }
        }
        let auto_label = self.flag(props, "auto_label", false);
        let log_errors = self.flag(props, "log_errors", false);
        if labels.is_empty() && !auto_label {
            self.error(path, "a ctlabel target needs 'labels' or \"auto_label\": true");
        }
        Some(CtLabelConfig { name: name.to_string(), labels, auto_label, log_errors, globals: globals.clone() })
    }

    fn log(&mut self, name: &str, props: &Props<'_>) -> Option<LogConfig> {
        let defaults = LogConfig::with_name(name);
        let interval = self.number(props, "interval", defaults.interval.as_secs());
        if interval == 0 {
            self.error(&props.path_of("interval"), "interval must be at least 1 second");
        }
        Some(LogConfig {
            name: name.to_string(),
            path: PathBuf::from(self.string(props, "path", &defaults.path.to_string_lossy())),
            prefix: self.string(props, "prefix", &defaults.prefix),
            suffix: self.string(props, "suffix", &defaults.suffix),
            interval: Duration::from_secs(interval.max(1)),
        })
    }
}

/// A target's merged properties with the JSON path each came from.
struct Props<'v> {
    merged: Vec<(String, &'v Value, String)>,
}

impl<'v> Props<'v> {
    fn get(&self, key: &str) -> Option<(&'v Value, String)> {
        self.merged.iter().find(|(k, _, _)| k == key).map(|(_, v, p)| (*v, p.clone()))
    }
    fn path_of(&self, key: &str) -> String {
        self.get(key).map(|(_, p)| p).unwrap_or_default()
    }
}

/// `"0x10"`, `"16"` (decimal), with surrounding spaces allowed.
fn parse_u32(text: &str) -> Option<u32> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// A tc class `MAJOR:MINOR` (hex, as tc writes it) as `major << 16 | minor`.
fn parse_tc_class(text: &str) -> Option<u32> {
    let (major, minor) = text.trim().split_once(':')?;
    let major = u16::from_str_radix(major, 16).ok()?;
    let minor = u16::from_str_radix(minor, 16).ok()?;
    Some((u32::from(major) << 16) | u32::from(minor))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The criteria text with a caret under `column` (1-based).
fn caret(text: &str, column: usize) -> String {
    format!("{text}\n{}^", " ".repeat(column.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<FlowActionsConfig, ConfigError> {
        parse(text, Path::new("test.json"))
    }

    fn problems(text: &str) -> Vec<String> {
        match load_text(text) {
            Ok(c) => c.warnings.iter().map(|p| p.to_string()).collect(),
            Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
        }
    }

    const EXAMPLE: &str = include_str!("../../examples/weak-tls.json");

    #[test]
    fn design_example_loads_unchanged() {
        let c = load_text(EXAMPLE).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.actions.actions.len(), 1);
        let action = &c.actions.actions[0];
        assert_eq!(&*action.name, "weakssl");
        assert_eq!(action.targets.iter().map(|t| &**t).collect::<Vec<_>>(), ["nftset.weakssl", "log.weakssl"]);
        assert!(matches!(action.exemptions[0], Exemption::Network(n) if n.to_string() == "192.168.1.50"));
        let TargetSpec::NftSet(set) = &c.targets[0] else { panic!("{:?}", c.targets) };
        // target_defaults fill what the target leaves out.
        assert_eq!(set.set_name, "weakssl");
        assert_eq!(set.table_name, "netify");
        assert_eq!(set.table_family, "inet");
        assert_eq!(set.set_family, SetFamily::Both);
        assert_eq!(set.key, [KeyPart::LocalAddr, KeyPart::IpProto, KeyPart::OtherPort, KeyPart::OtherAddr]);
        assert_eq!(
            (set.size, set.ttl, set.managed, set.flush_on_create, set.flush_on_destroy),
            (65536, 120, true, true, true)
        );
        let TargetSpec::Log(log) = &c.targets[1] else { panic!() };
        assert_eq!(
            (log.prefix.as_str(), log.interval, log.path.as_path()),
            ("weakssl", Duration::from_secs(10), Path::new("/tmp"))
        );
    }

    #[test]
    fn own_keys_override_target_defaults_and_builtins_fill_the_rest() {
        let c = load_text(
            r#"{"actions":{"a":{"criteria":"true;","targets":["s"]}},
                "targets":{"s":{"target_type":"nftset","set_name":"x","ttl":5,"type":["other_addr"],"set_family":"ipv6"}},
                "target_defaults":{"nftset":{"ttl":900,"table_name":"t"}}}"#,
        )
        .unwrap();
        let TargetSpec::NftSet(set) = &c.targets[0] else { panic!() };
        assert_eq!((set.ttl, set.table_name.as_str(), set.size, set.managed), (5, "t", 65536, false));
        assert_eq!(set.set_family, SetFamily::V6);
    }

    #[test]
    fn array_criteria_is_an_or_and_disabled_actions_and_targets_drop_out() {
        let c = load_text(
            r#"{"actions":{"a":{"criteria":["ip_version == 4;","ip_version == 6;"],"targets":["l"]},
                           "off":{"criteria":"true;","targets":["l"],"enabled":false}},
                "targets":{"l":{"target_type":"log"},"unused":{"target_type":"log","target_enabled":false}}}"#,
        )
        .unwrap();
        assert_eq!(c.actions.actions.len(), 1);
        assert_eq!(c.actions.actions[0].criteria.len(), 2);
        assert_eq!(c.targets.len(), 1);
    }

    #[test]
    fn every_problem_names_its_json_path() {
        let text = r#"{
            "versoin": 1,
            "actions": {
                "a": { "criteria": "ssl_verison == 0x0302;", "targets": ["missing"], "exemptions": ["printer"] },
                "b": { "criteria": 5, "targets": [] , "enabled": "yes"}
            },
            "targets": {
                "s": { "target_type": "nftset", "set_name": "x", "type": ["local_addr", "remote_addr"], "set_family": "both", "colour": 1 },
                "p": { "target_type": "pftable" },
                "i": { "target_type": "sink" },
                "l": { "target_type": "log", "interval": "10" }
            }
        }"#;
        let all = problems(text).join("\n");
        for expected in [
            "warning: $.versoin: unknown key",
            "error: $.actions.a.criteria, column 1: invalid criteria",
            "ssl_verison",
            "error: $.actions.a.targets[0]: no target named 'missing'",
            "error: $.actions.a.exemptions[0]: 'printer' is neither an IP address/CIDR nor a criteria expression",
            "error: $.actions.b.criteria: expected a string or a non-empty array of strings, found a number",
            "error: $.actions.b.targets: expected a non-empty array of target names",
            "error: $.actions.b.enabled: expected true or false, found a string",
            "error: $.targets.s.type[1]: unknown set key field \"remote_addr\"",
            "error: $.targets.s.set_family: unknown set family 'both'",
            "warning: $.targets.s.colour: unknown key for this target type",
            "error: $.targets.p.target_type: target type 'pftable' (BSD pf tables) is not available on Linux",
            "error: $.targets.i: a sink needs a destination",
            "error: $.targets.l.interval: expected a number, found a string",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
    }

    #[test]
    fn sink_needs_a_destination_and_keeps_netify_keys() {
        let all = problems(r#"{"actions":{"a":{"criteria":"*","targets":["s"]}},"targets":{"s":{"target_type":"sink","channel":"x"}}}"#).join("\n");
        assert!(all.contains("error: $.targets.s: a sink needs a destination"), "{all}");
        let c = load_text(
            r#"{"actions":{"a":{"criteria":"*","targets":["s"]}},
                "targets":{"s":{"target_type":"sink","sink":"sink-socket","channel":"blocks","path":"/tmp/a.jsonl"}}}"#,
        )
        .unwrap();
        let TargetSpec::Sink(sink) = &c.targets[0] else { panic!() };
        assert_eq!(sink.channel.as_deref(), Some("blocks"));
        assert_eq!(sink.path.as_deref(), Some(Path::new("/tmp/a.jsonl")));
        assert!(sink.socket.is_none());
    }

    #[test]
    fn ipset_targets_parse_with_defaults_and_skbinfo() {
        let c = load_text(
            r#"{"actions":{"a":{"criteria":"true;","targets":["i","j"]}},
                "targets":{
                  "i":{"target_type":"ipset","set_name":"social-media","type":"hash:ip,port,ip","skb_mark":"0x10","skb_prio":"1:10","skb_queue":3},
                  "j":{"target_type":"ipset","set_name":"plain","size":1000,"set_family":"ipv4"}},
                "target_defaults":{"ipset":{"ttl":900,"managed":true,"skb_mask":"0xff"}}}"#,
        )
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let TargetSpec::Ipset(i) = &c.targets[0] else { panic!("{:?}", c.targets) };
        assert_eq!(
            (i.set_name.as_str(), i.set_type, i.set_family),
            ("social-media", IpsetType::HashIpPortIp, SetFamily::Both)
        );
        assert_eq!((i.ttl, i.managed, i.max_elements, i.flush_on_destroy), (900, true, 65536, false));
        assert_eq!(i.skb, SkbInfo { mark: Some((0x10, 0xff)), prio: Some(0x0001_0010), queue: Some(3) });
        let TargetSpec::Ipset(j) = &c.targets[1] else { panic!() };
        assert_eq!((j.set_type, j.max_elements, j.set_family), (IpsetType::HashIp, 1000, SetFamily::V4));
        // Mark without mask: the mask defaults to all bits.
        let c = load_text(r#"{"actions":{},"targets":{"i":{"target_type":"ipset","set_name":"s","skb_mark":16}}}"#)
            .unwrap();
        let TargetSpec::Ipset(i) = &c.targets[0] else { panic!() };
        assert_eq!(i.skb.mark, Some((16, u32::MAX)));
    }

    #[test]
    fn ipset_errors_name_their_path() {
        let all = problems(
            r#"{"actions":{},"targets":{
                 "a":{"target_type":"ipset"},
                 "b":{"target_type":"ipset","set_name":"s","type":"bitmap:port","skb_prio":"x","skb_queue":70000,"skb_mark":"0xzz","colour":1},
                 "c":{"target_type":"ipset","set_name":"a-name-that-is-far-too-long-x"}}}"#,
        )
        .join("\n");
        for expected in [
            "error: $.targets.a: missing key 'set_name'",
            "error: $.targets.b.type: unsupported ipset type 'bitmap:port'",
            "error: $.targets.b.skb_prio: expected a tc class",
            "error: $.targets.b.skb_queue: expected a queue number",
            "error: $.targets.b.skb_mark: expected a 32-bit number",
            "warning: $.targets.b.colour: unknown key for this target type",
            "error: $.targets.c.set_name: ipset names are at most 31 bytes",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
    }

    #[test]
    fn target_defaults_fill_log_sink_and_ctlabel_targets_too() {
        let c = load_text(
            r#"{"actions":{},"targets":{
                 "l":{"target_type":"log"},
                 "s":{"target_type":"sink","channel":"own"},
                 "c":{"target_type":"ctlabel","labels":[5]},
                 "d":{"target_type":"ctlabel"}},
                "target_defaults":{
                 "log":{"interval":30,"path":"/var/log/fs","prefix":"all"},
                 "sink":{"path":"/tmp/actions.jsonl","channel":"default"},
                 "ctlabel":{"labels":[2],"auto_label":true,"log_errors":true}}}"#,
        )
        .unwrap();
        let TargetSpec::Log(l) = &c.targets[0] else { panic!("{:?}", c.targets) };
        assert_eq!((l.interval.as_secs(), l.path.to_str(), l.prefix.as_str()), (30, Some("/var/log/fs"), "all"));
        let TargetSpec::Sink(s) = &c.targets[1] else { panic!("{:?}", c.targets) };
        assert_eq!(s.path.as_deref(), Some(Path::new("/tmp/actions.jsonl")));
        assert_eq!(s.channel.as_deref(), Some("own"), "the target's own key wins");
        let TargetSpec::CtLabel(own) = &c.targets[2] else { panic!("{:?}", c.targets) };
        assert_eq!(own.labels, vec![crate::enforce::ctlabel::LabelRef::Bit(5)]);
        assert!(own.auto_label && own.log_errors);
        let TargetSpec::CtLabel(d) = &c.targets[3] else { panic!("{:?}", c.targets) };
        assert_eq!(d.labels, vec![crate::enforce::ctlabel::LabelRef::Bit(2)]);
        // Defaults for a type Linux lacks are still refused where a target uses it.
        let all = problems(
            r#"{"actions":{},"targets":{"p":{"target_type":"pftable"}},"target_defaults":{"pftable":{"table":"t"}}}"#,
        )
        .join("\n");
        assert!(all.contains("'pftable' (BSD pf tables) is not available on Linux"), "{all}");
    }

    #[test]
    fn ctmark_targets_accept_hex_strings_and_numbers() {
        let c = load_text(
            r#"{"actions":{},"targets":{
                 "m":{"target_type":"ctmark","mark":"0x10","mask":"0xff00","shift":4},
                 "n":{"target_type":"ctmark","mark":7}},
                "target_defaults":{"ctmark":{"mask":255}}}"#,
        )
        .unwrap();
        let TargetSpec::CtMark(m) = &c.targets[0] else { panic!("{:?}", c.targets) };
        assert_eq!((m.mark, m.mask, m.shift, m.value()), (0x10, 0xff00, 4, 0x100));
        let TargetSpec::CtMark(n) = &c.targets[1] else { panic!() };
        assert_eq!((n.mark, n.mask, n.shift), (7, 255, 0));
        let all = problems(
            r#"{"actions":{},"targets":{"a":{"target_type":"ctmark"},"b":{"target_type":"ctmark","mark":"ten","shift":40},
                "c":{"target_type":"ctmark","mark":1,"mask":"0x0","labels":[1]}}}"#,
        )
        .join("\n");
        for expected in [
            "error: $.targets.a: missing key 'mark'",
            "error: $.targets.b.mark: expected a 32-bit number",
            "warning: $.targets.c.labels: unknown key for this target type",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
        let all = problems(r#"{"actions":{},"targets":{"b":{"target_type":"ctmark","mark":1,"shift":40}}}"#).join("\n");
        assert!(all.contains("error: $.targets.b.shift: shift must be 0 to 31"), "{all}");
    }

    #[test]
    fn ctlabel_targets_take_names_bits_and_target_globals() {
        let conf = std::env::temp_dir().join(format!("flowsieve-config-connlabel-{}.conf", std::process::id()));
        std::fs::write(&conf, "1 netify-blocked\n").unwrap();
        let text = r#"{"actions":{},"targets":{
                 "l":{"target_type":"ctlabel","labels":["netify-blocked",3,"4"],"log_errors":true},
                 "auto":{"target_type":"ctlabel","auto_label":true}},
                "target_globals":{"ctlabel":{"max_bits":63,"connlabel_conf":"CONF"}}}"#
            .replace("CONF", &conf.display().to_string());
        let c = load_text(&text).unwrap();
        assert!(c.warnings.is_empty(), "target_globals.ctlabel is implemented: {:?}", c.warnings);
        // A name the file lacks is a warning that names the file.
        let missing = load_text(&text.replace("\"netify-blocked\"", "\"netify-nope\"")).unwrap();
        let all: Vec<String> = missing.warnings.iter().map(|p| p.to_string()).collect();
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(all[0].starts_with("warning: $.targets.l.labels: label 'netify-nope' is not in "), "{all:?}");
        let _ = std::fs::remove_file(&conf);
        let TargetSpec::CtLabel(l) = &c.targets[0] else { panic!("{:?}", c.targets) };
        assert_eq!(l.labels, vec![LabelRef::Name("netify-blocked".into()), LabelRef::Bit(3), LabelRef::Bit(4)]);
        assert!(l.log_errors && !l.auto_label);
        assert_eq!(l.globals.max_bits, 63);
        assert_eq!(l.globals.connlabel_conf.as_deref(), Some(conf.as_path()));
        let TargetSpec::CtLabel(a) = &c.targets[1] else { panic!() };
        assert!(a.auto_label && a.labels.is_empty());
        let all = problems(
            r#"{"actions":{},"targets":{"e":{"target_type":"ctlabel"},"f":{"target_type":"ctlabel","labels":[100,{}]}},
                "target_globals":{"ctlabel":{"max_bits":64,"colour":1},"nftset":{}}}"#,
        )
        .join("\n");
        for expected in [
            "error: $.targets.e: a ctlabel target needs 'labels' or \"auto_label\": true",
            "error: $.targets.f.labels[0]: label bit 100 is outside 0..=64",
            "error: $.targets.f.labels[1]: expected a label name or bit number, found an object",
            "warning: $.target_globals.ctlabel.colour: unknown key",
            "warning: $.target_globals.nftset: accepted but not implemented",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
        let all = problems(r#"{"actions":{},"target_globals":{"ctlabel":{"max_bits":128}}}"#).join("\n");
        assert!(
            all.contains("error: $.target_globals.ctlabel.max_bits: expected a label bit number from 0 to 127"),
            "{all}"
        );
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let all = problems("{\n \"actions\": {,}\n}").join("\n");
        assert!(all.contains("invalid JSON at line 2 column"), "{all}");
    }

    #[test]
    fn criteria_errors_show_the_column_with_a_caret() {
        let err = load_text(r#"{"actions":{"a":{"criteria":"ip_nat == false && ssl_version == ;","targets":["l"]}},"targets":{"l":{"target_type":"log"}}}"#)
            .unwrap_err();
        let p = err.problems.iter().find(|p| p.path.starts_with("$.actions.a.criteria")).unwrap();
        assert!(p.path.ends_with("column 35"), "{}", p.path);
        assert!(p.detail.as_deref().unwrap().contains('^'), "{p}");
    }

    #[test]
    fn exemptions_accept_addresses_cidrs_and_expressions() {
        let c = load_text(
            r#"{"exemptions":["10.0.0.0/8","fe80::1","local_port == 22;"],
                "actions":{"a":{"criteria":"*","targets":["l"]}},"targets":{"l":{"target_type":"log"}}}"#,
        )
        .unwrap();
        assert!(matches!(c.actions.exemptions[0], Exemption::Network(_)));
        assert!(matches!(c.actions.exemptions[1], Exemption::Network(_)));
        assert!(matches!(c.actions.exemptions[2], Exemption::Expression(_)));
    }
}
