//! Xiaomi's push/chat protocol (MIUI's `xiaomi.com` service, TCP, usually port 5222).
//!
//! Every message seen in nDPI's `xiaomi.pcap` is framed the same way: the magic `c2 fe 00 05`,
//! a 32-bit length of what follows the first 12 bytes, `00 02 00 16` (nDPI tests these 12
//! bytes to detect the protocol), then a 32-bit body length, a 22-byte protobuf header
//! (`xiaomi.com`, `CONN`) and the protobuf body; a 4-byte check value ends the message. The
//! client's `CONN` body carries the phone model (field 2) and the server it connects to, as
//! `host:port` (field 7): nDPI reports them as the user agent and the host name, and so do we.
//! The server's reply has no field 7 and is not read; later messages are encrypted.

use super::http::hostname_of;
use super::reader::be_u32_at;
use super::text::fact_string;
use super::{protocol, Dissector, FlowInfo, Parsed, Probe, Segment, Transports};
use crate::facts::FlowFacts;

const MAGIC: [u8; 4] = [0xc2, 0xfe, 0x00, 0x05];
const FORMAT: [u8; 4] = [0x00, 0x02, 0x00, 0x16];
/// Magic, length, format word, body length.
const PREFIX: usize = 16;
/// The protobuf header's length (the format word's low half).
const HEADER: usize = 0x16;
/// Messages looked at before giving up on finding the client's `CONN`.
const MAX_MESSAGES: u8 = 4;
/// Body fields: the phone model and the `host:port` the client connects to.
const FIELD_MODEL: u64 = 2;
const FIELD_SERVER: u64 = 7;

/// Counts the messages looked at.
#[derive(Debug, Default)]
pub struct XiaomiDissector {
    messages: u8,
}

/// The message's body when `p` is one whole, well-formed message.
fn body(p: &[u8]) -> Option<&[u8]> {
    let length = be_u32_at(p, 4)?;
    if p.get(..4)? != MAGIC || p.get(8..12)? != FORMAT || usize::try_from(length).ok()? != p.len().checked_sub(12)? {
        return None;
    }
    let body_len = usize::try_from(be_u32_at(p, 12)?).ok()?;
    let start = PREFIX + HEADER;
    p.get(start..start.checked_add(body_len)?)
}

/// A protobuf varint at the start of `data`: its value and the bytes after it.
fn varint(data: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in data.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, data.get(i + 1..)?));
        }
    }
    None
}

/// The length-delimited fields of a protobuf message, as `(field number, bytes)`. Stops at the
/// first malformed field.
fn fields(mut data: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    std::iter::from_fn(move || loop {
        let (key, rest) = varint(data)?;
        let rest = match key & 7 {
            0 => varint(rest)?.1,
            1 => rest.get(8..)?,
            5 => rest.get(4..)?,
            2 => {
                let (len, rest) = varint(rest)?;
                let len = usize::try_from(len).ok()?;
                let (value, after) = (rest.get(..len)?, rest.get(len..)?);
                data = after;
                return Some((key >> 3, value));
            }
            _ => return None,
        };
        data = rest;
    })
}

/// A host name (or address) with an optional `:port`: what field 7 must look like.
fn plausible_server(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= 261
        && value.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']'))
}

impl Dissector for XiaomiDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::XIAOMI;
    const TRANSPORTS: Transports = Transports::TCP;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_tcp() {
            Probe::NotForUs
        } else if p.len() < 12 && p.iter().zip(MAGIC).all(|(a, b)| *a == b) {
            Probe::Unsure
        } else {
            let length = be_u32_at(p, 4);
            let whole =
                length.and_then(|l| usize::try_from(l).ok()).is_some_and(|l| Some(l) == p.len().checked_sub(12));
            Probe::certain_if(p.starts_with(&MAGIC) && p.get(8..12) == Some(&FORMAT[..]) && whole)
        }
    }

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        self.messages = self.messages.saturating_add(1);
        let body = body(segment.payload).unwrap_or_default();
        let (mut model, mut server) = (None, None);
        for (field, value) in fields(body) {
            match field {
                FIELD_MODEL if model.is_none() => model = Some(value),
                FIELD_SERVER if server.is_none() => server = Some(value),
                _ => {}
            }
        }
        match server.filter(|s| plausible_server(s)) {
            Some(server) => {
                if facts.detected_hostname().is_none() {
                    facts.set_detected_hostname(hostname_of(server));
                }
                if let Some(model) = model.filter(|m| !m.is_empty()) {
                    let http = facts.app_protocol.http_mut();
                    if http.user_agent.is_none() {
                        http.user_agent = Some(fact_string(model, 256));
                    }
                }
                Parsed::Done
            }
            None if self.messages >= MAX_MESSAGES => Parsed::Done,
            None => Parsed::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use crate::facts::Direction;
    use proptest::prelude::*;

    /// xiaomi.pcap, 192.168.244.219:45904 → 115.164.74.232:5222: the client's CONN.
    const CONN: &str = concat!(
        "c2fe0005000000ac000200160000008e08001a0a7869616f6d692e636f6d2a04434f4e4e4800086a120d5265646d69204e6f74652039531a115631322e352e322e302e524a574d49584d222a612d4437413544384139423533373532",
        "3946393636453432394430353838363230333234463643354532282a320f6d6f62696c652d6c74652d746169663a1134372e3234312e33352e37333a35323232421061725f45475f23752d6e752d6c61746e4a021800501e6e3b2ca8",
    );
    /// The server's reply on the same flow.
    const REPLY: &str = "c2fe000500000036000200160000001808001a0a7869616f6d692e636f6d2a04434f4e4e48000a0a333236383638343933331204343533391a02080022007bf60b49";

    #[test]
    fn client_conn_names_server_and_model() {
        let f = tcp([45904, 5222]);
        let conn = hex(CONN);
        let (probe, parsed, facts) = run_one::<XiaomiDissector>(&f, &conn);
        assert_eq!((probe, parsed), (Probe::Certain, Parsed::Done));
        // nDPI: hostname 47.241.35.73, user agent "Redmi Note 9S".
        assert_eq!(facts.detected_hostname(), Some("47.241.35.73"));
        assert_eq!(facts.app_protocol.http().and_then(|h| h.user_agent.as_deref()), Some("Redmi Note 9S"));
        truncations::<XiaomiDissector>(&f, &conn);
        assert_eq!(run_one::<XiaomiDissector>(&f, &conn[..conn.len() - 1]).0, Probe::NotForUs, "length must match");
        assert_eq!(run_one::<XiaomiDissector>(&f, &conn[..6]).0, Probe::Unsure);
        assert_eq!(run_one::<XiaomiDissector>(&udp([1, 5222]), &conn).0, Probe::NotForUs);
    }

    #[test]
    fn the_reply_names_nothing() {
        let f = tcp([45904, 5222]);
        let reply = hex(REPLY);
        let (probe, parsed, facts) = run_one::<XiaomiDissector>(&f, &reply);
        assert_eq!((probe, parsed), (Probe::Certain, Parsed::Continue));
        assert!(facts.detected_hostname().is_none() && facts.app_protocol.http().is_none());
        // The reply first, then the client's message: the client's names the flow.
        let mut d = XiaomiDissector::default();
        let mut facts = FlowFacts::default();
        assert_eq!(d.parse(&segment(&f, Direction::Reverse, 0, &reply), &mut facts), Parsed::Continue);
        assert_eq!(d.parse(&segment(&f, Direction::Forward, 0, &hex(CONN)), &mut facts), Parsed::Done);
        assert_eq!(facts.detected_hostname(), Some("47.241.35.73"));
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..120), flip in 0usize..200, byte in any::<u8>()) {
            no_panic::<XiaomiDissector>(&tcp([1, 5222]), &[p]);
            let mut conn = hex(CONN);
            if let Some(b) = conn.get_mut(flip) { *b = byte; }
            no_panic::<XiaomiDissector>(&tcp([1, 5222]), &[conn]);
        }
    }
}
