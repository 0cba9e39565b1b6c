#![no_main]
//! READ ATTRIBUTE responses (MAM) as a drive returns them.
use libfuzzer_sys::fuzz_target;
use reel_drivers::scsi::attributes::{
    encode_attribute_values, parse_attribute_list, parse_attribute_values, parse_partition_list,
};
use reel_drivers::tape::mam::MamInfo;

fuzz_target!(|data: &[u8]| {
    let _ = parse_attribute_list(data);
    let _ = parse_partition_list(data);
    if let Ok(attrs) = parse_attribute_values(data) {
        for a in &attrs {
            let _ = a.as_u64();
            let _ = a.as_text();
        }
        let _ = MamInfo::from_attributes(&attrs);
        let _ = parse_attribute_values(&encode_attribute_values(&attrs));
    }
});
