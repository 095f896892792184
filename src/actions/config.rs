//! Loading Netify's `netify-proc-flow-actions.json`.
//!
//! The file is read as plain JSON (key order kept: `halt_on_match` depends on it) and walked by
//! hand so every problem can name its JSON path, and the criteria column. Every problem is
//! collected; a file with any error does not load, warnings never stop it.
//!
//! This is the generic walker: the top level, actions, exemptions, schedules and criteria. Each
//! target object is read by its kind ([`TargetSpec::parse`], with its type's `target_defaults`
//! entry and the parsed `target_globals`): the kinds, their keys and their defaults live in
//! `enforce`, one file each (see `enforce::kind`, which also says why this module depends on
//! `enforce` and not the reverse). Target properties merge as: built-in default <
//! `target_defaults[type]` < the target's own keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::schedule::{self, Schedule, Window, Zone};
use super::{Action, ActionSet, Exemption, InterfaceMatch};
use crate::criteria::{AddressGroups, CompileContext, Criteria};
use crate::enforce::kind::{kind, Problems};
pub use crate::enforce::kind::{Problem, Severity};
use crate::enforce::TargetGlobals;
pub use crate::enforce::TargetSpec;

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
    let text = crate::input::read_file(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    parse_with(&text, path, groups)
}

/// Compile configuration text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<FlowActionsConfig, ConfigError> {
    parse_with(text, path, None)
}

/// Compile configuration text with address groups for `@name` operands.
pub fn parse_with(text: &str, path: &Path, groups: Option<&AddressGroups>) -> Result<FlowActionsConfig, ConfigError> {
    let mut loader = Loader { problems: Problems::default(), context: CompileContext { address_groups: groups } };
    let root = match crate::input::parse_json(text) {
        Ok((root, duplicates)) => {
            for d in duplicates {
                duplicate_key(&mut loader.problems, &d);
            }
            root
        }
        Err(e) => {
            loader.problems.error("$", format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()));
            return Err(ConfigError { path: path.to_path_buf(), problems: loader.problems.into_vec() });
        }
    };
    let config = loader.root(&root, path);
    if loader.problems.has_errors() {
        return Err(ConfigError { path: path.to_path_buf(), problems: loader.problems.into_vec() });
    }
    Ok(FlowActionsConfig { warnings: loader.problems.into_vec(), ..config })
}

/// A key given twice in one object: JSON readers keep one of the values (serde_json the last,
/// which flowsieve then uses), so with different values the file means two things and which one
/// decides what is blocked depends on the reader: an error. With the same value, a warning.
fn duplicate_key(problems: &mut Problems, d: &crate::input::DuplicateKey) {
    if d.same_value {
        problems.warn(&d.path, format!("key '{}' appears more than once in this object (same value)", d.key));
    } else {
        problems.error(
            &d.path,
            format!(
                "key '{}' appears more than once in this object with different values \
                 (only the last would be used): remove all but one",
                d.key
            ),
        );
    }
}

struct Loader<'g> {
    problems: Problems,
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
/// The top-level keys a misspelling of which is an error, not a warning: they decide who is
/// matched, exempt or acted on (every key of an action and of a `time_of_day` window does too).
const DECISIVE_TOP_KEYS: &[&str] = &["timezone", "exemptions", "actions", "targets", "target_defaults"];
const ACTION_KEYS: &[&str] =
    &["criteria", "targets", "exemptions", "enabled", "halt_on_match", "interface", "time_of_day"];
const WINDOW_KEYS: &[&str] = &["day", "time_start", "time_end", "policy"];
/// The `version`s of the flow-actions file this reader understands (Netify's examples write 1;
/// NethSecurity's files leave it out).
pub const SUPPORTED_VERSIONS: &[u64] = &[1];
impl Loader<'_> {
    fn root(&mut self, root: &Value, path: &Path) -> FlowActionsConfig {
        let mut config = FlowActionsConfig {
            path: path.to_path_buf(),
            actions: ActionSet::default(),
            targets: Vec::new(),
            warnings: Vec::new(),
        };
        let Some(top) = self.problems.object(root, "$") else {
            return config;
        };
        self.problems.unknown_keys(top, "$", &[TOP_KEYS], DECISIVE_TOP_KEYS);
        config.actions.reprocess_flows = self.boolean(top, "reprocess_flows", "$", false);
        let zone = match top.get("timezone") {
            None => Zone::Local,
            Some(Value::String(name)) => match name.parse::<chrono_tz::Tz>() {
                Ok(tz) => Zone::Named(tz),
                Err(_) => {
                    self.problems.error(
                        "$.timezone",
                        format!("unknown time zone '{name}' (expected an IANA name such as \"Europe/Rome\")"),
                    );
                    Zone::Local
                }
            },
            Some(other) => {
                self.problems.error("$.timezone", format!("expected a string, found {}", kind(other)));
                Zone::Local
            }
        };
        let globals = match top.get("target_globals") {
            Some(v) => TargetGlobals::parse(v, &mut self.problems),
            None => TargetGlobals::default(),
        };
        match top.get("version") {
            None => {}
            Some(Value::Number(n)) if n.as_u64().is_some_and(|v| SUPPORTED_VERSIONS.contains(&v)) => {}
            Some(Value::Number(n)) => {
                let supported: Vec<String> = SUPPORTED_VERSIONS.iter().map(u64::to_string).collect();
                self.problems.error(
                    "$.version",
                    format!(
                        "unknown version {n}: this flowsieve reads version {} (or no version key)",
                        supported.join(", ")
                    ),
                );
            }
            Some(v) => self.problems.error("$.version", format!("expected a number, found {}", kind(v))),
        }
        if let Some(v) = top.get("exemptions") {
            config.actions.exemptions = self.exemptions(v, "$.exemptions");
        }
        let empty = Map::new();
        let defaults = match top.get("target_defaults") {
            Some(v) => self.problems.object(v, "$.target_defaults").unwrap_or(&empty),
            None => &empty,
        };
        let mut target_names: Vec<&str> = Vec::new();
        if let Some(targets) = top.get("targets") {
            if let Some(targets) = self.problems.object(targets, "$.targets") {
                for (name, value) in targets {
                    target_names.push(name);
                    if let Some(spec) = TargetSpec::parse(name, value, defaults, &globals, &mut self.problems) {
                        config.targets.push(spec);
                    }
                }
            }
        }
        match top.get("actions") {
            // `{}` (what NethSecurity ships before any rule) and configurations with targets
            // only are valid: the agent then tracks flows and acts on none.
            None => {}
            Some(actions) => {
                if let Some(actions) = self.problems.object(actions, "$.actions") {
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
        let map = self.problems.object(value, &path)?;
        self.problems.unknown_keys(map, &path, &[ACTION_KEYS], ACTION_KEYS);
        let enabled = self.boolean(map, "enabled", &path, true);
        let halt_on_match = self.boolean(map, "halt_on_match", &path, false);
        let interface = match map.get("interface") {
            None => InterfaceMatch::Any,
            Some(Value::String(s)) => InterfaceMatch::parse(s),
            Some(other) => {
                self.problems.error(
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
            None => self.problems.error(&path, "missing key 'criteria'"),
            Some(Value::String(text)) => criteria.extend(self.criteria(text, &format!("{path}.criteria"))),
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}.criteria[{i}]");
                    match item {
                        Value::String(text) => criteria.extend(self.criteria(text, &item_path)),
                        other => self.problems.error(&item_path, format!("expected a string, found {}", kind(other))),
                    }
                }
            }
            Some(other) => self.problems.error(
                &format!("{path}.criteria"),
                format!("expected a string or a non-empty array of strings, found {}", kind(other)),
            ),
        }
        let mut targets = Vec::new();
        match map.get("targets") {
            None => self.problems.error(&path, "missing key 'targets'"),
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}.targets[{i}]");
                    match item.as_str() {
                        Some(t) if target_names.contains(&t) => targets.push(Arc::from(t)),
                        Some(t) => self.problems.error(&item_path, format!("no target named '{t}' in $.targets")),
                        None => self.problems.error(&item_path, format!("expected a string, found {}", kind(item))),
                    }
                }
            }
            Some(other) => self.problems.error(
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
            self.problems.error(
                path,
                format!("expected an array of {{day, time_start, time_end, policy}} objects, found {}", kind(value)),
            );
            return Vec::new();
        };
        let mut windows = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let Some(map) = self.problems.object(item, &item_path) else { continue };
            self.problems.unknown_keys(map, &item_path, &[WINDOW_KEYS], WINDOW_KEYS);
            let mut days = 0u8;
            match map.get("day") {
                None => days = 0x7f,
                Some(Value::String(d)) => match schedule::parse_day(d) {
                    Ok(bit) => days = bit,
                    Err(e) => self.problems.error(&format!("{item_path}.day"), e.to_string()),
                },
                Some(Value::Array(list)) => {
                    for (j, d) in list.iter().enumerate() {
                        match d.as_str().map(schedule::parse_day) {
                            Some(Ok(bit)) => days |= bit,
                            Some(Err(e)) => self.problems.error(&format!("{item_path}.day[{j}]"), e.to_string()),
                            None => self.problems.error(
                                &format!("{item_path}.day[{j}]"),
                                format!("expected a day name, found {}", kind(d)),
                            ),
                        }
                    }
                }
                Some(other) => self.problems.error(
                    &format!("{item_path}.day"),
                    format!("expected an array of day names, found {}", kind(other)),
                ),
            }
            let mut time = |key: &str, default: u16| match map.get(key) {
                None => default,
                Some(Value::String(t)) => schedule::parse_time(t).unwrap_or_else(|e| {
                    self.problems.error(&format!("{item_path}.{key}"), e.to_string());
                    default
                }),
                Some(other) => {
                    self.problems
                        .error(&format!("{item_path}.{key}"), format!("expected \"HH:MM\", found {}", kind(other)));
                    default
                }
            };
            let start = time("time_start", 0);
            let end = time("time_end", 0);
            let policy = map.get("policy").and_then(Value::as_str).unwrap_or("inclusive");
            match Window::new(days, start, end, policy) {
                Ok(w) => windows.push(w),
                Err(e) => self.problems.error(&format!("{item_path}.policy"), e.to_string()),
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
            self.problems.error(path, format!("expected an array of strings, found {}", kind(value)));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let Some(text) = item.as_str() else {
                self.problems.error(&item_path, format!("expected a string, found {}", kind(item)));
                continue;
            };
            // Netify: an exemption is an address, or a criteria expression ending with ';'.
            if let Ok(net) = text.parse() {
                out.push(Exemption::Network(net));
            } else if text.trim_end().ends_with(';') {
                out.extend(self.criteria(text, &item_path).map(Exemption::Expression));
            } else {
                self.problems.error(
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
                self.problems.error(&format!("{path}.{key}"), format!("expected true or false, found {}", kind(other)));
                default
            }
        }
    }
}

/// The criteria text with a caret under `column` (1-based).
fn caret(text: &str, column: usize) -> String {
    format!("{text}\n{}^", " ".repeat(column.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::enforce::ctlabel::LabelRef;
    use crate::enforce::nftset::{KeyPart, SetFamily};
    use crate::netlink::ipset::{IpsetType, SkbInfo};

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
                "i": { "target_type": "sink", "channel": 5 },
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
            "error: $.targets.i.channel: expected a string, found a number",
            "error: $.targets.l.interval: expected a number, found a string",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
    }

    #[test]
    fn empty_configuration_and_one_without_actions_load() {
        let empty = load_text("{}").unwrap();
        assert!(empty.actions.actions.is_empty() && empty.targets.is_empty());
        assert!(empty.warnings.is_empty(), "{:?}", empty.warnings);
        let targets_only = load_text(r#"{"targets":{"l":{"target_type":"log"}}}"#).unwrap();
        assert!(targets_only.actions.actions.is_empty());
        assert_eq!(targets_only.targets.len(), 1);
    }

    #[test]
    fn sink_by_sink_and_channel_or_own_destination() {
        // Netify's v5 form: a sink plugin and a channel, no destination of flowsieve's own.
        let c = load_text(
            r#"{"actions":{"a":{"criteria":"*","targets":["s"]}},"targets":{"s":{"target_type":"sink","sink":"sink-socket","channel":"flow actions"}}}"#,
        )
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let TargetSpec::Sink(sink) = &c.targets[0] else { panic!() };
        assert_eq!(sink.socket.as_deref(), Some(Path::new("/run/flowsieve/sink-socket.flow_actions.sock")));
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
    fn ipset_address_type_and_nftset_mark_interface_keys() {
        use crate::enforce::ipset::MemberSide;
        let c = load_text(
            r#"{"actions":{"a":{"criteria":"*","targets":["i","n"]}},
                "targets":{"i":{"target_type":"ipset","set_name":"s","address_type":"src"},
                           "n":{"target_type":"nftset","set_name":"m","type":["local_addr","mark","interface"]}}}"#,
        )
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let TargetSpec::Ipset(i) = &c.targets[0] else { panic!() };
        assert_eq!(i.side, MemberSide::Src);
        let all =
            problems(r#"{"actions":{},"targets":{"i":{"target_type":"ipset","set_name":"s","address_type":"both"}}}"#)
                .join("\n");
        assert!(
            all.contains(r#"$.targets.i.address_type: unknown address_type 'both' (expected "src" or "dst")"#),
            "{all}"
        );
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
