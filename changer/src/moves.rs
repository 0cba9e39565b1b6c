//! CDB builders for the SMC commands that move media or change element
//! state (SMC-3 6.2-6.10, SPC PREVENT ALLOW MEDIUM REMOVAL).

use reel_drivers::scsi::opcodes;

/// MOVE MEDIUM (A5h): `transport` moves the medium at `src` to `dst`,
/// turned over with `invert`.
pub fn move_medium_cdb(transport: u16, src: u16, dst: u16, invert: bool) -> [u8; 12] {
    let t = transport.to_be_bytes();
    let s = src.to_be_bytes();
    let d = dst.to_be_bytes();
    [
        opcodes::MOVE_MEDIUM,
        0,
        t[0],
        t[1],
        s[0],
        s[1],
        d[0],
        d[1],
        0,
        0,
        u8::from(invert),
        0,
    ]
}

/// EXCHANGE MEDIUM (A6h): the medium at `src` goes to `dst1`, the medium
/// at `dst1` goes to `dst2` (which may equal `src` for a plain swap).
pub fn exchange_medium_cdb(
    transport: u16,
    src: u16,
    dst1: u16,
    dst2: u16,
    inv1: bool,
    inv2: bool,
) -> [u8; 12] {
    let t = transport.to_be_bytes();
    let s = src.to_be_bytes();
    let d1 = dst1.to_be_bytes();
    let d2 = dst2.to_be_bytes();
    [
        opcodes::EXCHANGE_MEDIUM,
        0,
        t[0],
        t[1],
        s[0],
        s[1],
        d1[0],
        d1[1],
        d2[0],
        d2[1],
        (u8::from(inv2) << 1) | u8::from(inv1),
        0,
    ]
}

/// POSITION TO ELEMENT (2Bh).
pub fn position_to_element_cdb(transport: u16, dst: u16, invert: bool) -> [u8; 10] {
    let t = transport.to_be_bytes();
    let d = dst.to_be_bytes();
    [
        opcodes::POSITION_TO_ELEMENT,
        0,
        t[0],
        t[1],
        d[0],
        d[1],
        0,
        0,
        u8::from(invert),
        0,
    ]
}

/// INITIALIZE ELEMENT STATUS (07h): inventory every element.
pub fn initialize_element_status_cdb() -> [u8; 6] {
    [opcodes::INITIALIZE_ELEMENT_STATUS, 0, 0, 0, 0, 0]
}

/// INITIALIZE ELEMENT STATUS WITH RANGE (37h). `range` `Some((start,
/// count))` sets RANGE; `None` asks for every element. `fast` (FAST) lets
/// the library skip elements it believes empty.
pub fn initialize_element_status_range_cdb(range: Option<(u16, u16)>, fast: bool) -> [u8; 10] {
    let (start, count) = range.unwrap_or((0, 0));
    let s = start.to_be_bytes();
    let n = count.to_be_bytes();
    [
        opcodes::INITIALIZE_ELEMENT_STATUS_WITH_RANGE,
        (u8::from(fast) << 1) | u8::from(range.is_some()),
        s[0],
        s[1],
        0,
        0,
        n[0],
        n[1],
        0,
        0,
    ]
}

/// PREVENT ALLOW MEDIUM REMOVAL (1Eh): on a library, locks the doors and
/// import/export elements against the operator.
pub fn prevent_allow_medium_removal_cdb(prevent: bool) -> [u8; 6] {
    [
        opcodes::PREVENT_ALLOW_MEDIUM_REMOVAL,
        0,
        0,
        0,
        u8::from(prevent),
        0,
    ]
}

/// ACTION CODE of OPEN/CLOSE IMPORT/EXPORT ELEMENT.
pub const ACTION_OPEN: u8 = 0x00;
pub const ACTION_CLOSE: u8 = 0x01;

/// OPEN/CLOSE IMPORT/EXPORT ELEMENT (1Bh on a medium changer).
pub fn open_close_import_export_cdb(element: u16, open: bool) -> [u8; 6] {
    let e = element.to_be_bytes();
    [
        opcodes::OPEN_CLOSE_IMPORT_EXPORT_ELEMENT,
        0,
        e[0],
        e[1],
        if open { ACTION_OPEN } else { ACTION_CLOSE },
        0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_medium() {
        assert_eq!(
            move_medium_cdb(0x0001, 0x0400, 0x0100, false),
            [
                0xa5, 0x00, 0x00, 0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00
            ]
        );
        assert_eq!(
            move_medium_cdb(0x0000, 0x1234, 0xabcd, true),
            [
                0xa5, 0x00, 0x00, 0x00, 0x12, 0x34, 0xab, 0xcd, 0x00, 0x00, 0x01, 0x00
            ]
        );
    }

    #[test]
    fn exchange_medium() {
        assert_eq!(
            exchange_medium_cdb(0x0001, 0x0400, 0x0100, 0x0401, false, true),
            [
                0xa6, 0x00, 0x00, 0x01, 0x04, 0x00, 0x01, 0x00, 0x04, 0x01, 0x02, 0x00
            ]
        );
        assert_eq!(
            exchange_medium_cdb(0x0002, 0x0003, 0x0004, 0x0003, true, false)[10],
            0x01
        );
    }

    #[test]
    fn position_to_element() {
        assert_eq!(
            position_to_element_cdb(0x0001, 0x0405, true),
            [0x2b, 0x00, 0x00, 0x01, 0x04, 0x05, 0x00, 0x00, 0x01, 0x00]
        );
    }

    #[test]
    fn initialize_element_status() {
        assert_eq!(initialize_element_status_cdb(), [0x07, 0, 0, 0, 0, 0]);
        assert_eq!(
            initialize_element_status_range_cdb(Some((0x0400, 100)), false),
            [0x37, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00]
        );
        assert_eq!(
            initialize_element_status_range_cdb(None, true),
            [0x37, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
        );
    }

    #[test]
    fn prevent_allow() {
        assert_eq!(
            prevent_allow_medium_removal_cdb(true),
            [0x1e, 0, 0, 0, 1, 0]
        );
        assert_eq!(
            prevent_allow_medium_removal_cdb(false),
            [0x1e, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn open_close_import_export() {
        assert_eq!(
            open_close_import_export_cdb(0x0300, true),
            [0x1b, 0x00, 0x03, 0x00, 0x00, 0x00]
        );
        assert_eq!(
            open_close_import_export_cdb(0x0301, false),
            [0x1b, 0x00, 0x03, 0x01, 0x01, 0x00]
        );
    }
}
