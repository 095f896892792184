//! A replay worker (decode, flow table, dissection, classification, action evaluation) fed a
//! sequence of frames, with idle expiry between them as `replay` does.
#![no_main]

use std::sync::Arc;

use arc_swap::ArcSwap;
use flowsieve::agent::{packet_time, Worker};
use flowsieve::capture::Frame;
use flowsieve::classify::Classifier;
use flowsieve::facts::net::IpNet;
use flowsieve::flow::locality::Locality;
use flowsieve::flow::table::{FlowTable, TableConfig};

struct Shared {
    actions: Arc<ArcSwap<flowsieve::actions::ActionSet>>,
    classifier: Arc<Classifier>,
    locality: Arc<Locality>,
}

fn shared() -> &'static Shared {
    static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| Shared {
        actions: Arc::new(ArcSwap::new(flowsieve_fuzz::worker_config())),
        classifier: Arc::new(Classifier::load_default()),
        locality: Arc::new(Locality::new(
            vec![IpNet::new([10, 0, 0, 0].into(), 8), IpNet::new([192, 168, 0, 0].into(), 16)],
            vec![],
        )),
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((link, frames)) = flowsieve_fuzz::frames(data) else { return };
    let s = shared();
    // A small table so the refusal path runs too.
    let config = TableConfig { max_flows: 16, dns_hint_capacity: 8, ..TableConfig::default() };
    let table = FlowTable::new(config, s.locality.clone(), "fuzz0", false).with_classifier(s.classifier.clone());
    let mut worker = Worker::new(table, s.actions.clone());
    let mut matches = 0usize;
    let mut last = None;
    for (ts, data) in frames {
        let frame = Frame { link, timestamp: ts, data, wire_len: data.len() as u32, vlan: None };
        worker.on_frame(frame, packet_time(ts), |_, d| matches += d.targets.len());
        if !matches!(last, Some(l) if ts < l + std::time::Duration::from_secs(1)) {
            last = Some(ts);
            worker.table.expire(ts, |flow| {
                std::hint::black_box(flow.facts.protocol);
            });
        }
    }
    worker.table.drain(|flow| {
        std::hint::black_box(format!("{:?}", flow.facts));
    });
    std::hint::black_box(matches);
});
