//! What the STUN dissector learns about a flow.

/// An application a STUN flow's own messages name (docs/FLOW-ACTIONS.md §5, "Wire
/// signatures"); the classifier turns it into the application's tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StunClient {
    #[default]
    Unknown,
    /// WhatsApp's relays: its private comprehension-required attributes, or its message types.
    WhatsApp,
    /// Microsoft's calls (Teams, Skype for Business, Skype): its ICE/TURN extension attributes.
    Microsoft,
}

/// What the STUN dissector learned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StunFacts {
    pub client: StunClient,
    /// The flow's host name came from a REALM attribute: the relay named its operator.
    pub realm: bool,
}
