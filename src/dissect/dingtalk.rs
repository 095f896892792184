//! Alibaba's DingTalk messenger's own protocol over TCP (flowsieve-only ID with nDPI's name,
//! `DingTalk`; its twin application is `netify.dingtalk`).
//!
//! Wire facts (the signature nDPI applies to every TCP flow, read from its source as a fact
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): the client's opening message is longer than 90 bytes, its byte 0 is
//! `10` and the 14 bytes from offset 2 are fixed (`87 80 01 00`, `01 00 02 00`, `02 64 6b 03`,
//! `00 20`); byte 1 varies. The app speaks it on TCP 443, so a flow nothing names is guessed
//! TLS by its port: the probe names it instead. Fifteen fixed bytes in a long first payload are
//! a strong signature, and a TLS flow cannot match it (a TLS record starts with its content
//! type, `14`–`17`), so the rule stays nDPI's: the flow's first payload (the probe rules itself
//! out on any other), a shorter one whose bytes agree waiting for more.

use super::text::prefix_agrees;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// Byte 0 of the opening message.
const FIRST: u8 = 0x10;
/// The fixed bytes from offset 2.
const FIXED: [u8; 14] = [0x87, 0x80, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x02, 0x64, 0x6b, 0x03, 0x00, 0x20];
/// The opening message is longer than this.
const MIN_LEN: usize = 91;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct DingTalkDissector;

impl Dissector for DingTalkDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DINGTALK;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[FIRST]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let agrees = p.first() == Some(&FIRST) && prefix_agrees(p.get(2..).unwrap_or_default(), &FIXED);
        match (agrees, p.len()) {
            (false, _) => Probe::NotForUs,
            (true, len) if len >= MIN_LEN => Probe::Certain,
            (true, len) if len < 2 + FIXED.len() => Probe::Unsure,
            _ => Probe::NotForUs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    /// An opening message of `len` bytes: the fixed header, then filler.
    fn opening(len: usize) -> Vec<u8> {
        let mut p = [&[FIRST, 0x64][..], &FIXED].concat();
        p.resize(len, 0x41);
        p
    }

    #[test]
    fn the_opening_message_names_the_flow() {
        assert_eq!(protocol::name_of(protocol::DINGTALK), "DingTalk");
        let f = tcp([48910, 443]);
        let p = opening(104);
        assert_eq!(run_one::<DingTalkDissector>(&f, &p).0, Probe::Certain);
        assert_eq!(run_one::<DingTalkDissector>(&f, &opening(MIN_LEN)).0, Probe::Certain);
        truncations::<DingTalkDissector>(&f, &p);
        // Byte 1 is free.
        let mut other_length = p.clone();
        other_length[1] = 0x80;
        assert_eq!(run_one::<DingTalkDissector>(&f, &other_length).0, Probe::Certain);
        assert_eq!(run_one::<DingTalkDissector>(&f, &p[..9]).0, Probe::Unsure);
    }

    #[test]
    fn near_misses_and_tls_are_not_dingtalk() {
        let f = tcp([48910, 443]);
        // 90 bytes; a fixed byte off; another first byte; UDP.
        assert_eq!(run_one::<DingTalkDissector>(&f, &opening(90)).0, Probe::NotForUs);
        for at in [0, 2, 9, 15] {
            let mut p = opening(104);
            p[at] ^= 0x01;
            assert_eq!(run_one::<DingTalkDissector>(&f, &p).0, Probe::NotForUs, "byte {at}");
        }
        assert_eq!(run_one::<DingTalkDissector>(&udp([48910, 443]), &opening(104)).0, Probe::NotForUs);
        // A TLS ClientHello and an MQTT CONNECT (byte 0 also 0x10).
        let mut hello = hex("1603010200010001fc0303");
        hello.resize(200, 0);
        assert_eq!(run_one::<DingTalkDissector>(&f, &hello).0, Probe::NotForUs);
        let mut connect = hex("10640004");
        connect.extend_from_slice(b"MQTT\x04\x02\x00\x3c");
        connect.resize(102, 0x61);
        assert_eq!(run_one::<DingTalkDissector>(&f, &connect).0, Probe::NotForUs);
    }

    #[test]
    fn the_registry_names_it_where_the_port_would_guess_tls() {
        let f = tcp([48910, 443]);
        let named = |p: Vec<u8>| through_registry(&f, &[(Direction::Forward, p)]).0;
        assert_eq!(named(opening(104)), protocol::DINGTALK);
        // Bytes nobody names on 443 are still guessed TLS.
        assert_eq!(named(vec![0x10; 104]), protocol::TLS);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..120)) {
            no_panic::<DingTalkDissector>(&tcp([1, 443]), &[p.clone(), opening(p.len())]);
        }
    }
}
