//! BJNP, Canon's printer and scanner protocol (UDP and TCP ports 8611–8614: printing 8611,
//! scanning 8612, 8613–8614 other services). Every message starts with a 16-byte header: the
//! magic `BJNP`, a device-type byte (0x01/0x02 printer/scanner command, 0x81/0x82 their
//! responses), a command code, a 16-bit error code, a 16-bit sequence number, a 16-bit session
//! ID and the 32-bit length of the payload that follows.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

const MAGIC: &[u8; 4] = b"BJNP";
const HEADER: usize = 16;
/// Largest payload taken for one message.
const MAX_PAYLOAD: u32 = 0x0010_0000;

/// BJNP needs no state.
#[derive(Debug, Default)]
pub struct BjnpDissector;

impl Dissector for BjnpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::BJNP;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !(flow.is_udp() || flow.is_tcp()) {
            return Probe::NotForUs;
        }
        if p.len() < HEADER {
            return if flow.is_tcp() && !p.is_empty() && p.len() < MAGIC.len() && MAGIC.starts_with(p) {
                Probe::Unsure
            } else {
                Probe::NotForUs
            };
        }
        let device = p.get(4).copied().unwrap_or(0);
        let length_ok = be_u32_at(p, 12).is_some_and(|len| {
            len <= MAX_PAYLOAD && (flow.is_tcp() || usize::try_from(len).ok() == p.len().checked_sub(HEADER))
        });
        Probe::certain_if(p.starts_with(MAGIC) && matches!(device, 0x01 | 0x02 | 0x81 | 0x82) && length_ok)
    }

    const PORTS: Ports = Ports::both(&[8611, 8612, 8613, 8614]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn discovery_is_bjnp() {
        // bjnp.pcap, 192.168.185.141:50087 → 192.168.1.17:8612: a scanner discovery.
        let f = udp([50087, 8612]);
        let discover = hex("424a4e500201000017a4000000000000");
        assert_eq!(run_one::<BjnpDissector>(&f, &discover).0, Probe::Certain);
        truncations::<BjnpDissector>(&f, &discover);
        let mut extra = discover.clone();
        extra.push(0);
        assert_eq!(run_one::<BjnpDissector>(&f, &extra).0, Probe::NotForUs, "UDP length must match");
        let mut device = discover.clone();
        device[4] = 0x07;
        assert_eq!(run_one::<BjnpDissector>(&f, &device).0, Probe::NotForUs);
        assert_eq!(
            run_one::<BjnpDissector>(&f, b"BJNX\x02\x01\x00\x00\x17\xa4\x00\x00\x00\x00\x00\x00").0,
            Probe::NotForUs
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<BjnpDissector>(&udp([1, 8612]), std::slice::from_ref(&p));
            no_panic::<BjnpDissector>(&tcp([1, 8611]), &[p]);
        }
    }
}
