//! Syslog dissector (RFC 5424 §6, RFC 3164 §4.1): a message opens with `<PRI>`, PRI a decimal
//! number from 0 to 191 without leading zeros, followed by a version digit or a timestamp /
//! text.

use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment};
use crate::flow::facts::FlowFacts;

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

impl Dissector for SyslogDissector {
    const PROTOCOL: u16 = protocol::SYSLOG;

    /// Certain for `<PRI>` followed by a printable character, over UDP (TCP syslog frames the
    /// message with an octet count, RFC 6587, and is rare enough to leave to the port guess).
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_udp() {
            return Probe::NotForUs;
        }
        match pri_len(p) {
            Some(n) if p.get(n).is_some_and(|b| b.is_ascii_graphic() || *b == b' ') => Probe::Certain,
            _ => Probe::NotForUs,
        }
    }

    fn port_hint(flow: &FlowInfo) -> bool {
        flow.has_port(514) || flow.has_port(601) || (flow.is_tcp() && flow.has_port(6514))
    }

    fn parse(&mut self, _segment: &Segment<'_>, _facts: &mut FlowFacts) -> Parsed {
        Parsed::Done
    }
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

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<SyslogDissector>(&udp([514, 514]), &[p]);
        }
    }
}
