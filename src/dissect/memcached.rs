//! Memcached (memcached's `protocol.txt` and `protocol-binary.txt`), TCP and UDP port 11211.
//!
//! The binary protocol's 24-byte header starts with the magic `0x80` (request) or `0x81`
//! (response), an opcode, the key length, the extras length, the data type (0) and, at byte 8,
//! the total body length: the probe wants a body that holds the key and extras and fits the
//! segment. The text protocol is lines of lower-case commands (`get`, `set`, `stats` …). Either
//! is little to go on (a first byte `0x80` is also RTP's, or any binary stream's), so the probe
//! wants memcached's port as well.

use super::reader::{be_u16_at, be_u32_at};
use super::text::split_line;
use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment};

const HEADER: usize = 24;
const MAGICS: [u8; 2] = [0x80, 0x81];
/// Text commands that open a session (`protocol.txt`).
const COMMANDS: [&[u8]; 17] = [
    b"get ",
    b"gets ",
    b"set ",
    b"add ",
    b"replace ",
    b"append ",
    b"prepend ",
    b"cas ",
    b"delete ",
    b"incr ",
    b"decr ",
    b"touch ",
    b"stats",
    b"version",
    b"flush_all",
    b"verbosity ",
    b"quit",
];

/// Memcached needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct MemcachedDissector;

/// `p` starts with a binary-protocol header whose body fits it.
fn binary(p: &[u8]) -> bool {
    let (Some(key), Some(body)) = (be_u16_at(p, 2), be_u32_at(p, 8)) else { return false };
    let extras = p.get(4).copied().unwrap_or(u8::MAX);
    let body = usize::try_from(body).unwrap_or(usize::MAX);
    MAGICS.contains(&p[0])
        && p.get(5) == Some(&0)
        && usize::from(key) + usize::from(extras) <= body
        && body <= p.len().saturating_sub(HEADER)
}

impl Dissector for MemcachedDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MEMCACHED;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() || !Self::port_hint(flow) || p.is_empty() {
            return Probe::NotForUs;
        }
        if MAGICS.contains(&p[0]) {
            return if p.len() < HEADER { Probe::Unsure } else { Probe::certain_if(binary(p)) };
        }
        match split_line(p) {
            Some((line, _)) => Probe::certain_if(COMMANDS.iter().any(|c| line.starts_with(c))),
            None => Probe::Unsure,
        }
    }

    const PORTS: Ports = Ports::both(&[11211]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn commands_name_the_flow() {
        // memcached.cap, 127.0.0.1:59604 → 127.0.0.1:11211: `stats`.
        let f = tcp([59604, 11211]);
        assert_eq!(run_one::<MemcachedDissector>(&f, &hex("73746174730d0a")).0, Probe::Certain);
        // A binary GET of key "Hello" (protocol-binary.txt's example).
        let get = hex("80000005000000000000000500000000000000000000000048656c6c6f");
        assert_eq!(run_one::<MemcachedDissector>(&f, &get).0, Probe::Certain);
        truncations::<MemcachedDissector>(&f, &get);
    }

    #[test]
    fn other_payloads_are_not_memcached() {
        assert_eq!(run_one::<MemcachedDissector>(&tcp([59604, 80]), b"stats\r\n").0, Probe::NotForUs, "off port");
        // 1kxun.pcap, 119.235.235.84:443 → 192.168.5.16:53406: a TLS stream's continuation that
        // happens to start with 0x80 and a zero at byte 5.
        let tls = hex("80020002000000530000000d00006260c73088c5d0ccc88c8107265a525990caa094585000f4766209d040fd0add928ca2ccb412eb");
        assert_eq!(run_one::<MemcachedDissector>(&tcp([443, 53406]), &tls).0, Probe::NotForUs);
        let f = tcp([59604, 11211]);
        assert_eq!(run_one::<MemcachedDissector>(&f, b"GET / HTTP/1.1\r\n").0, Probe::NotForUs);
        let get = hex("80000005000000000000000900000000000000000000000048656c6c6f");
        assert_eq!(run_one::<MemcachedDissector>(&f, &get).0, Probe::NotForUs, "body past the segment");
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<MemcachedDissector>(&tcp([1, 11211]), &[p]);
        }
    }
}
