//! The Media Gateway Control Protocol (RFC 3435), Netify's `MGCP` (94): call agents drive
//! media gateways over UDP, gateways listening on port 2427 and call agents on 2727.
//!
//! A command is text whose first line is `<verb> <transaction id> <endpoint> MGCP <version>`
//! (RFC 3435 §3.2.1): the verb one of EPCF, CRCX, MDCX, DLCX, RQNT, NTFY, AUEP, AUCX, RSIP,
//! the transaction ID 1 to 9 digits, the endpoint `local-name@domain` (§2.1.1), the version
//! `1.0` possibly followed by a profile. nDPI's wire facts: one of those verbs and a space,
//! two more space-separated words then `MGCP `, the datagram ending in CR or LF. flowsieve
//! checks the whole command line as RFC 3435 gives it. A response (§3.3) is `<3-digit code>
//! <transaction id>` and an optional commentary: too plain to stand alone (many text
//! protocols open with a 3-digit code), so it names a flow only on an MGCP port.

use super::text::split_line;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const VERBS: [&[u8]; 9] = [b"EPCF", b"CRCX", b"MDCX", b"DLCX", b"RQNT", b"NTFY", b"AUEP", b"AUCX", b"RSIP"];
const MAX_TRANSACTION_DIGITS: usize = 9;

/// MGCP needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct MgcpDissector;

fn transaction_id(word: &[u8]) -> bool {
    (1..=MAX_TRANSACTION_DIGITS).contains(&word.len()) && word.iter().all(u8::is_ascii_digit)
}

/// A command line: verb, transaction ID, `local@domain`, `MGCP 1.0` and perhaps a profile.
fn command(line: &[u8]) -> bool {
    let mut words = line.split(|&b| b == b' ');
    let (Some(verb), Some(id), Some(endpoint), Some(mgcp), Some(version)) =
        (words.next(), words.next(), words.next(), words.next(), words.next())
    else {
        return false;
    };
    let endpoint_ok = match endpoint.iter().position(|&b| b == b'@') {
        Some(at) => at > 0 && at + 1 < endpoint.len() && endpoint.iter().all(u8::is_ascii_graphic),
        None => false,
    };
    VERBS.contains(&verb) && transaction_id(id) && endpoint_ok && mgcp == b"MGCP" && version == b"1.0"
}

/// A response line: a 3-digit code, a transaction ID, and an optional commentary.
fn response(line: &[u8]) -> bool {
    let code = line.get(..3).is_some_and(|c| c.iter().all(u8::is_ascii_digit));
    let rest = line.get(3..).unwrap_or_default();
    let Some(rest) = rest.strip_prefix(b" ") else { return false };
    let id_len = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    code && rest.get(..id_len).is_some_and(transaction_id)
}

impl Dissector for MgcpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MGCP;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"ACDEMNR0123456789");
    const PORTS: Ports = Ports::udp(&[2427, 2727]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if !flow.is_udp() {
            return Probe::NotForUs;
        }
        let Some((line, _)) = split_line(segment.payload) else { return Probe::NotForUs };
        Probe::certain_if(command(line) || (Self::port_hint(flow) && response(line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    const RQNT: &[u8] = b"RQNT 1201 aaln/1@rgw-2567.whatever.net MGCP 1.0\r\nN: ca@ca1.whatever.net:5678\r\nX: 0123456789AC\r\nR: l/hd(N)\r\n";

    #[test]
    fn commands_and_responses_are_mgcp() {
        let f = udp([2727, 2427]);
        assert_eq!(run_one::<MgcpDissector>(&f, RQNT).0, Probe::Certain);
        // Off the MGCP ports too, with a profile after the version, with bare LF.
        let off = udp([40000, 40001]);
        assert_eq!(run_one::<MgcpDissector>(&off, RQNT).0, Probe::Certain);
        assert_eq!(
            run_one::<MgcpDissector>(&off, b"RSIP 5200 aaln/1@rgw.example.net MGCP 1.0 NCS 1.0\nRM: restart\n").0,
            Probe::Certain
        );
        // Responses on the ports only.
        assert_eq!(run_one::<MgcpDissector>(&f, b"200 1201 OK\r\n").0, Probe::Certain);
        assert_eq!(run_one::<MgcpDissector>(&f, b"200 1201\r\n").0, Probe::Certain);
        assert_eq!(run_one::<MgcpDissector>(&off, b"200 1201 OK\r\n").0, Probe::NotForUs);
        truncations::<MgcpDissector>(&f, RQNT);
    }

    #[test]
    fn near_misses_are_not_mgcp() {
        let f = udp([2727, 2427]);
        for p in [
            &b"RQNT 1201 aaln/1@rgw-2567.whatever.net MGCP 1.0"[..],
            b"RQNX 1201 aaln/1@rgw MGCP 1.0\r\n",
            b"RQNT 12a1 aaln/1@rgw MGCP 1.0\r\n",
            b"RQNT 1234567890 aaln/1@rgw MGCP 1.0\r\n",
            b"RQNT 1201 aaln/1 MGCP 1.0\r\n",
            b"RQNT 1201 aaln/1@rgw MGCP 2.0\r\n",
            b"rqnt 1201 aaln/1@rgw MGCP 1.0\r\n",
            b"200 OK\r\n",
            b"20 1201\r\n",
            // SIP and FTP lines are not claimed.
            b"INVITE sip:bob@example.com SIP/2.0\r\n",
            b"220 ProFTPD Server ready.\r\n",
        ] {
            assert_eq!(run_one::<MgcpDissector>(&f, p).0, Probe::NotForUs, "{}", String::from_utf8_lossy(p));
        }
        assert_eq!(run_one::<MgcpDissector>(&tcp([2727, 2427]), RQNT).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<MgcpDissector>(&udp([1, 2427]), &[p]);
        }
    }
}
