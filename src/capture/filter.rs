//! BPF filters in tcpdump syntax, compiled by libpcap (through the `pcap` crate).
//!
//! Live, the compiled program runs in the kernel: attached to each AF_PACKET ring socket
//! ([`super::ring`]) or set by libpcap (`--capture pcap`). In replay it runs in userspace, one
//! program per link type the captures use.

use super::{CaptureError, Frame};
use crate::decode::LinkType;

/// The libpcap DLT number to compile for a link type.
fn dlt(link: LinkType) -> i32 {
    match link {
        LinkType::Null => 0,
        LinkType::Ethernet => 1,
        LinkType::RawIp => 12,
        LinkType::LinuxSll => 113,
        LinkType::LinuxSll2 => 276,
        // 9 and 50 both read as `Ppp`; libpcap's DLT_PPP code accepts frames with or without
        // the `ff 03` address/control bytes.
        LinkType::Ppp => 9,
        LinkType::PppOverEthernet => 51,
        LinkType::CiscoHdlc => 104,
        LinkType::Other(n) => n as i32,
    }
}

/// Compile `expr` for frames of `link`. The error names the expression and says what libpcap
/// found wrong with it.
pub fn compile(expr: &str, link: LinkType) -> Result<pcap::BpfProgram, CaptureError> {
    let bad = |message: String| CaptureError::Filter { expr: expr.to_string(), message };
    let dead = pcap::Capture::dead(pcap::Linktype(dlt(link))).map_err(|e| bad(e.to_string()))?;
    dead.compile(expr, true).map_err(|e| bad(e.to_string()))
}

/// A filter for replay: frames it rejects are skipped before decoding.
pub struct ReplayFilter {
    expr: String,
    /// Programs by link type, compiled when a capture of that type first shows up; `None`
    /// when libpcap cannot compile the expression for it (its frames are all skipped).
    programs: Vec<(LinkType, Option<pcap::BpfProgram>)>,
}

impl ReplayFilter {
    /// Check `expr` now (compiled for Ethernet) so a bad expression fails before any output.
    pub fn new(expr: &str) -> Result<ReplayFilter, CaptureError> {
        let ethernet = compile(expr, LinkType::Ethernet)?;
        Ok(ReplayFilter { expr: expr.to_string(), programs: vec![(LinkType::Ethernet, Some(ethernet))] })
    }

    /// Whether the filter keeps `frame`.
    pub fn matches(&mut self, frame: &Frame<'_>) -> bool {
        let index = match self.programs.iter().position(|(link, _)| *link == frame.link) {
            Some(i) => i,
            None => {
                let program = match compile(&self.expr, frame.link) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        tracing::warn!("{e} (link type {:?}): its frames are skipped", frame.link);
                        None
                    }
                };
                self.programs.push((frame.link, program));
                self.programs.len() - 1
            }
        };
        self.programs[index].1.as_ref().is_some_and(|p| p.filter(frame.data))
    }
}
