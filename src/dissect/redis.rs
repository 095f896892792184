//! Redis's serialization protocol (RESP, the Redis documentation's "Redis serialization
//! protocol specification"), TCP port 6379.
//!
//! A client sends each command as an array of bulk strings: `*<count>\r\n`, then for each
//! element `$<length>\r\n<bytes>\r\n`. The probe wants the array header and the first bulk
//! string's length line.

use super::text::split_line;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

/// Longest count or length line we read.
const MAX_NUMBER: usize = 10;

/// Redis needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct RedisDissector;

/// `line` is `prefix` then 1–[`MAX_NUMBER`] digits.
fn counted(line: &[u8], prefix: u8) -> bool {
    line.first() == Some(&prefix)
        && (2..=MAX_NUMBER + 1).contains(&line.len())
        && line[1..].iter().all(u8::is_ascii_digit)
}

impl Dissector for RedisDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::REDIS;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || p.first() != Some(&b'*') {
            return Probe::NotForUs;
        }
        let Some((array, rest)) = split_line(p) else {
            return if p.len() <= MAX_NUMBER + 1 { Probe::Unsure } else { Probe::NotForUs };
        };
        if !counted(array, b'*') || !p[array.len()..].starts_with(b"\r\n") {
            return Probe::NotForUs;
        }
        match split_line(rest) {
            Some((bulk, _)) => Probe::certain_if(counted(bulk, b'$')),
            None => Probe::Unsure,
        }
    }

    const PORTS: Ports = Ports::tcp(&[6379]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn commands_name_the_flow() {
        // resp.pcap, 192.168.88.221:51882 → 192.168.88.231:6379: `COMMAND`.
        let f = tcp([51882, 6379]);
        let command = hex("2a310d0a24370d0a434f4d4d414e440d0a");
        assert_eq!(run_one::<RedisDissector>(&f, &command).0, Probe::Certain);
        assert_eq!(run_one::<RedisDissector>(&f, b"*3\r\n").0, Probe::Unsure);
        truncations::<RedisDissector>(&f, &command);
    }

    #[test]
    fn other_payloads_are_not_redis() {
        let f = tcp([51882, 6379]);
        assert_eq!(run_one::<RedisDissector>(&f, b"*x\r\n$3\r\nGET\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<RedisDissector>(&f, b"*1\r\nGET\r\n").0, Probe::NotForUs);
        assert_eq!(run_one::<RedisDissector>(&f, b"*1\n$3\nGET\n").0, Probe::NotForUs, "lines end with CRLF");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<RedisDissector>(&tcp([1, 6379]), &[p]);
        }
    }
}
