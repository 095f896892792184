//! The Train Real-time Data Protocol (TRDP, IEC 61375-2-3): process data over UDP port 17224,
//! message data over UDP and TCP port 17225.
//!
//! Both headers start with a 32-bit sequence counter, the protocol version 1.0 (`01 00`) and a
//! two-letter message type: process data `Pd`, `Pp`, `Pr`, `Pe` (a 40-byte header), message
//! data `Mn`, `Mr`, `Mp`, `Mq`, `Mc`, `Me` (116 bytes). Each header ends with a CRC-32 (the
//! IEEE 802.3 polynomial, sent least significant byte first) of the bytes before it: the probe
//! wants the version, a message type and that checksum.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const VERSION: [u8; 2] = [0x01, 0x00];
const PROCESS_TYPES: [&[u8; 2]; 4] = [b"Pd", b"Pp", b"Pr", b"Pe"];
const MESSAGE_TYPES: [&[u8; 2]; 6] = [b"Mn", b"Mr", b"Mp", b"Mq", b"Mc", b"Me"];
const PROCESS_HEADER: usize = 40;
const MESSAGE_HEADER: usize = 116;

/// TRDP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct TrdpDissector;

/// CRC-32 (IEEE 802.3, reflected, initial and final value all ones) of `data`.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

impl Dissector for TrdpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TRDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_tcp() || flow.is_udp()) || p.get(4..6).is_none_or(|v| v != VERSION) {
            return Probe::NotForUs;
        }
        let Some(kind) = p.get(6..8) else { return Probe::NotForUs };
        let header = if PROCESS_TYPES.iter().any(|t| &t[..] == kind) {
            PROCESS_HEADER
        } else if MESSAGE_TYPES.iter().any(|t| &t[..] == kind) {
            MESSAGE_HEADER
        } else {
            return Probe::NotForUs;
        };
        match p.get(..header) {
            Some(h) => Probe::certain_if(le_u32_at(h, header - 4) == Some(crc32(&h[..header - 4]))),
            None if flow.is_tcp() => Probe::Unsure,
            None => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports { tcp: &[17225], udp: &[17224, 17225] };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// trdp.pcapng, 192.168.88.231:47228 → 192.168.88.138:17224: process data (`Pd`), the
    /// header and 24 bytes of data.
    const PD: &str = concat!(
        "000000000100506400000000000000000000000000000018000000000000000000000000ce487aea",
        "48656c6c6f20576f726c6400000000000000000000000000"
    );
    /// 192.168.88.231:45482 → 192.168.88.138:17225 (TCP): a message data request (`Mr`).
    const MR: &str = concat!(
        "0000000001004d72000003e900000000000000000000000d0000000069322ac45bc911ef98daf02f74ad43f500",
        "1e8480000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000005ec79b1e486f772061726520796f753f00000000",
    );

    #[test]
    fn headers_with_their_checksum_name_the_flow() {
        assert_eq!(run_one::<TrdpDissector>(&udp([47228, 17224]), &hex(PD)).0, Probe::Certain);
        let f = tcp([45482, 17225]);
        assert_eq!(run_one::<TrdpDissector>(&f, &hex(MR)).0, Probe::Certain);
        assert_eq!(run_one::<TrdpDissector>(&f, &hex(MR)[..60]).0, Probe::Unsure);
        truncations::<TrdpDissector>(&f, &hex(MR));
    }

    #[test]
    fn a_bad_checksum_is_not_trdp() {
        let f = udp([47228, 17224]);
        let mut p = hex(PD);
        p[20] ^= 1;
        assert_eq!(run_one::<TrdpDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = hex(PD);
        p[7] = b'x';
        assert_eq!(run_one::<TrdpDissector>(&f, &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..140)) {
            no_panic::<TrdpDissector>(&udp([1, 17224]), std::slice::from_ref(&p));
            no_panic::<TrdpDissector>(&tcp([1, 17225]), &[p]);
        }
    }
}
