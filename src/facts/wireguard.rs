//! What the WireGuard dissector learns about a flow beyond its name.

/// What the WireGuard dissector learned. Boxed only for flows that have something to say
/// (a plain WireGuard flow has no facts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireGuardFacts {
    /// The handshake had TunnelBear's sizes: an initiation of 204 bytes answered by a
    /// response of 100, where the whitepaper's are 148 and 92 (`dissect::wireguard`).
    pub tunnelbear_handshake: bool,
}
