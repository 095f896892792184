//! `flowsieve run` as a service: systemd's readiness protocol (READY=1 once capturing,
//! RELOADING=1 with MONOTONIC_USEC and READY=1 around a SIGHUP reload, STOPPING=1) over a real
//! notify socket, and logs without terminal escape sequences when stderr is a pipe, as text or
//! JSON; interfaces taken from netifyd's configuration. The agent captures in a throw-away
//! network namespace.

mod common;

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::netns::{kernel_tests_unavailable, NetNs};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

struct Run {
    child: Child,
    dir: PathBuf,
    notify: UnixDatagram,
    /// What the agent wrote to stderr, a pipe (as under systemd or a shell pipeline).
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Reads the pipe until the agent closes it (exits).
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Run {
    /// The agent in `ns` with `extra` arguments (interfaces among them), notifying a socket of
    /// the test's, stderr into a pipe the test reads.
    fn start(ns: &NetNs, tag: &str, extra: &[&str]) -> Run {
        let dir = std::env::temp_dir().join(format!("flowsieve-service-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let notify = UnixDatagram::bind(dir.join("notify")).unwrap();
        notify.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let config = concat!(env!("CARGO_MANIFEST_DIR"), "/dist/flow-actions.json");
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns.name(), env!("CARGO_BIN_EXE_flowsieve"), "run", "-c", config])
            .args(["--workers", "1", "--control-socket"])
            .arg(dir.join("ctl").join("flowsieve.sock"))
            .args(extra)
            .env("NOTIFY_SOCKET", dir.join("notify"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting flowsieve");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Run { child, dir, notify, stderr, reader: Some(reader) }
    }

    fn next(&self) -> String {
        let mut buf = [0u8; 512];
        match self.notify.recv(&mut buf) {
            Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(e) => panic!("no notification ({e}); log:\n{}", self.log()),
        }
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                if let Some(reader) = self.reader.take() {
                    reader.join().unwrap();
                }
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("flowsieve did not exit; log:\n{}", self.log());
    }

    fn log_bytes(&self) -> Vec<u8> {
        self.stderr.lock().unwrap().clone()
    }

    fn log(&self) -> String {
        String::from_utf8_lossy(&self.log_bytes()).into_owned()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A namespace for the agent, or `None` (with the reason printed) when kernel tests cannot run.
fn namespace(prefix: &str) -> Option<NetNs> {
    if let Some(why) = kernel_tests_unavailable(&["ip"]) {
        eprintln!("skipped: {why}");
        return None;
    }
    Some(NetNs::new(prefix))
}

fn status_answers(socket: &Path) -> bool {
    Command::new(env!("CARGO_BIN_EXE_flowsieve"))
        .args(["status", "--json", "--control-socket"])
        .arg(socket)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn notifies_systemd_and_logs_plain_text_to_a_pipe() {
    let Some(ns) = namespace("fs-svc") else {
        return;
    };
    let mut run = Run::start(&ns, "text", &["-I", "lo"]);
    assert_eq!(run.next(), "READY=1");
    // Ready means serving: the control socket (in a directory run created) answers at once.
    assert!(status_answers(&run.dir.join("ctl").join("flowsieve.sock")), "{}", run.log());

    let before = flowsieve::sdnotify::monotonic_usec();
    run.signal(Signal::SIGHUP);
    let reloading = run.next();
    let usec: u64 = reloading
        .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
        .unwrap_or_else(|| panic!("{reloading:?}"))
        .parse()
        .unwrap();
    assert!(usec >= before && usec <= flowsieve::sdnotify::monotonic_usec(), "MONOTONIC_USEC {usec}");
    assert_eq!(run.next(), "READY=1");

    run.signal(Signal::SIGTERM);
    assert_eq!(run.next(), "STOPPING=1");
    assert!(run.wait().success(), "{}", run.log());

    let log = run.log();
    assert!(log.contains("flowsieve running") && log.contains("configuration reloaded"), "{log}");
    assert!(!run.log_bytes().contains(&0x1b), "escape sequences in a log that is not a terminal:\n{log:?}");
}

#[test]
fn logs_json_lines() {
    let Some(ns) = namespace("fs-svcj") else {
        return;
    };
    let mut run = Run::start(&ns, "json", &["-I", "lo", "--log-format", "json"]);
    assert_eq!(run.next(), "READY=1");
    run.signal(Signal::SIGTERM);
    assert_eq!(run.next(), "STOPPING=1");
    assert!(run.wait().success(), "{}", run.log());
    let log = run.log();
    assert!(!run.log_bytes().contains(&0x1b), "{log:?}");
    let mut messages = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value["level"].is_string(), "{line}");
        messages.push(value["fields"]["message"].as_str().unwrap_or_default().to_string());
    }
    assert!(messages.iter().any(|m| m == "flowsieve running"), "{messages:?}");
}

#[test]
fn takes_interfaces_from_netifyd_configuration() {
    let Some(ns) = namespace("fs-svcn") else {
        return;
    };
    ns.exec_ok("ip", &["link", "add", "fsn0", "type", "veth", "peer", "name", "fsn1"]);
    ns.exec_ok("ip", &["link", "set", "fsn0", "up"]);
    ns.exec_ok("ip", &["link", "set", "fsn1", "up"]);
    let dir = std::env::temp_dir().join(format!("flowsieve-netifyd-conf-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("interfaces.d")).unwrap();
    let conf = dir.join("netifyd.conf");
    std::fs::write(
        &conf,
        format!("[netifyd]\npath_state_persistent = {}\n[capture-interface-lo]\nrole = lan\n", dir.display()),
    )
    .unwrap();
    std::fs::write(
        dir.join("interfaces.d/10-wan.conf"),
        "[capture-interface-fsn0]\nrole = wan\ncapture_type = tpv3\nfilter = not port 22\naddress[0] = 198.51.100.0/24\n",
    )
    .unwrap();
    let conf_arg = conf.to_str().unwrap();
    let mut run = Run::start(&ns, "netifyd", &["--netifyd-conf", conf_arg]);
    assert_eq!(run.next(), "READY=1");
    let socket = run.dir.join("ctl").join("flowsieve.sock");
    let status = status_json(&socket);
    let mut workers: Vec<(String, bool)> = status["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["iface"].as_str().unwrap().to_string(), w["external"].as_bool().unwrap()))
        .collect();
    workers.dedup();
    assert_eq!(workers, vec![("lo".to_string(), false), ("fsn0".to_string(), true)]);
    run.signal(Signal::SIGTERM);
    assert!(run.wait().success(), "{}", run.log());
    let log = run.log();
    assert!(log.contains("interface from netifyd's configuration"), "{log}");
    assert!(log.contains("198.51.100.0/24"), "the section's address is a local network: {log}");

    // NFQUEUE sections become NFQUEUE queues (as `--nfqueue wan=54:4`), next to the lo section.
    std::fs::write(
        dir.join("interfaces.d/10-wan.conf"),
        "[capture-interface-wan]\nrole = wan\ncapture_type = nfqueue\nqueue_id = 54\nqueue_instances = 4\n",
    )
    .unwrap();
    let mut run = Run::start(&ns, "netifyd-nfq", &["--netifyd-conf", conf_arg]);
    assert_eq!(run.next(), "READY=1", "{}", run.log());
    let socket = run.dir.join("ctl").join("flowsieve.sock");
    let status = status_json(&socket);
    let queues: Vec<(u64, bool)> = status["workers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| !w["queue"].is_null())
        .map(|w| (w["queue"]["queue"].as_u64().unwrap(), w["external"].as_bool().unwrap()))
        .collect();
    assert_eq!(queues, vec![(54, true), (55, true), (56, true), (57, true)], "{status:#}");
    run.signal(Signal::SIGTERM);
    assert!(run.wait().success(), "{}", run.log());
    let log = run.log();
    assert!(log.contains("NFQUEUE queues from netifyd's configuration"), "{log}");
    assert!(log.contains("wan=54:4"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `flowsieve status --json` of the agent serving `socket`.
fn status_json(socket: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_flowsieve"))
        .args(["status", "--json", "--control-socket"])
        .arg(socket)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}
