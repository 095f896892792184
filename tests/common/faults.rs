//! Faults a test can inflict on the process's own netlink sockets.
#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsRawFd;

const NETLINK_NETFILTER: u32 = 12;

/// File descriptors of this process's NETLINK_NETFILTER sockets in the calling thread's
/// network namespace (`/proc/thread-self/net/netlink` lists that namespace's sockets by inode).
pub fn netfilter_socket_fds() -> Vec<i32> {
    let table = std::fs::read_to_string("/proc/thread-self/net/netlink").unwrap();
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.get(1)?.parse::<u32>().ok()? == NETLINK_NETFILTER).then(|| cols.get(9).map(|s| s.to_string()))?
        })
        .collect();
    let mut fds = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(link) = std::fs::read_link(entry.path()) else { continue };
        let link = link.to_string_lossy().into_owned();
        let Some(inode) = link.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) else { continue };
        if inodes.iter().any(|i| i == inode) {
            fds.push(entry.file_name().to_string_lossy().parse().unwrap());
        }
    }
    fds
}

/// Puts /dev/null where the socket `fd` was: the owner's next send fails (ENOTSOCK) as if the
/// socket had been lost.
pub fn break_socket(fd: i32) {
    let null = File::open("/dev/null").unwrap();
    nix::unistd::dup2(null.as_raw_fd(), fd).unwrap();
}
