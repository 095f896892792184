//! The attribute table: every name criteria can ask about a flow.
//!
//! Adding an attribute is one row in [`ATTRIBUTES`]: its name, aliases, a one-line description
//! and an [`Accessor`], which is both its type (what values and operators it takes) and the
//! function that reads it from [`FlowFacts`]. The parser, the type checker, the evaluator and
//! the canonical printer all work from the row.

use std::net::IpAddr;

use crate::flow::facts::FlowFacts;

/// One attribute criteria can test.
#[derive(Debug)]
pub struct Attribute {
    /// Canonical spelling, used when printing a plan.
    pub name: &'static str,
    /// Other accepted spellings (Netify v4 and v5 names).
    pub aliases: &'static [&'static str],
    /// What it reads and how it compares.
    pub accessor: Accessor,
    /// One line for `check`/`dump` output.
    pub doc: &'static str,
}

/// An attribute's type together with the function that reads it.
///
/// Keeping the two in one enum means a comparison can never pair a reader with the wrong kind
/// of operand.
#[derive(Debug, Clone, Copy)]
pub enum Accessor {
    /// `true`/`false`; `==` and `!=` only. Bare: the flag.
    Bool(fn(&FlowFacts) -> bool),
    /// Unsigned number; all six comparisons. Bare: non-zero. `max` is the largest value the
    /// field can hold (comparisons beyond it get a warning); `hex` prints values as `0x…`.
    Number { get: fn(&FlowFacts) -> u64, max: u64, hex: bool },
    /// IP address; `==`/`!=` against an address or CIDR (prefix containment; the families must
    /// match). Bare: not the unspecified address.
    Address(fn(&FlowFacts) -> IpAddr),
    /// Text compared ASCII-case-insensitively, or searched with `'rx:…'`. Bare: non-empty.
    Text(fn(&FlowFacts) -> &str),
    /// Netify protocol ID: a name from [`crate::dissect::protocol::PROTOCOLS`] (`==`/`!=`,
    /// case-insensitive) or a number (all six comparisons). Bare: not Unknown (0).
    Protocol(fn(&FlowFacts) -> u64),
}

impl Accessor {
    /// What the attribute is, for messages ("`ip_nat` is a boolean").
    pub fn type_name(&self) -> &'static str {
        match self {
            Accessor::Bool(_) => "a boolean",
            Accessor::Number { .. } => "a number",
            Accessor::Address(_) => "an IP address",
            Accessor::Text(_) => "a string",
            Accessor::Protocol(_) => "a protocol",
        }
    }

    /// What a value for it looks like, for messages.
    pub fn expects(&self) -> &'static str {
        match self {
            Accessor::Bool(_) => "`true` or `false`",
            Accessor::Number { .. } => "a decimal or 0x hex number",
            Accessor::Address(_) => "an unquoted IPv4/IPv6 address or CIDR (e.g. 10.0.0.1, 192.168.0.0/16, fe80::/10)",
            Accessor::Text(_) => "a quoted string ('example.com') or regex ('rx:…')",
            Accessor::Protocol(_) => "a quoted protocol name ('TLS') or a numeric protocol ID",
        }
    }

    /// The bare-attribute truth test: flag set, non-zero, non-empty.
    pub fn truth(&self, facts: &FlowFacts) -> bool {
        match self {
            Accessor::Bool(get) => get(facts),
            Accessor::Number { get, .. } | Accessor::Protocol(get) => get(facts) != 0,
            Accessor::Address(get) => !get(facts).is_unspecified(),
            Accessor::Text(get) => !get(facts).is_empty(),
        }
    }
}

const U8_MAX: u64 = u8::MAX as u64;
const U16_MAX: u64 = u16::MAX as u64;

/// Every attribute flowsieve understands. Names and meanings follow Netify
/// (spec/flow-actions.md §3.2).
pub static ATTRIBUTES: &[Attribute] = &[
    Attribute {
        name: "ip_version",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.ip_version), max: U8_MAX, hex: false },
        doc: "IP version, 4 or 6",
    },
    Attribute {
        name: "ip_protocol",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.ip_protocol), max: U8_MAX, hex: false },
        doc: "IANA protocol number (6 TCP, 17 UDP, …)",
    },
    Attribute {
        name: "vlan_id",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.vlan_id), max: U16_MAX, hex: false },
        doc: "outer 802.1Q VLAN id, 0 when untagged",
    },
    Attribute {
        name: "ip_nat",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.ip_nat),
        doc: "the WAN-side copy of a NAT'd flow",
    },
    Attribute {
        name: "local_ip",
        aliases: &[],
        accessor: Accessor::Address(|f| f.local_ip),
        doc: "address of the local side",
    },
    Attribute {
        name: "other_ip",
        aliases: &[],
        accessor: Accessor::Address(|f| f.other_ip),
        doc: "address of the other side",
    },
    Attribute {
        name: "local_port",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.local_port), max: U16_MAX, hex: false },
        doc: "port of the local side",
    },
    Attribute {
        name: "other_port",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.other_port), max: U16_MAX, hex: false },
        doc: "port of the other side",
    },
    Attribute {
        name: "protocol",
        aliases: &["proto", "protocol_id", "proto_id"],
        accessor: Accessor::Protocol(|f| u64::from(f.protocol)),
        doc: "Netify protocol, by name ('TLS') or ID (91)",
    },
    Attribute {
        name: "detected_hostname",
        aliases: &[],
        accessor: Accessor::Text(|f| f.detected_hostname.as_deref().unwrap_or("")),
        doc: "host name the flow is about (TLS SNI, …)",
    },
    Attribute {
        name: "ssl_version",
        aliases: &["tls_version"],
        accessor: Accessor::Number { get: |f| u64::from(f.tls.version), max: U16_MAX, hex: true },
        doc: "negotiated TLS version, wire value (0x0302 = TLS 1.1)",
    },
    Attribute {
        name: "ssl_cipher",
        aliases: &["tls_cipher"],
        accessor: Accessor::Number { get: |f| u64::from(f.tls.cipher), max: U16_MAX, hex: true },
        doc: "negotiated TLS cipher suite, wire value",
    },
    Attribute {
        name: "detection_complete",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.detection_complete),
        doc: "no more dissection will happen for this flow",
    },
    Attribute {
        name: "detection_guessed",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.detection_guessed),
        doc: "detection gave up and guessed",
    },
    Attribute {
        name: "detection_updated",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.detection_updated),
        doc: "metadata was added after the first detection",
    },
];

/// Names Netify knows that flowsieve does not (yet), so the error can say so instead of
/// guessing a typo (spec/flow-actions.md §3.2).
const NETIFY_ONLY: &[&str] = &[
    "app",
    "application",
    "app_id",
    "application_id",
    "application_category",
    "app_category",
    "protocol_category",
    "proto_category",
    "domain_category",
    "dom_category",
    "category",
    "cat",
    "other_type",
    "origin",
    "tunnel_type",
    "local_mac",
    "other_mac",
    "dns_hostname",
    "risks",
    "ndpi_risk_score",
    "ndpi_risk_client",
    "ndpi_risk_server",
    "fwmark",
    "iface",
    "iface_nfq_src",
    "iface_nfq_dst",
    "ip_dscp",
    "vlan",
    "detection_init",
    "dhc_hit",
    "fhc_hit",
    "soft_dissector",
    "expired",
    "expiring",
    "tls_ja4",
    "tls_ech",
    "any_ip",
    "any_mac",
    "any_port",
    "src_ip",
    "dst_ip",
    "src_mac",
    "dst_mac",
    "src_port",
    "dst_port",
];

/// The attribute spelled `name` (exactly; names are case-sensitive as in Netify).
pub fn lookup(name: &str) -> Option<&'static Attribute> {
    ATTRIBUTES.iter().find(|a| a.name == name || a.aliases.contains(&name))
}

/// The error message for a name that is not an attribute: says so, and names the closest
/// attribute when one is close enough to be a likely typo.
pub(super) fn unknown_message(name: &str) -> String {
    if NETIFY_ONLY.contains(&name) {
        return format!("`{name}` is a Netify attribute that flowsieve does not support yet");
    }
    match suggestion(name) {
        Some(best) => format!("unknown attribute `{name}`: did you mean `{best}`?"),
        None => format!("unknown attribute `{name}`"),
    }
}

/// The closest spelling among all names and aliases: a case-insensitive match first, then the
/// smallest edit distance within about a third of the word, then a name containing the word.
fn suggestion(name: &str) -> Option<&'static str> {
    let spellings = || ATTRIBUTES.iter().flat_map(|a| std::iter::once(&a.name).chain(a.aliases));
    let lower = name.to_ascii_lowercase();
    if let Some(s) = spellings().find(|s| s.eq_ignore_ascii_case(name)) {
        return Some(s);
    }
    let limit = (name.chars().count() / 3).max(1);
    let closest =
        spellings().map(|s| (edit_distance(&lower, s), *s)).filter(|&(d, _)| d <= limit).min_by_key(|&(d, _)| d);
    if let Some((_, s)) = closest {
        return Some(s);
    }
    if lower.len() >= 3 {
        return spellings().find(|s| s.contains(lower.as_str())).copied();
    }
    None
}

/// Levenshtein distance over characters.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut all: Vec<&str> =
            ATTRIBUTES.iter().flat_map(|a| std::iter::once(a.name).chain(a.aliases.iter().copied())).collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a spelling appears twice in ATTRIBUTES");
        for name in NETIFY_ONLY {
            assert!(lookup(name).is_none(), "{name} is both supported and listed as Netify-only");
        }
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("ssl_verison", "ssl_version"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ip_nat", "ip_nat"), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggestion("ssl_verison"), Some("ssl_version"));
        assert_eq!(suggestion("IP_NAT"), Some("ip_nat"));
        assert_eq!(suggestion("hostname"), Some("detected_hostname"));
        assert_eq!(suggestion("zzzzzzzz"), None);
    }
}
