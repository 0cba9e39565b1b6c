//! Medium handling commands (SSC-5 / SPC-5): TEST UNIT READY, LOAD/UNLOAD,
//! ERASE(6), PREVENT ALLOW MEDIUM REMOVAL, REQUEST SENSE.

use crate::scsi::opcodes;
use crate::scsi::sense::{Sense, SenseKey};

/// TEST UNIT READY (SPC-5 6.47).
pub fn test_unit_ready_cdb() -> [u8; 6] {
    [opcodes::TEST_UNIT_READY, 0, 0, 0, 0, 0]
}

/// LOAD UNLOAD (SSC-5 7.2). `load` false unloads (ejects on most drives);
/// `hold` keeps the cartridge in the drive (load to the ready position
/// without threading, or unload without ejecting).
pub fn load_unload_cdb(load: bool, immediate: bool, hold: bool) -> [u8; 6] {
    [
        opcodes::LOAD_UNLOAD,
        u8::from(immediate),
        0,
        0,
        u8::from(hold) << 3 | u8::from(load),
        0,
    ]
}

/// ERASE(6) (SSC-5 7.1). `long` erases from the position to the end of the
/// partition; a short erase writes an EOD here.
pub fn erase6_cdb(long: bool, immediate: bool) -> [u8; 6] {
    [
        opcodes::ERASE_6,
        u8::from(immediate) << 1 | u8::from(long),
        0,
        0,
        0,
        0,
    ]
}

/// PREVENT ALLOW MEDIUM REMOVAL (SPC-5 6.13): PREVENT = 01b or 00b.
pub fn prevent_allow_cdb(prevent: bool) -> [u8; 6] {
    [
        opcodes::PREVENT_ALLOW_MEDIUM_REMOVAL,
        0,
        0,
        0,
        u8::from(prevent),
        0,
    ]
}

/// REQUEST SENSE (SPC-5 6.39), fixed format.
pub fn request_sense_cdb(alloc: u8) -> [u8; 6] {
    [opcodes::REQUEST_SENSE, 0, 0, 0, alloc, 0]
}

/// REQUEST SENSE data that says an IMMED operation is still running:
/// NOT READY 04/07 (operation in progress), or NO SENSE / NOT READY with
/// 00/16 (operation in progress), 00/18 (erase), 00/19 (locate) or 00/1A
/// (rewind) in progress (SPC-5 annex F).
pub fn is_operation_in_progress(s: &Sense) -> bool {
    matches!(s.key, SenseKey::NoSense | SenseKey::NotReady)
        && matches!(
            (s.asc, s.ascq),
            (0x04, 0x07) | (0x00, 0x16) | (0x00, 0x18..=0x1a)
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_in_progress_codes() {
        // Fixed sense: NOT READY 04/07 with progress 0x8000 (50 %).
        let nr = Sense::parse(&[
            0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x07, 0, 0x80, 0x80, 0x00,
        ])
        .unwrap();
        assert!(is_operation_in_progress(&nr));
        // NO SENSE 00/1A rewind operation in progress.
        let rw = Sense::parse(&[
            0x70, 0, 0x00, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x00, 0x1a, 0, 0, 0, 0,
        ])
        .unwrap();
        assert!(is_operation_in_progress(&rw));
        // NO SENSE 00/00: nothing running; NOT READY 3A/00: no medium.
        let idle =
            Sense::parse(&[0x70, 0, 0x00, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert!(!is_operation_in_progress(&idle));
        let nm = Sense::parse(&[
            0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x3a, 0, 0, 0, 0, 0,
        ])
        .unwrap();
        assert!(!is_operation_in_progress(&nm));
    }

    #[test]
    fn cdb_bytes() {
        assert_eq!(test_unit_ready_cdb(), [0, 0, 0, 0, 0, 0]);
        assert_eq!(
            load_unload_cdb(true, false, false),
            [0x1b, 0, 0, 0, 0x01, 0]
        );
        assert_eq!(
            load_unload_cdb(false, true, false),
            [0x1b, 0x01, 0, 0, 0x00, 0]
        );
        assert_eq!(
            load_unload_cdb(false, false, true),
            [0x1b, 0, 0, 0, 0x08, 0]
        );
        assert_eq!(erase6_cdb(false, false), [0x19, 0x00, 0, 0, 0, 0]);
        assert_eq!(erase6_cdb(true, false), [0x19, 0x01, 0, 0, 0, 0]);
        assert_eq!(erase6_cdb(true, true), [0x19, 0x03, 0, 0, 0, 0]);
        assert_eq!(prevent_allow_cdb(true), [0x1e, 0, 0, 0, 0x01, 0]);
        assert_eq!(prevent_allow_cdb(false), [0x1e, 0, 0, 0, 0x00, 0]);
        assert_eq!(request_sense_cdb(252), [0x03, 0, 0, 0, 0xfc, 0]);
    }
}
