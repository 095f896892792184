//! MySQL / MariaDB dissector: the server's initial handshake packet (MySQL client/server
//! protocol, "Protocol::HandshakeV10"): a 3-byte little-endian length, sequence id 0,
//! protocol version 10, then the NUL-terminated server version string.

use super::{protocol, Dissector, FlowInfo, Ports, Probe, Segment, Transports};

/// MySQL needs no state.
#[derive(Debug, Default)]
pub struct MysqlDissector;

fn is_greeting(p: &[u8]) -> bool {
    let Some(h) = p.get(..5) else { return false };
    let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
    if h[3] != 0 || h[4] != 10 || len + 4 != p.len() || len < 20 {
        return false;
    }
    let version = p.get(5..).unwrap_or_default();
    let Some(nul) = version.iter().position(|&b| b == 0) else { return false };
    nul > 0
        && version.first().is_some_and(u8::is_ascii_digit)
        && version.get(..nul).is_some_and(|v| v.iter().all(|b| b.is_ascii_graphic()))
}

impl Dissector for MysqlDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::MYSQL;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_tcp() && is_greeting(segment.payload))
    }

    const PORTS: Ports = Ports::tcp(&[3306]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn greeting() {
        let mut body = vec![10];
        body.extend_from_slice(b"8.0.36\0");
        body.extend_from_slice(&[1; 30]);
        let mut m = vec![body.len() as u8, 0, 0, 0];
        m.extend_from_slice(&body);
        assert_eq!(run_one::<MysqlDissector>(&tcp([3306, 40000]), &m).0, Probe::Certain);
        assert_eq!(run_one::<MysqlDissector>(&tcp([3306, 40000]), &m[..20]).0, Probe::NotForUs);
        truncations::<MysqlDissector>(&tcp([3306, 1]), &m);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<MysqlDissector>(&tcp([1, 3306]), &[p]);
        }
    }
}
