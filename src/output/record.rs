//! The JSON record of a flow: `replay --json` output, sink records, the corpus report.
//!
//! Field names are a public interface (README): add fields, never rename them.

use serde_json::{json, Value};

use crate::dissect::{cipher_suites, quic};
use crate::facts::dns::DnsAnswer;
use crate::facts::protocol;
use crate::facts::{FlowFacts, Ja4};
use crate::flow::table::Flow;

/// The `replay --json` record of a flow. `capture` names the file it came from.
pub fn flow_record(capture: &str, flow: &Flow) -> Value {
    let mut record = facts_record(&flow.facts);
    if let Value::Object(map) = &mut record {
        map.insert("capture".into(), capture.into());
        map.insert("first_seen".into(), flow.first_seen.as_secs_f64().into());
        map.insert("last_seen".into(), flow.last_seen.as_secs_f64().into());
        map.insert("actions".into(), flow.verdicts.actions.iter().map(|a| &**a).collect::<Vec<_>>().into());
        map.insert("ops".into(), flow.verdicts.ops.clone().into());
    }
    record
}

/// What a flow's facts say, without the flow's history: the `flow` of a sink record.
pub fn facts_record(f: &FlowFacts) -> Value {
    let tls = (f.protocol == protocol::TLS || f.tls.version != 0 || f.tls.client_version != 0 || f.tls.sni().is_some())
        .then(|| {
            json!({
                "version": f.tls.version,
                "client_version": f.tls.client_version,
                "cipher": f.tls.cipher,
                "sni": f.tls.sni(),
                "alpn": f.tls.alpn().iter().collect::<Vec<_>>(),
                "alpn_negotiated": f.tls.alpn_negotiated(),
                "cipher_name": (f.tls.version != 0).then(|| cipher_suites::cipher_name(f.tls.cipher)).flatten(),
                "ja3": f.tls.ja3().map(|d| d.to_string()),
                "ja3s": f.tls.ja3s().map(|d| d.to_string()),
                "ja4": f.tls.ja4().map(Ja4::as_str),
                "subject_cn": f.tls.subject_cn(),
                "server_names": f.tls.server_names().iter().collect::<Vec<_>>(),
            })
        });
    let quic = (f.quic_version != 0).then(|| json!({ "version": quic::version_name(f.quic_version) }));
    let http = f.app_protocol.http().map(|h| {
        json!({
            "host": h.host.as_deref(),
            "method": h.method(),
            "url": h.url.as_deref(),
            "user_agent": h.user_agent.as_deref(),
            "status": (h.status != 0).then_some(h.status),
        })
    });
    let dns = f.app_protocol.dns().map(|d| {
        let answers: Vec<String> = d
            .answers
            .iter()
            .map(|a| match a {
                DnsAnswer::Addr(ip, _) => ip.to_string(),
                DnsAnswer::Cname(name, _) => name.to_string(),
            })
            .collect();
        json!({ "query": d.query.as_deref(), "query_type": d.query_type, "rcode": d.rcode, "answers": answers })
    });
    let ssh = f.app_protocol.ssh().map(|s| json!({ "client": s.client.as_deref(), "server": s.server.as_deref() }));
    let dhcp = f
        .app_protocol
        .dhcp()
        .map(|d| json!({ "hostname": d.hostname.as_deref(), "vendor_class": d.vendor_class.as_deref() }));
    json!({
        "iface": &*f.iface,
        "ip_version": f.ip_version,
        "ip_protocol": f.ip_protocol,
        "vlan_id": f.vlan_id,
        "local_ip": f.local_ip.to_string(),
        "local_port": f.local_port,
        "other_ip": f.other_ip.to_string(),
        "other_port": f.other_port,
        "other_type": f.other_type.as_str(),
        "local_origin": f.local_origin,
        "tunnel_type": f.tunnel_type.as_str(),
        "ip_nat": f.ip_nat,
        "ct_mark": f.ct_mark,
        "protocol": { "id": f.protocol, "name": protocol::name_of(f.protocol) },
        "application": (f.application.id != 0).then(|| json!({
            "id": f.application.id,
            "tag": f.application.tag.as_deref(),
            "from_dns_hint": f.application.from_dns_hint,
            "category": (f.application.category != 0).then(|| json!({
                "id": f.application.category,
                "tag": crate::classify::categories::builtin_application_category_tag(f.application.category),
            })),
        })),
        "detected_hostname": f.detected_hostname(),
        "tls": tls,
        "quic": quic,
        "http": http,
        "dns": dns,
        "ssh": ssh,
        "dhcp": dhcp,
        "dns_hostname": f.dns_hostname.as_deref(),
        "packets": f.packets(),
        "bytes": f.bytes(),
        "detection_complete": f.detection_complete,
        "detection_guessed": f.detection_guessed,
        "detection_updated": f.detection_updated,
    })
}
