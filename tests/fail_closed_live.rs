//! Fail closed, live in the weak-TLS lab: `run` refuses to start without a target it cannot set
//! up (unless `--degraded-ok`), a reload whose new targets cannot be set up is rolled back
//! whole while the running set keeps blocking, one agent per table and control socket (also for
//! a table a reload adds), links and files planted at the log target's names are never written
//! through, a set name the kernel would refuse fails the reload (and `run`), a configuration
//! that became a FIFO fails the reload at once (blocking goes on, SIGTERM is heard), and
//! `flowsieve status` survives a reader that goes away.

mod common;

use std::path::Path;
use std::time::Duration;

use common::lab::{self, Agent, Lab, CLIENT, SERVER};
use nix::sys::signal::Signal;

fn run_args<'a>(config: &'a Path, socket: &'a Path) -> Vec<&'a str> {
    vec!["run", "--config", config.to_str().unwrap(), "-I", "br-lan", "--control-socket", socket.to_str().unwrap()]
}

/// Starts an agent on `config` (control socket `socket`, log `log` in the lab) and waits until
/// it runs.
fn running(lab: &Lab, config: &Path, socket: &str, log: &str) -> Agent {
    let agent = Agent::start(&lab.router, &run_args(config, &lab.path(socket)), &lab.path(log));
    assert!(
        Lab::wait_for(Duration::from_secs(10), || agent.log_text().contains("flowsieve running")),
        "{}",
        agent.log_text()
    );
    agent
}

/// Starts an agent that must refuse to run: it exits non-zero; returns its log.
fn refused(lab: &Lab, config: &Path, socket: &Path, log: &str) -> String {
    let mut agent = Agent::start(&lab.router, &run_args(config, socket), &lab.path(log));
    let exited = Lab::wait_for(Duration::from_secs(15), || agent.child.try_wait().unwrap().is_some());
    assert!(exited, "the agent kept running:\n{}", agent.log_text());
    let status = agent.child.wait().unwrap();
    assert!(!status.success(), "{status}");
    agent.log_text()
}

/// The client's TLS 1.1 handshake puts its element into `weakssl.v4` (returned); with
/// `drop_rule` the README's drop rule is added and the next handshake is blocked.
fn matched(lab: &Lab, drop_rule: bool) -> String {
    assert!(lab.tls_request(&lab.client, 1010, true));
    let element = format!("{CLIENT} . 6 . 1010 . {SERVER}");
    assert!(
        Lab::wait_for(Duration::from_secs(5), || lab.nft_set("weakssl.v4").contains(&element)),
        "{}",
        lab.nft_set("weakssl.v4")
    );
    if drop_rule {
        lab.add_weakssl_drop_rule();
        assert!(!lab.tls_request(&lab.client, 1010, true), "blocked");
    }
    element
}

/// SIGHUP, then wait until the agent's log passes `check`.
fn reload_until(agent: &Agent, check: impl Fn(&str) -> bool) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(agent.child.id() as i32), Signal::SIGHUP).unwrap();
    assert!(Lab::wait_for(Duration::from_secs(5), || check(&agent.log_text())), "{}", agent.log_text());
}

/// The running set still holds `element` with the example's 120 s timeout, and still blocks.
fn still_blocking(lab: &Lab, element: &str) {
    let set = lab.nft_set("weakssl.v4");
    assert!(set.contains(element), "the running set keeps its element: {set}");
    assert!(set.contains("timeout 120s") || set.contains("timeout 2m"), "the running set is untouched: {set}");
    assert!(!lab.tls_request(&lab.client, 1010, true), "still blocked");
}

const REFUSED: &str = "reload failed, keeping the running configuration";

#[test]
fn run_exits_non_zero_when_a_target_cannot_be_set_up() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::start();
    // The log directory would have to be made inside a regular file: the kernel refuses.
    let blocker = lab.path("not-a-directory");
    std::fs::write(&blocker, "").unwrap();
    let config = lab.weak_tls_config_with("bad-log.json", &blocker.join("logs"), |_| {});
    let socket = lab.path("fs.sock");
    let log = refused(&lab, &config, &socket, "agent.log");
    assert!(log.contains("log.weakssl") && log.contains("--degraded-ok"), "the error names the target:\n{log}");
    // What it had set up is shut down again: the set is left empty.
    assert!(!lab.nft_set("weakssl.v4").contains(CLIENT), "{}", lab.nft_set("weakssl.v4"));

    // --degraded-ok: the old behaviour, running with the targets that could be set up.
    let mut args = run_args(&config, &socket);
    args.push("--degraded-ok");
    let mut agent = Agent::start(&lab.router, &args, &lab.path("agent-degraded.log"));
    assert!(
        Lab::wait_for(Duration::from_secs(10), || agent.log_text().contains("flowsieve running")),
        "{}",
        agent.log_text()
    );
    assert!(agent.log_text().contains("running without enforcement by log.weakssl"), "{}", agent.log_text());
    matched(&lab, false);
    assert!(agent.signal_and_wait(Signal::SIGTERM).success());
}

#[test]
fn a_reload_whose_targets_cannot_be_set_up_is_rolled_back_and_blocking_goes_on() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::start();
    let config = lab.weak_tls_config();
    let mut agent = running(&lab, &config, "fs.sock", "agent.log");
    let element = matched(&lab, true);

    // The new configuration changes the set's ttl (it would take the set over), and adds a log
    // target whose directory cannot be made: nothing of it may take effect.
    let blocker = lab.path("not-a-directory");
    std::fs::write(&blocker, "").unwrap();
    let good = std::fs::read_to_string(&config).unwrap();
    lab.weak_tls_config_with("weak-tls.json", &lab.dir, |c| {
        c["target_defaults"]["nftset"]["ttl"] = 600.into();
        c["targets"]["log.more"] = serde_json::json!({ "target_type": "log", "prefix": "more", "path": blocker.join("logs").to_str().unwrap() });
        c["actions"]["weakssl"]["targets"] = serde_json::json!(["nftset.weakssl", "log.weakssl", "log.more"]);
    });
    reload_until(&agent, |log| log.contains(REFUSED));
    assert!(agent.log_text().contains("log.more"), "the failure names the target:\n{}", agent.log_text());
    assert!(!agent.log_text().contains("configuration reloaded"), "{}", agent.log_text());
    still_blocking(&lab, &element);
    assert!(agent.child.try_wait().unwrap().is_none());

    // The good file again: reloaded, still blocking.
    std::fs::write(&config, good).unwrap();
    reload_until(&agent, |log| log.contains("configuration reloaded"));
    assert!(!lab.tls_request(&lab.client, 1010, true), "still blocked");
    assert!(agent.signal_and_wait(Signal::SIGTERM).success(), "{}", agent.log_text());
}

#[test]
fn a_second_agent_on_the_same_table_or_socket_is_refused_naming_the_first() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::start();
    let config = lab.weak_tls_config();
    let socket = lab.path("fs.sock");
    let mut first = running(&lab, &config, "fs.sock", "first.log");
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660, "explicit control socket mode");
    let element = matched(&lab, false);

    // Same table, another socket; then same socket (another namespace's table would be free).
    let first_pid = first.child.id().to_string();
    for (name, sock) in [("second", lab.path("other.sock")), ("third", socket.clone())] {
        let log = refused(&lab, &config, &sock, &format!("{name}.log"));
        assert!(log.contains(&format!("PID {first_pid}")), "{name} names the running agent:\n{log}");
    }
    // Neither touched the first's socket or set.
    assert!(std::fs::symlink_metadata(&socket).unwrap().file_type().is_socket());
    assert!(lab.nft_set("weakssl.v4").contains(&element), "{}", lab.nft_set("weakssl.v4"));
    assert!(first.signal_and_wait(Signal::SIGTERM).success(), "{}", first.log_text());

    // A regular file at the control socket path is never removed.
    let regular = lab.path("regular");
    std::fs::write(&regular, "keep").unwrap();
    let log = refused(&lab, &config, &regular, "regular.log");
    assert!(log.contains("not a socket"), "{log}");
    assert_eq!(std::fs::read_to_string(&regular).unwrap(), "keep");
}

#[test]
fn a_reload_adding_a_table_another_agent_runs_on_is_refused_whole() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::start();
    let config = lab.weak_tls_config();
    let mut first = running(&lab, &config, "fs.sock", "first.log");
    let element = matched(&lab, true);

    // A second agent manages the table `other` in the same namespace.
    let other = lab.weak_tls_config_with("other.json", &lab.dir, |c| {
        c["target_defaults"]["nftset"]["table_name"] = "other".into();
        c["targets"]["log.weakssl"]["prefix"] = "other".into();
    });
    let mut second = running(&lab, &other, "other.sock", "second.log");
    let second_pid = second.child.id();

    // The first agent's new configuration adds a set in `other` (and changes the running set's
    // ttl): refused whole, nothing of it takes effect.
    let good = std::fs::read_to_string(&config).unwrap();
    lab.weak_tls_config_with("weak-tls.json", &lab.dir, |c| {
        c["target_defaults"]["nftset"]["ttl"] = 600.into();
        c["targets"]["nftset.more"] =
            serde_json::json!({ "target_type": "nftset", "set_name": "more", "table_name": "other" });
        c["actions"]["weakssl"]["targets"] = serde_json::json!(["nftset.weakssl", "log.weakssl", "nftset.more"]);
    });
    reload_until(&first, |log| log.contains(REFUSED));
    let log = first.log_text();
    assert!(log.contains(&format!("PID {second_pid}")) && log.contains("nftables table"), "names the holder:\n{log}");
    assert!(!log.contains("configuration reloaded"), "{log}");
    still_blocking(&lab, &element);
    let other_table =
        String::from_utf8_lossy(&lab.router.exec("nft", &["list", "table", "inet", "other"]).stdout).into_owned();
    assert!(!other_table.contains("more.v4"), "nothing was made in the other agent's table:\n{other_table}");

    // With the other agent gone the same reload goes through, and the first agent now holds
    // the new table's lock: a third agent on it is refused, naming the first.
    assert!(second.signal_and_wait(Signal::SIGTERM).success(), "{}", second.log_text());
    reload_until(&first, |log| log.contains("configuration reloaded"));
    assert!(!lab.tls_request(&lab.client, 1010, true), "still blocked");
    let log = refused(&lab, &other, &lab.path("third.sock"), "third.log");
    assert!(log.contains(&format!("PID {}", first.child.id())), "{log}");

    // Back to the first file: the lock on `other` is let go with the table.
    std::fs::write(&config, good).unwrap();
    reload_until(&first, |log| log.matches("configuration reloaded").count() == 2);
    let mut fourth = running(&lab, &other, "fourth.sock", "fourth.log");
    assert!(fourth.signal_and_wait(Signal::SIGTERM).success(), "{}", fourth.log_text());
    assert!(first.signal_and_wait(Signal::SIGTERM).success(), "{}", first.log_text());
}

#[test]
fn a_link_or_file_planted_at_the_log_targets_names_is_never_written_through() {
    if !lab::can_run() {
        return;
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let lab = Lab::start();
    // A world-writable directory, as /tmp is, where another user (nobody) has planted, at every
    // name the log target may use in the next minute, a link to a root-owned file or an empty
    // file of their own that everyone may write.
    let shared = lab.path("shared-tmp");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = shared.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let nobody = nix::unistd::Uid::from_raw(65534);
    let now = chrono::Local::now();
    let mut planted = Vec::new();
    for s in -2..60i64 {
        let name =
            shared.join(format!("weakssl-{}.json", (now + chrono::Duration::seconds(s)).format("%Y%m%d-%H%M%S")));
        if s % 2 == 0 {
            std::os::unix::fs::symlink(&victim, &name).unwrap();
        } else {
            std::fs::write(&name, "").unwrap();
            std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o666)).unwrap();
        }
        nix::unistd::fchownat(None, &name, Some(nobody), None, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).unwrap();
        planted.push(name);
    }
    let config = lab.weak_tls_config_with("planted.json", &shared, |_| {});
    let mut agent = running(&lab, &config, "fs.sock", "agent.log");
    matched(&lab, false);
    // Stopping writes the pending entries into a file named at that second.
    assert!(agent.signal_and_wait(Signal::SIGTERM).success(), "{}", agent.log_text());

    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious", "written through a planted link");
    for p in &planted {
        let meta = std::fs::symlink_metadata(p).unwrap();
        assert_eq!(meta.uid(), 65534, "{} was replaced", p.display());
        if meta.file_type().is_file() {
            assert_eq!(meta.len(), 0, "written into another user's file {}", p.display());
        }
    }
    let written: Vec<_> = std::fs::read_dir(&shared)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !planted.contains(p) && *p != victim)
        .collect();
    assert_eq!(written.len(), 1, "one log file of the agent's own: {written:?}");
    let meta = std::fs::symlink_metadata(&written[0]).unwrap();
    assert!(meta.file_type().is_file() && meta.uid() == 0, "{meta:?}");
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    let name = written[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("weakssl-") && name.ends_with("-1.json"), "a name beside the planted one: {name}");
    assert!(std::fs::read_to_string(&written[0]).unwrap().contains(CLIENT));
}

#[test]
fn a_rejected_set_name_or_a_fifo_fails_the_reload_blocking_goes_on_and_status_survives_a_closed_pipe() {
    if !lab::can_run() {
        return;
    }
    use std::process::{Command, Stdio};
    const BIN: &str = env!("CARGO_BIN_EXE_flowsieve");
    let lab = Lab::start();
    let config = lab.weak_tls_config();
    let socket = lab.path("fs.sock");
    let mut agent = running(&lab, &config, "fs.sock", "agent.log");
    let element = matched(&lab, true);

    // A set name the kernel would refuse (over 255 bytes): the reload is refused, the running
    // set keeps its element and keeps blocking; `run` refuses the file before starting.
    let good = std::fs::read_to_string(&config).unwrap();
    let long = lab.weak_tls_config_with("weak-tls.json", &lab.dir, |c| {
        c["targets"]["nftset.weakssl"]["set_name"] = "s".repeat(300).into();
    });
    reload_until(&agent, |log| log.contains("at most 255 bytes"));
    assert!(agent.log_text().contains(REFUSED), "{}", agent.log_text());
    still_blocking(&lab, &element);
    let log = refused(&lab, &long, &lab.path("long.sock"), "long.log");
    assert!(log.contains("at most 255 bytes"), "{log}");
    std::fs::write(&config, good).unwrap();

    // The configuration becomes a FIFO no one writes to: the reload fails at once instead of
    // blocking the thread that handles signals.
    std::fs::remove_file(&config).unwrap();
    nix::unistd::mkfifo(&config, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    reload_until(&agent, |log| log.contains("not a regular file"));
    still_blocking(&lab, &element);
    let status =
        Command::new(BIN).args(["status", "--json", "--control-socket", socket.to_str().unwrap()]).output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status --json");
    assert_eq!(doc["failed_reloads"], 2, "{doc}");
    assert!(doc["last_reload_error"].as_str().unwrap_or_default().contains("not a regular file"), "{doc}");

    // `flowsieve status | head -0`: the reader is gone before anything is written.
    let mut child = Command::new(BIN)
        .args(["status", "--control-socket", socket.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // SIGTERM is still heard, and the agent stops at once.
    let started = std::time::Instant::now();
    assert!(agent.signal_and_wait(Signal::SIGTERM).success(), "{}", agent.log_text());
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?} to stop", started.elapsed());
}
