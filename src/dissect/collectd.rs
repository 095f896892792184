//! collectd's binary network protocol (the `network` plugin; UDP 25826), which Netify names
//! `Collectd` (171).
//!
//! Wire facts (collectd's documented "Binary protocol", and the signature nDPI applies to every
//! UDP flow, read from its source as a fact about the protocol: docs/ARCHITECTURE.md, "nDPI's
//! signatures are wire facts"): a datagram is a sequence of parts, each a 16-bit big-endian
//! type and a 16-bit length that counts the 4-byte part header, with types 0x0000 host, 0x0001
//! time, 0x0008 time (high resolution), 0x0002 plugin, 0x0003 plugin instance, 0x0004 type,
//! 0x0005 type instance, 0x0006 values, 0x0007 interval, 0x0009 interval (high resolution),
//! 0x0100 message, 0x0101 severity, 0x0200 signature (HMAC-SHA-256) and 0x0210 encryption
//! (AES-256). nDPI names the flow from at least three parts of those types whose lengths fit
//! the datagram, or from one encryption part that is the whole datagram (with its user name's
//! 16-bit length leaving room for the 16-byte IV), and reports the host part's name as the
//! flow's host name, as flowsieve does.
//!
//! flowsieve tightens the parts with the protocol's layout: the parts tile the datagram
//! exactly; a string part (host, plugin, type and their instances, message) ends with its NUL;
//! a number part (times, intervals, severity) carries one 64-bit integer (12 bytes); a values
//! part carries a 16-bit count `n`, `n` type bytes and `n` 64-bit values (6 + 9n bytes); a
//! signature part holds its 32-byte HMAC before the user name.

use super::reader::{be_len16_at, be_u16_at};
use super::text::fact_string;
use super::{protocol, Dissector, FirstBytes, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const HEADER: usize = 4;
const HOST: u16 = 0x0000;
const VALUES: u16 = 0x0006;
const SIGNATURE: u16 = 0x0200;
const ENCRYPTION: u16 = 0x0210;
/// Parts holding a NUL-terminated string.
const STRINGS: [u16; 6] = [HOST, 0x0002, 0x0003, 0x0004, 0x0005, 0x0100];
/// Parts holding one 64-bit integer.
const NUMBERS: [u16; 5] = [0x0001, 0x0007, 0x0008, 0x0009, 0x0101];
const NUMBER_LEN: usize = HEADER + 8;
const HMAC_LEN: usize = 32;
const IV_LEN: usize = 16;
/// A plain datagram names the flow from this many parts (nDPI's floor).
const MIN_PARTS: usize = 3;
/// The longest host name kept.
const MAX_HOST: usize = 253;

/// The probe decides; the parse reads the host name. No state.
#[derive(Debug, Default)]
pub struct CollectdDissector;

/// Whether a part of `kind` may be `len` bytes long (header included) at `at` of `p`.
fn part_fits(p: &[u8], at: usize, kind: u16, len: usize) -> bool {
    let body = p.get(at + HEADER..at + len).unwrap_or_default();
    if STRINGS.contains(&kind) {
        len > HEADER && body.last() == Some(&0)
    } else if NUMBERS.contains(&kind) {
        len == NUMBER_LEN
    } else if kind == VALUES {
        be_len16_at(p, at + HEADER).is_some_and(|n| n > 0 && len == HEADER + 2 + 9 * n)
    } else if kind == SIGNATURE {
        len >= HEADER + HMAC_LEN
    } else {
        false
    }
}

/// A datagram that is one encryption part: its user name's length leaves room for the IV.
fn encrypted(p: &[u8]) -> bool {
    be_u16_at(p, 0) == Some(ENCRYPTION)
        && be_len16_at(p, 2) == Some(p.len())
        && be_len16_at(p, HEADER).is_some_and(|user| HEADER + 2 + user + IV_LEN <= p.len())
}

/// The parts of a plain datagram, when they tile it and each fits its type: their count and
/// the first host part's name (without its NUL).
fn parts(p: &[u8]) -> Option<(usize, Option<&[u8]>)> {
    let (mut at, mut count, mut host) = (0, 0, None);
    while at < p.len() {
        let kind = be_u16_at(p, at)?;
        let len = be_len16_at(p, at + 2)?;
        if len < HEADER || at + len > p.len() || !part_fits(p, at, kind, len) {
            return None;
        }
        if kind == HOST && host.is_none() {
            host = p.get(at + HEADER..at + len - 1);
        }
        at += len;
        count += 1;
    }
    Some((count, host))
}

impl Dissector for CollectdDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::COLLECTD;
    const TRANSPORTS: Transports = Transports::UDP;
    /// The high byte of every part type.
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x00, 0x01, 0x02]);
    const PORTS: Ports = Ports::udp(&[25826]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(encrypted(p) || parts(p).is_some_and(|(count, _)| count >= MIN_PARTS))
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if let Some((_, Some(host))) = parts(segment.payload) {
            if !host.is_empty() && facts.detected_hostname().is_none() {
                facts.set_detected_hostname(fact_string(host, MAX_HOST).to_ascii_lowercase());
            }
        }
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// One part: type, length (header included), body.
    fn part(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut v = kind.to_be_bytes().to_vec();
        v.extend_from_slice(&((body.len() + HEADER) as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    /// A value list as collectd's network plugin sends it: host, high-resolution time and
    /// interval, plugin, type and one gauge value.
    fn datagram() -> Vec<u8> {
        let mut values = 1u16.to_be_bytes().to_vec();
        values.push(1); // gauge
        values.extend_from_slice(&0.5f64.to_le_bytes());
        [
            part(0x0000, b"Web-01.example\0"),
            part(0x0008, &0x0000_0001_8000_0000u64.to_be_bytes()),
            part(0x0009, &(10u64 << 30).to_be_bytes()),
            part(0x0002, b"load\0"),
            part(0x0004, b"load\0"),
            part(0x0006, &values),
        ]
        .concat()
    }

    #[test]
    fn a_value_list_is_collectd_and_names_its_host() {
        let f = udp([40000, 25826]);
        let (probe, parsed, facts) = run_one::<CollectdDissector>(&f, &datagram());
        assert_eq!((probe, parsed), (Probe::Certain, Parsed::Done));
        assert_eq!(facts.detected_hostname(), Some("web-01.example"));
        assert_eq!(protocol::name_of(protocol::COLLECTD), "Collectd");
        truncations::<CollectdDissector>(&f, &datagram());
        // Without a host part it is still collectd, with no host name.
        let (probe, _, facts) = run_one::<CollectdDissector>(&f, &datagram()[19..]);
        assert_eq!((probe, facts.detected_hostname()), (Probe::Certain, None));
    }

    #[test]
    fn an_encrypted_datagram_is_collectd() {
        let f = udp([40000, 25826]);
        let mut body = 4u16.to_be_bytes().to_vec();
        body.extend_from_slice(b"user");
        body.extend_from_slice(&[0x5a; IV_LEN + 20 + 40]);
        let p = part(ENCRYPTION, &body);
        assert_eq!(run_one::<CollectdDissector>(&f, &p).0, Probe::Certain);
        // A user name longer than the datagram leaves room for; a part shorter than it.
        let mut long = p.clone();
        long[4..6].copy_from_slice(&200u16.to_be_bytes());
        assert_eq!(run_one::<CollectdDissector>(&f, &long).0, Probe::NotForUs);
        let mut trailing = p.clone();
        trailing.push(0);
        assert_eq!(run_one::<CollectdDissector>(&f, &trailing).0, Probe::NotForUs);
    }

    #[test]
    fn near_misses_are_not_collectd() {
        let f = udp([40000, 25826]);
        let p = datagram();
        // Two parts only, a trailing byte, an unknown part type, a string without its NUL,
        // a 16-bit time, a value count that disagrees with the length.
        assert_eq!(run_one::<CollectdDissector>(&f, &p[..19 + 12]).0, Probe::NotForUs);
        let mut trailing = p.clone();
        trailing.push(0);
        assert_eq!(run_one::<CollectdDissector>(&f, &trailing).0, Probe::NotForUs);
        let mut unknown = p.clone();
        unknown[19..21].copy_from_slice(&0x000au16.to_be_bytes());
        assert_eq!(run_one::<CollectdDissector>(&f, &unknown).0, Probe::NotForUs);
        let mut unterminated = p.clone();
        unterminated[18] = b'x';
        assert_eq!(run_one::<CollectdDissector>(&f, &unterminated).0, Probe::NotForUs);
        let short_time = [part(0x0000, b"h\0"), part(0x0001, &[0, 1]), part(0x0002, b"cpu\0")].concat();
        assert_eq!(run_one::<CollectdDissector>(&f, &short_time).0, Probe::NotForUs);
        let mut count = p.clone();
        let at = p.len() - 11;
        count[at..at + 2].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(run_one::<CollectdDissector>(&f, &count).0, Probe::NotForUs);
        // Zeros, a DNS query, and TCP.
        assert_eq!(run_one::<CollectdDissector>(&f, &[0; 48]).0, Probe::NotForUs);
        let dns = hex("123401000001000000000000076578616d706c6503636f6d0000010001");
        assert_eq!(run_one::<CollectdDissector>(&f, &dns).0, Probe::NotForUs);
        assert_eq!(run_one::<CollectdDissector>(&tcp([40000, 25826]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<CollectdDissector>(&udp([1, 25826]), &[p.clone(), p]);
        }

        #[test]
        fn never_panics_on_parts(kinds in proptest::collection::vec((0u16..0x0300, 0u16..40), 0..6)) {
            let p: Vec<u8> = kinds.iter().flat_map(|&(k, l)| {
                let mut v = k.to_be_bytes().to_vec();
                v.extend_from_slice(&l.to_be_bytes());
                v.extend(std::iter::repeat_n(0, usize::from(l.saturating_sub(4))));
                v
            }).collect();
            no_panic::<CollectdDissector>(&udp([1, 25826]), &[p]);
        }
    }
}
