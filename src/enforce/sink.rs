//! The `sink` target: one JSON record per triggered action, streamed to the clients of a UNIX
//! socket and/or appended to a JSON-lines file.
//!
//! Netify's sink target names a sink plugin (`sink`) and a `channel`; flowsieve has no plugins,
//! so the destinations are its own keys (with neither, the records go to the socket
//! `/run/flowsieve/<sink>.<channel>.sock`, see [`default_socket`]):
//! - `socket`: a path flowsieve listens on (stream socket, like netifyd's socket sink); every
//!   connected client receives every record framed as Netify frames its socket output:
//!   `{"length":N}\n` followed by N bytes of JSON.
//! - `path`: a file each record is appended to as one line.
//! - `channel`: copied into every record; `sink` is accepted and copied too.
//! - `mqtt`: a broker every record is published to (see [`crate::output::mqtt`]: url, topic, QoS,
//!   credentials, bounded queue whose drops are counted as `mqtt_dropped`).
//!
//! - `format`: `netify` (default) or `flowsieve`, the record's shape (below).
//!
//! A record (`format: netify`): Netify's v5 telemetry envelope with the action,
//! `{"type":"flow_action","interface":…,"internal":…,"action":…,"target":…,"channel":…,"sink":…,"flow":{…}}`,
//! `flow` being Netify's v5 flow object ([`crate::output::netify`]); `format: flowsieve`:
//! `{"type":"flow_action","time":…,"action":…,"target":…,"channel":…,"flow":{…}}` where `flow`
//! has the fields of `replay --json`. Writes never block the enforcer: a client that falls
//! more than [`CLIENT_BUFFER_LIMIT`] behind is disconnected and counted.
//!
//! The file is opened as [`super::files::open_append`] allows (never through a link, never a
//! file of another user; created 0640); a failed write keeps the unwritten lines (at most
//! [`FILE_BUFFER_LIMIT`] bytes, newer records dropped and counted beyond) and retries on the next
//! record or tick. A reload (SIGHUP) reopens the file, so logrotate's move + HUP starts a new one.
//! At the socket path only a socket is ever removed.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::files;
use super::kind::{Props, TargetKind};
use super::{MatchEvent, Target, TargetError};
use crate::output::record::facts_record;
use crate::output::{netify, RecordFormat};

/// Bytes a slow socket client may fall behind before it is disconnected.
pub const CLIENT_BUFFER_LIMIT: usize = 4 << 20;

/// Bytes of records kept for the file while it cannot be written.
pub const FILE_BUFFER_LIMIT: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkConfig {
    pub name: String,
    pub socket: Option<PathBuf>,
    pub path: Option<PathBuf>,
    pub channel: Option<String>,
    pub sink: Option<String>,
    /// Boxed: most sinks have none, and it is the largest part of a target's configuration.
    pub mqtt: Option<Box<crate::output::mqtt::MqttConfig>>,
    /// The records' shape (`format`).
    pub format: RecordFormat,
}

struct Client {
    stream: UnixStream,
    pending: Vec<u8>,
}

/// Counters of a sink.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SinkStats {
    pub records: u64,
    pub clients_accepted: u64,
    pub clients_dropped: u64,
    pub file_write_failures: u64,
    pub file_records_dropped: u64,
}

pub struct SinkTarget {
    config: SinkConfig,
    listener: Option<UnixListener>,
    clients: Vec<Client>,
    file: Option<File>,
    mqtt: Option<crate::output::mqtt::MqttPublisher>,
    /// Connection failures already reported as target failures.
    mqtt_failures_reported: u64,
    /// Lines not yet written to the file.
    file_pending: Vec<u8>,
    /// The record being sent, reused from record to record.
    body: Vec<u8>,
    stats: SinkStats,
}

impl SinkTarget {
    pub fn new(config: SinkConfig) -> SinkTarget {
        SinkTarget {
            config,
            listener: None,
            clients: Vec::new(),
            file: None,
            mqtt: None,
            mqtt_failures_reported: 0,
            file_pending: Vec::new(),
            body: Vec::new(),
            stats: SinkStats::default(),
        }
    }

    pub fn stats(&self) -> SinkStats {
        self.stats
    }

    /// Write the event's record into `self.body`.
    fn record(&mut self, event: &MatchEvent) {
        self.body.clear();
        let c = &self.config;
        if c.format == RecordFormat::Netify {
            let extra = [
                ("action", Some(&*event.action)),
                ("target", Some(c.name.as_str())),
                ("channel", c.channel.as_deref()),
                ("sink", c.sink.as_deref()),
            ];
            netify::write_record(&mut self.body, "flow_action", &extra, &event.flow, &event.times);
            return;
        }
        let time = event.at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let record = json!({
            "type": "flow_action",
            "time": time,
            "action": &*event.action,
            "target": c.name,
            "channel": c.channel,
            "sink": c.sink,
            "flow": facts_record(&event.flow),
        });
        // Writing a JSON tree into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.body, &record);
    }

    fn accept(&mut self) {
        let Some(listener) = &self.listener else { return };
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_ok() {
                        self.clients.push(Client { stream, pending: Vec::new() });
                        self.stats.clients_accepted += 1;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::warn!(target_name = self.config.name, "sink socket accept: {e}");
                    break;
                }
            }
        }
    }

    fn open_file(&mut self) -> Result<(), TargetError> {
        if let Some(path) = &self.config.path {
            let file = files::open_append(path).map_err(|source| TargetError::Io { path: path.clone(), source })?;
            self.file = Some(file);
        }
        Ok(())
    }

    /// Write the pending lines to the file (opening it again when it could not be opened).
    fn drain_file(&mut self) -> Result<(), TargetError> {
        if self.file_pending.is_empty() || self.config.path.is_none() {
            return Ok(());
        }
        if self.file.is_none() {
            if let Err(e) = self.open_file() {
                self.stats.file_write_failures += 1;
                return Err(e);
            }
        }
        let path = self.config.path.clone().unwrap_or_default();
        let Some(file) = &mut self.file else { return Ok(()) };
        while !self.file_pending.is_empty() {
            match file.write(&self.file_pending) {
                Ok(0) => break,
                Ok(n) => {
                    self.file_pending.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(source) => {
                    self.stats.file_write_failures += 1;
                    return Err(TargetError::Io { path, source });
                }
            }
        }
        Ok(())
    }

    /// Write what each client can take now; drop clients that are gone or too far behind.
    fn drain_clients(&mut self) {
        let before = self.clients.len();
        self.clients.retain_mut(|c| {
            while !c.pending.is_empty() {
                match c.stream.write(&c.pending) {
                    Ok(0) => return false,
                    Ok(n) => {
                        c.pending.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => return false,
                }
            }
            c.pending.len() <= CLIENT_BUFFER_LIMIT
        });
        self.stats.clients_dropped += (before - self.clients.len()) as u64;
    }

    /// A new MQTT connection failure since the last report, as a target failure (counted and
    /// logged by the enforcer, shown as the last error in `flowsieve status`).
    fn mqtt_failure(&mut self) -> Result<(), TargetError> {
        let Some(mqtt) = &self.mqtt else { return Ok(()) };
        let s = mqtt.stats();
        let failures = s.connect_failures + s.disconnects;
        if failures == self.mqtt_failures_reported {
            return Ok(());
        }
        self.mqtt_failures_reported = failures;
        let url = self.config.mqtt.as_ref().map_or("", |c| c.url.as_str());
        Err(TargetError::Other(format!(
            "MQTT {url}: {}",
            mqtt.last_error().unwrap_or_else(|| "connection failed".into())
        )))
    }
}

impl Target for SinkTarget {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn setup(&mut self) -> Result<(), TargetError> {
        if let Some(path) = &self.config.socket {
            let io = |source| TargetError::Io { path: path.clone(), source };
            match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path).map_err(io)?,
                Ok(_) => {
                    return Err(io(std::io::Error::new(
                        ErrorKind::AlreadyExists,
                        "exists and is not a socket; refusing to remove it",
                    )))
                }
                Err(_) => {}
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let listener = UnixListener::bind(path).map_err(io)?;
            listener.set_nonblocking(true).map_err(io)?;
            self.listener = Some(listener);
        }
        self.open_file()?;
        if let (Some(config), None) = (&self.config.mqtt, &self.mqtt) {
            let publisher = crate::output::mqtt::MqttPublisher::start((**config).clone(), &self.config.name)
                .map_err(|e| TargetError::Other(format!("starting the MQTT publisher: {e}")))?;
            self.mqtt = Some(publisher);
        }
        Ok(())
    }

    fn reopen(&mut self) -> Result<(), TargetError> {
        self.file = None;
        self.open_file()?;
        self.drain_file()
    }

    fn describe(&self, event: &MatchEvent, ops: &mut Vec<String>) {
        let mut to = Vec::new();
        if let Some(s) = &self.config.socket {
            to.push(format!("socket {}", s.display()));
        }
        if let Some(p) = &self.config.path {
            to.push(format!("file {}", p.display()));
        }
        if let Some(m) = &self.config.mqtt {
            to.push(format!("MQTT {} topic {}", m.url, m.topic));
        }
        ops.push(format!("sink {}: record for action '{}' to {}", self.config.name, event.action, to.join(" and ")));
    }

    fn apply(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        self.record(event);
        self.stats.records += 1;
        if self.config.path.is_some() {
            if self.file_pending.len() + self.body.len() < FILE_BUFFER_LIMIT {
                self.file_pending.extend_from_slice(&self.body);
                self.file_pending.push(b'\n');
            } else {
                self.stats.file_records_dropped += 1;
            }
        }
        let file_result = self.drain_file();
        if let Some(mqtt) = &self.mqtt {
            // Dropped when the queue is full: counted as `mqtt_dropped`, not a failure per record.
            mqtt.publish(self.body.clone());
        }
        if self.listener.is_some() {
            self.accept();
            if !self.clients.is_empty() {
                let header = format!("{{\"length\":{}}}\n", self.body.len());
                for c in &mut self.clients {
                    c.pending.extend_from_slice(header.as_bytes());
                    c.pending.extend_from_slice(&self.body);
                }
            }
        }
        file_result
    }

    fn flush(&mut self) -> Result<(), TargetError> {
        self.drain_clients();
        Ok(())
    }

    fn tick(&mut self, _now: SystemTime) -> Result<(), TargetError> {
        self.accept();
        self.drain_clients();
        let file = self.drain_file();
        let mqtt = self.mqtt_failure();
        file.and(mqtt)
    }

    fn details(&self) -> Vec<(&'static str, u64)> {
        let mut d = vec![
            ("records", self.stats.records),
            ("clients_accepted", self.stats.clients_accepted),
            ("clients_dropped", self.stats.clients_dropped),
            ("file_write_failures", self.stats.file_write_failures),
            ("file_records_dropped", self.stats.file_records_dropped),
            ("file_bytes_pending", self.file_pending.len() as u64),
        ];
        if let Some(mqtt) = &self.mqtt {
            let s = mqtt.stats();
            d.extend([
                ("mqtt_published", s.published),
                ("mqtt_dropped", s.dropped),
                ("mqtt_queued", s.queued),
                ("mqtt_connects", s.connects),
                ("mqtt_connect_failures", s.connect_failures),
                ("mqtt_disconnects", s.disconnects),
                ("mqtt_connected", u64::from(s.connected)),
            ]);
        }
        d
    }

    fn shutdown(&mut self) -> Result<(), TargetError> {
        self.drain_clients();
        let _ = self.drain_file();
        if let Some(mqtt) = &mut self.mqtt {
            mqtt.shutdown();
        }
        if let (Some(_), Some(path)) = (self.listener.take(), &self.config.socket) {
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }
}

/// Where a sink given only `sink`/`channel` listens: `/run/flowsieve/<sink>.<channel>.sock`
/// (`sink` defaults to `sink`; characters other than letters, digits, `.`, `_`, `-` become `_`).
pub fn default_socket(sink: Option<&str>, channel: &str) -> PathBuf {
    let clean = |text: &str| -> String {
        text.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
    };
    PathBuf::from(format!("/run/flowsieve/{}.{}.sock", clean(sink.unwrap_or("sink")), clean(channel)))
}

impl TargetKind for SinkConfig {
    const TYPE: &'static str = "sink";
    const KEYS: &'static [&'static [&'static str]] = &[&["socket", "path", "channel", "sink", "mqtt", "format"]];
    type Globals = ();

    fn parse(props: &mut Props<'_, '_>, _: &()) -> Option<SinkConfig> {
        let socket = props.optional_string("socket").map(PathBuf::from);
        let file = props.optional_string("path").map(PathBuf::from);
        let channel = props.optional_string("channel");
        let sink = props.optional_string("sink");
        let format = match props.optional_string("format") {
            None => RecordFormat::default(),
            Some(name) => RecordFormat::parse(&name).unwrap_or_else(|| {
                let p = props.path_of("format");
                props.error(&p, format!("unknown record format '{name}': 'netify' (the default) or 'flowsieve'"));
                RecordFormat::default()
            }),
        };
        if let Some(path) = &socket {
            // sun_path holds 108 bytes with the terminating NUL.
            let len = path.as_os_str().len();
            if len > 107 || len == 0 {
                let p = props.path_of("socket");
                props.error(&p, format!("a UNIX socket path is 1 to 107 bytes, this one is {len}"));
            }
        }
        let mqtt = match props.get("mqtt") {
            None => None,
            Some((value, path)) => {
                match crate::output::mqtt::MqttConfig::parse(value, &path, props.name(), channel.as_deref()) {
                    Ok((config, problems)) => {
                        problems.warnings.into_iter().for_each(|(p, m)| props.warn(&p, m));
                        Some(Box::new(config))
                    }
                    Err(problems) => {
                        problems.warnings.into_iter().for_each(|(p, m)| props.warn(&p, m));
                        problems.errors.into_iter().for_each(|(p, m)| props.error(&p, m));
                        return None;
                    }
                }
            }
        };
        // Netify's v5 form names only a sink plugin and a channel: flowsieve, which has no
        // plugins, then serves the records on a socket named after them.
        let socket = if socket.is_none() && file.is_none() && mqtt.is_none() {
            Some(default_socket(sink.as_deref(), channel.as_deref().unwrap_or(props.name())))
        } else {
            socket
        };
        Some(SinkConfig { name: props.name().to_string(), socket, path: file, channel, sink, mqtt, format })
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self) -> Box<dyn Target> {
        Box::new(SinkTarget::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FlowFacts;
    use std::io::{BufRead, BufReader, Read};
    use std::sync::Arc;

    fn event() -> MatchEvent {
        let flow = FlowFacts {
            local_ip: "192.168.1.10".parse().unwrap(),
            other_ip: "10.99.0.2".parse().unwrap(),
            other_port: 1010,
            ip_protocol: 6,
            protocol: crate::facts::protocol::TLS,
            ..FlowFacts::default()
        };
        MatchEvent {
            action: Arc::from("weakssl"),
            flow: Arc::new(flow),
            at: UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000), times: Default::default() }
    }

    #[test]
    fn records_go_to_socket_clients_with_netify_framing_and_to_the_file() {
        let dir = std::env::temp_dir().join(format!("flowsieve-sink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = SinkConfig {
            name: "sink.audit".into(),
            socket: Some(dir.join("sink.sock")),
            path: Some(dir.join("actions.jsonl")),
            channel: Some("blocks".into()),
            sink: None,
            mqtt: None,
            format: RecordFormat::Flowsieve,
        };
        let mut sink = SinkTarget::new(config);
        sink.setup().unwrap();
        let client = UnixStream::connect(dir.join("sink.sock")).unwrap();
        sink.tick(SystemTime::now()).unwrap();
        sink.apply(&event()).unwrap();
        sink.apply(&event()).unwrap();
        sink.flush().unwrap();

        let mut reader = BufReader::new(client);
        for _ in 0..2 {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let len = serde_json::from_str::<serde_json::Value>(&header).unwrap()["length"].as_u64().unwrap() as usize;
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let record: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(record["type"], "flow_action");
            assert_eq!(record["action"], "weakssl");
            assert_eq!(record["channel"], "blocks");
            assert_eq!(record["flow"]["other_ip"], "10.99.0.2");
            assert_eq!(record["flow"]["protocol"]["id"], 91);
        }
        let lines = std::fs::read_to_string(dir.join("actions.jsonl")).unwrap();
        assert_eq!(lines.lines().count(), 2);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(lines.lines().next().unwrap()).unwrap()["time"],
            1_700_000_000.0
        );
        sink.shutdown().unwrap();
        assert!(!dir.join("sink.sock").exists());
        assert_eq!(sink.stats().records, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_client_that_stops_reading_is_dropped_not_waited_for() {
        let dir = std::env::temp_dir().join(format!("flowsieve-sink-slow-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = SinkConfig {
            name: "s".into(),
            socket: Some(dir.join("s.sock")),
            path: None,
            channel: None,
            sink: None,
            mqtt: None,
            format: RecordFormat::default(),
        };
        let mut sink = SinkTarget::new(config);
        sink.setup().unwrap();
        let _client = UnixStream::connect(dir.join("s.sock")).unwrap();
        sink.tick(SystemTime::now()).unwrap();
        for _ in 0..20_000 {
            sink.apply(&event()).unwrap();
            sink.flush().unwrap();
        }
        assert_eq!(sink.stats().clients_dropped, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_file_is_reopened_after_a_move_and_kept_lines_are_retried() {
        let dir = std::env::temp_dir().join(format!("flowsieve-sink-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("actions.jsonl");
        let config = SinkConfig { name: "s".into(), socket: None, path: Some(file.clone()), channel: None, sink: None, mqtt: None, format: RecordFormat::default() };
        let mut sink = SinkTarget::new(config);
        sink.setup().unwrap();
        sink.apply(&event()).unwrap();
        // logrotate: move, then HUP (a reload reopens).
        std::fs::rename(&file, dir.join("actions.jsonl.1")).unwrap();
        sink.reopen().unwrap();
        sink.apply(&event()).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("actions.jsonl.1")).unwrap().lines().count(), 1);
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);
        // A planted link where the file was: not followed; lines kept and written once it is fixed.
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(dir.join("victim"), &file).unwrap();
        assert!(sink.reopen().is_err());
        assert!(sink.apply(&event()).is_err());
        assert!(!dir.join("victim").exists());
        std::fs::remove_file(&file).unwrap();
        sink.tick(SystemTime::now()).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);
        // Only a socket is removed at the socket path.
        let regular = dir.join("not-a-socket");
        std::fs::write(&regular, "keep").unwrap();
        let mut other = SinkTarget::new(SinkConfig {
            name: "t".into(),
            socket: Some(regular.clone()),
            path: None,
            channel: None,
            sink: None,
            mqtt: None,
            format: RecordFormat::default(),
        });
        assert!(other.setup().is_err());
        assert_eq!(std::fs::read_to_string(&regular).unwrap(), "keep");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
