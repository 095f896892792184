//! One agent per control socket and, within a network namespace, per nftables table and ipset
//! set it manages: each is an exclusive `flock` on a lock file holding the owner's PID. A second
//! agent on the same socket or table exits at start naming the running one, before it changes
//! anything. A reload (SIGHUP) that adds a table or set takes its lock first, and is refused
//! whole when another agent holds it; the locks of tables it removed are let go.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use nix::fcntl::{Flock, FlockArg};

use crate::actions::config::TargetSpec;

use crate::enforce::files::file_part;

/// The lock files for a configuration: the control socket's, and one per nftables table and
/// ipset set in this network namespace (in [`run_dir`](crate::enforce::files::run_dir), which
/// only root can have made: a lock file planted by another user cannot stop the agent).
pub fn lock_paths(control_socket: Option<&Path>, targets: &[TargetSpec]) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    if let Some(socket) = control_socket {
        let mut name = socket.as_os_str().to_owned();
        name.push(".lock");
        paths.push(PathBuf::from(name));
    }
    let netns = std::fs::metadata("/proc/self/ns/net").map(|m| m.ino()).unwrap_or(0);
    let mut dir = None;
    for spec in targets {
        let object = match spec {
            TargetSpec::NftSet(c) => format!("nft-{}-{}", c.table_family, file_part(&c.table_name)),
            TargetSpec::Ipset(c) => format!("ipset-{}", file_part(&c.set_name)),
            _ => continue,
        };
        let dir = match &dir {
            Some(dir) => dir,
            None => dir
                .insert(crate::enforce::files::run_dir().context("flowsieve's run-time directory for its lock files")?),
        };
        let path = dir.join(format!("flowsieve-net{netns}-{object}.lock"));
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    Ok(paths)
}

/// The held locks, each with its path; released when dropped (or when the process ends).
pub struct InstanceLock {
    locks: Vec<(PathBuf, Flock<File>)>,
}

impl InstanceLock {
    /// Take every lock, or fail naming the agent holding one.
    pub fn acquire(paths: &[PathBuf]) -> anyhow::Result<InstanceLock> {
        let mut held = InstanceLock { locks: Vec::new() };
        held.take_more(paths)?;
        Ok(held)
    }

    /// Take the locks of `paths` not held yet, all or none: when one is held by another agent
    /// (or cannot be taken), those just taken are released and the error names the holder.
    /// A reload adding a table or set takes its lock this way before anything is changed.
    pub fn take_more(&mut self, paths: &[PathBuf]) -> anyhow::Result<()> {
        let before = self.locks.len();
        for path in paths {
            if self.locks.iter().any(|(p, _)| p == path) {
                continue;
            }
            match take(path) {
                Ok(lock) => self.locks.push((path.clone(), lock)),
                Err(e) => {
                    self.locks.truncate(before);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Release every lock not in `paths` (a reload removed its table, or was refused).
    pub fn keep_only(&mut self, paths: &[PathBuf]) {
        self.locks.retain(|(p, _)| paths.contains(p));
    }

    /// The paths of the locks held.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.locks.iter().map(|(p, _)| p.clone()).collect()
    }
}

/// Takes one lock, writing this process's PID into its file.
fn take(path: &Path) -> anyhow::Result<Flock<File>> {
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
            Ok(lock)
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
        let paths = lock_paths(Some(&dir.join("fs.sock")), &[]).unwrap();
        let held = InstanceLock::acquire(&paths).unwrap();
        let err = InstanceLock::acquire(&paths).err().unwrap().to_string();
        assert!(err.contains(&format!("PID {}", std::process::id())) && err.contains("control socket"), "{err}");
        drop(held);
        let mut first = InstanceLock::acquire(&paths).unwrap();
        // More locks, all or none: one held elsewhere releases the ones just taken.
        let [a, b] = [dir.join("a.lock"), dir.join("b.lock")];
        let other = InstanceLock::acquire(std::slice::from_ref(&b)).unwrap();
        assert!(first.take_more(&[a.clone(), b.clone()]).is_err());
        assert_eq!(first.paths(), paths, "the lock on a was let go again");
        InstanceLock::acquire(std::slice::from_ref(&a)).unwrap();
        drop(other);
        first.take_more(&[a.clone(), b.clone()]).unwrap();
        first.keep_only(&paths);
        InstanceLock::acquire(&[a, b]).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
