//! The weak-TLS lab: a router namespace with a LAN bridge (192.168.1.1/24) holding two clients,
//! 192.168.1.10 and 192.168.1.50 (the example's exempt printer), and a server namespace on the
//! WAN side (10.99.0.2) running `openssl s_server` with TLS 1.1 on port 1010 and TLS 1.2 on 443.
//! Every interface is created inside the namespaces; dropping the lab deletes them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::netns::NetNs;

pub const CLIENT: &str = "192.168.1.10";
pub const EXEMPT_CLIENT: &str = "192.168.1.50";
pub const SERVER: &str = "10.99.0.2";

pub struct Lab {
    pub router: NetNs,
    pub client: NetNs,
    pub exempt: NetNs,
    pub server: NetNs,
    pub dir: PathBuf,
    servers: Vec<Child>,
}

/// Whether the machine can run the lab. Under CI a missing piece is a failure, not a skip.
pub fn can_run() -> bool {
    let root = nix::unistd::geteuid().is_root();
    let tools = ["ip", "nft", "openssl", "timeout"].iter().all(|t| which(t));
    if root && tools {
        return true;
    }
    let why = format!("needs root and ip, nft, openssl, timeout (root: {root}, tools: {tools})");
    if std::env::var_os("CI").is_some() {
        panic!("end-to-end test cannot run under CI: {why}");
    }
    eprintln!("SKIPPED: {why}");
    false
}

pub fn which(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success())
}

/// Run a command, panicking with its output when it fails.
pub fn must(ns: &NetNs, program: &str, args: &[&str]) -> Output {
    let out = ns.exec(program, args);
    assert!(
        out.status.success(),
        "`{program} {}` in {} failed: {}{}",
        args.join(" "),
        ns.name(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Lab {
    pub fn start() -> Lab {
        let router = NetNs::new("fsr");
        let client = NetNs::new("fsc");
        let exempt = NetNs::new("fsx");
        let server = NetNs::new("fss");
        let dir = std::env::temp_dir().join(format!("flowsieve-lab-{}-{}", std::process::id(), router.name()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut lab = Lab { router, client, exempt, server, dir, servers: Vec::new() };
        lab.wire();
        lab.start_servers();
        lab
    }

    fn wire(&self) {
        let r = &self.router;
        must(r, "ip", &["link", "set", "lo", "up"]);
        must(r, "ip", &["link", "add", "br-lan", "type", "bridge"]);
        must(r, "ip", &["addr", "add", "192.168.1.1/24", "dev", "br-lan"]);
        must(r, "ip", &["link", "set", "br-lan", "up"]);
        for (ns, addr, port) in [(&self.client, CLIENT, "lan-c"), (&self.exempt, EXEMPT_CLIENT, "lan-x")] {
            must(r, "ip", &["link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns.name()]);
            must(r, "ip", &["link", "set", port, "master", "br-lan", "up"]);
            must(ns, "ip", &["link", "set", "lo", "up"]);
            must(ns, "ip", &["addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
            must(ns, "ip", &["link", "set", "eth0", "up"]);
            must(ns, "ip", &["route", "add", "default", "via", "192.168.1.1"]);
        }
        let s = &self.server;
        must(r, "ip", &["link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", s.name()]);
        must(r, "ip", &["addr", "add", "10.99.0.1/24", "dev", "wan0"]);
        must(r, "ip", &["link", "set", "wan0", "up"]);
        must(s, "ip", &["link", "set", "lo", "up"]);
        must(s, "ip", &["addr", "add", &format!("{SERVER}/24"), "dev", "eth0"]);
        must(s, "ip", &["link", "set", "eth0", "up"]);
        must(s, "ip", &["route", "add", "default", "via", "10.99.0.1"]);
        must(r, "sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
    }

    fn start_servers(&mut self) {
        let key = self.dir.join("key.pem");
        let cert = self.dir.join("cert.pem");
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=server.test"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl req");
        assert!(out.status.success(), "making a certificate: {}", String::from_utf8_lossy(&out.stderr));
        for (port, version) in [("1010", "-tls1_1"), ("443", "-tls1_2")] {
            let child = Command::new("ip")
                .args(["netns", "exec", self.server.name(), "openssl", "s_server", "-accept", port, version])
                .args(["-cipher", "DEFAULT:@SECLEVEL=0", "-www", "-cert"])
                .arg(&cert)
                .arg("-key")
                .arg(&key)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting openssl s_server");
            self.servers.push(child);
        }
        // Wait until both ports listen.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.server.exec("ss", &["-ltnH"]);
            let text = String::from_utf8_lossy(&out.stdout);
            if text.contains(":1010") && text.contains(":443") {
                break;
            }
            assert!(Instant::now() < deadline, "TLS servers did not start listening: {text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A TLS connection from `from` to the server: handshake, one HTTP request, the reply.
    /// True when the server's page came back.
    pub fn tls_request(&self, from: &NetNs, port: u16, tls_1_1: bool) -> bool {
        let version = if tls_1_1 { "-tls1_1" } else { "-tls1_2" };
        let target = format!("{SERVER}:{port}");
        let mut child = Command::new("ip")
            .args(["netns", "exec", from.name(), "timeout", "4", "openssl", "s_client", "-connect", &target, version])
            .args(["-cipher", "DEFAULT:@SECLEVEL=0", "-servername", "server.test", "-ign_eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting openssl s_client");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            let _ = stdin.write_all(b"GET / HTTP/1.0\r\n\r\n");
        }
        let out = child.wait_with_output().expect("openssl s_client");
        let text = String::from_utf8_lossy(&out.stdout);
        text.contains("HTTP/1.0 200")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The README's weak-TLS example (`examples/weak-tls.json`) with its log written into the
    /// lab's directory instead of /tmp.
    pub fn weak_tls_config(&self) -> PathBuf {
        self.weak_tls_config_with("weak-tls.json", &self.dir, |_| {})
    }

    /// Writes `<name>.json`: `actions` whose targets are one JSON-lines sink `audit` writing
    /// `<name>.jsonl`. Returns (configuration, sink) paths.
    pub fn sink_config(&self, name: &str, actions: serde_json::Value) -> (PathBuf, PathBuf) {
        let sink = self.path(&format!("{name}.jsonl"));
        let config = self.path(&format!("{name}.json"));
        let text = serde_json::json!({
            "actions": actions,
            "targets": { "audit": { "target_type": "sink", "path": sink.to_str().unwrap() } }
        });
        std::fs::write(&config, text.to_string()).unwrap();
        (config, sink)
    }

    /// The records a JSON-lines sink holds so far.
    pub fn sink_records(sink: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(sink).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// Writes `name`: the README's weak-TLS example with its log target writing into `log_dir`,
    /// then changed by `edit`.
    pub fn weak_tls_config_with(
        &self,
        name: &str,
        log_dir: &Path,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> PathBuf {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/weak-tls.json")).unwrap();
        let mut config: serde_json::Value = serde_json::from_str(&text).unwrap();
        config["targets"]["log.weakssl"]["path"] = log_dir.to_string_lossy().into_owned().into();
        edit(&mut config);
        let path = self.path(name);
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        path
    }

    /// The README's drop rule: forwarded packets whose key is in `weakssl.v4` are dropped.
    pub fn add_weakssl_drop_rule(&self) {
        must(&self.router, "nft", &["add chain inet netify forward { type filter hook forward priority -10 ; }"]);
        must(
            &self.router,
            "nft",
            &["add rule inet netify forward ip saddr . ip protocol . th dport . ip daddr @weakssl.v4 drop"],
        );
    }

    /// `nft -nn list table inet netify` in the router namespace ("" when the table is absent).
    pub fn nft_table(&self) -> String {
        let out = self.router.exec("nft", &["-nn", "list", "table", "inet", "netify"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `nft -nn list set inet netify <set>` in the router namespace ("" when it is absent).
    pub fn nft_set(&self, set: &str) -> String {
        let out = self.router.exec("nft", &["-nn", "list", "set", "inet", "netify", set]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll `check` for up to `limit`.
    pub fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if check() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        check()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The flowsieve agent running in a namespace; killed when dropped.
pub struct Agent {
    pub child: Child,
    pub log: PathBuf,
}

impl Agent {
    pub fn start(ns: &NetNs, args: &[&str], log: &Path) -> Agent {
        Agent::start_under(ns, &[], args, log)
    }

    /// Like [`start`](Self::start), the agent run by `wrapper` (e.g. `chrt -f 20`), which must
    /// exec it so that signals reach the agent.
    pub fn start_under(ns: &NetNs, wrapper: &[&str], args: &[&str], log: &Path) -> Agent {
        let file = std::fs::File::create(log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns.name()])
            .args(wrapper)
            .arg(env!("CARGO_BIN_EXE_flowsieve"))
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("starting flowsieve");
        Agent { child, log: log.to_path_buf() }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Send a signal and wait (up to 10 s) for the agent to exit.
    pub fn signal_and_wait(&mut self, signal: nix::sys::signal::Signal) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "flowsieve did not exit after {signal}:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
