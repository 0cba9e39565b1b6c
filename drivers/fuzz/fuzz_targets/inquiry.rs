#![no_main]
//! INQUIRY data and VPD pages, REPORT LUNS and REPORT SUPPORTED OPERATION CODES.
use libfuzzer_sys::fuzz_target;
use reel_drivers::scsi::inquiry::{
    StandardInquiry, parse_device_identification, parse_sequential_capabilities,
    parse_supported_vpd, parse_unit_serial,
};
use reel_drivers::scsi::luns::parse_report_luns;
use reel_drivers::scsi::rsoc::{parse_all_commands, parse_one_command};

fuzz_target!(|data: &[u8]| {
    let _ = StandardInquiry::parse(data);
    let _ = parse_supported_vpd(data);
    let _ = parse_unit_serial(data);
    let _ = parse_device_identification(data);
    let _ = parse_sequential_capabilities(data);
    let _ = parse_report_luns(data);
    let _ = parse_all_commands(data);
    let _ = parse_one_command(data);
});
