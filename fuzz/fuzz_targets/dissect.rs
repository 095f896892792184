//! One dissector, picked by the input's first byte, on the flow input that follows (see the
//! crate docs for the format).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    flowsieve_fuzz::run_selected(data);
});
