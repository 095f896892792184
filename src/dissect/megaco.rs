//! Megaco / H.248 in its text encoding (RFC 3525 annex B, ITU-T H.248.1), UDP and TCP ports
//! 2944 (text) and 2945 (binary). A text message starts with the protocol token — `MEGACO` or
//! its compact form `!` — a slash, the version and a separator before the sender's mId
//! (`MEGACO/1 [10.0.0.1]:2944`, `!/1 <mg1>`). The probe wants that start.

use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const TOKENS: [&[u8]; 2] = [b"MEGACO/", b"!/"];

/// Megaco needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct MegacoDissector;

impl Dissector for MegacoDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MEGACO;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"M!");

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        for token in TOKENS {
            let rest = p.get(token.len()..);
            match rest {
                Some(rest) if p.starts_with(token) => {
                    return match rest {
                        [version, sep, ..] => {
                            Probe::certain_if(version.is_ascii_digit() && matches!(sep, b' ' | b'\t' | b'\r' | b'\n'))
                        }
                        [version] if version.is_ascii_digit() => Probe::Unsure,
                        [] => Probe::Unsure,
                        _ => Probe::NotForUs,
                    }
                }
                None if token.starts_with(p) => return Probe::Unsure,
                _ => {}
            }
        }
        Probe::NotForUs
    }

    const PORTS: Ports = Ports::both(&[2944, 2945]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// FAX-Call-t38-CA-TDM-SIP-FB-1.pcap, 10.35.40.22:2944 → 10.23.1.42:2944: a compact-form
    /// transaction.
    const COMPACT: &[u8] = b"!/1 <iMSS>\nT=5552827713{C=-{AV=DS/1/5{AT{M}}}}";

    #[test]
    fn text_messages_name_the_flow() {
        let f = udp([2944, 2944]);
        assert_eq!(run_one::<MegacoDissector>(&f, COMPACT).0, Probe::Certain);
        assert_eq!(run_one::<MegacoDissector>(&f, b"MEGACO/1 [10.0.0.1]:2944\r\n").0, Probe::Certain);
        assert_eq!(run_one::<MegacoDissector>(&tcp([40000, 2944]), b"MEGA").0, Probe::Unsure);
        truncations::<MegacoDissector>(&f, COMPACT);
    }

    #[test]
    fn other_text_is_not_megaco() {
        let f = udp([2944, 2944]);
        assert_eq!(run_one::<MegacoDissector>(&f, b"!/x <a>").0, Probe::NotForUs);
        assert_eq!(run_one::<MegacoDissector>(&f, b"!/1<a>").0, Probe::NotForUs);
        assert_eq!(run_one::<MegacoDissector>(&f, b"MEGABYTES").0, Probe::NotForUs);
        assert_eq!(run_one::<MegacoDissector>(&f, b"!!").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            let mut q = b"!/".to_vec();
            q.extend_from_slice(&p);
            no_panic::<MegacoDissector>(&udp([1, 2944]), &[p, q]);
        }
    }
}
