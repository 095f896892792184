//! Configuration loading, the `check` path: any text is parsed and compiled into actions and
//! targets, or refused with problems — never a panic; every problem names where it is.
#![no_main]

use flowsieve::actions::config;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match config::parse(text, std::path::Path::new("fuzz.json")) {
        Ok(loaded) => {
            std::hint::black_box(loaded.targets.len());
            for w in &loaded.warnings {
                std::hint::black_box(w.to_string());
            }
        }
        Err(e) => {
            assert!(!e.problems.is_empty(), "an error without a problem");
            for p in &e.problems {
                std::hint::black_box(p.to_string());
            }
        }
    }
});
