//! Syslog dissector (RFC 5424 §6, RFC 3164 §4.1): a message opens with `<PRI>`, PRI a decimal
//! number from 0 to 191 without leading zeros, followed by a version digit or a timestamp /
//! text.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

/// Syslog needs no state.
#[derive(Debug, Default)]
pub struct SyslogDissector;

/// Length of a valid `<PRI>` at the start of `p` (brackets included), if there is one.
fn pri_len(p: &[u8]) -> Option<usize> {
    if p.first() != Some(&b'<') {
        return None;
    }
    let digits = p.iter().skip(1).take(4).take_while(|b| b.is_ascii_digit()).count();
    if !(1..=3).contains(&digits) || p.get(1 + digits) != Some(&b'>') {
        return None;
    }
    let text = p.get(1..1 + digits)?;
    if digits > 1 && text.first() == Some(&b'0') {
        return None;
    }
    let value = text.iter().fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
    (value <= 191).then_some(digits + 2)
}

/// A message header strict enough for TCP, where `<` opens many other things: `<PRI>` then
/// RFC 5424's version `1`, a space and a timestamp (or `-`), or RFC 3164's month.
fn strict_header(m: &[u8]) -> bool {
    let Some(n) = pri_len(m) else { return false };
    let rest = m.get(n..).unwrap_or_default();
    let rfc5424 = rest.starts_with(b"1 ") && rest.get(2).is_some_and(|&b| b.is_ascii_digit() || b == b'-');
    const MONTHS: [&[u8; 3]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    let rfc3164 = rest.get(3) == Some(&b' ') && rest.get(..3).is_some_and(|mon| MONTHS.iter().any(|m| &m[..] == mon));
    rfc5424 || rfc3164
}

/// Syslog over TCP (RFC 6587 §3.4): octet counting (`LEN SP MSG`, the count within the
/// segment's bytes) or non-transparent framing (the message ends with LF).
fn tcp_message(p: &[u8]) -> bool {
    let digits = p.iter().take(6).take_while(|b| b.is_ascii_digit()).count();
    if (1..=5).contains(&digits) && p.get(digits) == Some(&b' ') && p.first() != Some(&b'0') {
        let len = p.get(..digits).unwrap_or_default().iter().fold(0usize, |v, d| v * 10 + usize::from(d - b'0'));
        let msg = p.get(digits + 1..).unwrap_or_default();
        return len <= msg.len() && strict_header(msg);
    }
    strict_header(p) && p.last() == Some(&b'\n')
}

impl Dissector for SyslogDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SYSLOG;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    /// Certain for `<PRI>` followed by a printable character over UDP; over TCP for a framed
    /// message with a full RFC 5424 or RFC 3164 header (see [`tcp_message`]).
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if flow.is_tcp() {
            return Probe::certain_if(tcp_message(p));
        }
        if !flow.is_udp() {
            return Probe::NotForUs;
        }
        match pri_len(p) {
            Some(n) if p.get(n).is_some_and(|b| b.is_ascii_graphic() || *b == b' ') => Probe::Certain,
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports { tcp: &[514, 601, 6514], udp: &[514, 601] };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn priorities() {
        let f = udp([40000, 514]);
        assert_eq!(
            run_one::<SyslogDissector>(&f, b"<34>1 2003-10-11T22:14:15.003Z host su - ID47 - msg").0,
            Probe::Certain
        );
        assert_eq!(run_one::<SyslogDissector>(&f, b"<13>Oct 11 22:14:15 host prog: x").0, Probe::Certain);
        assert_eq!(run_one::<SyslogDissector>(&f, b"<192>x").0, Probe::NotForUs);
        assert_eq!(run_one::<SyslogDissector>(&f, b"<013>x").0, Probe::NotForUs);
        assert_eq!(run_one::<SyslogDissector>(&f, b"<html>").0, Probe::NotForUs);
        truncations::<SyslogDissector>(&f, b"<34>1 x");
    }

    #[test]
    fn over_tcp() {
        // nDPI's syslog.pcap, flow 7: a non-transparently framed RFC 5424 message on TCP 52173.
        let msg = b"<22>1 2021-04-18T14:51:48+04:00 iPhone7,2 com.dts.freefireth - - - [1.60.1-4.0.5] \
                    <60BF7143-144> <+[BeeTalk handleDidBecomeActive]:321>\n";
        let f = tcp([49948, 52173]);
        assert_eq!(run_one::<SyslogDissector>(&f, msg).0, Probe::Certain);
        // Octet counting.
        let counted = b"29 <13>Oct 11 22:14:15 host x: y";
        assert_eq!(run_one::<SyslogDissector>(&f, counted).0, Probe::Certain);
        assert_eq!(run_one::<SyslogDissector>(&f, b"30 <13>Oct 11 22:14:15 host x: y").0, Probe::NotForUs);
        // Without its LF, or with a looser header, it stays unclaimed on TCP.
        assert_eq!(run_one::<SyslogDissector>(&f, &msg[..msg.len() - 1]).0, Probe::NotForUs);
        assert_eq!(run_one::<SyslogDissector>(&f, b"<13>hello\n").0, Probe::NotForUs);
        assert_eq!(run_one::<SyslogDissector>(&f, b"<html>\n").0, Probe::NotForUs);
        truncations::<SyslogDissector>(&f, msg);
        truncations::<SyslogDissector>(&f, counted);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40), tcp_flow in any::<bool>()) {
            let f = if tcp_flow { tcp([514, 514]) } else { udp([514, 514]) };
            no_panic::<SyslogDissector>(&f, &[p]);
        }

        #[test]
        fn framed_prefixes_never_panic(n in 0usize..100000, tail in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut p = format!("{n} <13>Oct ").into_bytes();
            p.extend(tail);
            no_panic::<SyslogDissector>(&tcp([1, 601]), &[p]);
        }
    }
}
