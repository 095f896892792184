//! Packet sources behind one shape: each hands frames to a callback as [`Frame`]s.
//!
//! - [`file`]: pcap and pcapng files (pure Rust reader).
//! - [`live`]: live capture through libpcap. The AF_PACKET ring with fanout comes later; its
//!   boundary is the same (one source feeding one worker's flow table).

pub mod file;
pub mod live;

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
}
