//! Telegram's voice and video calls through its UDP reflectors (libtgvoip, Telegram's public
//! domain call library, and its successor tgcalls).
//!
//! Every packet to or from a reflector starts with the call's 16-byte peer tag. Requests the
//! reflector answers itself follow the tag with twelve `ff` bytes and a 32-bit type, little
//! endian: `0xfffffffe` asks the reflector for the sender's address, answered by its
//! self-info record `0xc01572c7` (libtgvoip's `UdpReflectorSelfInfo`); `0x27d9371c` is the
//! reflector's peer info. A call opens with such requests, so the probe wants the twelve `ff`
//! bytes after the tag and one of those types.

use super::reader::le_u32_at;
use super::{protocol, Dissector, FlowInfo, Probe, Segment};

const PEER_TAG: usize = 16;
const MARKER: [u8; 12] = [0xff; 12];
/// Self-info request, self-info answer, peer info.
const TYPES: [u32; 3] = [0xffff_fffe, 0xc015_72c7, 0x27d9_371c];

/// Telegram's call relaying needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct TelegramVoipDissector;

impl Dissector for TelegramVoipDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TELEGRAM_VOIP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let marked = p.get(PEER_TAG..PEER_TAG + MARKER.len()).is_some_and(|m| m == MARKER);
        let typed = le_u32_at(p, PEER_TAG + MARKER.len()).is_some_and(|t| TYPES.contains(&t));
        Probe::certain_if(flow.is_udp() && marked && typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn reflector_requests_name_the_flow() {
        // telegram.pcap, 192.168.1.77:23174 → 91.108.12.1:536: the self-info request, and the
        // reflector's answer.
        let f = udp([23174, 536]);
        let request = hex("dc4c00291565b7acbc236da9eda0d597fffffffffffffffffffffffffeffffff27b060165216eb50");
        assert_eq!(run_one::<TelegramVoipDissector>(&f, &request).0, Probe::Certain);
        let answer = hex(concat!(
            "dc4c00291565b7acbc236da9eda0d597ffffffffffffffffffffffffc77215c060dab25e27b060165216eb50",
            "00000000"
        ));
        assert_eq!(run_one::<TelegramVoipDissector>(&f, &answer).0, Probe::Certain);
        truncations::<TelegramVoipDissector>(&f, &request);
    }

    #[test]
    fn other_payloads_are_not_telegram_calls() {
        let f = udp([23174, 536]);
        // The relayed, encrypted media that follows; an unknown type after the marker.
        let media = hex("dc4c00291565b7acbc236da9eda0d597317db64a86f15cbd99cfa1b6d4df04b514283de73c8a7247");
        assert_eq!(run_one::<TelegramVoipDissector>(&f, &media).0, Probe::NotForUs);
        let mut p = hex("dc4c00291565b7acbc236da9eda0d597fffffffffffffffffffffffffeffffff27b060165216eb50");
        p[28] = 0x00;
        assert_eq!(run_one::<TelegramVoipDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<TelegramVoipDissector>(&f, &[0xff; 40]).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<TelegramVoipDissector>(&udp([1, 2]), &[p]);
        }
    }
}
