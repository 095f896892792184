//! OpenWire, Apache ActiveMQ's native wire format (ActiveMQ's "OpenWire Version 2
//! Specification"; TCP port 61616). nDPI calls it `OpenWire`.
//!
//! Each side opens the connection with a `WireFormatInfo` command to negotiate the format: as
//! every command, a 32-bit big-endian size (size prefixing is on until negotiated otherwise)
//! and a data type byte — 1 for `WireFormatInfo` — then its magic, the eight ASCII bytes
//! `ActiveMQ`, the version (32 bits) and the marshalled options. The probe wants that command:
//! the type, the magic, and a size that covers at least the magic and the version (and is
//! under 16 MiB).

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const WIRE_FORMAT_INFO: u8 = 1;
const MAGIC: &[u8; 8] = b"ActiveMQ";
/// Type, magic and version after the size.
const MIN_SIZE: u32 = 1 + 8 + 4;
/// A negotiation command is small: its size's first byte is zero (see `FIRST_BYTES`).
const MAX_SIZE: u32 = 1 << 24;

/// OpenWire needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct OpenwireDissector;

impl Dissector for OpenwireDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::OPENWIRE;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let info = be_u32_at(p, 0).is_some_and(|size| (MIN_SIZE..MAX_SIZE).contains(&size))
            && p.get(4) == Some(&WIRE_FORMAT_INFO)
            && p.get(5..13) == Some(&MAGIC[..]);
        Probe::certain_if(info)
    }

    const PORTS: Ports = Ports::tcp(&[61616]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// openwire.pcapng, [::1]:51157 → [::1]:61616: the client's `WireFormatInfo`, version 10,
    /// first option `CacheEnabled` (the capture's first 32 bytes; the size says 218).
    const INFO: &str = "000000da014163746976654d510000000a01000000c800000008000c4361636865";

    #[test]
    fn wire_format_info_is_openwire() {
        for f in [tcp([51157, 61616]), tcp([51157, 5000])] {
            assert_eq!(run_one::<OpenwireDissector>(&f, &hex(INFO)).0, Probe::Certain);
        }
        truncations::<OpenwireDissector>(&tcp([51157, 61616]), &hex(INFO));
    }

    #[test]
    fn other_commands_are_not_named() {
        let f = tcp([51157, 61616]);
        // Another command type (a ConnectionInfo, 3); a changed magic; a size too small; UDP.
        let mut p = hex(INFO);
        p[4] = 3;
        assert_eq!(run_one::<OpenwireDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = hex(INFO);
        p[12] = b'q';
        assert_eq!(run_one::<OpenwireDissector>(&f, &p).0, Probe::NotForUs);
        let mut p = hex(INFO);
        p[3] = 12;
        assert_eq!(run_one::<OpenwireDissector>(&f, &p).0, Probe::NotForUs);
        assert_eq!(run_one::<OpenwireDissector>(&udp([51157, 61616]), &hex(INFO)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<OpenwireDissector>(&tcp([1, 61616]), &[p]);
        }
    }
}
