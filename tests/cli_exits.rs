//! Exit codes and input limits of the command line: configuration files that are not regular
//! files or too large are refused at once (a FIFO does not hang `check`), a file that is not a
//! capture makes `replay` and `explain` exit 1, and a reader that goes away (`| head -1`) ends
//! the output without a panic.

mod common {
    pub mod cli;
}

use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_flowsieve");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/weak-tls.json");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/weak-tls.pcap");

fn dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("flowsieve-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs flowsieve, killing it after 10 s: (exit code, stdout + stderr, how long it took).
fn run(args: &[&str]) -> (Option<i32>, String, Duration) {
    common::cli::run(BIN, args, Duration::from_secs(10))
}

#[test]
fn configuration_files_must_be_regular_and_bounded() {
    let dir = dir("config");
    let fifo = dir.join("fifo.json");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (code, text, took) = run(&["check", "--config", fifo.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("not a regular file") && took < Duration::from_secs(5), "{took:?} {text}");
    let (code, text, _) = run(&["check", "--config", "/dev/urandom"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("not a regular file"), "{text}");
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; 5 << 20]).unwrap();
    let (code, text, _) = run(&["check", "--config", big.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("at most"), "{text}");
    let (code, text, _) = run(&["check", "--config", EXAMPLE]);
    assert_eq!(code, Some(0), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_is_not_a_capture_is_exit_1() {
    let dir = dir("capture");
    let text_file = dir.join("notes.pcap");
    std::fs::write(&text_file, "not a capture\n").unwrap();
    for command in ["replay", "explain"] {
        let (code, text, _) = run(&[command, "--config", EXAMPLE, text_file.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{command}: {text}");
        assert_eq!(text.matches("not a pcap or pcapng file").count(), 1, "{command}: the cause once: {text}");
    }
    let (code, text, _) = run(&["replay", "--config", EXAMPLE, FIXTURE]);
    assert_eq!(code, Some(0), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_pipe_ends_output_without_a_panic() {
    for args in [vec!["replay", "--json", "--config", EXAMPLE, FIXTURE], vec!["explain", "--config", EXAMPLE, FIXTURE]]
    {
        let mut child = Command::new(BIN).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // The reader goes away before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
