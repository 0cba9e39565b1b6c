#![no_main]
//! Backup set files: decode, and a decoded set re-encodes to the same bytes.
use libfuzzer_sys::fuzz_target;
use reeld::dedup::format::{decode_set, encode_set};

fuzz_target!(|data: &[u8]| {
    if let Ok(ix) = decode_set(data) {
        assert_eq!(encode_set(&ix), data);
    }
});
