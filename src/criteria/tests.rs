//! Criteria tests: a table of expressions against flows, errors with their columns, warnings,
//! the canonical printer, and property tests (no panics, printing round-trips).

use std::net::IpAddr;

use proptest::prelude::*;

use super::{Criteria, CriteriaError};
use crate::dissect::protocol;
use crate::flow::facts::FlowFacts;

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
    f.detected_hostname = Some(name.into());
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
        // Family mismatch: `==` false, `!=` true (spec §3.1).
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
        ("iface_nfq_src == 'br-lan';", 1, "Netify attribute that flowsieve does not support yet"),
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
        ("protocol == 'nope';", 13, "unknown protocol `nope`: known are Unknown, DNS, HTTP, TLS"),
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
        (numbers.clone(), ops, 0u64..70_000, any::<bool>()).prop_map(|(a, op, n, hex)| {
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
        (eq, patterns).prop_map(|(op, p)| format!("detected_hostname {op} 'rx:{p}'")),
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

fn flow_facts() -> impl Strategy<Value = FlowFacts> {
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
    let protocols: Vec<u16> = protocol::PROTOCOLS.iter().map(|p| p.id).collect();
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
            f.protocol = other.0;
            f.detected_hostname = (!other.1.is_empty()).then(|| other.1.into());
            f.ip_version = other.2;
            f.ip_protocol = other.3;
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
    }
}
