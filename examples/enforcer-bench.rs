//! Enforcer throughput: nftables set elements added per second through flowsieve's batched
//! netlink path, next to `nft -f` adding the same elements. Runs in a private network namespace
//! (needs root); prints figures, asserts nothing.
//!
//! `cargo run --release --example enforcer-bench -- [ELEMENTS]` (default 1,000,000)

use std::io::Write;
use std::net::Ipv4Addr;
use std::time::Instant;

use flowsieve::enforce::netlink::nftables::{KeyLayout, KeyType, NftSocket, SetRef, SetSpec, TableFamily};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u32 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);
    // A fresh network namespace for this process: nothing on the host is touched.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;

    // The weak-TLS key: local addr . proto . port . other addr.
    let fields = vec![KeyType::Ipv4Addr, KeyType::InetProto, KeyType::InetService, KeyType::Ipv4Addr];
    let spec =
        SetSpec { name: "bench.v4".into(), key: KeyLayout::new(fields.clone())?, size: count * 2, timeout_ms: 600_000 };
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
    let report = sock.add_elements(set, &keys, 600_000)?;
    let ours = started.elapsed();
    println!(
        "flowsieve netlink: {} elements in {:.3} s = {:.0} elements/s ({} batches, {} refused)",
        report.accepted,
        ours.as_secs_f64(),
        f64::from(count) / ours.as_secs_f64(),
        report.batches,
        report.refused
    );

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
