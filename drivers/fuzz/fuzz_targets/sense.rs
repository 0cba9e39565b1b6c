#![no_main]
//! Sense data arrives from devices and HBAs: decoding must never panic, and
//! whatever decodes must re-encode and describe itself.
use libfuzzer_sys::fuzz_target;
use reel_drivers::scsi::sense::Sense;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Sense::parse(data) {
        let _ = s.to_string();
        let _ = s.class();
        let again = Sense::parse(&s.encode_fixed()).expect("own encoding decodes");
        assert_eq!(again.key, s.key);
        assert_eq!((again.asc, again.ascq), (s.asc, s.ascq));
    }
});
