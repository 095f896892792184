//! SOCKS proxies, versions 4/4a and 5 (RFC 1928), TCP port 1080.
//!
//! A SOCKS5 client opens with its greeting: version 5, the number of authentication methods
//! and that many method bytes (0 none, 1 GSSAPI, 2 user/password, 3 challenge-handshake,
//! 0x80–0xfe private); the server answers with version 5 and the chosen method (or 0xff). A
//! SOCKS4 client opens with version 4, command 1 (connect) or 2 (bind), a port, an IPv4
//! address and a NUL-terminated user ID (SOCKS4a: address 0.0.0.x and a NUL-terminated host
//! name after it). These messages are a few bytes without a magic, so the probe needs the
//! SOCKS port as well as an exact layout.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

/// SOCKS4's fixed part: version, command, port, address.
const SOCKS4_FIXED: usize = 8;
/// Longest user ID or host name taken.
const MAX_NAME: usize = 255;

/// SOCKS needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct SocksDissector;

fn method(m: u8) -> bool {
    m <= 3 || (0x80..=0xfe).contains(&m)
}

/// A NUL-terminated printable string at the start of `p`: the bytes after it.
fn c_string(p: &[u8]) -> Option<&[u8]> {
    let end = p.iter().take(MAX_NAME + 1).position(|&b| b == 0)?;
    p[..end].iter().all(|&b| b.is_ascii_graphic()).then(|| &p[end + 1..])
}

/// `p` is a SOCKS greeting or the server's method choice.
fn message(p: &[u8]) -> bool {
    match p {
        [5, n, methods @ ..] if *n > 0 && methods.len() == usize::from(*n) => methods.iter().all(|&m| method(m)),
        [5, chosen] => method(*chosen) || *chosen == 0xff,
        [4, 1 | 2, ..] if p.len() > SOCKS4_FIXED => {
            let Some(rest) = c_string(&p[SOCKS4_FIXED..]) else {
                return false;
            };
            let socks4a = p[4..7] == [0, 0, 0] && p[7] != 0;
            match (socks4a, rest) {
                (false, []) => true,
                (true, host) => c_string(host).is_some_and(<[u8]>::is_empty),
                _ => false,
            }
        }
        _ => false,
    }
}

impl Dissector for SocksDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SOCKS;
    const TRANSPORTS: Transports = Transports::TCP;
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_tcp() && Self::port_hint(flow) && message(segment.payload))
    }

    const PORTS: Ports = Ports::tcp(&[1080]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn greetings_on_the_socks_port() {
        // shadowsocks.pcap, 127.0.0.1:37904 ↔ 127.0.0.1:1080: the greeting (no auth or
        // user/password) and the server's choice.
        let f = tcp([37904, 1080]);
        assert_eq!(run_one::<SocksDissector>(&f, &hex("05020001")).0, Probe::Certain);
        assert_eq!(run_one::<SocksDissector>(&f, &hex("0500")).0, Probe::Certain);
        // SOCKS4 connect to 93.184.216.34:80 as user `bob`, and SOCKS4a to example.com.
        assert_eq!(run_one::<SocksDissector>(&f, &hex("040100505db8d822626f6200")).0, Probe::Certain);
        let socks4a = [&hex("040100500000000100")[..], b"example.com\0"].concat();
        assert_eq!(run_one::<SocksDissector>(&f, &socks4a).0, Probe::Certain);
        truncations::<SocksDissector>(&f, &socks4a);
    }

    #[test]
    fn other_payloads_are_not_socks() {
        let f = tcp([37904, 1080]);
        assert_eq!(run_one::<SocksDissector>(&f, &hex("0502000110")).0, Probe::NotForUs);
        assert_eq!(run_one::<SocksDissector>(&f, &hex("05020050")).0, Probe::NotForUs);
        assert_eq!(run_one::<SocksDissector>(&f, &hex("040100505db8d822626f62")).0, Probe::NotForUs);
        assert_eq!(run_one::<SocksDissector>(&tcp([37904, 1081]), &hex("05020001")).0, Probe::NotForUs);
        assert_eq!(run_one::<SocksDissector>(&f, b"CONNECT example.com:443 HTTP/1.1\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<SocksDissector>(&tcp([1, 1080]), &[p]);
        }
    }
}
