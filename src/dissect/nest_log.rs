//! Google Nest devices' log upload to their log sink on TCP port 11095 (Netify's `NestLog`,
//! 43; nDPI's `NestLogSink`).
//!
//! Wire facts (the signature nDPI applies to TCP traffic on that port, read from its source as
//! a fact about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code): payloads of at least 8 bytes whose byte 1 is at most 2, byte 2 is
//! `0x00` or `0x10` and byte 3 is `0x13`. Three fixed-ish bytes are a short magic, so, as in
//! nDPI, the port is required, one such payload only shortlists the flow and the third names
//! it; other payloads may come between (within the flow's first ten), a shorter one gives the
//! flow up as nDPI does.

use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

const PORT: u16 = 11095;
const MIN_LEN: usize = 8;
/// Records that name the flow.
const NEEDED: u8 = 3;
/// Payloads read before a shortlisted flow is given up.
const MAX_PAYLOADS: u8 = 10;

/// Whether `p` is one of the sink's records.
fn record(p: &[u8]) -> bool {
    p.len() >= MIN_LEN && p[1] <= 0x02 && matches!(p[2], 0x00 | 0x10) && p[3] == 0x13
}

/// Records and payloads seen.
#[derive(Debug, Default)]
pub struct NestLogDissector {
    records: u8,
    seen: u8,
}

impl Dissector for NestLogDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::NEST_LOG;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::TCP;
    const NEEDS_PORT: bool = true;
    const PORTS: Ports = Ports::tcp(&[PORT]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_tcp() && Self::port_hint(flow) && record(segment.payload))
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        self.seen = self.seen.saturating_add(1);
        if p.len() < MIN_LEN {
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        if record(p) {
            self.records += 1;
            if self.records >= NEEDED {
                facts.protocol = protocol::NEST_LOG;
                return Parsed::Done;
            }
        }
        if self.records == 0 || self.seen >= MAX_PAYLOADS {
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        Parsed::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    fn rec(b1: u8, b2: u8) -> Vec<u8> {
        [&[0x0a, b1, b2, 0x13][..], &[0x33; 12]].concat()
    }

    #[test]
    fn three_records_name_the_flow() {
        assert_eq!(protocol::name_of(protocol::NEST_LOG), "NestLog");
        let f = tcp([45000, PORT]);
        let (probe, parsed, facts) = run_one::<NestLogDissector>(&f, &rec(0, 0));
        assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Continue, protocol::UNKNOWN));
        truncations::<NestLogDissector>(&f, &rec(0, 0));
        let run = [
            (Direction::Forward, rec(0, 0)),
            (Direction::Reverse, vec![0x77; 20]),
            (Direction::Forward, rec(1, 0x10)),
            (Direction::Forward, rec(2, 0)),
        ];
        assert_eq!(parse_each::<NestLogDissector>(&f, &run), (Parsed::Done, protocol::NEST_LOG));
        assert_eq!(parse_each::<NestLogDissector>(&f, &run[..3]), (Parsed::Continue, protocol::UNKNOWN));
    }

    #[test]
    fn near_misses_are_not_nest_log() {
        let f = tcp([45000, PORT]);
        assert_eq!(run_one::<NestLogDissector>(&tcp([45000, 11096]), &rec(0, 0)).0, Probe::NotForUs);
        assert_eq!(run_one::<NestLogDissector>(&udp([45000, PORT]), &rec(0, 0)).0, Probe::NotForUs);
        for p in [rec(3, 0), rec(0, 0x20), rec(0, 0)[..7].to_vec(), hex("1603010200010001fc0303")] {
            assert_eq!(run_one::<NestLogDissector>(&f, &p).0, Probe::NotForUs, "{p:02x?}");
        }
        let short = [(Direction::Forward, rec(0, 0)), (Direction::Reverse, vec![1, 2, 3])];
        assert_eq!(parse_each::<NestLogDissector>(&f, &short), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..20)) {
            no_panic::<NestLogDissector>(&tcp([1, PORT]), &[p.clone(), p.clone(), p]);
        }
    }
}
