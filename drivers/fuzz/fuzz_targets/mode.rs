#![no_main]
//! MODE SENSE data (6 and 10 byte headers) and the tape pages read from it.
use libfuzzer_sys::fuzz_target;
use reel_drivers::scsi::mode::ModeData;
use reel_drivers::tape::device_config::{DataCompression, DeviceConfiguration};

fuzz_target!(|data: &[u8]| {
    for parsed in [ModeData::parse6(data), ModeData::parse10(data)] {
        let Ok(m) = parsed else { continue };
        for p in &m.pages {
            let _ = DataCompression::parse(p);
            let _ = DeviceConfiguration::parse(p);
        }
        // Whatever we accept we can send back in a MODE SELECT.
        let _ = ModeData::parse10(&m.encode10());
        let _ = m.encode6();
    }
});
