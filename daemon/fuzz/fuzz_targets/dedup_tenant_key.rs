#![no_main]
//! Exported tenant key files (`reelctl dedup tenant import`): parsing never
//! panics, and what parses re-encodes to the canonical form that parses to
//! the same key.
use libfuzzer_sys::fuzz_target;
use reeld::dedup::keys::{decode_export, encode_export};

fuzz_target!(|data: &[u8]| {
    if let Ok((tenant, key)) = decode_export(data) {
        let text = encode_export(&tenant, &key);
        assert_eq!(decode_export(text.as_bytes()).ok(), Some((tenant, key)));
    }
});
