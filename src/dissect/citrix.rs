//! Citrix ICA, the remote display protocol of Citrix Virtual Apps and Desktops, on its
//! IANA-registered port `ica` 1494 (TCP). An ICA connection opens with the detection string
//! both sides send before anything else: the bytes `7f 7f` followed by `ICA` and a NUL. The
//! probe wants that string at the start of a payload, on any port; a flow on 1494 that no
//! dissector claims gets Citrix as its port guess. ICA inside Citrix's Common Gateway Protocol
//! (port 2598) opens differently and is not covered.

use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const DETECT: &[u8] = b"\x7f\x7fICA\x00";

/// ICA needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct CitrixDissector;

impl Dissector for CitrixDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::CITRIX;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[DETECT[0]]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.len() < DETECT.len() {
            return if DETECT.starts_with(p) { Probe::Unsure } else { Probe::NotForUs };
        }
        Probe::certain_if(p.starts_with(DETECT))
    }

    const PORTS: Ports = Ports::tcp(&[1494]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_detection_string_names_the_flow() {
        // citrix.pcap, 22.0.0.7:1494 → 21.0.0.8:45225: the server's, then the client's.
        let f = tcp([45225, 1494]);
        assert_eq!(run_one::<CitrixDissector>(&f, &hex("7f7f49434100")).0, Probe::Certain);
        assert_eq!(run_one::<CitrixDissector>(&tcp([45225, 2000]), &hex("7f7f494341000a")).0, Probe::Certain);
        assert_eq!(run_one::<CitrixDissector>(&f, &hex("7f7f49")).0, Probe::Unsure);
        assert!(CitrixDissector::port_hint(&tcp([36050, 1494])));
        truncations::<CitrixDissector>(&f, &hex("7f7f49434100"));
    }

    #[test]
    fn other_payloads_are_not_ica() {
        let f = tcp([45225, 1494]);
        assert_eq!(run_one::<CitrixDissector>(&f, &hex("7f7f49434101")).0, Probe::NotForUs);
        assert_eq!(run_one::<CitrixDissector>(&f, &hex("7f7e")).0, Probe::NotForUs);
        assert_eq!(run_one::<CitrixDissector>(&f, &hex("000f00070002040006000200030004000100")).0, Probe::NotForUs);
        assert_eq!(run_one::<CitrixDissector>(&udp([45225, 1494]), &hex("7f7f49434100")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<CitrixDissector>(&tcp([1, 1494]), &[p]);
        }
    }
}
