//! FIX, the Financial Information eXchange protocol (TCP, no fixed port). Every message is
//! `tag=value` fields each ended by SOH (0x01), and starts with the same three: BeginString
//! (`8=FIX.4.4`, `8=FIXT.1.1`, …), BodyLength (`9=` digits) and MsgType (`35=`).

use super::{protocol, Dissector, FlowInfo, Probe, Segment, Transports};

const SOH: u8 = 0x01;
/// Longest BeginString value and BodyLength digits taken for one.
const MAX_BEGIN: usize = 16;
const MAX_LENGTH_DIGITS: usize = 8;

/// FIX needs no state.
#[derive(Debug, Default)]
pub struct FixDissector;

/// The value of field `tag` at the start of `p` (up to its SOH) and what follows the SOH.
fn field<'a>(p: &'a [u8], tag: &[u8], max: usize) -> Option<(&'a [u8], &'a [u8])> {
    let rest = p.strip_prefix(tag)?;
    let end = rest.iter().take(max + 1).position(|&b| b == SOH)?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// `p` starts with a FIX message header; `None` when it is too short to tell.
fn header(p: &[u8]) -> Option<bool> {
    const BEGIN: &[u8] = b"8=";
    let Some((begin, rest)) = field(p, BEGIN, MAX_BEGIN) else {
        let undecided = p.starts_with(BEGIN) && p.len() < BEGIN.len() + MAX_BEGIN + 1;
        return if undecided { None } else { Some(false) };
    };
    if begin.is_empty() || !begin.iter().all(|b| b.is_ascii_graphic()) {
        return Some(false);
    }
    let Some((length, rest)) = field(rest, b"9=", MAX_LENGTH_DIGITS) else {
        return Some(false);
    };
    Some(!length.is_empty() && length.iter().all(u8::is_ascii_digit) && rest.starts_with(b"35="))
}

impl Dissector for FixDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::FIX;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if !flow.is_tcp() {
            return Probe::NotForUs;
        }
        match header(segment.payload) {
            Some(yes) => Probe::certain_if(yes),
            None => Probe::Unsure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn logon_is_fix() {
        // fix2.pcap, 10.101.0.2:34962 → 10.102.0.2:1024: a logon's first fields.
        let f = tcp([34962, 1024]);
        let logon = b"8=FIXT.1.1\x019=62\x0135=A\x0149=9oXwVxvmzqsLFaE\x01";
        assert_eq!(run_one::<FixDissector>(&f, logon).0, Probe::Certain);
        truncations::<FixDissector>(&f, logon);
        assert_eq!(run_one::<FixDissector>(&f, b"8=FIX.4").0, Probe::Unsure);
        // fix.pcap, 208.245.107.3:4000 → 192.168.0.20:45578: a test request.
        let test = b"8=FIX.4.1\x019=00014\x0135=1\x01112=farm\x0110=217\x01";
        assert_eq!(run_one::<FixDissector>(&tcp([4000, 45578]), test).0, Probe::Certain);
    }

    #[test]
    fn others_are_not() {
        let f = tcp([34962, 1024]);
        for p in [&b"8=FIX.4.1\x019=x\x0135=1\x01"[..], b"8=FIX.4.1\x0110=217\x01", b"GET / HTTP/1.1\r\n", b"8"] {
            assert_eq!(run_one::<FixDissector>(&f, p).0, Probe::NotForUs, "{p:?}");
        }
        assert_eq!(run_one::<FixDissector>(&udp([1, 2]), b"8=FIX.4.1\x019=1\x0135=1\x01").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<FixDissector>(&tcp([1, 2]), &[p]);
        }
    }
}
