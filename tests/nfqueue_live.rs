//! NFQUEUE capture against the real kernel, in the weak-TLS lab (a router namespace between
//! LAN clients and a TLS server). This kernel has no nft `queue` statement, so the router
//! queues with iptables-nft's xt `NFQUEUE` target.
//!
//! - tap mode with a NethSecurity-style generated configuration: device-scoped rules
//!   (`iface_nfq_src == 'br-lan' or iface_nfq_dst == 'br-lan'`, and `'*'` for any device),
//!   ct label targets, and an nft rule rejecting by label;
//! - inline mode with the weak-TLS example and its drop rule in a chain after the queue: no
//!   TLS 1.1 handshake completes and resumed TLS 1.1 sessions deliver no application data, over
//!   50 tries from fresh client addresses, while TLS 1.2 and the exempt client keep working.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::lab::{self, must, Agent, Lab, CLIENT, EXEMPT_CLIENT, SERVER};
use common::netns::NetNs;
use nix::sys::signal::Signal;

fn can_run() -> bool {
    if !lab::can_run() {
        return false;
    }
    if lab::which("iptables") && lab::which("python3") {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "NFQUEUE tests need iptables (iptables-nft) and python3 under CI");
    eprintln!("SKIPPED: needs iptables and python3");
    false
}

/// TLS 1.1 on this port, TLS 1.2 on [`TLS12`]: threaded servers (tests/fixtures/tls_server.py),
/// so that a connection the firewall stalls does not hold up the next one.
const TLS11: u16 = 2010;
const TLS12: u16 = 2443;

struct Servers {
    children: Vec<std::process::Child>,
    log: std::path::PathBuf,
}

impl Servers {
    /// The two servers, each holding its answers back `answer_delay` after the request.
    fn start(lab: &Lab, answer_delay: Duration) -> Servers {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls_server.py");
        let log = lab.path("tls-server.log");
        let mut children = Vec::new();
        for (port, version) in [(TLS11, "1.1"), (TLS12, "1.2")] {
            let child = Command::new("ip")
                .args(["netns", "exec", lab.server.name(), "python3", script, &port.to_string(), version])
                .arg(lab.path("cert.pem"))
                .arg(lab.path("key.pem"))
                .arg(lab.path(&format!("tls-server-{port}.log")))
                .arg(answer_delay.as_millis().to_string())
                .stdin(Stdio::null())
                .spawn()
                .expect("starting tests/fixtures/tls_server.py");
            children.push(child);
        }
        let ready = |port: u16| lab.path(&format!("tls-server-{port}.log.ready")).exists();
        assert!(Lab::wait_for(Duration::from_secs(10), || ready(TLS11) && ready(TLS12)), "TLS servers did not start");
        Servers { children, log }
    }

    /// Per connection that ended: (client address, application bytes received, handshake done).
    fn connections(&self, port: u16) -> Vec<(String, u64, bool)> {
        let path = self.log.with_file_name(format!("tls-server-{port}.log"));
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                Some((f.next()?.to_string(), f.next()?.parse().ok()?, f.next()? == "1"))
            })
            .collect()
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What one `openssl s_client` run saw.
#[derive(Debug, Default, Clone, Copy)]
struct TlsTry {
    /// A full handshake completed ("New, TLSv1.x").
    new_session: bool,
    /// An abbreviated handshake completed on the client's side ("Reused, TLSv1.x").
    reused: bool,
    /// The server's page came back: its request was delivered.
    response: bool,
}

/// One TLS connection from `bind` in `ns` to the server: handshake, a GET, the reply, given
/// `limit` seconds: 3 for tries the firewall is expected to stall (the server's own view of
/// them is checked too), 8 for those that must work (this VM is busy).
fn tls_try(ns: &NetNs, bind: &str, port: u16, limit: u32, session: Option<(&str, &std::path::Path)>) -> TlsTry {
    let version = if port == TLS11 { "-tls1_1" } else { "-tls1_2" };
    let limit = limit.to_string();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns.name(), "timeout", &limit, "openssl", "s_client"])
        .args(["-connect", &format!("{SERVER}:{port}"), "-bind", &format!("{bind}:0"), version])
        .args(["-cipher", "DEFAULT:@SECLEVEL=0", "-servername", "server.test", "-ign_eof"]);
    if let Some((flag, path)) = session {
        cmd.arg(flag).arg(path);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    {
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(b"GET / HTTP/1.0\r\n\r\n");
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    TlsTry {
        new_session: text.contains("New, TLSv1"),
        reused: text.contains("Reused, TLSv1"),
        response: text.contains("HTTP/1.0 200"),
    }
}

fn start_agent(lab: &Lab, config: &std::path::Path, extra: &[&str], log: &str) -> Agent {
    start_agent_under(lab, config, extra, log, &[])
}

fn start_agent_under(lab: &Lab, config: &std::path::Path, extra: &[&str], log: &str, wrapper: &[&str]) -> Agent {
    let socket = lab.path("fs.sock");
    let mut args = vec!["run", "--config", config.to_str().unwrap(), "--control-socket", socket.to_str().unwrap()];
    args.extend_from_slice(extra);
    let agent = Agent::start_under(&lab.router, wrapper, &args, &lab.path(log));
    assert!(
        Lab::wait_for(Duration::from_secs(10), || agent.log_text().contains("flowsieve running")),
        "agent did not start:\n{}",
        agent.log_text()
    );
    agent
}

fn status(lab: &Lab) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_flowsieve"))
        .args(["status", "--json", "--control-socket", lab.path("fs.sock").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn nethsecurity_style_rules_block_in_tap_mode() {
    if !can_run() {
        return;
    }
    let lab = Lab::start();
    let conf = lab.path("connlabel.conf");
    std::fs::write(&conf, "0 netify-init\n1 netify-blocked\n2 netify-analyzed\n").unwrap();
    // As NethSecurity's dpi-config writes it: fixed targets, rule<N> actions with generated
    // criteria, the trailing `analyzed` action, no version.
    let config = serde_json::json!({
        "reprocess_flows": true,
        "target_globals": { "ctlabel": { "connlabel_conf": conf.to_str().unwrap() } },
        "targets": {
            "block": { "target_type": "ctlabel", "enabled": true, "labels": ["netify-blocked"] },
            "log": { "target_type": "log", "enabled": true, "interval": 60,
                     "path": lab.dir.to_str().unwrap(), "prefix": "dpi-actions" },
            "analyzed": { "target_type": "ctlabel", "enabled": true, "labels": ["netify-analyzed"] }
        },
        "actions": {
            // Bound to the LAN bridge: the client's TLS 1.1 service.
            "rule0": { "enabled": true, "targets": ["block", "log"], "exemptions": [],
                       "criteria": format!("(iface_nfq_src == 'br-lan' or iface_nfq_dst == 'br-lan') && (local_ip == {CLIENT}) && (other_port == {TLS11}) ;") },
            // Bound to a device the traffic never crosses: must never match.
            "rule1": { "enabled": true, "targets": ["block"], "exemptions": [],
                       "criteria": format!("(iface_nfq_src == 'wan9' or iface_nfq_dst == 'wan9') && (local_ip == {EXEMPT_CLIENT}) ;") },
            // Any device ('*').
            "rule2": { "enabled": true, "targets": ["block"], "exemptions": [],
                       "criteria": format!("(iface_nfq_src == '*' or iface_nfq_dst == '*') && (local_ip == {EXEMPT_CLIENT}) && (other_port == {TLS12}) ;") },
            "analyzed": { "enabled": true, "criteria": "detection_guessed || detection_complete;",
                          "targets": ["analyzed"], "exemptions": [] }
        },
        "exemptions": []
    });
    let path = lab.path("netify-proc-flow-actions.json");
    std::fs::write(&path, config.to_string()).unwrap();
    // fw4's dpi_actions chain, by label number (bit 1 = netify-blocked).
    must(&lab.router, "nft", &["add table inet fw4"]);
    must(
        &lab.router,
        "nft",
        &["add chain inet fw4 dpi_actions { type filter hook prerouting priority filter + 10 ; policy accept ; }"],
    );
    must(&lab.router, "nft", &["add rule inet fw4 dpi_actions ct label 1 counter reject"]);
    must(&lab.router, "iptables", &["-I", "FORWARD", "-j", "NFQUEUE", "--queue-balance", "50:51", "--queue-bypass"]);
    // Tap mode accepts every packet at once and stops a connection from the moment the label
    // is on its conntrack entry: what it stops is what comes after the agent's decision. The
    // servers answer a request half a second after it, as a distant server's round trip would,
    // so the decision does not race a zero-latency lab under a loaded machine (in the lab the
    // whole exchange otherwise takes well under a millisecond).
    let _servers = Servers::start(&lab, Duration::from_millis(500));
    let mut agent = start_agent(&lab, &path, &["--nfqueue", "lan=50:2"], "tap.log");

    for _ in 0..3 {
        let works = |ns: &NetNs, from: &str, port: u16, limit| tls_try(ns, from, port, limit, None).response;
        assert!(!works(&lab.client, CLIENT, TLS11, 3), "rule0 must block:\n{}", agent.log_text());
        assert!(works(&lab.client, CLIENT, TLS12, 8), "the client's other service must work");
        assert!(works(&lab.exempt, EXEMPT_CLIENT, TLS11, 8), "rule1 (another device) must not match");
        assert!(!works(&lab.exempt, EXEMPT_CLIENT, TLS12, 3), "rule2 (any device) must block");
    }
    let listing = must(&lab.router, "nft", &["list", "chain", "inet", "fw4", "dpi_actions"]);
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(!listing.contains("packets 0 "), "the label rule rejected packets: {listing}");

    let status = status(&lab);
    let workers = status["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 2, "{status}");
    let queues: Vec<_> = workers.iter().map(|w| &w["queue"]).collect();
    assert_eq!(queues.iter().map(|q| q["queue"].as_u64().unwrap()).collect::<Vec<_>>(), vec![50, 51]);
    assert!(queues.iter().all(|q| q["mode"] == "tap"), "{status}");
    let sum = |key: &str| queues.iter().map(|q| q[key].as_u64().unwrap()).sum::<u64>();
    assert!(sum("packets") > 20, "{status}");
    assert_eq!(sum("packets"), sum("verdicts"), "{status}");
    assert_eq!(sum("verdict_errors"), 0, "{status}");
    assert!(status["targets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "block" && t["applied"].as_u64() >= Some(6)));
    eprintln!("tap: {}", serde_json::to_string(&queues).unwrap());
    assert!(agent.signal_and_wait(Signal::SIGTERM).success(), "{}", agent.log_text());
}

#[test]
fn inline_mode_lets_nothing_of_a_weak_tls_session_through() {
    if !can_run() {
        return;
    }
    const TRIES: usize = 50;
    let lab = Lab::start();
    // Fresh client addresses: two per try (a full handshake and a resumption).
    let addresses: Vec<String> = (0..2 * TRIES).map(|i| format!("192.168.1.{}", 100 + i)).collect();
    for a in &addresses {
        must(&lab.client, "ip", &["addr", "add", &format!("{a}/24"), "dev", "eth0"]);
    }
    let servers = Servers::start(&lab, Duration::ZERO);
    // A TLS 1.1 session to resume, made before anything blocks.
    let session = lab.path("tls11.session");
    let first = tls_try(&lab.client, CLIENT, TLS11, 8, Some(("-sess_out", &session)));
    assert!(first.new_session && first.response, "{first:?}");

    let config = lab.weak_tls_config();
    must(&lab.router, "iptables", &["-I", "FORWARD", "-j", "NFQUEUE", "--queue-num", "50"]);
    // Decided connections skip the queue (--nfqueue-bypass-mark); the drop chain still sees them.
    must(&lab.router, "iptables", &["-I", "FORWARD", "-m", "connmark", "--mark", "0x800000/0x800000", "-j", "ACCEPT"]);
    // The drop rule in a chain after iptables' filter chain (priority 0).
    must(&lab.router, "nft", &["add table inet netify"]);
    must(&lab.router, "nft", &["add chain inet netify after_queue { type filter hook forward priority 10 ; }"]);
    // A generous bound: on this busy VM a debug build's enforcer once took over 100 ms, and a
    // packet released on timeout is a (counted) leak this test is not about.
    let mut agent = start_agent(
        &lab,
        &config,
        &[
            "--nfqueue",
            "lan=50",
            "--nfqueue-mode",
            "inline",
            "--nfqueue-hold-timeout",
            "2000",
            "--nfqueue-bypass-mark",
            "0x800000/0x800000",
        ],
        "inline.log",
    );
    assert!(Lab::wait_for(Duration::from_secs(5), || lab.nft_table().contains("set weakssl.v4")));
    must(
        &lab.router,
        "nft",
        &["add rule inet netify after_queue ip saddr . ip protocol . th dport . ip daddr @weakssl.v4 drop"],
    );

    let mut results = Vec::new();
    for chunk in 0..TRIES / 10 {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (chunk * 10..chunk * 10 + 10)
                .map(|i| {
                    let (lab, session, full_from, resume_from) =
                        (&lab, &session, &addresses[2 * i], &addresses[2 * i + 1]);
                    scope.spawn(move || {
                        let full = tls_try(&lab.client, full_from, TLS11, 3, None);
                        let resumed = tls_try(&lab.client, resume_from, TLS11, 3, Some(("-sess_in", session)));
                        let modern = tls_try(&lab.client, full_from, TLS12, 8, None);
                        (full, resumed, modern)
                    })
                })
                .collect();
            results.extend(handles.into_iter().map(|h| h.join().unwrap()));
        });
        let exempt = tls_try(&lab.exempt, EXEMPT_CLIENT, TLS11, 8, None);
        assert!(exempt.new_session && exempt.response, "the exempt client must always work: {exempt:?}");
    }
    let completed = results.iter().filter(|(full, _, _)| full.new_session || full.response).count();
    let reused = results.iter().filter(|(_, r, _)| r.reused).count();
    let delivered = results.iter().filter(|(_, r, _)| r.response || r.new_session).count();
    let modern_ok = results.iter().filter(|(_, _, m)| m.new_session && m.response).count();
    let status = status(&lab);
    let queue = status["workers"][0]["queue"].clone();
    eprintln!(
        "inline, {TRIES} tries: {completed} full TLS 1.1 handshakes completed, {reused} resumptions reached the client's \
         side, {delivered} resumed sessions delivered data, {modern_ok} TLS 1.2 connections worked; queue {queue}"
    );
    // The server's view, once its stalled connections have timed out (3 s).
    let fresh = |a: &str| addresses.iter().any(|x| x == a);
    let ended = || servers.connections(TLS11).iter().filter(|(a, _, _)| fresh(a)).count();
    assert!(Lab::wait_for(Duration::from_secs(10), || ended() >= 2 * TRIES), "{:?}", servers.connections(TLS11));
    let seen = servers.connections(TLS11);
    let from_fresh: Vec<_> = seen.iter().filter(|(a, _, _)| fresh(a)).collect();
    let server_completed = from_fresh.iter().filter(|(_, _, done)| *done).count();
    let server_bytes: u64 = from_fresh.iter().map(|(_, bytes, _)| bytes).sum();
    eprintln!(
        "server side: {} TLS 1.1 connections from fresh addresses, {server_completed} handshakes completed, \
         {server_bytes} bytes of application data",
        from_fresh.len()
    );
    assert_eq!(server_completed, 0, "the server completed a TLS 1.1 handshake: {from_fresh:?}");
    assert_eq!(server_bytes, 0, "the server received TLS 1.1 application data: {from_fresh:?}");
    assert_eq!(completed, 0, "a full TLS 1.1 handshake completed:\n{}", agent.log_text());
    assert_eq!(delivered, 0, "a resumed TLS 1.1 session delivered application data");
    assert_eq!(modern_ok, TRIES, "TLS 1.2 must always work: {results:?}");
    assert!(reused > 0, "no resumption was tried: {results:?}");
    assert_eq!(queue["mode"], "inline");
    // TLS 1.2 connections finish detection and get the bypass mark.
    assert!(queue["marked"].as_u64().unwrap() >= 1, "{queue}");
    let marked = lab
        .router
        .exec("conntrack", &["-L", "-p", "tcp", "--dport", &TLS12.to_string(), "--mark", "0x800000/0x800000"]);
    let marked = String::from_utf8_lossy(&marked.stdout).lines().count();
    assert!(marked >= 1, "no TLS 1.2 connection carries the bypass mark");
    eprintln!("bypass mark on {marked} TLS 1.2 connections");
    assert_eq!(queue["fail_open_releases"], 0, "{queue}");
    assert_eq!(queue["packets"], queue["verdicts"], "{queue}");
    assert!(agent.signal_and_wait(Signal::SIGTERM).success(), "{}", agent.log_text());
    assert!(agent.log_text().contains("queue stopped"), "{}", agent.log_text());
}

/// Per-packet round-trip times (µs) of `count` pings from the client to the server, `gap` apart.
fn ping_rtts(lab: &Lab, count: usize, gap: &str) -> Vec<f64> {
    let out = lab.client.exec("ping", &["-n", "-i", gap, "-c", &count.to_string(), "-W", "1", SERVER]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("time=").nth(1)?.split_whitespace().next()?.parse::<f64>().ok())
        .map(|ms| ms * 1000.0)
        .collect()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Sends small UDP datagrams from the client to the server for `secs`, over 4096 source ports
/// (as many flows); returns how many were sent.
fn udp_flood(lab: &Lab, secs: u64) -> u64 {
    let path = format!("/run/netns/{}", lab.client.name());
    std::thread::spawn(move || {
        use std::os::fd::AsFd;
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let sockets: Vec<_> = (0..4096).map(|_| std::net::UdpSocket::bind((CLIENT, 0)).unwrap()).collect();
        let payload = [0x5au8; 64];
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        let mut sent = 0u64;
        'outer: loop {
            for s in &sockets {
                if s.send_to(&payload, (SERVER, 9)).is_ok() {
                    sent += 1;
                }
            }
            if std::time::Instant::now() >= deadline {
                break 'outer;
            }
        }
        sent
    })
    .join()
    .unwrap()
}

fn worker_packets(lab: &Lab) -> u64 {
    status(lab)["workers"].as_array().unwrap().iter().map(|w| w["packets"].as_u64().unwrap()).sum()
}

/// CPU seconds (user + system) the agent's thread named `name` has used.
fn thread_cpu(agent: &Agent, name: &str) -> f64 {
    let dir = format!("/proc/{}/task", agent.child.id());
    let ticks = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .and_then(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .map_or(0, |stat| {
            // Fields after the command name: state is 3rd, utime 14th, stime 15th.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<u64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
            f.iter().sum::<u64>()
        });
    ticks as f64 / 100.0
}

/// `scripts/nfqueue-bench.sh`: added latency per queued packet in tap and inline mode (pings
/// through the router alternately with and without the queue rule, the agent running; each
/// echo crosses the queue twice), and packets per second of CPU one queue's worker needs under
/// a UDP flood over 4096 flows, side by side with one AF_PACKET ring worker on the same traffic.
#[test]
#[ignore = "benchmark: scripts/nfqueue-bench.sh"]
fn nfqueue_benchmark() {
    if !can_run() {
        return;
    }
    let lab = Lab::start();
    let config = lab.weak_tls_config();
    let rounds: usize = std::env::var("FLOWSIEVE_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let flood_secs = 3;
    // FLOWSIEVE_BENCH_RT=1: the agent runs SCHED_FIFO, so on a busy machine the figures show
    // the queue path rather than the wait for a CPU.
    let wrapper: Vec<&str> =
        if std::env::var_os("FLOWSIEVE_BENCH_RT").is_some() { vec!["chrt", "-f", "20"] } else { vec![] };
    println!("agent scheduling: {}", if wrapper.is_empty() { "normal" } else { "SCHED_FIFO 20" });
    println!(
        "mode   | base RTT p50 / p99 | added/queued packet p50 | p99     | agent held p50 | p99    | flood sent/s | \
         worker packets/s | worker CPU | packets per CPU-second | kernel drops"
    );
    for mode in ["ring", "tap", "inline"] {
        let args: Vec<&str> = match mode {
            "ring" => vec!["-I", "br-lan", "--workers", "1"],
            "tap" => vec!["--nfqueue", "lan=50"],
            _ => vec!["--nfqueue", "lan=50", "--nfqueue-mode", "inline"],
        };
        let mut agent = start_agent_under(&lab, &config, &args, &format!("bench-{mode}.log"), &wrapper);
        let rule = ["FORWARD", "-j", "NFQUEUE", "--queue-num", "50", "--queue-bypass"];
        let (mut base, mut queued) = (Vec::new(), Vec::new());
        if mode != "ring" {
            for _ in 0..rounds {
                base.extend(ping_rtts(&lab, 200, "0.002"));
                must(&lab.router, "iptables", &[&["-I"][..], &rule[..]].concat());
                queued.extend(ping_rtts(&lab, 200, "0.002"));
                must(&lab.router, "iptables", &[&["-D"][..], &rule[..]].concat());
            }
        }
        base.sort_by(f64::total_cmp);
        queued.sort_by(f64::total_cmp);
        let base_median = quantile(&base, 0.5);
        // Each echo crosses the queue twice (request and reply).
        let added: Vec<f64> = queued.iter().map(|r| (r - base_median) / 2.0).collect();
        let held = status(&lab)["workers"][0]["queue"]["held"].clone();
        if mode != "ring" {
            must(&lab.router, "iptables", &[&["-I"][..], &rule[..]].concat());
        }
        let thread = if mode == "ring" { "worker-br-lan".to_string() } else { "worker-nfq50".to_string() };
        let (before, cpu_before) = (worker_packets(&lab), thread_cpu(&agent, &thread));
        let started = std::time::Instant::now();
        let sent = udp_flood(&lab, flood_secs);
        let elapsed = started.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(300));
        let s = status(&lab);
        let (processed, cpu) = (worker_packets(&lab) - before, thread_cpu(&agent, &thread) - cpu_before);
        let w = &s["workers"][0];
        let drops = if mode == "ring" {
            w["capture_dropped"].as_u64().unwrap_or(0)
        } else {
            w["queue"]["kernel_dropped"].as_u64().unwrap_or(0) + w["queue"]["kernel_user_dropped"].as_u64().unwrap_or(0)
        };
        let us = |v: f64| if v.is_nan() { "-".to_string() } else { format!("{v:.0} µs") };
        println!(
            "{mode:<6} | {:>8} / {:>7} | {:>23} | {:>7} | {:>14} | {:>6} | {:>12.0} | {:>16.0} | {:>8.2} s | {:>22.0} | {drops}",
            us(base_median),
            us(quantile(&base, 0.99)),
            us(quantile(&added, 0.5)),
            us(quantile(&added, 0.99)),
            held["p50_us"].as_u64().map_or("-".into(), |v| format!("{v} µs")),
            held["p99_us"].as_u64().map_or("-".into(), |v| format!("{v} µs")),
            sent as f64 / elapsed,
            processed as f64 / elapsed,
            cpu,
            processed as f64 / cpu.max(0.01),
        );
        assert!(agent.signal_and_wait(Signal::SIGTERM).success(), "{}", agent.log_text());
        if mode != "ring" {
            must(&lab.router, "iptables", &[&["-D"][..], &rule[..]].concat());
        }
    }
    println!(
        "(ring: not in the forwarding path, nothing added. added = (RTT with the queue rule - median RTT without) / 2, \
         rounds of 200 pings each way, agent running throughout. The flood is limited by its one sender thread; \
         packets per CPU-second = what one core running the worker would process)"
    );
}
