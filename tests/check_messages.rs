//! What `flowsieve check` (and `run`, `replay`) tell a user about a configuration that does not
//! say what it seems to: keys given twice, an unknown `version`, misspelt keys ("did you mean",
//! an error where the misspelling changes who is blocked or exempt), terminal control characters
//! in keys, values and file names (escaped, never printed raw), side files read with the same
//! limits as the configuration (and the address groups checked for keys given twice); and `replay` reporting the flows a full table evicts.

mod common {
    pub mod cli;
}

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_flowsieve");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weak-tls.pcap");

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("flowsieve-check-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs flowsieve (killed after 20 s): (exit code, stdout + stderr).
fn run(args: &[&str]) -> (Option<i32>, String) {
    let (code, text, _) = common::cli::run(BIN, args, Duration::from_secs(20));
    (code, text)
}

fn check(config: &Path) -> (Option<i32>, String) {
    run(&["check", "--config", config.to_str().unwrap()])
}

/// A valid configuration with `extra_action` keys added to the action `block-weak` and `top`
/// keys added at the top level (both JSON fragments ending with a comma, or empty).
fn config(top: &str, extra_action: &str) -> String {
    format!(
        r#"{{ {top}
  "actions": {{
    "block-weak": {{ {extra_action} "criteria": "ssl_version == 0x0302;", "targets": ["log.weak"] }}
  }},
  "targets": {{ "log.weak": {{ "target_type": "log", "path": "/tmp" }} }}
}}"#
    )
}

#[test]
fn the_base_configuration_is_clean() {
    let dir = Dir::new("base");
    let (code, text) = check(&dir.file("c.json", &config("", "")));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("OK: 1 action(s), 1 target(s), 0 warning(s)"), "{text}");
}

/// Netify's detection-state attributes load without a caveat: `soft_dissector` is set by the
/// soft dissectors (docs/FLOW-ACTIONS.md §5), `fhc_hit` is false (no flow hash cache).
#[test]
fn soft_dissector_and_fhc_hit_load_without_warnings() {
    let dir = Dir::new("soft");
    let text = r#"{
  "actions": {
    "soft": { "criteria": "soft_dissector == true && !fhc_hit;", "targets": ["log.soft"] },
    "not-soft": { "criteria": "app == 'netify.steam' && !soft_dissector;", "targets": ["log.soft"] }
  },
  "targets": { "log.soft": { "target_type": "log", "path": "/tmp" } }
}"#;
    let (code, text) = check(&dir.file("c.json", text));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("OK: 2 action(s), 1 target(s), 0 warning(s)"), "{text}");
    for word in ["not supported", "not implemented", "always false", "unknown"] {
        assert!(!text.contains(word), "{word}: {text}");
    }
}

#[test]
fn duplicate_keys_are_reported_with_their_path() {
    let dir = Dir::new("dup");
    // A second criteria in the same action: JSON readers keep one, so the file means two things.
    let (code, text) = check(&dir.file("c.json", &config("", r#""criteria": "true;","#)));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("error: $.actions.block-weak.criteria: key 'criteria' appears more than once in this object with different values"),
        "{text}"
    );
    // The same whole action twice, one of them different: an error at the action's path.
    let twice = config("", "")
        .replace(r#""actions": {"#, r#""actions": { "block-weak": { "criteria": "true;", "targets": ["log.weak"] },"#);
    let (code, text) = check(&dir.file("c.json", &twice));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("error: $.actions.block-weak: key 'block-weak' appears more than once"), "{text}");
    // The same value twice changes nothing: a warning, and the file loads.
    let (code, text) = check(&dir.file("c.json", &config(r#""version": 1, "version": 1,"#, "")));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("warning: $.version: key 'version' appears more than once in this object (same value)"),
        "{text}"
    );
}

#[test]
fn an_unknown_version_is_an_error_naming_the_supported_one() {
    let dir = Dir::new("version");
    let (code, text) = check(&dir.file("c.json", &config(r#""version": 99,"#, "")));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("error: $.version: unknown version 99: this flowsieve reads version 1"), "{text}");
    let (code, text) = check(&dir.file("c.json", &config(r#""version": 1,"#, "")));
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn misspelt_keys_get_the_closest_spelling_and_fail_where_they_change_who_is_blocked() {
    let dir = Dir::new("spelling");
    // An exemption that would be ignored: the exempt host would be blocked.
    for (top, action, path, best) in [
        ("", r#""exemption": ["192.168.1.50"],"#, "$.actions.block-weak.exemption", "exemptions"),
        (r#""exemptoins": ["192.168.1.50"],"#, "", "$.exemptoins", "exemptions"),
        ("", r#""halt_on_mach": true,"#, "$.actions.block-weak.halt_on_mach", "halt_on_match"),
        ("", r#""enabeld": false,"#, "$.actions.block-weak.enabeld", "enabled"),
    ] {
        let (code, text) = check(&dir.file("c.json", &config(top, action)));
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains(&format!("error: {path}: unknown key: did you mean '{best}'?")), "{text}");
    }
    let misspelt_target = config("", "").replace(r#""path": "/tmp""#, r#""path": "/tmp", "target_enabeld": false"#);
    let (code, text) = check(&dir.file("c.json", &misspelt_target));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("did you mean 'target_enabled'?"), "{text}");
    // Keys that decide nothing about matching stay warnings, with the suggestion.
    let (code, text) = check(&dir.file("c.json", &config(r#""versoin": 1, "reprocess_flow": true,"#, "")));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("warning: $.versoin: unknown key, ignored: did you mean 'version'?"), "{text}");
    assert!(
        text.contains("warning: $.reprocess_flow: unknown key, ignored: did you mean 'reprocess_flows'?"),
        "{text}"
    );
    let log_typo = config("", "").replace(r#""path": "/tmp""#, r#""path": "/tmp", "intreval": 5"#);
    let (code, text) = check(&dir.file("c.json", &log_typo));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(
            "warning: $.targets.log.weak.intreval: unknown key for this target type, ignored: did you mean 'interval'?"
        ),
        "{text}"
    );
    // Nothing close: no suggestion.
    let (code, text) = check(&dir.file("c.json", &config(r#""comment": "mine","#, "")));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("warning: $.comment: unknown key, ignored\n"), "{text}");
}

/// The characters a message must never print raw.
fn has_raw_controls(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

#[test]
fn terminal_controls_in_keys_values_and_file_names_are_escaped() {
    let dir = Dir::new("escape");
    let hostile = config(
        r#""\u001b]0;owned\u0007": 1, "timezone": "Europe/\u202eemoR",
           "exemptions": ["10.0.0.\u0000 1"],"#,
        r#""x\u009b31m": 1,"#,
    );
    let name = "evil\u{1b}[2J\u{2066}.json";
    let (code, text) = check(&dir.file(name, &hostile));
    assert_eq!(code, Some(1), "{text}");
    assert!(!has_raw_controls(&text), "raw control characters in:\n{text:?}");
    for expected in [
        "$.\\x1b]0;owned\\x07: unknown key",
        "unknown time zone 'Europe/\\u{202e}emoR'",
        "'10.0.0.\\x00 1' is neither",
        "$.actions.block-weak.x\\u{9b}31m",
        "evil\\x1b[2J\\u{2066}.json: ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // `replay` loads the configuration the same way: its messages are escaped too.
    let (code, text) = run(&["replay", "--config", dir.0.join(name).to_str().unwrap(), FIXTURE]);
    assert_eq!(code, Some(1), "{text}");
    assert!(!has_raw_controls(&text), "raw control characters in:\n{text:?}");
    assert!(text.contains("Europe/\\u{202e}emoR"), "{text}");
}

#[test]
fn the_address_groups_file_is_read_with_the_configurations_limits() {
    let dir = Dir::new("groups");
    let config = dir.file("c.json", &config("", ""));
    let fifo = dir.0.join("groups.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let started = Instant::now();
    let (code, text) =
        run(&["check", "--config", config.to_str().unwrap(), "--address-groups", fifo.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("not a regular file") && started.elapsed() < Duration::from_secs(10), "{text}");
    let big = dir.0.join("big.json");
    std::fs::File::create(&big).unwrap().set_len(5 << 20).unwrap();
    let (code, text) = run(&["check", "--config", config.to_str().unwrap(), "--address-groups", big.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("at most"), "{text}");
}

#[test]
fn duplicate_keys_in_the_address_groups_file_are_reported_with_their_path() {
    let dir = Dir::new("groups-dup");
    // The group `iot` is used, and given twice: which addresses it holds depends on the reader.
    let config = dir.file("c.json", &config("", "").replace("ssl_version == 0x0302;", "other_ip == @iot;"));
    let groups = |text: &str| {
        let file = dir.file("groups.json", text);
        run(&["check", "--config", config.to_str().unwrap(), "--address-groups", file.to_str().unwrap()])
    };
    let (code, text) = groups(r#"{"iot": {"ips": ["10.0.0.1"]}, "iot": {"ips": ["10.0.0.2"]}}"#);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("groups.json: $.iot: key 'iot' appears more than once in this object with different values"),
        "{text}"
    );
    // Netify's shape, a member list given twice inside one group.
    let (code, text) = groups(r#"{"address_groups": [{"name": "iot", "ips": ["10.0.0.1"], "ips": ["10.0.0.9"]}]}"#);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("$.address_groups[0].ips: key 'ips' appears more than once"), "{text}");
    // The same value twice changes nothing: a warning, and the file loads.
    let (code, text) = groups(r#"{"iot": {"ips": ["10.0.0.1"], "ips": ["10.0.0.1"]}}"#);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("$.iot.ips: key 'ips' appears more than once in this object (same value)"), "{text}");
    let (code, text) = groups(r#"{"iot": {"ips": ["10.0.0.1"]}}"#);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("more than once"), "{text}");
}

#[test]
fn the_connlabel_file_is_read_with_the_configurations_limits() {
    let dir = Dir::new("connlabel");
    let fifo = dir.0.join("connlabel.conf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let text = format!(
        r#"{{"actions":{{}},"targets":{{"l":{{"target_type":"ctlabel","labels":["blocked"]}}}},
            "target_globals":{{"ctlabel":{{"connlabel_conf":"{}"}}}}}}"#,
        fifo.display()
    );
    let started = Instant::now();
    let (_, text) = check(&dir.file("c.json", &text));
    assert!(text.contains("not a regular file") && started.elapsed() < Duration::from_secs(10), "{text}");
}

/// `replay`'s flow lines and summary with `extra` options.
fn replay(extra: &[&str]) -> (u64, String) {
    let mut args = vec!["replay", "--config", concat!(env!("CARGO_MANIFEST_DIR"), "/examples/weak-tls.json")];
    args.extend_from_slice(extra);
    args.push(FIXTURE);
    let (code, text) = run(&args);
    assert_eq!(code, Some(0), "{text}");
    let flows = text
        .lines()
        .find_map(|l| l.split(" packets, ").nth(1)?.split(" flows").next()?.parse().ok())
        .unwrap_or_else(|| panic!("no summary in:\n{text}"));
    (flows, text)
}

#[test]
fn replay_reports_the_flows_a_full_table_evicts() {
    let (all, text) = replay(&[]);
    assert!(all >= 2, "the fixture has several flows:\n{text}");
    assert!(text.contains("0 evicted"), "{text}");
    for options in [&["--max-flows", "1"][..], &["--workers", "2", "--max-flows", "1"]] {
        let (with_one_slot, text) = replay(options);
        assert_eq!(with_one_slot, all, "{options:?}: every flow is reported, evicted ones too:\n{text}");
        assert!(!text.contains(" 0 evicted"), "{options:?}: {text}");
    }
}

#[test]
fn an_unknown_control_socket_group_is_refused_before_anything_runs() {
    let (code, text) = run(&["run", "--control-socket-group", "no-such-group-x", "-I", "lo"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("no group named 'no-such-group-x'"), "{text}");
}
