//! NoMachine's NX protocol (NoMachine 4 and later) as its `nxd` service speaks it, on
//! NoMachine's documented default port 4000 (TCP, and UDP for its multimedia channel). NoMachine
//! describes NX 4 as a text protocol compatible with NX 3's ahead of its TLS-protected session.
//! Both ends open it with a version line: the client `NXSH-` and its version (`NXSH-8.10.1`), the
//! server `NXD-` and its version, then the TLS handshake follows. The probe wants either banner
//! followed by a version digit, on any port; a flow on 4000 no dissector claims gets NoMachine as
//! its port guess (as nDPI guesses it there).

use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const BANNERS: [&[u8]; 2] = [b"NXSH-", b"NXD-"];

/// NoMachine needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct NomachineDissector;

impl Dissector for NomachineDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NOMACHINE;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"N");

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
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
    fn other_lines_are_not_nomachine() {
        let f = tcp([48084, 4000]);
        assert_eq!(run_one::<NomachineDissector>(&f, b"NXD-x\n").0, Probe::NotForUs);
        assert_eq!(run_one::<NomachineDissector>(&f, b"NICK nx\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<NomachineDissector>(&udp([48084, 4000]), b"NXSH-8.10.1\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<NomachineDissector>(&tcp([1, 4000]), &[p]);
        }
    }
}
