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

/// Bare TCP SYNs: SYN set, ACK clear, no payload, over IPv4 (first fragment) or IPv6 without
/// extension headers. What a SYN flood sends; a connection sends one (or a few retries) of them.
/// libpcap's `tcp[]` reads IPv4 only, so IPv6 is read at fixed offsets (TCP at 40).
pub const BARE_SYNS: &str = "(ip and tcp and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn \
     and ip[2:2] == ((ip[0] & 0xf) << 2) + ((tcp[12] & 0xf0) >> 2)) \
     or (ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02 and ip6[4:2] == ((ip6[52] & 0xf0) >> 2))";

/// The filters of a live capture's two rings ([`super::ring::RingCapture`]): (data ring, SYN
/// ring). With the user's `filter`, each takes its share of what that filter keeps; every
/// packet goes to exactly one of them.
pub fn split_bare_syns(filter: Option<&str>) -> (String, String) {
    match filter {
        Some(user) => (format!("({user}) and not ({BARE_SYNS})"), format!("({user}) and ({BARE_SYNS})")),
        None => (format!("not ({BARE_SYNS})"), BARE_SYNS.to_string()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet frame: IPv4 (`v6` false) or IPv6 with TCP `flags` and `payload` bytes, or
    /// UDP when `flags` is `None`.
    fn frame(v6: bool, flags: Option<u8>, payload: usize) -> Vec<u8> {
        let mut l4 = match flags {
            // TCP with 20 bytes of options (data offset 10 words), as a Linux SYN has.
            Some(f) => {
                let mut t = vec![0xc3, 0x50, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, f, 0xff, 0xff, 0, 0, 0, 0];
                t.extend([1u8; 20]);
                t
            }
            None => vec![0x9c, 0x40, 0, 53, 0, 8, 0, 0],
        };
        l4.extend(std::iter::repeat_n(0x42, payload));
        let proto = if flags.is_some() { 6 } else { 17 };
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        if v6 {
            f.extend([0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend((l4.len() as u16).to_be_bytes());
            f.extend([proto, 64]);
            f.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[1]));
            f.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain(&[0; 11]).chain(&[2]));
        } else {
            f.extend([0x08, 0x00, 0x45, 0]);
            f.extend(((20 + l4.len()) as u16).to_be_bytes());
            f.extend([0, 1, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2]);
        }
        f.extend(l4);
        // Ethernet pads short frames to 60 bytes; the IP length does not count the padding.
        f.resize(f.len().max(60), 0);
        f
    }

    #[test]
    fn bare_syns_and_everything_else_go_to_one_ring_each() {
        const SYN: u8 = 0x02;
        const ACK: u8 = 0x10;
        let (data, syn) = split_bare_syns(None);
        let (data, syn) = (compile(&data, LinkType::Ethernet).unwrap(), compile(&syn, LinkType::Ethernet).unwrap());
        for v6 in [false, true] {
            for (flags, payload, bare_syn) in [
                (Some(SYN), 0, true),
                (Some(SYN | 0x40 | 0x80), 0, true), // ECN setup bits (RFC 3168) keep it a SYN
                (Some(SYN | ACK), 0, false),
                (Some(SYN), 10, false), // TCP Fast Open: the payload goes with the data
                (Some(ACK), 0, false),
                (Some(ACK | 0x08), 100, false),
                (Some(0x04), 0, false),
                (None, 20, false),
            ] {
                let f = frame(v6, flags, payload);
                let what = format!("IPv{} flags {flags:?} payload {payload}", if v6 { 6 } else { 4 });
                assert_eq!(syn.filter(&f), bare_syn, "SYN ring: {what}");
                assert_eq!(data.filter(&f), !bare_syn, "data ring: {what}");
            }
        }
        let arp = [[0xff; 6].as_slice(), &[2, 0, 0, 0, 0, 1, 0x08, 0x06], &[0; 28]].concat();
        assert!(data.filter(&arp) && !syn.filter(&arp), "not IP: the data ring");
    }

    #[test]
    fn a_user_filter_is_shared_out_between_the_rings() {
        let (data, syn) = split_bare_syns(Some("ip6"));
        let (data, syn) = (compile(&data, LinkType::Ethernet).unwrap(), compile(&syn, LinkType::Ethernet).unwrap());
        assert!(syn.filter(&frame(true, Some(0x02), 0)) && !data.filter(&frame(true, Some(0x02), 0)));
        assert!(data.filter(&frame(true, Some(0x10), 0)) && !syn.filter(&frame(true, Some(0x10), 0)));
        for f in [frame(false, Some(0x02), 0), frame(false, Some(0x10), 0)] {
            assert!(!data.filter(&f) && !syn.filter(&f), "what the user's filter drops goes nowhere");
        }
    }
}
