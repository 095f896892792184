//! Netify protocol IDs and names. Criteria compare against these, not nDPI's IDs
//! (spec/flow-actions.md §3.2: DNS 5, HTTP 7, TLS 91, SSH 92, QUIC 188, HTTP/S 196).

/// A protocol flowsieve can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    pub id: u16,
    pub name: &'static str,
}

pub const UNKNOWN: u16 = 0;
pub const DNS: u16 = 5;
pub const HTTP: u16 = 7;
pub const TLS: u16 = 91;
pub const SSH: u16 = 92;
pub const QUIC: u16 = 188;
pub const HTTPS: u16 = 196;

/// Every protocol with its Netify ID. Adding a protocol adds a row here.
pub const PROTOCOLS: &[Protocol] = &[
    Protocol { id: UNKNOWN, name: "Unknown" },
    Protocol { id: DNS, name: "DNS" },
    Protocol { id: HTTP, name: "HTTP" },
    Protocol { id: TLS, name: "TLS" },
    Protocol { id: SSH, name: "SSH" },
    Protocol { id: QUIC, name: "QUIC" },
    Protocol { id: HTTPS, name: "HTTP/S" },
];

/// Name for a protocol ID ("Unknown" when we have no name for it).
pub fn name_of(id: u16) -> &'static str {
    PROTOCOLS.iter().find(|p| p.id == id).map_or("Unknown", |p| p.name)
}

/// ID for a protocol name, compared case-insensitively as Netify does.
pub fn id_of(name: &str) -> Option<u16> {
    PROTOCOLS.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.id)
}
