//! nDPI's test captures, read in place from `flowsieve::corpus_dir()` (`$FLOWSIEVE_CORPUS`
//! overrides it; never copied here).

/// Every capture of the corpus, sorted; `None` (with a note) when the corpus is not there.
pub fn captures() -> Option<Vec<String>> {
    let dir = flowsieve::corpus_dir().join("pcap");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: nDPI corpus not found at {}", dir.display());
        return None;
    };
    let mut files: Vec<String> =
        entries.filter_map(|e| e.ok()).map(|e| e.path().to_string_lossy().into_owned()).collect();
    files.sort();
    Some(files)
}
