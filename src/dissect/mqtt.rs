//! MQTT (OASIS MQTT 3.1.1 and 5.0; IBM's 3.1), TCP port 1883 (8883 with TLS).
//!
//! A client opens with CONNECT: the fixed header byte `10`, the remaining length (a 1–4 byte
//! variable-length integer) and the protocol name as a 16-bit length and its bytes, `MQTT`
//! with level 4 or 5, or `MQIsdp` with level 3. The name and level decide; the remaining
//! length must cover them.

use super::reader::Reader;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const CONNECT: u8 = 0x10;

/// MQTT needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct MqttDissector;

/// An MQTT variable-length integer (at most 4 bytes).
fn remaining_length(r: &mut Reader<'_>) -> Option<usize> {
    let mut value = 0usize;
    for i in 0..4 {
        let b = r.u8()?;
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// What `p` says as a CONNECT: `Some(true)` it is one, `Some(false)` too short to tell yet,
/// `None` not one.
fn connect(p: &[u8]) -> Option<bool> {
    let mut r = Reader::new(p);
    match r.u8() {
        Some(CONNECT) => {}
        Some(_) => return None,
        None => return Some(false),
    }
    let Some(length) = remaining_length(&mut r) else {
        return (p.len() < 5 && p[1..].iter().all(|&b| b & 0x80 != 0)).then_some(false);
    };
    let start = r.position();
    let (Some(name), Some(level)) = (r.vec16(), r.u8()) else {
        return (p.len() < start + 9).then_some(false);
    };
    let known = matches!((name, level), (b"MQTT", 4 | 5) | (b"MQIsdp", 3));
    (known && r.position() - start <= length).then_some(true)
}

impl Dissector for MqttDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MQTT;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if !flow.is_tcp() {
            return Probe::NotForUs;
        }
        match connect(segment.payload) {
            Some(true) => Probe::Certain,
            Some(false) => Probe::Unsure,
            None => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::tcp(&[1883]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// mqtt.pcap, 192.168.0.1:41892 → 10.10.10.1:1883: an MQTT 3.1 CONNECT (`MQIsdp`, first 23
    /// of 66 bytes).
    const CONNECT_31: &str = "104000064d514973647003c20014001663626161626362";

    #[test]
    fn connect_is_certain() {
        let f = tcp([41892, 40000]);
        assert_eq!(run_one::<MqttDissector>(&f, &hex(CONNECT_31)).0, Probe::Certain);
        // MQTT 3.1.1: `MQTT`, level 4.
        assert_eq!(run_one::<MqttDissector>(&f, &hex("100c00044d5154540402003c0000")).0, Probe::Certain);
        assert_eq!(run_one::<MqttDissector>(&f, &hex("1040")).0, Probe::Unsure);
        truncations::<MqttDissector>(&f, &hex(CONNECT_31));
    }

    #[test]
    fn other_payloads_are_not_mqtt() {
        let f = tcp([41892, 1883]);
        // Level 4 with the 3.1 name; a name cut short by the remaining length; PINGREQ.
        assert_eq!(run_one::<MqttDissector>(&f, &hex("104000064d514973647004c2")).0, Probe::NotForUs);
        assert_eq!(run_one::<MqttDissector>(&f, &hex("100300064d514973647003c2")).0, Probe::NotForUs);
        assert_eq!(run_one::<MqttDissector>(&f, &hex("c000")).0, Probe::NotForUs);
        assert_eq!(run_one::<MqttDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut q = vec![0x10];
            q.extend_from_slice(&p);
            no_panic::<MqttDissector>(&tcp([1, 1883]), &[p, q]);
        }
    }
}
