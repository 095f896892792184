//! What the DHCP dissector learns about a flow.

/// What the DHCP dissector learned about a flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhcpFacts {
    /// Option 12, the client's host name.
    pub hostname: Option<Box<str>>,
    /// Option 60, e.g. `MSFT 5.0`, `android-dhcp-13`.
    pub vendor_class: Option<Box<str>>,
    /// Option 53 of the last message (1 DISCOVER … 8 INFORM); 0 when absent.
    pub message_type: u8,
}
