//! One agent per control socket and, within a network namespace, per nftables table and ipset
//! set it manages: each is an exclusive `flock` on a lock file holding the owner's PID. A second
//! agent on the same socket or table exits at start naming the running one, before it changes
//! anything.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use nix::fcntl::{Flock, FlockArg};

use crate::actions::config::TargetSpec;

/// Where per-namespace lock files go.
fn lock_dir() -> PathBuf {
    let run = Path::new("/run/lock");
    if run.is_dir() {
        run.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// A file-name-safe form of `what`: short names as they are, the rest hashed.
fn file_part(what: &str) -> String {
    let safe = what.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if safe && what.len() <= 64 && !what.starts_with('.') {
        what.to_string()
    } else {
        // FNV-1a: stable across runs (the lock must be found by the next agent).
        let hash = what.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        format!("h{hash:016x}")
    }
}

/// The lock files for a configuration: the control socket's, and one per nftables table and
/// ipset set in this network namespace.
pub fn lock_paths(control_socket: Option<&Path>, targets: &[TargetSpec]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(socket) = control_socket {
        let mut name = socket.as_os_str().to_owned();
        name.push(".lock");
        paths.push(PathBuf::from(name));
    }
    let netns = std::fs::metadata("/proc/self/ns/net").map(|m| m.ino()).unwrap_or(0);
    let dir = lock_dir();
    for spec in targets {
        let object = match spec {
            TargetSpec::NftSet(c) => format!("nft-{}-{}", c.table_family, file_part(&c.table_name)),
            TargetSpec::Ipset(c) => format!("ipset-{}", file_part(&c.set_name)),
            _ => continue,
        };
        let path = dir.join(format!("flowsieve-net{netns}-{object}.lock"));
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

/// The held locks; released when dropped (or when the process ends).
pub struct InstanceLock {
    _locks: Vec<Flock<File>>,
}

impl InstanceLock {
    /// Take every lock, or fail naming the agent holding one.
    pub fn acquire(paths: &[PathBuf]) -> anyhow::Result<InstanceLock> {
        let mut locks = Vec::new();
        for path in paths {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(crate::enforce::files::FILE_MODE)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
                .with_context(|| format!("opening lock file {}", path.display()))?;
            let meta = file.metadata().with_context(|| format!("lock file {}", path.display()))?;
            if !meta.file_type().is_file() || meta.uid() != nix::unistd::geteuid().as_raw() {
                bail!("lock file {}: not a regular file of flowsieve's user; refusing to use it", path.display());
            }
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(mut lock) => {
                    let _ = lock.set_len(0);
                    let _ = lock.rewind();
                    let _ = writeln!(lock, "{}", std::process::id());
                    locks.push(lock);
                }
                Err((mut file, errno)) => {
                    let mut pid = String::new();
                    let _ = file.read_to_string(&mut pid);
                    if errno == nix::errno::Errno::EWOULDBLOCK {
                        bail!(
                            "another flowsieve (PID {}) is running on the same {} (lock {})",
                            pid.trim(),
                            what(path),
                            path.display()
                        );
                    }
                    bail!("locking {}: {errno}", path.display());
                }
            }
        }
        Ok(InstanceLock { _locks: locks })
    }
}

fn what(path: &Path) -> &'static str {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if name.contains("-nft-") {
        "nftables table"
    } else if name.contains("-ipset-") {
        "ipset set"
    } else {
        "control socket"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = std::env::temp_dir().join(format!("flowsieve-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let paths = lock_paths(Some(&dir.join("fs.sock")), &[]);
        let held = InstanceLock::acquire(&paths).unwrap();
        let err = InstanceLock::acquire(&paths).err().unwrap().to_string();
        assert!(err.contains(&format!("PID {}", std::process::id())) && err.contains("control socket"), "{err}");
        drop(held);
        InstanceLock::acquire(&paths).unwrap();
        assert_eq!(file_part("netify"), "netify");
        assert!(file_part("../x").starts_with('h'));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
