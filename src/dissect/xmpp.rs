//! XMPP (RFC 6120), Jabber's protocol, over TCP: clients on port 5222, servers to each other on
//! 5269. Each side opens the stream with an XML document whose root is `<stream:stream …>`,
//! usually after an XML declaration `<?xml version='1.0'?>`, sometimes sent in a segment of its
//! own; a stream is closed by `</stream:stream>`. A capture that starts mid-stream shows the
//! stanzas: `<iq `, `<presence` and `<message ` elements.
//!
//! No port hint: nDPI guesses nothing for a bare connection to 5222 or 5269 (its `synscan.pcap`),
//! and other messengers (WhatsApp, Threema) use 5222 with protocols of their own.

use super::{protocol, Dissector, Probe, Segment, Transports};

const DECLARATION: &[u8] = b"<?xml";
const STREAM: &[u8] = b"<stream:stream";
const CLOSE: &[u8] = b"</stream:stream>";
/// Stanza openings (RFC 6120 §8), each followed by a space or, for presence, `>` or a space.
const STANZAS: [&[u8]; 5] = [b"<iq ", b"<presence ", b"<presence>", b"<message ", b"<stream:features>"];
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
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
    fn other_xml_is_not() {
        let f = tcp([57094, 5222]);
        assert_eq!(run_one::<XmppDissector>(&f, b"<?xml version=\"1.0\"?><soap:Envelope>").0, Probe::NotForUs);
        assert_eq!(run_one::<XmppDissector>(&f, b"<html><body>").0, Probe::NotForUs);
        assert_eq!(run_one::<XmppDissector>(&udp([1, 5222]), b"<stream:stream>").0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<XmppDissector>(&tcp([1, 5222]), &[p]);
        }
    }
}
