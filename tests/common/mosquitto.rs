//! A real MQTT broker for tests: `mosquitto -c FILE` on a loopback port (optionally inside a
//! network namespace), with or without a password file, and `mosquitto_sub` as an independent
//! subscriber. The broker is killed when dropped.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::netns::NetNs;

/// Why the broker tests cannot run here, if they cannot (under CI a failure, not a skip).
pub fn unavailable() -> Option<String> {
    let missing: Vec<&str> = ["mosquitto", "mosquitto_sub", "mosquitto_passwd"]
        .into_iter()
        .filter(|t| {
            !Command::new("sh").arg("-c").arg(format!("command -v {t}")).output().is_ok_and(|o| o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return None;
    }
    let why = format!("{} not installed (apt package mosquitto, mosquitto-clients)", missing.join(", "));
    if std::env::var_os("CI").is_some() {
        panic!("broker test cannot run under CI: {why}");
    }
    Some(why)
}

/// A free TCP port on loopback (in this process's namespace).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Broker {
    pub port: u16,
    pub dir: PathBuf,
    netns: Option<String>,
    credentials: Option<(String, String)>,
    child: Option<Child>,
    starts: u32,
}

impl Broker {
    /// Start a broker on 127.0.0.1:`port`, in `ns` when given; with `credentials`, only that
    /// user and password are let in.
    pub fn start(ns: Option<&NetNs>, port: u16, credentials: Option<(&str, &str)>) -> Broker {
        Broker::start_with(ns, port, credentials, None)
    }

    /// Like [`start`](Self::start), plus a TLS listener on `tls_port` whose certificate (for
    /// 127.0.0.1 and localhost) is signed by a test authority, [`ca_file`](Self::ca_file).
    pub fn start_tls(port: u16, tls_port: u16) -> Broker {
        Broker::start_with(None, port, None, Some(tls_port))
    }

    /// The authority that signed the TLS listener's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn start_with(ns: Option<&NetNs>, port: u16, credentials: Option<(&str, &str)>, tls_port: Option<u16>) -> Broker {
        let dir = std::env::temp_dir().join(format!(
            "flowsieve-mosquitto-{}-{port}-{}",
            std::process::id(),
            ns.map_or("host", |n| n.name())
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut config =
            format!("listener {port} 127.0.0.1\nuser root\npersistence false\nlog_dest stderr\nlog_type all\n");
        match credentials {
            Some((user, password)) => {
                let file = dir.join("passwords");
                let out = Command::new("mosquitto_passwd")
                    .args(["-b", "-c"])
                    .arg(&file)
                    .args([user, password])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "mosquitto_passwd: {}", String::from_utf8_lossy(&out.stderr));
                config.push_str(&format!("allow_anonymous false\npassword_file {}\n", file.display()));
            }
            None => config.push_str("allow_anonymous true\n"),
        }
        if let Some(tls_port) = tls_port {
            make_certificates(&dir);
            config.push_str(&format!(
                "listener {tls_port} 127.0.0.1\ncafile {0}/ca.pem\ncertfile {0}/server.pem\nkeyfile {0}/server.key\n",
                dir.display()
            ));
        }
        std::fs::write(dir.join("mosquitto.conf"), config).unwrap();
        let mut broker = Broker {
            port,
            dir,
            netns: ns.map(|n| n.name().to_string()),
            credentials: credentials.map(|(u, p)| (u.into(), p.into())),
            child: None,
            starts: 0,
        };
        broker.run();
        broker
    }

    fn command(&self, program: &str) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, program]);
                c
            }
            None => Command::new(program),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("mosquitto-{}.log", self.starts))).unwrap_or_default()
    }

    fn run(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.dir.join(format!("mosquitto-{}.log", self.starts))).unwrap();
        let child = self
            .command("mosquitto")
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log().contains(" running") {
            assert!(Instant::now() < deadline, "mosquitto did not start:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill the broker (every client loses its connection).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// `mosquitto_sub` on `topic` at QoS 1, waiting until the broker confirmed the subscription.
    pub fn subscribe(&self, topic: &str) -> Subscriber {
        let port = self.port.to_string();
        // stdbuf: mosquitto_sub's stdout is a pipe here, which C buffers fully.
        let mut cmd = self.command("stdbuf");
        cmd.args(["-oL", "mosquitto_sub", "-d", "-q", "1", "-h", "127.0.0.1", "-p", &port, "-t", topic]);
        if let Some((u, p)) = &self.credentials {
            cmd.args(["-u", u, "-P", p]);
        }
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut sub = Subscriber { child, lines, seen: Vec::new() };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sub.seen.iter().any(|l| l.starts_with("Subscribed")) {
            assert!(Instant::now() < deadline, "mosquitto_sub did not subscribe: {:?}", sub.seen);
            sub.read_line(deadline);
        }
        sub
    }
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A test authority (ca.pem) and a server certificate it signed (server.pem, server.key).
fn make_certificates(dir: &std::path::Path) {
    let rsa = ["-newkey", "rsa:2048", "-nodes"];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &rsa,
            &["-days", "2", "-subj", "/CN=flowsieve test CA", "-keyout", "ca.key", "-out", "ca.pem"],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[&["req"][..], &rsa, &["-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"]].concat(),
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    openssl(
        dir,
        &["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2"]
            .iter()
            .chain(&["-extfile", "san.ext", "-out", "server.pem"])
            .copied()
            .collect::<Vec<_>>(),
    );
}

/// A self-signed certificate no broker uses, in `dir`/other-ca.pem.
pub fn unrelated_ca(dir: &std::path::Path) -> PathBuf {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=other",
            "-keyout",
            "other.key",
            "-out",
            "other-ca.pem",
        ],
    );
    dir.join("other-ca.pem")
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct Subscriber {
    child: Child,
    lines: Receiver<String>,
    /// Every line so far (mosquitto_sub's debug lines and the payloads).
    pub seen: Vec<String>,
}

impl Subscriber {
    fn read_line(&mut self, deadline: Instant) -> Option<String> {
        match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The next JSON payload received within `limit`.
    pub fn next_json(&mut self, limit: Duration) -> Option<serde_json::Value> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let line = self.read_line(deadline)?;
            if line.starts_with('{') {
                if let Ok(v) = serde_json::from_str(&line) {
                    return Some(v);
                }
            }
        }
        None
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
