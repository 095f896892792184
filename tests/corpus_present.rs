//! The corpus-driven tests (`classify_corpus`, `tunnel_corpus`, the corpus checks in the unit
//! tests) print "skipped" and pass when nDPI's corpus is not where `flowsieve::corpus_dir()`
//! looks, so a developer without it can still run the suite. In CI (`CI` set, as `.ci/run` runs)
//! a missing corpus would silently turn those checks off, so there it is a failure.

#[test]
fn the_corpus_is_present_in_ci() {
    let dir = flowsieve::corpus_dir();
    let present = dir.join("truth.jsonl").is_file() && dir.join("pcap").is_dir();
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        assert!(
            present,
            "CI is set but nDPI's corpus is not at {} (set FLOWSIEVE_CORPUS): the corpus tests would all skip",
            dir.display()
        );
    } else if !present {
        eprintln!("corpus not found at {}: the corpus tests skip (CI makes this a failure)", dir.display());
    }
}
