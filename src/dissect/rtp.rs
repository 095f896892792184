//! RTP dissector (RFC 3550 §5.1) over UDP, and its control protocol RTCP (RFC 3550 §6.4).
//!
//! An RTP header is 12 bytes: version 2, a payload type, a sequence number, a timestamp and the
//! sender's SSRC. One header alone proves little (any datagram starting with 0x80 looks like
//! one), so the probe only shortlists the flow and the parse confirms it, as nDPI does before
//! naming a flow RTP: a later packet in the same direction must carry the same SSRC and a
//! sequence number a few steps ahead. A flow that fails that is handed back unnamed, and gets
//! its ports' guess like any flow no dissector claimed.
//!
//! RTCP packets (RFC 3550 §12.1: packet types 200–204, which read as RTP payload types 72–76
//! with the marker bit) name the flow RTCP, as nDPI's corpus truth does, once two of them agree.
//! Ports below 1024 and Ethereum's 30303 are never RTP (nDPI skips them too).

use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment};
use crate::flow::facts::FlowFacts;

const HEADER: usize = 12;
/// How far ahead of the last sequence number a packet may be (a few lost packets).
const SEQ_WINDOW: u16 = 10;
/// Packets read without a confirmation before the claim is withdrawn.
const MAX_PACKETS: u8 = 8;
/// Packets that are neither RTP nor RTCP before the claim is withdrawn.
const MAX_STRIKES: u8 = 2;
/// RTCP packets needed to name the flow RTCP.
const RTCP_PACKETS: u8 = 2;

/// Per-flow state: the last SSRC and sequence number seen each way.
#[derive(Debug, Default)]
pub struct RtpDissector {
    last: [Option<(u32, u16)>; 2],
    packets: u8,
    strikes: u8,
    rtcp: u8,
}

/// Sequence number and SSRC of an RTP packet, if `p` is one (RFC 3550 §5.1).
fn rtp_header(p: &[u8]) -> Option<(u16, u32)> {
    let h = p.get(..HEADER)?;
    let pt = h[1] & 0x7f;
    // Payload types 72-76 are RTCP's (RFC 3550 §12.1 / RFC 5761 §4); 35-95 are unassigned.
    let pt_ok = pt <= 34 || (96..=127).contains(&pt);
    let ssrc = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
    // Version 2 without CSRCs (mixers are rare; BACnet/IP's 0x81 would pass otherwise).
    let ok = h[0] & 0xcf == 0x80 && pt_ok && ssrc != 0;
    ok.then(|| (u16::from_be_bytes([h[2], h[3]]), ssrc))
}

/// True when `p` is a compound RTCP packet: each part version 2, a packet type 200–204 and a
/// length (in 32-bit words minus one) that the datagram holds.
fn is_rtcp(p: &[u8]) -> bool {
    let mut rest = p;
    let mut parts = 0;
    while !rest.is_empty() {
        let Some(h) = rest.get(..4) else { return false };
        if h[0] & 0xc0 != 0x80 || (parts == 0 && !(200..=204).contains(&h[1])) || !(192..=213).contains(&h[1]) {
            return false;
        }
        let len = (usize::from(u16::from_be_bytes([h[2], h[3]])) + 1) * 4;
        let Some(next) = rest.get(len..) else { return false };
        rest = next;
        parts += 1;
    }
    parts > 0
}

/// The ports RTP may use: neither below 1024 nor Ethereum's 30303.
fn ports_ok(flow: &FlowInfo) -> bool {
    flow.ports.iter().all(|&p| p > 1023 && p != 30303)
}

impl Dissector for RtpDissector {
    const PROTOCOL: u16 = protocol::RTP;
    const NAMED_ON_CLAIM: bool = false;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(flow.is_udp() && ports_ok(flow) && (rtp_header(p).is_some() || is_rtcp(p)))
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.packets = self.packets.saturating_add(1);
        let p = segment.payload;
        let dir = segment.direction.index();
        if is_rtcp(p) {
            self.rtcp += 1;
            if self.rtcp >= RTCP_PACKETS {
                facts.protocol = protocol::RTCP;
                return Parsed::Done;
            }
        } else if let Some((seq, ssrc)) = rtp_header(p) {
            match self.last[dir] {
                Some((last_ssrc, last_seq)) if last_ssrc == ssrc && seq == last_seq => {}
                Some((last_ssrc, last_seq))
                    if last_ssrc == ssrc && (1..=SEQ_WINDOW).contains(&seq.wrapping_sub(last_seq)) =>
                {
                    facts.protocol = protocol::RTP;
                    return Parsed::Done;
                }
                _ => self.last[dir] = Some((ssrc, seq)),
            }
        } else {
            self.strikes += 1;
        }
        if self.strikes >= MAX_STRIKES || self.packets >= MAX_PACKETS {
            // Not confirmed: the flow, still unnamed, goes back to the registry's port guess.
            return Parsed::Skipped;
        }
        Parsed::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    fn feed(d: &mut RtpDissector, facts: &mut FlowFacts, dir: Direction, p: &[u8]) -> Parsed {
        let flow = udp([30000, 40392]);
        d.parse(&segment(&flow, dir, 0, p), facts)
    }

    #[test]
    fn placeholder() {}

    proptest! {
        #[test]
        fn never_panics(ps in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..10)) {
            no_panic::<RtpDissector>(&udp([30000, 40392]), &ps);
        }
    }
}
