//! Criteria tests: a table of expressions against flows, errors with their columns, warnings,
//! the canonical printer, and property tests (no panics, printing round-trips).

use std::net::IpAddr;

use proptest::prelude::*;

use super::{AddressGroup, AddressGroups, CompileContext, Criteria, CriteriaError};
use crate::facts::protocol;
use crate::facts::{FlowFacts, IfaceName, Ja4, OtherType, SharedName, TunnelType};

type Setup = fn(&mut FlowFacts);

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn v4(f: &mut FlowFacts) {
    f.ip_version = 4;
    f.local_ip = ip("192.168.1.10");
    f.other_ip = ip("93.184.216.34");
}

fn v6(f: &mut FlowFacts) {
    f.ip_version = 6;
    f.local_ip = ip("fe80::1");
    f.other_ip = ip("2001:db8::5");
}

fn host(f: &mut FlowFacts, name: &str) {
    f.set_detected_hostname(name);
}

fn compile(text: &str) -> Criteria {
    Criteria::compile(text).unwrap_or_else(|e| panic!("{text:?} should compile:\n{}", e.render(text)))
}

fn compile_err(text: &str) -> CriteriaError {
    match Criteria::compile(text) {
        Ok(c) => panic!("{text:?} should not compile, got {c}"),
        Err(e) => e,
    }
}

#[test]
fn expressions_against_flows() {
    let cases: &[(&str, Setup, bool)] = &[
        // The Netify weak-TLS example.
        ("ip_nat == false && ssl_version == 0x0302;", |f| f.tls.version = 0x0302, true),
        (
            "ip_nat == false && ssl_version == 0x0302;",
            |f| {
                f.tls.version = 0x0302;
                f.ip_nat = true;
            },
            false,
        ),
        ("ip_nat == false && ssl_version == 0x0302;", |f| f.tls.version = 0x0303, false),
        ("ssl_version == 770;", |f| f.tls.version = 0x0302, true),
        ("tls_version == 0x0303;", |f| f.tls.version = 0x0303, true),
        ("ssl_version < 0x0303;", |f| f.tls.version = 0x0302, true),
        ("ssl_version >= 0x0303;", |f| f.tls.version = 0x0302, false),
        ("ssl_version <= 770;", |f| f.tls.version = 770, true),
        ("ssl_version > 0;", |_| {}, false),
        ("ssl_version;", |_| {}, false),
        ("ssl_version == 0X0302;", |f| f.tls.version = 0x0302, true),
        ("ssl_cipher == 0xc02f;", |f| f.tls.cipher = 0xc02f, true),
        ("tls_cipher != 0xc02f;", |f| f.tls.cipher = 0xc02f, false),
        ("ssl_version == 70000;", |f| f.tls.version = 0x0302, false),
        ("ssl_version != 70000;", |f| f.tls.version = 0x0302, true),
        // Addresses and CIDRs.
        ("local_ip == 192.168.1.10;", v4, true),
        ("local_ip == 192.168.1.11;", v4, false),
        ("local_ip == 192.168.0.0/16;", v4, true),
        ("local_ip == 10.0.0.0/8;", v4, false),
        ("local_ip != 10.0.0.0/8;", v4, true),
        ("other_ip == 0.0.0.0/0;", v4, true),
        ("local_ip == 192.168.1.10/24;", v4, true),
        ("local_ip == '192.168.1.10';", v4, true),
        ("local_ip == fe80::/10;", v6, true),
        ("local_ip == fe80::1;", v6, true),
        ("other_ip == 2001:db8::/32;", v6, true),
        ("other_ip == 2001:db9::/32;", v6, false),
        ("other_ip == ::1;", |f| f.other_ip = ip("::1"), true),
        ("other_ip == ::/0;", v6, true),
        // Family mismatch: `==` false, `!=` true (docs/FLOW-ACTIONS.md §3.1).
        ("other_ip == 0.0.0.0/0;", v6, false),
        ("local_ip == 10.0.0.0/8;", v6, false),
        ("local_ip != 10.0.0.0/8;", v6, true),
        ("local_ip == ::/0;", v4, false),
        ("local_ip;", |_| {}, false),
        ("local_ip;", v4, true),
        // Protocols.
        ("protocol == 'TLS';", |f| f.protocol = protocol::TLS, true),
        ("protocol == 'tls';", |f| f.protocol = protocol::TLS, true),
        ("proto_id == 91;", |f| f.protocol = protocol::TLS, true),
        ("proto == 'HTTP/S';", |f| f.protocol = protocol::HTTPS, true),
        ("protocol != 'TLS';", |f| f.protocol = protocol::TLS, false),
        ("protocol_id > 90;", |f| f.protocol = protocol::TLS, true),
        ("protocol == 'DNS';", |f| f.protocol = protocol::TLS, false),
        ("protocol;", |_| {}, false),
        ("protocol == 'Unknown';", |_| {}, true),
        // Host names.
        ("detected_hostname == 'Example.COM';", |f| host(f, "example.com"), true),
        ("detected_hostname == \"example.com\";", |f| host(f, "EXAMPLE.com"), true),
        ("detected_hostname == 'example.com';", |f| host(f, "www.example.com"), false),
        ("detected_hostname == 'rx:example\\.com$';", |f| host(f, "WWW.Example.com"), true),
        ("detected_hostname == 'rx:EXAMPLE';", |f| host(f, "example.com"), true),
        ("detected_hostname == 'rx:^example';", |f| host(f, "www.example.com"), false),
        ("detected_hostname != 'rx:example';", |f| host(f, "www.example.com"), false),
        ("detected_hostname != 'rx:example';", |f| host(f, "www.other.org"), true),
        ("detected_hostname == 'rx:it's';", |f| host(f, "it's"), true),
        ("detected_hostname;", |_| {}, false),
        ("!detected_hostname;", |_| {}, true),
        ("detected_hostname == '';", |_| {}, true),
        // Booleans and `!`.
        ("ip_nat;", |f| f.ip_nat = true, true),
        ("!ip_nat;", |f| f.ip_nat = true, false),
        ("!ip_nat;", |_| {}, true),
        ("!!ip_nat;", |f| f.ip_nat = true, true),
        ("ip_nat == true;", |_| {}, false),
        ("ip_nat != TRUE;", |_| {}, true),
        ("ip_nat == False;", |_| {}, true),
        ("!ip_nat == true;", |_| {}, true),
        ("!(ip_nat || detection_complete);", |_| {}, true),
        ("!(ip_nat || detection_complete);", |f| f.detection_complete = true, false),
        ("!(ssl_version == 0x0302);", |f| f.tls.version = 0x0302, false),
        ("((ip_nat));", |f| f.ip_nat = true, true),
        ("true;", |_| {}, true),
        ("false;", |_| {}, false),
        // Precedence: `&&` binds tighter.
        ("true || false && false;", |_| {}, true),
        ("(true || false) && false;", |_| {}, false),
        ("false && false || true;", |_| {}, true),
        ("false && (false || true);", |_| {}, false),
        ("ip_nat && detection_complete || detection_guessed;", |f| f.detection_guessed = true, true),
        // Statements: the last one decides.
        ("ip_nat; detection_complete;", |f| f.ip_nat = true, false),
        ("detection_complete; ip_nat;", |f| f.ip_nat = true, true),
        ("ip_nat", |f| f.ip_nat = true, true),
        ("*", |_| {}, true),
        ("  *  ", |_| {}, true),
        // Word operators, any case.
        (
            "ip_nat and detection_complete;",
            |f| {
                f.ip_nat = true;
                f.detection_complete = true;
            },
            true,
        ),
        ("ip_nat OR detection_guessed;", |f| f.detection_guessed = true, true),
        ("ip_nat AnD detection_updated;", |f| f.detection_updated = true, false),
        ("detection_guessed || detection_complete;", |f| f.detection_guessed = true, true),
        // Ports, numbers.
        ("local_port == 443 || other_port == 443;", |f| f.other_port = 443, true),
        ("other_port == 0x1bb;", |f| f.other_port = 443, true),
        (
            "ip_protocol == 6 && other_port >= 27015 && other_port <= 27030;",
            |f| {
                f.ip_protocol = 6;
                f.other_port = 27020;
            },
            true,
        ),
        ("ip_protocol == 6 && other_port >= 27015;", |f| f.other_port = 27020, false),
        ("ip_version == 6;", v6, true),
        ("vlan_id;", |_| {}, false),
        ("vlan_id == 100;", |f| f.vlan_id = 100, true),
        // No spaces, newlines.
        ("ip_nat==false&&local_ip==192.168.0.0/16;", v4, true),
        ("ip_nat == false\n  && other_port == 443;\n", |f| f.other_port = 443, true),
    ];
    assert!(cases.len() >= 60);
    let mut failures = Vec::new();
    for (text, setup, expected) in cases {
        let mut facts = FlowFacts::default();
        setup(&mut facts);
        let criteria = compile(text);
        if criteria.matches(&facts) != *expected {
            failures.push(format!("{text:?} should be {expected} (plan {criteria})"));
        }
        // The canonical form means the same.
        let again = compile(&criteria.to_string());
        assert_eq!(again.matches(&facts), *expected, "canonical form of {text:?}: {criteria}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn app(f: &mut FlowFacts, id: u32, tag: &str, category: u16) {
    f.application.id = id;
    f.application.tag = Some(tag.into());
    f.application.category = category;
}

fn youtube(f: &mut FlowFacts) {
    app(f, 124, "netify.youtube", 29);
}

fn facebook(f: &mut FlowFacts) {
    app(f, 119, "netify.facebook", 24);
}

fn steam(f: &mut FlowFacts) {
    app(f, 150, "netify.steam", 12);
    f.ip_protocol = 17;
    f.other_port = 27020;
}

fn tls(f: &mut FlowFacts) {
    f.protocol = protocol::TLS;
}

const MAC: [u8; 6] = [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];

fn macs(f: &mut FlowFacts) {
    f.local_mac = MAC;
    f.other_mac = [0x02, 0, 0, 0, 0, 0x01];
}

/// The attributes beyond the weak-TLS subset, the compact syntax and the examples of
/// docs/FLOW-ACTIONS.md §3–§5.
#[test]
fn full_language_against_flows() {
    let cases: &[(&str, Setup, bool)] = &[
        // Applications: full tag, short tag (after the first `.`), any case, ID, bare.
        ("application == 'netify.youtube';", youtube, true),
        ("app == 'youtube';", youtube, true),
        ("app == 'YouTube';", youtube, true),
        ("app == 'NETIFY.YOUTUBE';", youtube, true),
        ("app == 'netify.netflix';", youtube, false),
        ("app == 'netify';", youtube, false),
        ("app == 'tube';", youtube, false),
        ("app_id == 124;", youtube, true),
        ("application_id != 124;", youtube, false),
        ("app_id > 100;", youtube, true),
        ("app_id < 124;", youtube, false),
        ("app_id <= 124;", youtube, true),
        ("app;", youtube, true),
        ("app;", |_| {}, false),
        ("!app;", |_| {}, true),
        ("!app;", youtube, false),
        ("app != 'youtube';", youtube, false),
        ("app != 'youtube';", facebook, true),
        ("app == 'youtube';", |_| {}, false),
        ("app == 0;", |_| {}, true),
        ("app != 0;", youtube, true),
        ("application == '124';", youtube, false),
        ("application == 'facebook' || application == 'youtube';", facebook, true),
        ("app == 'youtube' || app == 'facebook' || app == 'netflix';", facebook, true),
        ("!(app == 'youtube');", facebook, true),
        ("(app == 'youtube' || app == 'netflix') && !ip_nat;", youtube, true),
        ("application == 'youtube' && category == 'streaming-media';", youtube, true),
        ("app == 'netify.youtube' and local_mac == aa:bb:cc:dd:ee:ff;", youtube, false),
        // The soft-dissector example (docs/FLOW-ACTIONS.md §5).
        ("app == 'netify.steam' && protocol_id != 74 && other_port >= 27015 && other_port <= 27030;", steam, true),
        (
            "app == 'netify.steam' && protocol_id != 74 && other_port >= 27015 && other_port <= 27030;",
            |f| {
                steam(f);
                f.other_port = 443;
            },
            false,
        ),
        ("app == 'netify.steam' && protocol_id != 74 && other_port >= 27015 && other_port <= 27030;", youtube, false),
        // Compact syntax (docs/FLOW-ACTIONS.md §3.1 examples).
        ("ai:netify.facebook", facebook, true),
        ("ai:facebook", facebook, true),
        ("ai:119", facebook, true),
        ("ai:119", youtube, false),
        ("ai:facebook", youtube, false),
        ("!ai:facebook", youtube, true),
        ("!ai:facebook", facebook, false),
        ("ai:facebook;", facebook, true),
        ("  ai:netify.facebook  ", facebook, true),
        ("! ai:facebook", facebook, false),
        ("pi:5", |f| f.protocol = protocol::DNS, true),
        ("!pi:5", |f| f.protocol = protocol::DNS, false),
        ("!pi:5", tls, true),
        ("pi:TLS", tls, true),
        ("pi:tls", tls, true),
        ("pi:91", tls, true),
        ("pi:HTTP/S", |f| f.protocol = protocol::HTTPS, true),
        ("pi:dot", tls, false),
        ("ac:social-media", facebook, true),
        ("ac:24", facebook, true),
        ("ac:social-media", youtube, false),
        ("ac:streaming-media", youtube, true),
        ("!ac:social-media", youtube, true),
        ("ac:31", |f| f.application.category = 31, true),
        ("ac:os-software-updates", |f| f.application.category = 31, true),
        ("ac:vpn-and-proxy", |f| f.application.category = 28, true),
        ("pc:vpn", |f| f.application.protocol_category = 21, true),
        ("pc:21", |f| f.application.protocol_category = 21, true),
        ("pc:web", |f| f.application.protocol_category = 21, false),
        ("!pc:web", |f| f.application.protocol_category = 21, true),
        // Protocol names flowsieve does not detect load (with a warning) and never match.
        ("proto == 'dot';", tls, false),
        ("proto != 'dot';", tls, true),
        ("other_port == 853 && proto == 'dot';", |f| f.other_port = 853, false),
        // Categories.
        ("application_category == 'social-media';", facebook, true),
        ("app_category == 'Social-Media';", facebook, true),
        ("app_category == 24;", facebook, true),
        ("app_category != 'social-media';", facebook, false),
        ("app_category != 'games';", facebook, true),
        ("app_category;", facebook, true),
        ("app_category;", |_| {}, false),
        ("protocol_category == 'web';", |f| f.application.protocol_category = 22, true),
        ("proto_category == 'vpn';", |f| f.application.protocol_category = 22, false),
        ("proto_category != 'vpn';", |f| f.application.protocol_category = 22, true),
        ("!protocol_category;", |_| {}, true),
        ("domain_category == 'adult';", |f| f.application.domain_category = 2, true),
        ("dom_category == 'adult';", |f| f.application.domain_category = 3, false),
        ("dom_category == 2;", |f| f.application.domain_category = 2, true),
        ("domain_category == 'social-media';", facebook, false),
        ("category == 'games';", |f| f.application.category = 12, true),
        ("cat == 'games';", |f| f.application.domain_category = 12, true),
        ("category == 'games';", facebook, false),
        (
            "category == 'social-media';",
            |f| {
                f.application.category = 12;
                f.application.domain_category = 24;
            },
            true,
        ),
        ("category != 'games';", |f| f.application.category = 12, false),
        ("category != 'games';", facebook, true),
        // flowsieve's `!=` is the negation of `==` (Netify: true, as the app slot differs).
        (
            "category != 'games';",
            |f| {
                facebook(f);
                f.application.domain_category = 12;
            },
            false,
        ),
        ("category;", |_| {}, false),
        ("category;", |f| f.application.domain_category = 2, true),
        ("category == 'unclassified';", |f| f.application.category = 1, true),
        ("category == 0;", |_| {}, true),
        ("category == 'games' || category == 'streaming-media';", youtube, true),
        // DNS host names.
        ("dns_hostname == 'example.com';", |f| f.dns_hostname = Some("example.com".into()), true),
        ("dns_hostname == 'rx:\\.example\\.com$';", |f| f.dns_hostname = Some("www.example.com".into()), true),
        ("dns_hostname;", |_| {}, false),
        ("!dns_hostname;", |_| {}, true),
        ("dns_hostname != 'example.com';", |f| f.dns_hostname = Some("EXAMPLE.COM".into()), false),
        ("dns_hostname == 'example.com';", |f| host(f, "example.com"), false),
        (
            "detected_hostname == 'rx:(^|\\.)youtube\\.com$' || dns_hostname == 'rx:(^|\\.)youtube\\.com$';",
            |f| f.dns_hostname = Some("m.youtube.com".into()),
            true,
        ),
        (
            "detected_hostname == 'rx:(^|\\.)youtube\\.com$' || dns_hostname == 'rx:(^|\\.)youtube\\.com$';",
            |f| host(f, "notyoutube.com"),
            false,
        ),
        // MAC addresses.
        ("local_mac == aa:bb:cc:dd:ee:ff;", macs, true),
        ("local_mac == AA:BB:CC:DD:EE:FF;", macs, true),
        ("local_mac == 'aa:bb:cc:dd:ee:ff';", macs, true),
        ("local_mac == 'aa-bb-cc-dd-ee-ff';", macs, true),
        ("local_mac != aa:bb:cc:dd:ee:ff;", macs, false),
        ("local_mac == aa:bb:cc:dd:ee:fe;", macs, false),
        ("other_mac == aa:bb:cc:dd:ee:ff;", macs, false),
        ("other_mac == 02:00:00:00:00:01;", macs, true),
        ("local_mac;", |_| {}, false),
        ("local_mac;", macs, true),
        ("!other_mac;", |_| {}, true),
        ("local_mac == 00:00:00:00:00:00;", |_| {}, true),
        // Constants.
        ("other_type == other_remote;", |f| f.other_type = OtherType::Remote, true),
        ("other_type == other_local;", |f| f.other_type = OtherType::Remote, false),
        ("other_type != other_local;", |f| f.other_type = OtherType::Remote, true),
        ("other_type == other_multicast;", |f| f.other_type = OtherType::Multicast, true),
        ("other_type == other_broadcast;", |f| f.other_type = OtherType::Broadcast, true),
        ("other_type == other_unknown;", |_| {}, true),
        ("other_type == other_unsupported;", |f| f.other_type = OtherType::Unsupported, true),
        ("other_type == other_error;", |f| f.other_type = OtherType::Error, true),
        ("other_type == other_local;", |f| f.other_type = OtherType::Local, true),
        ("other_type == OTHER_REMOTE;", |f| f.other_type = OtherType::Remote, true),
        ("other_type;", |_| {}, false),
        ("other_type;", |f| f.other_type = OtherType::Remote, true),
        ("origin == origin_local;", |f| f.local_origin = true, true),
        ("origin == origin_other;", |f| f.local_origin = true, false),
        ("origin == origin_other;", |_| {}, true),
        ("origin != origin_local;", |_| {}, true),
        ("origin == origin_unknown;", |_| {}, false),
        ("tunnel_type == tunnel_none;", |_| {}, true),
        ("tunnel_type == tunnel_gtp;", |f| f.tunnel_type = TunnelType::Gtp, true),
        ("tunnel_type != tunnel_gtp;", |_| {}, true),
        ("tunnel_type;", |_| {}, false),
        ("tunnel_type;", |f| f.tunnel_type = TunnelType::Gtp, true),
        ("tunnel_type == tunnel_capwap;", |f| f.tunnel_type = TunnelType::Capwap, true),
        ("tunnel_type == tunnel_vxlan;", |f| f.tunnel_type = TunnelType::Vxlan, true),
        ("tunnel_type == tunnel_capwap;", |f| f.tunnel_type = TunnelType::Vxlan, false),
        ("tunnel_type == tunnel_none;", |f| f.tunnel_type = TunnelType::Capwap, false),
        // Spec §3.2 attributes of Netify 5.2: by origin, either side, DSCP, VLAN, flags.
        (
            "src_ip == 192.168.1.10 && dst_port == 443;",
            |f| {
                v4(f);
                f.local_origin = true;
                f.other_port = 443
            },
            true,
        ),
        (
            "src_ip == 192.168.1.10;",
            |f| {
                v4(f);
                f.local_origin = false
            },
            false,
        ),
        (
            "src_ip == 93.184.216.34 && src_port == 443;",
            |f| {
                v4(f);
                f.other_port = 443
            },
            true,
        ),
        (
            "dst_ip == 192.168.1.10 && dst_port == 22;",
            |f| {
                v4(f);
                f.local_port = 22
            },
            true,
        ),
        (
            "src_mac == 02:00:00:00:00:01;",
            |f| {
                f.local_origin = true;
                f.local_mac = [2, 0, 0, 0, 0, 1]
            },
            true,
        ),
        (
            "dst_mac == 02:00:00:00:00:01;",
            |f| {
                f.local_origin = true;
                f.local_mac = [2, 0, 0, 0, 0, 1]
            },
            false,
        ),
        ("any_ip == 93.184.216.0/24;", v4, true),
        ("any_ip == 192.168.1.10;", v4, true),
        ("any_ip == 10.0.0.1;", v4, false),
        ("any_ip != 10.0.0.1;", v4, true),
        ("any_ip != 192.168.1.10;", v4, false),
        ("any_port == 443;", |f| f.other_port = 443, true),
        ("any_port == 443;", |f| f.local_port = 443, true),
        ("any_port != 443;", |f| f.local_port = 443, false),
        ("any_port >= 1024;", |f| f.local_port = 50000, true),
        ("any_mac == 02:00:00:00:00:09;", |f| f.other_mac = [2, 0, 0, 0, 0, 9], true),
        ("!any_ip == 10.0.0.1;", v4, true),
        ("ip_dscp == 46;", |f| f.ip_dscp = 46, true),
        ("ip_dscp != 0;", |_| {}, false),
        ("vlan == 7;", |f| f.vlan_id = 7, true),
        (
            "tls_ja4 == 't13d1516h2_8daaf6152771_e5627efa2ab1';",
            |f| f.tls.set_ja4(Ja4::new("t13d1516h2_8daaf6152771_e5627efa2ab1").unwrap()),
            true,
        ),
        ("tls_ja4 == 'rx:^t13';", |_| {}, false),
        ("detection_init;", |_| {}, true),
        ("dhc_hit;", |f| f.dns_hostname = Some("example.com".into()), true),
        ("!dhc_hit;", |_| {}, true),
        ("fhc_hit || soft_dissector || expiring || expired || tls_ech;", |_| {}, false),
        ("tls_ech;", |f| f.tls.set_ech(), true),
        ("expiring && expired;", |f| f.mark_ending(), true),
        ("iface_nfq_src == 'br-lan' or iface_nfq_dst == 'br-lan';", |_| {}, false),
        (
            "iface_nfq_src == 'br-lan' or iface_nfq_dst == 'br-lan';",
            |f| f.iface = IfaceName::with_nfq("nfq50", "wan0", "br-lan"),
            true,
        ),
        ("iface_nfq_src == 'BR-LAN';", |f| f.iface = IfaceName::with_nfq("nfq50", "br-lan", ""), true),
        ("iface_nfq_src == 'wan0';", |f| f.iface = IfaceName::with_nfq("nfq50", "br-lan", ""), false),
        // NethSecurity's "any device": any NFQUEUE interface, not a literal `*`.
        ("iface_nfq_src == '*' or iface_nfq_dst == '*';", |f| f.iface = IfaceName::with_nfq("nfq54", "eth1", ""), true),
        ("iface_nfq_src == '*' or iface_nfq_dst == '*';", |_| {}, false),
        ("iface_nfq_src != '*';", |_| {}, true),
        ("ndpi_risk_score_client == 0;", |_| {}, true),
        ("ip_nat || other_type == other_remote;", |f| f.other_type = OtherType::Remote, true),
        // Risks (always 0 today; bits set by hand here).
        ("risks == 'tls_obsolete_version';", |_| {}, false),
        ("risks == 'tls_obsolete_version';", |f| f.risk.risks = 1 << 7, true),
        ("risks == 7;", |f| f.risk.risks = 1 << 7, true),
        ("risks == 8;", |f| f.risk.risks = 1 << 7, false),
        ("risks != 'tls_obsolete_version';", |_| {}, true),
        ("risks;", |_| {}, false),
        ("!risks;", |_| {}, true),
        ("risks == 'NDPI_TLS_WEAK_CIPHER';", |f| f.risk.risks = 1 << 8, true),
        ("ndpi_risk_score > 100;", |_| {}, false),
        ("ndpi_risk_score > 100;", |f| f.risk.score = 150, true),
        ("ndpi_risk_client >= 10;", |f| f.risk.score_client = 10, true),
        ("ndpi_risk_server == 0;", |_| {}, true),
        // Conntrack mark.
        ("fwmark == 0x10;", |f| f.ct_mark = 16, true),
        ("ct_mark == 16;", |f| f.ct_mark = 16, true),
        ("fwmark;", |_| {}, false),
        ("fwmark >= 0x100;", |f| f.ct_mark = 0x10, false),
        ("fwmark != 0;", |f| f.ct_mark = 1, true),
        ("fwmark == 0xffffffff;", |f| f.ct_mark = u32::MAX, true),
        // Interfaces.
        ("iface == 'eth0';", |f| f.iface = "eth0".into(), true),
        ("iface == 'ETH0';", |f| f.iface = "eth0".into(), true),
        ("iface == 'rx:^br-';", |f| f.iface = "br-lan".into(), true),
        ("iface == 'rx:^br-';", |f| f.iface = "eth0".into(), false),
        ("iface != 'br-lan';", |f| f.iface = "eth0".into(), true),
        ("iface;", |_| {}, false),
        // More examples of docs/FLOW-ACTIONS.md §3.
        ("local_ip == 192.168.1.5;", |f| f.local_ip = ip("192.168.1.5"), true),
        ("local_ip == 192.168.1.5;", v4, false),
        (
            "vlan_id == 10 && ip_nat == false;",
            |f| {
                f.vlan_id = 10;
            },
            true,
        ),
        ("detection_guessed || detection_complete;", |_| {}, false),
        ("detection_guessed || detection_complete;", |f| f.detection_complete = true, true),
        ("ip_version == 4 && local_ip != 10.0.0.0/8;", v4, true),
        ("ip_nat == false && tls_version == 0x0302 && ssl_cipher == 0xc02f;", |f| f.tls.version = 0x0302, false),
        ("ip_nat == false && tls_version == 0x0302 && !detected_hostname;", |f| f.tls.version = 0x0302, true),
    ];
    assert!(cases.len() >= 140, "{}", cases.len());
    let mut failures = Vec::new();
    for (text, setup, expected) in cases {
        let mut facts = FlowFacts::default();
        setup(&mut facts);
        let criteria = compile(text);
        if criteria.matches(&facts) != *expected {
            failures.push(format!("{text:?} should be {expected} (plan {criteria})"));
        }
        if criteria.explain(&facts).result != *expected {
            failures.push(format!("explain of {text:?} should be {expected}"));
        }
        let again = compile(&criteria.to_string());
        assert_eq!(again.plan, criteria.plan, "canonical form of {text:?}: {criteria}");
        assert_eq!(again.matches(&facts), *expected, "canonical form of {text:?}: {criteria}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn compact_syntax_compiles_to_the_long_form() {
    let cases = [
        ("ai:netify.facebook", "application == 'netify.facebook';"),
        ("ai:Facebook", "application == 'facebook';"),
        ("ai:119", "application == 119;"),
        ("!pi:5", "!(protocol == 5);"),
        ("pi:tls", "protocol == 'TLS';"),
        ("ac:social-media", "application_category == 'social-media';"),
        ("ac:31", "application_category == 31;"),
        ("pc:vpn;", "protocol_category == 'vpn';"),
    ];
    for (compact, long) in cases {
        let c = compile(compact);
        assert_eq!(c.plan, compile(long).plan, "{compact}");
        assert_eq!(c.to_string(), long, "{compact}");
        assert_eq!(c.source(), compact);
    }
    assert!(compile("pi:dot").warnings().is_empty(), "DoT is in Netify's table");
    let w = compile("pi:dott").warnings()[0].to_string();
    assert!(w.starts_with("column 4: unknown protocol `dott` (not in Netify's protocol table"), "{w}");
    assert!(w.ends_with("): did you mean `DoT`?"), "{w}");
}

fn groups() -> AddressGroups {
    AddressGroups::from_json(
        r#"{"iot": {"ips": ["192.168.1.50", "10.9.0.0/16", "fd00::/8"], "macs": ["aa:bb:cc:dd:ee:ff"]},
            "servers": {"ips": ["203.0.113.0/24"]},
            "empty": {}}"#,
        "address-groups.json",
    )
    .unwrap()
}

#[test]
fn address_groups() {
    let groups = groups();
    let context = CompileContext { address_groups: Some(&groups) };
    let cases: &[(&str, Setup, bool)] = &[
        ("local_ip == @iot;", |f| f.local_ip = ip("10.9.3.4"), true),
        ("local_ip == @iot;", |f| f.local_ip = ip("192.168.1.50"), true),
        ("local_ip == @iot;", v4, false),
        ("local_ip == @iot;", |f| f.local_ip = ip("fd00::5"), true),
        ("local_ip == @iot;", v6, false),
        ("local_ip != @iot;", v4, true),
        ("other_ip == @servers;", |f| f.other_ip = ip("203.0.113.9"), true),
        ("other_ip == @servers || other_ip == @iot;", |f| f.other_ip = ip("10.9.0.1"), true),
        ("local_mac == @iot;", macs, true),
        ("local_mac != @iot;", |_| {}, true),
        ("other_mac == @iot;", macs, false),
        ("local_ip == @empty;", v4, false),
        ("local_mac == @servers;", macs, false),
        ("local_mac == @iot && app == 'youtube';", |f| f.local_mac = MAC, false),
    ];
    for (text, setup, expected) in cases {
        let mut facts = FlowFacts::default();
        setup(&mut facts);
        let criteria = Criteria::compile_with(text, &context).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(criteria.matches(&facts), *expected, "{text}");
        let again = Criteria::compile_with(&criteria.to_string(), &context).unwrap();
        assert_eq!(again.plan, criteria.plan, "{text}");
    }
    let w = Criteria::compile_with("local_ip == @empty;", &context).unwrap();
    assert_eq!(
        w.warnings()[0].to_string(),
        "column 13: address group `@empty` has no IP addresses: `==` never matches"
    );
    let error = |text: &str| Criteria::compile_with(text, &context).unwrap_err();
    let e = error("local_ip == @iott;");
    assert_eq!((e.column, e.message.as_str()), (13, "unknown address group `@iott`: did you mean `@iot`?"));
    let e = error("ip_nat || other_ip != @zzzzzz;");
    assert_eq!(
        (e.column, e.message.as_str()),
        (23, "unknown address group `@zzzzzz`: known are @iot, @servers, @empty")
    );
    let e = error("local_port == @iot;");
    assert!(e.message.starts_with("`local_port` is a number"), "{e}");
    // Groups added by hand work the same.
    let mut manual = AddressGroups::new();
    manual.insert("lan", AddressGroup { ips: vec!["192.168.0.0/16".parse().unwrap()], macs: vec![] });
    let c = Criteria::compile_with("local_ip == @lan;", &CompileContext { address_groups: Some(&manual) }).unwrap();
    let mut facts = FlowFacts::default();
    v4(&mut facts);
    assert!(c.matches(&facts));
}

#[test]
fn explain_lists_every_test() {
    let text = "ip_nat == false && ssl_version == 0x0302;";
    let mut facts = FlowFacts::default();
    facts.tls.version = 0x0303;
    let explanation = compile(text).explain(&facts);
    assert!(!explanation.result);
    assert_eq!(explanation.steps.len(), 2);
    let step = &explanation.steps[1];
    assert_eq!(step.span, 19..40);
    assert_eq!(step.text, "ssl_version == 0x0302");
    assert_eq!((step.attribute, step.op, step.operand.as_deref()), ("ssl_version", Some("=="), Some("0x0302")));
    assert_eq!((step.actual.as_str(), step.result, step.evaluated), ("0x0303", false, true));
    assert_eq!(
        explanation.to_string(),
        "  ip_nat == false         → true (ip_nat is false)\n\
         \x20 ssl_version == 0x0302   → false (ssl_version is 0x0303)\n\
         result: false"
    );

    // Short-circuit: later tests are listed but marked.
    let explanation = compile("ip_nat && (app == 'youtube' || !local_mac);").explain(&facts);
    let summary: Vec<(&str, bool, bool)> =
        explanation.steps.iter().map(|s| (s.text.as_str(), s.result, s.evaluated)).collect();
    assert_eq!(summary, [("ip_nat", false, true), ("app == 'youtube'", false, false), ("local_mac", false, false)]);
    assert!(explanation.to_string().contains("app == 'youtube'   → false, not evaluated (application is 0 (no tag))"));

    let mut facts = FlowFacts::default();
    facebook(&mut facts);
    facts.protocol = protocol::TLS;
    let explanation = compile("  ai:facebook ").explain(&facts);
    assert_eq!(explanation.steps[0].text, "ai:facebook");
    assert_eq!(explanation.steps[0].actual, "119 (netify.facebook)");
    assert!(explanation.result);
    let explanation = compile("category == 'games' || proto == 'tls' || other_type == other_remote;").explain(&facts);
    let actual: Vec<&str> = explanation.steps.iter().map(|s| s.actual.as_str()).collect();
    assert_eq!(actual, ["application 24 (social-media), domain 0 (none)", "91 (TLS)", "other_unknown"]);

    let explanation = compile("*").explain(&facts);
    assert!(explanation.match_all && explanation.result && explanation.steps.is_empty());
    assert_eq!(explanation.to_string(), "  *    → true (matches every flow)\nresult: true");
}

#[test]
fn attributes_lists_what_a_criteria_reads() {
    let names: Vec<&str> = compile("ip_nat && (app == 'x' || !ip_nat) && tls_version == 1 && cat == 'games';")
        .attributes()
        .iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["ip_nat", "application", "ssl_version", "category"]);
    assert!(compile("*").attributes().is_empty());
    // Every attribute of the table is reachable by name and alias.
    for attr in super::ATTRIBUTES {
        for name in std::iter::once(&attr.name).chain(attr.aliases) {
            let c = compile(&format!("{name};"));
            assert_eq!(c.attributes()[0].name, attr.name);
        }
    }
}

#[test]
fn errors_of_the_full_language() {
    let cases: &[(&str, usize, &str)] = &[
        ("category < 'games';", 10, "`<` does not apply to `category`"),
        ("category == 70000;", 13, "too large"),
        ("category == 'rx:g';", 13, "`category` is a category"),
        ("ai:", 4, "missing value after `ai:`"),
        ("!pi:", 5, "missing value after `pi:`"),
        (
            "ai:facebook && ip_nat",
            12,
            "compact syntax (`ai:…`) takes one tag or ID and must be the whole criteria text; combine",
        ),
        ("other_type == other_remot;", 15, "did you mean `other_remote`?"),
        ("tunnel_type == tunnel_gre;", 16, "did you mean `tunnel_gtp`?"),
        ("other_type == tunnel_gtp;", 15, "`tunnel_gtp` is not a value of `other_type`: expected one of other_unknown"),
        ("origin == 'origin_local';", 11, "`origin` is a constant: expected one of origin_unknown, origin_local"),
        ("other_type < other_remote;", 12, "`<` does not apply to `other_type`"),
        ("local_mac == 10.0.0.1;", 14, "`local_mac` is a MAC address"),
        ("local_mac == 'nope';", 14, "`local_mac` is a MAC address"),
        ("local_mac > aa:bb:cc:dd:ee:ff;", 11, "`>` does not apply to `local_mac`"),
        ("local_ip == aa:bb:cc:dd:ee:ff;", 13, "`local_ip` is an IP address"),
        (
            "risks == 'tls_obsolete_versoin';",
            10,
            "unknown risk `tls_obsolete_versoin`: did you mean `tls_obsolete_version`?",
        ),
        ("risks == 0;", 10, "risk bit `0` is out of range"),
        ("risks == 64;", 10, "out of range"),
        ("risks > 3;", 7, "`>` does not apply to `risks`"),
        ("app == 'rx:you';", 8, "`app` is an application"),
        ("app < 'youtube';", 5, "needs a numeric application ID"),
        ("app == 10.0.0.1;", 8, "`app` is an application"),
        ("iface == 5;", 10, "`iface` is a string"),
        ("dns_hostname == 'rx:(';", 17, "invalid regex"),
        ("fwmark == 'x';", 11, "`fwmark` is a number"),
        ("local_ip == @", 13, "expected an address group name after `@`"),
        ("other_ip == @iot;", 13, "no address groups are loaded"),
        ("iface_nfq_dst == 5;", 18, "`iface_nfq_dst` is a string"),
        ("applicaton == 'x';", 1, "did you mean `application`?"),
        ("dns_hostnme;", 1, "did you mean `dns_hostname`?"),
        ("ip_nat && ssl_verison == 0x0302;", 11, "unknown attribute `ssl_verison`: did you mean `ssl_version`?"),
    ];
    let mut failures = Vec::new();
    for (text, column, needle) in cases {
        let error = compile_err(text);
        if error.column != *column || !error.message.contains(needle) {
            failures.push(format!(
                "{text:?}: expected column {column} with {needle:?}, got column {}: {}",
                error.column, error.message
            ));
        }
        assert!(error.render(text).lines().nth(1).is_some_and(|l| l.ends_with('^')));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn warnings_of_the_full_language() {
    // Risks are computed now: no warning.
    assert!(warnings_of("risks == 'tls_obsolete_version';").is_empty());
    assert!(warnings_of("risks == 'Weak TLS Cipher' || ndpi_risk_score < 10;").is_empty());
    assert!(warnings_of("ip_nat && !risks;").is_empty());
    let w = warnings_of("category != 'games';");
    assert!(w[0].starts_with("10: `category !=` is true when neither the application nor the domain"), "{w:?}");
    assert!(warnings_of("app_category != 'games';").is_empty());
    assert!(warnings_of("proto == 'dot';").is_empty(), "Netify's DoT");
    assert!(warnings_of("proto == 'todo' || protocol != 'TODO';").is_empty(), "netifyd's table has TODO");
    let todo = Criteria::compile("proto == 'todo';").unwrap();
    assert!(!todo.matches(&FlowFacts::default()), "no flow has netifyd's unmapped protocol");
    let w = warnings_of("proto == 'smtp/ss';");
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(
        w[0],
        "10: unknown protocol `smtp/ss` (not in Netify's protocol table, so this is always false): did you mean `SMTP/S`?"
    );
    let w = warnings_of("proto != 'qqqqqqqqqqqq';");
    assert_eq!(w[0], "10: unknown protocol `qqqqqqqqqqqq` (not in Netify's protocol table, so this is always true)");
    assert_eq!(warnings_of("protocol_id == 999;"), ["16: protocol ID 999 is not in Netify's protocol table"]);
    assert!(warnings_of("protocol_id == 91;").is_empty());
    assert_eq!(warnings_of("ac:8"), ["4: application category ID 8 is not in Netify's category table"]);
    assert!(warnings_of("ac:31").is_empty());
    // Unknown category tags, as unknown applications and protocols: a warning, never a match.
    assert_eq!(
        warnings_of("app_category == 'socal-media';"),
        ["17: unknown application category `socal-media` (not in Netify's category table, so this is \
          always false): did you mean `social-media`?"]
    );
    assert_eq!(
        warnings_of("protocol_category != 'vpm';"),
        ["22: unknown protocol category `vpm` (not in Netify's category table, so this is always true): \
          did you mean `vpn`?"]
    );
    let w = warnings_of("category == 'nonsense-words';");
    assert!(w[0].contains("known are unclassified"), "{w:?}");
    assert!(warnings_of("ac:soc")[0].starts_with("4: unknown application category `soc`"));
    let mut f = FlowFacts::default();
    f.application.category = 24;
    assert!(!compile("ac:socal-media").matches(&f));
    assert!(compile("app_category != 'socal-media';").matches(&f));
    let c = compile("category == 'nonsense';");
    assert_eq!(compile(&c.to_string()).plan, c.plan, "prints as written");
    assert!(warnings_of("ai:facebook").is_empty());
}

#[test]
fn errors_point_at_the_column() {
    let deep = format!("{}ip_nat{};", "(".repeat(100), ")".repeat(100));
    let cases: &[(&str, usize, &str)] = &[
        (
            "ip_nat == false && ssl_verison == 0x0302;",
            20,
            "unknown attribute `ssl_verison`: did you mean `ssl_version`?",
        ),
        ("hostname == 'a';", 1, "did you mean `detected_hostname`?"),
        ("frobnicate;", 1, "unknown attribute `frobnicate`"),
        ("any_port == 'x';", 13, "`any_port` is a number"),
        ("ip_nat == ;", 11, "missing value after `==`"),
        ("ip_nat ==", 10, "found end of input"),
        ("ip_nat && ;", 11, "missing operand after `&&`"),
        ("ip_nat || ", 10, "missing operand after `||`"),
        ("ip_nat ==\n\n", 10, "found end of input"),
        ("!;", 2, "missing operand after `!`"),
        ("ssl_version == 0x;", 16, "invalid hex number `0x`"),
        ("ssl_version == 12ab;", 16, "invalid number `12ab`"),
        ("ssl_version == 99999999999999999999999;", 16, "too large"),
        ("ssl_version == -1;", 16, "negative numbers"),
        ("detected_hostname == 'foo;", 22, "unterminated string"),
        ("detected_hostname == \"foo';", 22, "missing closing `\"`"),
        ("detected_hostname == 'rx:(foo';", 22, "invalid regex `(foo`"),
        ("detected_hostname == 'rx:a{1000}{1000}{1000}';", 22, "invalid regex"),
        ("local_ip < 10.0.0.1;", 10, "`<` does not apply to `local_ip`"),
        ("ip_nat >= true;", 8, "`>=` does not apply to `ip_nat`"),
        ("detected_hostname > 'a';", 19, "`>` does not apply"),
        ("protocol < 'TLS';", 10, "needs a numeric protocol ID"),
        ("proto == 'rx:T.S';", 10, "`proto` is a protocol"),
        ("protocol == TLS;", 13, "text is quoted: `'TLS'`"),
        ("ip_nat);", 7, "unexpected `)`"),
        ("(ip_nat;", 8, "expected `)` to close the `(` at column 1"),
        ("local_ip == 'foo';", 13, "`local_ip` is an IP address: expected an unquoted"),
        ("ssl_version == 10.0.0.1;", 16, "`ssl_version` is a number"),
        ("tls_version == 'x';", 16, "`tls_version` is a number"),
        ("ip_nat == 1;", 11, "`ip_nat` is a boolean: expected `true` or `false`"),
        ("ip_nat == tru;", 11, "did you mean `true`?"),
        ("ip_nat == detection_complete;", 11, "comparing two attributes"),
        ("", 1, "empty criteria"),
        ("   \n ", 1, "empty criteria"),
        (";", 1, "expected an attribute"),
        ("ip_nat;;", 8, "expected an attribute"),
        ("ip_nat = true;", 8, "use `==`"),
        ("ip_nat & detection_complete;", 8, "use `&&`"),
        ("ip_nat | detection_complete;", 8, "use `||`"),
        ("ip_nat == true ip_nat;", 16, "expected `&&`, `||` or `;` after the expression"),
        ("ip_nat && *;", 11, "`*`"),
        ("local_ip == @lan;", 13, "unknown address group `@lan`: no address groups are loaded"),
        ("local_ip == 10.0.0.0/33;", 13, "invalid prefix length `/33`"),
        ("local_ip == fe80::/129;", 13, "invalid prefix length"),
        ("local_ip == 10.0.0.300;", 13, "neither a number nor an IPv4 address"),
        ("local_ip == fe80:::1;", 13, "invalid IPv6 address"),
        ("local_ip == aa:bb:cc:dd:ee:ff;", 13, "MAC address"),
        ("10.0.0.1 == local_ip;", 1, "comparisons are written `attribute == value`"),
        ("ip_nat.x;", 1, "names are made of letters"),
        ("ip_nat € true;", 8, "unexpected character `€`"),
        ("detected_hostname == 'é' && ip_nat ==", 38, "missing value"),
        (&deep, 65, "nested too deeply"),
    ];
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for (text, column, needle) in cases {
        let error = compile_err(text);
        if error.column != *column || !error.message.contains(needle) {
            failures.push(format!(
                "{text:?}: expected column {column} with {needle:?}, got column {}: {}",
                error.column, error.message
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn render_puts_a_caret_under_the_column() {
    let text = "ip_nat == false && ssl_verison == 0x0302;";
    let error = compile_err(text);
    assert_eq!(
        error.render(text),
        "ip_nat == false && ssl_verison == 0x0302;\n                   ^\n\
         unknown attribute `ssl_verison`: did you mean `ssl_version`?"
    );
    assert_eq!(error.to_string(), format!("column 20: {}", error.message));

    let text = "ip_nat == false\n\t&& frob;";
    let error = compile_err(text);
    assert_eq!(error.column, 21);
    assert_eq!(error.render(text), "\t&& frob;\n\t   ^\nunknown attribute `frob`");

    // Past the end: the caret follows the text.
    let text = "ip_nat ==";
    assert_eq!(compile_err(text).render(text).lines().nth(1), Some("         ^"));
}

fn warnings_of(text: &str) -> Vec<String> {
    compile(text).warnings().iter().map(|w| format!("{}: {}", w.column, w.message)).collect()
}

#[test]
fn warnings() {
    assert_eq!(
        warnings_of("ip_nat && detection_complete || detection_guessed;"),
        ["1: `ip_nat && detection_complete || detection_guessed` is read as \
          `(ip_nat && detection_complete) || detection_guessed`; Netify reads it as \
          `ip_nat && (detection_complete || detection_guessed)`: add parentheses"]
    );
    let w = warnings_of("ip_nat || local_port == 1 AND other_port == 2;");
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("is read as `ip_nat || (local_port == 1 && other_port == 2)`"), "{w:?}");
    assert!(w[0].contains("Netify reads it the same way"), "{w:?}");
    let w = warnings_of("(true && ip_nat || false) && (ip_nat || false && true);");
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].starts_with("2: "), "{w:?}");
    assert!(w[1].starts_with("31: "), "{w:?}");
    let w = warnings_of("true || ip_nat && true || false && ip_nat;");
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains(
            "is read as `true || (ip_nat && true) || (false && ip_nat)`; Netify reads it as \
             `true || (ip_nat && (true || (false && ip_nat)))`"
        ),
        "{w:?}"
    );

    assert!(warnings_of("(ip_nat && detection_complete) || detection_guessed;").is_empty());
    assert!(warnings_of("ip_nat && detection_complete && detection_guessed;").is_empty());
    assert!(warnings_of("*").is_empty());

    assert_eq!(warnings_of("ip_nat \n\n")[0].split(':').next(), Some("7"));
    assert_eq!(warnings_of("ip_nat"), ["7: missing `;` at the end (Netify rejects this; flowsieve accepts it)"]);
    let w = warnings_of("ip_nat; detection_complete;");
    assert_eq!(w.len(), 1);
    assert!(w[0].starts_with("1: 2 statements: only the last one decides"), "{w:?}");
    let w = warnings_of("detected_hostname != 'rx:x';");
    assert!(w[0].starts_with("19: `!=` with a regex"), "{w:?}");
    let w = warnings_of("ssl_version == 70000;");
    assert_eq!(w, ["16: `ssl_version` is at most 65535, so `ssl_version == 70000` is always false"]);
    let w = warnings_of("ip_version < 256;");
    assert!(w[0].ends_with("is always true"), "{w:?}");
    let w = warnings_of("local_ip == 10.1.2.3/8;");
    assert_eq!(w, ["13: `10.1.2.3/8` has host bits set; it matches the network `10.0.0.0/8`"]);
}

#[test]
fn canonical_form() {
    let cases = [
        ("ip_nat == false && ssl_version == 0x0302", "(ip_nat == false && ssl_version == 0x0302);"),
        ("tls_version == 770;", "ssl_version == 0x0302;"),
        ("ssl_cipher >= 49199;", "ssl_cipher >= 0xc02f;"),
        ("ip_nat != TRUE;", "ip_nat == false;"),
        ("!ip_nat;", "!ip_nat;"),
        ("! ip_nat == true;", "!(ip_nat == true);"),
        ("!(ip_nat or detection_complete);", "!(ip_nat || detection_complete);"),
        ("ip_nat && detection_complete || true;", "((ip_nat && detection_complete) || true);"),
        ("ip_nat && (detection_complete && true);", "(ip_nat && (detection_complete && true));"),
        ("proto == 'tls';", "protocol == 'TLS';"),
        ("proto_id != 91;", "protocol != 91;"),
        ("local_ip != 10.1.2.3/8;", "local_ip != 10.0.0.0/8;"),
        ("local_ip == 10.1.2.3/32;", "local_ip == 10.1.2.3;"),
        ("other_ip == '2001:DB8::/32';", "other_ip == 2001:db8::/32;"),
        ("detected_hostname == \"Example.COM\";", "detected_hostname == 'example.com';"),
        ("detected_hostname == \"it's\";", "detected_hostname == \"it's\";"),
        ("detected_hostname != 'rx:Ex\\.com$';", "detected_hostname != 'rx:Ex\\.com$';"),
        ("ip_nat; detection_complete", "detection_complete;"),
        (" * ", "*"),
        ("false;", "false;"),
    ];
    for (text, canonical) in cases {
        let criteria = compile(text);
        assert_eq!(criteria.to_string(), canonical, "{text:?}");
        assert_eq!(compile(canonical).plan, criteria.plan, "{text:?}");
        assert_eq!(criteria.source(), text);
    }
}

#[test]
fn criteria_is_shareable() {
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    assert_traits::<Criteria>();
    assert_traits::<CriteriaError>();
    let debug = format!("{:?}", compile("ip_nat;"));
    assert!(debug.contains("ip_nat"), "{debug}");
}

// ---- property tests ----

/// Pieces of the language, and of mistakes, glued into arbitrary token soup.
fn token_soup() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "ip_nat",
        "ssl_version",
        "tls_cipher",
        "local_ip",
        "other_ip",
        "protocol",
        "proto_id",
        "detected_hostname",
        "vlan_id",
        "detection_complete",
        "&&",
        "||",
        "and",
        "OR",
        "!",
        "(",
        ")",
        ";",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "0x0302",
        "770",
        "0x",
        "99999999999999999999",
        "10.0.0.0/8",
        "10.0.0.1/40",
        "fe80::1",
        "::",
        "::1",
        "2001:db8::/32",
        "1.2",
        "'TLS'",
        "'tls'",
        "'rx:ex'",
        "'rx:('",
        "'rx:it's'",
        "'",
        "\"",
        "''",
        "true",
        "FALSE",
        "*",
        "=",
        "&",
        "|",
        "@x",
        "-1",
        "aa:bb:cc:dd:ee:ff",
        "é",
        "\\",
        "frob",
        "app",
        "application_id",
        "category",
        "dom_category",
        "'games'",
        "'netify.youtube'",
        "@iot",
        "@",
        "other_type",
        "other_remote",
        "origin_other",
        "tunnel_gtp",
        "ai:",
        "ai:facebook",
        "!pi:5",
        "ac:social-media",
        "pc:",
        "local_mac",
        "AA:BB:CC:DD:EE:FF",
        "risks",
        "'tls_weak_cipher'",
        "iface",
        "fwmark",
    ]);
    let gaps = prop::sample::select(vec!["", " ", "  ", "\n", "\t"]);
    prop::collection::vec((pieces, gaps), 0..24).prop_map(|v| v.into_iter().map(|(p, g)| format!("{p}{g}")).collect())
}

/// A comparison or bare attribute that always compiles.
fn valid_leaf() -> impl Strategy<Value = String> {
    let bools = prop::sample::select(vec!["ip_nat", "detection_complete", "detection_guessed", "detection_updated"]);
    let numbers = prop::sample::select(vec![
        "ssl_version",
        "tls_version",
        "ssl_cipher",
        "tls_cipher",
        "local_port",
        "other_port",
        "ip_protocol",
        "ip_version",
        "vlan_id",
        "protocol",
        "proto_id",
    ]);
    let addrs = prop::sample::select(vec!["local_ip", "other_ip"]);
    let texts = prop::sample::select(vec!["detected_hostname", "dns_hostname", "iface"]);
    let apps = prop::sample::select(vec!["application", "app", "app_id", "application_id"]);
    let app_tags = prop::sample::select(vec!["netify.youtube", "youtube", "Facebook", "netify.facebook", "x"]);
    let categories = prop::sample::select(vec![
        ("category", "games"),
        ("cat", "social-media"),
        ("application_category", "streaming-media"),
        ("app_category", "unclassified"),
        ("protocol_category", "vpn"),
        ("proto_category", "web"),
        ("domain_category", "adult"),
        ("dom_category", "social-media"),
    ]);
    let constants = prop::sample::select(vec![
        ("other_type", "other_local"),
        ("other_type", "other_remote"),
        ("other_type", "OTHER_unknown"),
        ("origin", "origin_local"),
        ("origin", "origin_other"),
        ("origin", "origin_unknown"),
        ("tunnel_type", "tunnel_none"),
        ("tunnel_type", "tunnel_gtp"),
    ]);
    let risk_names = prop::sample::select(vec!["tls_obsolete_version", "TLS_WEAK_CIPHER", "ndpi_risky_asn", "7"]);
    let more_numbers =
        prop::sample::select(vec!["ndpi_risk_score", "ndpi_risk_client", "ndpi_risk_server", "fwmark", "ct_mark"]);
    let bare = prop::sample::select(vec![
        "app",
        "category",
        "dom_category",
        "local_mac",
        "other_mac",
        "other_type",
        "origin",
        "tunnel_type",
        "risks",
        "dns_hostname",
        "iface",
        "fwmark",
    ]);
    let mac_attrs = prop::sample::select(vec!["local_mac", "other_mac"]);
    let eq = prop::sample::select(vec!["==", "!="]);
    let ops = prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]);
    let bool_word = prop::sample::select(vec!["true", "false", "TRUE", "False"]);
    let protocols: Vec<&str> = protocol::PROTOCOLS.iter().map(|p| p.name).collect();
    let patterns = prop::sample::select(vec!["example\\.com$", "^www\\.", "a|b", "[0-9]+", "", "it's", "(?:x){2}"]);
    prop_oneof![
        bools.clone().prop_map(str::to_string),
        bools.clone().prop_map(|b| format!("!{b}")),
        (bools, eq.clone(), bool_word.clone()).prop_map(|(a, op, v)| format!("{a} {op} {v}")),
        bool_word.prop_map(str::to_string),
        (numbers.clone(), ops.clone(), 0u64..70_000, any::<bool>()).prop_map(|(a, op, n, hex)| {
            if hex {
                format!("{a} {op} 0x{n:x}")
            } else {
                format!("{a} {op} {n}")
            }
        }),
        numbers.prop_map(str::to_string),
        (addrs.clone(), eq.clone(), any::<u32>(), 0u8..=32, any::<bool>()).prop_map(|(a, op, bits, prefix, cidr)| {
            let addr = std::net::Ipv4Addr::from(bits);
            if cidr {
                format!("{a} {op} {addr}/{prefix}")
            } else {
                format!("{a} {op} {addr}")
            }
        }),
        (addrs, eq.clone(), any::<u128>(), 0u8..=128)
            .prop_map(|(a, op, bits, prefix)| { format!("{a} {op} {}/{prefix}", std::net::Ipv6Addr::from(bits)) }),
        (eq.clone(), prop::sample::select(protocols), any::<bool>()).prop_map(|(op, p, lower)| {
            let p = if lower { p.to_lowercase() } else { p.to_string() };
            format!("protocol {op} '{p}'")
        }),
        (eq.clone(), "[a-zA-Z0-9._-]{0,12}", any::<bool>()).prop_map(|(op, s, double)| {
            if double {
                format!("detected_hostname {op} \"{s}\"")
            } else {
                format!("detected_hostname {op} '{s}'")
            }
        }),
        (eq.clone(), "[a-z']{0,6}").prop_map(|(op, s)| format!("detected_hostname {op} \"{s}\"")),
        (texts, eq.clone(), patterns).prop_map(|(a, op, p)| format!("{a} {op} 'rx:{p}'")),
        (apps.clone(), eq.clone(), app_tags).prop_map(|(a, op, t)| format!("{a} {op} '{t}'")),
        (apps, ops.clone(), 0u32..200).prop_map(|(a, op, n)| format!("{a} {op} {n}")),
        (categories, eq.clone(), any::<bool>(), 0u16..40).prop_map(|((a, tag), op, by_tag, n)| {
            if by_tag {
                format!("{a} {op} '{tag}'")
            } else {
                format!("{a} {op} {n}")
            }
        }),
        (constants, eq.clone()).prop_map(|((a, c), op)| format!("{a} {op} {c}")),
        (eq.clone(), risk_names).prop_map(|(op, r)| if r == "7" {
            format!("risks {op} 7")
        } else {
            format!("risks {op} '{r}'")
        }),
        (more_numbers, ops, any::<u32>()).prop_map(|(a, op, n)| format!("{a} {op} {n}")),
        bare.clone().prop_map(str::to_string),
        bare.prop_map(|b| format!("!{b}")),
        (mac_attrs, eq, any::<[u8; 6]>(), any::<bool>()).prop_map(|(a, op, m, quoted)| {
            let mac = format!("{:02x}:{:02X}:{:02x}:{:02X}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
            if quoted {
                format!("{a} {op} '{mac}'")
            } else {
                format!("{a} {op} {mac}")
            }
        }),
    ]
}

/// Valid expressions: leaves joined by `&&`/`||` (symbols and words), parenthesised, negated.
fn valid_expr() -> impl Strategy<Value = String> {
    valid_leaf().prop_recursive(5, 48, 4, |inner| {
        let logic = prop::sample::select(vec!["&&", "||", "and", "OR", "And", "or"]);
        prop_oneof![
            (inner.clone(), logic, inner.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|e| format!("({e})")),
            inner.prop_map(|e| format!("!({e})")),
        ]
    })
}

fn base_facts() -> impl Strategy<Value = FlowFacts> {
    let ips = prop::sample::select(vec![
        "0.0.0.0",
        "10.1.2.3",
        "192.168.1.10",
        "93.184.216.34",
        "::",
        "::1",
        "fe80::1",
        "2001:db8::5",
    ]);
    let protocols: Vec<u16> = protocol::PROTOCOLS.iter().map(|p| p.id.0).collect();
    let hosts = prop::sample::select(vec!["", "example.com", "WWW.Example.COM", "it's", "b"]);
    (
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        (prop::sample::select(vec![0u16, 0x0301, 0x0302, 0x0303, 0x0304]), any::<u16>()),
        (ips.clone(), ips, any::<u16>(), prop::sample::select(vec![0u16, 443, 27020])),
        (prop::sample::select(protocols), hosts, prop::sample::select(vec![4u8, 6]), any::<u8>()),
    )
        .prop_map(|(flags, tls, addrs, other)| {
            let mut f = FlowFacts::default();
            (f.ip_nat, f.detection_complete, f.detection_guessed, f.detection_updated) = flags;
            (f.tls.version, f.tls.cipher) = tls;
            f.local_ip = ip(addrs.0);
            f.other_ip = ip(addrs.1);
            (f.local_port, f.other_port) = (addrs.2, addrs.3);
            f.protocol = protocol::ProtocolId(other.0);
            if !other.1.is_empty() {
                f.set_detected_hostname(other.1);
            }
            f.ip_version = other.2;
            f.ip_protocol = other.3;
            f
        })
}

/// Base facts plus applications, categories, MACs, constants, risks, mark, interface, DNS name.
fn flow_facts() -> impl Strategy<Value = FlowFacts> {
    let apps = prop::sample::select(vec![(0u32, None), (124, Some("netify.youtube")), (119, Some("netify.facebook"))]);
    let other_types =
        prop::sample::select(vec![OtherType::Unknown, OtherType::Local, OtherType::Remote, OtherType::Error]);
    let names = prop::sample::select(vec!["", "eth0", "br-lan", "example.com"]);
    (
        base_facts(),
        (apps, prop::sample::select(vec![0u16, 12, 24, 29]), prop::sample::select(vec![0u16, 21, 22]), 0usize..3),
        (prop::sample::select(vec![[0u8; 6], [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]]), other_types, any::<bool>()),
        (any::<bool>(), prop::sample::select(vec![0u64, 1 << 7, 1 << 26]), any::<u16>(), any::<u32>()),
        (names.clone(), names),
    )
        .prop_map(|(mut f, app, side, misc, names)| {
            f.application.id = app.0 .0;
            f.application.tag = app.0 .1.map(SharedName::from);
            (f.application.category, f.application.protocol_category) = (app.1, app.2);
            f.application.domain_category = [0, 12, 24][app.3];
            (f.local_mac, f.other_type, f.local_origin) = side;
            f.tunnel_type = if misc.0 { TunnelType::Gtp } else { TunnelType::None };
            (f.risk.risks, f.risk.score, f.ct_mark) = (misc.1, misc.2, misc.3);
            f.iface = names.0.into();
            f.dns_hostname = (!names.1.is_empty()).then(|| names.1.into());
            f
        })
}

/// Compiling the canonical form gives the same plan, and printing that gives the same text.
fn assert_round_trip(criteria: &Criteria) -> Result<(), TestCaseError> {
    let canonical = criteria.to_string();
    let again = Criteria::compile(&canonical)
        .map_err(|e| TestCaseError::fail(format!("canonical form does not compile:\n{}", e.render(&canonical))))?;
    prop_assert_eq!(&again.plan, &criteria.plan, "canonical: {}", canonical);
    prop_assert_eq!(again.to_string(), canonical);
    prop_assert!(
        again
            .warnings()
            .iter()
            .all(|w| !w.message.contains("without parentheses") && !w.message.contains("is read as")),
        "canonical form should need no precedence warning: {:?}",
        again.warnings()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The length-first application tag test answers as "the whole tag or the part after its
    /// first dot, ignoring case" does.
    #[test]
    fn app_tag_test_is_whole_tag_or_after_first_dot(full in "[a-zA-Z.]{0,12}", tag in "[a-zA-Z.]{0,8}") {
        let short = full.split_once('.').map_or(full.as_str(), |(_, s)| s);
        let expected = full.eq_ignore_ascii_case(&tag) || short.eq_ignore_ascii_case(&tag);
        prop_assert_eq!(super::plan::app_tag_matches(&full, &tag), expected);
    }

    #[test]
    fn compile_never_panics_on_any_text(text in any::<String>()) {
        if let Ok(criteria) = Criteria::compile(&text) {
            criteria.matches(&FlowFacts::default());
            assert_round_trip(&criteria)?;
        }
    }

    #[test]
    fn compile_never_panics_on_printable_text(text in "\\PC{0,60}") {
        if let Ok(criteria) = Criteria::compile(&text) {
            criteria.matches(&FlowFacts::default());
            assert_round_trip(&criteria)?;
        }
    }

    #[test]
    fn compile_never_panics_on_token_soup(text in token_soup(), facts in flow_facts()) {
        match Criteria::compile(&text) {
            Ok(criteria) => {
                criteria.matches(&facts);
                assert_round_trip(&criteria)?;
            }
            Err(error) => {
                prop_assert!(error.column >= 1 && error.column <= text.chars().count() + 1);
                prop_assert!(!error.message.is_empty());
                error.render(&text);
            }
        }
    }

    #[test]
    fn canonical_form_round_trips(text in valid_expr(), semi in any::<bool>(), facts in flow_facts()) {
        let text = if semi { format!("{text};") } else { text };
        let criteria = Criteria::compile(&text).map_err(|e| {
            TestCaseError::fail(format!("generated expression does not compile:\n{}", e.render(&text)))
        })?;
        assert_round_trip(&criteria)?;
        let again = Criteria::compile(&criteria.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(again.matches(&facts), criteria.matches(&facts));
        prop_assert_eq!(criteria.explain(&facts).result, criteria.matches(&facts));
        // The application gate only turns away flows the expression would not match.
        prop_assert!(criteria.admits_application(&facts.application) || !criteria.matches(&facts));
    }

    #[test]
    fn the_application_gate_is_the_top_level_app_test(rest in valid_expr(), facts in flow_facts()) {
        for (text, gated) in [
            (format!("app == 'netify.youtube' && ({rest})"), true),
            (format!("({rest}) && application == 'youtube'"), true),
            (format!("app != 'netify.youtube' && ({rest})"), false),
            (format!("app == 'netify.youtube' || ({rest})"), false),
        ] {
            let criteria = Criteria::compile(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let youtube = facts.application.tag.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("netify.youtube"));
            // Gated: a flow of another application is turned away.
            prop_assert!(!gated || youtube || !criteria.admits_application(&facts.application), "{}", text);
            // An `||` at the top is never gated.
            prop_assert!(!text.starts_with("app == 'netify.youtube' ||") || criteria.admits_application(&facts.application));
            prop_assert!(criteria.admits_application(&facts.application) || !criteria.matches(&facts));
        }
    }

    #[test]
    fn groups_round_trip(
        leaf in prop::sample::select(vec!["local_ip", "other_ip", "local_mac", "other_mac"]),
        group in prop::sample::select(vec!["iot", "servers", "empty"]),
        negate in any::<bool>(),
        facts in flow_facts(),
    ) {
        let groups = groups();
        let context = CompileContext { address_groups: Some(&groups) };
        let text = format!("{leaf} {} @{group};", if negate { "!=" } else { "==" });
        let criteria = Criteria::compile_with(&text, &context).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let again = Criteria::compile_with(&criteria.to_string(), &context).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&again.plan, &criteria.plan);
        prop_assert_eq!(again.matches(&facts), criteria.matches(&facts));
    }

    #[test]
    fn compact_matches_long_form(
        kind in prop::sample::select(vec![("ai", "application"), ("pi", "protocol"), ("ac", "application_category"), ("pc", "protocol_category")]),
        value in prop::sample::select(vec!["5", "24", "91", "119", "netify.facebook", "youtube", "tls", "dns", "social-media", "vpn", "games", "web"]),
        negate in any::<bool>(),
        facts in flow_facts(),
    ) {
        let (prefix, attribute) = kind;
        let compact = format!("{}{prefix}:{value}", if negate { "!" } else { "" });
        let operand = if value.chars().all(|c| c.is_ascii_digit()) { value.to_string() } else { format!("'{value}'") };
        let long = format!("{}({attribute} == {operand});", if negate { "!" } else { "" });
        match (Criteria::compile(&compact), Criteria::compile(&long)) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(&a.plan, &b.plan);
                prop_assert_eq!(a.matches(&facts), b.matches(&facts));
            }
            (Err(a), Err(b)) => prop_assert_eq!(a.message, b.message),
            (a, b) => prop_assert!(false, "{compact} and {long} disagree: {a:?} / {b:?}"),
        }
    }
}
