//! MQTT (OASIS MQTT 3.1.1 and 5.0; IBM's 3.1), TCP port 1883 (8883 with TLS).
//!
//! A client opens with CONNECT: the fixed header byte `10`, the remaining length (a 1–4 byte
//! variable-length integer) and the protocol name as a 16-bit length and its bytes, `MQTT`
//! with level 4 or 5, or `MQIsdp` with level 3. The name and level decide; the remaining
//! length must cover them.
//!
//! A flow picked up after its CONNECT (the agent started later, a long-lived session) is named
//! by a PUBLISH: its fixed header (type 3, a QoS of 0–2), a topic name (16-bit length, printable,
//! no wildcard: MQTT 3.1.1 §3.3.2.1) and, with QoS 1 or 2, a packet identifier, the packets of
//! the segment filling it exactly. PINGREQ, PINGRESP and DISCONNECT (two bytes each, §3.12–3.14)
//! before it keep MQTT in the running without naming the flow.

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

/// Fixed header bytes of the two-byte control packets: PINGREQ, PINGRESP, DISCONNECT.
const BARE: [u8; 3] = [0xc0, 0xd0, 0xe0];
const PUBLISH: u8 = 3;

/// What a segment that does not start with CONNECT says as packets of a session already under
/// way: `Some(true)` it holds a PUBLISH and only whole packets, `Some(false)` only PINGREQ,
/// PINGRESP and DISCONNECT packets, `None` anything else.
fn session(p: &[u8]) -> Option<bool> {
    let mut r = Reader::new(p);
    let mut published = false;
    while !r.is_empty() {
        let first = r.u8()?;
        let length = remaining_length(&mut r)?;
        let body = r.take(length)?;
        if BARE.contains(&first) && length == 0 {
            continue;
        }
        if first >> 4 != PUBLISH || (first >> 1) & 3 == 3 {
            return None;
        }
        let mut b = Reader::new(body);
        let topic = b.vec16()?;
        let printable = topic.iter().all(|&c| c.is_ascii_graphic() && c != b'+' && c != b'#');
        if topic.is_empty() || !printable || ((first >> 1) & 3 != 0 && b.u16()? == 0) {
            return None;
        }
        published = true;
    }
    (!p.is_empty()).then_some(published)
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
            None => match session(segment.payload) {
                Some(true) => Probe::Certain,
                Some(false) => Probe::Unsure,
                None => Probe::NotForUs,
            },
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
        // Level 4 with the 3.1 name; a name cut short by the remaining length.
        assert_eq!(run_one::<MqttDissector>(&f, &hex("104000064d514973647004c2")).0, Probe::NotForUs);
        assert_eq!(run_one::<MqttDissector>(&f, &hex("100300064d514973647003c2")).0, Probe::NotForUs);
        assert_eq!(run_one::<MqttDissector>(&f, b"GET / HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
        // Text whose first byte is a PUBLISH header: its "topic length" runs past the segment.
        assert_eq!(
            run_one::<MqttDissector>(&f, b"200 OK ready for the rest of the transfer now.....").0,
            Probe::NotForUs
        );
    }

    /// coap_mqtt.pcap, 192.168.56.101:17501 → 192.168.56.1:53522: a PUBLISH (QoS 1) of a
    /// session whose CONNECT came before the capture: topic `Bus17Cmd`, packet identifier 2, a
    /// JSON payload (its first 23 of 72 bytes, then spaces to the same length).
    fn publish() -> Vec<u8> {
        let mut p = hex("325400084275733137436d6400027b226d65737361676554797065223a2255504441544522");
        p.resize(86, b' ');
        p
    }

    #[test]
    fn a_session_under_way_is_named_by_a_publish() {
        let f = tcp([53522, 17501]);
        assert_eq!(run_one::<MqttDissector>(&f, &publish()).0, Probe::Certain);
        // PINGREQ and PINGRESP alone (the same flow's first packets) keep MQTT in the running.
        assert_eq!(run_one::<MqttDissector>(&f, &hex("c000")).0, Probe::Unsure);
        assert_eq!(run_one::<MqttDissector>(&f, &hex("d000")).0, Probe::Unsure);
        // A PINGRESP and a PUBLISH in one segment.
        let both = [&hex("d000")[..], &publish()].concat();
        assert_eq!(run_one::<MqttDissector>(&f, &both).0, Probe::Certain);
        truncations::<MqttDissector>(&f, &publish());
    }

    #[test]
    fn packets_that_do_not_fill_the_segment_or_bad_topics_are_not_mqtt() {
        let f = tcp([53522, 17501]);
        let mut p = publish();
        p.push(0);
        assert_eq!(run_one::<MqttDissector>(&f, &p).0, Probe::NotForUs, "a byte past the packet");
        assert_eq!(run_one::<MqttDissector>(&f, &publish()[..85]).0, Probe::NotForUs, "cut short");
        let mut p = publish();
        p[0] = 0x36;
        assert_eq!(run_one::<MqttDissector>(&f, &p).0, Probe::NotForUs, "QoS 3");
        let mut p = publish();
        p[6] = b'#';
        assert_eq!(run_one::<MqttDissector>(&f, &p).0, Probe::NotForUs, "a wildcard in the topic");
        let mut p = publish();
        p[13] = 0;
        assert_eq!(run_one::<MqttDissector>(&f, &p).0, Probe::NotForUs, "packet identifier 0");
        assert_eq!(run_one::<MqttDissector>(&f, &hex("c001")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut q = vec![0x10];
            q.extend_from_slice(&p);
            let mut r = vec![0x32];
            r.extend_from_slice(&p);
            no_panic::<MqttDissector>(&tcp([1, 1883]), &[p, q, r]);
        }
    }
}
