//! The nftset target against the real kernel, each test in its own throw-away network namespace.
//!
//! Reads like the README's weak-TLS walkthrough: flowsieve creates `weakssl.v4` / `weakssl.v6` in
//! `table inet netify`, puts one element per matching flow in them, and `nft -nn list table inet
//! netify` shows what the firewall will match. Needs root plus `ip` and `nft`; without them the
//! tests say so and pass, except under CI (`CI` set), where that is a failure.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::netns::{kernel_tests_unavailable, NetNs};
use flowsieve::actions::config::TargetSpec;
use flowsieve::enforce::nftset::{KeyPart, NftSetConfig, NftSetTarget, SetFamily};
use flowsieve::enforce::{EnforceMode, Enforcer, MatchEvent, Target, TargetError};
use flowsieve::facts::FlowFacts;
use flowsieve::netlink::nftables::{KeyLayout, KeyType, NftSocket, SetRef, SetSpec, TableFamily};
use flowsieve::netlink::NetlinkError;

/// A fresh namespace the current thread has entered, or `None` (with a message) when kernel
/// tests cannot run here.
fn namespace(test: &str) -> Option<NetNs> {
    if let Some(why) = kernel_tests_unavailable(&["ip", "nft"]) {
        eprintln!("skipping {test}: {why}");
        return None;
    }
    let mut ns = NetNs::new("fs-nftset");
    ns.enter_current_thread().expect("enter the network namespace");
    Some(ns)
}

/// The README's weak-TLS example: `nftset.weakssl` with Netify's `target_defaults`.
fn weakssl_config() -> NftSetConfig {
    let key = ["local_addr", "ip_proto", "other_port", "other_addr"]
        .iter()
        .map(|n| KeyPart::from_netify_name(n).unwrap())
        .collect();
    let mut cfg = NftSetConfig::new("nftset.weakssl", "weakssl", key);
    cfg.table_name = "netify".into();
    cfg.table_family = "inet".into();
    cfg.set_family = SetFamily::from_netify_name("*").unwrap();
    cfg.ttl = 120;
    cfg.size = 65536;
    cfg.managed = true;
    cfg.flush_on_create = true;
    cfg.flush_on_destroy = true;
    cfg
}

fn tls_flow(local: IpAddr, other: IpAddr, other_port: u16) -> MatchEvent {
    let flow = FlowFacts {
        ip_version: if local.is_ipv4() { 4 } else { 6 },
        ip_protocol: 6,
        local_ip: local,
        local_port: 50_123,
        other_ip: other,
        other_port,
        ..FlowFacts::default()
    };
    MatchEvent { action: Arc::from("weakssl"), flow: Arc::new(flow), at: SystemTime::now(), times: Default::default() }
}

fn v4_event() -> MatchEvent {
    tls_flow(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)), IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2)), 1010)
}

fn v6_event() -> MatchEvent {
    tls_flow(
        IpAddr::V6("fd00::10".parse::<Ipv6Addr>().unwrap()),
        IpAddr::V6("2001:db8::2".parse::<Ipv6Addr>().unwrap()),
        443,
    )
}

fn list_table(ns: &NetNs) -> String {
    ns.exec_ok("nft", &["-nn", "list", "table", "inet", "netify"])
}

/// The `set NAME { … }` block of a listing, braces matched.
fn set_block<'a>(listing: &'a str, name: &str) -> &'a str {
    let head = format!("set {name} {{");
    let start = listing.find(&head).unwrap_or_else(|| panic!("no `{head}` in:\n{listing}"));
    let mut depth = 0;
    for (i, c) in listing[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &listing[start..start + i + 1];
                }
            }
            _ => {}
        }
    }
    panic!("unterminated set block in:\n{listing}")
}

/// nft prints durations as `2m`, `119s`, `1m59s996ms`, `1d2h`…
fn parse_nft_duration(text: &str) -> Duration {
    let mut total = Duration::ZERO;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().unwrap_or_else(|_| panic!("duration {text:?}"));
        number.clear();
        total += match c {
            'd' => Duration::from_secs(n * 86_400),
            'h' => Duration::from_secs(n * 3600),
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                Duration::from_millis(n)
            }
            'm' => Duration::from_secs(n * 60),
            's' => Duration::from_secs(n),
            _ => panic!("duration {text:?}"),
        };
    }
    total
}

/// `expires` of the element that starts with `element` in a set block.
fn expires_of(block: &str, element: &str) -> Duration {
    let at = block.find(element).unwrap_or_else(|| panic!("no element `{element}` in:\n{block}"));
    let rest = &block[at..];
    let exp = rest.find("expires ").unwrap_or_else(|| panic!("element `{element}` has no expiry in:\n{block}"));
    let value: String = rest[exp + "expires ".len()..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    parse_nft_duration(&value)
}

fn element_count(block: &str) -> usize {
    block.matches("expires ").count()
}

fn described(target: &NftSetTarget, event: &MatchEvent) -> String {
    let mut ops = Vec::new();
    target.describe(event, &mut ops);
    assert_eq!(ops.len(), 1, "{ops:?}");
    ops.pop().unwrap()
}

#[test]
fn weakssl_sets_hold_one_element_per_flow_for_both_families() {
    let Some(ns) = namespace("weakssl_sets_hold_one_element_per_flow_for_both_families") else {
        return;
    };
    let mut target = NftSetTarget::new(weakssl_config());
    target.setup().expect("setup creates table inet netify and both sets");
    target.apply(&v4_event()).unwrap();
    target.apply(&v6_event()).unwrap();
    target.flush().expect("elements added");

    let listing = list_table(&ns);
    eprintln!("{listing}");
    let v4 = set_block(&listing, "weakssl.v4");
    // The type names come from the key type id we computed (6 bits per field): nft decodes
    // them back, so a wrong packing would print other names.
    assert!(v4.contains("type ipv4_addr . inet_proto . inet_service . ipv4_addr"), "{v4}");
    assert!(v4.contains("size 65536"), "{v4}");
    assert!(["flags timeout", "timeout 2m", "timeout 120s"].iter().any(|t| v4.contains(t)), "{v4}");
    let v4_element = "192.168.1.10 . 6 . 1010 . 10.99.0.2";
    let expires = expires_of(v4, v4_element);
    assert!(expires > Duration::from_secs(100) && expires <= Duration::from_secs(120));
    // describe() prints the element exactly as nft does.
    assert_eq!(described(&target, &v4_event()), format!("nftset inet netify weakssl.v4 add {v4_element} timeout 120s"));

    let v6 = set_block(&listing, "weakssl.v6");
    assert!(v6.contains("type ipv6_addr . inet_proto . inet_service . ipv6_addr"), "{v6}");
    assert!(v6.contains("size 65536"), "{v6}");
    let v6_element = "fd00::10 . 6 . 443 . 2001:db8::2";
    expires_of(v6, v6_element);
    assert_eq!(described(&target, &v6_event()), format!("nftset inet netify weakssl.v6 add {v6_element} timeout 120s"));

    // The key layouts the library would hand nft agree with what nft printed.
    let v4_key =
        KeyLayout::new(vec![KeyType::Ipv4Addr, KeyType::InetProto, KeyType::InetService, KeyType::Ipv4Addr]).unwrap();
    assert!(v4.contains(&format!("type {}", v4_key.nft_type())));

    // Re-adding the same flow is not an error, keeps one element, and restarts its timer.
    std::thread::sleep(Duration::from_millis(2500));
    let before = expires_of(set_block(&list_table(&ns), "weakssl.v4"), v4_element);
    target.apply(&v4_event()).unwrap();
    target.flush().expect("re-adding an existing element succeeds");
    let listing = list_table(&ns);
    let v4 = set_block(&listing, "weakssl.v4");
    assert_eq!(element_count(v4), 1, "{v4}");
    let after = expires_of(v4, v4_element);
    assert!(
        after > before + Duration::from_secs(1),
        "timer not refreshed: expires {before:?} before re-adding, {after:?} after"
    );
    assert_eq!(target.stats().refused, 0);
    assert_eq!(target.stats().accepted, 3);

    // Setting up again (a restart with flush_on_create) leaves the sets in place, emptied.
    let mut again = NftSetTarget::new(weakssl_config());
    again.setup().expect("existing table and sets are accepted");
    let listing = list_table(&ns);
    assert_eq!(element_count(set_block(&listing, "weakssl.v4")), 0, "{listing}");
}

#[test]
fn full_set_keeps_what_fits_and_reports_the_rest() {
    let Some(ns) = namespace("full_set_keeps_what_fits_and_reports_the_rest") else {
        return;
    };
    let mut cfg = weakssl_config();
    cfg.size = 2;
    cfg.set_family = SetFamily::V4;
    let mut target = NftSetTarget::new(cfg);
    target.setup().unwrap();
    for i in 0..5u8 {
        target
            .apply(&tls_flow(
                IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10 + i)),
                IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2)),
                443,
            ))
            .unwrap();
    }
    match target.flush() {
        Err(TargetError::Netlink(NetlinkError::SetFull { refused, accepted, .. })) => {
            assert_eq!((refused, accepted), (3, 2))
        }
        other => panic!("expected a full set, got {other:?}"),
    }
    assert_eq!(target.stats().refused, 3);
    let listing = list_table(&ns);
    let block = set_block(&listing, "weakssl.v4");
    assert!(block.contains("size 2"), "{block}");
    assert_eq!(element_count(block), 2, "{block}");
    assert!(!listing.contains("weakssl.v6"), "set_family ipv4 makes no v6 set");

    // Elements already in a full set can still be refreshed.
    target
        .apply(&tls_flow(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)), IpAddr::V4(Ipv4Addr::new(10, 99, 0, 2)), 443))
        .unwrap();
    let ok_or_full = target.flush();
    assert!(ok_or_full.is_ok(), "refreshing an element of a full set: {ok_or_full:?}");
}

#[test]
fn a_deleted_table_is_created_again() {
    let Some(ns) = namespace("a_deleted_table_is_created_again") else {
        return;
    };
    let mut target = NftSetTarget::new(weakssl_config());
    target.setup().unwrap();
    target.apply(&v4_event()).unwrap();
    target.flush().unwrap();

    // A firewall manager reloads its ruleset and takes our table with it.
    ns.exec_ok("nft", &["delete", "table", "inet", "netify"]);
    target.apply(&v4_event()).unwrap();
    target.apply(&v6_event()).unwrap();
    target.flush().expect("table and sets are created again");
    assert_eq!(target.stats().recreated, 2, "once per family");

    let listing = list_table(&ns);
    expires_of(set_block(&listing, "weakssl.v4"), "192.168.1.10 . 6 . 1010 . 10.99.0.2");
    expires_of(set_block(&listing, "weakssl.v6"), "fd00::10 . 6 . 443 . 2001:db8::2");
}

#[test]
fn shutdown_with_flush_on_destroy_leaves_the_sets_empty() {
    let Some(ns) = namespace("shutdown_with_flush_on_destroy_leaves_the_sets_empty") else {
        return;
    };
    let mut target = NftSetTarget::new(weakssl_config());
    target.setup().unwrap();
    target.apply(&v4_event()).unwrap();
    target.apply(&v6_event()).unwrap();
    target.flush().unwrap();
    let listing = list_table(&ns);
    assert_eq!(element_count(set_block(&listing, "weakssl.v4")), 1);

    target.apply(&v4_event()).unwrap(); // queued, dropped by the flush on destroy
    target.shutdown().expect("shutdown");
    let listing = list_table(&ns);
    for set in ["weakssl.v4", "weakssl.v6"] {
        let block = set_block(&listing, set);
        assert!(!block.contains("elements"), "{block}");
    }
}

#[test]
fn large_additions_are_split_into_batches_under_the_send_buffer() {
    let Some(ns) = namespace("large_additions_are_split_into_batches_under_the_send_buffer") else {
        return;
    };
    let mut sock = NftSocket::open().expect("open NETLINK_NETFILTER");
    assert!(sock.max_batch_bytes() > 100_000, "{}", sock.max_batch_bytes());
    sock.ensure_table(TableFamily::Inet, "netify").unwrap();
    sock.ensure_table(TableFamily::Inet, "netify").unwrap(); // exists: fine
    let spec = SetSpec {
        name: "bulk.v4".into(),
        key: KeyLayout::new(vec![KeyType::Ipv4Addr, KeyType::InetService]).unwrap(),
        size: 65_536,
        timeout_ms: 60_000,
    };
    sock.ensure_set(TableFamily::Inet, "netify", &spec).unwrap();
    sock.ensure_set(TableFamily::Inet, "netify", &spec).unwrap(); // same definition: fine

    let keys: Vec<Vec<u8>> = (0..43_000u32)
        .map(|i| {
            let mut key = Vec::new();
            let addr = (0x0a00_0000 + i).to_be_bytes();
            spec.key.pack(&[&addr, &443u16.to_be_bytes()], &mut key).unwrap();
            key
        })
        .collect();
    sock.limit_batch_bytes(8 << 10);
    let set = SetRef { family: TableFamily::Inet, table: "netify", set: "bulk.v4" };
    let report = sock.add_elements(set, &keys[..3000], 60_000).unwrap();
    assert_eq!((report.accepted, report.refused), (3000, 0));
    assert!(report.batches > 10, "{report:?}");
    let listing = list_table(&ns);
    let block = set_block(&listing, "bulk.v4");
    assert!(block.contains("type ipv4_addr . inet_service"), "{block}");
    assert_eq!(element_count(block), 3000);

    // With the full (raised) send buffer: 40 000 elements, about 2 MB, in a few batches.
    let mut roomy = NftSocket::open().unwrap();
    let report = roomy.add_elements(set, &keys[3000..], 60_000).unwrap();
    eprintln!("40000 elements: {report:?}, batch limit {} bytes", roomy.max_batch_bytes());
    assert_eq!((report.accepted, report.refused), (40_000, 0));
    assert!(report.batches <= 4, "{report:?}");
    assert_eq!(element_count(set_block(&list_table(&ns), "bulk.v4")), 43_000);

    // A set of that name with another key is refused, not silently reused. (Linux 6.18
    // updates the default timeout of an existing set in place and ignores a new size.)
    let other = SetSpec { key: KeyLayout::new(vec![KeyType::Ipv4Addr, KeyType::InetProto]).unwrap(), ..spec.clone() };
    let err = sock.ensure_set(TableFamily::Inet, "netify", &other).expect_err("a set with another key");
    eprintln!("changed definition: {err}");
    assert_eq!(err.errno(), Some(libc::EEXIST), "{err}");

    sock.flush_set(set).unwrap();
    assert_eq!(element_count(set_block(&list_table(&ns), "bulk.v4")), 0);

    // Raised past the default cap (root may force the send buffer), with short messages:
    // the same 40 000 elements in one transaction of 100-element messages.
    let mut big = NftSocket::open().unwrap();
    assert_eq!(big.set_batch_bytes(4 << 20).unwrap(), 4 << 20);
    big.set_elements_per_message(100);
    let report = big.add_elements(set, &keys[3000..], 60_000).unwrap();
    assert_eq!((report.accepted, report.refused, report.batches), (40_000, 0, 1), "{report:?}");
    assert_eq!(element_count(set_block(&list_table(&ns), "bulk.v4")), 40_000);
    sock.delete_set(set).unwrap();
    assert!(!list_table(&ns).contains("bulk.v4"));
    let err = sock.flush_set(set).expect_err("the set is gone");
    assert_eq!(err.errno(), Some(libc::ENOENT), "{err}");
}

#[test]
fn a_set_deleted_behind_our_back_is_repaired_within_a_second_without_new_traffic() {
    let Some(ns) = namespace("repair") else { return };
    let mut target = NftSetTarget::new(weakssl_config());
    target.setup().unwrap();
    target.apply(&v4_event()).unwrap();
    target.flush().unwrap();
    target.tick(SystemTime::now()).unwrap(); // first check: all present
    ns.exec_ok("nft", &["delete", "set", "inet", "netify", "weakssl.v4"]);
    assert!(!list_table(&ns).contains("weakssl.v4"));
    // The enforcer ticks every second; no new match arrives.
    std::thread::sleep(Duration::from_millis(1050));
    target.tick(SystemTime::now()).unwrap();
    let listing = list_table(&ns);
    let block = set_block(&listing, "weakssl.v4");
    assert!(block.contains("192.168.1.10 . 6 . 1010 . 10.99.0.2"), "element not restored: {listing}");
    assert_eq!(target.stats().recreated, 1);
    // The whole table deleted: same repair.
    ns.exec_ok("nft", &["delete", "table", "inet", "netify"]);
    std::thread::sleep(Duration::from_millis(1050));
    target.tick(SystemTime::now()).unwrap();
    assert!(list_table(&ns).contains("192.168.1.10 . 6 . 1010 . 10.99.0.2"), "{}", list_table(&ns));
    // A tick while everything is in place changes nothing.
    std::thread::sleep(Duration::from_millis(1050));
    target.tick(SystemTime::now()).unwrap();
    assert_eq!(target.stats().recreated, 3, "v4 once, then v4 and v6 with the table");
}

/// The repair check's lookup: a set that is there, one deleted, one whose table is gone.
#[test]
fn set_exists_tells_a_present_set_from_a_missing_one_or_table() {
    let Some(ns) = namespace("set_exists") else { return };
    let mut sock = NftSocket::open().expect("open NETLINK_NETFILTER");
    sock.ensure_table(TableFamily::Inet, "netify").unwrap();
    let spec = SetSpec {
        name: "probe.v4".into(),
        key: KeyLayout::new(vec![KeyType::Ipv4Addr]).unwrap(),
        size: 0,
        timeout_ms: 0,
    };
    assert!(!sock.set_exists(TableFamily::Inet, "netify", "probe.v4").unwrap());
    sock.ensure_set(TableFamily::Inet, "netify", &spec).unwrap();
    assert!(sock.set_exists(TableFamily::Inet, "netify", "probe.v4").unwrap());
    // Same names in another family's table: not found.
    assert!(!sock.set_exists(TableFamily::Ip, "netify", "probe.v4").unwrap());
    ns.exec_ok("nft", &["delete", "set", "inet", "netify", "probe.v4"]);
    assert!(!sock.set_exists(TableFamily::Inet, "netify", "probe.v4").unwrap());
    ns.exec_ok("nft", &["delete", "table", "inet", "netify"]);
    assert!(!sock.set_exists(TableFamily::Inet, "netify", "probe.v4").unwrap());
    // The socket still works for transactions afterwards.
    sock.ensure_table(TableFamily::Inet, "netify").unwrap();
    sock.ensure_set(TableFamily::Inet, "netify", &spec).unwrap();
    assert!(list_table(&ns).contains("probe.v4"));
}

#[test]
fn a_target_removed_by_reload_deletes_its_managed_sets_but_keeps_the_table() {
    let Some(ns) = namespace("remove") else { return };
    let mut target = NftSetTarget::new(weakssl_config());
    target.setup().unwrap();
    target.apply(&v4_event()).unwrap();
    target.flush().unwrap();
    target.remove().unwrap();
    let listing = list_table(&ns);
    assert!(listing.contains("table inet netify"), "{listing}");
    assert!(!listing.contains("weakssl"), "{listing}");
}

#[test]
fn a_reload_that_changes_the_ttl_keeps_the_sets_and_their_elements() {
    let Some(ns) = namespace("reload_changed_ttl") else { return };
    let mut enforcer = Enforcer::new(&[TargetSpec::NftSet(weakssl_config())], EnforceMode::Apply);
    let names: Vec<Arc<str>> = vec![Arc::from("nftset.weakssl")];
    enforcer.handle(&names, &v4_event(), false, None);
    enforcer.flush();
    // Same sets and key, another ttl, flush_on_create still set: taken over, not flushed.
    let mut longer = weakssl_config();
    longer.ttl = 600;
    enforcer.reload(&[TargetSpec::NftSet(longer.clone())]).unwrap();
    let element = "192.168.1.10 . 6 . 1010 . 10.99.0.2";
    let listing = list_table(&ns);
    assert!(expires_of(set_block(&listing, "weakssl.v4"), element) <= Duration::from_secs(120), "{listing}");
    enforcer.handle(&names, &v6_event(), false, None);
    enforcer.flush();
    let listing = list_table(&ns);
    assert!(
        expires_of(set_block(&listing, "weakssl.v6"), "fd00::10 . 6 . 443 . 2001:db8::2") > Duration::from_secs(500)
    );
    assert_eq!(enforcer.status()[0].failures, 0, "{:?}", enforcer.status()[0].last_error);
    // Another key: the old sets are deleted and made again with the new key.
    let mut other_key = longer;
    other_key.key = ["local_addr", "other_addr"].iter().map(|n| KeyPart::from_netify_name(n).unwrap()).collect();
    enforcer.reload(&[TargetSpec::NftSet(other_key)]).unwrap();
    let listing = list_table(&ns);
    let block = set_block(&listing, "weakssl.v4");
    assert!(block.contains("type ipv4_addr . ipv4_addr") && !block.contains(element), "{block}");
}

#[test]
fn a_users_sets_are_never_flushed_or_deleted() {
    let Some(ns) = namespace("users_sets") else { return };
    // The user's own sets in the same table, under flowsieve's names, each holding an element.
    for cmd in [
        "add table inet netify",
        "add set inet netify weakssl.v4 { type ipv4_addr ; }",
        "add element inet netify weakssl.v4 { 192.0.2.1 }",
        "add set inet netify weakssl.v6 { type ipv6_addr . inet_proto . inet_service . ipv6_addr ; flags timeout ; }",
        "add element inet netify weakssl.v6 { 2001:db8::9 . 6 . 443 . 2001:db8::2 }",
    ] {
        ns.exec_ok("nft", &[cmd]);
    }
    // Another type under our name: an error at start, nothing touched, not even at shutdown.
    let mut enforcer = Enforcer::new(&[TargetSpec::NftSet(weakssl_config())], EnforceMode::Apply);
    let failures = enforcer.setup_failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("another key type"), "{failures:?}");
    enforcer.shutdown();
    let listing = list_table(&ns);
    assert!(set_block(&listing, "weakssl.v4").contains("192.0.2.1"), "{listing}");
    assert!(set_block(&listing, "weakssl.v6").contains("2001:db8::9"), "{listing}");

    // Removed by a reload: still not flowsieve's to delete.
    let mut enforcer = Enforcer::new(&[TargetSpec::NftSet(weakssl_config())], EnforceMode::Apply);
    enforcer.reload(&[]).unwrap();
    let listing = list_table(&ns);
    assert!(set_block(&listing, "weakssl.v4").contains("192.0.2.1"), "{listing}");

    // The user's sets of the right type: used (flush_on_create does not empty them), never
    // flushed at shutdown (flush_on_destroy) nor deleted by a reload. (A concatenated key is
    // never "the right type" for a set `nft` made: nft flags only interval sets NFT_SET_CONCAT,
    // flowsieve flags every concatenation, and the kernel compares the flags.)
    let mut single = weakssl_config();
    single.key = vec![KeyPart::from_netify_name("other_addr").unwrap()];
    single.set_name = "single".into();
    for cmd in [
        "add set inet netify single.v4 { type ipv4_addr ; flags timeout ; }",
        "add element inet netify single.v4 { 192.0.2.1 timeout 1h }",
        "add set inet netify single.v6 { type ipv6_addr ; flags timeout ; }",
        "add element inet netify single.v6 { 2001:db8::9 timeout 1h }",
    ] {
        ns.exec_ok("nft", &[cmd]);
    }
    let mut enforcer = Enforcer::new(&[TargetSpec::NftSet(single.clone())], EnforceMode::Apply);
    assert!(enforcer.setup_failures().is_empty(), "{:?}", enforcer.setup_failures());
    assert!(set_block(&list_table(&ns), "single.v4").contains("192.0.2.1"), "emptied at start: {}", list_table(&ns));
    enforcer.handle(&[Arc::from("nftset.weakssl")], &v4_event(), false, None);
    enforcer.flush();
    assert_eq!(element_count(set_block(&list_table(&ns), "single.v4")), 2, "{}", list_table(&ns));
    enforcer.shutdown();
    let listing = list_table(&ns);
    assert_eq!(element_count(set_block(&listing, "single.v4")), 2, "emptied at stop: {listing}");
    assert!(set_block(&listing, "single.v6").contains("2001:db8::9"), "{listing}");
    let mut enforcer = Enforcer::new(&[TargetSpec::NftSet(single)], EnforceMode::Apply);
    enforcer.reload(&[]).unwrap();
    assert_eq!(element_count(set_block(&list_table(&ns), "single.v4")), 2, "{}", list_table(&ns));

    // A set flowsieve made carries the mark, and is flushed at shutdown.
    ns.exec_ok("nft", &["delete table inet netify"]);
    let mut enforcer = Enforcer::new(&[TargetSpec::NftSet(weakssl_config())], EnforceMode::Apply);
    enforcer.handle(&[Arc::from("nftset.weakssl")], &v4_event(), false, None);
    enforcer.flush();
    let listing = list_table(&ns);
    assert!(set_block(&listing, "weakssl.v4").contains("managed by flowsieve"), "{listing}");
    enforcer.shutdown();
    assert_eq!(element_count(set_block(&list_table(&ns), "weakssl.v4")), 0, "{}", list_table(&ns));
}

#[test]
fn repair_after_a_reload_that_changes_the_target_refills_every_live_element() {
    let Some(ns) = namespace("repair_after_reload") else { return };
    let mut enforcer = Enforcer::new(&[TargetSpec::NftSet(weakssl_config())], EnforceMode::Apply);
    let names: Vec<Arc<str>> = vec![Arc::from("nftset.weakssl")];
    enforcer.handle(&names, &v4_event(), false, None);
    enforcer.handle(&names, &v6_event(), false, None);
    enforcer.flush();
    // Another ttl: the new target takes the sets over, and what the old one knew of them.
    let mut longer = weakssl_config();
    longer.ttl = 600;
    enforcer.reload(&[TargetSpec::NftSet(longer)]).unwrap();
    enforcer.tick(SystemTime::now()); // first check: all present
    ns.exec_ok("nft", &["delete", "table", "inet", "netify"]);
    std::thread::sleep(Duration::from_millis(1050));
    enforcer.tick(SystemTime::now());
    let listing = list_table(&ns);
    assert!(set_block(&listing, "weakssl.v4").contains("192.168.1.10 . 6 . 1010 . 10.99.0.2"), "{listing}");
    assert!(set_block(&listing, "weakssl.v6").contains("fd00::10 . 6 . 443 . 2001:db8::2"), "{listing}");
}

/// Netify's `mark` and `interface` key fields: nft takes the set, prints the element as
/// `describe` does, and a `ct mark . iifname` lookup has the types it needs.
#[test]
fn mark_and_interface_key_fields() {
    let Some(ns) = namespace("mark_and_interface_key_fields") else {
        return;
    };
    let key = ["local_addr", "mark", "interface"].iter().map(|n| KeyPart::from_netify_name(n).unwrap()).collect();
    let mut cfg = NftSetConfig::new("nftset.marked", "marked", key);
    cfg.table_name = "netify".into();
    cfg.table_family = "inet".into();
    cfg.set_family = SetFamily::from_netify_name("ipv4").unwrap();
    cfg.managed = true;
    let mut target = NftSetTarget::new(cfg);
    target.setup().expect("setup");
    let mut event = v4_event();
    let mut flow = (*event.flow).clone();
    flow.ct_mark = 0x2a;
    flow.iface = "br-lan".into();
    event.flow = Arc::new(flow);
    target.apply(&event).unwrap();
    target.flush().expect("element added");
    let listing = list_table(&ns);
    let block = set_block(&listing, "marked.v4");
    assert!(block.contains("type ipv4_addr . mark . ifname"), "{block}");
    let element = r#"192.168.1.10 . 0x0000002a . "br-lan""#;
    assert!(block.contains(element), "{block}");
    assert_eq!(described(&target, &event), format!("nftset inet netify marked.v4 add {element}"));
    // A rule can look the element up by the packet's fields.
    ns.exec_ok("nft", &["add chain inet netify c { type filter hook prerouting priority 0 ; }"]);
    ns.exec_ok("nft", &["add rule inet netify c ip saddr . ct mark . iifname @marked.v4 counter"]);
}
