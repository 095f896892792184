//! The X.509 name reader the TLS dissector runs on server certificates.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut n = 0usize;
    let _ = flowsieve::dissect::x509::certificate_names(data, |name| {
        n += format!("{name:?}").len();
    });
    std::hint::black_box(n);
});
