//! Configuration loading, the `check` path: any text is parsed and compiled into actions and
//! targets, or refused with problems — never a panic; every problem names where it is and prints
//! no raw terminal control character; the duplicate-detecting JSON reader reads what serde_json
//! reads. The same text is also read as an address-groups file (never a panic).
#![no_main]

use flowsieve::actions::config;
use flowsieve::criteria::AddressGroups;
use flowsieve::input;

/// A printed problem: its lines may end, nothing else may drive a terminal.
fn printable(text: &str) {
    assert!(!text.chars().any(|c| c != '\n' && input::is_unsafe(c)), "raw control character in {text:?}");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match (serde_json::from_str::<serde_json::Value>(text), input::parse_json(text)) {
        (Ok(expected), Ok((value, _))) => assert_eq!(value, expected),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("serde_json: {a:?}, parse_json: {b:?}"),
    }
    std::hint::black_box(AddressGroups::from_json(text, "groups.json").is_ok());
    match config::parse(text, std::path::Path::new("fuzz.json")) {
        Ok(loaded) => {
            std::hint::black_box(loaded.targets.len());
            for w in &loaded.warnings {
                printable(&w.to_string());
            }
        }
        Err(e) => {
            assert!(!e.problems.is_empty(), "an error without a problem");
            for p in &e.problems {
                printable(&p.to_string());
            }
        }
    }
});
