//! The `log` target: every `interval`, if anything matched, one JSON file
//! `<path>/<prefix>-YYYYMMDD-HHMMSS<suffix>` holding `{"entries":[…],"time_start":…,"time_end":…}`.
//!
//! The shape follows the one published Netify example (`/tmp/weakssl-20221221-102846.json`).
//! Files are written to a temporary name and linked into place, so a reader never sees half a
//! file; neither name is ever followed through a symbolic link or written into when it exists
//! (see [`super::files`]). When the name is taken (a file or link planted there), `-1`, `-2`…
//! is added before the suffix. A failed write keeps the entries (at most
//! [`MAX_PENDING_ENTRIES`], the oldest dropped and counted beyond) and retries every tick.
//!
//! Retention: `max_files` (default 0: no limit) keeps the newest that many files of this target,
//! `max_age` (seconds, default 0: no limit) deletes older ones; only regular files owned by
//! flowsieve's user whose names have this target's `prefix-YYYYMMDD-HHMMSS…suffix` shape are
//! ever deleted.

use std::collections::VecDeque;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::files;
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
    /// Newest files kept (0: all).
    pub max_files: u64,
    /// Files older than this are deleted (zero: kept forever).
    pub max_age: Duration,
}

/// Entries a log target holds while its directory cannot be written.
pub const MAX_PENDING_ENTRIES: usize = 100_000;

impl LogConfig {
    pub fn with_name(name: &str) -> LogConfig {
        LogConfig {
            name: name.to_string(),
            path: PathBuf::from("/tmp"),
            prefix: "netify-flow-actions".into(),
            suffix: ".json".into(),
            interval: Duration::from_secs(60),
            max_files: 0,
            max_age: Duration::ZERO,
        }
    }
}

pub struct LogTarget {
    config: LogConfig,
    entries: VecDeque<Value>,
    window_start: Option<SystemTime>,
    files_written: u64,
    entries_dropped: u64,
    write_failures: u64,
    files_deleted: u64,
    /// The clock `tick` was last given: wall time live, packet time in `replay --apply`; the
    /// last file at shutdown is named on the same clock.
    last_tick: Option<SystemTime>,
}

impl LogTarget {
    pub fn new(config: LogConfig) -> LogTarget {
        LogTarget {
            config,
            entries: VecDeque::new(),
            window_start: None,
            files_written: 0,
            entries_dropped: 0,
            write_failures: 0,
            files_deleted: 0,
            last_tick: None,
        }
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Files written so far.
    pub fn files_written(&self) -> u64 {
        self.files_written
    }

    fn file_name(&self, at: SystemTime, attempt: u32) -> PathBuf {
        let local: chrono::DateTime<chrono::Local> = at.into();
        let stamp = local.format("%Y%m%d-%H%M%S");
        let name = match attempt {
            0 => format!("{}-{stamp}{}", self.config.prefix, self.config.suffix),
            n => format!("{}-{stamp}-{n}{}", self.config.prefix, self.config.suffix),
        };
        self.config.path.join(name)
    }

    fn write(&mut self, time_end: SystemTime) -> Result<(), TargetError> {
        let Some(time_start) = self.window_start else {
            return Ok(());
        };
        if self.entries.is_empty() {
            self.window_start = None;
            return Ok(());
        }
        let document = json!({
            "entries": &self.entries,
            "time_start": unix_seconds(time_start),
            "time_end": unix_seconds(time_end),
        });
        let mut attempt = 0;
        let result = loop {
            let path = self.file_name(time_end, attempt);
            let result = files::publish(&path, |file| {
                serde_json::to_writer(&mut *file, &document)?;
                file.write_all(b"\n")
            });
            match result {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
                other => break other.map_err(|source| TargetError::Io { path, source }),
            }
        };
        if let Err(e) = result {
            // Kept for the next tick; the window stays open.
            self.write_failures += 1;
            return Err(e);
        }
        self.entries.clear();
        self.window_start = None;
        self.files_written += 1;
        self.prune(time_end);
        Ok(())
    }

    /// Whether `name` has the shape of this target's file names.
    fn is_ours(&self, name: &str) -> bool {
        let Some(rest) = name.strip_prefix(&self.config.prefix).and_then(|r| r.strip_prefix('-')) else {
            return false;
        };
        let Some(stem) = rest.strip_suffix(&self.config.suffix) else { return false };
        let (stamp, extra) = stem.split_at(stem.len().min(15));
        stamp.len() == 15
            && stamp.bytes().enumerate().all(|(i, b)| if i == 8 { b == b'-' } else { b.is_ascii_digit() })
            && (extra.is_empty()
                || extra.strip_prefix('-').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
    }

    /// Apply `max_files` and `max_age`.
    fn prune(&mut self, now: SystemTime) {
        if self.config.max_files == 0 && self.config.max_age.is_zero() {
            return;
        }
        let Ok(dir) = fs::read_dir(&self.config.path) else { return };
        let me = nix::unistd::geteuid().as_raw();
        let mut files: Vec<(String, SystemTime)> = dir
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let meta = e.metadata().ok()?; // of the entry itself: a link is not a file
                (self.is_ours(&name) && meta.file_type().is_file() && meta.uid() == me)
                    .then(|| (name, meta.modified().unwrap_or(UNIX_EPOCH)))
            })
            .collect();
        // Names sort by time; newest first.
        files.sort_by(|a, b| b.0.cmp(&a.0));
        for (i, (name, modified)) in files.iter().enumerate() {
            let too_many = self.config.max_files > 0 && i as u64 >= self.config.max_files;
            let too_old =
                !self.config.max_age.is_zero() && now.duration_since(*modified).unwrap_or_default() > self.config.max_age;
            if too_many || too_old {
                let path: &Path = &self.config.path.join(name);
                match fs::remove_file(path) {
                    Ok(()) => self.files_deleted += 1,
                    Err(e) => tracing::warn!(target_name = self.config.name, "retention: {}: {e}", path.display()),
                }
            }
        }
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
        if self.entries.len() >= MAX_PENDING_ENTRIES {
            self.entries.pop_front();
            self.entries_dropped += 1;
        }
        self.entries.push_back(entry(event));
        Ok(())
    }

    fn details(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("files_written", self.files_written),
            ("write_failures", self.write_failures),
            ("entries_pending", self.entries.len() as u64),
            ("entries_dropped", self.entries_dropped),
            ("files_deleted", self.files_deleted),
        ]
    }

    fn tick(&mut self, now: SystemTime) -> Result<(), TargetError> {
        self.last_tick = Some(now);
        match self.window_start {
            Some(start) if now.duration_since(start).unwrap_or_default() >= self.config.interval => self.write(now),
            _ => Ok(()),
        }
    }

    fn shutdown(&mut self) -> Result<(), TargetError> {
        let end = match (self.last_tick, self.window_start) {
            (Some(tick), Some(start)) if tick >= start => tick,
            _ => SystemTime::now(),
        };
        self.write(end)
    }
}

impl TargetKind for LogConfig {
    const TYPE: &'static str = "log";
    const KEYS: &'static [&'static [&'static str]] = &[&["interval", "path", "prefix", "suffix", "max_files", "max_age"]];
    type Globals = ();

    fn parse(props: &mut Props<'_, '_>, _: &()) -> Option<LogConfig> {
        let defaults = LogConfig::with_name(props.name());
        let interval = props.number("interval", defaults.interval.as_secs());
        if interval == 0 {
            let p = props.path_of("interval");
            props.error(&p, "interval must be at least 1 second");
        }
        let prefix = props.string("prefix", &defaults.prefix);
        let suffix = props.string("suffix", &defaults.suffix);
        for (key, value) in [("prefix", &prefix), ("suffix", &suffix)] {
            if value.contains('/') || value.contains('\0') || value == ".." {
                let p = props.path_of(key);
                props.error(&p, "must be a file name part: no '/', no NUL, not '..'");
            }
        }
        Some(LogConfig {
            name: props.name().to_string(),
            path: PathBuf::from(props.string("path", &defaults.path.to_string_lossy())),
            prefix,
            suffix,
            interval: Duration::from_secs(interval.max(1)),
            max_files: props.number("max_files", 0),
            max_age: Duration::from_secs(props.number("max_age", 0)),
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
        MatchEvent { action: Arc::from("weakssl"), flow: Arc::new(flow), at, times: Default::default() }
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

    #[test]
    fn a_planted_link_is_never_followed_and_a_failed_write_is_retried() {
        let dir = std::env::temp_dir().join(format!("flowsieve-log-link-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut config = LogConfig::with_name("log.weakssl");
        config.path = dir.clone();
        config.prefix = "weakssl".into();
        config.interval = Duration::from_secs(10);
        config.max_files = 2;
        let mut target = LogTarget::new(config);
        target.setup().unwrap();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let end = t0 + Duration::from_secs(10);
        // An attacker's link at the exact name the next file gets.
        let victim = dir.join("victim");
        fs::write(&victim, "precious").unwrap();
        let planted = target.file_name(end, 0);
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        target.apply(&event(t0)).unwrap();
        target.tick(end).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(fs::symlink_metadata(&planted).unwrap().file_type().is_symlink(), "the link is left alone");
        let written = target.file_name(end, 1);
        assert!(fs::read_to_string(&written).unwrap().contains("192.168.1.10"));

        // The directory goes away: the entries are kept and written once it is back.
        fs::remove_dir_all(&dir).unwrap();
        target.apply(&event(t0 + Duration::from_secs(20))).unwrap();
        assert!(target.tick(t0 + Duration::from_secs(30)).is_err());
        assert_eq!(target.files_written(), 1);
        fs::create_dir_all(&dir).unwrap();
        target.tick(t0 + Duration::from_secs(31)).unwrap();
        assert_eq!(target.files_written(), 2);
        let doc: Value =
            serde_json::from_str(&fs::read_to_string(target.file_name(t0 + Duration::from_secs(31), 0)).unwrap()).unwrap();
        assert_eq!(doc["entries"].as_array().unwrap().len(), 1);

        // Retention: two newest files of this shape kept; other names never touched.
        fs::write(dir.join("weakssl-notes.json"), "mine").unwrap();
        for i in 0..3 {
            target.apply(&event(t0 + Duration::from_secs(40 + i * 10))).unwrap();
            target.tick(t0 + Duration::from_secs(50 + i * 10)).unwrap();
        }
        let mut names: Vec<String> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.contains(&"weakssl-notes.json".to_string()), "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_last_file_is_named_on_the_clock_ticks_gave() {
        let dir = std::env::temp_dir().join(format!("flowsieve-log-clock-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut config = LogConfig::with_name("log.weakssl");
        config.path = dir.clone();
        config.prefix = "weakssl".into();
        let mut target = LogTarget::new(config);
        target.setup().unwrap();
        // Packet time of a capture from 2023, as replay --apply gives it.
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        target.apply(&event(t0)).unwrap();
        target.tick(t0 + Duration::from_secs(5)).unwrap();
        target.shutdown().unwrap();
        let expected = target.file_name(t0 + Duration::from_secs(5), 0);
        assert!(expected.exists(), "{:?}", fs::read_dir(&dir).unwrap().collect::<Vec<_>>());
        fs::remove_dir_all(&dir).unwrap();
    }
}
