#![no_main]
//! Optimized-duplication frames as a peer sends them: decoding never
//! panics, and what decodes re-encodes to the same bytes.
use libfuzzer_sys::fuzz_target;
use reeld::dedup_copy::proto::{decode_frame, encode};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((msg, used))) = decode_frame(rest) {
        let mut again = Vec::new();
        encode(&msg, &mut again).expect("a decoded message encodes");
        assert_eq!(&again[..], &rest[..used], "round trip of {}", msg.kind());
        rest = &rest[used..];
    }
});
