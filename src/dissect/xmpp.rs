//! XMPP (RFC 6120), Jabber's protocol, over TCP: clients on port 5222, servers to each other on
//! 5269. Each side opens the stream with an XML document whose root is `<stream:stream …>`,
//! usually after an XML declaration `<?xml version='1.0'?>`, sometimes sent in a segment of its
//! own; a stream is closed by `</stream:stream>`. A capture that starts mid-stream shows the
//! stanzas: `<iq `, `<presence` and `<message ` elements.
//!
//! A stream header addressed to Truphone's XMPP domain (an attribute value `'im.truphone.com'`
//! or `"im.truphone.com"`, the wire fact nDPI applies) names the flow `TruPhone`.
//!
//! No port hint: nDPI guesses nothing for a bare connection to 5222 or 5269 (its `synscan.pcap`),
//! and other messengers (WhatsApp, Threema) use 5222 with protocols of their own.
//!
//! [`XmppLegacyDissector`] reads what nDPI calls old-style Jabber over SSL (the legacy TCP port
//! 5223), as the wire fact nDPI applies to every TCP flow (docs/ARCHITECTURE.md, "nDPI's
//! signatures are wire facts"): binary frames of a type byte, a zero byte and a length byte that
//! counts the whole frame; a flow whose first frames are of type 0x25, 0x26 or 0x30 (the
//! opening pair, then data) and whose fourth payload is such a frame again is named XMPP. The
//! first such frame shortlists the flow, unnamed; a payload that is not one whole frame gives it
//! up to the port guess. Type 0x16 opens the same framing as another protocol
//! (`dissect::hp_virtgrp`).

use super::{protocol, Dissector, FirstBytes, Parsed, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

const DECLARATION: &[u8] = b"<?xml";
const STREAM: &[u8] = b"<stream:stream";
const CLOSE: &[u8] = b"</stream:stream>";
/// Stanza openings (RFC 6120 §8), each followed by a space or, for presence, `>` or a space.
const STANZAS: [&[u8]; 5] = [b"<iq ", b"<presence ", b"<presence>", b"<message ", b"<stream:features>"];
/// Truphone's domain as an attribute value, in either quotes.
const TRUPHONE: [&[u8]; 2] = [b"='im.truphone.com'", b"=\"im.truphone.com\""];
/// How far after the declaration the stream element is looked for.
const SEARCH: usize = 256;

/// XMPP needs no state.
#[derive(Debug, Default)]
pub struct XmppDissector;

/// Whether `p` opens (or closes) an XMPP stream.
fn stream(p: &[u8]) -> Probe {
    if p.starts_with(STREAM) || p.starts_with(CLOSE) || STANZAS.iter().any(|s| p.starts_with(s)) {
        return Probe::Certain;
    }
    if p.len() < STREAM.len() && !p.is_empty() && (STREAM.starts_with(p) || DECLARATION.starts_with(p)) {
        return Probe::Unsure;
    }
    if !p.starts_with(DECLARATION) {
        return Probe::NotForUs;
    }
    // The declaration ends at its `?>`; the stream element follows after optional white space.
    let head = &p[..p.len().min(SEARCH)];
    let Some(end) = head.windows(2).position(|w| w == b"?>") else {
        return if p.len() < SEARCH { Probe::Unsure } else { Probe::NotForUs };
    };
    let after = &head[end + 2..];
    let after = &after[after.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(after.len())..];
    if after.is_empty() || (after.len() < STREAM.len() && STREAM.starts_with(after)) {
        Probe::Unsure
    } else {
        Probe::certain_if(after.starts_with(STREAM))
    }
}

impl Dissector for XmppDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::XMPP;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe(segment: &Segment<'_>) -> Probe {
        stream(segment.payload)
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        if TRUPHONE.iter().any(|value| p.windows(value.len()).any(|w| w == *value)) {
            facts.protocol = protocol::TRUPHONE;
        }
        Parsed::Done
    }
}

/// The legacy framing's frame types that open or carry the stream.
const LEGACY_TYPES: [u8; 3] = [0x25, 0x26, 0x30];
/// The payload whose frame names the flow (nDPI waits for its fourth packet).
const LEGACY_CONFIRMING: u8 = 4;

/// Whether `p` is exactly one legacy frame of the stream's types.
fn legacy_frame(p: &[u8]) -> bool {
    match p {
        [kind, 0, len, ..] => LEGACY_TYPES.contains(kind) && usize::from(*len) == p.len(),
        _ => false,
    }
}

/// How many whole legacy frames the flow has shown.
#[derive(Debug, Default)]
pub struct XmppLegacyDissector {
    frames: u8,
}

impl Dissector for XmppLegacyDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::XMPP;
    const NAMED_ON_CLAIM: bool = false;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&LEGACY_TYPES);

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if p.len() < 3 && p.first().is_some_and(|b| LEGACY_TYPES.contains(b)) && matches!(p.get(1), None | Some(0)) {
            return Probe::Unsure;
        }
        Probe::certain_if(legacy_frame(p))
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if !legacy_frame(segment.payload) {
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        self.frames = self.frames.saturating_add(1);
        if self.frames < LEGACY_CONFIRMING {
            return Parsed::Continue;
        }
        facts.protocol = protocol::XMPP;
        Parsed::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::dissect::Direction;
    use proptest::prelude::*;

    #[test]
    fn stream_header_is_xmpp() {
        // jabber.pcap, 172.16.0.62:57094 → 172.16.1.138:5222: the declaration alone, then the
        // stream element.
        let f = tcp([57094, 5222]);
        assert_eq!(run_one::<XmppDissector>(&f, b"<?xml version='1.0' ?>").0, Probe::Unsure);
        let open = b"<stream:stream to='cs-xmpp.lan' xmlns='jabber:client' version='1.0'>";
        assert_eq!(run_one::<XmppDissector>(&f, open).0, Probe::Certain);
        truncations::<XmppDissector>(&f, open);
        let both = b"<?xml version='1.0'?>\n<stream:stream xmlns='jabber:server'>";
        assert_eq!(run_one::<XmppDissector>(&tcp([1, 5269]), both).0, Probe::Certain);
        // 172.16.0.62:57149, a capture that starts mid-stream.
        let presence = b"<presence to='chat-with-tom@conference.cs-xmpp.lan/tom@cs-xmpp.lan'><c";
        assert_eq!(run_one::<XmppDissector>(&f, presence).0, Probe::Certain);
    }

    #[test]
    fn a_stream_to_truphone_is_truphone() {
        // ossfuzz_seed_fake_traces_2.pcapng, 127.0.0.1:54898 and :55536 → 127.0.0.1:1299.
        let head = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'";
        let f = tcp([54898, 1299]);
        for to in ["to='im.truphone.com'>", "to=\"im.truphone.com\">"] {
            let (probe, parsed, facts) = run_one::<XmppDissector>(&f, format!("{head}{to}").as_bytes());
            assert_eq!((probe, parsed, facts.protocol), (Probe::Certain, Parsed::Done, protocol::TRUPHONE), "{to}");
        }
        // Another domain, or Truphone's as part of another name, stays XMPP.
        for to in ["to='cs-xmpp.lan'>", "to='chat.im.truphone.com'>"] {
            let facts = run_one::<XmppDissector>(&f, format!("{head}{to}").as_bytes()).2;
            assert_eq!(facts.protocol, protocol::UNKNOWN, "{to}: the registry names the claim XMPP");
        }
    }

    #[test]
    fn other_xml_is_not() {
        let f = tcp([57094, 5222]);
        assert_eq!(run_one::<XmppDissector>(&f, b"<?xml version=\"1.0\"?><soap:Envelope>").0, Probe::NotForUs);
        assert_eq!(run_one::<XmppDissector>(&f, b"<html><body>").0, Probe::NotForUs);
        assert_eq!(run_one::<XmppDissector>(&udp([1, 5222]), b"<stream:stream>").0, Probe::NotForUs);
    }

    /// jabber.pcap, 192.168.2.100:34218 → 160.44.201.102:5223: the first four payloads (69,
    /// 16, 167 and 37 bytes; the headers as captured, the rest filled to the captured lengths).
    fn legacy_flow() -> Vec<(Direction, Vec<u8>)> {
        let frame = |head: &str, len: usize| {
            let mut p = hex(head);
            p.resize(len, 0xa5);
            p
        };
        vec![
            (Direction::Forward, frame("2500451404118ab5816e165f0a59146afe52dde4cf469f73", 69)),
            (Direction::Reverse, frame("26001000b3b6d114a9c7e53e498aa645", 16)),
            (Direction::Forward, frame("3000a706d86ab2bd45586467ebcdbfcc139ccc351a5e3c64", 167)),
            (Direction::Reverse, frame("300025b3b6d114a9c7e53e498aa645126ef0145971ec8094", 37)),
        ]
    }

    #[test]
    fn four_legacy_frames_are_xmpp() {
        let f = tcp([34218, 5223]);
        let flow = legacy_flow();
        assert_eq!(run_one::<XmppLegacyDissector>(&f, &flow[0].1).0, Probe::Certain);
        truncations::<XmppLegacyDissector>(&f, &flow[0].1);
        let (parsed, facts) = parse_all::<XmppLegacyDissector>(&f, &flow[..3]);
        assert_eq!((parsed, facts.protocol), (Parsed::Continue, protocol::UNKNOWN), "shortlisted, unnamed");
        let (parsed, facts) = parse_all::<XmppLegacyDissector>(&f, &flow);
        assert_eq!((parsed, facts.protocol), (Parsed::Done, protocol::XMPP));
    }

    #[test]
    fn near_misses_are_not_legacy_xmpp() {
        let f = tcp([34218, 5223]);
        let flow = legacy_flow();
        // A length byte one off, another type (HP/VirtGrp's 0x16 opening), a non-zero second byte.
        assert_eq!(run_one::<XmppLegacyDissector>(&f, &flow[0].1[..68]).0, Probe::NotForUs);
        for (at, value) in [(0, 0x16), (0, 0x27), (1, 0x01)] {
            let mut p = flow[0].1.clone();
            p[at] = value;
            assert_eq!(run_one::<XmppLegacyDissector>(&f, &p).0, Probe::NotForUs, "byte {at} = {value:#x}");
        }
        // A shortlisted flow whose next payload is not one whole frame is given up.
        let mut broken = flow.clone();
        broken[2].1.push(0);
        let (parsed, facts) = parse_all::<XmppLegacyDissector>(&f, &broken[..3]);
        assert_eq!((parsed, facts.protocol), (Parsed::Skipped(Skip::Unconfirmed), protocol::UNKNOWN));
        assert_eq!(run_one::<XmppLegacyDissector>(&udp([34218, 5223]), &flow[0].1).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<XmppDissector>(&tcp([1, 5222]), std::slice::from_ref(&p));
            no_panic::<XmppLegacyDissector>(&tcp([1, 5223]), &[p.clone(), p]);
        }
    }
}
