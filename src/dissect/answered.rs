//! The state of a dissector whose probe shortlists a flow on an opening message too plain to
//! name it alone (a short magic) and whose parse names the flow once the other side answers in
//! kind: the Unreal Engine handshake (`epicgames`), Activision's hellos, NetEase's magics,
//! Half-Life 2's handshake, miHoYo's TCP framing (`genshin`), Ookla's Speedtest greeting,
//! ZeroMQ's signature, AFS Rx's connection (a 64-bit key).

use super::protocol::ProtocolId;
use super::{Direction, Parsed, Segment, Skip};
use crate::facts::FlowFacts;

/// The opening's key (what the answer is checked against, 32 bits unless a dissector needs
/// more) and direction, once read; the payloads seen.
#[derive(Debug, Default)]
pub struct Answered<K = u32> {
    opening: Option<(K, Direction)>,
    seen: u8,
}

impl<K: Copy> Answered<K> {
    /// Reads one payload. The first must be an opening (`opening` gives its key); a later one
    /// from the other side must answer it (`answers(key, payload)`), which names the flow
    /// `protocol`, within `within` payloads counting the opening; payloads from the opening's
    /// side in between are passed over. Anything else gives the flow up.
    pub fn parse(
        &mut self,
        segment: &Segment<'_>,
        facts: &mut FlowFacts,
        (protocol, within): (ProtocolId, u8),
        opening: impl FnOnce(&[u8]) -> Option<K>,
        answers: impl FnOnce(K, &[u8]) -> bool,
    ) -> Parsed {
        self.seen = self.seen.saturating_add(1);
        let Some((key, direction)) = self.opening else {
            return match opening(segment.payload) {
                Some(key) => {
                    self.opening = Some((key, segment.direction));
                    Parsed::Continue
                }
                None => Parsed::Skipped(Skip::Unconfirmed),
            };
        };
        if segment.direction != direction {
            if answers(key, segment.payload) {
                facts.protocol = protocol;
                return Parsed::Done;
            }
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        if self.seen >= within {
            return Parsed::Skipped(Skip::Unconfirmed);
        }
        Parsed::Continue
    }
}
