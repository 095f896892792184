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
//! So do SRTCP packets (RFC 3711 §3.4), whose compound packet is encrypted past its first 8
//! bytes: those stay clear (an SR or RR header whose length field matches its report count, and
//! the sender's SSRC), and the packet ends with the E flag and 31-bit SRTCP index, then the
//! authentication tag: 80 bits for the HMAC-SHA1 transforms (RFC 3711 §5.2; DTLS-SRTP's
//! profiles too, RFC 5764 §4.1.2), none after the index with AEAD (RFC 7714 §9.1, the tag is
//! part of the encrypted portion). The index counts the sender's SRTCP packets from 0 (one
//! every few seconds): at the start of a flow it is far below 2^16.
//! Ports below 1024 and Ethereum's 30303 are never RTP (nDPI skips them too).

use super::reader::{be_len16_at, be_u16_at, be_u32_at};
use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

const HEADER: usize = 12;
/// How far ahead of the last sequence number a packet may be (a few lost packets).
const SEQ_WINDOW: u16 = 10;
/// Packets read without a confirmation before the claim is withdrawn.
const MAX_PACKETS: u8 = 8;
/// Packets that are neither RTP nor RTCP before the claim is withdrawn.
const MAX_STRIKES: u8 = 2;
/// Payloads this short (shorter than a minimal RTP packet with a payload) never rule RTP out.
const SHORT: usize = 16;
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
    let ssrc = be_u32_at(h, 8)?;
    // Version 2. CSRC lists come from mixers and SFUs, which send dynamic payload types: a
    // CSRC count with a static type is refused, or BACnet/IP (first byte 0x81, BVLC functions
    // 0-12) would read as RTP.
    let csrc = usize::from(h[0] & 0x0f);
    let csrc_ok = csrc == 0 || (pt >= 96 && p.len() >= HEADER + 4 * csrc);
    let ok = h[0] & 0xc0 == 0x80 && csrc_ok && pt_ok && ssrc != 0;
    ok.then_some((be_u16_at(h, 2)?, ssrc))
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
        let Some(len) = be_len16_at(h, 2).map(|words| (words + 1) * 4) else { return false };
        let Some(next) = rest.get(len..) else { return false };
        rest = next;
        parts += 1;
    }
    parts > 0
}

/// One RTP packet or one RTCP packet (compound, or SRTCP), each as this dissector's probe
/// reads a datagram: what another dissector that finds media on its flow asks (`dissect::gquic`).
pub(super) fn is_media(p: &[u8]) -> bool {
    rtp_header(p).is_some() || is_rtcp(p) || is_srtcp(p)
}

/// Bytes after an SRTCP packet's index with the HMAC-SHA1 transforms: the 80-bit tag.
const SRTCP_SHA1_TAG: usize = 10;
/// An SRTCP index this high is not the first minutes of a flow.
const SRTCP_EARLY_INDEX: u32 = 1 << 16;

/// True when `p` is an SRTCP packet: the clear SR or RR header (version 2, a length field that
/// matches its report count: 6 or 1 words and 6 per report block) and SSRC, then room for the
/// rest of that packet before an index word with the E flag set and an early index, followed
/// by an 80-bit tag or by nothing.
fn is_srtcp(p: &[u8]) -> bool {
    let Some(h) = p.get(..8) else { return false };
    let fixed = match h[1] {
        200 => 6,
        201 => 1,
        _ => return false,
    };
    let reports = usize::from(h[0] & 0x1f);
    if h[0] & 0xc0 != 0x80 || be_len16_at(h, 2) != Some(fixed + 6 * reports) {
        return false;
    }
    let first = (fixed + 6 * reports + 1) * 4;
    [SRTCP_SHA1_TAG, 0].iter().any(|&tag| {
        let Some(at) = p.len().checked_sub(tag + 4).filter(|&at| at >= first) else { return false };
        be_u32_at(p, at).is_some_and(|word| word & 0x8000_0000 != 0 && word & 0x7fff_ffff < SRTCP_EARLY_INDEX)
    })
}

/// The ports RTP may use: neither below 1024 nor Ethereum's 30303.
fn ports_ok(flow: &FlowInfo) -> bool {
    flow.ports.iter().all(|&p| p > 1023 && p != 30303)
}

impl Dissector for RtpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RTP;
    const TRANSPORTS: Transports = Transports::UDP;
    const NAMED_ON_CLAIM: bool = false;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_udp() || !ports_ok(flow) {
            return Probe::NotForUs;
        }
        if rtp_header(p).is_some() || is_rtcp(p) || is_srtcp(p) {
            Probe::Certain
        } else if p.len() <= SHORT {
            // Hole-punching keep-alives may come before the media (rtp.pcapng's 16 zero-ish
            // bytes): they neither prove nor rule out RTP.
            Probe::Unsure
        } else {
            Probe::NotForUs
        }
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.packets = self.packets.saturating_add(1);
        let p = segment.payload;
        let dir = segment.direction.index();
        if is_rtcp(p) || is_srtcp(p) {
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
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        Parsed::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::facts::Direction;
    use proptest::prelude::*;

    fn feed(d: &mut RtpDissector, facts: &mut FlowFacts, dir: Direction, p: &[u8]) -> Parsed {
        let flow = udp([30000, 40392]);
        d.parse(&segment(&flow, dir, 0, p), facts)
    }

    // sip.pcap, 192.168.1.2:30000 → 212.242.33.36:40392: G.711 A-law (PT 8), SSRC 0x3796cb71,
    // sequence 0x6fae, 0x6faf, 0x6fb0 (header and the first payload bytes of each packet).
    const RTP_1: &str = "80086fae000004d83796cb71d5d5d5d5";
    const RTP_2: &str = "80086faf000005783796cb716e681514";
    const RTP_3: &str = "80086fb0000006183796cb71717e7076";
    // rtcp_multiple_pkts_in_the_same_datagram.pcap: RR + SDES compound packet.
    const RTCP_RR: &str = "81c9000701932db400000000010000010000bec200000001000000000000000081ca000e01932db40107313933326462340725467265655357495443482e6f7267202d2d20436f6d6520746f20436c7565436f6e2e636f6d00000000";

    #[test]
    fn probe_shortlists_rtp_and_rtcp_but_names_nothing() {
        let flow = udp([30000, 40392]);
        for p in [RTP_1, RTCP_RR] {
            let (probe, parsed, facts) = run_one::<RtpDissector>(&flow, &hex(p));
            assert_eq!(probe, Probe::Certain, "{p}");
            assert_eq!(parsed, Parsed::Continue);
            assert_eq!(facts.protocol, protocol::UNKNOWN);
        }
        // The keep-alive before rtp.pcapng's stream (port 6008) leaves the question open.
        assert_eq!(run_one::<RtpDissector>(&flow, &hex("0100000000000000000000000000011c")).0, Probe::Unsure);
        // Below 1024, on Ethereum's port, over TCP, or cut short: not RTP.
        assert_eq!(run_one::<RtpDissector>(&udp([30000, 123]), &hex(RTP_1)).0, Probe::NotForUs);
        assert_eq!(run_one::<RtpDissector>(&udp([30303, 40392]), &hex(RTP_1)).0, Probe::NotForUs);
        assert_eq!(run_one::<RtpDissector>(&tcp([30000, 40392]), &hex(RTP_1)).0, Probe::NotForUs);
        assert_eq!(run_one::<RtpDissector>(&flow, &hex(RTP_1)[..11]).0, Probe::Unsure);
        assert_eq!(run_one::<RtpDissector>(&flow, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
        // BACnet/IP (BVLC 0x81, bacnet.pcap) has RTP's version bits but a CSRC count.
        assert_eq!(run_one::<RtpDissector>(&flow, &hex("810a001101040005a90c0c023fffff194b")).0, Probe::NotForUs);
        truncations::<RtpDissector>(&flow, &hex(RTCP_RR));
    }

    #[test]
    fn csrc_list_with_a_dynamic_type() {
        // rtp.pcapng, 10.140.67.167:55402 → 148.153.85.97:6008: one CSRC, PT 111, seq 0xcdd2.
        let first = hex("816fcdd21e5131ffb80974d80000011c480be455");
        let next = hex("816fcdd31e5135bfb80974d80000011c4806e379");
        let flow = udp([55402, 6008]);
        assert_eq!(run_one::<RtpDissector>(&flow, &first).0, Probe::Certain);
        let mut d = RtpDissector::default();
        let mut facts = FlowFacts::default();
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &first), Parsed::Continue);
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &next), Parsed::Done);
        assert_eq!(facts.protocol, protocol::RTP);
        // The CSRC list must fit: three CSRCs need 24 bytes.
        let mut three = first.clone();
        three[0] = 0x83;
        assert_eq!(run_one::<RtpDissector>(&flow, &three).0, Probe::NotForUs);
    }

    #[test]
    fn next_sequence_number_names_rtp() {
        let mut d = RtpDissector::default();
        let mut facts = FlowFacts::default();
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &hex(RTP_1)), Parsed::Continue);
        // The same sequence number again (a duplicate) proves nothing.
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &hex(RTP_1)), Parsed::Continue);
        // The reverse direction keeps its own sequence.
        assert_eq!(feed(&mut d, &mut facts, Direction::Reverse, &hex(RTP_3)), Parsed::Continue);
        assert_eq!(facts.protocol, protocol::UNKNOWN);
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &hex(RTP_2)), Parsed::Done);
        assert_eq!(facts.protocol, protocol::RTP);
    }

    #[test]
    fn another_ssrc_or_a_jump_is_not_confirmation() {
        let mut d = RtpDissector::default();
        let mut facts = FlowFacts::default();
        let mut other_ssrc = hex(RTP_2);
        other_ssrc[11] ^= 1;
        let mut jump = hex(RTP_2);
        jump[2] = 0x10;
        feed(&mut d, &mut facts, Direction::Forward, &hex(RTP_1));
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &other_ssrc), Parsed::Continue);
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &jump), Parsed::Continue);
        assert_eq!(facts.protocol, protocol::UNKNOWN);
        // Two packets that are neither RTP nor RTCP withdraw the claim, still unnamed.
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, b"hello there"), Parsed::Continue);
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, b"hello there"), Parsed::Skipped(Skip::Unconfirmed));
        assert_eq!(facts.protocol, protocol::UNKNOWN);
    }

    #[test]
    fn two_rtcp_packets_name_rtcp() {
        let mut d = RtpDissector::default();
        let mut facts = FlowFacts::default();
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &hex(RTCP_RR)), Parsed::Continue);
        assert_eq!(feed(&mut d, &mut facts, Direction::Reverse, &hex(RTCP_RR)), Parsed::Done);
        assert_eq!(facts.protocol, protocol::RTCP);
        // A part whose length runs past the datagram is not RTCP.
        assert!(!is_rtcp(&hex(RTCP_RR)[..40]));
    }

    // lru_ipv6_caches.pcapng, a TURN server's port 3478 → 45658 (nDPI: RTCP): SRTCP receiver
    // reports with no report block (header `80c90001`, SSRC 0x734e7b28), indexes 5 and 7 with
    // the E flag, 80-bit tags.
    const SRTCP_5: &str = "80c90001734e7b28800000051150ddd7bafeb9cbd7ce";
    const SRTCP_7: &str = "80c90001734e7b28800000078730b9c2a4891b6b1ee7";

    #[test]
    fn srtcp_names_rtcp() {
        let f = udp([3478, 45658]);
        assert_eq!(run_one::<RtpDissector>(&f, &hex(SRTCP_5)).0, Probe::Certain);
        let mut d = RtpDissector::default();
        let mut facts = FlowFacts::default();
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &hex(SRTCP_5)), Parsed::Continue);
        assert_eq!(feed(&mut d, &mut facts, Direction::Forward, &hex(SRTCP_7)), Parsed::Done);
        assert_eq!(facts.protocol, protocol::RTCP);
        // An SR (6 words) with a block and an AEAD trailer (the index last): RFC 7714 §9.1.
        let mut sr = vec![0x81, 200, 0, 12];
        sr.resize(4 * 13 + 40, 0x44);
        sr.extend_from_slice(&[0x80, 0, 0, 1]);
        assert!(is_srtcp(&sr));
        // A length field that does not match the report count; the E flag clear; an index far
        // from a flow's start; no room for the tag.
        let mut p = hex(SRTCP_5);
        p[3] = 2;
        assert!(!is_srtcp(&p));
        let mut p = hex(SRTCP_5);
        p[8] = 0;
        assert!(!is_srtcp(&p));
        let mut p = hex(SRTCP_5);
        p[9] = 0x10;
        assert!(!is_srtcp(&p));
        assert!(!is_srtcp(&hex(SRTCP_5)[..21]));
    }

    proptest! {
        #[test]
        fn never_panics(ps in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..10)) {
            no_panic::<RtpDissector>(&udp([30000, 40392]), &ps);
        }
    }
}
