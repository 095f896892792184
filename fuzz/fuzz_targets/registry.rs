//! Every dissector through the registry's probing and hand-over, on a flow input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    flowsieve_fuzz::run_registry(data);
});
