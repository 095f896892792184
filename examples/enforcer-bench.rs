//! Enforcer throughput: nftables set elements added per second through flowsieve's batched
//! netlink path, for each kind of set the nftset target creates (and a few it does not, to show
//! what they cost), next to `nft -f` adding the same elements. Runs in a private network
//! namespace (needs root); prints figures, asserts nothing.
//!
//! `cargo run --release --example enforcer-bench -- [ELEMENTS] [OPTIONS]` (default 1,000,000)
//!
//! - `--only a,b`: run only these variants (names as printed: ttl, ttl-set-default, ttl-64k,
//!   no-ttl, no-ttl-64k, no-ttl-2threads, addr-only, counter, interval, target, target-no-ttl,
//!   nft, nft-no-ttl)
//! - `--ours-only`: skip the slow `nft -f` variants (for profiling)
//! - `--batch-bytes N`: bytes per transaction (default: the enforcer's, 1 MiB)
//! - `--per-msg N`: elements per NEWSETELEM message (default: as many as 64 KiB holds)
//! - `--repeat N`: run the selected variants N times, alternating their order
//!
//! Each variant fills a fresh set (deleted afterwards) with the same elements. The kernel inserts
//! them in our thread's `sendmsg`, so this thread's CPU time is the cost on an idle machine; the
//! rhashtable behind timeout sets also grows in a kernel worker, which this time leaves out
//! (`perf record -a` shows it as `rht_deferred_worker`).

use std::io::Write;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use flowsieve::enforce::nftset::{KeyPart, NftSetConfig, NftSetTarget, SetFamily};
use flowsieve::enforce::{MatchEvent, Target};
use flowsieve::facts::FlowFacts;
use flowsieve::netlink::nftables::{KeyLayout, KeyType, NftSocket, SetRef, SetSpec, TableFamily};

type Error = Box<dyn std::error::Error>;

/// This thread's time on a CPU and waiting for one, from `/proc/thread-self/schedstat` (ns).
/// User and kernel parts come from `/proc/thread-self/stat` (clock ticks, 10 ms resolution).
#[derive(Clone, Copy)]
struct Cpu {
    run_s: f64,
    wait_s: f64,
    user_s: f64,
    kernel_s: f64,
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, o: Cpu) -> Cpu {
        Cpu {
            run_s: self.run_s - o.run_s,
            wait_s: self.wait_s - o.wait_s,
            user_s: self.user_s - o.user_s,
            kernel_s: self.kernel_s - o.kernel_s,
        }
    }
}

/// CPU time of waited-for child processes (`nft`): cutime and cstime of `/proc/self/stat`
/// (1/100 s). The time they waited for a CPU is not known (reported as 0).
fn children_cpu() -> Result<Cpu, Error> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after = stat.rsplit(')').next().ok_or("bad stat")?;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64, Error> { Ok(f.get(i).ok_or("short stat")?.parse::<u64>()? as f64 / 100.0) };
    let (user_s, kernel_s) = (ticks(13)?, ticks(14)?);
    Ok(Cpu { run_s: user_s + kernel_s, wait_s: 0.0, user_s, kernel_s })
}

fn thread_cpu() -> Result<Cpu, Error> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let mut f = text.split_whitespace().map(|v| v.parse::<u64>());
    let run = f.next().ok_or("empty schedstat")??;
    let wait = f.next().ok_or("short schedstat")??;
    let stat = std::fs::read_to_string("/proc/thread-self/stat")?;
    // Fields after the command name: state is field 3, utime 14, stime 15 (in 1/100 s).
    let after = stat.rsplit(')').next().ok_or("bad stat")?;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64, Error> { Ok(f.get(i).ok_or("short stat")?.parse::<u64>()? as f64 / 100.0) };
    Ok(Cpu { run_s: run as f64 / 1e9, wait_s: wait as f64 / 1e9, user_s: ticks(11)?, kernel_s: ticks(12)? })
}

/// The weak-TLS element number `i`: local addr . proto . port . other addr, all distinct.
fn element(i: u32) -> (Ipv4Addr, u16, Ipv4Addr) {
    let local = Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff));
    let other = Ipv4Addr::from(0xc633_6400 | (i >> 24));
    (local, (443 + (i % 1000)) as u16, other)
}

const WEAK_TLS: [KeyType; 4] = [KeyType::Ipv4Addr, KeyType::InetProto, KeyType::InetService, KeyType::Ipv4Addr];
const TTL_MS: u64 = 600_000;

struct Bench {
    count: u32,
    sock: NftSocket,
    batch_bytes: usize,
    per_msg: Option<usize>,
    /// Packed weak-TLS keys and single-address keys, built once.
    keys: Vec<Vec<u8>>,
    addr_keys: Vec<[u8; 4]>,
}

/// What one variant measured.
struct Run {
    accepted: usize,
    batches: usize,
    wall_s: f64,
    cpu: Cpu,
}

impl Bench {
    fn print(&self, name: &str, what: &str, run: &Run) {
        let count = run.accepted as f64;
        println!(
            "{name:<16} {:>9.0} elements/s  on-CPU {:.3} s (user {:.2} + kernel {:.2}) = {:>9.0}/CPU-s  \
             waited {:.2} s  {} added in {} batches  [{what}]",
            count / run.wall_s,
            run.cpu.run_s,
            run.cpu.user_s,
            run.cpu.kernel_s,
            count / run.cpu.run_s,
            run.cpu.wait_s,
            run.accepted,
            run.batches,
        );
    }

    /// Adds every element through `NftSocket::add_elements` into a fresh set made by `make`.
    fn raw(
        &mut self,
        set_name: &str,
        make: impl FnOnce(&mut Self) -> Result<(), Error>,
        addr: bool,
        timeout_ms: u64,
    ) -> Result<Run, Error> {
        make(self)?;
        let set = SetRef { family: TableFamily::Inet, table: "bench", set: set_name };
        let started = Instant::now();
        let before = thread_cpu()?;
        let report = if addr {
            self.sock.add_elements(set, &self.addr_keys, timeout_ms)?
        } else {
            self.sock.add_elements(set, &self.keys, timeout_ms)?
        };
        let cpu = thread_cpu()? - before;
        let wall_s = started.elapsed().as_secs_f64();
        self.sock.delete_set(set)?;
        Ok(Run { accepted: report.accepted, batches: report.batches, wall_s, cpu })
    }

    fn spec(&self, name: &str, fields: &[KeyType], timeout_ms: u64) -> Result<SetSpec, Error> {
        Ok(SetSpec { name: name.into(), key: KeyLayout::new(fields.to_vec())?, size: self.count * 2, timeout_ms })
    }

    /// Two threads, each with its own socket, add half the elements each to the same set. The
    /// kernel takes the netns's nftables commit mutex for a whole batch, parsing included, so
    /// this shows whether anything overlaps. CPU time is both threads'.
    fn two_threads(&mut self, set_name: &str) -> Result<Run, Error> {
        let (a, b) = self.keys.split_at(self.keys.len() / 2);
        let mut socks = [NftSocket::open()?, NftSocket::open()?];
        for s in &mut socks {
            s.set_batch_bytes(self.batch_bytes)?;
            if let Some(n) = self.per_msg {
                s.set_elements_per_message(n);
            }
        }
        let set = SetRef { family: TableFamily::Inet, table: "bench", set: set_name };
        let started = Instant::now();
        let results: Vec<Result<(usize, usize, Cpu), String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = socks
                .iter_mut()
                .zip([a, b])
                .map(|(sock, keys)| {
                    scope.spawn(move || {
                        let before = thread_cpu().map_err(|e| e.to_string())?;
                        let report = sock.add_elements(set, keys, 0).map_err(|e| e.to_string())?;
                        let cpu = thread_cpu().map_err(|e| e.to_string())? - before;
                        Ok((report.accepted, report.batches, cpu))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into()))).collect()
        });
        let wall_s = started.elapsed().as_secs_f64();
        let mut run =
            Run { accepted: 0, batches: 0, wall_s, cpu: Cpu { run_s: 0.0, wait_s: 0.0, user_s: 0.0, kernel_s: 0.0 } };
        for r in results {
            let (accepted, batches, cpu) = r?;
            run.accepted += accepted;
            run.batches += batches;
            run.cpu = Cpu {
                run_s: run.cpu.run_s + cpu.run_s,
                wait_s: run.cpu.wait_s + cpu.wait_s,
                user_s: run.cpu.user_s + cpu.user_s,
                kernel_s: run.cpu.kernel_s + cpu.kernel_s,
            };
        }
        self.sock.delete_set(set)?;
        Ok(run)
    }

    /// Sets of Netify's default size (65,536) filled from empty, one after the other, until
    /// `count` elements are in: the size users run, where the set's hash fits in the caches.
    fn default_size(&mut self, timeout_ms: u64) -> Result<Run, Error> {
        const SIZE: usize = 65_536;
        let mut run = Run {
            accepted: 0,
            batches: 0,
            wall_s: 0.0,
            cpu: Cpu { run_s: 0.0, wait_s: 0.0, user_s: 0.0, kernel_s: 0.0 },
        };
        for (n, keys) in self.keys.chunks(SIZE).enumerate() {
            let spec = SetSpec { size: SIZE as u32, ..self.spec(&format!("small{n}"), &WEAK_TLS, timeout_ms)? };
            self.sock.ensure_set(TableFamily::Inet, "bench", &spec)?;
            let set = SetRef { family: TableFamily::Inet, table: "bench", set: &spec.name };
            let started = Instant::now();
            let before = thread_cpu()?;
            let report = self.sock.add_elements(set, keys, timeout_ms)?;
            let cpu = thread_cpu()? - before;
            run.wall_s += started.elapsed().as_secs_f64();
            run.cpu = Cpu {
                run_s: run.cpu.run_s + cpu.run_s,
                wait_s: run.cpu.wait_s + cpu.wait_s,
                user_s: run.cpu.user_s + cpu.user_s,
                kernel_s: run.cpu.kernel_s + cpu.kernel_s,
            };
            run.accepted += report.accepted;
            run.batches += report.batches;
            self.sock.delete_set(set)?;
        }
        Ok(run)
    }

    /// A set made by `nft` (kinds the enforcer never creates), filled through our netlink path.
    fn nft_made(&mut self, set_name: &str, body: &str, addr: bool) -> Result<Run, Error> {
        let cmd = format!("add set inet bench {set_name} {{ {body}; size {}; }}", self.count * 2);
        self.raw(set_name, |_| nft(&cmd), addr, 0)
    }

    /// The nftset target: match events through key building, queueing, dedup and flush.
    fn target(&mut self, ttl: u32) -> Result<Run, Error> {
        let mut cfg = NftSetConfig::new(
            "nftset.bench",
            "target",
            vec![KeyPart::LocalAddr, KeyPart::IpProto, KeyPart::OtherPort, KeyPart::OtherAddr],
        );
        cfg.table_name = "benchtarget".into();
        cfg.set_family = SetFamily::V4;
        cfg.size = self.count * 2;
        cfg.ttl = ttl;
        cfg.managed = true;
        let mut target = NftSetTarget::new(cfg);
        target.setup()?;
        let events: Vec<MatchEvent> = (0..self.count)
            .map(|i| {
                let (local, port, other) = element(i);
                let flow = FlowFacts {
                    ip_version: 4,
                    ip_protocol: 6,
                    local_ip: local.into(),
                    other_ip: other.into(),
                    local_port: 40000,
                    other_port: port,
                    ..FlowFacts::default()
                };
                MatchEvent {
                    action: Arc::from("bench"),
                    flow: Arc::new(flow),
                    at: SystemTime::UNIX_EPOCH,
                    times: Default::default(),
                }
            })
            .collect();
        let started = Instant::now();
        let before = thread_cpu()?;
        for event in &events {
            target.apply(event)?;
        }
        target.flush()?;
        let cpu = thread_cpu()? - before;
        let wall_s = started.elapsed().as_secs_f64();
        let stats = target.stats();
        target.remove()?;
        Ok(Run { accepted: stats.accepted as usize, batches: stats.batches as usize, wall_s, cpu })
    }

    /// The same elements through `nft -f` (one `add element` line per 10,000).
    fn nft_file(&mut self, set_name: &str, timeout: &str) -> Result<Run, Error> {
        let path = std::env::temp_dir().join(format!("flowsieve-bench-{}.nft", std::process::id()));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        writeln!(
            file,
            "add set inet bench {set_name} {{ type ipv4_addr . inet_proto . inet_service . ipv4_addr; size {};{timeout} }}",
            self.count * 2
        )?;
        for start in (0..self.count).step_by(10_000) {
            write!(file, "add element inet bench {set_name} {{ ")?;
            for i in start..(start + 10_000).min(self.count) {
                let (local, port, other) = element(i);
                write!(file, "{}{local} . 6 . {port} . {other}", if i > start { ", " } else { "" })?;
            }
            writeln!(file, " }}")?;
        }
        file.flush()?;
        drop(file);
        let started = Instant::now();
        let before = children_cpu()?;
        let status = std::process::Command::new("nft").arg("-f").arg(&path).status()?;
        let cpu = children_cpu()? - before;
        let wall_s = started.elapsed().as_secs_f64();
        std::fs::remove_file(&path)?;
        if !status.success() {
            return Err(format!("nft -f exited with {status}").into());
        }
        nft(&format!("delete set inet bench {set_name}"))?;
        Ok(Run { accepted: self.count as usize, batches: 0, wall_s, cpu })
    }

    fn run(&mut self, name: &str) -> Result<(), Error> {
        let (run, what) = match name {
            "ttl" => {
                let spec = self.spec("ttl", &WEAK_TLS, TTL_MS)?;
                let run =
                    self.raw("ttl", |b| Ok(b.sock.ensure_set(TableFamily::Inet, "bench", &spec)?), false, TTL_MS)?;
                (run, "timeout set, each element with timeout+expiration: the target with ttl")
            }
            "ttl-set-default" => {
                let spec = self.spec("ttl-default", &WEAK_TLS, TTL_MS)?;
                let run =
                    self.raw("ttl-default", |b| Ok(b.sock.ensure_set(TableFamily::Inet, "bench", &spec)?), false, 0)?;
                (run, "timeout set, elements take the set's timeout (no per-element attributes)")
            }
            "no-ttl" => {
                let spec = self.spec("no-ttl", &WEAK_TLS, 0)?;
                let run =
                    self.raw("no-ttl", |b| Ok(b.sock.ensure_set(TableFamily::Inet, "bench", &spec)?), false, 0)?;
                (run, "no timeout, size given: the target with ttl 0")
            }
            "ttl-64k" => (self.default_size(TTL_MS)?, "sets of size 65536 filled one after the other, with ttl"),
            "no-ttl-64k" => (self.default_size(0)?, "sets of size 65536 filled one after the other, ttl 0"),
            "no-ttl-2threads" => {
                let spec = self.spec("two", &WEAK_TLS, 0)?;
                self.sock.ensure_set(TableFamily::Inet, "bench", &spec)?;
                (self.two_threads("two")?, "no timeout, two threads with a socket each, half the elements each")
            }
            "addr-only" => {
                let spec = self.spec("addr", &[KeyType::Ipv4Addr], 0)?;
                let run = self.raw("addr", |b| Ok(b.sock.ensure_set(TableFamily::Inet, "bench", &spec)?), true, 0)?;
                (run, "one ipv4_addr key, no timeout")
            }
            "counter" => {
                let body = "type ipv4_addr . inet_proto . inet_service . ipv4_addr; counter";
                (self.nft_made("withcounter", body, false)?, "no timeout, a counter on every element (set made by nft)")
            }
            "interval" => {
                let body = "type ipv4_addr . inet_proto . inet_service . ipv4_addr; flags interval";
                (self.nft_made("withinterval", body, false)?, "no timeout, flags interval (set made by nft)")
            }
            "target" => (self.target((TTL_MS / 1000) as u32)?, "nftset target, ttl 600: events → keys → flush"),
            "target-no-ttl" => (self.target(0)?, "nftset target, ttl 0"),
            "nft" => (self.nft_file("nft", " timeout 10m;")?, "nft -f, timeout set; CPU: the nft process"),
            "nft-no-ttl" => (self.nft_file("nftnottl", "")?, "nft -f, no timeout; CPU: the nft process"),
            other => return Err(format!("unknown variant {other}").into()),
        };
        self.print(name, what, &run);
        Ok(())
    }
}

fn nft(cmd: &str) -> Result<(), Error> {
    let status = std::process::Command::new("nft").arg(cmd).status()?;
    if !status.success() {
        return Err(format!("nft {cmd:?} exited with {status}").into());
    }
    Ok(())
}

/// What the figures mean, measured with `perf record -a -g` on Linux 6.18 (docs/BENCHMARKS.md,
/// "Enforcer: set elements per second").
const WHY: &str = "\
Why not 1 M elements/s: the kernel inserts the elements inside our sendmsg (nfnetlink_rcv_batch ->
nf_tables_newsetelem), one at a time, holding the network namespace's nftables commit mutex for the
whole batch: parse the attributes, allocate and zero the element and its transaction, insert it in
the hash, activate it at commit. nft_add_set_elem is 80-85% of the thread's sendmsg time (no
timeout, self time: nft_hash_insert 18%, memset 14%, nft_setelem_activate 9%, nft_add_set_elem 8.5%,
__nla_validate_parse 7%, __kmalloc 6%, memcg charging 4.5%; with timeout nft_rhash_insert 22% and
rhashtable_insert_slow 8.5%); building our messages is under 3% of the thread. Batch size
(64 KiB-4 MiB), elements per message and a second thread with its own socket change nothing beyond
the noise (the mutex serialises the threads). Timeout sets use the resizable rhash backend: a slower insert, and a kernel worker grows the table
as it fills (its CPU time is not in the figures above). Sets without timeout use the fixed nft_hash.";

/// Run by default; `interval` only with `--only` (a million elements take over a minute).
const ALL: [&str; 12] = [
    "ttl",
    "ttl-set-default",
    "ttl-64k",
    "no-ttl",
    "no-ttl-64k",
    "no-ttl-2threads",
    "addr-only",
    "counter",
    "target",
    "target-no-ttl",
    "nft",
    "nft-no-ttl",
];

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut count = 1_000_000u32;
    let mut only: Option<Vec<String>> = None;
    let mut ours_only = false;
    let mut batch_bytes = None;
    let mut per_msg = None;
    let mut repeat = 1;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--only" => only = Some(value("--only")?.split(',').map(str::to_string).collect()),
            "--ours-only" => ours_only = true,
            "--batch-bytes" => batch_bytes = Some(value("--batch-bytes")?.parse::<usize>()?),
            "--per-msg" => per_msg = Some(value("--per-msg")?.parse::<usize>()?),
            "--repeat" => repeat = value("--repeat")?.parse::<usize>()?,
            n if !n.starts_with("--") => count = n.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let mut variants: Vec<String> = match only {
        Some(names) => names,
        None => ALL.iter().filter(|n| !(ours_only && n.starts_with("nft"))).map(|n| n.to_string()).collect(),
    };

    // A fresh network namespace for this process: nothing on the host is touched.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
    let mut sock = NftSocket::open()?;
    let batch_bytes = match batch_bytes {
        Some(b) => sock.set_batch_bytes(b)?,
        None => sock.max_batch_bytes(),
    };
    if let Some(n) = per_msg {
        sock.set_elements_per_message(n);
    }
    sock.ensure_table(TableFamily::Inet, "bench")?;
    let layout = KeyLayout::new(WEAK_TLS.to_vec())?;
    let keys = (0..count)
        .map(|i| {
            let (local, port, other) = element(i);
            let mut key = Vec::new();
            layout.pack(&[&local.octets(), &[6], &port.to_be_bytes(), &other.octets()], &mut key)?;
            Ok(key)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let addr_keys = (0..count).map(|i| (0x0a00_0000u32.wrapping_add(i)).to_be_bytes()).collect();
    let mut bench = Bench { count, sock, batch_bytes, per_msg, keys, addr_keys };
    println!(
        "{count} elements a variant; batches of {} bytes, {} elements a message; 2 vCPU, Linux {}",
        bench.batch_bytes,
        bench.per_msg.map_or("up to 64 KiB of".to_string(), |n| n.to_string()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim()
    );
    for round in 0..repeat {
        for name in &variants {
            bench.run(name)?;
        }
        if round + 1 < repeat {
            variants.reverse();
        }
    }
    println!("{WHY}");
    Ok(())
}
