//! The classifier over small hand-made catalogues, and the checks every release of the built-in
//! signature set (`data/`) must pass.

use std::collections::HashSet;
use std::net::IpAddr;

use super::apps::{encode_base64, AppCatalog};
use super::categories::{CategoryIndex, CategoryKind};
use super::*;
use crate::facts::FlowFacts;

const APPS: &str = "\
app:124:netify.youtube
app:119:netify.facebook
app:142:netify.whatsapp
app:74:netify.steam
dom:124:youtube.com
dom:124:googlevideo.com
dom:119:facebook.com
net:119:157.240.0.0/16
net:119:2a03:2880::/32
";

const CATEGORIES: &str = r#"{
    "application_index": [[29, [124]], [24, [119]], [17, [142]], [12, [74]]],
    "protocol_index": [[22, [91]], [9, [5]]]
}"#;

fn classifier() -> Classifier {
    let (apps, errors) = AppCatalog::parse("t.conf", APPS);
    assert!(errors.is_empty(), "{errors:?}");
    let (categories, errors) = CategoryIndex::parse_json("t.json", CATEGORIES);
    assert!(errors.is_empty(), "{errors:?}");
    Classifier::new(apps, categories)
}

fn facts(host: Option<&str>, other_ip: &str, protocol: protocol::ProtocolId) -> FlowFacts {
    let mut f = FlowFacts { other_ip: other_ip.parse().unwrap(), protocol, ..FlowFacts::default() };
    if let Some(host) = host {
        f.set_detected_hostname(host);
    }
    f
}

#[test]
fn host_name_fills_application_and_categories() {
    let c = classifier();
    let mut f = facts(Some("r3---sn-abc.googlevideo.com"), "203.0.113.9", protocol::TLS);
    assert!(c.classify(&mut f));
    assert_eq!(f.application.id, 124);
    assert_eq!(f.application.tag.as_deref(), Some("netify.youtube"));
    assert_eq!(f.application.category, 29);
    assert_eq!(f.application.protocol_category, 22);
    assert!(!f.application.from_dns_hint);
    assert!(!c.classify(&mut f), "a second pass changes nothing");
}

#[test]
fn tags_are_shared_not_copied() {
    let c = classifier();
    let mut a = facts(Some("youtube.com"), "203.0.113.9", protocol::TLS);
    let mut b = facts(Some("www.youtube.com"), "203.0.113.9", protocol::TLS);
    c.classify(&mut a);
    c.classify(&mut b);
    let (a, b) = (a.application.tag.unwrap(), b.application.tag.unwrap());
    assert!(a.is_same_block(&b));
}

#[test]
fn address_then_host_name_refines() {
    let c = classifier();
    // New flow: only the address is known.
    let mut f = facts(None, "157.240.1.35", protocol::UNKNOWN);
    assert!(c.classify(&mut f));
    assert_eq!(f.application.id, 119);
    assert_eq!(f.application.protocol_category, 0);
    // The ServerHello/ClientHello brings a name that says otherwise: the name wins.
    f.set_detected_hostname("www.youtube.com");
    f.protocol = protocol::TLS;
    assert!(c.classify(&mut f));
    assert_eq!(f.application.id, 124);
    // IPv6.
    let mut f = facts(None, "2a03:2880:f12f:83:face:b00c:0:25de", protocol::TLS);
    c.classify(&mut f);
    assert_eq!(f.application.id, 119);
}

#[test]
fn dns_hostname_is_a_hint_and_dns_servers_are_not_apps() {
    let c = classifier();
    let mut f = facts(None, "198.51.100.7", protocol::TLS);
    f.dns_hostname = Some("facebook.com".into());
    c.classify(&mut f);
    assert_eq!(f.application.id, 119);
    assert!(f.application.from_dns_hint);
    // A DNS query to a server in a listed network is not that application.
    let mut f = facts(None, "157.240.1.35", protocol::DNS);
    assert!(c.classify(&mut f), "the protocol category still changes");
    assert_eq!(f.application.id, 0);
    assert_eq!(f.application.protocol_category, 9);
}

#[test]
fn protocol_twins_win() {
    let c = classifier();
    let mut f = facts(Some("facebook.com"), "157.240.1.35", protocol::ProtocolId(142));
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.whatsapp"));
}

#[test]
fn every_protocol_twin_names_a_built_in_application() {
    let c = Classifier::load_default();
    for &(id, tag) in PROTOCOL_TWINS {
        assert!(c.apps().index_of_tag(tag).is_some(), "{tag}");
        let mut f = facts(Some("facebook.com"), "157.240.1.35", protocol::ProtocolId(id));
        c.classify(&mut f);
        assert_eq!(f.application.tag.as_deref(), Some(tag), "protocol {id}");
    }
}

#[test]
fn documented_user_agents_name_their_application() {
    let c = Classifier::load_default();
    // windowsupdate_over_http.pcap in nDPI's corpus (nDPI: HTTP.WindowsUpdate): Delivery
    // Optimization fetching from an ISP cache by address.
    let mut f = facts(Some("151.99.72.125"), "151.99.72.125", protocol::HTTP);
    f.app_protocol.http_mut().user_agent = Some("Microsoft-Delivery-Optimization/10.0".into());
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.windows-update"));
    let tag = "netify.windows-update";
    for &agent in signatures::WINDOWS_UPDATE_AGENTS {
        assert!(c.apps().index_of_tag(tag).is_some(), "{tag}");
        let mut f = facts(Some("example.com"), "192.0.2.1", protocol::HTTP);
        f.app_protocol.http_mut().user_agent = Some(format!("{agent}10.0.19041").into());
        c.classify(&mut f);
        assert_eq!(f.application.tag.as_deref(), Some(tag), "{agent}");
    }
    // A browser's agent that merely mentions Windows names nothing.
    let mut f = facts(Some("192.0.2.1"), "192.0.2.1", protocol::HTTP);
    f.app_protocol.http_mut().user_agent = Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)".into());
    c.classify(&mut f);
    assert_eq!(f.application.tag, None);
}

#[test]
fn nothing_known_changes_nothing() {
    let c = classifier();
    let mut f = facts(Some("notyoutube.com"), "192.0.2.1", protocol::TLS);
    assert!(c.classify(&mut f), "protocol category");
    assert_eq!(f.application.id, 0);
    assert_eq!(f.application.tag, None);
    assert!(!c.classify(&mut f));
}

#[test]
fn active_soft_dissectors_set_app_and_protocol() {
    let expr = "ip_protocol == 17 && other_port >= 27015 && other_port <= 27030;";
    let text = format!("{APPS}nsd:74:74:{}\n", encode_base64(expr.as_bytes()));
    let (apps, errors) = AppCatalog::parse("t.conf", &text);
    assert!(errors.is_empty(), "{errors:?}");
    let (categories, _) = CategoryIndex::parse_json("t.json", CATEGORIES);
    let c = Classifier::new(apps, categories);
    let mut f = facts(None, "192.0.2.1", protocol::UNKNOWN);
    f.ip_protocol = 17;
    f.other_port = 27020;
    // As netifyd: not before detection has named a protocol or given up.
    c.classify(&mut f);
    assert_eq!((f.application.id, f.protocol, f.application.soft_dissector), (0, protocol::UNKNOWN, false));
    f.detection_complete = true;
    assert!(c.classify(&mut f));
    assert_eq!((f.application.id, f.protocol.0, f.application.category), (74, 74, 12));
    assert!(f.application.soft_dissector);
    assert_eq!(f.application.protocol_category, 0, "no category for protocol 74 in this test's file");
    assert!(!c.classify(&mut f), "a second pass changes nothing");
}

/// Netify's own lines (docs/FLOW-ACTIONS.md §5): the first match wins and sets the flag; the
/// application and protocol it left stay, whatever the earlier steps would say on a later pass;
/// an application ID the list does not name is set without a tag, as netifyd sets it.
#[test]
fn soft_dissectors_first_match_wins_and_sticks() {
    let line = |app: i64, proto: i64, expr: &str| format!("nsd:{app}:{proto}:{}\n", encode_base64(expr.as_bytes()));
    let text = format!(
        "{APPS}{}{}{}",
        line(-1, 74, "app == 'netify.steam' && protocol_id != 74 && other_port >= 27015 && other_port <= 27030;"),
        line(142, -1, "other_port == 27020;"),
        line(10061, -1, "protocol_id == 9 && application_id == 0;"),
    );
    let (apps, errors) = AppCatalog::parse("t.conf", &text);
    assert!(errors.is_empty(), "{errors:?}");
    let c = Classifier::new(apps, CategoryIndex::parse_json("t.json", CATEGORIES).0);
    // No application: the first line does not match, the second does.
    let mut f = facts(None, "192.0.2.1", protocol::STUN);
    f.other_port = 27020;
    c.classify(&mut f);
    assert_eq!((f.application.id, f.protocol, f.application.soft_dissector), (142, protocol::STUN, true));
    // With Steam's application known (as the address or a name would give it), the first wins.
    let mut f = facts(None, "192.0.2.1", protocol::STUN);
    f.other_port = 27020;
    f.application.id = 74;
    f.application.tag = c.apps().by_id(74).map(|a| a.tag.clone());
    c.classify(&mut f);
    assert_eq!((f.application.id, f.protocol.0, f.application.soft_dissector), (74, 74, true));
    // An ID no loaded application has: set, without a tag.
    let mut f = facts(None, "192.0.2.1", protocol::NTP);
    f.other_port = 123;
    assert!(c.classify(&mut f));
    assert_eq!((f.application.id, f.application.tag.clone(), f.protocol), (10061, None, protocol::NTP));
    assert!(f.application.soft_dissector);
    // The address of a listed network would name Facebook on a later pass: the match stays.
    f.other_ip = "157.240.1.1".parse().unwrap();
    c.classify(&mut f);
    assert_eq!(f.application.id, 10061);
}

/// A protocol an HTTP request made final during detection is not renamed by a soft dissector
/// (actions may have decided on it); once detection is over it may be.
#[test]
fn soft_dissectors_leave_a_final_protocol_alone() {
    let text = format!("{APPS}nsd:-1:131:{}\n", encode_base64(b"protocol_id == 7;"));
    let (apps, _) = AppCatalog::parse("t.conf", &text);
    let c = Classifier::new(apps, CategoryIndex::parse_json("t.json", CATEGORIES).0);
    let mut f = facts(None, "192.0.2.1", protocol::HTTP);
    f.final_facts = Final::PROTOCOL;
    c.classify(&mut f);
    assert_eq!((f.protocol, f.application.soft_dissector), (protocol::HTTP, false));
    f.final_facts = Final::ALL;
    c.classify(&mut f);
    assert_eq!((f.protocol.0, f.application.soft_dissector), (131, true));
}

#[test]
fn domain_lists_fill_domain_category() {
    let mut c = classifier();
    assert!(c.categories.add_domain_list("d/10-adult.txt", "10-adult.txt", "example.org\n").is_empty());
    let mut f = facts(Some("www.example.org"), "192.0.2.1", protocol::TLS);
    c.classify(&mut f);
    assert_eq!((f.application.id, f.application.domain_category), (0, 2));
    assert!(c.explain_lookup("www.example.org").contains("domain category adult (2)"));
}

#[test]
fn explain_says_what_and_why() {
    let c = classifier();
    let text = c.explain_lookup("WWW.YouTube.com");
    assert!(text.contains("netify.youtube (ID 124), category streaming-media (29) by domain youtube.com"), "{text}");
    let text = c.explain_lookup("157.240.22.35");
    assert!(text.contains("netify.facebook (ID 119), category social-media (24) by network 157.240.0.0/16"), "{text}");
    assert!(c.explain_lookup("notyoutube.com").contains("no application"));
    assert!(c.explain_lookup("[2a03:2880::1]").contains("network 2a03:2880::/32"));
}

#[test]
fn dumps() {
    let c = classifier();
    let apps = dump_apps(&c);
    assert!(apps.lines().any(|l| l.trim() == "124 netify.youtube streaming-media"), "{apps}");
    let protos = dump_protos(&c);
    assert!(protos.lines().any(|l| l.trim() == "91 TLS web"), "{protos}");
    let cats = dump_category(&c, "application".parse().unwrap());
    assert!(cats.lines().any(|l| l.trim() == "28 vpn-and-proxy"), "{cats}");
    assert!("protocol".parse::<CategoryKind>().is_ok());
    assert!("both".parse::<CategoryKind>().is_err());
}

// ---------------------------------------------------------------------------------------------
// The built-in signature set.

#[test]
fn default_data_parses_without_errors() {
    let (apps, errors) = AppCatalog::parse("data/apps.conf", DEFAULT_APPS);
    assert!(errors.is_empty(), "{errors:#?}");
    let (categories, errors) = CategoryIndex::parse_json("data/categories.json", DEFAULT_CATEGORIES);
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(apps.apps().len() >= 300, "{} applications", apps.apps().len());
    for app in apps.apps() {
        assert!(app.tag.starts_with("netify."), "{}", app.tag);
        assert_ne!(categories.application_category(app.id), 0, "{} has no category", app.tag);
        assert!(!apps.domains_of(app.id).is_empty(), "{} has no domain", app.tag);
    }
    for soft in apps.soft_dissectors() {
        assert!(soft.is_active(), "line {}: {:?}", soft.line, soft.inactive_reason);
    }
}

/// IDs, tags and domains are unique (the loader refuses duplicates, so also check the raw text:
/// a duplicate would only show up as a load error above).
#[test]
fn default_data_ids_tags_and_domains_are_unique() {
    let mut ids = HashSet::new();
    let mut tags = HashSet::new();
    let mut domains = HashSet::new();
    for line in DEFAULT_APPS.lines() {
        let mut parts = line.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("app"), Some(id), Some(tag)) => {
                assert!(ids.insert(id.to_string()), "ID {id} twice");
                assert!(tags.insert(tag.to_string()), "tag {tag} twice");
            }
            (Some("dom"), Some(_), Some(domain)) => assert!(domains.insert(domain.to_string()), "{domain} twice"),
            _ => {}
        }
    }
    assert!(domains.len() >= ids.len());
}

/// `data/categories.json` gives every built-in application one category, lists no other
/// application, and agrees with Netify's category file (`data/third-party/netify/`) on every
/// application and protocol that file places; its category lists are the built-in table.
#[test]
fn default_categories_are_netifys() {
    let index = CategoryIndex::parse_json("data/categories.json", DEFAULT_CATEGORIES).0;
    let (apps, _) = AppCatalog::parse("data/apps.conf", DEFAULT_APPS);
    for app in apps.apps() {
        assert_ne!(index.application_category(app.id), 0, "{} ({}) has no category", app.tag, app.id);
    }
    assert_eq!(index.member_counts().0, apps.apps().len(), "categories.json lists applications apps.conf lacks");
    for kind in [CategoryKind::Application, CategoryKind::Protocol] {
        let listed: Vec<(&str, u16)> = index.categories(kind).iter().map(|c| (&*c.tag, c.id)).collect();
        assert_eq!(listed, kind.table(), "{kind:?}");
    }
    let members = include_str!("../../data/third-party/netify/category-members.tsv");
    let (mut apps_checked, mut protos_checked) = (0, 0);
    for line in members.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (category, member): (u16, u32) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        if f[0] == "application" && apps.by_id(member).is_some() {
            assert_eq!(index.application_category(member), category, "application {member}");
            apps_checked += 1;
        } else if f[0] == "protocol" {
            if let Ok(id) = u16::try_from(member) {
                assert_eq!(
                    index.protocol_category(crate::facts::protocol::ProtocolId(id)),
                    category,
                    "protocol {member}"
                );
                protos_checked += 1;
            }
        }
    }
    assert!(apps_checked >= 150 && protos_checked >= 200, "{apps_checked} {protos_checked}");
}

/// Every application tag of Netify's list (`data/third-party/netify/netify-apps.conf`) is in
/// the built-in list with Netify's ID, and keeps every domain and network Netify gives it.
#[test]
fn netify_tags_have_netifys_ids_domains_and_networks() {
    let netify = include_str!("../../data/third-party/netify/netify-apps.conf");
    let (theirs, errors) = AppCatalog::parse("netify-apps.conf", netify);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(theirs.apps().len(), 199);
    let ours = Classifier::load_default();
    for app in theirs.apps() {
        let mine = ours.apps().by_tag(&app.tag).unwrap_or_else(|| panic!("{} missing", app.tag));
        assert_eq!(mine.id, app.id, "{}", app.tag);
        for domain in theirs.domains_of(app.id) {
            assert_eq!(ours.apps().lookup_host(domain).map(|a| a.id), Some(app.id), "{domain} of {}", app.tag);
        }
    }
    for line in netify.lines().filter_map(|l| l.strip_prefix("net:")) {
        let (id, net) = line.split_once(':').unwrap();
        let net: crate::facts::net::IpNet = net.parse().unwrap();
        let (app, found) = ours.apps().lookup_ip(net.addr()).unwrap_or_else(|| panic!("{net}"));
        assert_eq!((app.id.to_string().as_str(), found.prefix() >= net.prefix()), (id, true), "{net}");
    }
    // Applications Netify does not list use IDs outside Netify's range.
    for app in ours.apps().apps() {
        if theirs.by_tag(&app.tag).is_none() {
            assert!((20001..50000).contains(&app.id), "{} has ID {}", app.tag, app.id);
        }
    }
}

/// Every entry of the built-in list says where it came from.
#[test]
fn default_entries_have_sources() {
    let c = Classifier::load_default();
    for app in c.apps().apps() {
        let source = c.apps().source(app.source);
        assert!(source.contains("Apache-2.0") || source.contains("MIT"), "{}: {source}", app.tag);
    }
    let text = c.explain_lookup("www.netflix.com");
    assert!(text.contains("netify.netflix (ID 133)") && text.contains("source: Netify application list"), "{text}");
    let text = c.explain_lookup("www.abema.tv");
    assert!(text.contains("source: v2fly/domain-list-community@"), "{text}");
    let text = c.explain_lookup("149.154.167.51");
    assert!(text.contains("netify.telegram") && text.contains("source:"), "{text}");
    assert!(c.explain_lookup("nothing.invalid").contains("no application"));
}

#[test]
fn unknown_application_names_warn_with_a_suggestion() {
    let c = Classifier::load_default();
    let w = |text: &str| {
        let criteria = crate::criteria::Criteria::compile(text).unwrap();
        c.unknown_applications(&criteria)
            .into_iter()
            .map(|w| format!("{}: {}", w.column, w.message))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        w("app == 'netify.youtub';"),
        ["1: unknown application `netify.youtub` (no loaded application has this tag): did you mean `netify.youtube`?"]
    );
    assert!(w("ai:youtube").is_empty());
    assert!(w("app == 'netify.amazon-prime' || application_id == 124;").is_empty());
    assert_eq!(
        w("local_port == 1 && app_id == 99999;"),
        ["20: unknown application ID 99999 (no loaded application has it)"]
    );
    assert!(w("app == 'qqqqqqqqqqqqqqqqqqqqqqq';")[0]
        .ends_with("`qqqqqqqqqqqqqqqqqqqqqqq` (no loaded application has this tag)"));
}

/// The catalogue's size: printed for the record, and held to a budget.
#[test]
fn default_catalogue_memory() {
    let c = Classifier::load_default();
    let bytes = c.heap_bytes();
    println!(
        "built-in catalogue: {} applications, {} domains, {} networks, ~{} KiB heap",
        c.apps().apps().len(),
        c.apps().domain_count(),
        c.apps().network_count(),
        bytes / 1024
    );
    assert!(bytes < 8 << 20, "{bytes} bytes");
    // flowsieve's own list alone, as the built-in data was before the imports.
    let (own, _) = AppCatalog::parse("data/flowsieve-apps.conf", include_str!("../../data/flowsieve-apps.conf"));
    println!(
        "flowsieve-apps.conf alone: {} applications, {} domains, {} networks, ~{} KiB heap",
        own.apps().len(),
        own.domain_count(),
        own.network_count(),
        own.heap_bytes() / 1024
    );
}

#[test]
fn default_data_knows_the_big_services() {
    let c = Classifier::load_default();
    let host = |h: &str| c.apps().lookup_host(h).map(|a| a.tag.to_string());
    assert_eq!(host("rr4---sn-4g5e6nzz.googlevideo.com").as_deref(), Some("netify.youtube"));
    assert_eq!(host("music.youtube.com").as_deref(), Some("netify.youtube-music"));
    assert_eq!(host("occ-0-1234-58.1.nflxso.net").as_deref(), Some("netify.netflix"));
    assert_eq!(host("scontent-mxp1-1.xx.fbcdn.net").as_deref(), Some("netify.facebook"));
    assert_eq!(host("mmg.whatsapp.net").as_deref(), Some("netify.whatsapp"));
    assert_eq!(host("apresolve.spotify.com").as_deref(), Some("netify.spotify"));
    assert_eq!(host("teams.microsoft.com").as_deref(), Some("netify.microsoft-teams"));
    assert_eq!(host("www.microsoft.com").as_deref(), Some("netify.microsoft"));
    assert_eq!(c.apps().by_tag("netify.amazon-prime").map(|a| a.id), Some(10184), "Netify's ID");
    assert_eq!(host("us04web.zoom.us").as_deref(), Some("netify.zoom"));
    assert_eq!(host("chatgpt.com").as_deref(), Some("netify.openai-chatgpt"));
    // Seen in nDPI's captures: more specific names under another application's domain.
    assert_eq!(host("vpn-api.proton.me").as_deref(), Some("netify.proton-vpn"));
    assert_eq!(host("mail.proton.me").as_deref(), Some("netify.proton-mail"));
    assert_eq!(host("teams.office.com").as_deref(), Some("netify.microsoft-teams"));
    assert_eq!(host("notyoutube.com"), None);
    let ip = |a: &str| c.apps().lookup_ip(a.parse::<IpAddr>().unwrap()).map(|(a, _)| a.tag.to_string());
    assert_eq!(ip("149.154.167.51").as_deref(), Some("netify.telegram"));
    assert_eq!(ip("52.115.136.55").as_deref(), Some("netify.microsoft-teams"));
    assert_eq!(ip("2a03:2880:f003:c07:face:b00c::2").as_deref(), Some("netify.facebook"));
    // Cloud operators' published networks (data/third-party/cloudip/); Teams' network inside
    // Azure's stays Teams'.
    assert_eq!(ip("52.95.110.1").as_deref(), Some("netify.amazon-aws"));
    assert_eq!(ip("104.16.1.1").as_deref(), Some("netify.cloudflare"));
    assert_eq!(ip("2606:4700::6810:1").as_deref(), Some("netify.cloudflare"));
    assert_eq!(ip("13.107.42.14").as_deref(), Some("netify.azure"));
    assert_eq!(ip("142.93.78.79").as_deref(), Some("netify.digitalocean"));
    assert_eq!(ip("52.113.0.1").as_deref(), Some("netify.microsoft-teams"));
    assert_eq!(ip("192.0.2.1"), None);
    // The built-in WhatsApp soft dissector: chat on Meta's addresses, port 5222, no name.
    let mut f = facts(None, "179.60.195.33", protocol::UNKNOWN);
    f.ip_protocol = 6;
    f.other_port = 5222;
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.facebook"), "not while detection runs");
    f.detection_complete = true;
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.whatsapp"));
    assert!(f.application.soft_dissector);
    assert_eq!(f.application.category, 17);
}

#[test]
fn load_reads_files_and_reports_lines() {
    let dir = std::env::temp_dir().join(format!("flowsieve-classify-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("domains.d")).unwrap();
    std::fs::write(dir.join("apps.conf"), "app:5:netify.five\ndom:5:five.example\ndom:6:six.example\n").unwrap();
    std::fs::write(dir.join("domains.d/20-games.txt"), "play.example\n").unwrap();
    let paths = ClassifierPaths {
        apps: Some(dir.join("apps.conf")),
        categories: None,
        domains_dir: Some(dir.join("domains.d")),
    };
    let (c, problems) = Classifier::load(&paths).unwrap();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(text[0].ends_with("apps.conf:3: domain six.example: no application with ID 6"), "{text:?}");
    assert!(text[1].contains("no categories file given"), "{text:?}");
    assert_eq!(c.apps().lookup_host("www.five.example").map(|a| a.id), Some(5));
    assert_eq!(c.categories().domain_category("play.example"), 12);
    let missing = ClassifierPaths { apps: Some(dir.join("nope.conf")), ..ClassifierPaths::default() };
    assert!(Classifier::load(&missing).unwrap_err().to_string().contains("nope.conf"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn certificate_names_are_the_last_resort() {
    let c = classifier();
    // No SNI, an address nobody lists: the certificate's SAN names the service.
    let mut f = facts(None, "203.0.113.9", protocol::TLS);
    f.tls.set_subject_cn("unrelated.example");
    f.tls.set_server_names(["*.googlevideo.com"]);
    assert!(c.classify(&mut f));
    assert_eq!(f.application.id, 124);
    // A host name of its own wins over the certificate.
    let mut f = facts(Some("www.facebook.com"), "203.0.113.9", protocol::TLS);
    f.tls.set_server_names(["*.googlevideo.com"]);
    c.classify(&mut f);
    assert_eq!(f.application.id, 119);
}

/// The built-in data, whose tags the wire signatures name.
fn built_in() -> Classifier {
    Classifier::load_default()
}

#[test]
fn every_wire_signature_names_a_built_in_application() {
    let c = built_in();
    for (sig, tag, _) in signatures::SIGNATURES {
        assert!(c.apps.by_tag(tag).is_some(), "{sig:?} names {tag}, which the built-in data lacks");
    }
    let why = c.explain_lookup("torproject.org");
    assert!(why.contains("wire signature: a TLS ClientHello with Tor's random server name"), "{why}");
}

#[test]
fn a_cloud_operators_address_ranks_after_the_certificate() {
    let c = built_in();
    let app = |other_ip: &str, names: &[&str]| {
        let mut f = facts(None, other_ip, protocol::TLS);
        if !names.is_empty() {
            f.tls.set_server_names(names.iter().copied());
        }
        c.classify(&mut f);
        f.application.tag.as_deref().map(str::to_string)
    };
    // waze.pcap: Waze's servers on AWS, their TLS 1.0 certificate naming *.world.waze.com.
    assert_eq!(app("46.51.173.182", &["*.world.waze.com"]).as_deref(), Some("netify.waze"));
    // Nothing else said: the operator whose machine it is.
    assert_eq!(app("46.51.173.182", &[]).as_deref(), Some("netify.amazon-aws"));
    // Another application's network still comes before the certificate, as in Netify's order.
    assert_eq!(app("52.113.0.1", &["*.world.waze.com"]).as_deref(), Some("netify.microsoft-teams"));
    // A host name comes before any address.
    let mut f = facts(Some("www.waze.com"), "104.16.1.1", protocol::TLS);
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.waze"));
}

#[test]
fn tunnelbear_handshake_names_tunnelbear() {
    let c = built_in();
    // What dissect::wireguard notes for TunnelBear's 204/100-byte handshake, to a server on
    // DigitalOcean's network: the signature names the flow before the address.
    let mut f = facts(None, "142.93.78.79", protocol::WIREGUARD);
    f.app_protocol.wireguard_mut().tunnelbear_handshake = true;
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.tunnelbear"));
    // Plain WireGuard to the same address is only the hosting operator's.
    let mut f = facts(None, "142.93.78.79", protocol::WIREGUARD);
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.digitalocean"));
}

/// The application tag of a STUN flow to `other_ip` (host name `host`) whose STUN facts `stun`
/// sets, and its application ID.
fn stun_application(
    c: &Classifier,
    host: Option<&str>,
    other_ip: &str,
    stun: impl FnOnce(&mut crate::facts::stun::StunFacts),
) -> (Option<String>, u32) {
    let mut f = facts(host, other_ip, protocol::STUN);
    stun(f.app_protocol.stun_mut());
    c.classify(&mut f);
    (f.application.tag.as_deref().map(str::to_string), f.application.id)
}

#[test]
fn whatsapp_relay_signature_beats_the_meta_address() {
    use crate::facts::stun::StunClient;
    let c = built_in();
    // What dissect::stun finds in WhatsApp's TURN Allocate answer from a Meta relay (its tests
    // hold the frame's bytes).
    let (tag, _) = stun_application(&c, None, "31.13.86.48", |s| s.client = StunClient::WhatsApp);
    assert_eq!(tag.as_deref(), Some("netify.whatsapp"));
    // The same relay address without the signature is Meta's (Facebook's), not WhatsApp.
    let (tag, id) = stun_application(&c, None, "31.13.86.48", |_| {});
    assert_ne!(tag.as_deref(), Some("netify.whatsapp"));
    assert_ne!(id, 0, "Meta's address is still known");
}

#[test]
fn microsoft_call_attributes_and_google_relay_realm_name_calls() {
    use crate::facts::stun::StunClient;
    let c = built_in();
    // What dissect::stun finds in a Teams relay's binding answer (its tests hold the bytes),
    // from an address no list names.
    let (tag, _) = stun_application(&c, None, "192.0.2.7", |s| s.client = StunClient::Microsoft);
    assert_eq!(tag.as_deref(), Some("netify.microsoft-teams"));
    // A TURN relay whose REALM (the flow's host name) is Google's (what dissect::stun finds:
    // `facts::stun::realm_client`'s tests hold the names): Google's calls, not its web.
    let (tag, _) = stun_application(&c, Some("turn.l.google.com"), "192.0.2.7", |s| {
        s.realm = true;
        s.client = StunClient::Google;
    });
    assert_eq!(tag.as_deref(), Some("netify.google-meet"));
    // The same name not from a REALM is Google's web services.
    let (tag, _) = stun_application(&c, Some("turn.l.google.com"), "192.0.2.7", |_| {});
    assert_ne!(tag.as_deref(), Some("netify.google-meet"));
    // Signal's and Telegram's relays.
    let (tag, _) = stun_application(&c, None, "192.0.2.7", |s| s.client = StunClient::Signal);
    assert_eq!(tag.as_deref(), Some("netify.signal"));
    let (tag, _) = stun_application(&c, None, "192.0.2.7", |s| s.client = StunClient::Telegram);
    assert_eq!(tag.as_deref(), Some("netify.telegram"));
}

#[test]
fn a_call_hint_outranks_the_servers_address_not_the_flows_own_packets() {
    use crate::facts::stun::StunClient;
    let c = built_in();
    // A binding request to Google's public STUN server (Google's address) from a socket
    // Signal's relay named: Signal's call.
    let (tag, _) = stun_application(&c, None, "172.253.121.127", |_| {});
    assert_eq!(tag.as_deref(), Some("netify.google"), "the address alone is Google's");
    let mut f = facts(None, "172.253.121.127", protocol::STUN);
    f.application.call_hint = StunClient::Signal;
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.signal"));
    // The flow's own messages outrank it: WhatsApp's attributes, or a realm's host name.
    let mut own = facts(None, "192.0.2.7", protocol::STUN);
    own.app_protocol.stun_mut().client = StunClient::WhatsApp;
    own.application.call_hint = StunClient::Signal;
    c.classify(&mut own);
    assert_eq!(own.application.tag.as_deref(), Some("netify.whatsapp"));
    let mut realm = facts(Some("turn.zoom.us"), "192.0.2.7", protocol::STUN);
    realm.application.call_hint = StunClient::Signal;
    c.classify(&mut realm);
    assert_eq!(realm.application.tag.as_deref(), Some("netify.zoom"));
}

#[test]
fn only_published_call_relay_networks_are_call_relays() {
    use crate::facts::stun::StunClient;
    let c = built_in();
    // Meet's media relays (Google publishes 142.250.82.0/24, 2001:4860:4864:6::/64 for them).
    for relay in ["142.250.82.76", "2001:4860:4864:6::81"] {
        assert_eq!(c.call_relay(relay.parse().unwrap()), Some(StunClient::Google), "{relay}");
    }
    // Google's public STUN server and Meta's and Telegram's shared ranges are not.
    for other in ["74.125.128.127", "31.13.86.48", "149.154.167.91", "192.0.2.7"] {
        assert_eq!(c.call_relay(other.parse().unwrap()), None, "{other}");
    }
}

#[test]
fn unread_tcp_to_telegrams_networks_is_telegram() {
    let c = built_in();
    // Detection gave up on a TCP flow to Telegram's published 149.154.160.0/20 with nothing
    // read (MTProto's obfuscated transport): the port guess (TLS on 443) becomes Telegram.
    let unread = || {
        let mut f = facts(None, "149.154.167.91", protocol::TLS);
        f.ip_protocol = 6;
        f.detection_guessed = true;
        f
    };
    let mut f = unread();
    c.classify(&mut f);
    assert_eq!((f.protocol, f.application.tag.as_deref()), (protocol::TELEGRAM, Some("netify.telegram")));
    // A ClientHello was read (Telegram Web over TLS): TLS stays.
    let mut hello = unread();
    hello.tls.client_version = 0x0303;
    c.classify(&mut hello);
    assert_eq!(hello.protocol, protocol::TLS);
    // Detection did not give up, the flow is UDP, or the address is not Telegram's: unchanged.
    let mut named = unread();
    named.detection_guessed = false;
    let mut udp_flow = unread();
    udp_flow.ip_protocol = 17;
    let mut elsewhere = unread();
    elsewhere.other_ip = "192.0.2.7".parse().unwrap();
    for mut f in [named, udp_flow, elsewhere] {
        c.classify(&mut f);
        assert_eq!(f.protocol, protocol::TLS);
    }
}

#[test]
fn unread_tcp_to_apples_network_on_5223_is_apple_push() {
    let c = built_in();
    // wa_voice.pcap in nDPI's corpus: TLS application data picked up mid-session, to
    // 17.242.60.84:5223, nothing read.
    let unread = |port: u16| {
        let mut f = facts(None, "17.242.60.84", protocol::UNKNOWN);
        (f.ip_protocol, f.other_port, f.detection_guessed) = (6, port, true);
        f
    };
    let mut f = unread(5223);
    c.classify(&mut f);
    assert_eq!((f.protocol.0, f.application.tag.as_deref()), (238, Some("netify.apple")));
    // Another port to the same network: the application only.
    let mut f = unread(443);
    c.classify(&mut f);
    assert_eq!((f.protocol, f.application.tag.as_deref()), (protocol::UNKNOWN, Some("netify.apple")));
}

#[test]
fn unread_udp_to_warps_ingress_on_its_ports_is_cloudflare_warp() {
    let c = built_in();
    // Cloudflare's published WARP ingress (162.159.193.0/24, 2606:4700:100::/48) and the
    // consumer client's endpoint network (162.159.192.0/24), UDP 2408 and its fallbacks: a
    // tunnel no dissector read (WARP's WireGuard variant) is CloudflareWarp.
    let unread = |ip: &str, port: u16, ip_protocol: u8| {
        let mut f = facts(None, ip, protocol::UNKNOWN);
        (f.ip_protocol, f.other_port, f.detection_guessed) = (ip_protocol, port, true);
        f
    };
    for (ip, port) in [("162.159.192.7", 2408), ("162.159.193.10", 4500), ("2606:4700:100::a29f:c101", 1701)] {
        let mut f = unread(ip, port, 17);
        c.classify(&mut f);
        assert_eq!(
            (f.protocol, f.application.tag.as_deref()),
            (protocol::CLOUDFLARE_WARP, Some("netify.cloudflare-warp")),
            "{ip}:{port}"
        );
    }
    // Another port, TCP, or a flow a dissector read (IKE on 500): the application only.
    let mut other_port = unread("162.159.192.7", 443, 17);
    let mut tcp = unread("162.159.192.7", 2408, 6);
    for f in [&mut other_port, &mut tcp] {
        c.classify(f);
        assert_eq!((f.protocol, f.application.tag.as_deref()), (protocol::UNKNOWN, Some("netify.cloudflare-warp")));
    }
    let mut read = unread("162.159.193.10", 500, 17);
    (read.protocol, read.detection_guessed) = (protocol::IPSEC, false);
    c.classify(&mut read);
    assert_eq!(read.protocol, protocol::IPSEC);
    // Cloudflare's other networks (its CDN) are not WARP's.
    let mut cdn = unread("162.159.36.1", 2408, 17);
    c.classify(&mut cdn);
    assert_eq!(cdn.protocol, protocol::UNKNOWN);
    assert_ne!(cdn.application.tag.as_deref(), Some("netify.cloudflare-warp"));
}

#[test]
fn media_after_a_gquic_handshake_is_snapchat() {
    let c = built_in();
    // What dissect::gquic marks: RTP after an SNI-less Q046 handshake, to an address no list
    // names (Snapchat's media servers are on a cloud provider's addresses).
    let mut f = facts(None, "192.0.2.7", protocol::QUIC);
    f.tls.set_media_after_handshake();
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.snapchat"));
    let mut plain = facts(None, "192.0.2.7", protocol::QUIC);
    c.classify(&mut plain);
    assert_ne!(plain.application.tag.as_deref(), Some("netify.snapchat"));
}

#[test]
fn tor_link_handshake_is_tor() {
    let c = built_in();
    // What the TLS dissector reads from a Tor client's ClientHello (TLS 1.0, no ALPN).
    let mut f = facts(None, "91.143.93.242", protocol::TLS);
    f.tls.client_version = 0x0301;
    f.set_tls_sni("www.ct7ctrgb6cr7.com");
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.tor"));
    // The same hello offering ALPN is a browser's, and not Tor's.
    f.tls.set_alpn(["h2", "http/1.1"]);
    f.application = Default::default();
    c.classify(&mut f);
    assert_ne!(f.application.tag.as_deref(), Some("netify.tor"));
}

#[test]
fn tor_server_names_have_tor_shape() {
    use signatures::is_tor_server_name;
    for name in ["www.ct7ctrgb6cr7.com", "www.t3i3ru.com", "www.e6r5p57kbafwrxj3plz.com", "www.a2bc.com"] {
        assert!(is_tor_server_name(name), "{name}");
    }
    for name in [
        "www.google.com",                     // letters only: any web site
        "www.ct7ctrgb6cr7.net",               // not .com
        "ct7ctrgb6cr7.com",                   // no www.
        "www.ct8ctrgb.com",                   // 8 is not base32
        "www.CT7CTRGB.com",                   // upper case
        "www.a2b.com",                        // 3 characters
        "www.2345.com",                       // digits only
        "www.a234567abcdefghijklmnopqrs.com", // 26 characters
    ] {
        assert!(!is_tor_server_name(name), "{name}");
    }
}

#[test]
fn every_known_certificate_subject_names_a_built_in_application() {
    let c = built_in();
    for known in crate::facts::KNOWN_SUBJECTS {
        assert!(c.apps.by_tag(known.application).is_some(), "{known:?}: not in the built-in data");
    }
    let why = c.explain_lookup("forticlient.com");
    assert!(why.contains("wire signature: a server certificate whose subject has O=Fortinet, OU=FortiGate"), "{why}");
}

#[test]
fn a_known_certificate_subject_names_the_server_whatever_its_address() {
    let c = built_in();
    // What the TLS dissector records from a FortiGate's factory certificate (its tests hold
    // the certificate's bytes): the client named the gateway by its address, so no host name.
    let mut f = facts(Some("198.51.100.7"), "198.51.100.7", protocol::TLS);
    f.tls.set_known_subject(crate::facts::known_subject_index(b"Fortinet", b"FortiGate", b"FGT60E0000000000"));
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.forticlient"));
    // Another Fortinet unit (its CA, say) is not a FortiGate.
    assert_eq!(crate::facts::known_subject_index(b"Fortinet", b"Certificate Authority", b"support"), None);
    // The organization alone names Windscribe's self-signed servers; a subject without it, nothing.
    let mut f = facts(None, "198.51.100.8", protocol::TLS);
    f.tls.set_known_subject(crate::facts::known_subject_index(b"Windscribe", b"IT Dept.", b"198.51.100.8"));
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.windscribe"));
    assert_eq!(crate::facts::known_subject_index(b"", b"", b""), None);
    assert_eq!(crate::facts::known_subject_index(b"Windscribe Ltd", b"", b""), None, "values compare whole");
    // pia.pcap in nDPI's corpus: a PIA server's certificate (O and OU Private Internet Access,
    // CN the server's name); the organization with another unit is not PIA's server.
    let mut f = facts(None, "143.244.45.60", protocol::HTTPS);
    let pia = b"Private Internet Access";
    f.tls.set_known_subject(crate::facts::known_subject_index(pia, pia, b"newjersey402"));
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.private-internet-access"));
    assert_eq!(crate::facts::known_subject_index(pia, b"Support", b"newjersey402"), None);
    // An AnyDesk peer's self-signed certificate (its direct-connection service on TCP 7070);
    // another common name is not AnyDesk's.
    let mut f = facts(None, "192.168.1.20", protocol::TLS);
    f.tls.set_known_subject(crate::facts::known_subject_index(b"", b"", b"AnyDesk Client"));
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.anydesk"));
    assert_eq!(crate::facts::known_subject_index(b"", b"", b"AnyDesk"), None);
}

#[test]
fn a_known_server_product_names_the_answering_server_whatever_the_host() {
    let c = built_in();
    for known in crate::facts::http::KNOWN_SERVERS {
        assert!(c.apps.by_tag(known.application).is_some(), "{known:?}: not in the built-in data");
    }
    // ntopng's captive portal answers a connectivity check for www.google.eu (a 302 to the
    // portal): the request names Google, the answer ntopng.
    let mut f = facts(Some("www.google.eu"), "142.250.180.163", protocol::HTTP);
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.google"));
    f.app_protocol.http_mut().set_server(b"ntopng 6.1.240606 (x86_64)");
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.ntop"));
    // Any other server keeps the host's application.
    let mut f = facts(Some("www.google.eu"), "142.250.180.163", protocol::HTTP);
    f.app_protocol.http_mut().set_server(b"gws");
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.google"));
    let why = c.explain_lookup("ntop.org");
    assert!(why.contains("wire signature: an HTTP response whose Server header names the product ntopng"), "{why}");
}

#[test]
fn anydesk_names_itself_in_its_alpn() {
    let c = built_in();
    // tls_client_certificate_with_missing_server_one.pcapng in nDPI's corpus: AnyDesk's client
    // to a relay, no server name.
    let mut f = facts(None, "195.181.174.176", protocol::TLS);
    f.tls.client_version = 0x0303;
    f.tls.set_alpn(["anydesk/6.2.0/linux"]);
    c.classify(&mut f);
    assert_eq!(f.application.tag.as_deref(), Some("netify.anydesk"));
    // The bare prefix, another protocol's ID, a name merely containing it: not AnyDesk.
    for alpn in [&["anydesk/"][..], &["h2", "http/1.1"], &["x-anydesk/1"], &["AnyDesk/6"]] {
        let mut f = facts(None, "198.51.100.20", protocol::TLS);
        f.tls.client_version = 0x0303;
        f.tls.set_alpn(alpn.iter().copied());
        c.classify(&mut f);
        assert_eq!(f.application.tag.as_deref(), None, "{alpn:?}");
    }
}

const CDN_APPS: &str = "\
app:201:netify.instagram
dom:201:instagram.com
dom:201:igcdn.com
app:10011:netify.akamai
dom:10011:akamaihd.net
app:20500:netify.imgix
dom:20500:imgix.net
app:20501:netify.cdnjs
dom:20501:cdnjs.com
app:20502:netify.bigshop
dom:20502:bigshop.com
dom:20502:img.bigshop-assets.akamaihd.net
";

#[test]
fn a_cdn_customer_named_in_its_label_is_the_customers() {
    let (apps, errors) = AppCatalog::parse("t.conf", CDN_APPS);
    assert!(errors.is_empty(), "{errors:?}");
    // Netify's category 35 is `cdn`, 24 `social-media`.
    let (categories, errors) = CategoryIndex::parse_json(
        "t.json",
        r#"{"application_tag_index": {"cdn": 35, "social-media": 24},
            "application_index": [[35, [10011, 20500, 20501]], [24, [201]]]}"#,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let c = Classifier::new(apps, categories);
    let app = |host: &str| {
        let mut f = facts(Some(host), "203.0.113.9", protocol::TLS);
        c.classify(&mut f);
        f.application.tag.as_deref().map(str::to_string)
    };
    // One label under the CDN's domain, led by a listed service's name (+ `.com`).
    assert_eq!(app("igcdn-photos-a-a.akamaihd.net").as_deref(), Some("netify.instagram"));
    assert_eq!(app("bigshop2.imgix.net").as_deref(), Some("netify.bigshop"));
    // The CDN's own names, short or unknown labels, deeper names, and customers that are CDNs
    // themselves stay the CDN's.
    assert_eq!(app("akamaihd.net").as_deref(), Some("netify.akamai"));
    assert_eq!(app("img.akamaihd.net").as_deref(), Some("netify.akamai"), "fewer than 5 letters");
    assert_eq!(app("unknownbrand-a.akamaihd.net").as_deref(), Some("netify.akamai"));
    assert_eq!(app("igcdn.photos.akamaihd.net").as_deref(), Some("netify.akamai"), "two labels under");
    assert_eq!(app("cdnjs.imgix.net").as_deref(), Some("netify.imgix"), "a CDN customer of a CDN");
    // A service's own listed name on the CDN matches first (the longer match).
    assert_eq!(app("img.bigshop-assets.akamaihd.net").as_deref(), Some("netify.bigshop"));
    // Only CDNs: a listed service's subdomain led by another's name stays the service's.
    assert_eq!(app("bigshop.instagram.com").as_deref(), Some("netify.instagram"));
    // `lookup` says why.
    let why = c.explain_lookup("bigshop2.imgix.net");
    assert!(why.contains("netify.bigshop (ID 20502)") && why.contains("customer of the CDN netify.imgix"), "{why}");
}
