//! Xbox consoles' UDP traffic (Netify's `Xbox`, 47).
//!
//! Wire facts (the signatures nDPI applies to all UDP traffic, read from its source as facts
//! about the protocol, docs/ARCHITECTURE.md "nDPI's signatures are wire facts"; this is
//! flowsieve's own code; Xbox's HTTP user agents are the HTTP dissector's business):
//!
//! - On any port, one datagram of more than 12 bytes whose first four bytes are zero, whose
//!   byte 5 is `0x58`, whose bytes 7 to 9 are zero and whose bytes 4 and 6 are one of the pairs
//!   `0c/76`, `02/18`, `0b/80`, `03/40`, `06/4e` names the flow: that is ten fixed bytes in one
//!   of five forms, too many to meet by chance. nDPI takes it from either side alone (Xbox
//!   traffic is often seen one way).
//! - On UDP 3074, Xbox Live's port in Microsoft's "Network ports used by Xbox" support page,
//!   the datagram forms nDPI lists by length and first bytes: 24 bytes starting `00`, 42 bytes
//!   starting `4f ?? 0a`, 80 bytes starting `50 bc 45`, 40 bytes starting `cf 5f 32 02`, 38
//!   bytes starting `c1 45 7f 03` and 28 bytes starting `01 5f 2c 00`. Some are short magics
//!   (the 24-byte form is one byte), so, as in nDPI, one such datagram only shortlists the flow
//!   and a second one names it, within the flow's first five payloads. The port is required
//!   for these forms and is not declared as a well-known port: Activision's games use UDP 3074
//!   too, and a guess from it would be a coin toss.

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

/// Xbox Live's UDP port (Microsoft's support page).
const XBOX_LIVE_PORT: u16 = 3074;
/// The `(byte 4, byte 6)` pairs of the any-port form.
const PAIRS: [(u8, u8); 5] = [(0x0c, 0x76), (0x02, 0x18), (0x0b, 0x80), (0x03, 0x40), (0x06, 0x4e)];
/// Payloads read before a shortlisted flow is given up (nDPI's limit).
const MAX_PAYLOADS: u8 = 5;

/// The any-port form: named alone.
fn any_port_form(p: &[u8]) -> bool {
    p.len() > 12 && p[..4] == [0; 4] && p[5] == 0x58 && p[7..10] == [0; 3] && PAIRS.contains(&(p[4], p[6]))
}

/// One of the forms nDPI reads on UDP 3074.
fn port_form(p: &[u8]) -> bool {
    let word = be_u32_at(p, 0).unwrap_or(0);
    match p.len() {
        24 => p[0] == 0,
        42 => p[0] == 0x4f && p[2] == 0x0a,
        80 => p[..3] == [0x50, 0xbc, 0x45],
        40 => word == 0xcf5f_3202,
        38 => word == 0xc145_7f03,
        28 => word == 0x015f_2c00,
        _ => false,
    }
}

/// The 3074 forms seen so far, and payloads read.
#[derive(Debug, Default)]
pub struct XboxDissector {
    forms: u8,
    seen: u8,
}

impl Dissector for XboxDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::XBOX;
    /// The port forms only shortlist; the parse names the any-port form at once.
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::UDP;
    /// The any-port form's and the port forms' first bytes.
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x00, 0x01, 0x4f, 0x50, 0xc1, 0xcf]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        let on_port = flow.has_port(XBOX_LIVE_PORT) && port_form(p);
        Probe::certain_if(flow.is_udp() && (any_port_form(p) || on_port))
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        self.seen = self.seen.saturating_add(1);
        if any_port_form(p) {
            facts.protocol = protocol::XBOX;
            return Parsed::Done;
        }
        // The parse sees only the flow's own payloads: a port form is one on the flow's port.
        let on_port = facts.local_port == XBOX_LIVE_PORT || facts.other_port == XBOX_LIVE_PORT;
        if on_port && port_form(p) {
            self.forms += 1;
            if self.forms >= 2 {
                facts.protocol = protocol::XBOX;
                return Parsed::Done;
            }
        }
        if self.forms == 0 || self.seen >= MAX_PAYLOADS {
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        Parsed::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    /// The any-port form: zeros, `0c 58 76`, zeros, then a body.
    fn any_port(b4: u8, b6: u8) -> Vec<u8> {
        let mut p = vec![0, 0, 0, 0, b4, 0x58, b6, 0, 0, 0];
        p.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]);
        p
    }

    /// A datagram of `len` bytes starting with `head`.
    fn form(head: &[u8], len: usize) -> Vec<u8> {
        let mut p = head.to_vec();
        p.resize(len, 0x5a);
        p
    }

    /// Parses `payloads` on `flow` with the ports in the facts, as the registry does.
    fn parse_on(flow: &FlowInfo, payloads: &[(Direction, Vec<u8>)]) -> (Parsed, protocol::ProtocolId) {
        let mut d = XboxDissector::default();
        let mut facts = FlowFacts {
            ip_protocol: flow.ip_protocol,
            local_port: flow.ports[0],
            other_port: flow.ports[1],
            ..FlowFacts::default()
        };
        let mut last = Parsed::Continue;
        for (direction, p) in payloads {
            last = d.parse(&segment(flow, *direction, 0, p), &mut facts);
        }
        (last, facts.protocol)
    }

    #[test]
    fn the_any_port_form_names_the_flow_alone() {
        assert_eq!(protocol::name_of(protocol::XBOX), "Xbox");
        let f = udp([50000, 40000]);
        for (b4, b6) in PAIRS {
            let p = any_port(b4, b6);
            let (probe, parsed, facts) = run_one::<XboxDissector>(&f, &p);
            assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Done, protocol::XBOX));
            truncations::<XboxDissector>(&f, &p);
        }
    }

    #[test]
    fn two_port_forms_on_3074_name_the_flow() {
        let f = udp([3074, 61000]);
        let forms = [
            form(&[0], 24),
            form(&[0x4f, 0x01, 0x0a], 42),
            form(&[0x50, 0xbc, 0x45], 80),
            form(&[0xcf, 0x5f, 0x32, 0x02], 40),
            form(&[0xc1, 0x45, 0x7f, 0x03], 38),
            form(&[0x01, 0x5f, 0x2c, 0x00], 28),
        ];
        for p in &forms {
            let (probe, parsed, facts) = run_one::<XboxDissector>(&f, p);
            assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Continue, protocol::UNKNOWN));
            let two = [(Direction::Forward, p.clone()), (Direction::Reverse, p.clone())];
            assert_eq!(parse_on(&f, &two), (Parsed::Done, protocol::XBOX));
            truncations::<XboxDissector>(&f, p);
        }
        // Other payloads in between are passed over within five.
        let gap = [
            (Direction::Forward, forms[3].clone()),
            (Direction::Reverse, vec![9; 30]),
            (Direction::Forward, forms[5].clone()),
        ];
        assert_eq!(parse_on(&f, &gap), (Parsed::Done, protocol::XBOX));
        let late: Vec<_> = std::iter::once(forms[0].clone())
            .chain(std::iter::repeat_n(vec![9; 30], 4))
            .map(|p| (Direction::Forward, p))
            .collect();
        assert_eq!(parse_on(&f, &late), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
    }

    #[test]
    fn near_misses_are_not_xbox() {
        let f = udp([50000, 40000]);
        // A pair from another form, a non-zero leading byte, a non-zero byte 7, 12 bytes.
        let mut mixed = any_port(0x0c, 0x18);
        assert_eq!(run_one::<XboxDissector>(&f, &mixed).0, Probe::NotForUs);
        mixed = any_port(0x0c, 0x76);
        mixed[0] = 1;
        assert_eq!(run_one::<XboxDissector>(&f, &mixed).0, Probe::NotForUs);
        mixed = any_port(0x0c, 0x76);
        mixed[7] = 1;
        assert_eq!(run_one::<XboxDissector>(&f, &mixed).0, Probe::NotForUs);
        assert_eq!(run_one::<XboxDissector>(&f, &any_port(0x0c, 0x76)[..12]).0, Probe::NotForUs);
        // The port forms off port 3074, or one byte longer, or over TCP.
        assert_eq!(run_one::<XboxDissector>(&f, &form(&[0], 24)).0, Probe::NotForUs);
        let on = udp([3074, 61000]);
        assert_eq!(run_one::<XboxDissector>(&on, &form(&[0], 25)).0, Probe::NotForUs);
        assert_eq!(run_one::<XboxDissector>(&tcp([3074, 61000]), &form(&[0], 24)).0, Probe::NotForUs);
        assert_eq!(run_one::<XboxDissector>(&tcp([1, 2]), &any_port(0x0c, 0x76)).0, Probe::NotForUs);
        // A DNS query and an RTP packet on 3074.
        let dns = hex("12340100000100000000000003777777076578616d706c6503636f6d0000010001");
        assert_eq!(run_one::<XboxDissector>(&on, &dns).0, Probe::NotForUs);
        assert_eq!(run_one::<XboxDissector>(&on, &form(&[0x80, 0x00, 0x00, 0x01], 172)).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..90)) {
            no_panic::<XboxDissector>(&udp([3074, 2]), &[p.clone(), p]);
        }
    }
}
