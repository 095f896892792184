//! The `log` target: every `interval`, if anything matched, one JSON file
//! `<path>/<prefix>-YYYYMMDD-HHMMSS<suffix>` holding `{"entries":[…],"time_start":…,"time_end":…}`.
//!
//! The shape follows the one published Netify example (`/tmp/weakssl-20221221-102846.json`).
//! Files are written to a temporary name and renamed, so a reader never sees half a file.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::kind::{Props, TargetKind};
use super::{MatchEvent, Target, TargetError};
use crate::facts::protocol;

/// Configuration of one log target (Netify defaults: `/tmp`, `netify-flow-actions`, `.json`, 60 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub name: String,
    pub path: PathBuf,
    pub prefix: String,
    pub suffix: String,
    pub interval: Duration,
}

impl LogConfig {
    pub fn with_name(name: &str) -> LogConfig {
        LogConfig {
            name: name.to_string(),
            path: PathBuf::from("/tmp"),
            prefix: "netify-flow-actions".into(),
            suffix: ".json".into(),
            interval: Duration::from_secs(60),
        }
    }
}

pub struct LogTarget {
    config: LogConfig,
    entries: Vec<Value>,
    window_start: Option<SystemTime>,
    files_written: u64,
}

impl LogTarget {
    pub fn new(config: LogConfig) -> LogTarget {
        LogTarget { config, entries: Vec::new(), window_start: None, files_written: 0 }
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Files written so far.
    pub fn files_written(&self) -> u64 {
        self.files_written
    }

    fn file_name(&self, at: SystemTime) -> PathBuf {
        let local: chrono::DateTime<chrono::Local> = at.into();
        let name = format!("{}-{}{}", self.config.prefix, local.format("%Y%m%d-%H%M%S"), self.config.suffix);
        self.config.path.join(name)
    }

    fn write(&mut self, time_end: SystemTime) -> Result<(), TargetError> {
        let Some(time_start) = self.window_start.take() else {
            return Ok(());
        };
        if self.entries.is_empty() {
            return Ok(());
        }
        let document = json!({
            "entries": std::mem::take(&mut self.entries),
            "time_start": unix_seconds(time_start),
            "time_end": unix_seconds(time_end),
        });
        let path = self.file_name(time_end);
        // A hidden temporary name in the same directory: `prefix-*` globs never see it, and the
        // rename is atomic.
        let tmp = path.with_file_name(format!(".{}.tmp", path.file_name().unwrap_or_default().to_string_lossy()));
        let io = |source| TargetError::Io { path: path.clone(), source };
        let mut file = fs::File::create(&tmp).map_err(io)?;
        serde_json::to_writer(&mut file, &document).map_err(|e| io(e.into()))?;
        file.write_all(b"\n").map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, &path).map_err(io)?;
        self.files_written += 1;
        Ok(())
    }
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// One log entry. Source and destination are the client and the server of the flow.
fn entry(event: &MatchEvent) -> Value {
    let f = &event.flow;
    let (src, src_port, dst, dst_port) = if f.local_origin {
        (f.local_ip, f.local_port, f.other_ip, f.other_port)
    } else {
        (f.other_ip, f.other_port, f.local_ip, f.local_port)
    };
    json!({
        "action": &*event.action,
        "app_id": match &f.application.tag {
            Some(tag) if f.application.id != 0 => format!("{}.{tag}", f.application.id),
            _ => "0.netify.unclassified".to_string(),
        },
        "proto_id": f.protocol.to_string(),
        "protocol": protocol::name_of(f.protocol),
        "ip_protocol": f.ip_protocol,
        "src_addr": src.to_string(),
        "src_port": src_port,
        "dst_addr": dst.to_string(),
        "dst_port": dst_port,
        "detected_hostname": f.detected_hostname(),
        "tls_version": (f.tls.version != 0).then_some(f.tls.version),
    })
}

impl Target for LogTarget {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn setup(&mut self) -> Result<(), TargetError> {
        fs::create_dir_all(&self.config.path)
            .map_err(|source| TargetError::Io { path: self.config.path.clone(), source })
    }

    fn describe(&self, event: &MatchEvent, ops: &mut Vec<String>) {
        let f = &event.flow;
        ops.push(format!(
            "log {}: entry {} -> {}:{} into {}",
            self.config.name,
            if f.local_origin { f.local_ip } else { f.other_ip },
            if f.local_origin { f.other_ip } else { f.local_ip },
            if f.local_origin { f.other_port } else { f.local_port },
            self.config.path.join(format!("{}-YYYYMMDD-HHMMSS{}", self.config.prefix, self.config.suffix)).display()
        ));
    }

    fn apply(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        self.window_start.get_or_insert(event.at);
        self.entries.push(entry(event));
        Ok(())
    }

    fn tick(&mut self, now: SystemTime) -> Result<(), TargetError> {
        match self.window_start {
            Some(start) if now.duration_since(start).unwrap_or_default() >= self.config.interval => self.write(now),
            _ => Ok(()),
        }
    }

    fn shutdown(&mut self) -> Result<(), TargetError> {
        self.write(SystemTime::now())
    }
}

impl TargetKind for LogConfig {
    const TYPE: &'static str = "log";
    const KEYS: &'static [&'static [&'static str]] = &[&["interval", "path", "prefix", "suffix"]];
    type Globals = ();

    fn parse(props: &mut Props<'_, '_>, _: &()) -> Option<LogConfig> {
        let defaults = LogConfig::with_name(props.name());
        let interval = props.number("interval", defaults.interval.as_secs());
        if interval == 0 {
            let p = props.path_of("interval");
            props.error(&p, "interval must be at least 1 second");
        }
        Some(LogConfig {
            name: props.name().to_string(),
            path: PathBuf::from(props.string("path", &defaults.path.to_string_lossy())),
            prefix: props.string("prefix", &defaults.prefix),
            suffix: props.string("suffix", &defaults.suffix),
            interval: Duration::from_secs(interval.max(1)),
        })
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self) -> Box<dyn Target> {
        Box::new(LogTarget::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FlowFacts;
    use std::sync::Arc;

    fn event(at: SystemTime) -> MatchEvent {
        let flow = FlowFacts {
            local_ip: "192.168.1.10".parse().unwrap(),
            local_port: 40000,
            other_ip: "10.99.0.2".parse().unwrap(),
            other_port: 1010,
            local_origin: true,
            ip_protocol: 6,
            protocol: protocol::TLS,
            ..FlowFacts::default()
        };
        MatchEvent { action: Arc::from("weakssl"), flow: Arc::new(flow), at }
    }

    #[test]
    fn writes_one_file_per_interval_only_when_something_matched() {
        let dir = std::env::temp_dir().join(format!("flowsieve-log-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut config = LogConfig::with_name("log.weakssl");
        config.path = dir.clone();
        config.prefix = "weakssl".into();
        config.interval = Duration::from_secs(10);
        let mut target = LogTarget::new(config);
        target.setup().unwrap();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        target.tick(t0 + Duration::from_secs(30)).unwrap();
        assert_eq!(target.files_written(), 0, "nothing matched, no file");
        target.apply(&event(t0)).unwrap();
        target.tick(t0 + Duration::from_secs(5)).unwrap();
        assert_eq!(target.files_written(), 0, "interval not over yet");
        target.tick(t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(target.files_written(), 1);
        let files: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with("weakssl-")
                && name.ends_with(".json")
                && name.len() == "weakssl-YYYYMMDD-HHMMSS.json".len(),
            "{name}"
        );
        let doc: Value = serde_json::from_str(&fs::read_to_string(&files[0]).unwrap()).unwrap();
        let e = &doc["entries"][0];
        assert_eq!(e["proto_id"], "91");
        assert_eq!(e["src_addr"], "192.168.1.10");
        assert_eq!(e["dst_addr"], "10.99.0.2");
        assert_eq!(e["dst_port"], 1010);
        assert_eq!(e["action"], "weakssl");
        assert_eq!(doc["time_start"], 1_700_000_000u64);
        assert_eq!(doc["time_end"], 1_700_000_010u64);
        fs::remove_dir_all(&dir).unwrap();
    }
}
