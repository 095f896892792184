//! SoftEther VPN's UDP control messages. The wire facts nDPI applies to every UDP flow
//! (docs/ARCHITECTURE.md, "nDPI's signatures are wire facts"): a datagram of 11 to 29 bytes
//! that starts `IP=` and holds `,PORT=` (the server telling the client its public address and
//! port, as in `IP=192.0.2.1,PORT=51381`), which may follow one-byte datagrams `A` (0x41). The
//! message is SoftEther's own text (SoftEther VPN is open source), so flowsieve tightens nDPI's
//! substring test to the whole message: an IPv4 or IPv6 address after `IP=`, then `,PORT=` and a
//! decimal port number ending the datagram.
//!
//! nDPI's other signature: a datagram of at least 99 bytes that is a whole SoftEther `PACK`, the
//! element list its NAT traversal messages are serialised as (SoftEther's source): a 32-bit
//! big-endian element count, then per element its name (a 32-bit length one more than the
//! name's, then the name), a 32-bit value type (0 int, 1 data, 2 string, 3 Unicode string, 4
//! 64-bit int), a 32-bit value count and the values (ints as 4 or 8 bytes, the others as a
//! 32-bit length and the bytes). flowsieve requires the list to end exactly at the datagram's
//! end, as nDPI does, and names of 1 to 63 printable characters (SoftEther's limit). No port
//! hint: the servers listen on ports of their own choosing (5004 in nDPI's capture).

use std::net::IpAddr;

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// The one-byte datagram that may come first.
const KEEPALIVE: u8 = b'A';
const IP: &[u8] = b"IP=";
const PORT: &[u8] = b",PORT=";
/// Lengths of the address message nDPI takes (exclusive bounds).
const SHORTEST: usize = 10;
const LONGEST: usize = 30;

/// The shortest `PACK` datagram nDPI takes.
const PACK_SHORTEST: usize = 99;
/// SoftEther's longest element name.
const NAME_LONGEST: usize = 63;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct SoftetherDissector;

/// Whether `p` is exactly `IP=<address>,PORT=<port>`.
fn address_message(p: &[u8]) -> bool {
    let Some(rest) = p.strip_prefix(IP) else { return false };
    let Some(at) = rest.windows(PORT.len()).position(|w| w == PORT) else { return false };
    let (ip, port) = (&rest[..at], &rest[at + PORT.len()..]);
    let ip_ok = std::str::from_utf8(ip).ok().and_then(|s| s.parse::<IpAddr>().ok()).is_some();
    let port_ok = (1..=5).contains(&port.len())
        && port.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(port).ok().and_then(|s| s.parse::<u16>().ok()).is_some();
    ip_ok && port_ok
}

/// Whether `p` is exactly one `PACK` element list.
fn pack(p: &[u8]) -> bool {
    let u32_at = |at: usize| be_u32_at(p, at).and_then(|n| usize::try_from(n).ok());
    let Some(count) = u32_at(0).filter(|&n| n > 0) else { return false };
    let mut at = 4;
    for _ in 0..count {
        // The name: its length is one more than the name's.
        let Some(name) = u32_at(at).and_then(|n| n.checked_sub(1)).filter(|n| (1..=NAME_LONGEST).contains(n)) else {
            return false;
        };
        at += 4;
        if !p.get(at..at + name).is_some_and(|n| n.iter().all(u8::is_ascii_graphic)) {
            return false;
        }
        at += name;
        let (Some(kind), Some(values)) = (u32_at(at), u32_at(at + 4)) else { return false };
        at += 8;
        for _ in 0..values {
            let size = match kind {
                0 => 4,
                4 => 8,
                1..=3 => match u32_at(at) {
                    Some(n) => n.saturating_add(4),
                    None => return false,
                },
                _ => return false,
            };
            at = at.saturating_add(size);
            if at > p.len() {
                return false;
            }
        }
    }
    at == p.len()
}

impl Dissector for SoftetherDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::SOFTETHER;
    const TRANSPORTS: Transports = Transports::UDP;
    /// The keep-alive, the address message, a `PACK`'s count (below 2^24 elements).
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[KEEPALIVE, b'I', 0]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p == [KEEPALIVE] {
            return Probe::Unsure;
        }
        let address = p.len() > SHORTEST && p.len() < LONGEST && address_message(p);
        Probe::certain_if(address || (p.len() >= PACK_SHORTEST && pack(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    #[test]
    fn the_address_message_is_softether() {
        // softether.pcap, 130.158.6.113:5004 → 192.168.2.100:51381, after the client's `A`.
        let f = udp([51381, 5004]);
        assert_eq!(run_one::<SoftetherDissector>(&f, b"A").0, Probe::Unsure);
        let message = hex("49503d39302e3138362e3133322e3133332c504f52543d3531333831");
        assert_eq!(message, b"IP=90.186.132.133,PORT=51381");
        assert_eq!(run_one::<SoftetherDissector>(&f, &message).0, Probe::Certain);
        truncations::<SoftetherDissector>(&f, &message);
        assert_eq!(run_one::<SoftetherDissector>(&f, b"IP=2001:db8::1,PORT=443").0, Probe::Certain);
    }

    #[test]
    fn near_misses_are_not() {
        let f = udp([51381, 5004]);
        for p in [
            &b"IP=90.186.132.133,PORT=51381x"[..],
            b"IP=90.186.132,PORT=51381",
            b"IP=90.186.132.133,PORT=99999",
            b"IP=90.186.132.133;PORT=51381",
            b"IP=example.org,PORT=80",
            b"B",
            b"AA",
        ] {
            assert_eq!(run_one::<SoftetherDissector>(&f, p).0, Probe::NotForUs, "{}", String::from_utf8_lossy(p));
        }
        assert_eq!(
            run_one::<SoftetherDissector>(&tcp([51381, 5004]), b"IP=90.186.132.133,PORT=51381").0,
            Probe::NotForUs
        );
    }

    /// softether.pcap, 192.168.2.100:51381 → 130.158.6.105:5004, the first datagram (99 bytes):
    /// three elements, `opcode` (the string `get_token`), `tran_id` (a 64-bit int) and
    /// `nat_traversal_version` (an int).
    const PACK: &str = concat!(
        "00000003000000076f70636f64650000000200000001000000096765745f746f6b656e000000087472616e",
        "5f69640000000400000001bf3c268403c4ea88000000166e61745f74726176657273616c5f76657273696f",
        "6e000000000000000100000001"
    );

    #[test]
    fn a_whole_pack_is_softether() {
        let f = udp([51381, 5004]);
        let p = hex(PACK);
        assert_eq!(p.len(), 99);
        assert_eq!(run_one::<SoftetherDissector>(&f, &p).0, Probe::Certain);
        truncations::<SoftetherDissector>(&f, &p);
        // One byte more or less, an unknown value type, a name of zero length.
        let mut longer = p.clone();
        longer.push(0);
        assert_eq!(run_one::<SoftetherDissector>(&f, &longer).0, Probe::NotForUs);
        assert_eq!(run_one::<SoftetherDissector>(&f, &p[..98]).0, Probe::NotForUs);
        let mut kind = p.clone();
        kind[17] = 5;
        assert_eq!(run_one::<SoftetherDissector>(&f, &kind).0, Probe::NotForUs);
        let mut name = p.clone();
        name[7] = 1;
        assert_eq!(run_one::<SoftetherDissector>(&f, &name).0, Probe::NotForUs);
        // A whole list shorter than 99 bytes (the last element dropped, the count fixed).
        let mut short = p[..62].to_vec();
        short[3] = 2;
        assert_eq!(run_one::<SoftetherDissector>(&f, &short).0, Probe::NotForUs);
        assert_eq!(run_one::<SoftetherDissector>(&f, &[0; 120]).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<SoftetherDissector>(&udp([1, 5004]), &[p]);
        }
    }
}
