//! NetBIOS dissector (RFC 1002): the name service (UDP 137, §4.2), the datagram service (UDP
//! 138, §4.4) and the session service (TCP 139, §4.3). Names are "first-level encoded": a
//! length byte 32 and 32 characters `A`–`P`.
//!
//! A flow whose first message carries SMB is named by the SMB it carries: `SMBv1` for
//! `\xffSMB` (MS-CIFS §2.2.3.1), `SMBv23` for `\xfeSMB` (MS-SMB2 §2.2.1), in a session message
//! (TCP 139, and direct-hosted SMB on 445, whose 4-byte header has the same shape) or in a
//! datagram's user data after its two names (UDP 138: the browser protocol's mailslot
//! messages, MS-BRWS). nDPI names these `NetBIOS.SMBv1` and `NetBIOS.SMBv23`.
//!
//! A datagram on port 138 whose header holds together (type, `DGM_LENGTH` equal to the rest
//! of the datagram, a source name of the encoded length) is NetBIOS even when its names'
//! characters are not the first-level encoding's `A`–`P`; its user data, found by the names'
//! label lengths, names SMB as above. nDPI names every such datagram with user data after
//! the names `NetBIOS.SMBv1`, whatever the data is; flowsieve names SMB only when the user
//! data opens with SMB's protocol identifier (docs/FLOW-ACTIONS.md, "HTTP and NetBIOS
//! naming").

use super::reader::be_u16_at;
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

/// NetBIOS needs no state.
#[derive(Debug, Default)]
pub struct NetbiosDissector;

/// An encoded NetBIOS name at `at` (RFC 1002 §4.1).
fn encoded_name_at(p: &[u8], at: usize) -> bool {
    p.get(at) == Some(&32) && p.get(at + 1..at + 33).is_some_and(|n| n.iter().all(|b| (b'A'..=b'P').contains(b)))
}

/// Decode a first-level encoded name (RFC 1001 §14.1): each byte is two letters `A`+nibble.
/// The 16th byte is the NetBIOS suffix (name type) and padding is spaces; both are dropped.
fn decode_name(p: &[u8], at: usize) -> Option<Box<str>> {
    if !encoded_name_at(p, at) {
        return None;
    }
    let encoded = p.get(at + 1..at + 33)?;
    let mut name = [0u8; 16];
    for (i, pair) in encoded.chunks_exact(2).enumerate() {
        name[i] = ((pair[0] - b'A') << 4) | (pair[1] - b'A');
    }
    // Names are padded with spaces; the wildcard `*` (RFC 1002 §4.2.18, node status) with NULs.
    let first15 = name.get(..15)?;
    let end = first15.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let text = super::text::trim(first15.get(..end)?);
    if text.is_empty() || !text.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return None;
    }
    Some(super::text::fact_string(text, 15).to_ascii_lowercase().into_boxed_str())
}

fn name_service(p: &[u8]) -> bool {
    // Header of 12 bytes like DNS; one question or one answer whose name is encoded.
    let (Some(&flags_hi), Some(counts)) = (p.get(2), p.get(4..12)) else { return false };
    let opcode = (flags_hi >> 3) & 0xf;
    let (Some(qd), Some(an)) = (be_u16_at(counts, 0), be_u16_at(counts, 2)) else { return false };
    matches!(opcode, 0 | 5 | 6 | 7 | 8) && (qd == 1 || an == 1) && qd <= 1 && an <= 1 && encoded_name_at(p, 12)
}

fn datagram_service(p: &[u8]) -> bool {
    // Direct unique/group/broadcast datagrams carry the source name at offset 14.
    matches!(p.first(), Some(0x10..=0x12)) && encoded_name_at(p, 14)
        || matches!(p.first(), Some(0x13..=0x16)) && p.len() <= 11 + 34 && p.len() >= 10 && encoded_name_at(p, 10)
}

/// The datagram service's port (RFC 1002 §4.4: the source port field holds it too).
const DATAGRAM_PORT: u16 = 138;

/// A direct datagram's header (RFC 1002 §4.4.1) that holds together whatever its names'
/// characters are: type 0x10–0x12, the `DGM_LENGTH` field equal to what follows the 14-byte
/// header, and a source name of the encoded length (32) after it. nDPI's rule for port 138
/// is this header's length and type (and the `SOURCE_IP` field equal to the packet's source).
fn datagram_header(p: &[u8]) -> bool {
    matches!(p.first(), Some(0x10..=0x12))
        && p.get(14) == Some(&32)
        && be_u16_at(p, 10).is_some_and(|len| Some(usize::from(len)) == p.len().checked_sub(14))
}

fn session_service(p: &[u8]) -> bool {
    // Session request (0x81) with called and calling names; keep-alive and responses are too
    // short to tell from anything else. A session message (0x00) carrying SMB (`\xffSMB`,
    // SMB2/3 `\xfeSMB`, MS-SMB2 §2.1) is what direct-hosted SMB on port 445 sends too; nDPI
    // files those flows under NetBIOS, so do we.
    let request = p.first() == Some(&0x81) && p.get(1) == Some(&0) && encoded_name_at(p, 4);
    let smb = p.first() == Some(&0) && matches!(p.get(4..8), Some(b"\xffSMB" | b"\xfeSMB"));
    request || smb
}

/// Whether `id` names the SMB a NetBIOS flow carries (what nDPI calls `NetBIOS.SMBv1`).
pub fn is_carried_by_netbios(id: protocol::ProtocolId) -> bool {
    id == protocol::SMBV1 || id == protocol::SMBV23
}

/// The end of the NetBIOS name at `at`: its labels (the encoded name, then any scope labels,
/// RFC 1002 §4.1) up to the zero length.
fn name_end(p: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = usize::from(*p.get(at)?);
        if len == 0 {
            return Some(at + 1);
        }
        if len > 63 {
            return None;
        }
        at += 1 + len;
    }
}

/// The SMB a NetBIOS message carries: a session message's payload, or a direct datagram's user
/// data after the source and destination names (RFC 1002 §4.4.2).
fn carried_smb(p: &[u8], udp: bool) -> Option<protocol::ProtocolId> {
    let smb = if udp {
        if !matches!(p.first(), Some(0x10..=0x12)) || !(encoded_name_at(p, 14) || datagram_header(p)) {
            return None;
        }
        let destination = name_end(p, 14)?;
        if p.get(destination) != Some(&32) {
            return None;
        }
        let data = name_end(p, destination)?;
        p.get(data..data + 4)?
    } else {
        if p.first() != Some(&0) {
            return None;
        }
        p.get(4..8)?
    };
    match smb {
        b"\xffSMB" => Some(protocol::SMBV1),
        b"\xfeSMB" => Some(protocol::SMBV23),
        _ => None,
    }
}

impl Dissector for NetbiosDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NETBIOS;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let yes = if flow.is_udp() {
            name_service(p) || datagram_service(p) || flow.has_port(DATAGRAM_PORT) && datagram_header(p)
        } else {
            flow.is_tcp() && session_service(p)
        };
        Probe::certain_if(yes)
    }

    const PORTS: Ports = Ports { tcp: &[139, 445], udp: &[137, 138] };

    /// The queried (name service) or sending (datagram service) NetBIOS name becomes the
    /// flow's hostname, lower case, as nDPI reports it.
    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        if let Some(smb) = carried_smb(p, segment.tcp_seq.is_none()) {
            facts.protocol = smb;
        }
        if facts.detected_hostname().is_none() && segment.tcp_seq.is_none() {
            let at = if name_service(p) {
                Some(12)
            } else if datagram_service(p) {
                Some(if matches!(p.first(), Some(0x10..=0x12)) { 14 } else { 10 })
            } else {
                None
            };
            if let Some(name) = at.and_then(|at| decode_name(p, at)) {
                facts.set_detected_hostname(name);
            }
        }
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn carried_smb_names_the_flow() {
        // netbios.pcap in nDPI's corpus, 10.0.5.9:138 → 10.0.5.255:138 (nDPI: NetBIOS.SMBv1): a
        // browser announcement, SMB after the source and destination names.
        let mut d = vec![0x11, 0x0e, 0xc2, 0xf4, 10, 0, 5, 9, 0, 0x8a, 0, 0xbb, 0, 0];
        d.push(32);
        d.extend_from_slice(b"EOFGFCDJCACACACACACACACACACACACA");
        d.push(0);
        d.push(32);
        d.extend_from_slice(b"FGEJEHEJEMEBEOFEFPEHFCEPFFFACABN");
        d.push(0);
        d.extend_from_slice(b"\xffSMB%\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x11\0\0!\0\0");
        let (probe, _, f) = run_one::<NetbiosDissector>(&udp([138, 138]), &d);
        assert_eq!(probe, Probe::Certain);
        assert_eq!(f.protocol, protocol::SMBV1);
        assert_eq!(f.detected_hostname(), Some("nvr9"), "the source name is still read");
        // A datagram without SMB in it stays NetBIOS (the registry's name).
        let mut plain = d.clone();
        plain.truncate(14 + 68);
        plain.extend_from_slice(b"data");
        assert_eq!(run_one::<NetbiosDissector>(&udp([138, 138]), &plain).2.protocol, protocol::UNKNOWN);
        // A scope label after the name is skipped; a cut name names nothing.
        assert_eq!(name_end(b"\x02ab\x03cde\x00x", 0), Some(8));
        assert_eq!(name_end(b"\x02ab\x03cd", 0), None);
        truncations::<NetbiosDissector>(&udp([138, 138]), &d);
        // smbv1.pcap (nDPI: NetBIOS.SMBv1) and smb_deletefile.pcap (NetBIOS.SMBv23): session
        // messages on 445.
        let negotiate = b"\x00\x00\x00\x85\xffSMBr\x00\x00\x00\x00\x18S\xc0";
        let (probe, _, f) = run_one::<NetbiosDissector>(&tcp([50927, 445]), negotiate);
        assert_eq!((probe, f.protocol), (Probe::Certain, protocol::SMBV1));
        let smb2 = b"\x00\x00\x01x\xfeSMB@\x00\x01\x00";
        assert_eq!(run_one::<NetbiosDissector>(&tcp([56848, 445]), smb2).2.protocol, protocol::SMBV23);
        assert!(is_carried_by_netbios(protocol::SMBV1) && !is_carried_by_netbios(protocol::NETBIOS));
    }

    /// fuzz-2006-06-26-2594.pcap in nDPI's corpus, 192.168.1.2:138 → 192.168.1.255:138 (nDPI:
    /// NetBIOS.SMBv1): a browser announcement whose names a fuzzer changed a byte in each
    /// (`\xb6`, `8`), its header and SMB intact.
    const MANGLED: &str = concat!(
        "110e8527c0a80102008a00bb000020454544414441444344454447444643b64341434143414341434143414341",
        "4341002045464544454a465045454538454e4542454a454f43414341434143414341424e00ff534d4225360000",
        "00000000000000000000000000000000000000000000000000000021000000000000000000e803000000000000",
        "000021045600030001000000020036005c4d41494c534c4f545c42524f57534500010080fc0a00443030323436",
        "350000000000000000000500036100000f0155aa00",
    );

    #[test]
    fn a_whole_datagram_header_names_smb_whatever_its_names() {
        let d = hex(MANGLED);
        let f = udp([138, 138]);
        let (probe, _, facts) = run_one::<NetbiosDissector>(&f, &d);
        assert_eq!((probe, facts.protocol), (Probe::Certain, protocol::SMBV1));
        assert_eq!(facts.detected_hostname(), None, "a name that is not first-level encoded names no host");
        truncations::<NetbiosDissector>(&f, &d);
        // Near misses: DGM_LENGTH one off, another port, another message type.
        let mut long = d.clone();
        long.push(0);
        assert_eq!(run_one::<NetbiosDissector>(&f, &long).0, Probe::NotForUs);
        assert_eq!(run_one::<NetbiosDissector>(&udp([5000, 5001]), &d).0, Probe::NotForUs);
        let mut error = d.clone();
        error[0] = 0x13;
        assert_eq!(run_one::<NetbiosDissector>(&f, &error).0, Probe::NotForUs);
        // User data that is not SMB (nDPI would still say SMBv1): NetBIOS only.
        let mut other = d.clone();
        other[82] = 0xaa;
        let (probe, _, facts) = run_one::<NetbiosDissector>(&f, &other);
        assert_eq!((probe, facts.protocol), (Probe::Certain, protocol::UNKNOWN));
    }

    #[test]
    fn wildcard_node_status_query() {
        // netbios.pcap in nDPI's corpus: NBSTAT query for `*` (0x2a then 15 NULs, "CKAAAA…").
        let mut p = vec![0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0x20, b'C', b'K'];
        p.extend_from_slice(&[b'A'; 30]);
        p.extend_from_slice(&[0, 0, 0x21, 0, 1]);
        let (probe, _, f) = run_one::<NetbiosDissector>(&udp([137, 137]), &p);
        assert_eq!(probe, Probe::Certain);
        assert_eq!(f.detected_hostname(), Some("*"));
    }

    fn name_query() -> Vec<u8> {
        let mut m = vec![0x80, 0x01, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 32];
        m.extend_from_slice(b"FHEPFCELEHFCEPFFFACACACACACACAAA");
        m.extend_from_slice(&[0, 0, 0x20, 0, 1]);
        m
    }

    #[test]
    fn name_query_and_session_request() {
        let (probe, _, facts) = run_one::<NetbiosDissector>(&udp([137, 137]), &name_query());
        assert_eq!(probe, Probe::Certain);
        assert_eq!(facts.detected_hostname(), Some("workgroup"));
        let mut s = vec![0x81, 0, 0, 68, 32];
        s.extend_from_slice(&[b'C'; 32]);
        s.push(0);
        assert_eq!(run_one::<NetbiosDissector>(&tcp([40000, 139]), &s).0, Probe::Certain);
        assert_eq!(run_one::<NetbiosDissector>(&tcp([40000, 445]), b"\0\0\0\x40\xfeSMB").0, Probe::Certain);
        let mut bad = name_query();
        bad[20] = b'z';
        assert_eq!(run_one::<NetbiosDissector>(&udp([137, 137]), &bad).0, Probe::NotForUs);
        truncations::<NetbiosDissector>(&udp([137, 137]), &name_query());
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..100), udp_flow in any::<bool>()) {
            let f = if udp_flow { udp([137, 138]) } else { tcp([1, 139]) };
            no_panic::<NetbiosDissector>(&f, &[p]);
        }
    }
}
