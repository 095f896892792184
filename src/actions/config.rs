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
use crate::enforce::log::LogConfig;
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
}

impl TargetSpec {
    pub fn name(&self) -> &str {
        match self {
            TargetSpec::NftSet(c) => &c.name,
            TargetSpec::Log(c) => &c.name,
            TargetSpec::Sink(c) => &c.name,
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
const SINK_KEYS: &[&str] = &["socket", "path", "channel", "sink"];
/// Target types Netify has that this version cannot apply yet.
const LATER_TARGET_TYPES: &[&str] = &["ipset", "ctlabel", "ctmark"];

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
        if top.contains_key("target_globals") {
            self.warn("$.target_globals", "accepted but not implemented in this version yet");
        }
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
                    if let Some(spec) = self.target(name, value, defaults) {
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

    fn target(&mut self, name: &str, value: &Value, defaults: &Map<String, Value>) -> Option<TargetSpec> {
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
            "pftable" => {
                self.error(
                    &format!("{path}.target_type"),
                    "target type 'pftable' (BSD pf tables) is not available on Linux",
                );
                None
            }
            t if LATER_TARGET_TYPES.contains(&t) => {
                self.error(
                    &format!("{path}.target_type"),
                    format!(
                        "target type '{t}' is not implemented in this version of flowsieve yet (nftset, log and sink are)"
                    ),
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
        let set_name = match props.get("set_name") {
            Some((Value::String(s), _)) if !s.is_empty() => s.clone(),
            Some((other, p)) => {
                self.error(&p, format!("expected a non-empty string, found {}", kind(other)));
                return None;
            }
            None => {
                self.error(path, "missing key 'set_name'");
                return None;
            }
        };
        let table_name = self.string(props, "table_name", "nfa");
        let table_family = self.string(props, "table_family", "inet");
        if !["inet", "ip", "ip6", "bridge", "netdev"].contains(&table_family.as_str()) {
            let p = props.path_of("table_family");
            self.error(&p, format!("unknown table family '{table_family}' (expected inet, ip, ip6, bridge or netdev)"));
        }
        let set_family = match self.string(props, "set_family", "*").as_str() {
            "*" => SetFamily::Both,
            "ipv4" => SetFamily::V4,
            "ipv6" => SetFamily::V6,
            other => {
                let p = props.path_of("set_family");
                self.error(&p, format!("unknown set family '{other}' (expected \"*\", \"ipv4\" or \"ipv6\")"));
                SetFamily::Both
            }
        };
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
        // Netify documents `max_elements`; its own example and NethSecurity use `size`.
        let size = if props.get("size").is_some() {
            self.number(props, "size", 65536)
        } else {
            self.number(props, "max_elements", 65536)
        };
        let ttl = self.number(props, "ttl", 0);
        let managed = self.flag(props, "managed", false);
        let flush_on_create = self.flag(props, "flush_on_create", false);
        let flush_on_destroy = self.flag(props, "flush_on_destroy", false);
        let size = u32::try_from(size).unwrap_or(u32::MAX);
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
        if socket.is_none() && file.is_none() {
            self.error(path, "a sink needs a destination: 'socket' (a UNIX socket path to listen on) and/or 'path' (a JSON-lines file)");
            return None;
        }
        Some(SinkConfig { name: name.to_string(), socket, path: file, channel, sink })
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
                "i": { "target_type": "ipset" },
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
            "error: $.targets.i.target_type: target type 'ipset' is not implemented in this version",
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
