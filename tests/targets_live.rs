//! Every kernel target end to end with real traffic: the agent runs in a router namespace and
//! watches the LAN side, a client namespace opens TCP connections through it to a server
//! namespace, and a firewall rule in the router that uses what flowsieve wrote (an ipset
//! member, a conntrack mark, a conntrack label) drops the traffic. Also: SIGHUP reloads under
//! continuous blocked traffic leave no gap.
//!
//! Needs root plus `ip`, `nft`, `iptables`, `ipset` and `conntrack`; without them the tests say so
//! and pass, except under CI.

mod common;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::lab::{must, Agent, Lab};
use common::netns::{kernel_tests_unavailable, NetNs};
use flowsieve::netlink::conntrack::{ConntrackSocket, CtTuple};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::Signal;

const CLIENT: &str = "192.168.1.10";
const SERVER: &str = "10.99.0.2";
/// The server echoes on both ports; the actions match HTTP, which only port 8080 gets.
const HTTP_PORT: u16 = 8080;
const OTHER_PORT: u16 = 8081;
const HTTP_REQUEST: &[u8] = b"GET /blocked HTTP/1.1\r\nHost: blocked.test\r\nUser-Agent: flowsieve-test\r\n\r\n";

fn can_run(test: &str) -> bool {
    match kernel_tests_unavailable(&["ip", "nft", "iptables", "ipset", "conntrack"]) {
        Some(why) => {
            eprintln!("skipping {test}: {why}");
            false
        }
        None => true,
    }
}

/// Runs `f` on a thread inside namespace `ns`; sockets it creates stay in that namespace.
fn in_ns<T: Send + 'static>(ns: &NetNs, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{}", ns.name());
    std::thread::spawn(move || {
        setns(File::open(&path).unwrap(), CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// Router between a client (LAN, 192.168.1.10) and a server (WAN, 10.99.0.2) that echoes every
/// byte on ports 8080 and 8081. Dropping it stops the server and deletes the namespaces.
struct Topology {
    router: NetNs,
    client: NetNs,
    /// Holds the echo server's listeners; deleted on drop.
    _server: NetNs,
    dir: PathBuf,
    stop: Arc<AtomicBool>,
    echo: Option<JoinHandle<()>>,
}

impl Topology {
    fn start() -> Topology {
        let router = NetNs::new("fs-tr");
        let client = NetNs::new("fs-tc");
        let server = NetNs::new("fs-ts");
        let dir = std::env::temp_dir().join(format!("flowsieve-targets-{}", router.name()));
        std::fs::create_dir_all(&dir).unwrap();
        let r = &router;
        for (ns, dev, addr, gw) in [(&client, "lan0", CLIENT, "192.168.1.1"), (&server, "wan0", SERVER, "10.99.0.1")] {
            must(r, "ip", &["link", "add", dev, "type", "veth", "peer", "name", "eth0", "netns", ns.name()]);
            must(r, "ip", &["addr", "add", &format!("{gw}/24"), "dev", dev]);
            must(r, "ip", &["link", "set", dev, "up"]);
            must(ns, "ip", &["addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
            must(ns, "ip", &["link", "set", "eth0", "up"]);
            must(ns, "ip", &["route", "add", "default", "via", gw]);
        }
        must(r, "sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
        let stop = Arc::new(AtomicBool::new(false));
        let listeners = in_ns(&server, || {
            [HTTP_PORT, OTHER_PORT].map(|p| {
                let l = TcpListener::bind((SERVER, p)).unwrap();
                l.set_nonblocking(true).unwrap();
                l
            })
        });
        let flag = stop.clone();
        let echo = std::thread::spawn(move || echo_server(listeners, flag));
        Topology { router, client, _server: server, dir, stop, echo: Some(echo) }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `flowsieve run` in the router on the LAN interface with `config` (JSON).
    fn agent(&self, config: &serde_json::Value) -> Agent {
        let path = self.path("config.json");
        std::fs::write(&path, serde_json::to_string_pretty(config).unwrap()).unwrap();
        let agent = Agent::start(
            &self.router,
            &["run", "--control-socket", "none", "--config", path.to_str().unwrap(), "-I", "lan0"],
            &self.path("agent.log"),
        );
        assert!(
            Lab::wait_for(Duration::from_secs(10), || agent.log_text().contains("flowsieve running")),
            "{}",
            agent.log_text()
        );
        agent
    }

    /// A connection from the client to the server, or the error (a dropped SYN times out).
    fn connect(&self, port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
        let addr: SocketAddr = format!("{SERVER}:{port}").parse().unwrap();
        in_ns(&self.client, move || TcpStream::connect_timeout(&addr, timeout))
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.echo.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Accepts on both listeners and echoes every connection until `stop`.
fn echo_server(listeners: [TcpListener; 2], stop: Arc<AtomicBool>) {
    let mut handlers = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let mut idle = true;
        for l in &listeners {
            if let Ok((mut conn, _)) = l.accept() {
                idle = false;
                let stop = stop.clone();
                handlers.push(std::thread::spawn(move || {
                    let _ = conn.set_nonblocking(false);
                    let _ = conn.set_read_timeout(Some(Duration::from_millis(50)));
                    let mut buf = [0u8; 4096];
                    while !stop.load(Ordering::Relaxed) {
                        match conn.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => {
                                if conn.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                            Err(_) => break,
                        }
                    }
                }));
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    for h in handlers {
        let _ = h.join();
    }
}

/// Writes `data` and reads its echo back within `limit`.
fn echoes(conn: &mut TcpStream, data: &[u8], limit: Duration) -> bool {
    if conn.write_all(data).is_err() {
        return false;
    }
    let _ = conn.set_read_timeout(Some(Duration::from_millis(50)));
    let deadline = Instant::now() + limit;
    let mut got = 0;
    let mut buf = [0u8; 4096];
    while got < data.len() && Instant::now() < deadline {
        match conn.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return false,
        }
    }
    got >= data.len()
}

/// Keeps `conn` busy (a few bytes every 20 ms) for up to `limit` and reports whether the echo
/// stopped for a whole second while the client kept sending: what a user of a marked and
/// dropped connection sees.
fn stalls(conn: &mut TcpStream, limit: Duration) -> bool {
    let _ = conn.set_read_timeout(Some(Duration::from_millis(20)));
    let start = Instant::now();
    let mut last_echo = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        if conn.write_all(b"more\n").is_err() {
            return false;
        }
        match conn.read(&mut buf) {
            Ok(0) => return false,
            Ok(_) => last_echo = Instant::now(),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return false,
        }
        if last_echo.elapsed() >= Duration::from_secs(1) {
            return true;
        }
    }
    false
}

/// `counter packets N` of the first counter in `listing`.
fn counter_packets(listing: &str) -> u64 {
    let at = listing.find("counter packets ").unwrap_or_else(|| panic!("no counter in {listing}"));
    listing[at + 16..].split_whitespace().next().unwrap().parse().unwrap()
}

/// The `ipset list` line of `member`, waiting up to 5 s for it.
fn wait_for_member(ns: &NetNs, set: &str, member: &str, agent: &Agent) -> String {
    let find = || {
        let out = ns.exec("ipset", &["list", set]);
        String::from_utf8_lossy(&out.stdout).lines().find(|l| l.starts_with(&format!("{member} "))).map(str::to_string)
    };
    assert!(
        Lab::wait_for(Duration::from_secs(5), || find().is_some()),
        "no member {member} in {set}:\n{}\n{}",
        String::from_utf8_lossy(&ns.exec("ipset", &["list", set]).stdout),
        agent.log_text()
    );
    find().unwrap()
}

fn timeout_of(line: &str) -> u32 {
    let at = line.find("timeout ").unwrap_or_else(|| panic!("no timeout in `{line}`"));
    line[at + 8..].split_whitespace().next().unwrap().parse().unwrap()
}

/// The conntrack entries of the router for client → server:port (one line each).
fn conntrack_lines(t: &Topology, args: &[&str], port: u16) -> Vec<String> {
    let mut all = vec!["-L", "-p", "tcp", "--dport"];
    let port = port.to_string();
    all.push(&port);
    all.extend_from_slice(args);
    let out = t.router.exec("conntrack", &all);
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

fn ipset_config(ttl: u32) -> serde_json::Value {
    serde_json::json!({
        "actions": { "block": { "criteria": "protocol == 'HTTP';", "targets": ["ipset.block"] } },
        "targets": {
            "ipset.block": {
                "target_type": "ipset", "set_name": "fsblock", "type": "hash:ip,port,ip",
                "set_family": "ipv4", "ttl": ttl, "managed": true, "flush_on_create": true
            }
        }
    })
}

#[test]
fn ipset_member_drops_new_connections_through_an_iptables_set_match() {
    if !can_run("ipset_member_drops_new_connections_through_an_iptables_set_match") {
        return;
    }
    let t = Topology::start();
    let agent = t.agent(&ipset_config(300));
    // The member layout is other,proto:port,local: for LAN → WAN packets dst,dst,src.
    must(
        &t.router,
        "iptables",
        &["-A", "FORWARD", "-m", "set", "--match-set", "fsblock.v4", "dst,dst,src", "-j", "DROP"],
    );

    let mut first = t.connect(HTTP_PORT, Duration::from_secs(2)).expect("the first connection is not blocked yet");
    assert!(echoes(&mut first, HTTP_REQUEST, Duration::from_secs(2)), "the first request goes through");
    let line = wait_for_member(&t.router, "fsblock.v4", &format!("{SERVER},tcp:{HTTP_PORT},{CLIENT}"), &agent);
    let timeout = timeout_of(&line);
    assert!((290..=300).contains(&timeout), "{line}");

    // New connections with the same key (another source port) are dropped; others are not.
    let blocked = t.connect(HTTP_PORT, Duration::from_millis(700));
    assert!(blocked.is_err(), "a new connection to the blocked server port must fail");
    let mut other = t.connect(OTHER_PORT, Duration::from_secs(2)).expect("another port is not blocked");
    assert!(echoes(&mut other, b"hello\n", Duration::from_secs(2)));
    let rules = must(&t.router, "iptables", &["-L", "FORWARD", "-v", "-n", "-x"]);
    let rules = String::from_utf8_lossy(&rules.stdout).into_owned();
    let packets: u64 = rules
        .lines()
        .find(|l| l.contains("match-set fsblock.v4"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{rules}"));
    assert!(packets >= 1, "the set match dropped the SYNs: {rules}");
    eprintln!("member: {line}; iptables rule dropped {packets} packet(s)");
}

#[test]
fn ctmark_stops_an_established_connection_through_an_nft_mark_rule() {
    if !can_run("ctmark_stops_an_established_connection_through_an_nft_mark_rule") {
        return;
    }
    let t = Topology::start();
    // The rule exists first (it also makes the router track connections).
    must(&t.router, "nft", &["add table inet fsmark"]);
    must(&t.router, "nft", &["add chain inet fsmark filt { type filter hook forward priority 0 ; }"]);
    must(&t.router, "nft", &["add rule inet fsmark filt ct mark and 0xff == 0x10 counter drop"]);
    let agent = t.agent(&serde_json::json!({
        "actions": { "block": { "criteria": "protocol == 'HTTP';", "targets": ["ctmark.block"] } },
        "targets": { "ctmark.block": { "target_type": "ctmark", "mark": "0x1", "shift": 4, "mask": "0xff" } }
    }));

    let mut http = t.connect(HTTP_PORT, Duration::from_secs(2)).unwrap();
    let mut plain = t.connect(OTHER_PORT, Duration::from_secs(2)).unwrap();
    assert!(echoes(&mut plain, b"hello\n", Duration::from_secs(2)));
    // The request is let through (the mark comes after detection); what follows stalls.
    http.write_all(HTTP_REQUEST).unwrap();
    assert!(stalls(&mut http, Duration::from_secs(5)), "the HTTP connection kept echoing:\n{}", agent.log_text());
    // The other connection is untouched.
    assert!(echoes(&mut plain, b"still here\n", Duration::from_secs(2)), "the non-HTTP connection must keep working");

    let marked = conntrack_lines(&t, &["--mark", "0x10/0xff"], HTTP_PORT);
    assert_eq!(marked.len(), 1, "{marked:?}");
    let local = http.local_addr().unwrap().port();
    assert!(
        marked[0].contains(&format!("src={CLIENT} dst={SERVER} sport={local} dport={HTTP_PORT}"))
            && marked[0].contains("mark=16"),
        "{marked:?}"
    );
    assert!(conntrack_lines(&t, &["--mark", "0x10/0xff"], OTHER_PORT).is_empty());
    let chain = must(&t.router, "nft", &["list", "chain", "inet", "fsmark", "filt"]);
    let packets = counter_packets(&String::from_utf8_lossy(&chain.stdout));
    assert!(packets >= 2, "the mark rule dropped the stalled connection's packets: {packets}");
    eprintln!("marked: {}; mark rule dropped {packets} packet(s)", marked[0]);
}

#[test]
fn ctlabel_stops_an_established_connection_through_an_nft_label_rule() {
    if !can_run("ctlabel_stops_an_established_connection_through_an_nft_label_rule") {
        return;
    }
    let t = Topology::start();
    let conf = t.path("connlabel.conf");
    std::fs::write(&conf, "0 netify-init\n3 netify-blocked\n").unwrap();
    // flowsieve's own `ct label` rule gives connections label space; this one uses bit 3.
    let agent = t.agent(&serde_json::json!({
        "actions": { "block": { "criteria": "protocol == 'HTTP';", "targets": ["ctlabel.block"] } },
        "targets": { "ctlabel.block": { "target_type": "ctlabel", "labels": ["netify-blocked"] } },
        "target_globals": { "ctlabel": { "connlabel_conf": conf.to_str().unwrap() } }
    }));
    must(&t.router, "nft", &["add table inet fslabel"]);
    must(&t.router, "nft", &["add chain inet fslabel filt { type filter hook forward priority 0 ; }"]);
    must(&t.router, "nft", &["add rule inet fslabel filt ct label 3 counter drop"]);

    let mut http = t.connect(HTTP_PORT, Duration::from_secs(2)).unwrap();
    let mut plain = t.connect(OTHER_PORT, Duration::from_secs(2)).unwrap();
    assert!(echoes(&mut plain, b"hello\n", Duration::from_secs(2)));
    http.write_all(HTTP_REQUEST).unwrap();
    assert!(stalls(&mut http, Duration::from_secs(5)), "the HTTP connection kept echoing:\n{}", agent.log_text());
    assert!(echoes(&mut plain, b"still here\n", Duration::from_secs(2)), "the non-HTTP connection must keep working");

    // The label on the router's entry for exactly this connection (conntrack -o labels only
    // names bits listed in /etc/xtables/connlabel.conf, which the test leaves alone).
    let local = http.local_addr().unwrap();
    let tuple = CtTuple::ports(local.ip(), local.port(), SERVER.parse().unwrap(), HTTP_PORT, 6);
    let entry = in_ns(&t.router, move || ConntrackSocket::open().unwrap().get(&tuple).unwrap())
        .expect("the router tracks the connection");
    assert_eq!(entry.labels, 1 << 3, "{entry:?}");
    let plain_local = plain.local_addr().unwrap();
    let tuple = CtTuple::ports(plain_local.ip(), plain_local.port(), SERVER.parse().unwrap(), OTHER_PORT, 6);
    let entry = in_ns(&t.router, move || ConntrackSocket::open().unwrap().get(&tuple).unwrap()).expect("tracked");
    assert_eq!(entry.labels, 0, "{entry:?}");
    let line = format!("{local} -> {SERVER}:{HTTP_PORT} labels 0x{:x}", 1u128 << 3);
    let chain = must(&t.router, "nft", &["list", "chain", "inet", "fslabel", "filt"]);
    let packets = counter_packets(&String::from_utf8_lossy(&chain.stdout));
    assert!(packets >= 2, "the label rule dropped the stalled connection's packets: {packets}");
    let init = must(&t.router, "nft", &["list", "table", "inet", "flowsieve"]);
    assert!(String::from_utf8_lossy(&init.stdout).contains("ct label set"), "flowsieve's init rule");
    eprintln!("labelled: {line}; label rule dropped {packets} packet(s)");
}

#[test]
fn reloads_under_continuous_blocked_traffic_leave_no_gap() {
    if !can_run("reloads_under_continuous_blocked_traffic_leave_no_gap") {
        return;
    }
    let t = Topology::start();
    let config = ipset_config(300);
    let mut agent = t.agent(&config);
    must(
        &t.router,
        "iptables",
        &["-A", "FORWARD", "-m", "set", "--match-set", "fsblock.v4", "dst,dst,src", "-j", "DROP"],
    );

    // Clients that each try a new HTTP connection every 20 ms (a dropped SYN gives up after
    // 150 ms) until told to stop; each attempt is recorded with the time it started.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let client_path = format!("/run/netns/{}", t.client.name());
            let flag = stop.clone();
            std::thread::spawn(move || {
                setns(File::open(&client_path).unwrap(), CloneFlags::CLONE_NEWNET).unwrap();
                std::thread::sleep(Duration::from_millis(5 * i));
                let addr: SocketAddr = format!("{SERVER}:{HTTP_PORT}").parse().unwrap();
                let mut results: Vec<(Instant, bool)> = Vec::new();
                while !flag.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let ok = match TcpStream::connect_timeout(&addr, Duration::from_millis(150)) {
                        Ok(mut c) => {
                            let _ = c.write_all(HTTP_REQUEST);
                            true
                        }
                        Err(_) => false,
                    };
                    results.push((started, ok));
                    std::thread::sleep(Duration::from_millis(20));
                }
                results
            })
        })
        .collect();
    let member = format!("{SERVER},tcp:{HTTP_PORT},{CLIENT}");
    wait_for_member(&t.router, "fsblock.v4", &member, &agent);

    let pid = nix::unistd::Pid::from_raw(agent.child.id() as i32);
    let reload = |agent: &Agent, n: usize| {
        nix::sys::signal::kill(pid, Signal::SIGHUP).unwrap();
        assert!(
            Lab::wait_for(Duration::from_secs(5), || agent.log_text().matches("configuration reloaded").count() >= n),
            "{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Unchanged configuration, three times.
    for n in 1..=3 {
        reload(&agent, n);
    }
    // Changed but compatible: another ttl for the same set, and a new action with a new target.
    let mut changed = ipset_config(600);
    changed["actions"]["also"] = serde_json::json!({
        "criteria": format!("other_port == {OTHER_PORT};"), "targets": ["ipset.also"]
    });
    changed["targets"]["ipset.also"] = serde_json::json!({
        "target_type": "ipset", "set_name": "fsalso", "type": "hash:ip", "set_family": "ipv4",
        "ttl": 120, "managed": true, "flush_on_destroy": true
    });
    std::fs::write(t.path("config.json"), serde_json::to_string_pretty(&changed).unwrap()).unwrap();
    reload(&agent, 4);
    reload(&agent, 5);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut results: Vec<(Instant, bool)> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    results.sort_by_key(|r| r.0);

    let first_blocked = results.iter().position(|(_, ok)| !ok).expect("some attempt was blocked");
    let after: Vec<_> = results[first_blocked..].iter().collect();
    let leaked = after.iter().filter(|(_, ok)| *ok).count();
    eprintln!(
        "{} connection attempts, {} before the first block, {} after it of which {leaked} got through",
        results.len(),
        first_blocked,
        after.len()
    );
    assert_eq!(leaked, 0, "connections got through during reloads:\n{}", agent.log_text());
    assert!(after.len() >= 30, "too few attempts to say anything: {}", after.len());
    // The member survived five reloads (no flush) and keeps its first timeout.
    let line = wait_for_member(&t.router, "fsblock.v4", &member, &agent);
    assert!(timeout_of(&line) <= 300, "{line}");
    assert!(!agent.log_text().contains("destroyed ipset"), "{}", agent.log_text());

    // The new target works.
    let mut other = t.connect(OTHER_PORT, Duration::from_secs(2)).unwrap();
    assert!(echoes(&mut other, b"hello\n", Duration::from_secs(2)));
    let line = wait_for_member(&t.router, "fsalso.v4", SERVER, &agent);
    assert!((110..=120).contains(&timeout_of(&line)), "{line}");
    // Clean shutdown: flush_on_destroy empties fsalso.v4; fsblock.v4 (without it) keeps its
    // member; both sets stay.
    assert!(agent.signal_and_wait(Signal::SIGTERM).success(), "{}", agent.log_text());
    let also = must(&t.router, "ipset", &["list", "fsalso.v4"]);
    let also = String::from_utf8_lossy(&also.stdout);
    assert!(also.contains("Number of entries: 0"), "{also}");
    let block = must(&t.router, "ipset", &["list", "fsblock.v4"]);
    assert!(String::from_utf8_lossy(&block.stdout).contains(&member), "flushed without flush_on_destroy");
}
