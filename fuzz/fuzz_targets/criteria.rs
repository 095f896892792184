//! The criteria compiler, then evaluation and explanation on a few flows.
#![no_main]

use flowsieve::criteria::Criteria;
use flowsieve::facts::FlowFacts;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Criteria::compile(text) {
        Ok(criteria) => {
            let mut facts = FlowFacts::default();
            let _ = criteria.matches(&facts);
            facts.ip_protocol = 6;
            facts.other_port = 443;
            facts.set_detected_hostname("www.example.com");
            let _ = criteria.matches(&facts);
            std::hint::black_box(format!("{:?}", criteria.explain(&facts)));
            std::hint::black_box((criteria.attributes().len(), criteria.warnings().len()));
        }
        Err(e) => {
            std::hint::black_box(e.render(text));
        }
    }
});
