//! tinc, the VPN daemon's meta protocol (tinc's manual, "The meta-protocol"), TCP port 655.
//!
//! A meta connection opens with an ID request from each side, one text line:
//! `0 <name> <protocol major>.<minor>\n` (request 0 is ID; the name is letters, digits and
//! underscores; tinc 1.0 speaks protocol 17, 1.1 also 17.x). The probe wants that line whole.
//! The VPN packets tinc then sends over UDP are encrypted: only a connection tracker that saw
//! the meta connection could name them.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

/// The ID request's number and separator.
const ID: &[u8] = b"0 ";
/// Longest ID line we read: a name tinc accepts fits well inside.
const MAX_LINE: usize = 256;

/// tinc needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct TincDissector;

/// `line` (without its newline) is `<name> <major>[.<minor>]`.
fn id_fields(line: &[u8]) -> bool {
    let mut fields = line.split(|&b| b == b' ');
    let (Some(name), Some(version), None) = (fields.next(), fields.next(), fields.next()) else {
        return false;
    };
    let name_ok = !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    let mut numbers = version.split(|&b| b == b'.');
    let major_ok = numbers.next().is_some_and(|m| m == b"17");
    name_ok && major_ok && numbers.all(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit))
}

impl Dissector for TincDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TINC;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.is_empty() || !(p.starts_with(ID) || ID.starts_with(p)) {
            return Probe::NotForUs;
        }
        match p.iter().position(|&b| b == b'\n') {
            Some(end) => Probe::certain_if(id_fields(&p[ID.len().min(end)..end])),
            None if p.len() < MAX_LINE => Probe::Unsure,
            None => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::both(&[655]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn id_requests_name_the_flow() {
        // tinc.pcap, 131.114.168.27:59244 → 185.83.218.112:55655 and the answer.
        let f = tcp([59244, 55655]);
        assert_eq!(run_one::<TincDissector>(&f, &hex("30207468696e6b2031370a")).0, Probe::Certain);
        assert_eq!(run_one::<TincDissector>(&f, &hex("3020696e697a2031370a")).0, Probe::Certain);
        assert_eq!(run_one::<TincDissector>(&f, &hex("3020742031370a")).0, Probe::Certain);
        assert_eq!(run_one::<TincDissector>(&f, b"0 node_1 17.7\n").0, Probe::Certain);
        assert_eq!(run_one::<TincDissector>(&f, b"0 thin").0, Probe::Unsure);
        truncations::<TincDissector>(&f, &hex("30207468696e6b2031370a"));
    }

    #[test]
    fn other_lines_are_not_tinc() {
        let f = tcp([59244, 655]);
        for p in
            [&b"0 name 18\n"[..], b"0 na-me 17\n", b"0  17\n", b"0 name 17 extra\n", b"1 name 17\n", b"0 name 17.\n"]
        {
            assert_eq!(run_one::<TincDissector>(&f, p).0, Probe::NotForUs, "{}", String::from_utf8_lossy(p));
        }
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<TincDissector>(&tcp([1, 655]), &[p]);
        }
    }
}
