//! ANSI C12.22 (IEEE 1703), the transport of utility meter tables, over TCP or UDP (IANA
//! `c1222-acse`, port 1153). nDPI calls it `ANSI_C1222`.
//!
//! Every C12.22 message is one BER-encoded ACSE PDU, `[APPLICATION 0]` (tag `60`) and its
//! length, holding context-specific constructed elements: the application context (`a1`), the
//! called and calling AP titles (`a2`, `a6`: an object identifier or a relative one), AE
//! qualifiers (`a3`, `a7`), AP and AE invocation IDs (`a4`, `a5`, `a8`, `a9`), the calling
//! authentication value (`ac`) and the user information (`be`) that carries the EPSEM service
//! requests and responses, present in every message. The probe wants the whole message in the
//! payload: its length exact, every element one of those tags with a length that fits, the
//! elements filling the message exactly, and a user-information element among them.

use super::reader::ber_len_at;
use super::{protocol, Dissector, FirstBytes, Ports, Probe, Segment, Transports};

const MESSAGE: u8 = 0x60;
const USER_INFORMATION: u8 = 0xbe;
/// Whether a context-specific constructed tag is one of the ACSE elements C12.22 uses.
fn element(tag: u8) -> bool {
    matches!(tag, 0xa1..=0xa9 | 0xac | USER_INFORMATION)
}

/// ANSI C12.22 needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct C1222Dissector;

/// `p` is exactly one C12.22 message.
fn message(p: &[u8]) -> bool {
    if p.first() != Some(&MESSAGE) {
        return false;
    }
    let Some((length, n)) = ber_len_at(p, 1) else { return false };
    if 1 + n + length != p.len() {
        return false;
    }
    let mut at = 1 + n;
    let mut user_information = false;
    while at < p.len() {
        let tag = p[at];
        let Some((length, n)) = ber_len_at(p, at + 1) else { return false };
        if !element(tag) || length == 0 {
            return false;
        }
        user_information |= tag == USER_INFORMATION;
        at = match (at + 1 + n).checked_add(length) {
            Some(next) if next <= p.len() => next,
            _ => return false,
        };
    }
    user_information
}

impl Dissector for C1222Dissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ANSI_C1222;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[MESSAGE]);

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(message(segment.payload))
    }

    const PORTS: Ports = Ports::both(&[1153]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// c1222.pcapng, 10.9.3.124:55092 → 10.208.0.9:1153 over UDP: called and calling AP
    /// titles (relative OIDs), calling AP invocation ID, and the user information.
    const UDP_MESSAGE: &str =
        "6030a20f060d607c86f754011600010140ce11a60e060c607c86f75401160001014021a80402020f89be0728058103800120";

    #[test]
    fn whole_messages_are_c1222() {
        let f = udp([55092, 1153]);
        assert_eq!(run_one::<C1222Dissector>(&f, &hex(UDP_MESSAGE)).0, Probe::Certain);
        assert_eq!(run_one::<C1222Dissector>(&tcp([55092, 80]), &hex(UDP_MESSAGE)).0, Probe::Certain);
        truncations::<C1222Dissector>(&f, &hex(UDP_MESSAGE));
        // Crafted: C12.22's application context (2.16.124.113620.1.22), then user information
        // with an EPSEM.
        let p = hex("6014a10906076 07c86f7540116be072805810380012f".replace(' ', "").as_str());
        assert_eq!(run_one::<C1222Dissector>(&f, &p).0, Probe::Certain);
    }

    #[test]
    fn other_asn1_is_not_c1222() {
        let f = udp([55092, 1153]);
        let m = hex(UDP_MESSAGE);
        // Cut short; one byte more; no user information; an unknown element; a GSS-API token.
        assert_eq!(run_one::<C1222Dissector>(&f, &m[..m.len() - 1]).0, Probe::NotForUs);
        let mut p = m.clone();
        p.push(0);
        assert_eq!(run_one::<C1222Dissector>(&f, &p).0, Probe::NotForUs);
        let mut p = m.clone();
        let last = p.len() - 9;
        p[last] = 0xa9;
        assert_eq!(run_one::<C1222Dissector>(&f, &p).0, Probe::NotForUs, "no user information");
        let mut p = m;
        p[2] = 0xb0;
        assert_eq!(run_one::<C1222Dissector>(&f, &p).0, Probe::NotForUs);
        let gss = hex("600906062b0601050502a0");
        assert_eq!(run_one::<C1222Dissector>(&f, &gss).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut m = p;
            m.insert(0, MESSAGE);
            no_panic::<C1222Dissector>(&tcp([1, 1153]), &[m]);
        }
    }
}
