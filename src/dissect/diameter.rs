//! Diameter (RFC 6733), Netify's `Diameter` (237): the AAA protocol of mobile cores, over TCP
//! or SCTP port 3868 (flowsieve reads the TCP form).
//!
//! Every message starts with a 20-byte header (RFC 6733 §3): version 1, a 24-bit message
//! length counting the header and always a multiple of 4 (AVPs are padded to 4 bytes), the
//! command flags (R request, P proxiable, E error, T retransmitted, then four reserved bits
//! that are zero), a 24-bit command code, the Application-ID and the hop-by-hop and end-to-end
//! identifiers. nDPI checks version 1, one flag bit and a base-protocol command code (the
//! wire facts): Capabilities-Exchange 257, Re-Auth 258, Accounting 271, Credit-Control 272
//! (RFC 4006), Abort-Session 274, Session-Termination 275, Device-Watchdog 280 and
//! Disconnect-Peer 282. flowsieve takes the same commands with any flags whose reserved bits
//! are zero (a request is usually R and P at once) but no E on a request, and tightens the
//! rest from RFC 6733: the length agrees with the payload (equal, shorter with another
//! message behind it, or longer when the message continues in the next segment), and the
//! first AVP's header is sound (its flags' five reserved bits zero, a length of at least 8
//! that fits the message).

use super::reader::{be_u24_at, be_u32_at};
use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const VERSION: u8 = 1;
const HEADER: usize = 20;
const AVP_HEADER: usize = 8;
const REQUEST: u8 = 0x80;
const ERROR: u8 = 0x20;
const RESERVED_FLAGS: u8 = 0x0f;
const RESERVED_AVP_FLAGS: u8 = 0x1f;
const COMMANDS: [usize; 8] = [257, 258, 271, 272, 274, 275, 280, 282];

/// Diameter needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct DiameterDissector;

/// `p` holds a sound Diameter header (and the start of its first AVP, when present).
fn header(p: &[u8]) -> bool {
    let (Some(&VERSION), Some(len), Some(&flags), Some(command)) =
        (p.first(), be_u24_at(p, 1), p.get(4), be_u24_at(p, 5))
    else {
        return false;
    };
    let sound_flags = flags & RESERVED_FLAGS == 0 && !(flags & REQUEST != 0 && flags & ERROR != 0);
    let sound_len = len >= HEADER && len % 4 == 0 && p.len() >= HEADER;
    let fits = match len.cmp(&p.len()) {
        std::cmp::Ordering::Equal | std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => p.get(len) == Some(&VERSION),
    };
    let avp = len == HEADER
        || match (be_u32_at(p, HEADER + 4), p.get(HEADER + 4)) {
            (Some(word), Some(&avp_flags)) => {
                let avp_len = (word & 0x00ff_ffff) as usize;
                avp_flags & RESERVED_AVP_FLAGS == 0 && avp_len >= AVP_HEADER && avp_len <= len.saturating_sub(HEADER)
            }
            _ => p.len() < HEADER + AVP_HEADER,
        };
    sound_flags && sound_len && fits && avp && COMMANDS.contains(&command)
}

impl Dissector for DiameterDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DIAMETER;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[VERSION]);
    const PORTS: Ports = Ports::tcp(&[3868]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(header(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A Capabilities-Exchange-Request (R and P set, command 257, application 0) whose one AVP
    /// is Origin-Host (264, flag M) `host.example.com` padded to 4 bytes.
    fn cer() -> Vec<u8> {
        let avp_data = b"host.example.com";
        let avp_len = 8 + avp_data.len();
        let len = HEADER + avp_len;
        let mut p = vec![1, 0, 0, len as u8, 0xc0, 0, 1, 1];
        p.extend_from_slice(&[0; 12]);
        p.extend_from_slice(&264u32.to_be_bytes());
        p.extend_from_slice(&[0x40, 0, 0, avp_len as u8]);
        p.extend_from_slice(avp_data);
        p
    }

    #[test]
    fn a_capabilities_exchange_is_diameter() {
        let f = tcp([40000, 3868]);
        assert_eq!(run_one::<DiameterDissector>(&f, &cer()).0, Probe::Certain);
        // Two messages in one segment, and a message continued in the next one.
        assert_eq!(run_one::<DiameterDissector>(&f, &[cer(), cer()].concat()).0, Probe::Certain);
        assert_eq!(run_one::<DiameterDissector>(&f, &cer()[..30]).0, Probe::Certain);
        // The answer: no R, command 257; a Device-Watchdog-Request with no AVP.
        let mut cea = cer();
        cea[4] = 0x40;
        assert_eq!(run_one::<DiameterDissector>(&f, &cea).0, Probe::Certain);
        let dwr = [&[1, 0, 0, 20, 0x80, 0, 1, 0x18][..], &[0; 12]].concat();
        assert_eq!(run_one::<DiameterDissector>(&f, &dwr).0, Probe::Certain);
        truncations::<DiameterDissector>(&f, &cer());
    }

    #[test]
    fn near_misses_are_not_diameter() {
        let f = tcp([40000, 3868]);
        // Version 2, a reserved command flag, E on a request, an unknown command, a length
        // not a multiple of 4, a length shorter than the payload with garbage behind it, an AVP
        // with reserved flags, an AVP longer than the message.
        for (at, value) in [(0, 2), (4, 0xc1), (4, 0xa0), (7, 0x03), (3, 37), (3, 32), (24, 0x41), (27, 0x80)] {
            let mut p = cer();
            p[at] = value;
            assert_eq!(run_one::<DiameterDissector>(&f, &p).0, Probe::NotForUs, "byte {at} = {value}");
        }
        assert_eq!(run_one::<DiameterDissector>(&f, &cer()[..19]).0, Probe::NotForUs);
        assert_eq!(run_one::<DiameterDissector>(&udp([40000, 3868]), &cer()).0, Probe::NotForUs);
        // A TLS ClientHello and an HTTP request are not claimed.
        assert_eq!(
            run_one::<DiameterDissector>(&f, &hex("160301020001000200030300000000000000000000000000")).0,
            Probe::NotForUs
        );
        assert_eq!(run_one::<DiameterDissector>(&f, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<DiameterDissector>(&tcp([1, 3868]), &[p]);
        }
        #[test]
        fn never_panics_on_a_diameter_start(tail in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<DiameterDissector>(&tcp([1, 3868]), &[[&[1, 0, 0][..], &tail].concat()]);
        }
    }
}
