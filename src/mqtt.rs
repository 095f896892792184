//! Fleet reporting: a small MQTT 3.1.1 client that publishes a sink target's records to a broker
//! (the sink's `mqtt` key).
//!
//! The enforcer never waits for the network: [`MqttPublisher::publish`] puts the record in a
//! bounded queue (`queue` records) and a dedicated thread sends it; a record that finds the
//! queue full is dropped and counted (`mqtt_dropped`). The thread connects (CONNECT/CONNACK,
//! clean session), publishes with QoS 0 or 1 (QoS 1: at most [`MAX_IN_FLIGHT`] unacknowledged
//! PUBLISH packets, resent with the DUP flag after a reconnect), keeps the connection alive with
//! PINGREQ, and reconnects with a doubling backoff (0.5 s to 30 s) when the broker goes away or
//! refuses it. A second thread per connection reads the broker's packets (CONNACK, PUBACK,
//! PINGRESP). `mqtts://` (TLS) is refused by the configuration: this build has no TLS client.
//!
//! Wire format (MQTT 3.1.1, OASIS standard): a fixed header byte (type << 4 | flags), the
//! remaining length as a base-128 varint of at most four bytes, then the variable header and
//! payload; strings are a big-endian u16 length and UTF-8 bytes.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use serde_json::Value;

/// QoS 1 PUBLISH packets sent and not yet acknowledged, at most.
pub const MAX_IN_FLIGHT: usize = 64;
const DEFAULT_PORT: u16 = 1883;
const DEFAULT_KEEPALIVE: u16 = 60;
const DEFAULT_QUEUE: usize = 1000;
const MAX_QUEUE: usize = 1_000_000;
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
}

/// Keys of the `mqtt` object.
pub const MQTT_KEYS: &[&str] =
    &["url", "topic", "client_id", "username", "password", "qos", "retain", "keepalive", "queue", "tls"];

/// Problems in an `mqtt` object: (JSON path, message), errors and warnings.
#[derive(Debug, Default)]
pub struct ConfigProblems {
    pub errors: Vec<(String, String)>,
    pub warnings: Vec<(String, String)>,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `host` and `port` of `mqtt://HOST[:PORT]`, or why not.
fn parse_url(url: &str) -> Result<(String, u16), String> {
    let rest = if let Some(rest) = url.strip_prefix("mqtt://") {
        rest
    } else if url.starts_with("mqtts://") {
        return Err("mqtts:// (MQTT over TLS) is not supported by this build of flowsieve (no TLS client); \
                    use mqtt:// to a broker on a trusted network or through a local TLS tunnel"
            .into());
    } else {
        return Err(format!("'{url}' is not an MQTT URL (expected mqtt://HOST:PORT)"));
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
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("'{url}': port '{p}' is not a number from 1 to 65535")),
        },
    };
    Ok((host.to_string(), port))
}

/// The host name, for the default client id.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

impl MqttConfig {
    /// Parse the `mqtt` object of sink target `target` found at JSON path `path`.
    pub fn parse(value: &Value, path: &str, target: &str) -> Result<(MqttConfig, ConfigProblems), ConfigProblems> {
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
        let username = string("username", &mut problems);
        let password = string("password", &mut problems);
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
        let qos = number("qos", 0, 2, &mut problems) as u8;
        if qos == 2 {
            problems.errors.push((at("qos"), "QoS 2 is not supported (expected 0 or 1)".into()));
        }
        let keepalive = number("keepalive", u64::from(DEFAULT_KEEPALIVE), u64::from(u16::MAX), &mut problems) as u16;
        let queue = number("queue", DEFAULT_QUEUE as u64, MAX_QUEUE as u64, &mut problems) as usize;
        if map.get("queue").is_some() && queue == 0 {
            problems.errors.push((at("queue"), "the queue must hold at least 1 record".into()));
        }
        let retain = match map.get("retain") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                problems.errors.push((at("retain"), format!("expected true or false, found {}", kind(other))));
                false
            }
        };
        let mut host_port = None;
        match &url {
            None if map.get("url").is_none() => {
                problems.errors.push((path.into(), "missing key 'url' (mqtt://HOST:PORT of the broker)".into()))
            }
            None => {}
            Some(u) => match parse_url(u) {
                Ok(hp) => host_port = Some(hp),
                Err(e) => problems.errors.push((at("url"), e)),
            },
        }
        if map.get("tls").is_some() && url.as_deref().is_some_and(|u| u.starts_with("mqtt://")) {
            problems
                .errors
                .push((at("tls"), "TLS options need an mqtts:// url, which this build does not support".into()));
        }
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
            Some(_) => {}
        }
        if let Some(id) = &client_id {
            if id.is_empty() || id.len() > usize::from(u16::MAX) {
                problems.errors.push((at("client_id"), "expected 1 to 65535 bytes".into()));
            }
        }
        if password.is_some() && username.is_none() {
            problems.errors.push((at("password"), "a password needs a 'username' (MQTT 3.1.1)".into()));
        }
        for (key, v) in [("username", &username), ("password", &password)] {
            if v.as_ref().is_some_and(|v| v.len() > usize::from(u16::MAX)) {
                problems.errors.push((at(key), "longer than 65535 bytes".into()));
            }
        }
        if !problems.errors.is_empty() {
            return Err(problems);
        }
        let (Some(url), Some(topic), Some((host, port))) = (url, topic, host_port) else {
            return Err(problems);
        };
        let client_id = client_id.unwrap_or_else(|| format!("flowsieve-{}-{target}", hostname()));
        let config =
            MqttConfig { url, host, port, topic, client_id, username, password, qos, retain, keepalive, queue };
        Ok((config, problems))
    }
}

// --- wire format ---------------------------------------------------------------------------

const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const PUBLISH: u8 = 3;
const PUBACK: u8 = 4;
const PINGREQ: u8 = 12;
const PINGRESP: u8 = 13;
const DISCONNECT: u8 = 14;

fn put_length(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// A whole packet: header byte, remaining length, body.
fn packet(header: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(header);
    put_length(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

fn connect_packet(c: &MqttConfig) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, b"MQTT");
    body.push(4); // protocol level 3.1.1
    let mut flags = 0x02; // clean session
    if c.username.is_some() {
        flags |= 0x80;
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    body.push(flags);
    body.extend_from_slice(&c.keepalive.to_be_bytes());
    put_str(&mut body, c.client_id.as_bytes());
    if let Some(u) = &c.username {
        put_str(&mut body, u.as_bytes());
    }
    if let Some(p) = &c.password {
        put_str(&mut body, p.as_bytes());
    }
    packet(CONNECT << 4, &body)
}

/// A PUBLISH packet; `id` only with QoS 1.
fn publish_packet(c: &MqttConfig, id: Option<u16>, dup: bool, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + c.topic.len() + 4);
    put_str(&mut body, c.topic.as_bytes());
    if let Some(id) = id {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    let header = PUBLISH << 4 | u8::from(dup) << 3 | c.qos << 1 | u8::from(c.retain);
    packet(header, &body)
}

/// What a CONNACK return code means (MQTT 3.1.1 §3.2.2.3).
pub fn connack_reason(code: u8) -> &'static str {
    match code {
        1 => "unacceptable protocol version",
        2 => "client identifier rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        _ => "unknown reason",
    }
}

/// A packet from the broker.
#[derive(Debug, PartialEq, Eq)]
enum Incoming {
    ConnAck { code: u8 },
    PubAck { id: u16 },
    PingResp,
}

/// Read one packet; unexpected or oversized packets are protocol errors.
fn read_packet(r: &mut impl Read) -> std::io::Result<Incoming> {
    let mut byte = [0u8; 1];
    r.read_exact(&mut byte)?;
    let header = byte[0];
    let mut len = 0usize;
    for i in 0..4 {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        len |= usize::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            break;
        }
        if i == 3 {
            return Err(protocol("remaining length longer than four bytes"));
        }
    }
    if len > MAX_INCOMING {
        return Err(protocol(&format!("packet of {len} bytes from the broker")));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    match (header >> 4, body.as_slice()) {
        (CONNACK, [_, code]) => Ok(Incoming::ConnAck { code: *code }),
        (PUBACK, [a, b]) => Ok(Incoming::PubAck { id: u16::from_be_bytes([*a, *b]) }),
        (PINGRESP, []) => Ok(Incoming::PingResp),
        (t, _) => Err(protocol(&format!("unexpected packet type {t} ({len} bytes) from the broker"))),
    }
}

fn protocol(what: &str) -> std::io::Error {
    std::io::Error::new(ErrorKind::InvalidData, format!("MQTT protocol error: {what}"))
}

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
        MqttStats {
            queued: s.queued.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            published: s.published.load(Ordering::Relaxed),
            connects: s.connects.load(Ordering::Relaxed),
            connect_failures: s.connect_failures.load(Ordering::Relaxed),
            disconnects: s.disconnects.load(Ordering::Relaxed),
            connected: s.connected.load(Ordering::Relaxed),
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
            let stream = match self.connect() {
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
            self.shared.connected.store(true, Ordering::Relaxed);
            tracing::info!(target_name = self.name, url = self.config.url, "MQTT connected");
            let ended = self.serve(&stream, &mut in_flight, &mut next_id, &mut stopping_since);
            self.shared.connected.store(false, Ordering::Relaxed);
            match ended {
                Ended::Finished => {
                    let _ = (&stream).write_all(&[DISCONNECT << 4, 0]);
                    let _ = stream.shutdown(Shutdown::Both);
                    break;
                }
                Ended::Lost(e) => {
                    let _ = stream.shutdown(Shutdown::Both);
                    self.shared.disconnects.fetch_add(1, Ordering::Relaxed);
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

    /// Open the TCP connection and complete CONNECT/CONNACK.
    fn connect(&self) -> Result<TcpStream, String> {
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
        let mut stream = stream.ok_or(last)?;
        let io = |e: std::io::Error| format!("MQTT handshake with {}: {e}", c.url);
        stream.set_nodelay(true).map_err(io)?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT)).map_err(io)?;
        stream.set_read_timeout(Some(CONNECT_TIMEOUT)).map_err(io)?;
        stream.write_all(&connect_packet(c)).map_err(io)?;
        match read_packet(&mut stream).map_err(io)? {
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
        stream.set_read_timeout(None).map_err(io)?;
        Ok(stream)
    }

    /// Publish until the connection is lost or, when stopping, everything is sent.
    fn serve(
        &self,
        stream: &TcpStream,
        in_flight: &mut VecDeque<(u16, Vec<u8>)>,
        next_id: &mut u16,
        stopping_since: &mut Option<Instant>,
    ) -> Ended {
        let c = &self.config;
        let (events_tx, events) = unbounded::<Result<Incoming, String>>();
        let reader = match stream.try_clone() {
            Ok(mut r) => std::thread::Builder::new().name(format!("mqtt-read-{}", self.name)).spawn(move || loop {
                let event = read_packet(&mut r).map_err(|e| match e.kind() {
                    ErrorKind::UnexpectedEof => "the broker closed the connection".to_string(),
                    _ => e.to_string(),
                });
                let end = event.is_err();
                if events_tx.send(event).is_err() || end {
                    break;
                }
            }),
            Err(e) => return Ended::Lost(e.to_string()),
        };
        if let Err(e) = reader {
            return Ended::Lost(e.to_string());
        }
        let mut w = stream;
        let keepalive = Duration::from_secs(u64::from(c.keepalive));
        let mut last_sent = Instant::now();
        let mut ping_sent: Option<Instant> = None;
        // Resend what the last connection did not get acknowledged.
        for (id, payload) in in_flight.iter() {
            if let Err(e) = w.write_all(&publish_packet(c, Some(*id), true, payload)) {
                return Ended::Lost(e.to_string());
            }
        }
        loop {
            // The broker's packets.
            while let Ok(event) = events.try_recv() {
                match event {
                    Ok(Incoming::PubAck { id }) => {
                        if let Some(i) = in_flight.iter().position(|(f, _)| *f == id) {
                            in_flight.remove(i);
                            self.shared.published.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(Incoming::PingResp) => ping_sent = None,
                    Ok(other) => return Ended::Lost(format!("unexpected {other:?} from the broker")),
                    Err(e) => return Ended::Lost(e),
                }
            }
            let stopping = self.stop.load(Ordering::Relaxed);
            if stopping {
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
                    if let Err(e) = w.write_all(&[PINGREQ << 4, 0]) {
                        return Ended::Lost(e.to_string());
                    }
                    last_sent = Instant::now();
                    ping_sent = Some(last_sent);
                }
            }
            if c.qos == 1 && in_flight.len() >= MAX_IN_FLIGHT {
                // Wait for acknowledgements before taking more records.
                match events.recv_timeout(Duration::from_millis(100)) {
                    Ok(Ok(Incoming::PubAck { id })) => {
                        if let Some(i) = in_flight.iter().position(|(f, _)| *f == id) {
                            in_flight.remove(i);
                            self.shared.published.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(Ok(Incoming::PingResp)) => ping_sent = None,
                    Ok(Ok(other)) => return Ended::Lost(format!("unexpected {other:?} from the broker")),
                    Ok(Err(e)) => return Ended::Lost(e),
                    Err(_) => {}
                }
                continue;
            }
            let payload = match self.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(p) => p,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => {
                    if in_flight.is_empty() {
                        return Ended::Finished;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            };
            let id = (c.qos == 1).then(|| {
                *next_id = next_id.wrapping_add(1).max(1);
                *next_id
            });
            if let Err(e) = w.write_all(&publish_packet(c, id, false, &payload)) {
                match id {
                    Some(id) => in_flight.push_back((id, payload)),
                    // QoS 0 is at most once: a record the connection took down with it is lost.
                    None => {
                        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                return Ended::Lost(e.to_string());
            }
            last_sent = Instant::now();
            match id {
                Some(id) => in_flight.push_back((id, payload)),
                None => {
                    self.shared.published.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Result<MqttConfig, Vec<(String, String)>> {
        let v: Value = serde_json::from_str(json).unwrap();
        MqttConfig::parse(&v, "$.targets.s.mqtt", "s").map(|(c, _)| c).map_err(|p| p.errors)
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
    }

    #[test]
    fn errors_name_the_key() {
        let errors = |json| config(json).unwrap_err();
        let e = errors(r#"{"url":"mqtts://b:8883","topic":"t"}"#);
        assert_eq!(e[0].0, "$.targets.s.mqtt.url");
        assert!(e[0].1.contains("mqtts:// (MQTT over TLS) is not supported"), "{e:?}");
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
        assert!(errors(r#"{"url":"mqtt://b","topic":"t","tls":{}}"#)[0].0.ends_with(".tls"));
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
        assert_eq!(read_packet(&mut r).unwrap(), Incoming::ConnAck { code: 4 });
        assert_eq!(read_packet(&mut r).unwrap(), Incoming::PubAck { id: 7 });
        assert_eq!(read_packet(&mut r).unwrap(), Incoming::PingResp);
        assert!(read_packet(&mut r).unwrap_err().to_string().contains("unexpected packet type 3"));
        let mut huge: &[u8] = &[0x40, 0xff, 0xff, 0xff, 0x7f];
        assert!(read_packet(&mut huge).is_err());
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
