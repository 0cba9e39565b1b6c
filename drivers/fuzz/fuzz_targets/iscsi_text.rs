#![no_main]
//! Login and text key parsing and negotiation take bytes from the network:
//! never panic, and parsed pairs re-encode to the same pairs.
use libfuzzer_sys::fuzz_target;
use reel_drivers::iscsi::keys::{SessionParams, encode_text, negotiate, parse_text};

fuzz_target!(|data: &[u8]| {
    if let Ok(pairs) = parse_text(data) {
        assert_eq!(parse_text(&encode_text(&pairs)).expect("re-parse"), pairs);
        let mut params = SessionParams::default();
        for (k, v) in &pairs {
            let ours = params.value_of(k).unwrap_or_default();
            let _ = negotiate(k, v, &ours);
            let _ = params.apply(k, v);
            let _ = reel_drivers::iscsi::chap::decode_binary(v);
        }
    }
});
