//! The attribute table: every name criteria can ask about a flow.
//!
//! Adding an attribute is one row in [`ATTRIBUTES`]: its name, aliases, a one-line description
//! and an [`Accessor`], which is both its type (what values and operators it takes) and the
//! function that reads it from [`FlowFacts`]. The parser, the type checker, the evaluator and
//! the canonical printer all work from the row.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::categories::CategoryKind;
use super::groups::Mac;
use super::risks;
use crate::facts::finality::Final;
use crate::facts::protocol;
use crate::facts::{AppFacts, FlowFacts, OtherType, TunnelType};
use crate::input::edit_distance;

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
    /// Why every test of it is currently constant (a fact flowsieve does not collect yet);
    /// `check` warns with it wherever the attribute is used.
    pub caveat: Option<&'static str>,
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
    /// IP address; `==`/`!=` against an address, CIDR or `@group` (prefix containment; the
    /// families must match). Bare: not the unspecified address.
    Address(fn(&FlowFacts) -> IpAddr),
    /// MAC address; `==`/`!=` against a MAC literal or `@group`. Bare: not all zeros.
    Mac(fn(&FlowFacts) -> [u8; 6]),
    /// Text compared ASCII-case-insensitively, or searched with `'rx:…'`. Bare: non-empty.
    Text(fn(&FlowFacts) -> &str),
    /// Netify protocol ID: a name from [`crate::facts::protocol::PROTOCOLS`] (`==`/`!=`,
    /// case-insensitive) or a number (all six comparisons). Bare: not Unknown (0).
    Protocol(fn(&FlowFacts) -> u64),
    /// The application: a tag (`'netify.youtube'` or `'youtube'`, `==`/`!=`) or an ID (all
    /// six comparisons). Bare: the ID is not 0.
    Application(fn(&FlowFacts) -> &AppFacts),
    /// A category: a tag from `index` or a numeric ID, `==`/`!=`. `get` returns the slots the
    /// attribute looks at; `==` is true when any slot holds the ID (the hybrid `category`
    /// looks at the application and the domain category). Bare: a slot is not 0.
    Category { get: fn(&FlowFacts) -> [u16; 2], index: CategoryKind, hybrid: bool },
    /// One of a fixed set of bare names (`other_remote`, `tunnel_gtp` …), `==`/`!=`. `get`
    /// returns the index into `values`; index 0 is the "unknown/none" value. Bare: not 0.
    Constant { get: fn(&FlowFacts) -> u8, values: &'static [&'static str] },
    /// nDPI risk bitmap: `== 'name'` / `== bit` tests one bit. Bare: any risk.
    Risks(fn(&FlowFacts) -> u64),
}

impl Accessor {
    /// What the attribute is, for messages ("`ip_nat` is a boolean").
    pub fn type_name(&self) -> &'static str {
        match self {
            Accessor::Bool(_) => "a boolean",
            Accessor::Number { .. } => "a number",
            Accessor::Address(_) => "an IP address",
            Accessor::Mac(_) => "a MAC address",
            Accessor::Text(_) => "a string",
            Accessor::Protocol(_) => "a protocol",
            Accessor::Application(_) => "an application",
            Accessor::Category { .. } => "a category",
            Accessor::Constant { .. } => "a constant",
            Accessor::Risks(_) => "a set of risks",
        }
    }

    /// What a value for it looks like, for messages.
    pub fn expects(&self) -> String {
        match self {
            Accessor::Bool(_) => "`true` or `false`".into(),
            Accessor::Number { .. } => "a decimal or 0x hex number".into(),
            Accessor::Address(_) => {
                "an unquoted IPv4/IPv6 address or CIDR (e.g. 10.0.0.1, 192.168.0.0/16, fe80::/10) or an \
                 address group (@name)"
                    .into()
            }
            Accessor::Mac(_) => "an unquoted MAC address (aa:bb:cc:dd:ee:ff) or an address group (@name)".into(),
            Accessor::Text(_) => "a quoted string ('example.com') or regex ('rx:…')".into(),
            Accessor::Protocol(_) => "a quoted protocol name ('TLS') or a numeric protocol ID".into(),
            Accessor::Application(_) => {
                "a quoted application tag ('netify.youtube' or 'youtube') or a numeric application ID".into()
            }
            Accessor::Category { index, .. } => {
                format!("a quoted {} tag ('{}') or a numeric category ID", index.describe(), index.table()[1].0)
            }
            Accessor::Constant { values, .. } => format!("one of {}", values.join(", ")),
            Accessor::Risks(_) => "a quoted nDPI risk name ('tls_obsolete_version') or a risk bit number".into(),
        }
    }

    /// The bare-attribute truth test: flag set, non-zero, non-empty.
    pub fn truth(&self, facts: &FlowFacts) -> bool {
        match self {
            Accessor::Bool(get) => get(facts),
            Accessor::Number { get, .. } | Accessor::Protocol(get) | Accessor::Risks(get) => get(facts) != 0,
            Accessor::Address(get) => !get(facts).is_unspecified(),
            Accessor::Mac(get) => get(facts) != [0; 6],
            Accessor::Text(get) => !get(facts).is_empty(),
            Accessor::Application(get) => get(facts).id != 0,
            Accessor::Category { get, .. } => get(facts) != [0, 0],
            Accessor::Constant { get, .. } => get(facts) != 0,
        }
    }

    /// The attribute's value in this flow, as `explain` shows it (`0x0303`, `91 (TLS)`).
    pub fn describe_value(&self, facts: &FlowFacts) -> String {
        match self {
            Accessor::Bool(get) => get(facts).to_string(),
            Accessor::Number { get, hex: true, .. } => format!("{:#06x}", get(facts)),
            Accessor::Number { get, hex: false, .. } => get(facts).to_string(),
            Accessor::Address(get) => get(facts).to_string(),
            Accessor::Mac(get) => Mac(get(facts)).to_string(),
            Accessor::Text(get) => format!("'{}'", get(facts)),
            Accessor::Protocol(get) => {
                let id = get(facts);
                let name = u16::try_from(id).map_or("Unknown", |id| protocol::name_of(protocol::ProtocolId(id)));
                format!("{id} ({name})")
            }
            Accessor::Application(get) => {
                let app = get(facts);
                match &app.tag {
                    Some(tag) => format!("{} ({tag})", app.id),
                    None => format!("{} (no tag)", app.id),
                }
            }
            Accessor::Category { get, index, hybrid } => {
                let [app, domain] = get(facts);
                let one =
                    |id: u16| format!("{id} ({})", index.tag_of(id).unwrap_or(if id == 0 { "none" } else { "?" }));
                if *hybrid {
                    format!("application {}, domain {}", one(app), one(domain))
                } else {
                    one(app)
                }
            }
            Accessor::Constant { get, values } => {
                values.get(usize::from(get(facts))).copied().unwrap_or("?").to_string()
            }
            Accessor::Risks(get) => {
                let bits = get(facts);
                if bits == 0 {
                    return "none".into();
                }
                let mut out = String::new();
                for bit in (0..64).filter(|b| bits & (1u64 << b) != 0) {
                    if !out.is_empty() {
                        out.push_str(", ");
                    }
                    match risks::name_of(bit) {
                        Some(name) => out.push_str(name),
                        None => {
                            let _ = write!(out, "bit {bit}");
                        }
                    }
                }
                out
            }
        }
    }
}

const U8_MAX: u64 = u8::MAX as u64;
const U16_MAX: u64 = u16::MAX as u64;
const U32_MAX: u64 = u32::MAX as u64;

/// `other_type` values; the order is [`OtherType`]'s code in [`other_type_code`].
const OTHER_TYPES: &[&str] = &[
    "other_unknown",
    "other_local",
    "other_remote",
    "other_multicast",
    "other_broadcast",
    "other_unsupported",
    "other_error",
];
/// `origin` values. flowsieve always knows which side opened a flow, so `origin_unknown` never
/// matches. (Netify's v4 README says `origin_remote`; its lexer only has `origin_other`.)
const ORIGINS: &[&str] = &["origin_unknown", "origin_local", "origin_other"];
/// `tunnel_type` values; `tunnel_capwap` and `tunnel_vxlan` are ours (Netify's lexer stops at
/// `tunnel_gtp`).
const TUNNEL_TYPES: &[&str] = &["tunnel_none", "tunnel_gtp", "tunnel_capwap", "tunnel_vxlan"];

/// Every bare constant any attribute takes, for the parser.
pub(super) fn is_constant(name: &str) -> bool {
    [OTHER_TYPES, ORIGINS, TUNNEL_TYPES].iter().any(|values| values.iter().any(|v| v.eq_ignore_ascii_case(name)))
}

/// The constant closest to a misspelt one (`other_remot`), for the parser's message.
pub(super) fn closest_constant(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    [OTHER_TYPES, ORIGINS, TUNNEL_TYPES]
        .iter()
        .flat_map(|values| values.iter().copied())
        .map(|v| (edit_distance(&lower, v), v))
        .filter(|&(d, _)| d <= 2)
        .min_by_key(|&(d, _)| d)
        .map(|(_, v)| v)
}

fn other_type_code(f: &FlowFacts) -> u8 {
    match f.other_type {
        OtherType::Unknown => 0,
        OtherType::Local => 1,
        OtherType::Remote => 2,
        OtherType::Multicast => 3,
        OtherType::Broadcast => 4,
        OtherType::Unsupported => 5,
        OtherType::Error => 6,
    }
}

/// Every attribute flowsieve understands. Names and meanings follow Netify
/// (docs/FLOW-ACTIONS.md §3.2).
pub static ATTRIBUTES: &[Attribute] = &[
    Attribute {
        name: "ip_version",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.ip_version), max: U8_MAX, hex: false },
        doc: "IP version, 4 or 6",
        caveat: None,
    },
    Attribute {
        name: "ip_protocol",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.ip_protocol), max: U8_MAX, hex: false },
        doc: "IANA protocol number (6 TCP, 17 UDP, …)",
        caveat: None,
    },
    Attribute {
        name: "vlan_id",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.vlan_id), max: U16_MAX, hex: false },
        doc: "outer 802.1Q VLAN id, 0 when untagged",
        caveat: None,
    },
    Attribute {
        name: "ip_nat",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.ip_nat),
        doc: "the WAN-side copy of a NAT'd flow",
        caveat: None,
    },
    Attribute {
        name: "local_ip",
        aliases: &[],
        accessor: Accessor::Address(|f| f.local_ip),
        doc: "address of the local side",
        caveat: None,
    },
    Attribute {
        name: "other_ip",
        aliases: &[],
        accessor: Accessor::Address(|f| f.other_ip),
        doc: "address of the other side",
        caveat: None,
    },
    Attribute {
        name: "local_mac",
        aliases: &[],
        accessor: Accessor::Mac(|f| f.local_mac),
        doc: "MAC address of the local side",
        caveat: None,
    },
    Attribute {
        name: "other_mac",
        aliases: &[],
        accessor: Accessor::Mac(|f| f.other_mac),
        doc: "MAC address of the other side (usually the router's)",
        caveat: None,
    },
    Attribute {
        name: "local_port",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.local_port), max: U16_MAX, hex: false },
        doc: "port of the local side",
        caveat: None,
    },
    Attribute {
        name: "other_port",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.other_port), max: U16_MAX, hex: false },
        doc: "port of the other side",
        caveat: None,
    },
    Attribute {
        name: "other_type",
        aliases: &[],
        accessor: Accessor::Constant { get: other_type_code, values: OTHER_TYPES },
        doc: "how the other side relates to us (other_local, other_remote, …)",
        caveat: None,
    },
    Attribute {
        name: "origin",
        aliases: &[],
        accessor: Accessor::Constant { get: |f| if f.local_origin { 1 } else { 2 }, values: ORIGINS },
        doc: "which side opened the flow (origin_local, origin_other)",
        caveat: None,
    },
    Attribute {
        name: "tunnel_type",
        aliases: &[],
        accessor: Accessor::Constant {
            get: |f| match f.tunnel_type {
                TunnelType::None => 0,
                TunnelType::Gtp => 1,
                TunnelType::Capwap => 2,
                TunnelType::Vxlan => 3,
            },
            values: TUNNEL_TYPES,
        },
        doc: "encapsulation the flow was found in (tunnel_none, tunnel_gtp, tunnel_capwap, tunnel_vxlan)",
        caveat: None,
    },
    Attribute {
        name: "protocol",
        aliases: &["proto", "protocol_id", "proto_id"],
        accessor: Accessor::Protocol(|f| u64::from(f.protocol)),
        doc: "Netify protocol, by name ('TLS') or ID (91)",
        caveat: None,
    },
    Attribute {
        name: "application",
        aliases: &["app", "app_id", "application_id"],
        accessor: Accessor::Application(|f| &f.application),
        doc: "application, by tag ('netify.youtube' or 'youtube') or ID (124)",
        caveat: None,
    },
    Attribute {
        name: "category",
        aliases: &["cat"],
        accessor: Accessor::Category {
            get: |f| [f.application.category, f.application.domain_category],
            index: CategoryKind::Application,
            hybrid: true,
        },
        doc: "application category or domain category, by tag ('games') or ID",
        caveat: None,
    },
    Attribute {
        name: "application_category",
        aliases: &["app_category"],
        accessor: Accessor::Category {
            get: |f| [f.application.category; 2],
            index: CategoryKind::Application,
            hybrid: false,
        },
        doc: "category of the application, by tag ('social-media') or ID (24)",
        caveat: None,
    },
    Attribute {
        name: "protocol_category",
        aliases: &["proto_category"],
        accessor: Accessor::Category {
            get: |f| [f.application.protocol_category; 2],
            index: CategoryKind::Protocol,
            hybrid: false,
        },
        doc: "category of the protocol, by tag ('vpn') or ID (21)",
        caveat: None,
    },
    Attribute {
        name: "domain_category",
        aliases: &["dom_category"],
        accessor: Accessor::Category {
            get: |f| [f.application.domain_category; 2],
            index: CategoryKind::Application,
            hybrid: false,
        },
        doc: "category from the custom domain lists, by application category tag or ID",
        caveat: None,
    },
    Attribute {
        name: "detected_hostname",
        aliases: &[],
        accessor: Accessor::Text(|f| f.detected_hostname().unwrap_or("")),
        doc: "host name the flow is about (TLS SNI, …)",
        caveat: None,
    },
    Attribute {
        name: "dns_hostname",
        aliases: &[],
        accessor: Accessor::Text(|f| f.dns_hostname.as_deref().unwrap_or("")),
        doc: "name the DNS hint cache gives for the other address",
        caveat: None,
    },
    Attribute {
        name: "ssl_version",
        aliases: &["tls_version"],
        accessor: Accessor::Number { get: |f| u64::from(f.tls.version), max: U16_MAX, hex: true },
        doc: "negotiated TLS version, wire value (0x0302 = TLS 1.1)",
        caveat: None,
    },
    Attribute {
        name: "ssl_cipher",
        aliases: &["tls_cipher"],
        accessor: Accessor::Number { get: |f| u64::from(f.tls.cipher), max: U16_MAX, hex: true },
        doc: "negotiated TLS cipher suite, wire value",
        caveat: None,
    },
    Attribute {
        name: "detection_complete",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.detection_complete),
        doc: "no more dissection will happen for this flow",
        caveat: None,
    },
    Attribute {
        name: "detection_guessed",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.detection_guessed),
        doc: "detection gave up and guessed",
        caveat: None,
    },
    Attribute {
        name: "detection_updated",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.detection_updated),
        doc: "metadata was added after the first detection",
        caveat: None,
    },
    Attribute {
        name: "risks",
        aliases: &[],
        accessor: Accessor::Risks(|f| f.risk.risks),
        doc: "flow risks, by nDPI name ('tls_obsolete_version'), Netify name ('Weak TLS Cipher') or nDPI bit",
        caveat: None,
    },
    Attribute {
        name: "ndpi_risk_score",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.risk.score), max: U16_MAX, hex: false },
        doc: "nDPI risk score of the flow",
        caveat: None,
    },
    Attribute {
        name: "ndpi_risk_client",
        aliases: &["ndpi_risk_score_client"],
        accessor: Accessor::Number { get: |f| u64::from(f.risk.score_client), max: U16_MAX, hex: false },
        doc: "nDPI risk score, client share",
        caveat: None,
    },
    Attribute {
        name: "ndpi_risk_server",
        aliases: &["ndpi_risk_score_server"],
        accessor: Accessor::Number { get: |f| u64::from(f.risk.score_server), max: U16_MAX, hex: false },
        doc: "nDPI risk score, server share",
        caveat: None,
    },
    Attribute {
        name: "fwmark",
        aliases: &["ct_mark"],
        accessor: Accessor::Number { get: |f| u64::from(f.ct_mark), max: U32_MAX, hex: true },
        doc: "conntrack mark of the flow's connection (0 when unknown)",
        caveat: None,
    },
    Attribute {
        name: "iface",
        aliases: &[],
        accessor: Accessor::Text(|f| &f.iface),
        doc: "capture interface name ('eth0' or 'rx:…')",
        caveat: None,
    },
    Attribute {
        name: "vlan",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.vlan_id), max: 4095, hex: false },
        doc: "802.1Q VLAN id (Netify 5.2: vlan_id or a bridge PVID; flowsieve knows only the tag)",
        caveat: None,
    },
    Attribute {
        name: "ip_dscp",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.ip_dscp), max: 63, hex: false },
        doc: "DSCP of the flow's first packet (0–63)",
        caveat: None,
    },
    Attribute {
        name: "src_ip",
        aliases: &[],
        accessor: Accessor::Address(|f| if f.local_origin { f.local_ip } else { f.other_ip }),
        doc: "address of the side that opened the flow",
        caveat: None,
    },
    Attribute {
        name: "dst_ip",
        aliases: &[],
        accessor: Accessor::Address(|f| if f.local_origin { f.other_ip } else { f.local_ip }),
        doc: "address of the side that answered",
        caveat: None,
    },
    Attribute {
        name: "src_mac",
        aliases: &[],
        accessor: Accessor::Mac(|f| if f.local_origin { f.local_mac } else { f.other_mac }),
        doc: "MAC of the side that opened the flow",
        caveat: None,
    },
    Attribute {
        name: "dst_mac",
        aliases: &[],
        accessor: Accessor::Mac(|f| if f.local_origin { f.other_mac } else { f.local_mac }),
        doc: "MAC of the side that answered",
        caveat: None,
    },
    Attribute {
        name: "src_port",
        aliases: &[],
        accessor: Accessor::Number {
            get: |f| u64::from(if f.local_origin { f.local_port } else { f.other_port }),
            max: U16_MAX,
            hex: false,
        },
        doc: "port of the side that opened the flow",
        caveat: None,
    },
    Attribute {
        name: "dst_port",
        aliases: &[],
        accessor: Accessor::Number {
            get: |f| u64::from(if f.local_origin { f.other_port } else { f.local_port }),
            max: U16_MAX,
            hex: false,
        },
        doc: "port of the side that answered",
        caveat: None,
    },
    // `any_*`: either side. The accessor reads the local side; compilation tests both
    // (`==`: either side equals; `!=`: neither does), see `plan::compile`.
    Attribute {
        name: "any_ip",
        aliases: &[],
        accessor: Accessor::Address(|f| f.local_ip),
        doc: "either address (== either side, != neither side)",
        caveat: None,
    },
    Attribute {
        name: "any_mac",
        aliases: &[],
        accessor: Accessor::Mac(|f| f.local_mac),
        doc: "either MAC (== either side, != neither side)",
        caveat: None,
    },
    Attribute {
        name: "any_port",
        aliases: &[],
        accessor: Accessor::Number { get: |f| u64::from(f.local_port), max: U16_MAX, hex: false },
        doc: "either port (== either side, != neither side)",
        caveat: None,
    },
    Attribute {
        name: "tls_ja4",
        aliases: &[],
        accessor: Accessor::Text(|f| f.tls.ja4().as_ref().map_or("", |j| j.as_str())),
        doc: "JA4 fingerprint of the TLS ClientHello ('t13d1516h2_…' or 'rx:…')",
        caveat: None,
    },
    Attribute {
        name: "detection_init",
        aliases: &[],
        accessor: Accessor::Bool(|_| true),
        doc: "detection has started (true for every flow actions see)",
        caveat: None,
    },
    Attribute {
        name: "dhc_hit",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.dns_hostname.is_some()),
        doc: "the DNS hint cache named the other address (dns_hostname is set)",
        caveat: None,
    },
    Attribute {
        name: "fhc_hit",
        aliases: &[],
        accessor: Accessor::Bool(|_| false),
        // Exactly false, not unsupported: every flow is detected from its own packets.
        doc: "Netify's flow hash cache answered detection (never: flowsieve keeps no flow hash cache)",
        caveat: None,
    },
    Attribute {
        name: "soft_dissector",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.application.soft_dissector),
        doc: "a soft dissector (nsd: line) set the flow's application or protocol",
        caveat: None,
    },
    Attribute {
        name: "expiring",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.is_ending()),
        doc: "the flow is ending (idle expiry, end of a capture file): true in its last evaluation",
        caveat: None,
    },
    Attribute {
        name: "expired",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.is_ending()),
        doc: "the flow has ended (as `expiring`: flowsieve evaluates a flow once as it ends)",
        caveat: None,
    },
    Attribute {
        name: "tls_ech",
        aliases: &[],
        accessor: Accessor::Bool(|f| f.tls.ech()),
        doc: "the TLS ClientHello offered Encrypted Client Hello (the encrypted_client_hello extension, real or GREASE)",
        caveat: None,
    },
    Attribute {
        name: "iface_nfq_src",
        aliases: &[],
        accessor: Accessor::Text(|f| f.iface.nfq_src()),
        doc: "NFQUEUE input interface of the flow's client-to-server packets ('*': any; empty unless captured with --nfqueue)",
        caveat: None,
    },
    Attribute {
        name: "iface_nfq_dst",
        aliases: &[],
        accessor: Accessor::Text(|f| f.iface.nfq_dst()),
        doc: "NFQUEUE output interface of the flow's client-to-server packets ('*': any; empty unless captured with --nfqueue)",
        caveat: None,
    },
];

/// The fact groups an attribute reads, by canonical name: its tests are unknown until they are
/// final (see [`crate::facts::finality`]). Attributes fixed when the flow is created need none.
pub(super) fn needs(name: &str) -> Final {
    match name {
        "protocol" => Final::PROTOCOL,
        "application" | "category" | "application_category" | "domain_category" => Final::APPLICATION,
        "protocol_category" | "soft_dissector" => Final::PROTOCOL.with(Final::APPLICATION),
        "detected_hostname" => Final::HOSTNAME,
        "ssl_version" | "ssl_cipher" => Final::TLS_SERVER,
        "tls_ja4" | "tls_ech" => Final::TLS_CLIENT,
        "risks" | "ndpi_risk_score" | "ndpi_risk_client" | "ndpi_risk_server" => Final::RISKS,
        "detection_complete" | "detection_guessed" | "detection_updated" | "fhc_hit" => Final::DETECTION,
        "expiring" | "expired" => Final::END,
        "ip_nat" | "fwmark" => Final::CONNTRACK,
        _ => Final::NONE,
    }
}

/// Names Netify knows that flowsieve does not (yet), so the error can say so instead of
/// guessing a typo (docs/FLOW-ACTIONS.md §3.2). Every name §3.2 lists is accepted now.
const NETIFY_ONLY: &[&str] = &[];

/// The attribute spelled `name` (exactly; names are case-sensitive as in Netify).
pub fn lookup(name: &str) -> Option<&'static Attribute> {
    ATTRIBUTES.iter().find(|a| a.name == name || a.aliases.contains(&name))
}

/// The error message for a name that is not an attribute: says so, and names the closest
/// attribute when one is close enough to be a likely typo.
pub(super) fn unknown_message(name: &str) -> String {
    #[allow(clippy::const_is_empty)]
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
    fn every_name_needs_lists_is_an_attribute() {
        for name in [
            "protocol",
            "application",
            "category",
            "application_category",
            "domain_category",
            "protocol_category",
            "soft_dissector",
            "detected_hostname",
            "ssl_version",
            "ssl_cipher",
            "tls_ja4",
            "tls_ech",
            "risks",
            "ndpi_risk_score",
            "ndpi_risk_client",
            "ndpi_risk_server",
            "detection_complete",
            "detection_guessed",
            "detection_updated",
            "fhc_hit",
            "expiring",
            "expired",
            "ip_nat",
            "fwmark",
        ] {
            assert!(ATTRIBUTES.iter().any(|a| a.name == name), "{name}");
            assert_ne!(needs(name), Final::NONE, "{name}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggestion("ssl_verison"), Some("ssl_version"));
        assert_eq!(suggestion("IP_NAT"), Some("ip_nat"));
        assert_eq!(suggestion("hostname"), Some("detected_hostname"));
        assert_eq!(suggestion("zzzzzzzz"), None);
    }
}
