//! Fleet reporting: a small MQTT 3.1.1 client that publishes a sink target's records to a broker
//! (the sink's `mqtt` key).
//!
//! The enforcer never waits for the network: [`MqttPublisher::publish`] puts the record in a
//! bounded queue (`queue` records) and a dedicated thread sends it; a record that finds the
//! queue full is dropped and counted (`mqtt_dropped`). The thread connects (CONNECT/CONNACK,
//! clean session), publishes with QoS 0 or 1 (QoS 1: at most [`MAX_IN_FLIGHT`] unacknowledged
//! PUBLISH packets, resent with the DUP flag after a reconnect), keeps the connection alive with
//! PINGREQ, and reconnects with a doubling backoff (0.5 s to 30 s) when the broker goes away or
//! refuses it. The same thread reads the broker's packets (CONNACK, PUBACK, PINGRESP) between
//! sends, waiting at most [`POLL`] for them. `mqtts://` runs the same over TLS (rustls, TLS 1.2/1.3, the broker's
//! certificate checked against `tls.ca_file` or the system bundle, optional client certificate).
//!
//! Wire format (MQTT 3.1.1, OASIS standard): a fixed header byte (type << 4 | flags), the
//! remaining length as a base-128 varint of at most four bytes, then the variable header and
//! payload; strings are a big-endian u16 length and UTF-8 bytes.

use super::json_kind as kind;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use serde_json::Value;

/// QoS 1 PUBLISH packets sent and not yet acknowledged, at most.
pub const MAX_IN_FLIGHT: usize = 64;
const DEFAULT_PORT: u16 = 1883;
const DEFAULT_TLS_PORT: u16 = 8883;
const DEFAULT_KEEPALIVE: u16 = 60;
const DEFAULT_QUEUE: usize = 1000;
/// A record is about 1 KiB: at most about 100 MiB waiting.
const MAX_QUEUE: usize = 100_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long shutdown waits for queued records to reach the broker.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Largest packet accepted from the broker (we subscribe to nothing: acks and pings only).
const MAX_INCOMING: usize = 4096;

/// The sink's `mqtt` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttConfig {
    /// The `url` as written (for messages).
    pub url: String,
    pub host: String,
    pub port: u16,
    pub topic: String,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub qos: u8,
    pub retain: bool,
    /// Seconds; 0 turns keep-alive off.
    pub keepalive: u16,
    /// Records waiting for the connection, at most.
    pub queue: usize,
    /// `mqtts://`: TLS with these options.
    pub tls: Option<TlsOptions>,
}

/// The `tls` object of an `mqtts://` broker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM certificates of the authorities trusted to sign the broker's certificate (default:
    /// the system bundle [`SYSTEM_CA_BUNDLE`]).
    pub ca_file: Option<PathBuf>,
    /// A client certificate chain (PEM) and its private key, for brokers that require one.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// The name the broker's certificate must carry, when it is not the URL's host.
    pub server_name: Option<String>,
}

/// Where Debian and OpenWrt (package ca-bundle) keep the trusted authorities.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Keys of the `tls` object.
pub const TLS_KEYS: &[&str] = &["ca_file", "cert_file", "key_file", "server_name"];

/// Keys of the `mqtt` object.
pub const MQTT_KEYS: &[&str] = &[
    "url",
    "topic",
    "client_id",
    "username",
    "password",
    "qos",
    "retain",
    "keepalive",
    "queue",
    "tls",
    // netifyd's MQTT sink keys, accepted so its settings can be copied over.
    "host",
    "port",
    "user",
    "pass",
    "message_qos",
    "message_retain",
];

/// Our key and netifyd's name for the same setting.
const NETIFY_ALIASES: &[(&str, &str)] =
    &[("username", "user"), ("password", "pass"), ("qos", "message_qos"), ("retain", "message_retain")];

/// Variables a topic may use.
const TOPIC_VARIABLES: &[&str] = &["${hostname}", "${target}", "${channel}"];

/// Problems in an `mqtt` object: (JSON path, message), errors and warnings.
#[derive(Debug, Default)]
pub struct ConfigProblems {
    pub errors: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
}

/// `host`, `port` and whether TLS is used, of `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]`.
fn parse_url(url: &str) -> Result<(String, u16, bool), String> {
    let (rest, tls) = if let Some(rest) = url.strip_prefix("mqtt://") {
        (rest, false)
    } else if let Some(rest) = url.strip_prefix("mqtts://") {
        (rest, true)
    } else {
        return Err(format!("'{url}' is not an MQTT URL (expected mqtt://HOST:PORT or mqtts://HOST:PORT)"));
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('@') {
        return Err("credentials go in 'username' and 'password', not in the URL".into());
    }
    if authority.contains(['/', '?', '#']) {
        return Err(format!("'{url}': an MQTT URL has no path (expected mqtt://HOST:PORT; the topic is 'topic')"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| format!("'{url}': unclosed '[' in the host"))?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':').ok_or_else(|| format!("'{url}': expected ':PORT' after ']'"))?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("'{url}' has no host"));
    }
    let port = match port {
        None if tls => DEFAULT_TLS_PORT,
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("'{url}': port '{p}' is not a number from 1 to 65535")),
        },
    };
    Ok((host.to_string(), port, tls))
}

/// The `tls` object at `path` (or the defaults when absent), its files read to check them.
fn parse_tls(value: Option<&Value>, path: &str, problems: &mut ConfigProblems) -> TlsOptions {
    let mut options = TlsOptions::default();
    let map = match value {
        None => None,
        Some(Value::Object(map)) => Some(map),
        Some(other) => {
            problems.errors.push((path.into(), format!("expected an object, found {}", kind(other))));
            return options;
        }
    };
    for (key, v) in map.into_iter().flatten() {
        let at = format!("{path}.{key}");
        let Value::String(text) = v else {
            problems.errors.push((at, format!("expected a string, found {}", kind(v))));
            continue;
        };
        match key.as_str() {
            "ca_file" => options.ca_file = Some(PathBuf::from(text)),
            "cert_file" => options.cert_file = Some(PathBuf::from(text)),
            "key_file" => options.key_file = Some(PathBuf::from(text)),
            "server_name" => options.server_name = Some(text.clone()),
            _ => problems.warnings.push((at, format!("unknown key, ignored (expected {})", TLS_KEYS.join(", ")))),
        }
    }
    if let Err((key, e)) = tls::check(&options) {
        problems.errors.push((if key.is_empty() { path.to_string() } else { format!("{path}.{key}") }, e));
    }
    options
}

/// The host name, for the default client id.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

impl MqttConfig {
    /// Parse the `mqtt` object of sink target `target` found at JSON path `path`.
    /// Parse the `mqtt` object of sink target `target` (whose `channel` is given) found at JSON
    /// path `path`. netifyd's key names (`host`, `port`, `user`, `pass`, `message_qos`,
    /// `message_retain`) are accepted too; the topic may use `${hostname}`, `${target}` and
    /// `${channel}`.
    pub fn parse(
        value: &Value,
        path: &str,
        target: &str,
        channel: Option<&str>,
    ) -> Result<(MqttConfig, ConfigProblems), ConfigProblems> {
        let mut problems = ConfigProblems::default();
        let Value::Object(map) = value else {
            problems.errors.push((
                path.into(),
                format!("expected an object with at least 'url' and 'topic', found {}", kind(value)),
            ));
            return Err(problems);
        };
        let at = |key: &str| format!("{path}.{key}");
        for key in map.keys() {
            if !MQTT_KEYS.contains(&key.as_str()) {
                problems.warnings.push((at(key), "unknown key for the mqtt sink, ignored".into()));
            }
        }
        // The key a setting is given under: ours or netifyd's, not both.
        let named = |ours: &'static str, problems: &mut ConfigProblems| -> &str {
            let Some(&(_, netify)) = NETIFY_ALIASES.iter().find(|(o, _)| *o == ours) else { return ours };
            match (map.contains_key(ours), map.contains_key(netify)) {
                (_, false) => ours,
                (false, true) => netify,
                (true, true) => {
                    problems.errors.push((at(netify), format!("give '{ours}' or netifyd's '{netify}', not both")));
                    ours
                }
            }
        };
        let username_key = named("username", &mut problems);
        let password_key = named("password", &mut problems);
        let qos_key = named("qos", &mut problems);
        let retain_key = named("retain", &mut problems);
        let string = |key: &str, problems: &mut ConfigProblems| -> Option<String> {
            match map.get(key)? {
                Value::String(s) => Some(s.clone()),
                other => {
                    problems.errors.push((at(key), format!("expected a string, found {}", kind(other))));
                    None
                }
            }
        };
        let url = string("url", &mut problems);
        let topic = string("topic", &mut problems);
        let client_id = string("client_id", &mut problems);
        let username = string(username_key, &mut problems);
        let password = string(password_key, &mut problems);
        let number = |key: &str, default: u64, max: u64, problems: &mut ConfigProblems| -> u64 {
            match map.get(key) {
                None => default,
                Some(Value::Number(n)) => match n.as_u64() {
                    Some(v) if v <= max => v,
                    _ => {
                        problems.errors.push((at(key), format!("expected a whole number from 0 to {max}, found {n}")));
                        default
                    }
                },
                Some(other) => {
                    problems.errors.push((at(key), format!("expected a number, found {}", kind(other))));
                    default
                }
            }
        };
        let qos = number(qos_key, 0, 2, &mut problems) as u8;
        if qos == 2 {
            problems.errors.push((at(qos_key), "QoS 2 is not supported (expected 0 or 1)".into()));
        }
        let keepalive = number("keepalive", u64::from(DEFAULT_KEEPALIVE), u64::from(u16::MAX), &mut problems) as u16;
        let queue = number("queue", DEFAULT_QUEUE as u64, MAX_QUEUE as u64, &mut problems) as usize;
        if map.get("queue").is_some() && queue == 0 {
            problems.errors.push((at("queue"), "the queue must hold at least 1 record".into()));
        }
        let retain = match map.get(retain_key) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                problems.errors.push((at(retain_key), format!("expected true or false, found {}", kind(other))));
                false
            }
        };
        // netifyd's `host` and `port` stand for an mqtt:// url.
        let netify_host = string("host", &mut problems);
        let url = match (url, netify_host) {
            (Some(_), Some(_)) => {
                problems.errors.push((at("host"), "give 'url' or netifyd's 'host' and 'port', not both".into()));
                None
            }
            (None, Some(host)) => {
                let port = number("port", u64::from(DEFAULT_PORT), u64::from(u16::MAX), &mut problems);
                let host = if host.contains(':') { format!("[{host}]") } else { host };
                Some(format!("mqtt://{host}:{port}"))
            }
            (url, None) => {
                if map.contains_key("port") {
                    problems.errors.push((
                        at("port"),
                        "'port' goes with netifyd's 'host'; with 'url' write mqtt://HOST:PORT".into(),
                    ));
                }
                url
            }
        };
        let mut host_port = None;
        match &url {
            None if !map.contains_key("url") && !map.contains_key("host") => {
                problems.errors.push((path.into(), "missing key 'url' (mqtt://HOST:PORT of the broker)".into()))
            }
            None => {}
            Some(u) => match parse_url(u) {
                Ok(hp) => host_port = Some(hp),
                Err(e) => problems.errors.push((at("url"), e)),
            },
        }
        let tls = match host_port {
            Some((_, _, true)) if !cfg!(feature = "mqtt-tls") => {
                problems.errors.push((at("url"), tls::check(&TlsOptions::default()).unwrap_err().1));
                None
            }
            Some((_, _, true)) => Some(parse_tls(map.get("tls"), &at("tls"), &mut problems)),
            Some((_, _, false)) if map.get("tls").is_some() => {
                problems.errors.push((at("tls"), "TLS options need an mqtts:// url".into()));
                None
            }
            _ => None,
        };
        match &topic {
            None if map.get("topic").is_none() => {
                problems.errors.push((path.into(), "missing key 'topic' (where records are published)".into()))
            }
            None => {}
            Some(t) if t.is_empty() => problems.errors.push((at("topic"), "the topic is empty".into())),
            Some(t) if t.contains(['+', '#', '\0']) => problems
                .errors
                .push((at("topic"), format!("'{t}': a topic to publish to may not contain '+', '#' or NUL"))),
            Some(t) if t.len() > usize::from(u16::MAX) => {
                problems.errors.push((at("topic"), "the topic is longer than 65535 bytes".into()))
            }
            Some(t) if t.contains("${channel}") && channel.is_none() => {
                problems.errors.push((at("topic"), "'${channel}' in the topic needs the sink's 'channel'".into()))
            }
            Some(t) if TOPIC_VARIABLES.iter().fold(t.clone(), |t, v| t.replace(v, "")).contains("${") => {
                problems.errors.push((
                    at("topic"),
                    format!("'{t}': unknown variable (a topic may use {})", TOPIC_VARIABLES.join(", ")),
                ))
            }
            Some(_) => {}
        }
        if let Some(id) = &client_id {
            if id.is_empty() || id.len() > usize::from(u16::MAX) {
                problems.errors.push((at("client_id"), "expected 1 to 65535 bytes".into()));
            }
        }
        if password.is_some() && username.is_none() {
            problems.errors.push((at(password_key), "a password needs a 'username' (MQTT 3.1.1)".into()));
        }
        for (key, v) in [(username_key, &username), (password_key, &password)] {
            if v.as_ref().is_some_and(|v| v.len() > usize::from(u16::MAX)) {
                problems.errors.push((at(key), "longer than 65535 bytes".into()));
            }
        }
        if !problems.errors.is_empty() {
            return Err(problems);
        }
        let (Some(url), Some(topic), Some((host, port, _))) = (url, topic, host_port) else {
            return Err(problems);
        };
        let client_id = client_id.unwrap_or_else(|| format!("flowsieve-{}-{target}", hostname()));
        let topic = topic
            .replace("${hostname}", &hostname())
            .replace("${target}", target)
            .replace("${channel}", channel.unwrap_or(""));
        let config =
            MqttConfig { url, host, port, topic, client_id, username, password, qos, retain, keepalive, queue, tls };
        Ok((config, problems))
    }
}

mod packet;
use packet::*;

// --- the publisher ----------------------------------------------------------------------------

/// Counters of a publisher, shared with its thread.
#[derive(Debug, Default)]
struct Shared {
    queued: AtomicU64,
    dropped: AtomicU64,
    published: AtomicU64,
    connects: AtomicU64,
    connect_failures: AtomicU64,
    disconnects: AtomicU64,
    connected: AtomicBool,
    last_error: Mutex<Option<String>>,
}

/// A snapshot of a publisher's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MqttStats {
    /// Records accepted into the queue.
    pub queued: u64,
    /// Records dropped because the queue was full.
    pub dropped: u64,
    /// Records sent (QoS 0) or acknowledged by the broker (QoS 1).
    pub published: u64,
    /// Connections the broker accepted.
    pub connects: u64,
    /// Connection attempts that failed (unreachable, refused, bad credentials).
    pub connect_failures: u64,
    /// Accepted connections that were lost.
    pub disconnects: u64,
    pub connected: bool,
}

/// Publishes records to a broker from its own thread.
pub struct MqttPublisher {
    tx: Option<Sender<Vec<u8>>>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MqttPublisher {
    /// Start the publisher thread for `config`; `name` names the thread and log lines.
    pub fn start(config: MqttConfig, name: &str) -> std::io::Result<MqttPublisher> {
        let (tx, rx) = bounded(config.queue.max(1));
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut session = Session { config, name: name.to_string(), rx, shared: shared.clone(), stop: stop.clone() };
        let thread = std::thread::Builder::new().name(format!("mqtt-{name}")).spawn(move || session.run())?;
        Ok(MqttPublisher { tx: Some(tx), shared, stop, thread: Some(thread) })
    }

    /// Queue a record; false (and counted) when the queue is full.
    pub fn publish(&self, payload: Vec<u8>) -> bool {
        let Some(tx) = &self.tx else { return false };
        match tx.try_send(payload) {
            Ok(()) => {
                self.shared.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    pub fn stats(&self) -> MqttStats {
        let s = &self.shared;
        // The state first, with Acquire: a publisher seen disconnected has its disconnect
        // counted (the thread counts it before it clears `connected`, with Release).
        let connected = s.connected.load(Ordering::Acquire);
        MqttStats {
            queued: s.queued.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            published: s.published.load(Ordering::Relaxed),
            connects: s.connects.load(Ordering::Relaxed),
            connect_failures: s.connect_failures.load(Ordering::Relaxed),
            disconnects: s.disconnects.load(Ordering::Relaxed),
            connected,
        }
    }

    /// The last connection or protocol error, as text.
    pub fn last_error(&self) -> Option<String> {
        self.shared.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Send what is queued (waiting up to a few seconds for the broker), disconnect, and stop
    /// the thread.
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MqttPublisher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Session {
    config: MqttConfig,
    name: String,
    rx: Receiver<Vec<u8>>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
}

/// Why a connection ended.
enum Ended {
    /// Everything sent and stopped: done.
    Finished,
    Lost(String),
}

impl Session {
    fn fail(&self, text: String) {
        *self.shared.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
    }

    /// Sleep up to `d`, waking early when stopping.
    fn pause(&self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
        }
    }

    fn run(&mut self) {
        let mut backoff = BACKOFF_MIN;
        // QoS 1 records sent and not acknowledged, kept across reconnects.
        let mut in_flight: VecDeque<(u16, Vec<u8>)> = VecDeque::new();
        let mut next_id: u16 = 0;
        let mut stopping_since: Option<Instant> = None;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                let since = *stopping_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= SHUTDOWN_GRACE || (self.rx.is_empty() && in_flight.is_empty()) {
                    break;
                }
            }
            let mut conn = match self.connect() {
                Ok(s) => s,
                Err(e) => {
                    self.shared.connect_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(target_name = self.name, url = self.config.url, "MQTT connection failed: {e}");
                    self.fail(e);
                    if self.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    self.pause(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
            backoff = BACKOFF_MIN;
            self.shared.connects.fetch_add(1, Ordering::Relaxed);
            self.shared.connected.store(true, Ordering::Release);
            tracing::info!(target_name = self.name, url = self.config.url, "MQTT connected");
            let ended = self.serve(&mut conn, &mut in_flight, &mut next_id, &mut stopping_since);
            if matches!(ended, Ended::Lost(_)) {
                self.shared.disconnects.fetch_add(1, Ordering::Relaxed);
            }
            self.shared.connected.store(false, Ordering::Release);
            match ended {
                Ended::Finished => {
                    let _ = conn.write_all(&[DISCONNECT << 4, 0]);
                    conn.close();
                    break;
                }
                Ended::Lost(e) => {
                    conn.close();
                    tracing::warn!(target_name = self.name, url = self.config.url, "MQTT connection lost: {e}");
                    self.fail(e);
                    self.pause(BACKOFF_MIN);
                }
            }
        }
        let left = self.rx.len() + in_flight.len();
        if left > 0 {
            self.shared.dropped.fetch_add(left as u64, Ordering::Relaxed);
            tracing::warn!(target_name = self.name, records = left, "MQTT records not delivered before shutdown");
        }
    }

    /// Open the TCP connection (and TLS session) and complete CONNECT/CONNACK.
    fn connect(&self) -> Result<Conn, String> {
        let c = &self.config;
        let addrs: Vec<SocketAddr> = (c.host.as_str(), c.port)
            .to_socket_addrs()
            .map_err(|e| format!("resolving {}:{}: {e}", c.host, c.port))?
            .collect();
        let mut last = format!("{}:{} resolves to no address", c.host, c.port);
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = format!("connecting to {addr}: {e}"),
            }
        }
        let stream = stream.ok_or(last)?;
        let io = |e: std::io::Error| format!("MQTT handshake with {}: {e}", c.url);
        stream.set_nodelay(true).map_err(io)?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT)).map_err(io)?;
        stream.set_read_timeout(Some(CONNECT_TIMEOUT)).map_err(io)?;
        let mut conn = match &c.tls {
            None => Conn::Plain(stream),
            Some(tls) => Conn::Tls(Box::new(tls::handshake(tls, &c.host, stream)?)),
        };
        conn.write_all(&connect_packet(c)).and_then(|()| conn.flush()).map_err(io)?;
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        let mut buf = Vec::new();
        let answer = loop {
            if let Some((packet, _)) = parse_packet(&buf).map_err(io)? {
                break packet;
            }
            if Instant::now() >= deadline {
                return Err(format!("broker {} sent no CONNACK within {} s", c.url, CONNECT_TIMEOUT.as_secs()));
            }
            let mut chunk = [0u8; 256];
            match conn.read(&mut chunk) {
                Ok(0) => return Err(format!("broker {} closed the connection during CONNECT", c.url)),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                Err(e) => return Err(io(e)),
            }
        };
        match answer {
            Incoming::ConnAck { code: 0 } => {}
            Incoming::ConnAck { code } => {
                return Err(format!(
                    "broker {} refused the connection: {} (CONNACK return code {code})",
                    c.url,
                    connack_reason(code)
                ))
            }
            other => return Err(format!("broker {} answered CONNECT with {other:?}", c.url)),
        }
        conn.tcp().set_read_timeout(Some(POLL)).map_err(io)?;
        Ok(conn)
    }

    /// Publish until the connection is lost or, when stopping, everything is sent. One thread
    /// does both directions: it sends what is queued, then reads for at most [`POLL`].
    fn serve(
        &self,
        conn: &mut Conn,
        in_flight: &mut VecDeque<(u16, Vec<u8>)>,
        next_id: &mut u16,
        stopping_since: &mut Option<Instant>,
    ) -> Ended {
        let c = &self.config;
        let keepalive = Duration::from_secs(u64::from(c.keepalive));
        let mut last_sent = Instant::now();
        let mut ping_sent: Option<Instant> = None;
        let mut incoming: Vec<u8> = Vec::new();
        // Resend what the last connection did not get acknowledged.
        for (id, payload) in in_flight.iter() {
            if let Err(e) = conn.write_all(&publish_packet(c, Some(*id), true, payload)) {
                return Ended::Lost(e.to_string());
            }
        }
        loop {
            // Send what is queued, as far as the in-flight window allows.
            let mut sent = false;
            while c.qos == 0 || in_flight.len() < MAX_IN_FLIGHT {
                let Ok(payload) = self.rx.try_recv() else { break };
                let id = (c.qos == 1).then(|| {
                    *next_id = next_id.wrapping_add(1).max(1);
                    *next_id
                });
                let result = conn.write_all(&publish_packet(c, id, false, &payload));
                match id {
                    Some(id) => in_flight.push_back((id, payload)),
                    // QoS 0 is at most once: a record the connection took down with it is lost.
                    None if result.is_err() => {
                        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        self.shared.published.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if let Err(e) = result {
                    return Ended::Lost(e.to_string());
                }
                sent = true;
            }
            if sent {
                if let Err(e) = conn.flush() {
                    return Ended::Lost(e.to_string());
                }
                last_sent = Instant::now();
            }
            if self.stop.load(Ordering::Relaxed) {
                let since = *stopping_since.get_or_insert_with(Instant::now);
                if (self.rx.is_empty() && in_flight.is_empty()) || since.elapsed() >= SHUTDOWN_GRACE {
                    return Ended::Finished;
                }
            }
            if c.keepalive > 0 {
                if let Some(at) = ping_sent {
                    if at.elapsed() >= keepalive {
                        return Ended::Lost(format!("no PINGRESP within {} s", c.keepalive));
                    }
                } else if last_sent.elapsed() >= keepalive {
                    if let Err(e) = conn.write_all(&[PINGREQ << 4, 0]).and_then(|()| conn.flush()) {
                        return Ended::Lost(e.to_string());
                    }
                    last_sent = Instant::now();
                    ping_sent = Some(last_sent);
                }
            }
            // The broker's packets (waits up to POLL when there are none).
            let mut chunk = [0u8; 512];
            match conn.read(&mut chunk) {
                Ok(0) => return Ended::Lost("the broker closed the connection".into()),
                Ok(n) => incoming.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                    return Ended::Lost("the broker closed the connection".into())
                }
                Err(e) => return Ended::Lost(e.to_string()),
            }
            loop {
                match parse_packet(&incoming) {
                    Ok(Some((packet, used))) => {
                        incoming.drain(..used);
                        match packet {
                            Incoming::PubAck { id } => {
                                if let Some(i) = in_flight.iter().position(|(f, _)| *f == id) {
                                    in_flight.remove(i);
                                    self.shared.published.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            Incoming::PingResp => ping_sent = None,
                            other => return Ended::Lost(format!("unexpected {other:?} from the broker")),
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Ended::Lost(e.to_string()),
                }
            }
        }
    }
}

/// How long the publisher thread waits for the broker's packets before looking at its queue
/// again: the longest a record waits on a connected, idle publisher.
const POLL: Duration = Duration::from_millis(20);

/// A connection to the broker, plain or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<tls::Stream>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(t) => t.sock(),
        }
    }

    /// End the connection (TLS: with a close_notify alert first).
    fn close(&mut self) {
        if let Conn::Tls(t) = self {
            t.close_notify();
        }
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(t) => t.flush(),
        }
    }
}

/// TLS for `mqtts://`, with rustls (ring as the crypto provider); cargo feature `mqtt-tls`
/// (on by default).
#[cfg(feature = "mqtt-tls")]
mod tls {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

    use super::{TlsOptions, SYSTEM_CA_BUNDLE};

    /// The client configuration `options` describe, or (the key at fault, why).
    fn client_config(options: &TlsOptions) -> Result<ClientConfig, (&'static str, String)> {
        let (ca_key, ca_file) = match &options.ca_file {
            Some(f) => ("ca_file", f.clone()),
            None => ("", std::path::PathBuf::from(SYSTEM_CA_BUNDLE)),
        };
        let unreadable = |e: rustls::pki_types::pem::Error| {
            let why = if ca_key.is_empty() { " (no 'ca_file' given: the system bundle)" } else { "" };
            (if ca_key.is_empty() { "ca_file" } else { ca_key }, format!("{}{why}: {e}", ca_file.display()))
        };
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&ca_file).map_err(unreadable)? {
            let cert = cert.map_err(unreadable)?;
            roots.add(cert).map_err(|e| ("ca_file", format!("{}: {e}", ca_file.display())))?;
        }
        if roots.is_empty() {
            return Err(("ca_file", format!("{}: no PEM certificate in it", ca_file.display())));
        }
        // The process-default provider: ring, the only one this build enables (safe defaults:
        // TLS 1.2 and 1.3).
        let builder = ClientConfig::builder().with_root_certificates(roots);
        match (&options.cert_file, &options.key_file) {
            (None, None) => Ok(builder.with_no_client_auth()),
            (Some(cert_file), Some(key_file)) => {
                let chain = CertificateDer::pem_file_iter(cert_file)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| ("cert_file", format!("{}: {e}", cert_file.display())))?;
                if chain.is_empty() {
                    return Err(("cert_file", format!("{}: no PEM certificate in it", cert_file.display())));
                }
                let key = PrivateKeyDer::from_pem_file(key_file)
                    .map_err(|e| ("key_file", format!("{}: {e}", key_file.display())))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| ("key_file", format!("{} does not go with the certificate: {e}", key_file.display())))
            }
            (Some(_), None) => Err(("cert_file", "a client certificate needs its 'key_file'".into())),
            (None, Some(_)) => Err(("key_file", "a client key needs its 'cert_file'".into())),
        }
    }

    fn server_name(options: &TlsOptions, host: &str) -> Result<ServerName<'static>, String> {
        let name = options.server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_string()).map_err(|e| format!("'{name}' is not a valid server name: {e}"))
    }

    /// Whether the options can make a client configuration (files readable, names valid).
    pub fn check(options: &TlsOptions) -> Result<(), (&'static str, String)> {
        client_config(options)?;
        if let Some(name) = &options.server_name {
            server_name(options, name).map_err(|e| ("server_name", e))?;
        }
        Ok(())
    }

    /// The TLS handshake over `stream` (whose read timeout bounds it).
    pub fn handshake(options: &TlsOptions, host: &str, mut stream: TcpStream) -> Result<Stream, String> {
        let config = client_config(options).map_err(|(_, e)| e)?;
        let name = server_name(options, host)?;
        let mut conn = ClientConnection::new(Arc::new(config), name).map_err(|e| format!("TLS: {e}"))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut stream).map_err(|e| format!("TLS handshake with {host}: {e}"))?;
        }
        Ok(Stream(StreamOwned::new(conn, stream)))
    }

    /// An established TLS session over its TCP connection.
    pub struct Stream(StreamOwned<ClientConnection, TcpStream>);

    impl Stream {
        pub fn sock(&self) -> &TcpStream {
            &self.0.sock
        }

        /// Tell the broker the session ends (a close_notify alert).
        pub fn close_notify(&mut self) {
            self.0.conn.send_close_notify();
            let _ = self.0.flush();
        }
    }

    impl Read for Stream {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }

    impl Write for Stream {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.write(buf)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            self.0.flush()
        }
    }
}

/// Built without the `mqtt-tls` feature: `mqtts://` is refused when the configuration is read.
#[cfg(not(feature = "mqtt-tls"))]
mod tls {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::TlsOptions;

    const WHY: &str = "mqtts:// (MQTT over TLS) is not available: this flowsieve was built without the \
                       mqtt-tls feature; use mqtt:// or a build with default features";

    pub fn check(_: &TlsOptions) -> Result<(), (&'static str, String)> {
        Err(("", WHY.into()))
    }

    pub fn handshake(_: &TlsOptions, _: &str, _: TcpStream) -> Result<Stream, String> {
        Err(WHY.into())
    }

    /// No TLS session can exist in this build.
    pub enum Stream {}

    impl Stream {
        pub fn sock(&self) -> &TcpStream {
            match *self {}
        }

        pub fn close_notify(&mut self) {
            match *self {}
        }
    }

    impl Read for Stream {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            match *self {}
        }
    }

    impl Write for Stream {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            match *self {}
        }

        fn flush(&mut self) -> std::io::Result<()> {
            match *self {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Result<MqttConfig, Vec<(String, String)>> {
        let v: Value = serde_json::from_str(json).unwrap();
        MqttConfig::parse(&v, "$.targets.s.mqtt", "s", Some("blocks")).map(|(c, _)| c).map_err(|p| p.errors)
    }

    #[test]
    fn urls_and_defaults() {
        let c = config(r#"{"url":"mqtt://broker.lan","topic":"netify/flows"}"#).unwrap();
        assert_eq!((c.host.as_str(), c.port, c.qos, c.keepalive, c.queue), ("broker.lan", 1883, 0, 60, 1000));
        assert!(c.client_id.starts_with("flowsieve-") && c.client_id.ends_with("-s"), "{}", c.client_id);
        let c =
            config(r#"{"url":"mqtt://[::1]:1884/","topic":"t","qos":1,"client_id":"x","username":"u","password":"p"}"#)
                .unwrap();
        assert_eq!((c.host.as_str(), c.port, c.qos), ("::1", 1884, 1));
        if cfg!(feature = "mqtt-tls") && std::path::Path::new(SYSTEM_CA_BUNDLE).exists() {
            let c = config(r#"{"url":"mqtts://broker.example","topic":"t"}"#).unwrap();
            assert_eq!((c.port, c.tls), (8883, Some(TlsOptions::default())));
        }
    }

    #[test]
    fn netifyd_keys_and_topic_variables() {
        let c = config(
            r#"{"host":"10.0.0.5","port":1884,"user":"u","pass":"p","message_qos":1,"message_retain":true,
                          "topic":"netify/${hostname}/${target}/${channel}"}"#,
        )
        .unwrap();
        assert_eq!((c.url.as_str(), c.port, c.qos, c.retain), ("mqtt://10.0.0.5:1884", 1884, 1, true));
        assert_eq!((c.username.as_deref(), c.password.as_deref()), (Some("u"), Some("p")));
        assert_eq!(c.topic, format!("netify/{}/s/blocks", hostname()));
        let e = config(r#"{"url":"mqtt://b","host":"b","topic":"t","qos":1,"message_qos":1}"#).unwrap_err();
        let keys: Vec<&str> = e.iter().map(|(k, _)| k.rsplit('.').next().unwrap()).collect();
        assert_eq!(keys, ["message_qos", "host"], "{e:?}");
        let e = config(r#"{"url":"mqtt://b","topic":"netify/${uuid_agent}"}"#).unwrap_err();
        assert!(e[0].0.ends_with(".topic") && e[0].1.contains("unknown variable"), "{e:?}");
    }

    #[test]
    #[cfg(feature = "mqtt-tls")]
    fn tls_errors_name_the_key() {
        let errors = |json| config(json).unwrap_err();
        let e = errors(r#"{"url":"mqtts://b","topic":"t","tls":{"ca_file":"/nonexistent/ca.pem"}}"#);
        assert_eq!(e[0].0, "$.targets.s.mqtt.tls.ca_file");
        assert!(e[0].1.starts_with("/nonexistent/ca.pem: "), "{e:?}");
        let e = errors(r#"{"url":"mqtts://b","topic":"t","tls":{"cert_file":"/etc/hostname"}}"#);
        assert!(e.iter().any(|(k, m)| k.ends_with(".tls.cert_file") && m.contains("'key_file'")), "{e:?}");
    }

    #[test]
    #[cfg(not(feature = "mqtt-tls"))]
    fn without_the_tls_feature_mqtts_is_refused_at_the_url() {
        let e = config(r#"{"url":"mqtts://b","topic":"t"}"#).unwrap_err();
        assert_eq!(e[0].0, "$.targets.s.mqtt.url");
        assert!(e[0].1.contains("built without the mqtt-tls feature"), "{e:?}");
    }

    #[test]
    fn errors_name_the_key() {
        let errors = |json| config(json).unwrap_err();
        let e = errors(r#"{"url":"mqtt://b:99999","topic":"a/#","qos":2,"password":"p"}"#);
        let keys: Vec<&str> = e.iter().map(|(k, _)| k.rsplit('.').next().unwrap()).collect();
        assert_eq!(keys, ["qos", "url", "topic", "password"], "{e:?}");
        let e = errors(r#"{"topic":"t"}"#);
        assert_eq!(
            e,
            [("$.targets.s.mqtt".to_string(), "missing key 'url' (mqtt://HOST:PORT of the broker)".to_string())]
        );
        assert!(errors(r#"{"url":"http://b","topic":"t"}"#)[0].1.contains("not an MQTT URL"));
        assert!(errors(r#"{"url":"mqtt://u:p@b","topic":"t"}"#)[0].1.contains("'username' and 'password'"));
        assert!(errors(r#"{"url":"mqtt://b","topic":"t","tls":{}}"#)[0].1.contains("need an mqtts:// url"));
        assert!(errors(r#"{"url":"mqtt://b","topic":"t","queue":0}"#)[0].0.ends_with(".queue"));
        assert!(errors(r#""mqtt://b""#)[0].1.contains("expected an object"));
    }

    #[test]
    fn packets_encode_as_the_standard_says() {
        let mut c = config(
            r#"{"url":"mqtt://b","topic":"a/b","client_id":"id","username":"u","password":"pw","keepalive":30}"#,
        )
        .unwrap();
        assert_eq!(
            connect_packet(&c),
            [&[0x10, 21, 0, 4][..], b"MQTT", &[4, 0xc2, 0, 30, 0, 2], b"id", &[0, 1], b"u", &[0, 2], b"pw"].concat()
        );
        c.qos = 1;
        c.retain = true;
        assert_eq!(publish_packet(&c, Some(7), true, b"{}"), [&[0x3b, 9, 0, 3][..], b"a/b", &[0, 7], b"{}"].concat());
        let mut long = Vec::new();
        put_length(&mut long, 321);
        assert_eq!(long, [0xc1, 0x02]);
        let mut r: &[u8] = &[0x20, 2, 0, 4, 0x40, 2, 0, 7, 0xd0, 0, 0x30, 0];
        for expected in [Incoming::ConnAck { code: 4 }, Incoming::PubAck { id: 7 }, Incoming::PingResp] {
            let (packet, used) = parse_packet(r).unwrap().unwrap();
            assert_eq!(packet, expected);
            r = &r[used..];
        }
        assert!(parse_packet(r).unwrap_err().to_string().contains("unexpected packet type 3"));
        assert!(parse_packet(&[0x40, 2, 0]).unwrap().is_none(), "incomplete");
        assert!(parse_packet(&[0x40, 0xff, 0xff]).unwrap().is_none(), "incomplete length");
        assert!(parse_packet(&[0x40, 0xff, 0xff, 0xff, 0x7f]).is_err(), "oversized");
        assert!(parse_packet(&[0x40, 0xff, 0xff, 0xff, 0xff, 1]).is_err(), "five length bytes");
    }

    #[test]
    fn a_full_queue_drops_and_counts_while_the_broker_is_unreachable() {
        // Port 1 on loopback: nothing listens, connections are refused at once.
        let c = config(r#"{"url":"mqtt://127.0.0.1:1","topic":"t","queue":2}"#).unwrap();
        let mut p = MqttPublisher::start(c, "t").unwrap();
        let accepted = (0..5).filter(|_| p.publish(b"{}".to_vec())).count();
        assert!(accepted <= 3, "{accepted}");
        let deadline = Instant::now() + Duration::from_secs(5);
        while p.stats().connect_failures == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let s = p.stats();
        assert!(s.dropped >= 2 && s.connect_failures >= 1 && !s.connected, "{s:?}");
        assert!(p.last_error().unwrap().contains("127.0.0.1:1"), "{:?}", p.last_error());
        p.shutdown();
    }
}
