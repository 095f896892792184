//! DNP3 (IEEE 1815), the SCADA protocol, over TCP or UDP port 20000. Every link-layer frame
//! starts with a 10-byte header: the start bytes `05 64`, a length (5 or more: control,
//! addresses and user data, without CRCs), a control byte, 16-bit destination and source
//! addresses, and a CRC of those 8 bytes (CRC-16/DNP: polynomial 0x3D65, reflected, inverted,
//! sent low byte first). The CRC makes the header a certain signature.

use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const START: [u8; 2] = [0x05, 0x64];
const HEADER: usize = 10;
/// Least value of the length byte (control and the two addresses).
const MIN_LENGTH: u8 = 5;

/// DNP3 needs no state.
#[derive(Debug, Default)]
pub struct Dnp3Dissector;

/// CRC-16/DNP of `data`.
fn crc(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xa6bc } else { crc >> 1 };
        }
    }
    !crc
}

impl Dissector for Dnp3Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DNP3;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[START[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_tcp() || flow.is_udp()) {
            return Probe::NotForUs;
        }
        match p.get(..HEADER) {
            Some(header) => Probe::certain_if(
                header.starts_with(&START)
                    && header[2] >= MIN_LENGTH
                    && crc(&header[..8]).to_le_bytes() == [header[8], header[9]],
            ),
            None if flow.is_tcp() && !p.is_empty() && p.len() <= START.len() && START.starts_with(p) => Probe::Unsure,
            None if flow.is_tcp() && p.starts_with(&START) && p.get(2).is_none_or(|&l| l >= MIN_LENGTH) => {
                Probe::Unsure
            }
            None => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::both(&[20000]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn link_header_is_dnp3() {
        // dnp3.pcap, 10.0.0.3:20000 → 10.0.0.8:2789: a response frame.
        let f = tcp([20000, 2789]);
        let frame = hex("05640a44030004007caee6f78210004fbd");
        assert_eq!(run_one::<Dnp3Dissector>(&f, &frame).0, Probe::Certain);
        truncations::<Dnp3Dissector>(&f, &frame);
        assert_eq!(run_one::<Dnp3Dissector>(&f, &frame[..5]).0, Probe::Unsure);
        let mut bad = frame.clone();
        bad[8] ^= 1;
        assert_eq!(run_one::<Dnp3Dissector>(&f, &bad).0, Probe::NotForUs, "the CRC must match");
        assert_eq!(run_one::<Dnp3Dissector>(&f, b"GET / HTTP/1.1\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<Dnp3Dissector>(&tcp([1, 20000]), &[p]);
        }
    }
}
