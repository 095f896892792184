//! The call hint cache (`classify::call_hints`, docs/FLOW-ACTIONS.md §5, "A call's other flows")
//! on nDPI's call captures (read in place from `flowsieve::corpus_dir()`; skipped with a note
//! when the corpus is not there): every flow nDPI names WhatsApp's, Signal's, Telegram's or Google's call
//! in `truth.jsonl` gets that application from one flow table, among them the ICE checks and
//! media flows whose own packets name nothing. The near miss: a binding request from another
//! socket of the same host to the same public STUN server is not tied to the call.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use flowsieve::classify::Classifier;
use flowsieve::decode::{decode, LinkType};
use flowsieve::flow::locality::Locality;
use flowsieve::flow::table::{FlowTable, TableConfig};

/// Capture → (nDPI's application, the tag flowsieve gives it; docs/FLOW-ACTIONS.md §5).
const CAPTURES: &[(&str, &str, &str)] = &[
    ("wa_voice.pcap", "WhatsAppCall", "netify.whatsapp"),
    ("wa_video.pcap", "WhatsAppCall", "netify.whatsapp"),
    ("whatsapp_login_call.pcap", "WhatsAppCall", "netify.whatsapp"),
    ("stun_wa_call.pcapng", "WhatsAppCall", "netify.whatsapp"),
    ("stun_signal.pcapng", "SignalVoip", "netify.signal"),
    ("telegram_videocall.pcapng", "TelegramVoip", "netify.telegram"),
    ("stun_google_meet.pcapng", "GoogleCall", "netify.google-meet"),
];

type Endpoints = ((IpAddr, u16), (IpAddr, u16));

fn sorted(a: (IpAddr, u16), b: (IpAddr, u16)) -> Endpoints {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Replays a capture through one table; the UDP flows' application tags by endpoints, and the
/// table (still holding its call hint cache) with the last packet time.
fn replay(path: &str) -> (HashMap<Endpoints, Option<String>>, FlowTable, Duration) {
    let classifier = Arc::new(Classifier::load_default());
    let locality = Arc::new(Locality::new(Vec::new(), Vec::new()));
    let mut table = FlowTable::new(TableConfig::default(), locality, "pcap", false).with_classifier(classifier);
    let mut tags = HashMap::new();
    let mut keep = |flow: flowsieve::flow::table::Flow| {
        let f = &flow.facts;
        if f.ip_protocol == 17 {
            let key = sorted((f.local_ip, f.local_port), (f.other_ip, f.other_port));
            tags.insert(key, f.application.tag.as_deref().map(str::to_string));
        }
    };
    let mut last = Duration::ZERO;
    flowsieve::capture::file::read_file(path, |frame| {
        if let Ok(packet) = decode(frame.link, frame.data) {
            table.process(&packet, frame.timestamp);
        }
        last = frame.timestamp;
        table.expire(frame.timestamp, &mut keep);
    })
    .unwrap_or_else(|e| panic!("{path}: {e}"));
    table.drain(&mut keep);
    (tags, table, last)
}

#[test]
fn a_calls_flows_take_the_application_its_messages_named() {
    let corpus = flowsieve::corpus_dir();
    let Ok(truth) = std::fs::read_to_string(corpus.join("truth.jsonl")) else {
        eprintln!("skipped: no corpus at {}", corpus.display());
        return;
    };
    let mut checked_from_the_cache = 0;
    for &(capture, ndpi_app, tag) in CAPTURES {
        let (tags, _, _) = replay(&corpus.join("pcap").join(capture).to_string_lossy());
        for line in truth.lines() {
            let Ok(r) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if r["pcap"] != capture || r["l4"] != "UDP" || r["app_name"] != ndpi_app {
                continue;
            }
            let endpoint = |side: &str| -> (IpAddr, u16) {
                let ip = r[format!("{side}_ip")].as_str().and_then(|s| s.parse().ok()).expect("address");
                (ip, r[format!("{side}_port")].as_u64().and_then(|p| u16::try_from(p).ok()).expect("port"))
            };
            let key = sorted(endpoint("src"), endpoint("dst"));
            let ours = tags.get(&key).unwrap_or_else(|| panic!("{capture}: no flow {key:?}"));
            assert_eq!(ours.as_deref(), Some(tag), "{capture} {key:?} ({})", r["confidence"]);
            if r["confidence"] == "DPI (cache)" {
                checked_from_the_cache += 1;
            }
        }
    }
    // The flows nDPI named from its own cache are among them (36 in nDPI 4.11's truth).
    assert!(checked_from_the_cache >= 30, "{checked_from_the_cache}");
}

/// An Ethernet frame carrying a STUN binding request (no attributes) from `src` to `dst`.
fn binding_request(src: ([u8; 4], u16), dst: ([u8; 4], u16)) -> Vec<u8> {
    let stun = [[0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42].as_slice(), &[9; 12]].concat();
    let udp_len = 8 + stun.len() as u16;
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    f[16..18].copy_from_slice(&(20 + udp_len).to_be_bytes());
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.1.to_be_bytes());
    f.extend_from_slice(&dst.1.to_be_bytes());
    f.extend_from_slice(&udp_len.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&stun);
    f
}

#[test]
fn another_socket_of_the_same_host_is_not_tied_to_the_call() {
    let corpus = flowsieve::corpus_dir();
    let path = corpus.join("pcap").join("stun_signal.pcapng");
    if !path.exists() {
        eprintln!("skipped: no corpus at {}", corpus.display());
        return;
    }
    let (_, mut table, last) = replay(&path.to_string_lossy());
    let (host, google_stun) = ([192, 168, 12, 169], ([172, 253, 121, 127], 19302));
    let tag_of = |table: &mut FlowTable, port: u16| {
        let frame = binding_request((host, port), google_stun);
        let packet = decode(LinkType::Ethernet, &frame).expect("decodes");
        let (flow, _) = table.process(&packet, last + Duration::from_secs(1)).expect("room");
        flow.facts.application.tag.as_deref().map(str::to_string)
    };
    // A socket of the call (a STUN message of the call tied it): Signal's.
    assert_eq!(tag_of(&mut table, 47767).as_deref(), Some("netify.signal"));
    // A port of the same host no call message touched: Google's public server, by address.
    assert_eq!(tag_of(&mut table, 47768).as_deref(), Some("netify.google"));
}
