//! The capture-file reader: a segment-size byte, then a file's bytes (pcap, pcapng or
//! anything else), read back in segments of that size and whole.
#![no_main]

use flowsieve::capture::file::{read_file, CaptureReader};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&size, file)) = data.split_first() else { return };
    // The reader takes a path: one file per fuzzing process, in memory.
    let path = format!("/dev/shm/flowsieve-fuzz-capture-{}.pcap", std::process::id());
    std::fs::write(&path, file).expect("write the fuzz input");
    let segment = 1 + usize::from(size) * 16;
    let mut frames = Vec::new();
    if let Ok(mut reader) = CaptureReader::open(&path, segment) {
        loop {
            let mut in_segment = Vec::new();
            let more = reader.next_segment(|frame, stored| in_segment.push((frame.data.to_vec(), stored)));
            for (bytes, stored) in &in_segment {
                // Every frame recorded into a segment reads back from it unchanged.
                assert_eq!(stored.frame(reader.segment()).data, &bytes[..]);
            }
            frames.extend(in_segment.into_iter().map(|(bytes, _)| bytes));
            if !more {
                break;
            }
        }
        std::hint::black_box(reader.stats());
    }
    // Read whole, the same frames in the same order.
    let mut whole = Vec::new();
    let result = read_file(&path, |frame| whole.push(frame.data.to_vec()));
    if result.is_ok() {
        assert_eq!(frames, whole);
    }
    let _ = std::fs::remove_file(&path);
});
