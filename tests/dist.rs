//! The files in dist/: the systemd unit passes `systemd-analyze verify` and its command line is
//! one the binary accepts; the OpenWrt init script is valid shell and passes only options that
//! exist; the packaged default configuration is valid.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_flowsieve");

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flowsieve-dist-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tool the test needs: present, or (outside CI) a printed reason to skip.
fn tool_missing(tool: &str, arg: &str) -> bool {
    if Command::new(tool).arg(arg).output().is_ok_and(|o| o.status.success()) {
        return false;
    }
    assert!(std::env::var_os("CI").is_none(), "{tool} is missing under CI (.ci/run installs it)");
    eprintln!("skipped: {tool} is not installed");
    true
}

/// `systemd-analyze verify` on the unit, its ExecStart pointed at the binary under test (verify
/// checks that the program exists). verify exits 0 even for unknown keys and bad values, so
/// any output on stderr fails the test too.
fn verify(unit_text: &str, dir: &Path) -> (bool, String) {
    let unit = dir.join("flowsieve.service");
    std::fs::write(&unit, unit_text.replace("/usr/bin/flowsieve", BIN)).unwrap();
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&unit).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success() && stderr.trim().is_empty(), stderr)
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    if tool_missing("systemd-analyze", "--version") {
        return;
    }
    let dir = temp_dir("verify");
    let unit = read("dist/systemd/flowsieve.service");
    let (ok, stderr) = verify(&unit, &dir);
    assert!(ok, "systemd-analyze verify: {stderr}");
    for needed in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW\n",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW\n",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "RuntimeDirectory=flowsieve",
        "RuntimeDirectoryPreserve=yes",
        "Restart=on-failure",
        "User=flowsieve",
    ] {
        assert!(unit.contains(needed), "the unit lacks {needed:?}");
    }
    // The check itself catches mistakes: a misspelt value is reported.
    let (ok, stderr) = verify(&unit.replace("ProtectHome=yes", "ProtectHome=maybe"), &dir);
    assert!(!ok && stderr.contains("protect home value"), "a bad value went unnoticed: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The unit's command line with /etc/default/flowsieve's options, the packaged configuration
/// in place of its installed path.
fn unit_command_line() -> Vec<String> {
    let unit = read("dist/systemd/flowsieve.service");
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let defaults = read("dist/systemd/flowsieve.default");
    let opts = defaults
        .lines()
        .find_map(|l| l.strip_prefix("FLOWSIEVE_OPTS="))
        .expect("FLOWSIEVE_OPTS in flowsieve.default")
        .trim_matches('"')
        .replace("/etc/flowsieve/flow-actions.json", repo("dist/flow-actions.json").to_str().unwrap());
    exec.replace("$FLOWSIEVE_OPTS", &opts).split_whitespace().map(str::to_string).collect()
}

#[test]
fn systemd_command_line_is_accepted_and_the_default_configuration_is_valid() {
    let args = unit_command_line();
    assert_eq!(args[0], "/usr/bin/flowsieve");
    assert!(args.iter().any(|a| a == "/run/flowsieve/flowsieve.sock"), "{args:?}");
    // Every option of the unit's command line parses: clap reports an unknown option or a bad
    // value before it acts on the trailing `--help`. (Running it for real would wait for the
    // missing interface, which the agent now does, and touch the host's firewall.)
    let out = Command::new(BIN).args(&args[1..]).args(["-I", "fs-no-such-if0", "--help"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let out = Command::new(BIN)
        .args(&args[1..])
        .args(["-I", "fs-no-such-if0", "--no-such-option", "--help"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a bad option must fail before --help (else this check proves nothing)");

    let out = Command::new(BIN).args(["check", "-c"]).arg(repo("dist/flow-actions.json")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("OK: 1 action(s), 1 target(s), 0 warning(s)"), "{stdout}");
}

#[test]
fn openwrt_init_script_is_valid_shell_with_options_that_exist() {
    let script = repo("dist/openwrt/flowsieve.init");
    let out = Command::new("sh").arg("-n").arg(&script).output().unwrap();
    assert!(out.status.success(), "sh -n: {}", String::from_utf8_lossy(&out.stderr));
    let text = read("dist/openwrt/flowsieve.init");
    assert!(text.starts_with("#!/bin/sh /etc/rc.common\n") && text.contains("USE_PROCD=1"));

    let help = Command::new(BIN).args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    // Long options, and the short ones handed to add_option.
    let mut options: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || c == '"').filter(|w| w.len() > 2 && w.starts_with("--")).collect();
    options.extend(text.split_whitespace().filter(|w| matches!(*w, "-I" | "-E" | "-A")));
    assert!(options.contains(&"--ring-size") && options.contains(&"-I"), "{options:?}");
    for option in options {
        assert!(help.contains(option), "the init script passes {option}, which `run --help` does not list");
    }
    // Every UCI option the script reads is documented in the shipped config.
    let config = read("dist/openwrt/flowsieve.config");
    for line in text.lines().filter(|l| l.contains("config_get") || l.contains("config_list_foreach")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let option = match words.first() {
            Some(&"config_get") => words.get(3),
            Some(&"config_get_bool") => words.get(3),
            Some(&"config_list_foreach") => words.get(2),
            _ => None,
        };
        if let Some(option) = option {
            assert!(
                config.contains(&format!("option {option} ")) || config.contains(&format!("list {option} ")),
                "UCI option {option} is read by the init script but not in flowsieve.config"
            );
        }
    }
}

#[test]
fn openwrt_makefile_installs_files_that_exist() {
    let makefile = read("dist/openwrt/Makefile");
    for file in ["flowsieve.init", "flowsieve.config"] {
        assert!(makefile.contains(&format!("./{file} ")), "Makefile does not install {file}");
        assert!(repo("dist/openwrt").join(file).is_file());
    }
    assert!(makefile.contains("$(FLOWSIEVE_SRC)/dist/flow-actions.json"));
    assert!(repo("dist/flow-actions.json").is_file());
    // rust-package.mk builds with this profile.
    assert!(read("Cargo.toml").contains("[profile.stripped]"));
}
