//! UFTP, the encrypted multicast file transfer protocol (uftp's `protocol.txt`), UDP port 1044.
//!
//! Every UFTP 4 and 5 message starts with a 16-byte header: the protocol version (0x40 for
//! 4.x, 0x50 for 5.x), the message function (ANNOUNCE 1, REGISTER 2 and on; the probe takes
//! 1–17), a sequence number, the source ID, the group ID, the group instance, the
//! round-trip time, the group size and a reserved zero byte. The message body then starts with
//! the function again. The probe wants a version, a function, the zero byte and the function
//! repeated.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 16;
const VERSIONS: [u8; 2] = [0x40, 0x50];
/// Highest plain message function the probe takes.
const MAX_FUNCTION: u8 = 17;

/// UFTP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct UftpDissector;

impl Dissector for UftpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::UFTP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_udp() || p.len() <= HEADER || !VERSIONS.contains(&p[0]) {
            return Probe::NotForUs;
        }
        let function = p[1];
        Probe::certain_if((1..=MAX_FUNCTION).contains(&function) && p[HEADER - 1] == 0 && p[HEADER] == function)
    }

    const PORTS: Ports = Ports::udp(&[1044]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn uftp_messages_name_the_flow() {
        // uftp_v4_v5.pcap, 10.0.0.1:37173 → 230.4.4.1:1044: a version 4 ANNOUNCE (its start),
        // and a version 4 REG_CONF to 230.5.5.56; 192.168.1.186:37457: a version 5 ANNOUNCE.
        let f = udp([37173, 1044]);
        let announce = hex("400100000a00000196f4c304009d0000010600140000051457a65c1d00057a51e6040401e6050538");
        assert_eq!(run_one::<UftpDissector>(&f, &announce).0, Probe::Certain);
        assert_eq!(
            run_one::<UftpDissector>(&f, &hex("400400070a00000196f4c304006a1800040100000a000002")).0,
            Probe::Certain
        );
        let v5 = hex("50010000c0a801ba0211a8c5009d000001060014020005140005a3f6b8393fbee6040401e6050558");
        assert_eq!(run_one::<UftpDissector>(&udp([37457, 1044]), &v5).0, Probe::Certain);
        truncations::<UftpDissector>(&f, &announce);
    }

    #[test]
    fn other_payloads_are_not_uftp() {
        let f = udp([37173, 1044]);
        let announce = hex("400100000a00000196f4c304009d0000010600140000051457a65c1d00057a51e6040401e6050538");
        let mut p = announce.clone();
        p[16] = 2;
        assert_eq!(run_one::<UftpDissector>(&f, &p).0, Probe::NotForUs, "the body repeats the function");
        let mut p = announce.clone();
        p[0] = 0x30;
        assert_eq!(run_one::<UftpDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<UftpDissector>(&tcp([37173, 1044]), &announce).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<UftpDissector>(&udp([1, 1044]), &[p]);
        }
    }
}
