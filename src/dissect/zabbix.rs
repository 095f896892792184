//! Zabbix agent, proxy and server protocol (TCP, ports 10050 and 10051). Every message starts
//! with the header `ZBXD`, a flags byte (0x01 the protocol, 0x02 compressed, 0x04 large
//! packet), then the data length and the uncompressed length, both 32-bit little-endian (64-bit
//! with the large-packet flag).

use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const MAGIC: &[u8; 4] = b"ZBXD";
/// The protocol flag, always set, and the only other flags defined.
const FLAG_PROTOCOL: u8 = 0x01;
const FLAGS_KNOWN: u8 = 0x07;

/// Zabbix needs no state.
#[derive(Debug, Default)]
pub struct ZabbixDissector;

impl Dissector for ZabbixDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ZABBIX;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[MAGIC[0]]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() {
            return Probe::NotForUs;
        }
        match p.get(MAGIC.len()) {
            None if !p.is_empty() && MAGIC.starts_with(p) => Probe::Unsure,
            None => Probe::NotForUs,
            Some(&flags) => {
                Probe::certain_if(p.starts_with(MAGIC) && flags & FLAG_PROTOCOL != 0 && flags & !FLAGS_KNOWN == 0)
            }
        }
    }

    const PORTS: Ports = Ports::tcp(&[10050, 10051]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn zbxd_header_is_zabbix() {
        let f = tcp([57162, 10050]);
        // zabbix.pcap, 192.168.67.98:57162 → 192.168.67.25:10050: an agent check.
        let check = hex("5a425844010a0000000000000070726f632e6e756d5b5d");
        assert_eq!(run_one::<ZabbixDissector>(&f, &check).0, Probe::Certain);
        truncations::<ZabbixDissector>(&f, &check);
        assert_eq!(run_one::<ZabbixDissector>(&f, b"ZBX").0, Probe::Unsure);
        // 192.168.7.16:36699 → 192.168.7.17:10051: a compressed proxy message.
        let compressed = hex("5a425844034e00000045000000789caa56");
        assert_eq!(run_one::<ZabbixDissector>(&tcp([36699, 10051]), &compressed).0, Probe::Certain);
    }

    #[test]
    fn others_are_not() {
        let f = tcp([57162, 10050]);
        assert_eq!(run_one::<ZabbixDissector>(&f, b"ZBXD\x10\x00").0, Probe::NotForUs);
        assert_eq!(run_one::<ZabbixDissector>(&f, b"GET / HTTP/1.1\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<ZabbixDissector>(&udp([1, 10050]), b"ZBXD\x01\x00").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<ZabbixDissector>(&tcp([1, 10051]), &[p]);
        }
    }
}
