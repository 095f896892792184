//! Packet sources behind one shape: each hands frames to a callback as [`Frame`]s.
//!
//! - [`file`]: pcap and pcapng files (pure Rust reader).
//! - [`ring`]: live capture on AF_PACKET TPACKET_V2 or V3 rings, two per worker (bare TCP SYNs
//!   apart from everything else), fanned out by flow hash (the default).
//! - [`live`]: live capture through libpcap (`--capture pcap`).
//! - [`nfqueue`]: packets queued by the firewall (NFQUEUE over netlink), with verdicts.
//! - [`filter`]: BPF filters (tcpdump syntax) compiled by libpcap.

pub mod file;
pub mod filter;
pub mod live;
pub mod nfqueue;
pub mod ring;

use std::time::Duration;

use crate::decode::LinkType;

/// One captured frame, borrowed from the source's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub link: LinkType,
    /// Capture time since the Unix epoch.
    pub timestamp: Duration,
    pub data: &'a [u8],
    /// Length on the wire (the frame may have been cut by the snap length).
    pub wire_len: u32,
    /// A VLAN tag the NIC or kernel removed from the frame (AF_PACKET metadata).
    pub vlan: Option<u16>,
}

/// A capture could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng file ({reason})")]
    Format { path: String, reason: String },
    #[error("{iface}: {message}")]
    Live { iface: String, message: String },
    #[error("bad filter expression '{expr}': {message}")]
    Filter { expr: String, message: String },
}

/// Wait until `fd` (or `also`, a second socket of the same capture) is readable, at most
/// 100 ms: the idle tick of live sources. EINTR is not an error (a signal arrived; the caller
/// checks its stop flag).
pub(crate) fn wait_readable(
    fd: std::os::fd::BorrowedFd<'_>,
    also: Option<std::os::fd::BorrowedFd<'_>>,
    iface: &str,
) -> Result<(), CaptureError> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let flags = PollFlags::POLLIN | PollFlags::POLLERR;
    let mut fds = [PollFd::new(fd, flags), PollFd::new(also.unwrap_or(fd), flags)];
    let count = if also.is_some() { 2 } else { 1 };
    match poll(&mut fds[..count], PollTimeout::from(100u8)) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(CaptureError::Live { iface: iface.to_string(), message: format!("poll: {e}") }),
    }
}
