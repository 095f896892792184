//! The protocols of Siemens PLCs and IEC 61850 devices over ISO transport (RFC 1006 TPKT and ISO
//! 8073 COTP), TCP port 102 (ISO-TSAP): S7comm, S7comm-plus and MMS (ISO 9506).
//!
//! Every packet is a TPKT header (version 3, a zero byte, the 16-bit length of the packet) and
//! a COTP PDU: its length indicator, then the PDU type: connection request `e0`, confirm `d0`,
//! data `f0`. What the data PDUs carry names the flow:
//! - S7comm messages start with the protocol ID `32` and a message type (job 1, ack 2,
//!   ack-data 3, userdata 7);
//! - S7comm-plus messages (S7-1200/1500) with the protocol ID `72` and a version (1, 2, 3 or
//!   the 0xfe of keep-alives);
//! - MMS rides the OSI upper layers (ISO 8327 session, ISO 8823 presentation): a session
//!   connect or accept SPDU (`0d`, `0e`) whose presentation context names MMS's abstract
//!   syntax, OID 1.0.9506.2.1 (`06 05 28 ca 22 02 01`), or, in a session under way, the
//!   give-tokens and data-transfer SPDUs (`01 00 01 00`) followed by the presentation's
//!   fully-encoded user data (`61`, then a PDV list `30`).
//!
//! The connection setup says ISO transport, not which application: on port 102 the probe
//! claims the flow on it without naming it (a COTP connection request is also a well-formed
//! TDS header, so waiting would leave the flow to TDS), and `parse` names it on the first data
//! PDU it recognises, telling the three apart. A flow whose data PDUs carry something else is
//! left to the port guess.

use super::reader::be_u16_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Parsed, Ports, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

const TPKT: [u8; 2] = [0x03, 0x00];
const CONNECT_REQUEST: u8 = 0xe0;
const CONNECT_CONFIRM: u8 = 0xd0;
const DATA: u8 = 0xf0;
const S7_PROTOCOL_ID: u8 = 0x32;
const MESSAGE_TYPES: [u8; 4] = [1, 2, 3, 7];
const S7_PLUS_PROTOCOL_ID: u8 = 0x72;
const S7_PLUS_VERSIONS: [u8; 4] = [1, 2, 3, 0xfe];
/// ISO 8327 session connect and accept SPDUs.
const SESSION_CONNECT: [u8; 2] = [0x0d, 0x0e];
/// A give-tokens SPDU then a data-transfer SPDU, both without parameters.
const SESSION_DATA: [u8; 4] = [0x01, 0x00, 0x01, 0x00];
/// MMS's abstract syntax name, 1.0.9506.2.1, as a BER object identifier.
const MMS_ABSTRACT_SYNTAX: [u8; 7] = [0x06, 0x05, 0x28, 0xca, 0x22, 0x02, 0x01];

/// S7comm needs no state: the probe decides, `parse` names which protocol it saw.
#[derive(Debug, Default)]
pub struct S7commDissector;

/// What the COTP data PDU in `p` (a whole TPKT packet) carries, if this file knows it.
fn carried(p: &[u8], user_data: usize) -> Option<protocol::ProtocolId> {
    let data = p.get(user_data..)?;
    match *data {
        [S7_PROTOCOL_ID, t, ..] if MESSAGE_TYPES.contains(&t) => Some(protocol::S7COMM),
        [S7_PLUS_PROTOCOL_ID, v, ..] if S7_PLUS_VERSIONS.contains(&v) => Some(protocol::S7COMM_PLUS),
        [spdu, ..] if SESSION_CONNECT.contains(&spdu) => {
            data.windows(MMS_ABSTRACT_SYNTAX.len()).any(|w| w == MMS_ABSTRACT_SYNTAX).then_some(protocol::MMS)
        }
        _ if data.starts_with(&SESSION_DATA) => {
            let presentation = &data[SESSION_DATA.len()..];
            let pdv_list = presentation.first() == Some(&0x61)
                && super::reader::ber_len_at(presentation, 1)
                    .is_some_and(|(_, n)| presentation.get(1 + n) == Some(&0x30));
            pdv_list.then_some(protocol::MMS)
        }
        _ => None,
    }
}

/// The protocol of one whole TPKT packet carrying a COTP PDU: `Ok(None)` for the connection
/// setup or a data PDU with nothing in it, `Err(())` for anything else this file does not know.
fn classify(p: &[u8]) -> Result<Option<protocol::ProtocolId>, ()> {
    if p.len() < 6 || p[..2] != TPKT || be_u16_at(p, 2).is_none_or(|n| usize::from(n) != p.len()) {
        return Err(());
    }
    let (li, kind) = (usize::from(p[4]), p[5]);
    match kind {
        CONNECT_REQUEST | CONNECT_CONFIRM if 5 + li == p.len() => Ok(None),
        DATA if 5 + li == p.len() => Ok(None),
        DATA => carried(p, 5 + li).map(Some).ok_or(()),
        _ => Err(()),
    }
}

impl Dissector for S7commDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::S7COMM;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[TPKT[0]]);
    const NEEDS_PORT: bool = true;
    const NAMED_ON_CLAIM: bool = false;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_tcp() && Self::port_hint(flow) && classify(segment.payload).is_ok())
    }

    const PORTS: Ports = Ports::tcp(&[102]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        match classify(segment.payload) {
            Ok(Some(id)) => {
                facts.protocol = id;
                Parsed::Done
            }
            Ok(None) => Parsed::Continue,
            Err(()) => Parsed::Skipped(Skip::Unconfirmed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// Probe and parse `payloads` in turn on one flow, as the registry does once the first
    /// probe is certain: the parse results and the protocol named.
    fn session(f: &FlowInfo, payloads: &[&str]) -> (Vec<Parsed>, protocol::ProtocolId) {
        let mut d = S7commDissector;
        let mut facts = FlowFacts::default();
        let mut results = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            let p = hex(p);
            let s = segment(f, crate::facts::Direction::Forward, 0, &p);
            if i == 0 {
                assert_eq!(S7commDissector::probe_flow(f, &s), Probe::Certain, "{p:?}");
            }
            results.push(d.parse(&s, &mut facts));
        }
        (results, facts.protocol)
    }

    #[test]
    fn the_setup_is_claimed_and_the_data_names_the_flow() {
        let f = tcp([4185, 102]);
        let cr = "0300001611e00000000700c1020100c2020102c0010a";
        let cc = "0300001611d00007000300c0010ac1020100c2020102";
        let job = "0300001902f08032010000020000080000f0000001000101e0";
        let (parsed, id) = session(&f, &[cr, cc, "0300000702f000", job]);
        assert_eq!(parsed, [Parsed::Continue, Parsed::Continue, Parsed::Continue, Parsed::Done]);
        assert_eq!(id, protocol::S7COMM);
        // Something else after the setup: given up, unnamed (the port guess names the flow).
        let (parsed, id) = session(&f, &[cr, "0300000b02f080ffffffff"]);
        assert_eq!(parsed, [Parsed::Continue, Parsed::Skipped(Skip::Unconfirmed)]);
        assert_eq!(id, protocol::UNKNOWN);
    }

    #[test]
    fn the_s7_header_names_the_flow() {
        // s7comm.pcap, 192.168.1.10:4185 → 192.168.1.40:102: the COTP connection request, the
        // confirm, then a job (setup communication).
        let f = tcp([4185, 102]);
        assert_eq!(
            run_one::<S7commDissector>(&f, &hex("0300001611e00000000700c1020100c2020102c0010a")).0,
            Probe::Certain
        );
        assert_eq!(
            run_one::<S7commDissector>(&f, &hex("0300001611d00007000300c0010ac1020100c2020102")).0,
            Probe::Certain
        );
        let job = hex("0300001902f08032010000020000080000f0000001000101e0");
        assert_eq!(run_one::<S7commDissector>(&f, &job).0, Probe::Certain);
        truncations::<S7commDissector>(&f, &job);
    }

    #[test]
    fn other_iso_transport_is_not_s7() {
        let job = hex("0300001902f08032010000020000080000f0000001000101e0");
        assert_eq!(run_one::<S7commDissector>(&tcp([4185, 3389]), &job).0, Probe::NotForUs, "off port 102");
        let f = tcp([4185, 102]);
        let mut p = job.clone();
        p[7] = 0x33;
        assert_eq!(run_one::<S7commDissector>(&f, &p).0, Probe::NotForUs, "unknown protocol ID");
        assert_eq!(run_one::<S7commDissector>(&f, &job[..20]).0, Probe::NotForUs);
        // A COTP data PDU with nothing after it (s7comm-plus.pcap) names nothing.
        assert_eq!(run_one::<S7commDissector>(&f, &hex("0300000702f000")).2.protocol, protocol::UNKNOWN);
    }

    /// s7comm-plus.pcap, 192.168.25.177:53162 → 192.168.25.131:102: the client's request then
    /// its end-of-frame message, both protocol ID `72` version 2.
    const S7_PLUS: [&str; 2] = [
        "0300001f02f080720200103200000542000000023400000000000072020000",
        "0300002c02f0807202001d320000054c00000003340001000801020008320300083200000000000072020000",
    ];

    #[test]
    fn s7comm_plus_is_named_apart() {
        let f = tcp([53162, 102]);
        for p in S7_PLUS {
            let (probe, _, facts) = run_one::<S7commDissector>(&f, &hex(p));
            assert_eq!((probe, facts.protocol), (Probe::Certain, protocol::S7COMM_PLUS), "{p}");
            truncations::<S7commDissector>(&f, &hex(p));
        }
        let mut p = hex(S7_PLUS[0]);
        p[8] = 9;
        assert_eq!(run_one::<S7commDissector>(&f, &p).0, Probe::NotForUs, "no such S7comm-plus version");
        // And the classic protocol keeps its name.
        let job = hex("0300001902f08032010000020000080000f0000001000101e0");
        assert_eq!(run_one::<S7commDissector>(&f, &job).2.protocol, protocol::S7COMM);
    }

    /// iso9506-1-mms.pcap, 172.16.0.101:1345 ↔ 172.16.202.5:102: the session connect carrying
    /// the MMS initiate request (its presentation context names 1.0.9506.2.1), and a response
    /// in the session under way (give tokens, data transfer, fully-encoded user data).
    const MMS_CONNECT: &str = "030000a702f0800d9e0506130100160102140200023302000134020001c188318185a003800101a27e810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca2202013004060251018802060061473045020101a040603e80020780a107060528ca220203be2f282d020103a028a826800300fa0081010a82010a830105a416800101810305e100820c03a00000000000000000e110";
    const MMS_DATA: &str = "0300002202f0800100010061153013020103a00ea20c800304a273a205a003870102";

    #[test]
    fn mms_is_named_from_its_session() {
        let f = tcp([1345, 102]);
        for p in [MMS_CONNECT, MMS_DATA] {
            let (probe, _, facts) = run_one::<S7commDissector>(&f, &hex(p));
            assert_eq!((probe, facts.protocol), (Probe::Certain, protocol::MMS), "{p}");
            truncations::<S7commDissector>(&f, &hex(p));
        }
        // The COTP setup before it: claimed, not named.
        let (probe, parsed, facts) =
            run_one::<S7commDissector>(&f, &hex("0300001611e00000077800c1020001c2020001c0010d"));
        assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Continue, protocol::UNKNOWN));
        // A session connect for another abstract syntax is not MMS.
        let other = MMS_CONNECT.replace("060528ca220201", "060528ca220301");
        assert_eq!(run_one::<S7commDissector>(&f, &hex(&other)).0, Probe::NotForUs);
        // Session data whose presentation PDU is not fully-encoded user data.
        let mut p = hex(MMS_DATA);
        p[11] = 0x62;
        assert_eq!(run_one::<S7commDissector>(&f, &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<S7commDissector>(&tcp([1, 102]), &[p]);
        }
    }
}
