//! Throw-away network namespaces for tests that touch the real kernel.
//!
//! `NetNs::new` creates a named namespace with `ip netns add`; dropping the guard deletes it
//! (also when the test panics), so nothing a test does (nftables tables, interfaces, conntrack)
//! reaches the host.
#![allow(dead_code)] // each test binary uses a different part of it

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::ThreadId;

use nix::sched::{setns, CloneFlags};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A named network namespace that lives as long as the guard.
#[derive(Debug)]
pub struct NetNs {
    name: String,
    /// The thread we moved into the namespace and the namespace it came from.
    entered: Option<(ThreadId, OwnedFd)>,
}

impl NetNs {
    /// `ip netns add <prefix>-<pid>-<n>`, with loopback up. Panics when that fails.
    pub fn new(prefix: &str) -> NetNs {
        NetNs::try_new(prefix).unwrap_or_else(|e| panic!("creating a network namespace: {e}"))
    }

    /// Like [`new`](Self::new), returning the failure.
    pub fn try_new(prefix: &str) -> io::Result<NetNs> {
        let name = format!("{prefix}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let out = Command::new("ip").args(["netns", "add", &name]).output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "ip netns add {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let ns = NetNs { name, entered: None };
        ns.exec("ip", &["link", "set", "lo", "up"]);
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `cmd args…` inside the namespace (`ip netns exec`).
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, cmd])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec {} {cmd}: {e}", self.name))
    }

    /// Like [`exec`](Self::exec), but panics unless the command succeeds; returns its stdout.
    pub fn exec_ok(&self, cmd: &str, args: &[&str]) -> String {
        let out = self.exec(cmd, args);
        assert!(
            out.status.success(),
            "{cmd} {args:?} in {} failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Moves the calling thread (only it) into the namespace; sockets it opens from now on
    /// belong there. Dropping the guard on the same thread moves it back.
    pub fn enter_current_thread(&mut self) -> io::Result<()> {
        let original = File::open("/proc/thread-self/ns/net")?;
        let target = File::open(format!("/run/netns/{}", self.name))?;
        setns(&target, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        if self.entered.is_none() {
            self.entered = Some((std::thread::current().id(), OwnedFd::from(original)));
        }
        Ok(())
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if let Some((thread, original)) = self.entered.take() {
            if thread == std::thread::current().id() {
                let _ = setns(&original, CloneFlags::CLONE_NEWNET);
            }
        }
        // The lock files of agents that ran in this namespace and the records of the ipsets
        // flowsieve created in it go with it (both are named after its inode; see
        // docs/ARCHITECTURE.md, "Ownership and instances").
        let inode = std::fs::metadata(format!("/run/netns/{}", self.name)).map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.ino()
        });
        if let Ok(inode) = inode {
            for (dir, prefix) in [
                ("/run/flowsieve/ipset-owners", format!("net{inode}-")),
                ("/run/flowsieve", format!("flowsieve-net{inode}-")),
            ] {
                for file in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    if file.file_name().to_string_lossy().starts_with(&prefix) {
                        let _ = std::fs::remove_file(file.path());
                    }
                }
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

/// Why kernel tests cannot run here, if they cannot: not root, or a tool is missing. Under CI
/// (`CI` set) that is a failure, not a reason to skip.
pub fn kernel_tests_unavailable(tools: &[&str]) -> Option<String> {
    let why = missing_prerequisite(tools)?;
    if std::env::var_os("CI").is_some() {
        panic!("kernel test cannot run under CI: {why}");
    }
    Some(why)
}

fn missing_prerequisite(tools: &[&str]) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u32>().ok());
    if euid != Some(0) {
        return Some("not running as root".into());
    }
    for tool in tools {
        let found = Command::new(tool)
            .arg(if *tool == "ip" { "-V" } else { "--version" })
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    None
}
