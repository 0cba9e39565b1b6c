#![no_main]
//! SSC responses: READ POSITION (all forms), READ BLOCK LIMITS, REPORT DENSITY
//! SUPPORT, and READ/WRITE outcomes interpreted from sense data.
use libfuzzer_sys::fuzz_target;
use reel_drivers::scsi::sense::Sense;
use reel_drivers::tape::block_limits::{BlockLimits, parse_max_logical_object};
use reel_drivers::tape::density::parse_density_support;
use reel_drivers::tape::position::{PositionForm, parse_position};
use reel_drivers::tape::rw::signed_information;

fuzz_target!(|data: &[u8]| {
    for form in [PositionForm::Short, PositionForm::Long, PositionForm::Extended] {
        let _ = parse_position(form, data);
    }
    let _ = BlockLimits::parse(data);
    let _ = parse_max_logical_object(data);
    let _ = parse_density_support(data);
    if let Ok(s) = Sense::parse(data) {
        let _ = signed_information(&s);
    }
});
