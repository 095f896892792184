//! JSON-RPC 2.0 sent bare over TCP (flowsieve-only, nDPI's name `JSON-RPC`; no well-known port).
//!
//! Wire facts (the JSON-RPC 2.0 specification, jsonrpc.org): a request is a JSON object with the
//! member `"jsonrpc": "2.0"` and a `"method"`; a response has `"jsonrpc": "2.0"` and a
//! `"result"` or an `"error"`; a batch is a JSON array of them. The signature nDPI applies to
//! every TCP flow (docs/ARCHITECTURE.md, "nDPI's signatures are wire facts"): a payload of more
//! than 30 bytes starting with `{` that holds the text `"jsonrpc":`.
//!
//! flowsieve tightens it with the specification: the payload starts with `{` or a batch's `[`
//! (after optional whitespace), the member's value is `"2.0"` (whitespace allowed around the
//! colon, as JSON allows), and a `"method"`, `"result"` or `"error"` member is there too. JSON-RPC
//! carried in HTTP is HTTP's (an HTTP message never starts with `{`); Stratum's mining requests,
//! JSON-RPC too, are named by the mining dissector, which probes first.

use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

/// nDPI's floor: a payload of more than this many bytes.
const SHORTEST: usize = 30;
/// The bytes looked at: the members sit near the start of a message.
const LOOK: usize = 4096;
const VERSION_KEY: &[u8] = b"\"jsonrpc\"";
const VERSION: &[u8] = b"\"2.0\"";
/// A request's or a response's other member.
const MEMBERS: [&[u8]; 3] = [b"\"method\"", b"\"result\"", b"\"error\""];

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct JsonRpcDissector;

fn skip_space(p: &[u8]) -> &[u8] {
    let start = p.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')).unwrap_or(p.len());
    p.get(start..).unwrap_or_default()
}

/// The bytes after the colon of each occurrence of `key` used as a member name in `p`.
fn values<'a>(p: &'a [u8], key: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    p.windows(key.len()).enumerate().filter(move |(_, w)| *w == key).filter_map(move |(at, _)| {
        let after = skip_space(p.get(at + key.len()..)?);
        Some(skip_space(after.strip_prefix(b":")?))
    })
}

/// Whether `p` starts a JSON-RPC 2.0 message (or batch).
fn message(p: &[u8]) -> bool {
    let p = p.get(..LOOK.min(p.len())).unwrap_or_default();
    let start = skip_space(p);
    let opens = match start.first() {
        Some(b'{') => true,
        Some(b'[') => skip_space(start.get(1..).unwrap_or_default()).first() == Some(&b'{'),
        _ => false,
    };
    opens
        && values(start, VERSION_KEY).any(|v| v.starts_with(VERSION))
        && MEMBERS.iter().any(|key| values(start, key).next().is_some())
}

impl Dissector for JsonRpcDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::JSON_RPC;
    const TRANSPORTS: Transports = Transports::TCP;
    /// An object, a batch, or whitespace before either.
    const FIRST_BYTES: FirstBytes = FirstBytes::of(b"{[ \t\r\n");

    fn probe(segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        Probe::certain_if(p.len() > SHORTEST && message(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    const REQUEST: &[u8] = b"{\"jsonrpc\": \"2.0\", \"method\": \"subtract\", \"params\": [42, 23], \"id\": 1}\n";
    const RESPONSE: &[u8] = b"{\"jsonrpc\":\"2.0\",\"result\":19,\"id\":1}";
    const ERROR: &[u8] =
        b"{\"jsonrpc\": \"2.0\", \"error\": {\"code\": -32601, \"message\": \"Method not found\"}, \"id\": \"1\"}";
    const BATCH: &[u8] =
        b"[\n  {\"jsonrpc\": \"2.0\", \"method\": \"sum\", \"params\": [1,2,4], \"id\": \"1\"},\n  {\"jsonrpc\": \"2.0\", \"method\": \"notify_hello\", \"params\": [7]}\n]";

    #[test]
    fn the_specifications_examples_are_json_rpc() {
        // The examples of the JSON-RPC 2.0 specification.
        let f = tcp([50000, 8545]);
        for m in [REQUEST, RESPONSE, ERROR, BATCH, b" {\"method\" : \"x.y\", \"jsonrpc\" : \"2.0\", \"id\": 7}"] {
            assert_eq!(run_one::<JsonRpcDissector>(&f, m).0, Probe::Certain, "{}", String::from_utf8_lossy(m));
        }
        truncations::<JsonRpcDissector>(&f, REQUEST);
        assert_eq!(protocol::name_of(protocol::JSON_RPC), "JSON-RPC");
    }

    #[test]
    fn near_misses_are_not_json_rpc() {
        let f = tcp([50000, 8545]);
        for m in [
            // JSON-RPC 1.0 (no version member), another version, no method/result/error,
            // too short, the member inside a string, HTTP carrying JSON-RPC.
            &b"{\"method\": \"echo\", \"params\": [\"Hello JSON-RPC\"], \"id\": 1}"[..],
            b"{\"jsonrpc\": \"1.0\", \"method\": \"getinfo\", \"params\": [], \"id\": 1}",
            b"{\"jsonrpc\": \"2.0\", \"params\": [1, 2, 3, 4, 5, 6, 7], \"id\": 1}",
            b"{\"jsonrpc\":\"2.0\",\"result\":1}",
            b"{\"note\": \"jsonrpc 2.0 method\", \"id\": 1, \"data\": \"xxxxxxxx\"}",
            b"POST / HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"eth_blockNumber\",\"id\":1}",
        ] {
            assert_eq!(run_one::<JsonRpcDissector>(&f, m).0, Probe::NotForUs, "{}", String::from_utf8_lossy(m));
        }
        assert_eq!(run_one::<JsonRpcDissector>(&udp([50000, 8545]), REQUEST).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..80)) {
            no_panic::<JsonRpcDissector>(&tcp([1, 2]), &[p]);
        }

        #[test]
        fn never_panics_on_json_like_text(p in "[{\\[ \"a-z:0-9.,\\]}]{0,80}") {
            no_panic::<JsonRpcDissector>(&tcp([1, 2]), &[p.into_bytes()]);
        }
    }
}
