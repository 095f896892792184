//! `flowsieve run --metrics-listen ADDR:PORT`: the counters `flowsieve status` shows, served in
//! the Prometheus text exposition format at `/metrics`.
//!
//! Nothing is counted for this endpoint: a scrape renders the shared [`Status`] that workers
//! and the enforcer already publish on their idle ticks, so it costs nothing per packet. The
//! server is one accept thread plus one short-lived thread per connection, at most
//! [`MAX_CONNECTIONS`] at once (more are answered 503 and closed); a request may be at most
//! [`MAX_REQUEST_BYTES`] and must arrive within [`REQUEST_TIMEOUT`]. Every response closes
//! its connection (HTTP/1.1 `Connection: close`).

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::status::{SharedStatus, Status};

/// Connections served at once; more are answered 503.
pub const MAX_CONNECTIONS: usize = 4;
/// Longest request head accepted (request line and headers).
pub const MAX_REQUEST_BYTES: usize = 8192;
/// Time a client has to send its request, and to take the response.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Listen on `addr` and serve `/metrics` until `stop` is set.
pub fn serve(
    addr: SocketAddr,
    status: SharedStatus,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let active = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
                    let _ = stream.set_write_timeout(Some(REQUEST_TIMEOUT));
                    if active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                        active.fetch_sub(1, Ordering::AcqRel);
                        respond(stream, "503 Service Unavailable", "text/plain", b"too many connections\n");
                        continue;
                    }
                    let (status, active) = (status.clone(), active.clone());
                    let spawned = std::thread::Builder::new().name("metrics-conn".into()).spawn({
                        let active = active.clone();
                        move || {
                            handle(stream, &status);
                            active.fetch_sub(1, Ordering::AcqRel);
                        }
                    });
                    if spawned.is_err() {
                        active.fetch_sub(1, Ordering::AcqRel);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => {
                    tracing::warn!("metrics listener {addr}: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    })
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    Metrics { head_only: bool },
    NotFound,
    MethodNotAllowed,
    Bad,
}

/// Parse a request head (everything up to the blank line).
fn parse_request(head: &[u8]) -> Request {
    let Ok(text) = std::str::from_utf8(head) else { return Request::Bad };
    let mut parts = text.lines().next().unwrap_or("").split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Request::Bad;
    };
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return Request::Bad;
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Request::MethodNotAllowed,
    };
    let path = target.split('?').next().unwrap_or("");
    if path == "/metrics" {
        Request::Metrics { head_only }
    } else {
        Request::NotFound
    }
}

fn handle(mut stream: TcpStream, status: &SharedStatus) {
    let mut head = [0u8; MAX_REQUEST_BYTES];
    let mut len = 0;
    let complete = loop {
        if let Some(end) = head[..len].windows(4).position(|w| w == b"\r\n\r\n") {
            break Some(end);
        }
        if len == head.len() {
            break None;
        }
        match stream.read(&mut head[len..]) {
            Ok(0) => return,
            Ok(n) => len += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    };
    let Some(end) = complete else {
        respond(stream, "431 Request Header Fields Too Large", "text/plain", b"request too large\n");
        return;
    };
    match parse_request(&head[..end]) {
        Request::Metrics { head_only } => {
            let body = {
                let s = status.lock().unwrap_or_else(|e| e.into_inner());
                render(&s, resident_memory_bytes())
            };
            let body = if head_only { "" } else { body.as_str() };
            respond(stream, "200 OK", CONTENT_TYPE, body.as_bytes());
        }
        Request::NotFound => respond(stream, "404 Not Found", "text/plain", b"not found: try /metrics\n"),
        Request::MethodNotAllowed => respond(stream, "405 Method Not Allowed", "text/plain", b"GET or HEAD only\n"),
        Request::Bad => respond(stream, "400 Bad Request", "text/plain", b"bad request\n"),
    }
}

fn respond(mut stream: TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body));
    // Closing with unread request bytes would reset the connection and could lose the
    // response: say we are done, then read what the client still sends, briefly.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut sink = [0u8; 1024];
    let mut left: usize = 64 * 1024;
    while left > 0 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// The process's resident set size (`VmRSS` of /proc/self/status), when readable.
pub fn resident_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().strip_suffix("kB")?.trim();
    kib.parse::<u64>().ok().map(|k| k * 1024)
}

/// A label value with `\`, `"` and newlines escaped, as the exposition format requires.
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Writes one metric family: HELP and TYPE lines, then `name{labels} value` per sample.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Family<'a> {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out, name }
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.sample_named("", labels, value);
    }

    fn sample_named(&mut self, suffix: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let _ = write!(self.out, "{}{suffix}", self.name);
        if !labels.is_empty() {
            let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", label(v))).collect();
            let _ = write!(self.out, "{{{}}}", parts.join(","));
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// Microseconds as seconds, exactly (six decimals).
fn seconds(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// The exposition of `status` (and the resident memory, when known).
pub fn render(status: &Status, rss: Option<u64>) -> String {
    let mut out = String::with_capacity(4096);
    let o = &mut out;
    Family::new(o, "flowsieve_build_info", "gauge", "Always 1; the version running.")
        .sample(&[("version", &status.version)], 1);
    Family::new(o, "flowsieve_start_time_seconds", "gauge", "When the agent started, seconds since the epoch.")
        .sample(&[], status.started);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    Family::new(o, "flowsieve_uptime_seconds", "gauge", "Seconds since the agent started.")
        .sample(&[], now.saturating_sub(status.started));
    if let Some(rss) = rss {
        Family::new(o, "flowsieve_process_resident_memory_bytes", "gauge", "Resident set size of the agent process.")
            .sample(&[], rss);
    }
    let mut f = Family::new(
        o,
        "flowsieve_config_reloads_total",
        "counter",
        "Configuration reloads (SIGHUP) by result; a failed reload keeps the running configuration.",
    );
    f.sample(&[("result", "success")], status.reloads);
    f.sample(&[("result", "failure")], status.failed_reloads);

    // Per interface: the capture's own counters (AF_PACKET ring statistics or libpcap's), summed
    // over the interface's workers: all rings, then the ring of bare TCP SYNs alone (what a SYN
    // flood fills; the data ring's are the difference).
    let mut interfaces: Vec<(&str, [u64; 4])> = Vec::new();
    for w in &status.workers {
        let counts = [w.capture_received, w.capture_dropped, w.syn_ring_received, w.syn_ring_dropped];
        match interfaces.iter_mut().find(|(name, _)| *name == w.iface) {
            Some((_, sums)) => sums.iter_mut().zip(counts).for_each(|(sum, n)| *sum += n),
            None => interfaces.push((&w.iface, counts)),
        }
    }
    for (column, name, help) in [
        (
            0,
            "flowsieve_interface_packets_total",
            "Packets the capture received on the interface (AF_PACKET ring or libpcap statistics).",
        ),
        (1, "flowsieve_interface_drops_total", "Packets the capture dropped on the interface (ring full or interface drops)."),
        (
            2,
            "flowsieve_interface_syn_ring_packets_total",
            "Of the packets received, those the AF_PACKET ring of bare TCP SYNs took (SYN without ACK or payload).",
        ),
        (
            3,
            "flowsieve_interface_syn_ring_drops_total",
            "Of the packets dropped, those lost from the ring of bare TCP SYNs (the rest were lost from the data ring).",
        ),
    ] {
        let mut f = Family::new(o, name, "counter", help);
        for (iface, sums) in &interfaces {
            f.sample(&[("interface", iface)], sums[column]);
        }
    }

    // Per worker.
    let workers: Vec<(String, &crate::status::WorkerStatus)> =
        status.workers.iter().enumerate().map(|(i, w)| (i.to_string(), w)).collect();
    type Field = fn(&crate::status::WorkerStatus) -> u64;
    // Prometheus' naming rule: counters end in `_total`, the rest here are gauges.
    let per_worker: [(&'static str, &str, Field); 9] = [
        ("flowsieve_worker_packets_total", "Packets the worker decoded.", |w| w.packets),
        ("flowsieve_worker_bytes_total", "Bytes of the packets the worker decoded.", |w| w.bytes),
        ("flowsieve_worker_flows_active", "Flows in the worker's flow table.", |w| w.flows_active),
        ("flowsieve_worker_flows_created_total", "Flows the worker started tracking.", |w| w.flows_created),
        ("flowsieve_worker_flows_refused_total", "New flows not tracked: flow table full.", |w| w.flows_refused),
        ("flowsieve_worker_flows_expired_total", "Flows expired after idling.", |w| w.flows_expired),
        ("flowsieve_worker_malformed_packets_total", "Packets that could not be decoded.", |w| w.malformed),
        ("flowsieve_worker_fragments_total", "IP fragments seen.", |w| w.fragments),
        ("flowsieve_worker_events_dropped_total", "Match events lost: enforcer queue full.", |w| w.events_dropped),
    ];
    for (name, help, field) in per_worker {
        let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
        let mut f = Family::new(o, name, kind, help);
        for (index, w) in &workers {
            f.sample(&[("worker", index), ("interface", &w.iface)], field(w));
        }
    }

    // Per target.
    let mut f = Family::new(
        o,
        "flowsieve_target_operations_total",
        "counter",
        "Target operations done: applied (a new match) or refreshed (a flow that still matches).",
    );
    for t in &status.targets {
        f.sample(&[("target", &t.name), ("operation", "applied")], t.applied);
        f.sample(&[("target", &t.name), ("operation", "refreshed")], t.refreshed);
    }
    let mut f = Family::new(o, "flowsieve_target_failures_total", "counter", "Target operations that failed.");
    for t in &status.targets {
        f.sample(&[("target", &t.name)], t.failures);
    }
    let mut f = Family::new(
        o,
        "flowsieve_target_detail",
        "gauge",
        "A target type's own counters, by name (ipset recreated, sink mqtt_dropped, mqtt_connected, ...).",
    );
    for t in &status.targets {
        for (name, value) in &t.details {
            f.sample(&[("target", &t.name), ("name", name)], value);
        }
    }

    // Match-to-kernel latency.
    let b = &status.match_to_kernel_buckets;
    let mut f = Family::new(
        o,
        "flowsieve_match_to_kernel_seconds",
        "histogram",
        "From the capture of the packet that made a flow match to the acknowledged flush of its target operations.",
    );
    for (bound, count) in b.bounds_us.iter().zip(&b.cumulative) {
        f.sample_named("_bucket", &[("le", &seconds(*bound))], count);
    }
    f.sample_named("_bucket", &[("le", "+Inf")], b.count);
    f.sample_named("_sum", &[], seconds(b.sum_us));
    f.sample_named("_count", &[], b.count);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{TargetStatus, WorkerStatus};

    fn sample() -> Status {
        let worker = |iface: &str, received| WorkerStatus {
            iface: iface.into(),
            capture_received: received,
            capture_dropped: 1,
            syn_ring_received: 2,
            syn_ring_dropped: 1,
            flows_active: 3,
            ..WorkerStatus::default()
        };
        let mut h = crate::status::latency::LatencyHistogram::default();
        h.record_us(300);
        h.record_us(2_000_000);
        Status {
            version: "0.1.0".into(),
            reloads: 2,
            workers: vec![worker("br-lan", 10), worker("br-lan", 5), worker("wan\"0", 7)],
            targets: vec![TargetStatus {
                name: "sink.audit".into(),
                applied: 4,
                failures: 1,
                details: vec![("mqtt_dropped".into(), 9)],
                ..TargetStatus::default()
            }],
            match_to_kernel_buckets: h.buckets(crate::status::latency::PUBLISHED_BOUNDS_US),
            ..Status::default()
        }
    }

    #[test]
    fn exposition_sums_interfaces_and_labels_workers_and_targets() {
        let text = render(&sample(), Some(4096));
        for line in [
            "# TYPE flowsieve_interface_packets_total counter",
            "flowsieve_interface_packets_total{interface=\"br-lan\"} 15",
            "flowsieve_interface_drops_total{interface=\"br-lan\"} 2",
            "flowsieve_interface_packets_total{interface=\"wan\\\"0\"} 7",
            "flowsieve_interface_syn_ring_packets_total{interface=\"br-lan\"} 4",
            "flowsieve_interface_syn_ring_drops_total{interface=\"br-lan\"} 2",
            "flowsieve_worker_flows_active{worker=\"1\",interface=\"br-lan\"} 3",
            "flowsieve_target_operations_total{target=\"sink.audit\",operation=\"applied\"} 4",
            "flowsieve_target_failures_total{target=\"sink.audit\"} 1",
            "flowsieve_target_detail{target=\"sink.audit\",name=\"mqtt_dropped\"} 9",
            "flowsieve_config_reloads_total{result=\"success\"} 2",
            "flowsieve_process_resident_memory_bytes 4096",
            "flowsieve_match_to_kernel_seconds_bucket{le=\"0.000250\"} 0",
            "flowsieve_match_to_kernel_seconds_bucket{le=\"0.000500\"} 1",
            "flowsieve_match_to_kernel_seconds_bucket{le=\"2.500000\"} 2",
            "flowsieve_match_to_kernel_seconds_bucket{le=\"+Inf\"} 2",
            "flowsieve_match_to_kernel_seconds_sum 2.000300",
            "flowsieve_match_to_kernel_seconds_count 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        // Every sample belongs to a family announced with HELP and TYPE before it.
        let mut announced = Vec::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                announced.push(rest.split(' ').next().unwrap().to_string());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                let family = announced.last().unwrap();
                assert!(
                    name == family || name.strip_prefix(family.as_str()).is_some_and(|s| s.starts_with('_')),
                    "{l}"
                );
            }
        }
    }

    #[test]
    fn requests_other_than_get_metrics_are_refused() {
        assert_eq!(parse_request(b"GET /metrics HTTP/1.1\r\nHost: x"), Request::Metrics { head_only: false });
        assert_eq!(parse_request(b"HEAD /metrics?x=1 HTTP/1.0"), Request::Metrics { head_only: true });
        assert_eq!(parse_request(b"GET / HTTP/1.1"), Request::NotFound);
        assert_eq!(parse_request(b"POST /metrics HTTP/1.1"), Request::MethodNotAllowed);
        assert_eq!(parse_request(b"GET /metrics"), Request::Bad);
        assert_eq!(parse_request(b"\xff\xfe"), Request::Bad);
    }

    #[test]
    fn server_answers_404_elsewhere_and_refuses_oversized_requests() {
        let status: SharedStatus = Arc::new(std::sync::Mutex::new(sample()));
        let stop = Arc::new(AtomicBool::new(false));
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let thread = serve(addr, status, stop.clone()).unwrap();
        let ask = |request: &[u8]| {
            let mut s = TcpStream::connect(addr).unwrap();
            let _ = s.write_all(request);
            let mut reply = String::new();
            let _ = s.read_to_string(&mut reply);
            reply
        };
        let ok = ask(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
        assert!(
            ok.starts_with("HTTP/1.1 200 OK\r\n") && ok.contains("flowsieve_build_info{version=\"0.1.0\"} 1"),
            "{ok}"
        );
        assert!(ask(b"GET /x HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
        let big = [b"GET /metrics HTTP/1.1\r\nX: ".as_slice(), &[b'a'; MAX_REQUEST_BYTES]].concat();
        assert!(ask(&big).starts_with("HTTP/1.1 431 "));
        stop.store(true, Ordering::Relaxed);
        thread.join().unwrap();
    }
}
