//! The RtpDissector on a flow input (see the crate docs for the format).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    flowsieve_fuzz::run_dissector::<flowsieve::dissect::rtp::RtpDissector>(data);
});
