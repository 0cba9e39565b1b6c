#![no_main]
//! LOG SENSE pages and the tape views built on them.
use libfuzzer_sys::fuzz_target;
use reel_drivers::scsi::log::{LogPage, parse_supported_pages, parse_supported_subpages};
use reel_drivers::tape::seq_access::SequentialAccessCounters;
use reel_drivers::tape::tape_alert::TapeAlerts;
use reel_drivers::tape::volume_stats::VolumeStatistics;

fuzz_target!(|data: &[u8]| {
    let _ = parse_supported_pages(data);
    let _ = parse_supported_subpages(data);
    let _ = TapeAlerts::from_response_value(data);
    if let Ok(p) = LogPage::parse(data) {
        let _ = VolumeStatistics::from_page(&p);
        let _ = SequentialAccessCounters::from_page(&p);
        let _ = TapeAlerts::from_flag_params(p.params.iter().map(|x| (x.code, x.value.as_slice())));
        for x in &p.params {
            let _ = x.as_u64();
        }
        let _ = LogPage::parse(&p.encode());
    }
});
