#![no_main]
//! MODE SENSE data (6 and 10 byte headers) and the SMC pages 1Dh, 1Eh and
//! 1Fh decoded from it; the raw bytes as page data too.
use libfuzzer_sys::fuzz_target;
use reel_changer::mode_pages::{self, DeviceCapabilities, ElementAssignment};
use reel_drivers::scsi::mode::ModeData;

fn pages(data: &[u8]) {
    if let Ok(a) = ElementAssignment::parse(data) {
        assert_eq!(ElementAssignment::parse(&a.encode()), Ok(a));
        for addr in [0u16, 1, 0x100, 0xffff] {
            let _ = a.kind_of(addr);
        }
    }
    let _ = mode_pages::parse_transport_geometry(data);
    if let Ok(c) = DeviceCapabilities::parse(data) {
        assert_eq!(DeviceCapabilities::parse(&c.encode()), Ok(c));
    }
}

fuzz_target!(|data: &[u8]| {
    pages(data);
    for parsed in [ModeData::parse6(data), ModeData::parse10(data)] {
        let Ok(m) = parsed else { continue };
        for p in &m.pages {
            pages(&p.data);
        }
    }
});
