//! Modbus over TCP (the Modbus Organization's "Modbus Messaging on TCP/IP Implementation Guide"),
//! TCP port 502.
//!
//! Every message is the 7-byte MBAP header (a transaction ID, the protocol ID 0, the length of
//! what follows the length field, the unit ID) and a PDU that starts with a function code
//! (1–127; responses with an exception set the top bit). Mostly zeros and small numbers: the
//! probe wants Modbus's port as well as a header whose length agrees with the segment.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

/// MBAP header and function code.
const MIN: usize = 8;
/// Longest PDU (253 bytes) and the unit ID.
const MAX_LENGTH: usize = 254;

/// Modbus needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct ModbusDissector;

impl Dissector for ModbusDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MODBUS;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || !Self::port_hint(flow) || p.is_empty() {
            return Probe::NotForUs;
        }
        let (Some(protocol_id), Some(length)) = (be_u16_at(p, 2), be_u16_at(p, 4).map(usize::from)) else {
            return Probe::Unsure;
        };
        let function = p.get(7).map_or(0, |f| f & 0x7f);
        Probe::certain_if(
            protocol_id == 0
                && p.len() >= MIN
                && (2..=MAX_LENGTH).contains(&length)
                && length + 6 == p.len()
                && function != 0,
        )
    }

    const PORTS: Ports = Ports::tcp(&[502]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn requests_name_the_flow() {
        // modbus.pcap, 192.168.110.131:2074 → 192.168.110.138:502: Read Holding Registers.
        let f = tcp([2074, 502]);
        let read = hex("00d100000006010300010001");
        assert_eq!(run_one::<ModbusDissector>(&f, &read).0, Probe::Certain);
        assert_eq!(run_one::<ModbusDissector>(&f, &read[..4]).0, Probe::Unsure);
        truncations::<ModbusDissector>(&f, &read);
    }

    #[test]
    fn other_payloads_are_not_modbus() {
        let read = hex("00d100000006010300010001");
        assert_eq!(run_one::<ModbusDissector>(&tcp([2074, 503]), &read).0, Probe::NotForUs);
        let f = tcp([2074, 502]);
        assert_eq!(run_one::<ModbusDissector>(&f, &hex("00d100010006010300010001")).0, Probe::NotForUs);
        assert_eq!(run_one::<ModbusDissector>(&f, &hex("00d100000009010300010001")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<ModbusDissector>(&tcp([1, 502]), &[p]);
        }
    }
}
