//! The packet decoder: a link-type selector byte, then one frame.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else { return };
    match flowsieve::decode::decode(flowsieve_fuzz::link_type(selector), frame) {
        Ok(packet) => {
            // A payload must lie inside the frame (an empty one may point anywhere).
            if !packet.payload.is_empty() {
                let start = packet.payload.as_ptr() as usize;
                let frame_start = frame.as_ptr() as usize;
                assert!(start >= frame_start && start + packet.payload.len() <= frame_start + frame.len());
            }
            std::hint::black_box(format!("{packet:?}"));
        }
        Err(e) => {
            std::hint::black_box((e.is_malformed(), e.to_string()));
        }
    }
});
