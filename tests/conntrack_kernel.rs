//! ctmark and ctlabel targets, and the ctnetlink socket under them, against the real kernel.
//!
//! Every test builds its own network namespace(s), makes real connections there (a TCP listener
//! and client on loopback, `ping`, a masquerading router between two namespaces), changes marks
//! and labels through flowsieve and checks them with the `conntrack` tool. Needs root plus `ip`,
//! `nft`, `conntrack`, `unshare` and `ping`; without them the tests say so and pass, except under CI.

mod common {
    pub mod faults;
    pub mod netns;
}

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::SystemTime;

use common::netns::{kernel_tests_unavailable, NetNs};
use flowsieve::actions::config::TargetSpec;
use flowsieve::enforce::ctlabel::{CtLabelConfig, CtLabelTarget, LabelRef};
use flowsieve::enforce::ctmark::{CtMarkConfig, CtMarkTarget};
use flowsieve::enforce::{EnforceMode, Enforcer, MatchEvent, Target};
use flowsieve::facts::{FlowFacts, IcmpFacts};
use flowsieve::netlink::conntrack::{is_nat, ConntrackSocket, CtTuple};
use nix::sched::{setns, CloneFlags};

/// A fresh namespace the current thread has entered, with connection tracking switched on (a
/// hooked chain that looks at `ct state`; conntrack only tracks a namespace once something
/// needs it). `None`, with a message, when the tests cannot run here.
fn namespace(test: &str) -> Option<NetNs> {
    if let Some(why) = kernel_tests_unavailable(&["ip", "nft", "conntrack", "unshare"]) {
        eprintln!("skipping {test}: {why}");
        return None;
    }
    if !Command::new("sh").args(["-c", "command -v ping"]).output().is_ok_and(|o| o.status.success()) {
        if std::env::var_os("CI").is_some() {
            panic!("kernel test cannot run under CI: `ping` is not installed");
        }
        eprintln!("skipping {test}: `ping` is not installed");
        return None;
    }
    let mut ns = NetNs::new("fs-ct");
    track(&ns);
    ns.enter_current_thread().expect("enter the network namespace");
    Some(ns)
}

fn track(ns: &NetNs) {
    ns.exec_ok("nft", &["add table inet track"]);
    ns.exec_ok("nft", &["add chain inet track out { type filter hook output priority 0 ; }"]);
    ns.exec_ok("nft", &["add chain inet track forw { type filter hook forward priority 0 ; }"]);
    ns.exec_ok("nft", &["add rule inet track out ct state new counter"]);
    ns.exec_ok("nft", &["add rule inet track forw ct state new counter"]);
}

/// A TCP connection on loopback inside the namespace the thread is in; both ends stay open.
struct Conn {
    client: TcpStream,
    _server: TcpStream,
}

impl Conn {
    fn open(listener: &TcpListener) -> Conn {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        Conn { client, _server: server }
    }

    fn flow(&self) -> FlowFacts {
        let (local, other) = (self.client.local_addr().unwrap(), self.client.peer_addr().unwrap());
        FlowFacts {
            ip_version: 4,
            ip_protocol: 6,
            local_ip: local.ip(),
            local_port: local.port(),
            other_ip: other.ip(),
            other_port: other.port(),
            local_origin: true,
            ..FlowFacts::default()
        }
    }

    fn tuple(&self) -> CtTuple {
        let f = self.flow();
        CtTuple::ports(f.local_ip, f.local_port, f.other_ip, f.other_port, 6)
    }
}

fn event(flow: FlowFacts) -> MatchEvent {
    MatchEvent { action: Arc::from("block"), flow: Arc::new(flow), at: SystemTime::now(), times: Default::default() }
}

fn loopback_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// `conntrack -L <args>` lines that mention `sport=<port>`.
fn conntrack_lines(ns: &NetNs, args: &[&str], sport: u16) -> Vec<String> {
    let mut all = vec!["-L"];
    all.extend_from_slice(args);
    let out = ns.exec("conntrack", &all);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("sport={sport} ")))
        .map(str::to_string)
        .collect()
}

/// `conntrack -L -o labels <args>` with `conf` as its connlabel.conf. The tool only prints
/// labels it can name, from /etc/xtables/connlabel.conf; the host's /etc stays untouched: a
/// private mount namespace overlays a directory holding `xtables/connlabel.conf` on /etc.
fn conntrack_labels(ns: &NetNs, conf: &std::path::Path, args: &str) -> String {
    let dir = conf.with_extension("etc");
    std::fs::create_dir_all(dir.join("xtables")).unwrap();
    std::fs::copy(conf, dir.join("xtables/connlabel.conf")).unwrap();
    let script = format!(
        "mount -t overlay overlay -o lowerdir={}:/etc /etc && exec ip netns exec {} conntrack -L -o labels {args}",
        dir.display(),
        ns.name()
    );
    let out = Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn connlabel_conf(test: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("flowsieve-ct-{test}-{}.conf", std::process::id()));
    std::fs::write(&p, "0 netify-init\n1 netify-blocked\n2 netify-analyzed\n").unwrap();
    p
}

#[test]
fn ctmark_sets_only_the_masked_bits() {
    let Some(ns) = namespace("ctmark_sets_only_the_masked_bits") else { return };
    let listener = loopback_listener();
    let conn = Conn::open(&listener);
    let mut sock = ConntrackSocket::open().unwrap();
    // Someone else owns the high bits.
    sock.set_mark(&conn.tuple(), 0x1200, 0xff00).unwrap();

    let mut cfg = CtMarkConfig::new("ctmark.low-priority", 0x10);
    cfg.mask = 0xff;
    let mut target = CtMarkTarget::new(cfg);
    target.setup().unwrap();
    let e = event(conn.flow());
    let mut ops = Vec::new();
    target.describe(&e, &mut ops);
    let port = conn.flow().local_port;
    assert_eq!(ops, vec![format!("ctmark 127.0.0.1:{port} -> {} tcp mark 0x10/0xff", listener.local_addr().unwrap())]);
    target.apply(&e).unwrap();

    let entry = sock.get(&conn.tuple()).unwrap().expect("the connection is in conntrack");
    assert_eq!(entry.mark, 0x1210);
    let lines = conntrack_lines(&ns, &["--mark", "0x1210"], port);
    assert_eq!(lines.len(), 1, "conntrack -L --mark 0x1210 shows the connection");
    assert!(lines[0].contains("mark=4624"), "{lines:?}"); // conntrack prints the mark in decimal
    assert_eq!(target.stats().updated, 1);

    // Shift: mark 1 << 4 inside mask 0xf0.
    let mut cfg = CtMarkConfig::new("ctmark.shifted", 1);
    cfg.mask = 0xf0;
    cfg.shift = 4;
    CtMarkTarget::new(cfg).apply(&e).unwrap();
    assert_eq!(sock.get(&conn.tuple()).unwrap().unwrap().mark, 0x1210 & !0xf0 | 0x10);
}

#[test]
fn ctmark_counts_flows_conntrack_does_not_have() {
    let Some(_ns) = namespace("ctmark_counts_flows_conntrack_does_not_have") else { return };
    let gone = FlowFacts {
        ip_protocol: 6,
        local_ip: Ipv4Addr::new(127, 0, 0, 1).into(),
        local_port: 1,
        other_ip: Ipv4Addr::new(127, 0, 0, 1).into(),
        other_port: 2,
        local_origin: true,
        ..FlowFacts::default()
    };
    let mut target = CtMarkTarget::new(CtMarkConfig::new("ctmark.x", 1));
    target.apply(&event(gone)).expect("ENOENT is not a failure");
    let s = target.stats();
    assert_eq!((s.updated, s.no_connection, s.failed), (0, 1, 0));
    let mut sock = ConntrackSocket::open().unwrap();
    let t = CtTuple::ports(Ipv4Addr::LOCALHOST.into(), 1, Ipv4Addr::LOCALHOST.into(), 2, 6);
    assert_eq!(sock.get(&t).unwrap(), None);
}

#[test]
fn ctlabel_labels_new_connections_and_counts_older_ones() {
    let Some(ns) = namespace("ctlabel_labels_new_connections_and_counts_older_ones") else { return };
    let listener = loopback_listener();
    // Made before any rule referenced `ct label`: no label storage.
    let old = Conn::open(&listener);

    let conf = connlabel_conf("labels");
    let mut cfg = CtLabelConfig::new("ctlabel.block", vec![LabelRef::Name("netify-blocked".into()), LabelRef::Bit(2)]);
    cfg.globals.connlabel_conf = Some(conf.clone());
    let mut target = CtLabelTarget::new(cfg);
    target.setup().unwrap();
    let table = ns.exec_ok("nft", &["list", "table", "inet", "flowsieve"]);
    assert!(table.contains("chain ctlabel_init") && table.contains("ct label set"), "{table}");
    assert!(!table.contains("hook"), "the init chain must not be hooked:\n{table}");
    // Setting up again leaves one rule.
    target.setup().unwrap();
    let table = ns.exec_ok("nft", &["list", "table", "inet", "flowsieve"]);
    assert_eq!(table.matches("ct label set").count(), 1, "{table}");

    let new = Conn::open(&listener);
    let mut ops = Vec::new();
    target.describe(&event(new.flow()), &mut ops);
    assert!(ops[0].starts_with("ctlabel 127.0.0.1:") && ops[0].ends_with(" tcp +netify-blocked +2"), "{ops:?}");
    target.apply(&event(new.flow())).unwrap();
    target.apply(&event(old.flow())).expect("ENOSPC is counted, not a failure");
    let s = target.stats();
    assert_eq!((s.updated, s.no_label_space, s.failed), (1, 1, 0), "{s:?}");
    assert!(target.details().contains(&("no_label_space", 1)), "{:?}", target.details());

    let mut sock = ConntrackSocket::open().unwrap();
    assert_eq!(sock.get(&new.tuple()).unwrap().unwrap().labels, 0b110);
    assert_eq!(sock.get(&old.tuple()).unwrap().unwrap().labels, 0);
    // What an administrator sees.
    let listing = conntrack_labels(&ns, &conf, "-p tcp");
    let line_of = |port: u16| {
        listing
            .lines()
            .find(|l| l.contains(&format!("sport={port} ")))
            .unwrap_or_else(|| panic!("{listing}"))
            .to_string()
    };
    let new_line = line_of(new.flow().local_port);
    assert!(new_line.contains("netify-blocked") && new_line.contains("netify-analyzed"), "{new_line}");
    assert!(!line_of(old.flow().local_port).contains("netify-"), "{listing}");

    // Existing bits are kept: a second target adds bit 0 without clearing 1 and 2.
    let mut cfg = CtLabelConfig::new("ctlabel.init", vec![LabelRef::Bit(0)]);
    cfg.globals.connlabel_conf = Some(conf.clone());
    let mut other = CtLabelTarget::new(cfg);
    other.apply(&event(new.flow())).unwrap();
    assert_eq!(sock.get(&new.tuple()).unwrap().unwrap().labels, 0b111);
    let _ = std::fs::remove_file(conf);
}

#[test]
fn icmp_echo_is_labelled_by_id_type_and_code() {
    let Some(ns) = namespace("icmp_echo_is_labelled_by_id_type_and_code") else { return };
    let conf = connlabel_conf("icmp");
    let mut cfg = CtLabelConfig::new("ctlabel.block", vec![LabelRef::Bit(1)]);
    cfg.globals.connlabel_conf = Some(conf.clone());
    CtLabelTarget::new(cfg).setup().unwrap();
    // `-e` fixes the echo identifier, which conntrack keys ICMP on.
    ns.exec_ok("ping", &["-c", "1", "-W", "2", "-e", "4242", "127.0.0.1"]);
    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let tuple = CtTuple::icmp(lo, lo, 4242, 8, 0);
    let mut sock = ConntrackSocket::open().unwrap();
    let entry = sock.get(&tuple).unwrap().expect("the echo is in conntrack");
    assert_eq!(entry.reply, CtTuple::icmp(lo, lo, 4242, 0, 0));
    sock.set_labels(&tuple, 1 << 1, 1 << 1).unwrap();
    assert_eq!(sock.get(&tuple).unwrap().unwrap().labels, 1 << 1);
    let out = conntrack_labels(&ns, &conf, "-p icmp");
    let line = out.lines().find(|l| l.contains("id=4242")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("netify-blocked"), "{line}");
    // Another id is another connection.
    assert_eq!(sock.get(&CtTuple::icmp(lo, lo, 4243, 8, 0)).unwrap(), None);

    // The ctlabel target finds the same entry from flow facts (first packet: the request).
    let flow = FlowFacts {
        ip_protocol: 1,
        local_ip: lo,
        other_ip: lo,
        local_origin: true,
        icmp: Some(IcmpFacts { icmp_type: 8, code: 0, id: 4242 }),
        ..FlowFacts::default()
    };
    let mut cfg = CtLabelConfig::new("ctlabel.analyzed", vec![LabelRef::Name("netify-analyzed".into())]);
    cfg.globals.connlabel_conf = Some(conf.clone());
    let mut target = CtLabelTarget::new(cfg);
    let mut ops = Vec::new();
    target.describe(&event(flow.clone()), &mut ops);
    assert_eq!(ops, vec!["ctlabel 127.0.0.1 -> 127.0.0.1 icmp type 8 code 0 id 4242 +netify-analyzed"]);
    target.apply(&event(flow)).unwrap();
    assert_eq!(target.stats().updated, 1);
    assert_eq!(sock.get(&tuple).unwrap().unwrap().labels, 0b110);
    let _ = std::fs::remove_file(conf);
}

/// Runs `f` on a thread inside namespace `ns`; sockets it creates stay in that namespace.
fn in_ns<T: Send + 'static>(ns: &NetNs, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{}", ns.name());
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap();
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

#[test]
fn masqueraded_connections_are_nat() {
    let Some(router) = namespace("masqueraded_connections_are_nat") else { return };
    let client = NetNs::new("fs-ctc");
    let server = NetNs::new("fs-cts");
    router.exec_ok("ip", &["link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", client.name()]);
    router.exec_ok("ip", &["link", "add", "wan", "type", "veth", "peer", "name", "eth0", "netns", server.name()]);
    for (ns, dev, addr) in [
        (&router, "lan", "10.1.0.1/24"),
        (&router, "wan", "10.2.0.1/24"),
        (&client, "eth0", "10.1.0.2/24"),
        (&server, "eth0", "10.2.0.2/24"),
    ] {
        ns.exec_ok("ip", &["addr", "add", addr, "dev", dev]);
        ns.exec_ok("ip", &["link", "set", dev, "up"]);
    }
    client.exec_ok("ip", &["route", "add", "default", "via", "10.1.0.1"]);
    router.exec_ok("sh", &["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
    router.exec_ok("nft", &["add table ip nat"]);
    router.exec_ok("nft", &["add chain ip nat post { type nat hook postrouting priority 100 ; }"]);
    router.exec_ok("nft", &["add rule ip nat post oifname wan masquerade"]);

    let listener = in_ns(&server, || TcpListener::bind("10.2.0.2:0").unwrap());
    let server_addr = listener.local_addr().unwrap();
    let mut stream = in_ns(&client, move || TcpStream::connect(server_addr).unwrap());
    let (mut accepted, seen_from) = listener.accept().unwrap();
    stream.write_all(b"x").unwrap();
    let mut byte = [0u8; 1];
    accepted.read_exact(&mut byte).unwrap();
    assert_eq!(seen_from.ip(), IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1)), "the server sees the router's address");

    // The router's conntrack (this thread is in the router namespace).
    let local: SocketAddr = stream.local_addr().unwrap();
    let mut sock = ConntrackSocket::open().unwrap();
    let tuple = CtTuple::ports(local.ip(), local.port(), server_addr.ip(), server_addr.port(), 6);
    let entry = sock.get(&tuple).unwrap().expect("the router tracks the forwarded connection");
    assert_eq!(entry.reply.dst, IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1)));
    assert!(is_nat(&entry), "{entry:?}");

    // A connection the router makes itself on loopback is not translated.
    let lo = loopback_listener();
    let conn = Conn::open(&lo);
    let plain = sock.get(&conn.tuple()).unwrap().unwrap();
    assert!(!is_nat(&plain), "{plain:?}");
}

#[test]
fn ipv6_connections_are_marked_and_labelled() {
    let Some(ns) = namespace("ipv6_connections_are_marked_and_labelled") else { return };
    let listener = TcpListener::bind("[::1]:0").unwrap();
    let conf = connlabel_conf("v6");
    let mut cfg = CtLabelConfig::new("ctlabel.block", vec![LabelRef::Bit(1)]);
    cfg.globals.connlabel_conf = Some(conf.clone());
    let mut labels = CtLabelTarget::new(cfg);
    labels.setup().unwrap();
    let conn = Conn::open(&listener);
    let flow = FlowFacts { ip_version: 6, ..conn.flow() };
    let mut ops = Vec::new();
    let mut marks = CtMarkTarget::new(CtMarkConfig::new("ctmark.all", 0xabc));
    marks.describe(&event(flow.clone()), &mut ops);
    assert!(ops[0].starts_with("ctmark [::1]:") && ops[0].ends_with(" tcp mark 0xabc/0xffffffff"), "{ops:?}");
    marks.apply(&event(flow.clone())).unwrap();
    labels.apply(&event(flow)).unwrap();
    let entry = ConntrackSocket::open().unwrap().get(&conn.tuple()).unwrap().expect("tracked");
    assert_eq!((entry.mark, entry.labels), (0xabc, 1 << 1));
    assert!(!is_nat(&entry));
    let lines = conntrack_lines(&ns, &["-f", "ipv6", "--mark", "0xabc"], conn.flow().local_port);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let _ = std::fs::remove_file(conf);
}

#[test]
fn removing_ctmark_and_ctlabel_targets_leaves_marks_and_labels_alone() {
    let Some(_ns) = namespace("removing_ctmark_and_ctlabel_targets_leaves_marks_and_labels_alone") else { return };
    let conf = connlabel_conf("remove");
    let mut labels = CtLabelConfig::new("ctlabel.block", vec![LabelRef::Bit(1)]);
    labels.globals.connlabel_conf = Some(conf.clone());
    let specs = [TargetSpec::CtMark(CtMarkConfig::new("ctmark.block", 0x42)), TargetSpec::CtLabel(labels)];
    let mut enforcer = Enforcer::new(&specs, EnforceMode::Apply);
    let listener = loopback_listener();
    let conn = Conn::open(&listener); // after setup: the connection has label space
    let names: Vec<Arc<str>> = vec![Arc::from("ctmark.block"), Arc::from("ctlabel.block")];
    enforcer.handle(&names, &event(conn.flow()), false, None);
    enforcer.flush();
    let mut sock = ConntrackSocket::open().unwrap();
    assert_eq!(sock.get(&conn.tuple()).unwrap().map(|e| (e.mark, e.labels)), Some((0x42, 1 << 1)));
    enforcer.reload(&[]).unwrap();
    assert!(enforcer.status().is_empty());
    enforcer.shutdown();
    let entry = sock.get(&conn.tuple()).unwrap().expect("still tracked");
    assert_eq!((entry.mark, entry.labels), (0x42, 1 << 1), "marks and labels stay with their connection");
    let _ = std::fs::remove_file(conf);
}

#[test]
fn ctmark_and_ctlabel_replace_a_lost_netlink_socket() {
    let Some(_ns) = namespace("ctmark_and_ctlabel_replace_a_lost_netlink_socket") else { return };
    let conf = connlabel_conf("lost");
    let mut cfg = CtLabelConfig::new("ctlabel.block", vec![LabelRef::Bit(4)]);
    cfg.globals.connlabel_conf = Some(conf.clone());
    let mut labels = CtLabelTarget::new(cfg);
    labels.setup().unwrap();
    let mut marks = CtMarkTarget::new(CtMarkConfig::new("ctmark.block", 0x7));
    marks.setup().unwrap();
    let fds = common::faults::netfilter_socket_fds();
    assert_eq!(fds.len(), 2, "one ctnetlink socket per target: {fds:?}");
    for fd in fds {
        common::faults::break_socket(fd);
    }
    let listener = loopback_listener();
    let conn = Conn::open(&listener);
    marks.apply(&event(conn.flow())).expect("ctmark reconnects");
    labels.apply(&event(conn.flow())).expect("ctlabel reconnects");
    assert_eq!((marks.stats().updated, labels.stats().updated), (1, 1));
    let entry = ConntrackSocket::open().unwrap().get(&conn.tuple()).unwrap().unwrap();
    assert_eq!((entry.mark, entry.labels), (0x7, 1 << 4));
    let _ = std::fs::remove_file(conf);
}
