//! Gaijin Entertainment's game traffic over UDP (War Thunder, Crossout, Enlisted), which nDPI
//! names `GaijinEntertainment` (flowsieve-only ID, nDPI's name; application `netify.gaijin`).
//!
//! Wire facts (the signatures nDPI applies to all UDP traffic, read from its source as facts
//! about the protocol; this is flowsieve's own code). A datagram is Gaijin's when it is:
//!
//! - the game's 52-byte connect datagram: `8f ff 00` then any byte, then `82 ff 00 01`;
//! - or a batch of the client's telemetry counters, more than 100 bytes, whose first counter
//!   is `embeddedupdater.…`, `app.start` or `app.stage` (statsd-style lines such as
//!   `app.start,env=production,…:1|c`). flowsieve also wants the whole datagram to be printable
//!   text, as such a batch is.
//!
//! Gaijin's telemetry collectors listen on UDP 20011, nDPI's port for the protocol and
//! flowsieve's port guess.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const CONNECT_LEN: usize = 52;
/// The telemetry batch is longer than this (nDPI's bound).
const TELEMETRY_MIN: usize = 100;
/// The first counters of the launcher's and the game's batches.
const COUNTERS: [&[u8]; 3] = [b"embeddedupdater.", b"app.start", b"app.stage"];

/// Gaijin's datagrams need no state: the probe decides.
#[derive(Debug, Default)]
pub struct GaijinDissector;

fn connect(p: &[u8]) -> bool {
    p.len() == CONNECT_LEN && p.starts_with(&[0x8f, 0xff, 0x00]) && be_u32_at(p, 4) == Some(0x82ff_0001)
}

fn telemetry(p: &[u8]) -> bool {
    p.len() > TELEMETRY_MIN
        && COUNTERS.iter().any(|c| p.starts_with(c))
        && p.iter().all(|&b| b == b'\n' || (0x20..0x7f).contains(&b))
}

impl Dissector for GaijinDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::GAIJIN;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x8f, b'e', b'a']);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(connect(segment.payload) || telemetry(segment.payload))
    }

    const PORTS: Ports = Ports::udp(&[20011]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// gaijin_warthunder.pcap, 192.168.88.231:36929 → 185.253.20.249:20021: the connect
    /// datagram.
    const CONNECT: &str = concat!(
        "8fff000182ff00010000ffff000004b000010000000000ff0000000000000000",
        "00001388000000000000000096990a4400260000"
    );
    /// 192.168.88.231:37333 → 95.211.246.178:20011: the game's first telemetry batch.
    const TELEMETRY: &str = "app.start,env=production,circuit=production,application=client,project=warthunder,platform=linux64,host=host_client:1|c";

    #[test]
    fn connect_and_telemetry_name_the_flow() {
        let f = udp([37333, 20011]);
        assert_eq!(run_one::<GaijinDissector>(&f, &hex(CONNECT)).0, Probe::Certain);
        assert_eq!(run_one::<GaijinDissector>(&f, TELEMETRY.as_bytes()).0, Probe::Certain);
        let updater = TELEMETRY.replace("app.start", "embeddedupdater.start");
        assert_eq!(run_one::<GaijinDissector>(&f, updater.as_bytes()).0, Probe::Certain);
        assert!(GaijinDissector::port_hint(&f));
        truncations::<GaijinDissector>(&f, &hex(CONNECT));
    }

    #[test]
    fn near_misses_are_not_gaijin() {
        let f = udp([37333, 20011]);
        let probe = |p: &[u8]| run_one::<GaijinDissector>(&f, p).0;
        // The connect datagram a byte longer, or with another marker.
        assert_eq!(probe(&[&hex(CONNECT)[..], &[0]].concat()), Probe::NotForUs);
        let mut other = hex(CONNECT);
        other[5] = 0xfe;
        assert_eq!(probe(&other), Probe::NotForUs);
        // Another counter first, a batch of 100 bytes, one with a binary byte.
        assert_eq!(probe(TELEMETRY.replace("app.start", "app.stop").as_bytes()), Probe::NotForUs);
        assert_eq!(probe(&TELEMETRY.as_bytes()[..100]), Probe::NotForUs);
        let mut binary = TELEMETRY.as_bytes().to_vec();
        binary[110] = 0;
        assert_eq!(probe(&binary), Probe::NotForUs);
        assert_eq!(run_one::<GaijinDissector>(&tcp([37333, 20011]), TELEMETRY.as_bytes()).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..120)) {
            no_panic::<GaijinDissector>(&udp([1, 20011]), &[p]);
        }
    }
}
