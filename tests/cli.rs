//! What the command line shows: `--version` with the git commit, `status --help` with only its
//! own options, `run`'s usage saying an interface is needed, the man pages and completions.

use std::process::Command;

fn flowsieve(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flowsieve")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_names_the_commit() {
    let (ok, stdout, _) = flowsieve(&["--version"]);
    assert!(ok);
    let rest = stdout.trim().strip_prefix(concat!("flowsieve ", env!("CARGO_PKG_VERSION"), " (git ")).expect(&stdout);
    let commit = rest.strip_suffix(')').expect(&stdout);
    assert!(commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())), "{stdout}");
}

#[test]
fn status_help_lists_only_status_options() {
    let (ok, stdout, _) = flowsieve(&["status", "--help"]);
    assert!(ok);
    let options: Vec<&str> =
        stdout.split_whitespace().filter(|w| w.starts_with("--")).map(|w| w.trim_end_matches(',')).collect();
    assert_eq!(options, ["--control-socket", "--json", "--help"], "{stdout}");
}

#[test]
fn run_usage_says_an_interface_is_needed() {
    let (ok, stdout, _) = flowsieve(&["run", "--help"]);
    assert!(ok);
    let usage = stdout.lines().find(|l| l.starts_with("Usage:")).unwrap();
    assert!(usage.contains("<-I <IFACE> | -E <IFACE> | --nfqueue <lan|wan=FIRST[:COUNT]>>..."), "{usage}");
    for option in ["--ring-size <MIB>", "--netifyd-conf <FILE>", "--log-format <FORMAT>", "--apps <FILE>"] {
        assert!(stdout.contains(option), "run --help lacks {option}");
    }
    // Options of the whole program still work after the subcommand and before it.
    let (ok, _, stderr) =
        flowsieve(&["-v", "run", "--log-format", "json", "--netifyd-conf", "/nonexistent/netifyd.conf"]);
    assert!(!ok);
    assert!(
        stderr.contains("nothing to capture") && stderr.contains("/nonexistent/netifyd.conf does not exist"),
        "{stderr}"
    );
}

#[test]
fn generates_man_pages_and_completions() {
    let dir = std::env::temp_dir().join(format!("flowsieve-cli-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (ok, stdout, stderr) = flowsieve(&["generate", "man", dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.lines().count(), 7, "{stdout}");
    let main = std::fs::read_to_string(dir.join("flowsieve.8")).unwrap();
    assert!(main.contains(".TH flowsieve 8"), "{main}");
    assert!(main.contains("flowsieve\\-run(8)"), "the main page lists the command pages");
    assert!(!main.contains("generate"), "the hidden command is not documented");
    let run = std::fs::read_to_string(dir.join("flowsieve-run.8")).unwrap();
    assert!(run.contains("ring\\-size"));
    for shell in ["bash", "zsh", "fish"] {
        let (ok, stdout, stderr) = flowsieve(&["generate", "completions", shell]);
        assert!(ok && stdout.contains("ring-size") && stdout.contains("netifyd-conf"), "{shell}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
