//! NoMachine's NX protocol (NoMachine 4 and later) as its `nxd` service speaks it, on
//! NoMachine's documented default port 4000 (TCP, and UDP for its multimedia channel). NoMachine
//! describes NX 4 as a text protocol compatible with NX 3's ahead of its TLS-protected session.
//! Both ends open it with a version line: the client `NXSH-` and its version (`NXSH-8.10.1`), the
//! server `NXD-` and its version, then the TLS handshake follows. The probe wants either banner
//! followed by a version digit, on any port; a flow on 4000 no dissector claims gets NoMachine as
//! its port guess (as nDPI guesses it there).
//!
//! Over UDP (the multimedia channel) every datagram starts with a small header whose 16-bit
//! little-endian fields are: at 2 the value 1, at 4 the datagram's own length, and at 8 zero;
//! the shortest datagram, a 10-byte keep-alive, is that header alone (as nDPI reads it). The
//! length that must equal the datagram's makes it evidence on any port. Since that first byte
//! can be anything, the dissector is not ruled out by first byte; the check is three integer
//! reads.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

/// The shortest UDP datagram: the header alone.
const UDP_HEADER: usize = 10;

/// `p` is a datagram of NoMachine's multimedia channel.
fn udp_datagram(p: &[u8]) -> bool {
    let le16 = |at: usize| p.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    p.len() >= UDP_HEADER && le16(2) == Some(1) && le16(4).map(usize::from) == Some(p.len()) && le16(8) == Some(0)
}

const BANNERS: [&[u8]; 2] = [b"NXSH-", b"NXD-"];

/// NoMachine needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct NomachineDissector;

impl Dissector for NomachineDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NOMACHINE;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if flow.is_udp() {
            return Probe::certain_if(udp_datagram(p));
        }
        if !flow.is_tcp() {
            return Probe::NotForUs;
        }
        for banner in BANNERS {
            match p.get(banner.len()) {
                Some(b) if p.starts_with(banner) => return Probe::certain_if(b.is_ascii_digit()),
                None if banner.starts_with(p) => return Probe::Unsure,
                _ => {}
            }
        }
        Probe::NotForUs
    }

    const PORTS: Ports = Ports::both(&[4000]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn version_lines_name_the_flow() {
        // nomachine.pcapng, 192.168.88.231:48084 → 192.168.88.208:4000: the client's line, then
        // the server's.
        let f = tcp([48084, 4000]);
        assert_eq!(run_one::<NomachineDissector>(&f, b"NXSH-8.10.1\n").0, Probe::Certain);
        assert_eq!(run_one::<NomachineDissector>(&f, b"NXD-8.10.1\n").0, Probe::Certain);
        assert_eq!(run_one::<NomachineDissector>(&f, b"NXS").0, Probe::Unsure);
        assert_eq!(run_one::<NomachineDissector>(&f, b"NXD-").0, Probe::Unsure);
        assert!(NomachineDissector::port_hint(&udp([56019, 4000])));
        truncations::<NomachineDissector>(&f, b"NXSH-8.10.1\n");
    }

    #[test]
    fn multimedia_datagrams_name_the_flow() {
        // nomachine.pcapng, 192.168.88.231:56019 → 192.168.88.208:4000 (nDPI: NoMachine): the
        // client's first keep-alive and the server's answer.
        let f = udp([56019, 4000]);
        for p in ["010001000a0000000000", "020001000a0000000000"] {
            assert_eq!(run_one::<NomachineDissector>(&f, &hex(p)).0, Probe::Certain, "{p}");
            truncations::<NomachineDissector>(&f, &hex(p));
        }
        let mut long = hex("010001001400000000000102030405060708090a");
        assert_eq!(run_one::<NomachineDissector>(&udp([1, 2]), &long).0, Probe::Certain);
        // A length that is not the datagram's; the field at 2 not 1; at 8 not zero; a banner
        // over UDP.
        long.push(0);
        assert_eq!(run_one::<NomachineDissector>(&f, &long).0, Probe::NotForUs);
        assert_eq!(run_one::<NomachineDissector>(&f, &hex("010002000a0000000000")).0, Probe::NotForUs);
        assert_eq!(run_one::<NomachineDissector>(&f, &hex("010001000a0000000100")).0, Probe::NotForUs);
        assert_eq!(run_one::<NomachineDissector>(&f, b"NXSH-8.10.1\n").0, Probe::NotForUs);
        assert_eq!(run_one::<NomachineDissector>(&tcp([56019, 4000]), &hex("010001000a0000000000")).0, Probe::NotForUs);
    }

    #[test]
    fn other_lines_are_not_nomachine() {
        let f = tcp([48084, 4000]);
        assert_eq!(run_one::<NomachineDissector>(&f, b"NXD-x\n").0, Probe::NotForUs);
        assert_eq!(run_one::<NomachineDissector>(&f, b"NICK nx\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<NomachineDissector>(&udp([48084, 4000]), b"NXSH-8.10.1\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<NomachineDissector>(&tcp([1, 4000]), std::slice::from_ref(&p));
            no_panic::<NomachineDissector>(&udp([1, 4000]), &[p]);
        }
    }
}
