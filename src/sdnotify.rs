//! systemd's readiness protocol (`Type=notify`): one datagram of `KEY=VALUE` lines sent to the
//! `AF_UNIX` socket named by `$NOTIFY_SOCKET`. A name starting with `@` is an abstract socket
//! (the `@` stands for the leading NUL byte). Without `$NOTIFY_SOCKET` (not started by
//! systemd) every call does nothing.
//!
//! States sent by `flowsieve run`: `READY=1` once every capture socket is open and the targets
//! are set up; `RELOADING=1` with `MONOTONIC_USEC=` when a SIGHUP reload starts and `READY=1`
//! when it is done (systemd ≥ 253 uses this for `Type=notify-reload`, older versions accept
//! and ignore it); `STOPPING=1` on shutdown.

use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Where notifications go, read once from `$NOTIFY_SOCKET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyTarget {
    /// A socket file.
    Path(std::path::PathBuf),
    /// An abstract socket name (without the leading NUL).
    Abstract(Vec<u8>),
}

impl NotifyTarget {
    /// Parse `$NOTIFY_SOCKET`'s value; `None` for an empty value or one systemd would not
    /// send (neither an absolute path nor `@name`).
    pub fn parse(value: &std::ffi::OsStr) -> Option<NotifyTarget> {
        use std::os::unix::ffi::OsStrExt;
        let bytes = value.as_bytes();
        match bytes.first()? {
            b'@' if bytes.len() > 1 => Some(NotifyTarget::Abstract(bytes[1..].to_vec())),
            b'/' => Some(NotifyTarget::Path(value.into())),
            _ => None,
        }
    }

    fn address(&self) -> std::io::Result<SocketAddr> {
        match self {
            NotifyTarget::Path(p) => SocketAddr::from_pathname(p),
            NotifyTarget::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name)
            }
        }
    }
}

/// The notifier of this process: `$NOTIFY_SOCKET` when set, else a no-op.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    target: Option<NotifyTarget>,
}

impl Notifier {
    /// From the environment. An unusable value is logged and treated as unset.
    pub fn from_env() -> Notifier {
        let Some(value) = std::env::var_os("NOTIFY_SOCKET") else {
            return Notifier::default();
        };
        let target = NotifyTarget::parse(&value);
        if target.is_none() {
            tracing::warn!(value = ?value, "NOTIFY_SOCKET is neither a path nor an @abstract name; not notifying systemd");
        }
        Notifier { target }
    }

    /// A notifier sending to `target` (tests).
    pub fn to(target: NotifyTarget) -> Notifier {
        Notifier { target: Some(target) }
    }

    /// Whether notifications go anywhere.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Send `state` (newline-separated `KEY=VALUE` lines). Does nothing without a target.
    pub fn send(&self, state: &str) -> std::io::Result<()> {
        let Some(target) = &self.target else {
            return Ok(());
        };
        let socket = UnixDatagram::unbound()?;
        socket.send_to_addr(state.as_bytes(), &target.address()?)?;
        Ok(())
    }

    /// Send `state`, logging (not failing) when systemd cannot be reached: the agent works on.
    fn send_logged(&self, state: &str) {
        if let Err(e) = self.send(state) {
            tracing::warn!("notifying systemd ({}): {e}", state.lines().next().unwrap_or_default());
        }
    }

    /// Startup or reload finished.
    pub fn ready(&self) {
        self.send_logged("READY=1");
    }

    /// A reload starts now.
    pub fn reloading(&self) {
        if self.enabled() {
            self.send_logged(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
        }
    }

    /// Shutting down.
    pub fn stopping(&self) {
        self.send_logged("STOPPING=1");
    }
}

/// CLOCK_MONOTONIC in microseconds, the clock systemd compares `MONOTONIC_USEC` with.
pub fn monotonic_usec() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| (t.tv_sec() as u64).saturating_mul(1_000_000).saturating_add(t.tv_nsec() as u64 / 1000))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::time::Duration;

    #[test]
    fn parses_paths_and_abstract_names() {
        assert_eq!(
            NotifyTarget::parse(OsStr::new("/run/systemd/notify")),
            Some(NotifyTarget::Path("/run/systemd/notify".into()))
        );
        assert_eq!(NotifyTarget::parse(OsStr::new("@/org/sd")), Some(NotifyTarget::Abstract(b"/org/sd".to_vec())));
        assert_eq!(NotifyTarget::parse(OsStr::new("")), None);
        assert_eq!(NotifyTarget::parse(OsStr::new("@")), None);
        assert_eq!(NotifyTarget::parse(OsStr::new("relative/sock")), None);
    }

    fn receive(socket: &UnixDatagram) -> String {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("flowsieve-sdnotify-test-{}", std::process::id());
        let listener = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
        listener.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = Notifier::to(NotifyTarget::parse(OsStr::new(&format!("@{name}"))).unwrap());
        n.ready();
        assert_eq!(receive(&listener), "READY=1");
        let before = monotonic_usec();
        n.reloading();
        let msg = receive(&listener);
        let usec: u64 = msg.strip_prefix("RELOADING=1\nMONOTONIC_USEC=").expect(&msg).parse().unwrap();
        assert!(usec >= before && usec <= monotonic_usec(), "{usec} not between {before} and now");
        n.stopping();
        assert_eq!(receive(&listener), "STOPPING=1");
    }

    #[test]
    fn sends_to_a_socket_file() {
        let dir = std::env::temp_dir().join(format!("flowsieve-sdnotify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        listener.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Notifier::to(NotifyTarget::Path(path.clone())).ready();
        assert_eq!(receive(&listener), "READY=1");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unset_does_nothing_and_a_missing_socket_is_an_error() {
        let n = Notifier::default();
        assert!(!n.enabled());
        n.send("READY=1").unwrap();
        let missing = Notifier::to(NotifyTarget::Path("/nonexistent/flowsieve/notify".into()));
        assert!(missing.send("READY=1").is_err());
    }
}
