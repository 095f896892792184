//! IANA's IP protocol numbers the pipeline tells apart (the IPv4 `protocol` / IPv6 `next header`
//! field), named once for the decoder, the dissectors and the flow table. `netlink` keeps its
//! own copy of the two ICMP numbers because it sits below every other module (see `lib.rs`).

pub const ICMP: u8 = 1;
/// IPv4 carried in IP (RFC 2003).
pub const IPIP: u8 = 4;
pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
/// IPv6 carried in IP (RFC 4213).
pub const IPV6: u8 = 41;
pub const ICMPV6: u8 = 58;
