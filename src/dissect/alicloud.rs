//! Alibaba Cloud's framed TCP protocol (Netify's `Alibaba/Cloud`, nDPI's `AliCloud`). The wire
//! facts nDPI applies to every TCP flow (docs/ARCHITECTURE.md, "nDPI's signatures are wire
//! facts"): a message opens with an 8-byte header, the magic `ce fa be ba` and the length of the
//! body after it (32 bits, big-endian), and a flow's first payload is either the header alone
//! (a body to follow) or exactly one message. flowsieve also takes a first payload that holds
//! the start of a longer body (a message cut by TCP segmentation) or several whole messages one
//! after another, and bounds the length (an empty or 16 MiB body is not a message).

use super::text::prefix_agrees;
use super::{protocol, Dissector, FirstBytes, Probe, Segment, Transports};

const MAGIC: [u8; 4] = [0xce, 0xfa, 0xbe, 0xba];
const HEADER: usize = 8;
/// The longest body a header may announce.
const MAX_BODY: usize = 16 << 20;

/// The probe decides; no state.
#[derive(Debug, Default)]
pub struct AliCloudDissector;

impl Dissector for AliCloudDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ALIBABA_CLOUD;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0xce]);

    fn probe(segment: &Segment<'_>) -> Probe {
        let mut rest = segment.payload;
        if rest.len() < HEADER {
            return if !rest.is_empty() && prefix_agrees(rest, &MAGIC) { Probe::Unsure } else { Probe::NotForUs };
        }
        // Walk the whole messages; the payload must end at a message's end or inside its body.
        while let Some(header) = rest.get(..HEADER) {
            let body = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
            if header[..4] != MAGIC || body == 0 || body > MAX_BODY {
                return Probe::NotForUs;
            }
            match rest.get(HEADER + body..) {
                Some(next) => rest = next,
                None => return Probe::Certain, // the body continues in later segments
            }
        }
        Probe::certain_if(rest.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A message: the header for `body`, then `body`.
    fn message(body: &[u8]) -> Vec<u8> {
        [&MAGIC[..], &(body.len() as u32).to_be_bytes(), body].concat()
    }

    #[test]
    fn framed_messages_are_alibaba_cloud() {
        // nDPI's corpus has no such flow: messages built from the framing's facts.
        let f = tcp([51000, 443]);
        let one = message(b"{\"id\":1,\"method\":\"ping\"}");
        assert_eq!(run_one::<AliCloudDissector>(&f, &one).0, Probe::Certain);
        // The header alone, the body to follow; a body cut by segmentation; two messages.
        assert_eq!(run_one::<AliCloudDissector>(&f, &one[..HEADER]).0, Probe::Certain);
        assert_eq!(run_one::<AliCloudDissector>(&f, &one[..HEADER + 5]).0, Probe::Certain);
        let two = [message(b"a"), message(b"bc")].concat();
        assert_eq!(run_one::<AliCloudDissector>(&f, &two).0, Probe::Certain);
        assert_eq!(run_one::<AliCloudDissector>(&f, &one[..3]).0, Probe::Unsure);
        // Near misses: bytes after the last message that are not a header, an empty body, a
        // body past the bound, another magic, UDP.
        let trailing = [one.clone(), b"xyz".to_vec()].concat();
        assert_eq!(run_one::<AliCloudDissector>(&f, &trailing).0, Probe::NotForUs);
        let garbage_after = [one.clone(), b"GET / HTTP/1.1\r\n".to_vec()].concat();
        assert_eq!(run_one::<AliCloudDissector>(&f, &garbage_after).0, Probe::NotForUs);
        assert_eq!(run_one::<AliCloudDissector>(&f, &message(b"")).0, Probe::NotForUs);
        let huge = [&MAGIC[..], &[0x01, 0x00, 0x00, 0x01]].concat();
        assert_eq!(run_one::<AliCloudDissector>(&f, &huge).0, Probe::NotForUs);
        let mut other = one.clone();
        other[3] = 0xbb;
        assert_eq!(run_one::<AliCloudDissector>(&f, &other).0, Probe::NotForUs);
        assert_eq!(run_one::<AliCloudDissector>(&udp([51000, 443]), &one).0, Probe::NotForUs);
        assert_eq!(
            run_one::<AliCloudDissector>(&f, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03").0,
            Probe::NotForUs
        );
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40), body in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<AliCloudDissector>(&tcp([1, 2]), &[p]);
            no_panic::<AliCloudDissector>(&tcp([1, 2]), &[message(&body)]);
        }
    }
}
