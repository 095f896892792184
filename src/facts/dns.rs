//! What the DNS dissector learns about a flow.

use std::net::IpAddr;

/// Answers kept per flow.
pub const MAX_ANSWERS: usize = 16;

/// One answer record we keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsAnswer {
    /// An A or AAAA record: address and TTL in seconds.
    Addr(IpAddr, u32),
    /// A CNAME record: target name and TTL.
    Cname(Box<str>, u32),
}

/// What the DNS dissector learned about a flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsFacts {
    /// The name the flow is about (lower case, no trailing dot): the first name of the latest
    /// message read, see the DNS dissector.
    pub query: Option<Box<str>>,
    /// Type of that message's first question (1 A, 28 AAAA, …); 0 until known.
    pub query_type: u16,
    /// Response code of the latest response; `None` until a response is seen.
    pub rcode: Option<u8>,
    /// A, AAAA and CNAME answers of the responses read, at most [`MAX_ANSWERS`].
    pub answers: Vec<DnsAnswer>,
}
