//! PostgreSQL dissector (frontend/backend protocol, "Message Formats"): the client's first
//! message has no type byte, a 4-byte length and a 4-byte code: protocol 3.0 (196608) for a
//! StartupMessage, 80877103 for SSLRequest, 80877104 for GSSENCRequest, 80877102 for
//! CancelRequest.

use super::reader::be_u32_at;
use super::{protocol, Dissector, Ports, Probe, Segment, Transports};

const STARTUP_V3: u32 = 196_608;
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;

/// PostgreSQL needs no state.
#[derive(Debug, Default)]
pub struct PostgresDissector;

fn classify(p: &[u8]) -> Probe {
    let (Some(len), Some(code)) = (p.get(..4), p.get(4..8)) else {
        return if p.len() < 8 && p.iter().take(2).all(|&b| b == 0) { Probe::Unsure } else { Probe::NotForUs };
    };
    let (Some(len), Some(code)) = (be_u32_at(len, 0), be_u32_at(code, 0)) else { return Probe::NotForUs };
    let len = len as usize;
    let ok = match code {
        SSL_REQUEST | GSSENC_REQUEST => len == 8 && p.len() == 8,
        CANCEL_REQUEST => len == 16 && p.len() == 16,
        // A startup message ends with an empty parameter name.
        STARTUP_V3 => len == p.len() && len > 9 && p.last() == Some(&0) && len <= 10_000,
        _ => false,
    };
    Probe::certain_if(ok)
}

impl Dissector for PostgresDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::POSTGRES;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe(segment: &Segment<'_>) -> Probe {
        classify(segment.payload)
    }

    const PORTS: Ports = Ports::tcp(&[5432]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn startup_and_ssl_request() {
        let f = tcp([40000, 5432]);
        assert_eq!(run_one::<PostgresDissector>(&f, &[0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]).0, Probe::Certain);
        let mut s = vec![0, 0, 0, 0, 0, 3, 0, 0];
        s.extend_from_slice(b"user\0postgres\0\0");
        s[3] = s.len() as u8;
        assert_eq!(run_one::<PostgresDissector>(&f, &s).0, Probe::Certain);
        assert_eq!(run_one::<PostgresDissector>(&f, b"GET / HT").0, Probe::NotForUs);
        truncations::<PostgresDissector>(&f, &s);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<PostgresDissector>(&tcp([1, 5432]), &[p]);
        }
    }
}
