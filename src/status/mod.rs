//! `flowsieve status`: counters of a running agent, served as one JSON document per connection
//! on a UNIX control socket (default `/run/flowsieve/flowsieve.sock`).
//!
//! A control socket: it needs no port, works in network namespaces, and file permissions decide
//! who may read it (the same counters are also served to Prometheus by `--metrics-listen`, see
//! [`crate::metrics`]). Workers publish their counters on their idle tick (at least every
//! 100 ms), never per packet.

pub mod latency;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Counters of one capture worker.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerStatus {
    pub iface: String,
    pub external: bool,
    pub packets: u64,
    pub bytes: u64,
    pub flows_active: u64,
    pub flows_created: u64,
    pub flows_refused: u64,
    pub flows_expired: u64,
    /// Flows pushed out of a full table: not established yet, still in detection, oldest.
    #[serde(default)]
    pub evicted_unestablished: u64,
    #[serde(default)]
    pub evicted_undetected: u64,
    #[serde(default)]
    pub evicted_oldest: u64,
    pub malformed: u64,
    pub not_ip: u64,
    pub fragments: u64,
    /// Packets the capture (AF_PACKET rings or libpcap) received and dropped.
    pub capture_received: u64,
    pub capture_dropped: u64,
    /// The share of those that went to the AF_PACKET ring of bare TCP SYNs (what a SYN flood
    /// fills; docs/ARCHITECTURE.md, "Floods"): `capture_dropped - syn_ring_dropped` were lost
    /// from the data ring, which holds every other packet.
    #[serde(default)]
    pub syn_ring_received: u64,
    #[serde(default)]
    pub syn_ring_dropped: u64,
    /// Match events lost because the enforcer queue was full.
    pub events_dropped: u64,
    /// With `--nfqueue`: the queue this worker reads and its verdicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueStatus>,
    /// With AF_PACKET rings: whether the interface is there and being captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkStatus>,
}

/// An AF_PACKET worker's interface: online (its ring is bound to it) or offline (missing at
/// start, or deleted and not yet back).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LinkStatus {
    pub online: bool,
    /// The interface index the ring is bound to while online (a re-created interface gets a new one).
    pub ifindex: u32,
    /// When this worker last saw a packet (seconds since the Unix epoch), noted on its idle tick.
    pub last_packet: Option<u64>,
    /// Times the interface went offline or came back.
    pub changes: u64,
}

/// Counters of one NFQUEUE.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QueueStatus {
    pub queue: u16,
    /// `tap` or `inline`.
    pub mode: String,
    pub packets: u64,
    /// Packets given a verdict (all accepts; a batch verdict counts each packet it covers).
    pub verdicts: u64,
    /// Verdicts that also set the connection's mark (`--nfqueue-bypass-mark`).
    pub marked: u64,
    /// From receiving a packet to sending its verdict.
    pub held: crate::status::latency::LatencySummary,
    /// Inline: packets released because the enforcer did not confirm in time, or because
    /// their confirmation could not be queued.
    pub fail_open_releases: u64,
    /// Verdicts the kernel refused.
    pub verdict_errors: u64,
    /// The kernel's counters (`/proc/net/netfilter/nfnetlink_queue`): waiting now, dropped
    /// because the queue was full, dropped because our socket buffer was full.
    pub kernel_waiting: u64,
    pub kernel_dropped: u64,
    pub kernel_user_dropped: u64,
}

/// Counters of one target.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TargetStatus {
    pub name: String,
    pub applied: u64,
    pub refreshed: u64,
    pub failures: u64,
    /// The last failure, as text.
    pub last_error: Option<String>,
    /// The target type's own counters (ipset `recreated`, ctlabel `no_label_space`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<(String, u64)>,
}

/// Everything `flowsieve status` shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    pub config: String,
    pub started: u64,
    pub uptime_seconds: u64,
    pub reloads: u64,
    pub failed_reloads: u64,
    pub last_reload_error: Option<String>,
    pub workers: Vec<WorkerStatus>,
    pub targets: Vec<TargetStatus>,
    /// From the capture of the packet that made a flow match to the end of the flush that sent
    /// its target operations (nftables: the batch's acknowledgement, after its commit).
    #[serde(default)]
    pub match_to_kernel: latency::LatencySummary,
    /// The same as cumulative counts at fixed bounds (the metrics endpoint's histogram).
    #[serde(default)]
    pub match_to_kernel_buckets: latency::LatencyBuckets,
    /// The first part of it: capture to the enforcer (ring delivery, worker, queue).
    #[serde(default)]
    pub match_to_enforcer: latency::LatencySummary,
    /// The second part: the enforcer's queueing and the acknowledged flush.
    #[serde(default)]
    pub enforcer_to_kernel: latency::LatencySummary,
}

/// The agent's shared status: written rarely by workers and the enforcer, read per request.
pub type SharedStatus = Arc<Mutex<Status>>;

/// Serve `status` on `path` until `stop` is set. An existing socket file is replaced. The
/// socket's mode is [`CONTROL_SOCKET_MODE`]; its group is `group` when given.
pub fn serve(
    path: &Path,
    group: Option<u32>,
    status: SharedStatus,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    // Only a socket is ever removed at that path (a stale one of an agent that died; a running
    // agent holds the control socket's lock, taken before this).
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists and is not a socket; refusing to remove it",
            ))
        }
        Err(_) => {}
    }
    let listener = UnixListener::bind(path)?;
    // An explicit mode, whatever the umask: owner and group may ask for the status.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(CONTROL_SOCKET_MODE))?;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid))?;
    }
    let inode = std::fs::symlink_metadata(path)?.ino();
    listener.set_nonblocking(true)?;
    let path = path.to_path_buf();
    std::thread::Builder::new().name("status".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let snapshot = {
                        let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
                        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
                        s.uptime_seconds = now.saturating_sub(s.started);
                        serde_json::to_vec(&*s).unwrap_or_default()
                    };
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                    let _ = stream.write_all(&snapshot);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => {
                    tracing::warn!("control socket {}: {e}", path.display());
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        // Ours only: the socket this agent bound, not one that replaced it.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket() && m.ino() == inode) {
            let _ = std::fs::remove_file(&path);
        }
    })
}

/// Mode of the control socket: owner and group read-write.
pub const CONTROL_SOCKET_MODE: u32 = 0o660;

/// Ask a running agent for its status.
pub fn query(path: &Path) -> Result<Status, StatusError> {
    let socket = |source| StatusError::Connect { path: path.to_path_buf(), source };
    let mut stream = UnixStream::connect(path).map_err(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(socket)?;
    let mut body = Vec::new();
    stream.read_to_end(&mut body).map_err(socket)?;
    serde_json::from_slice(&body).map_err(|e| StatusError::Decode { path: path.to_path_buf(), message: e.to_string() })
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("cannot reach flowsieve at {path}: {source} (is `flowsieve run` running with this --control-socket?)")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: unreadable status: {message}")]
    Decode { path: PathBuf, message: String },
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "flowsieve {} — config {}, up {} s", self.version, self.config, self.uptime_seconds)?;
        writeln!(f, "reloads: {} ok, {} failed", self.reloads, self.failed_reloads)?;
        if let Some(e) = &self.last_reload_error {
            writeln!(f, "  last reload error: {e}")?;
        }
        for w in &self.workers {
            writeln!(
                f,
                "worker {} ({}): {} packets, {} bytes, {} flows active ({} created, {} expired, {} refused, \
                 evicted {} unestablished / {} undetected / {} oldest), {} malformed, capture {} received / {} dropped{}, \
                 {} events dropped",
                w.iface,
                if w.external { "wan" } else { "lan" },
                w.packets,
                w.bytes,
                w.flows_active,
                w.flows_created,
                w.flows_expired,
                w.flows_refused,
                w.evicted_unestablished,
                w.evicted_undetected,
                w.evicted_oldest,
                w.malformed,
                w.capture_received,
                w.capture_dropped,
                // AF_PACKET workers: each ring's share (received / dropped).
                if w.link.is_some() {
                    format!(
                        " (data ring {} / {}, SYN ring {} / {})",
                        w.capture_received.saturating_sub(w.syn_ring_received),
                        w.capture_dropped.saturating_sub(w.syn_ring_dropped),
                        w.syn_ring_received,
                        w.syn_ring_dropped
                    )
                } else {
                    String::new()
                },
                w.events_dropped
            )?;
            if let Some(l) = &w.link {
                let last = match l.last_packet {
                    Some(t) => format!("last packet at {t} (unix time)"),
                    None => "no packet yet".into(),
                };
                if l.online {
                    writeln!(f, "  interface online (ifindex {}), {last}, {} changes", l.ifindex, l.changes)?;
                } else {
                    writeln!(f, "  interface offline (waiting for it), {last}, {} changes", l.changes)?;
                }
            }
            if let Some(q) = &w.queue {
                writeln!(
                    f,
                    "  nfqueue {} ({}): {} packets, {} verdicts ({} with ct mark), held p50 {} µs / p99 {} µs / max {} µs, \
                     {} fail-open releases, {} verdict errors, kernel: {} waiting, {} dropped, {} user-dropped",
                    q.queue,
                    q.mode,
                    q.packets,
                    q.verdicts,
                    q.marked,
                    q.held.p50_us,
                    q.held.p99_us,
                    q.held.max_us,
                    q.fail_open_releases,
                    q.verdict_errors,
                    q.kernel_waiting,
                    q.kernel_dropped,
                    q.kernel_user_dropped
                )?;
            }
        }
        for (what, l) in [
            ("match to kernel", &self.match_to_kernel),
            ("  capture to enforcer", &self.match_to_enforcer),
            ("  enforcer to kernel", &self.enforcer_to_kernel),
        ] {
            if l.count > 0 {
                writeln!(
                    f,
                    "{what}: {} matches, median {} µs, p90 {} µs, p99 {} µs, max {} µs",
                    l.count, l.p50_us, l.p90_us, l.p99_us, l.max_us
                )?;
            }
        }
        for t in &self.targets {
            write!(f, "target {}: {} applied, {} refreshed, {} failed", t.name, t.applied, t.refreshed, t.failures)?;
            if let Some(e) = &t.last_error {
                write!(f, " (last: {e})")?;
            }
            writeln!(f)?;
            if !t.details.is_empty() {
                let parts: Vec<String> = t.details.iter().map(|(k, v)| format!("{k} {v}")).collect();
                writeln!(f, "  {}", parts.join(", "))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn the_text_shows_each_capture_rings_drops_for_af_packet_workers() {
        let ring = WorkerStatus {
            iface: "br-lan".into(),
            capture_received: 1000,
            capture_dropped: 300,
            syn_ring_received: 900,
            syn_ring_dropped: 300,
            link: Some(LinkStatus { online: true, ..LinkStatus::default() }),
            ..WorkerStatus::default()
        };
        let pcap = WorkerStatus { iface: "eth0".into(), capture_received: 5, link: None, ..WorkerStatus::default() };
        let text = Status { workers: vec![ring, pcap], ..Status::default() }.to_string();
        assert!(
            text.contains("capture 1000 received / 300 dropped (data ring 100 / 0, SYN ring 900 / 300),"),
            "{text}"
        );
        assert!(text.contains("capture 5 received / 0 dropped, "), "{text}");
    }

    #[test]
    fn the_control_socket_gets_its_mode_and_the_group_asked_for() {
        // Root may give any group; anyone else one of their own other than the primary one.
        let egid = nix::unistd::getegid();
        let group = if nix::unistd::geteuid().is_root() {
            4242
        } else {
            match nix::unistd::getgroups().unwrap_or_default().into_iter().find(|g| *g != egid) {
                Some(g) => g.as_raw(),
                None => {
                    eprintln!("skipped: no group to give the socket but the primary one");
                    return;
                }
            }
        };
        let dir = std::env::temp_dir().join(format!("flowsieve-status-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = serve(&path, Some(group), SharedStatus::default(), stop.clone()).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!((meta.gid(), meta.permissions().mode() & 0o777), (group, CONTROL_SOCKET_MODE));
        assert_eq!(query(&path).unwrap().reloads, 0, "the socket serves");
        stop.store(true, Ordering::Relaxed);
        thread.join().unwrap();
        assert!(!path.exists(), "its own socket is removed at the end");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
