//! `check` refuses what the kernel would refuse at `run`: names, key sizes, numeric ranges,
//! socket path lengths, file name parts (each reported with its JSON path).

use flowsieve::actions::config;

/// The problems `check` reports for one target with these keys (nftset keys merged over the
/// weak-TLS defaults).
fn problems(target: serde_json::Value) -> String {
    let text = serde_json::json!({
        "version": 1,
        "actions": { "a": { "criteria": "ssl_version == 0x0302;", "targets": ["t"] } },
        "targets": { "t": target },
    });
    match config::parse(&text.to_string(), std::path::Path::new("test.json")) {
        Ok(_) => String::new(),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"),
    }
}

fn nftset(extra: serde_json::Value) -> serde_json::Value {
    let mut t = serde_json::json!({
        "target_type": "nftset", "set_name": "weakssl", "table_name": "netify",
        "type": ["local_addr", "ip_proto", "other_port", "other_addr"],
    });
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    t
}

#[test]
fn check_rejects_what_the_kernel_would_refuse() {
    assert_eq!(problems(nftset(serde_json::json!({}))), "", "the example is fine");
    let cases = [
        (nftset(serde_json::json!({ "set_name": "s".repeat(300) })), "at most 255 bytes"),
        (nftset(serde_json::json!({ "table_name": "" })), "must not be empty"),
        (nftset(serde_json::json!({ "set_name": "weak\u{0}ssl" })), "control characters"),
        (nftset(serde_json::json!({ "type": vec!["local_port"; 20] })), "at most 64 bytes"),
        (nftset(serde_json::json!({ "size": 0 })), "1 to"),
        (nftset(serde_json::json!({ "ttl": 4_294_967_295u64 })), "ttl is at most"),
        (serde_json::json!({ "target_type": "ipset", "set_name": "weak\u{1b}ssl" }), "control characters"),
        (serde_json::json!({ "target_type": "sink", "socket": format!("/tmp/{}", "s".repeat(207)) }), "1 to 107 bytes"),
        (serde_json::json!({ "target_type": "log", "prefix": "../etc/x" }), "no '/'"),
    ];
    for (target, expected) in cases {
        let found = problems(target.clone());
        assert!(found.contains(expected), "{target}: expected '{expected}' in:\n{found}");
    }
}
