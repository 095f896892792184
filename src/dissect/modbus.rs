//! Modbus over TCP (the Modbus Organization's "Modbus Messaging on TCP/IP Implementation Guide"),
//! TCP port 502.
//!
//! Every message is the 7-byte MBAP header (a transaction ID, the protocol ID 0, the length of
//! what follows the length field, the unit ID) and a PDU that starts with a function code
//! (1–127; responses with an exception set the top bit). Mostly zeros and small numbers: the
//! probe wants Modbus's port as well as a header whose length agrees with the segment.
//!
//! Schneider Electric's UMAS (flowsieve-only ID with nDPI's name, `UMAS`) is carried inside
//! Modbus/TCP: its messages are Modbus PDUs with function code 90 (`5a`), which the Modbus
//! Organization's specification leaves to vendors (nDPI names a flow so the same way). It is a
//! sub-protocol decided here rather than a dissector of its own, as the framing, port and
//! probe are Modbus's: a flow whose first message (the one the probe claims it on) has that
//! function code is named UMAS instead of Modbus.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment};
use crate::facts::FlowFacts;

/// MBAP header and function code.
const MIN: usize = 8;
/// Longest PDU (253 bytes) and the unit ID.
const MAX_LENGTH: usize = 254;
/// The function code of UMAS's messages.
const UMAS: u8 = 0x5a;

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

    /// The message the probe claimed the flow on tells Modbus from UMAS.
    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if segment.payload.get(7) == Some(&UMAS) {
            facts.protocol = protocol::UMAS;
        }
        Parsed::Done
    }
}

/// Whether `id` names a protocol Modbus/TCP carries (what nDPI calls `Modbus.UMAS`).
pub fn is_carried_by_modbus(id: protocol::ProtocolId) -> bool {
    id == protocol::UMAS
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
    fn function_code_90_is_umas() {
        assert_eq!(protocol::name_of(protocol::UMAS), "UMAS");
        // A UMAS request built from the Modbus framing: MBAP header (transaction 1, protocol
        // 0, length 4, unit 0), function code 90, UMAS session key 0, UMAS function 0x01.
        let f = tcp([50000, 502]);
        let request = hex("000100000004005a0001");
        let (probe, parsed, facts) = run_one::<ModbusDissector>(&f, &request);
        assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Done, protocol::UMAS));
        assert!(is_carried_by_modbus(protocol::UMAS) && !is_carried_by_modbus(protocol::MODBUS));
        // Through the registry: UMAS where the request has function code 90, else Modbus.
        let first = |p: &[u8]| through_registry(&f, &[(crate::dissect::Direction::Forward, p.to_vec())]).0;
        assert_eq!(first(&request), protocol::UMAS);
        assert_eq!(first(&hex("00d100000006010300010001")), protocol::MODBUS);
        // Other function codes stay Modbus (the registry names it on the claim), as does the
        // exception response to a function 90 request.
        for function in [0x03, 0x2b, 0xda] {
            let message = [&request[..7], &[function, 0x00, 0x01]].concat();
            let (probe, _, facts) = run_one::<ModbusDissector>(&f, &message);
            assert_eq!((probe, facts.protocol), (Probe::Certain, protocol::UNKNOWN), "{function:#x}");
        }
        // Not Modbus's framing: nothing named.
        let mut bad = request.clone();
        bad[5] = 9;
        assert_eq!(run_one::<ModbusDissector>(&f, &bad).0, Probe::NotForUs);
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
