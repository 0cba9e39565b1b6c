#![no_main]
//! READ ELEMENT STATUS data, with and without DVCID, and the accessors
//! callers use on every descriptor.
use libfuzzer_sys::fuzz_target;
use reel_changer::element_status::parse_element_status;

fuzz_target!(|data: &[u8]| {
    for dvcid in [false, true] {
        let Ok(d) = parse_element_status(data, dvcid) else { continue };
        assert!(d.count() <= data.len());
        for e in d.elements() {
            let _ = e.barcode();
            if let Some(t) = &e.primary_tag {
                let _ = t.mtx_text();
            }
            if let Some(id) = &e.identifier {
                let _ = id.value_string();
            }
        }
    }
});
