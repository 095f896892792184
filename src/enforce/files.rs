//! Output files written as root into directories other users may write to (the `log` target's
//! default is `/tmp`): never through a symbolic link, never into a file flowsieve did not create.
//!
//! - A new file is created with `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0640: a planted link or file
//!   at that name makes the creation fail instead of being followed or written into.
//! - A finished file is published with `link(2)`, which refuses an existing name (a link
//!   included) rather than replacing it, then the temporary name is removed.
//! - A file appended to across restarts (the sink's JSON lines) is opened with `O_NOFOLLOW` and
//!   accepted only when it is a regular file with one link, owned by flowsieve's user, writable
//!   by no one else.
//! - flowsieve's own state (instance locks, ipset ownership records) lives in [`run_dir`], which
//!   only root can have made, never in a directory other users may write to.

use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Mode of every file flowsieve creates: owner read-write, group read, others nothing.
pub const FILE_MODE: u32 = 0o640;

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Create `path`, which must not exist (a symbolic link there counts as existing).
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).custom_flags(libc::O_NOFOLLOW).open(path)
}

/// A temporary name beside `path` no other user can guess: `.NAME.PID.N.RANDOM.tmp`.
pub fn temporary_name(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut random = std::collections::hash_map::RandomState::new().build_hasher();
    random.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(
        ".{name}.{}.{}.{:016x}.tmp",
        std::process::id(),
        COUNTER.load(Ordering::Relaxed),
        random.finish()
    ))
}

/// Write a whole file at `path` through a temporary name, so readers never see half of it.
/// Fails with `AlreadyExists` when something (a file, a link) already has that name: it is left
/// as it is.
pub fn publish(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    let tmp = temporary_name(path);
    let result = (|| {
        let mut file = create_new(&tmp)?;
        write(&mut file)?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Open `path` for appending, creating it (mode 0640) when missing. An existing file must be a
/// regular file with one link, owned by this process's user and not writable by others.
pub fn open_append(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.file_type().is_file() {
        return Err(invalid("not a regular file; refusing to write into it".into()));
    }
    if meta.uid() != me {
        return Err(invalid(format!(
            "owned by uid {}, not by flowsieve (uid {me}); refusing to write into it",
            meta.uid()
        )));
    }
    if meta.nlink() != 1 {
        return Err(invalid(format!("has {} hard links; refusing to write into it", meta.nlink())));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(invalid(format!(
            "mode {:o} lets other users write it; refusing to write into it",
            meta.mode() & 0o7777
        )));
    }
    Ok(file)
}

/// flowsieve's run-time directory: instance locks and the records of the ipsets it created
/// (docs/ARCHITECTURE.md, "Ownership and instances"). `/run/flowsieve` (systemd's
/// `RuntimeDirectory`), else `/var/run/flowsieve`, made 0755 when missing: only root can create
/// a name in `/run`, so whoever owns it was given it by root; it must not be a link nor writable
/// by group or others. When neither can be used (no `/run`, or a non-root agent that cannot
/// create it), a directory of this user's own under the temporary directory, `flowsieve-UID`
/// (0700, refused when someone else made it).
pub fn run_dir() -> io::Result<PathBuf> {
    for (parent, dir) in [("/run", "/run/flowsieve"), ("/var/run", "/var/run/flowsieve")] {
        if !Path::new(parent).is_dir() {
            continue;
        }
        let dir = PathBuf::from(dir);
        let _ = std::fs::DirBuilder::new().mode(0o755).create(&dir);
        if let Ok(meta) = std::fs::symlink_metadata(&dir) {
            if meta.is_dir() && meta.mode() & 0o022 == 0 {
                return Ok(dir);
            }
        }
    }
    private_dir(&std::env::temp_dir(), &format!("flowsieve-{}", nix::unistd::geteuid()))
}

/// `parent/name`, a directory of this process's user only (0700), made when missing; one that
/// is a link, someone else's, or open to group or others is refused.
pub fn private_dir(parent: &Path, name: &str) -> io::Result<PathBuf> {
    let dir = parent.join(name);
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(invalid(format!(
            "{} is not a directory of flowsieve's user (uid {me}) closed to others; refusing to use it",
            dir.display()
        )));
    }
    Ok(dir)
}

/// A file-name-safe form of `what`: short names of letters, digits, `-`, `_` and `.` as they
/// are, anything else hashed (FNV-1a, stable across runs: the next agent must find the file).
pub fn file_part(what: &str) -> String {
    let safe = what.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if safe && what.len() <= 64 && !what.starts_with('.') {
        what.to_string()
    } else {
        let hash = what.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        format!("h{hash:016x}")
    }
}

/// Reads a small file flowsieve wrote: not through a link, a regular file of this user's,
/// at most `limit` bytes. `Ok(None)` when there is none.
pub fn read_own(path: &Path, limit: u64) -> io::Result<Option<String>> {
    let file = match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.file_type().is_file() || meta.uid() != nix::unistd::geteuid().as_raw() || meta.len() > limit {
        return Err(invalid(format!("{}: not a small regular file of flowsieve's user", path.display())));
    }
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(file, limit), &mut text)?;
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("flowsieve-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn publish_never_follows_or_replaces_a_planted_link_or_file() {
        let dir = dir("publish");
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let target = dir.join("log-1.json");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        let err = publish(&target, |f| io::Write::write_all(f, b"{}")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let fresh = dir.join("log-2.json");
        publish(&fresh, |f| io::Write::write_all(f, b"{}")).unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "{}");
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o640);
        // Only the victim, the link and the new file: no temporary left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn append_refuses_links_and_files_others_can_write() {
        let dir = dir("append");
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.join("sink.jsonl");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(open_append(&link).is_err(), "followed a link");
        let open = dir.join("open.jsonl");
        std::fs::write(&open, "").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(open_append(&open).is_err(), "wrote into a world-writable file");
        let hard = dir.join("hard.jsonl");
        std::fs::hard_link(&victim, &hard).unwrap();
        assert!(open_append(&hard).is_err(), "wrote into a hard link");
        let fresh = dir.join("fresh.jsonl");
        open_append(&fresh).unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_private_dir_someone_opened_or_linked_is_refused() {
        let dir = dir("private");
        let made = private_dir(&dir, "mine").unwrap();
        assert_eq!(std::fs::metadata(&made).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::create_dir(dir.join("open")).unwrap();
        std::fs::set_permissions(dir.join("open"), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(private_dir(&dir, "open").is_err(), "a world-writable directory was used");
        std::os::unix::fs::symlink(&made, dir.join("link")).unwrap();
        assert!(private_dir(&dir, "link").is_err(), "a link was followed");
        std::fs::write(made.join("record"), "x").unwrap();
        assert_eq!(read_own(&made.join("record"), 16).unwrap().as_deref(), Some("x"));
        assert_eq!(read_own(&made.join("none"), 16).unwrap(), None);
        assert!(read_own(&made.join("record"), 0).is_err(), "over the limit");
        std::os::unix::fs::symlink(made.join("record"), made.join("linked")).unwrap();
        assert!(read_own(&made.join("linked"), 16).is_err(), "read through a link");
        assert_eq!(file_part("netify"), "netify");
        assert!(file_part("../x").starts_with('h'));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
