//! What the SSH dissector learns about a flow.

/// What the SSH dissector learned: each side's identification string without CR LF.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshFacts {
    pub client: Option<Box<str>>,
    pub server: Option<Box<str>>,
}
