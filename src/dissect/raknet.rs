//! RakNet, the game networking library's UDP protocol (its offline messages, as documented
//! with RakNet's source and by the games that use it).
//!
//! Offline messages (unconnected ping and pong, open connection requests and replies, the
//! refusals) carry RakNet's 16-byte "offline message data ID" `00ffff00fefefefefdfdfdfd12345678`
//! a few bytes in: after the message ID (open connection messages), after a time (pings),
//! after a time and a GUID (pongs); games that wrap RakNet put their own bytes before it. The
//! probe looks for that constant in a datagram's first [`WINDOW`] bytes.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const MAGIC: [u8; 16] =
    [0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe, 0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78];
/// How far into a datagram the constant is looked for.
const WINDOW: usize = 64;

/// RakNet needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct RaknetDissector;

impl Dissector for RaknetDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RAKNET;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_udp() || p.len() < 1 + MAGIC.len() {
            return Probe::NotForUs;
        }
        let head = &p[..p.len().min(WINDOW + MAGIC.len())];
        Probe::certain_if(head.windows(MAGIC.len()).any(|w| w[1] == 0xff && w == MAGIC))
    }

    const PORTS: Ports = Ports::NONE;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn offline_messages_name_the_flow() {
        // roblox.pcapng, 192.168.12.156:42965 → 128.116.89.113:63862: Roblox's connection
        // request (ID 0x7b) with the constant after the ID, and the server's reply (0x7e).
        let f = udp([42965, 63862]);
        let request = hex("7b00ffff00fefefefefdfdfdfd123456780500000000000000000000000000000000000000000000");
        assert_eq!(run_one::<RaknetDissector>(&f, &request).0, Probe::Certain);
        let reply = hex("7e00ffff00fefefefefdfdfdfd1234567898d5573af066c42d000574");
        assert_eq!(run_one::<RaknetDissector>(&f, &reply).0, Probe::Certain);
        // 192.168.12.156:45693 → 128.116.44.33:53385: a wrapped request, the constant 31 bytes in.
        let wrapped = hex(concat!(
            "0100001f011101a3022e4b808da3c9e85a9525d3b8fdad02060a090090d0897b00ffff00fefefefe",
            "fdfdfdfd12345678050000000000"
        ));
        assert_eq!(run_one::<RaknetDissector>(&udp([45693, 53385]), &wrapped).0, Probe::Certain);
        truncations::<RaknetDissector>(&f, &request);
    }

    #[test]
    fn other_payloads_are_not_raknet() {
        let f = udp([42965, 63862]);
        let mut p = hex("7b00ffff00fefefefefdfdfdfd123456780500000000000000000000000000000000000000000000");
        p[16] = 0x79;
        assert_eq!(run_one::<RaknetDissector>(&f, &p).0, Probe::NotForUs);
        let mut far = vec![0u8; 100];
        far.extend_from_slice(&MAGIC);
        assert_eq!(run_one::<RaknetDissector>(&f, &far).0, Probe::NotForUs, "past the window");
        let p = hex("7b00ffff00fefefefefdfdfdfd123456780500000000000000000000000000000000000000000000");
        assert_eq!(run_one::<RaknetDissector>(&tcp([42965, 63862]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<RaknetDissector>(&udp([1, 2]), &[p]);
        }
    }
}
