//! Enforcer throughput: nftables set elements added per second through flowsieve's batched
//! netlink path, next to `nft -f` adding the same elements. Runs in a private network namespace
//! (needs root); prints figures, asserts nothing.
//!
//! `cargo run --release --example enforcer-bench -- [ELEMENTS] [--ours-only]` (default 1,000,000;
//! `--ours-only` skips the slow `nft -f` half, for profiling)

use std::io::Write;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use flowsieve::enforce::nftset::{KeyPart, NftSetConfig, NftSetTarget, SetFamily};
use flowsieve::enforce::{MatchEvent, Target};
use flowsieve::flow::facts::FlowFacts;

use flowsieve::enforce::netlink::nftables::{KeyLayout, KeyType, NftSocket, SetRef, SetSpec, TableFamily};

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

fn thread_cpu() -> Result<Cpu, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let mut f = text.split_whitespace().map(|v| v.parse::<u64>());
    let run = f.next().ok_or("empty schedstat")??;
    let wait = f.next().ok_or("short schedstat")??;
    let stat = std::fs::read_to_string("/proc/thread-self/stat")?;
    // Fields after the command name: state is field 3, utime 14, stime 15 (in 1/100 s).
    let after = stat.rsplit(')').next().ok_or("bad stat")?;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64, Box<dyn std::error::Error>> {
        Ok(f.get(i).ok_or("short stat")?.parse::<u64>()? as f64 / 100.0)
    };
    Ok(Cpu { run_s: run as f64 / 1e9, wait_s: wait as f64 / 1e9, user_s: ticks(11)?, kernel_s: ticks(12)? })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ours_only = args.iter().any(|a| a == "--ours-only");
    let count: u32 = args.iter().find(|a| !a.starts_with("--")).map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);
    // A fresh network namespace for this process: nothing on the host is touched.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;

    // The weak-TLS key: local addr . proto . port . other addr.
    let fields = vec![KeyType::Ipv4Addr, KeyType::InetProto, KeyType::InetService, KeyType::Ipv4Addr];
    let spec = SetSpec {
        name: "bench.v4".into(),
        key: KeyLayout::new(fields.clone())?,
        size: count * 2,
        timeout_ms: if std::env::var_os("XP_NOTO").is_some() { 0 } else { 600_000 },
    };
    let element = |i: u32| {
        let local = Ipv4Addr::from(0x0a00_0000 | (i & 0x00ff_ffff));
        let other = Ipv4Addr::from(0xc633_6400 | (i >> 24));
        (local, (443 + (i % 1000)) as u16, other)
    };

    let mut sock = NftSocket::open()?;
    sock.ensure_table(TableFamily::Inet, "bench")?;
    sock.ensure_set(TableFamily::Inet, "bench", &spec)?;
    let layout = KeyLayout::new(fields)?;
    let keys: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            let (local, port, other) = element(i);
            let mut key = Vec::new();
            layout.pack(&[&local.octets(), &[6], &port.to_be_bytes(), &other.octets()], &mut key).expect("pack");
            key
        })
        .collect();
    let set = SetRef { family: TableFamily::Inet, table: "bench", set: "bench.v4" };
    let started = Instant::now();
    let cpu_before = thread_cpu()?;
    let report = sock.add_elements(set, &keys, spec.timeout_ms)?;
    let cpu = thread_cpu()? - cpu_before;
    let ours = started.elapsed();
    println!(
        "flowsieve netlink: {} elements in {:.3} s = {:.0} elements/s ({} batches, {} refused)",
        report.accepted,
        ours.as_secs_f64(),
        f64::from(count) / ours.as_secs_f64(),
        report.batches,
        report.refused
    );
    // The kernel inserts the elements in our thread's sendmsg, so this thread's CPU time is the
    // whole cost; on a shared machine it is the steadier figure (time waiting for a CPU is out).
    println!(
        "                   on-CPU {:.3} s (user {:.2} s + kernel {:.2} s) = {:.0} elements per CPU-second; \
         waited {:.3} s for a CPU",
        cpu.run_s,
        cpu.user_s,
        cpu.kernel_s,
        f64::from(count) / cpu.run_s,
        cpu.wait_s
    );

    // The whole enforcer path: match events through the nftset target (key building, queue,
    // dedup, flush into a managed set of its own table).
    let mut cfg = NftSetConfig::new(
        "nftset.bench",
        "bench",
        vec![KeyPart::LocalAddr, KeyPart::IpProto, KeyPart::OtherPort, KeyPart::OtherAddr],
    );
    cfg.table_name = "benchtarget".into();
    cfg.set_family = SetFamily::V4;
    cfg.size = count * 2;
    cfg.ttl = 600;
    cfg.managed = true;
    let mut target = NftSetTarget::new(cfg);
    target.setup()?;
    let events: Vec<MatchEvent> = (0..count)
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
            MatchEvent { action: Arc::from("bench"), flow: Arc::new(flow), at: SystemTime::UNIX_EPOCH }
        })
        .collect();
    let started = Instant::now();
    let cpu_before = thread_cpu()?;
    for event in &events {
        target.apply(event)?;
    }
    target.flush()?;
    let cpu = thread_cpu()? - cpu_before;
    let elapsed = started.elapsed();
    let stats = target.stats();
    println!(
        "nftset target:     {} elements in {:.3} s = {:.0} elements/s ({} batches, {} refused); \
         on-CPU {:.3} s (user {:.2} s + kernel {:.2} s) = {:.0} per CPU-second",
        stats.accepted,
        elapsed.as_secs_f64(),
        f64::from(count) / elapsed.as_secs_f64(),
        stats.batches,
        stats.refused,
        cpu.run_s,
        cpu.user_s,
        cpu.kernel_s,
        f64::from(count) / cpu.run_s
    );
    drop(events);

    if ours_only {
        return Ok(());
    }
    // The same elements through nft -f, into a second set.
    let path = std::env::temp_dir().join(format!("flowsieve-bench-{}.nft", std::process::id()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(
        file,
        "add set inet bench nft.v4 {{ type ipv4_addr . inet_proto . inet_service . ipv4_addr; size {}; timeout 10m; }}",
        count * 2
    )?;
    for chunk in (0..count).collect::<Vec<_>>().chunks(10_000) {
        write!(file, "add element inet bench nft.v4 {{ ")?;
        for (n, i) in chunk.iter().enumerate() {
            let (local, port, other) = element(*i);
            write!(file, "{}{local} . 6 . {port} . {other}", if n > 0 { ", " } else { "" })?;
        }
        writeln!(file, " }}")?;
    }
    file.flush()?;
    drop(file);
    let started = Instant::now();
    let status = std::process::Command::new("nft").arg("-f").arg(&path).status()?;
    let theirs = started.elapsed();
    std::fs::remove_file(&path)?;
    println!(
        "nft -f:            {} elements in {:.3} s = {:.0} elements/s (exit {status})",
        count,
        theirs.as_secs_f64(),
        f64::from(count) / theirs.as_secs_f64()
    );
    Ok(())
}
