//! Beckhoff's Automation Device Specification (ADS) over AMS/TCP (Beckhoff Information System,
//! "ADS specification"; TCP port 48898). nDPI calls it `BeckhoffADS`.
//!
//! Every packet is a 6-byte AMS/TCP header — two reserved zero bytes and the little-endian
//! 32-bit length of what follows — then the 32-byte AMS header, little-endian throughout: target
//! and source AMS NetIds (6 bytes) and ports (16 bits), the command (1 read device info, 2 read,
//! 3 write, 4 read state, 5 write control, 6 add and 7 delete device notification, 8 device
//! notification, 9 read/write), the state flags (bit 2: an ADS command; bit 0: a response), the
//! length of the data after the header, an error code and an invoke ID. The probe wants a
//! whole first message: the two lengths agreeing with each other and with the segment (or, on
//! port 48898, more messages after it), a known command and the ADS command flag.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const TCP_HEADER: usize = 6;
const AMS_HEADER: usize = 32;
/// Offsets in the AMS header.
const COMMAND: usize = TCP_HEADER + 16;
const STATE_FLAGS: usize = TCP_HEADER + 18;
const DATA_LENGTH: usize = TCP_HEADER + 20;
const ADS_COMMAND_FLAG: u8 = 0x04;

/// ADS needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct BeckhoffAdsDissector;

/// `p` starts with a whole AMS/TCP message carrying an ADS command; `more` allows bytes after it.
fn message(p: &[u8], more: bool) -> bool {
    let (Some(length), Some(data)) = (le_u32_at(p, 2), le_u32_at(p, DATA_LENGTH)) else { return false };
    let (Ok(length), Ok(data)) = (usize::try_from(length), usize::try_from(data)) else { return false };
    let fits = TCP_HEADER.checked_add(length).is_some_and(|end| end == p.len() || (more && end < p.len()));
    p[..2] == [0, 0]
        && AMS_HEADER.checked_add(data) == Some(length)
        && fits
        && matches!(p.get(COMMAND..COMMAND + 2), Some([1..=9, 0]))
        && p.get(STATE_FLAGS).is_some_and(|f| f & ADS_COMMAND_FLAG != 0)
}

impl Dissector for BeckhoffAdsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::BECKHOFF_ADS;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_tcp() && message(segment.payload, Self::port_hint(flow)))
    }

    const PORTS: Ports = Ports::tcp(&[48898]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// beckhoff_ads.pcapng, 192.168.1.99:49201 ↔ 192.168.1.8:48898: a read state request (no
    /// data) and its response (8 bytes: ADS state 5 "run", device state 0).
    const READ_STATE: &str = "000020000000050d756001011027c0a801630101038004000400000000000000000005000000";
    const READ_STATE_RESPONSE: &str =
        "000028000000c0a8016301010380050d756001011027040005000800000000000000050000000000000005000200";

    #[test]
    fn ams_messages_are_ads() {
        for f in [tcp([49201, 48898]), tcp([49201, 851])] {
            for p in [READ_STATE, READ_STATE_RESPONSE] {
                assert_eq!(run_one::<BeckhoffAdsDissector>(&f, &hex(p)).0, Probe::Certain, "{p}");
                truncations::<BeckhoffAdsDissector>(&f, &hex(p));
            }
        }
        let two = [hex(READ_STATE), hex(READ_STATE)].concat();
        assert_eq!(run_one::<BeckhoffAdsDissector>(&tcp([49201, 48898]), &two).0, Probe::Certain);
        assert_eq!(run_one::<BeckhoffAdsDissector>(&tcp([49201, 851]), &two).0, Probe::NotForUs, "off the port");
    }

    #[test]
    fn other_payloads_are_not_ads() {
        let f = tcp([49201, 48898]);
        // Reserved bytes set; command 10; not an ADS command; data length disagreeing; UDP.
        for (at, value) in [(0, 1), (COMMAND, 10), (STATE_FLAGS, 0x01), (DATA_LENGTH, 1)] {
            let mut p = hex(READ_STATE);
            p[at] = value;
            assert_eq!(run_one::<BeckhoffAdsDissector>(&f, &p).0, Probe::NotForUs, "byte {at} = {value}");
        }
        assert_eq!(run_one::<BeckhoffAdsDissector>(&udp([49201, 48898]), &hex(READ_STATE)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..64)) {
            no_panic::<BeckhoffAdsDissector>(&tcp([1, 48898]), &[p]);
        }
    }
}
