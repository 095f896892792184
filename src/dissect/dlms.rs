//! DLMS/COSEM, the electricity meter data exchange of IEC 62056, over TCP or UDP (IEC 62056-47;
//! IANA `dlms-cosem`, TCP and UDP port 4059). nDPI calls it `IEC62056`.
//!
//! Two framings reach IP networks:
//! - the TCP/UDP wrapper of IEC 62056-47: an 8-byte header of big-endian 16-bit fields, version
//!   (always 1), source and destination wPorts, and the length of the APDU after it. The header
//!   is short and plain, so the probe wants it on port 4059, with a length that fits the
//!   segment and an xDLMS APDU tag after it (ACSE `60`–`63`, the service PDUs `c0`–`df`, a
//!   data notification `0f`);
//! - HDLC frames (IEC 62056-46, the frame format of ISO/IEC 13239) sent as they are, as meter
//!   gateways relay them: an opening flag `7e`, a frame format field (type `1010`, a
//!   segmentation bit, an 11-bit frame length counted between the flags), destination and
//!   source addresses of 1, 2 or 4 bytes (the last byte of each has its low bit set), a control
//!   byte, then a 16-bit check sequence over that header (the HCS, or for a frame without
//!   information the FCS), and the closing flag `7e` where the frame length says. The check
//!   sequence is the FCS-16 of ISO/IEC 13239 (RFC 1662's CRC: reflected polynomial 0x8408,
//!   initial and final XOR 0xffff, low byte first); it and the flags make a frame certain on
//!   any port.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const FLAG: u8 = 0x7e;
/// The frame format type in the top four bits of the format field: `1010`.
const FORMAT_TYPE: u8 = 0xa0;
const WRAPPER_VERSION: u16 = 1;
const WRAPPER_HEADER: usize = 8;

/// DLMS needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct DlmsDissector;

/// ISO/IEC 13239's FCS-16 of `bytes`.
fn fcs16(bytes: &[u8]) -> u16 {
    let crc = bytes.iter().fold(0xffffu16, |crc, &b| {
        (0..8).fold(crc ^ u16::from(b), |c, _| if c & 1 == 1 { (c >> 1) ^ 0x8408 } else { c >> 1 })
    });
    !crc
}

/// Bytes of the HDLC address starting at `at` (1, 2 or 4; the last has its low bit set).
fn address_len(frame: &[u8], at: usize) -> Option<usize> {
    let n = frame.get(at..)?.iter().take(4).position(|b| b & 1 == 1)? + 1;
    (n != 3).then_some(n)
}

/// `p` starts with a whole HDLC frame whose header check sequence holds.
fn hdlc_frame(p: &[u8]) -> bool {
    let [FLAG, format, low, ..] = *p else { return false };
    if format & 0xf0 != FORMAT_TYPE {
        return false;
    }
    let length = (usize::from(format & 0x07) << 8) | usize::from(low);
    if p.get(length + 1) != Some(&FLAG) {
        return false;
    }
    // The header between the opening flag and the check sequence: format, addresses, control.
    let Some(destination) = address_len(p, 3) else { return false };
    let Some(source) = address_len(p, 3 + destination) else { return false };
    let header = 2 + destination + source + 1;
    if header + 2 > length {
        return false;
    }
    let (Some(covered), Some(check)) = (p.get(1..1 + header), p.get(1 + header..3 + header)) else {
        return false;
    };
    fcs16(covered) == u16::from_le_bytes([check[0], check[1]])
}

/// `p` starts with the IEC 62056-47 wrapper header and an xDLMS APDU.
fn wrapper(p: &[u8]) -> bool {
    let (Some(version), Some(length)) = (be_u16_at(p, 0), be_u16_at(p, 6)) else { return false };
    let apdu_tag = p.get(WRAPPER_HEADER).is_some_and(|&t| matches!(t, 0x60..=0x63 | 0xc0..=0xdf | 0x0f));
    version == WRAPPER_VERSION && length > 0 && WRAPPER_HEADER + usize::from(length) >= p.len() && apdu_tag
}

impl Dissector for DlmsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::IEC62056;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[FLAG, 0x00]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_tcp() || flow.is_udp()) {
            return Probe::NotForUs;
        }
        Probe::certain_if(hdlc_frame(p) || (Self::port_hint(flow) && wrapper(p)))
    }

    const PORTS: Ports = Ports::both(&[4059]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// dlms.pcap, 192.168.137.20:60797 ↔ 192.168.137.189:4060: the client's SNRM (a frame
    /// without information: FCS only), the meter's UA (HCS, information, FCS) and an AARQ; and
    /// 10.1.1.1:0 → 10.2.2.2:4059 over UDP, a SNRM with one-byte addresses.
    const FRAMES: [&str; 3] = [
        "7ea0070321930f017e",
        "7ea01e210373c37a818012050180060180070400000001080400000001533b7e",
        "7ea02b032110fbafe6e600601da10b060760857405080101be10040e01000000065f1f0400001e1dffffc5e47e",
    ];
    const UDP_FRAME: &str = "7ea0070303938c117e";

    #[test]
    fn hdlc_frames_on_any_port() {
        let f = tcp([60797, 4060]);
        for p in FRAMES {
            assert_eq!(run_one::<DlmsDissector>(&f, &hex(p)).0, Probe::Certain, "{p}");
            truncations::<DlmsDissector>(&f, &hex(p));
        }
        // Several frames in one segment (the capture's acknowledgements).
        let several = hex("7ea00703215111e47e7ea00703217113c57e");
        assert_eq!(run_one::<DlmsDissector>(&f, &several).0, Probe::Certain);
        assert_eq!(run_one::<DlmsDissector>(&udp([0, 4059]), &hex(UDP_FRAME)).0, Probe::Certain);
        assert_eq!(fcs16(b"123456789"), 0x906e, "the FCS-16 check value (RFC 1662, CRC-16/X-25)");
    }

    #[test]
    fn broken_frames_are_not_dlms() {
        let f = tcp([60797, 4060]);
        for (at, value) in [(2, 0x08), (4, 0x22), (7, 0x00), (1, 0xb0), (8, 0x00)] {
            let mut p = hex(FRAMES[0]);
            p[at] = value;
            assert_eq!(run_one::<DlmsDissector>(&f, &p).0, Probe::NotForUs, "byte {at} = {value:#x}");
        }
        // A three-byte address does not exist.
        assert!(address_len(&[0x02, 0x02, 0x03], 0).is_none());
        assert_eq!(run_one::<DlmsDissector>(&f, &hex(FRAMES[1])[..20]).0, Probe::NotForUs, "frame cut short");
    }

    #[test]
    fn wrapper_on_port_4059() {
        // IEC 62056-47 wrapper: version 1, wPorts 0x10 → 0x01, 13 bytes of APDU: a get-request
        // (`c0 01`, invoke-id, clock object 0.0.1.0.0.255 class 8, attribute 2).
        let p = hex("00010010000100 0dc001c100080000010000ff0200".replace(' ', "").as_str());
        assert_eq!(run_one::<DlmsDissector>(&tcp([50000, 4059]), &p).0, Probe::Certain);
        assert_eq!(run_one::<DlmsDissector>(&udp([50000, 4059]), &p).0, Probe::Certain);
        truncations::<DlmsDissector>(&tcp([50000, 4059]), &p);
        assert_eq!(run_one::<DlmsDissector>(&tcp([50000, 4058]), &p).0, Probe::NotForUs, "off the port");
        let mut q = p.clone();
        q[1] = 2;
        assert_eq!(run_one::<DlmsDissector>(&tcp([50000, 4059]), &q).0, Probe::NotForUs, "version 2");
        let mut q = p.clone();
        q[8] = 0x99;
        assert_eq!(run_one::<DlmsDissector>(&tcp([50000, 4059]), &q).0, Probe::NotForUs, "no APDU tag");
        let mut q = p;
        q[7] = 2;
        assert_eq!(run_one::<DlmsDissector>(&tcp([50000, 4059]), &q).0, Probe::NotForUs, "longer than declared");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..64)) {
            no_panic::<DlmsDissector>(&tcp([1, 4059]), std::slice::from_ref(&p));
            let mut framed = p;
            framed.insert(0, FLAG);
            no_panic::<DlmsDissector>(&udp([1, 2]), &[framed]);
        }
    }
}
