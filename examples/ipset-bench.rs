//! ipset throughput: members added per second through flowsieve's netlink path, batched (many
//! ADD messages per datagram, acknowledgements read after) and one round trip per member (what
//! the target did before batching). Runs in a private network namespace (needs root); prints
//! figures, asserts nothing.
//!
//! `cargo run --release --example ipset-bench -- [MEMBERS]` (default 200,000)

use std::net::Ipv4Addr;
use std::time::Instant;

use flowsieve::netlink::ipset::{IpsetEntry, IpsetFamily, IpsetSocket, IpsetSpec, IpsetType, SkbInfo};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u32 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(200_000);
    // A fresh network namespace for this process: nothing on the host is touched.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;

    // The Netify layout: other address, protocol and port, local address.
    let members: Vec<IpsetEntry> = (0..count)
        .map(|i| IpsetEntry::IpPortIp {
            ip: Ipv4Addr::from(0xc633_6400 | (i >> 16)).into(),
            proto: 6,
            port: 443 + (i % 1000) as u16,
            ip2: Ipv4Addr::from(0x0a00_0000 | (i & 0xffff)).into(),
        })
        .collect();
    let mut sock = IpsetSocket::open()?;
    let batched = sock.max_members_per_send();
    for (label, per_send) in [("one round trip per member", 1), ("batched", batched)] {
        let name = format!("bench{per_send}.v4");
        let spec = IpsetSpec {
            name: name.clone(),
            set_type: IpsetType::HashIpPortIp,
            family: IpsetFamily::Inet,
            max_elements: count * 2,
            timeout: 600,
            skbinfo: false,
        };
        sock.create(&spec)?;
        let mut s = IpsetSocket::open()?;
        s.limit_members_per_send(per_send);
        let start = Instant::now();
        let report = s.add_many(&name, &members, Some(600), &SkbInfo::default())?;
        let secs = start.elapsed().as_secs_f64();
        assert!(report.refused.is_empty(), "{:?}", report.refused.first());
        println!(
            "{label:>26}: {} members in {secs:.3} s = {:.0} members/s ({} datagrams, up to {per_send} members each)",
            report.added,
            f64::from(count) / secs,
            report.sends
        );
        // Adding them again (timeouts restart): what refreshes cost.
        let start = Instant::now();
        let again = s.add_many(&name, &members, Some(600), &SkbInfo::default())?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{:>26}: {} members in {secs:.3} s = {:.0} members/s",
            "  re-added",
            again.added,
            f64::from(count) / secs
        );
        sock.destroy(&name)?;
    }
    Ok(())
}
