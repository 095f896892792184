//! Live capture through libpcap (the `pcap` crate). One capture feeds one worker.

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{CaptureError, Frame};
use crate::decode::LinkType;

/// Counters the kernel (AF_PACKET) or libpcap keeps for a live capture.
#[derive(Debug, Default, Clone, Copy)]
pub struct LiveStats {
    /// Every packet the capture's sockets took, dropped ones included.
    pub received: u32,
    /// Packets lost because a ring (or libpcap's buffer) was full.
    pub dropped: u32,
    pub if_dropped: u32,
    /// The share of `received` and `dropped` that went to the AF_PACKET ring of bare TCP SYNs
    /// (see [`super::ring::RingCapture`]); 0 with libpcap.
    pub syn_received: u32,
    pub syn_dropped: u32,
}

/// What a live capture hands its consumer.
#[derive(Debug)]
pub enum LiveEvent<'a> {
    Frame(Frame<'a>),
    /// Nothing to read for a while (or 1024 frames went by): time for periodic work. Carries
    /// libpcap's counters.
    Idle(LiveStats),
}

/// An open live capture on one interface.
pub struct LiveCapture {
    iface: String,
    capture: pcap::Capture<pcap::Active>,
    link: LinkType,
}

impl LiveCapture {
    /// Open `iface` in promiscuous, immediate mode with an optional BPF filter.
    pub fn open(iface: &str, filter: Option<&str>) -> Result<Self, CaptureError> {
        let live = |e: pcap::Error| CaptureError::Live { iface: iface.to_string(), message: e.to_string() };
        let mut capture = pcap::Capture::from_device(iface)
            .map_err(live)?
            .promisc(true)
            .snaplen(65535)
            .immediate_mode(true)
            .buffer_size(8 << 20)
            .timeout(100)
            .open()
            .map_err(live)?
            // Non-blocking plus poll(2) below: in immediate mode libpcap's read timeout does not
            // fire on a quiet interface, so a blocking read would never see `stop`.
            .setnonblock()
            .map_err(live)?;
        if let Some(filter) = filter {
            capture
                .filter(filter, true)
                .map_err(|e| CaptureError::Filter { expr: filter.to_string(), message: e.to_string() })?;
        }
        let link = LinkType::from_linktype(capture.get_datalink().0 as u32);
        Ok(LiveCapture { iface: iface.to_string(), capture, link })
    }

    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// Hand frames to `on_event` until `stop` is set. [`LiveEvent::Idle`] comes at least every
    /// 100 ms (and every 1024 frames) so the caller can expire flows and pick up configuration
    /// changes when traffic is quiet.
    pub fn run(&mut self, stop: &AtomicBool, mut on_event: impl FnMut(LiveEvent<'_>)) -> Result<(), CaptureError> {
        let mut since_idle = 0u32;
        while !stop.load(Ordering::Relaxed) {
            match self.capture.next_packet() {
                Ok(packet) => {
                    let ts = packet.header.ts;
                    let timestamp =
                        Duration::new(ts.tv_sec.max(0) as u64, (ts.tv_usec.max(0) as u32).saturating_mul(1000));
                    on_event(LiveEvent::Frame(Frame {
                        link: self.link,
                        timestamp,
                        data: packet.data,
                        wire_len: packet.header.len,
                        vlan: None,
                    }));
                    since_idle += 1;
                    if since_idle >= 1024 {
                        since_idle = 0;
                        let stats = self.stats();
                        on_event(LiveEvent::Idle(stats));
                    }
                }
                // Nothing buffered: wait for the socket to become readable, at most 100 ms.
                Err(pcap::Error::TimeoutExpired) => {
                    since_idle = 0;
                    super::wait_readable(self.capture.as_fd(), None, &self.iface)?;
                    let stats = self.stats();
                    on_event(LiveEvent::Idle(stats));
                }
                Err(e) => return Err(CaptureError::Live { iface: self.iface.clone(), message: e.to_string() }),
            }
        }
        Ok(())
    }

    pub fn stats(&mut self) -> LiveStats {
        self.capture
            .stats()
            .map(|s| LiveStats {
                received: s.received,
                dropped: s.dropped,
                if_dropped: s.if_dropped,
                ..LiveStats::default()
            })
            .unwrap_or_default()
    }
}
