//! Fail closed, live in the weak-TLS lab: `run` refuses to start without a target it cannot set
//! up (unless `--degraded-ok`), and a reload whose new targets cannot be set up is rolled back
//! whole while the running set keeps blocking.

mod common;

use std::time::Duration;

use common::lab::{self, Agent, Lab, CLIENT, SERVER};
use nix::sys::signal::Signal;

fn run_args<'a>(config: &'a std::path::Path, socket: &'a std::path::Path) -> Vec<&'a str> {
    vec!["run", "--config", config.to_str().unwrap(), "-I", "br-lan", "--control-socket", socket.to_str().unwrap()]
}

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
    let mut agent = Agent::start(&lab.router, &run_args(&config, &socket), &lab.path("agent.log"));
    let exited = Lab::wait_for(Duration::from_secs(15), || agent.child.try_wait().unwrap().is_some());
    assert!(exited, "the agent kept running without its log target:\n{}", agent.log_text());
    let status = agent.child.wait().unwrap();
    assert!(!status.success(), "{status}");
    let log = agent.log_text();
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
    assert!(lab.tls_request(&lab.client, 1010, true));
    let element = format!("{CLIENT} . 6 . 1010 . {SERVER}");
    assert!(
        Lab::wait_for(Duration::from_secs(5), || lab.nft_set("weakssl.v4").contains(&element)),
        "the nftset target still works: {}",
        lab.nft_set("weakssl.v4")
    );
    assert!(agent.signal_and_wait(Signal::SIGTERM).success());
}

#[test]
fn a_reload_whose_targets_cannot_be_set_up_is_rolled_back_and_blocking_goes_on() {
    if !lab::can_run() {
        return;
    }
    let lab = Lab::start();
    let config = lab.weak_tls_config();
    let socket = lab.path("fs.sock");
    let mut agent = Agent::start(&lab.router, &run_args(&config, &socket), &lab.path("agent.log"));
    assert!(
        Lab::wait_for(Duration::from_secs(10), || agent.log_text().contains("flowsieve running")),
        "{}",
        agent.log_text()
    );
    assert!(lab.tls_request(&lab.client, 1010, true));
    let element = format!("{CLIENT} . 6 . 1010 . {SERVER}");
    assert!(Lab::wait_for(Duration::from_secs(5), || lab.nft_set("weakssl.v4").contains(&element)));
    lab.add_weakssl_drop_rule();
    assert!(!lab.tls_request(&lab.client, 1010, true), "blocked before the reload");

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
    let pid = nix::unistd::Pid::from_raw(agent.child.id() as i32);
    nix::sys::signal::kill(pid, Signal::SIGHUP).unwrap();
    assert!(
        Lab::wait_for(Duration::from_secs(5), || agent
            .log_text()
            .contains("reload failed, keeping the running configuration")),
        "{}",
        agent.log_text()
    );
    assert!(agent.log_text().contains("log.more"), "the failure names the target:\n{}", agent.log_text());
    assert!(!agent.log_text().contains("configuration reloaded"), "{}", agent.log_text());
    let set = lab.nft_set("weakssl.v4");
    assert!(set.contains(&element), "the running set keeps its element: {set}");
    assert!(set.contains("timeout 120s") || set.contains("timeout 2m"), "the running set is untouched: {set}");
    assert!(!lab.tls_request(&lab.client, 1010, true), "still blocked after the rolled-back reload");
    assert!(agent.child.try_wait().unwrap().is_none());

    // The good file again: reloaded, still blocking.
    std::fs::write(&config, good).unwrap();
    nix::sys::signal::kill(pid, Signal::SIGHUP).unwrap();
    assert!(
        Lab::wait_for(Duration::from_secs(5), || agent.log_text().contains("configuration reloaded")),
        "{}",
        agent.log_text()
    );
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
    let mut first = Agent::start(&lab.router, &run_args(&config, &socket), &lab.path("first.log"));
    assert!(
        Lab::wait_for(Duration::from_secs(10), || first.log_text().contains("flowsieve running")),
        "{}",
        first.log_text()
    );
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660, "explicit control socket mode");
    assert!(lab.tls_request(&lab.client, 1010, true));
    let element = format!("{CLIENT} . 6 . 1010 . {SERVER}");
    assert!(Lab::wait_for(Duration::from_secs(5), || lab.nft_set("weakssl.v4").contains(&element)));

    // Same table, another socket; then same socket (another namespace's table would be free).
    let first_pid = first.child.id().to_string();
    for (name, sock) in [("second", lab.path("other.sock")), ("third", socket.clone())] {
        let mut second = Agent::start(&lab.router, &run_args(&config, &sock), &lab.path(&format!("{name}.log")));
        assert!(
            Lab::wait_for(Duration::from_secs(10), || second.child.try_wait().unwrap().is_some()),
            "{name} agent kept running:\n{}",
            second.log_text()
        );
        assert!(!second.child.wait().unwrap().success());
        let log = second.log_text();
        assert!(log.contains(&format!("PID {first_pid}")), "{name} names the running agent:\n{log}");
    }
    // Neither touched the first's socket or set.
    assert!(std::fs::symlink_metadata(&socket).unwrap().file_type().is_socket());
    assert!(lab.nft_set("weakssl.v4").contains(&element), "{}", lab.nft_set("weakssl.v4"));
    assert!(first.signal_and_wait(Signal::SIGTERM).success(), "{}", first.log_text());

    // A regular file at the control socket path is never removed.
    let regular = lab.path("regular");
    std::fs::write(&regular, "keep").unwrap();
    let mut agent = Agent::start(&lab.router, &run_args(&config, &regular), &lab.path("regular.log"));
    assert!(Lab::wait_for(Duration::from_secs(10), || agent.child.try_wait().unwrap().is_some()));
    assert!(!agent.child.wait().unwrap().success());
    assert!(agent.log_text().contains("not a socket"), "{}", agent.log_text());
    assert_eq!(std::fs::read_to_string(&regular).unwrap(), "keep");
}
