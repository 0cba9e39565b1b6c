//! Operation codes shared by the drivers and the device models (SPC-5, SSC-5,
//! SMC-3). Constants only: builders live with their feature.

pub const TEST_UNIT_READY: u8 = 0x00;
pub const REWIND: u8 = 0x01;
pub const REQUEST_SENSE: u8 = 0x03;
pub const FORMAT_MEDIUM: u8 = 0x04;
pub const READ_BLOCK_LIMITS: u8 = 0x05;
pub const INITIALIZE_ELEMENT_STATUS: u8 = 0x07;
pub const READ_6: u8 = 0x08;
pub const WRITE_6: u8 = 0x0a;
pub const SET_CAPACITY: u8 = 0x0b;
pub const WRITE_FILEMARKS_6: u8 = 0x10;
pub const SPACE_6: u8 = 0x11;
pub const INQUIRY: u8 = 0x12;
pub const VERIFY_6: u8 = 0x13;
pub const MODE_SELECT_6: u8 = 0x15;
pub const RESERVE_6: u8 = 0x16;
pub const RELEASE_6: u8 = 0x17;
pub const ERASE_6: u8 = 0x19;
pub const MODE_SENSE_6: u8 = 0x1a;
pub const LOAD_UNLOAD: u8 = 0x1b;
pub const RECEIVE_DIAGNOSTIC_RESULTS: u8 = 0x1c;
pub const SEND_DIAGNOSTIC: u8 = 0x1d;
pub const PREVENT_ALLOW_MEDIUM_REMOVAL: u8 = 0x1e;
pub const READ_CAPACITY_10: u8 = 0x25;
pub const READ_10: u8 = 0x28;
pub const WRITE_10: u8 = 0x2a;
pub const LOCATE_10: u8 = 0x2b;
pub const POSITION_TO_ELEMENT: u8 = 0x2b;
pub const READ_POSITION: u8 = 0x34;
pub const INITIALIZE_ELEMENT_STATUS_WITH_RANGE: u8 = 0x37;
pub const WRITE_BUFFER: u8 = 0x3b;
pub const READ_BUFFER: u8 = 0x3c;
pub const REPORT_DENSITY_SUPPORT: u8 = 0x44;
pub const LOG_SELECT: u8 = 0x4c;
pub const LOG_SENSE: u8 = 0x4d;
pub const MODE_SELECT_10: u8 = 0x55;
pub const RESERVE_10: u8 = 0x56;
pub const RELEASE_10: u8 = 0x57;
pub const MODE_SENSE_10: u8 = 0x5a;
pub const PERSISTENT_RESERVE_IN: u8 = 0x5e;
pub const PERSISTENT_RESERVE_OUT: u8 = 0x5f;
pub const READ_16: u8 = 0x88;
pub const READ_ATTRIBUTE: u8 = 0x8c;
pub const WRITE_ATTRIBUTE: u8 = 0x8d;
pub const WRITE_16: u8 = 0x8a;
pub const WRITE_FILEMARKS_16: u8 = 0x80;
pub const VERIFY_16: u8 = 0x8f;
pub const SPACE_16: u8 = 0x91;
pub const LOCATE_16: u8 = 0x92;
pub const ERASE_16: u8 = 0x93;
pub const SERVICE_ACTION_IN_16: u8 = 0x9e;
pub const REPORT_LUNS: u8 = 0xa0;
pub const SECURITY_PROTOCOL_IN: u8 = 0xa2;
/// MAINTENANCE IN; service action 0Ch is REPORT SUPPORTED OPERATION CODES.
pub const MAINTENANCE_IN: u8 = 0xa3;
pub const SA_REPORT_SUPPORTED_OPCODES: u8 = 0x0c;
pub const MOVE_MEDIUM: u8 = 0xa5;
pub const EXCHANGE_MEDIUM: u8 = 0xa6;
pub const OPEN_CLOSE_IMPORT_EXPORT_ELEMENT: u8 = 0x1b;
pub const SECURITY_PROTOCOL_OUT: u8 = 0xb5;
pub const SEND_VOLUME_TAG: u8 = 0xb6;
pub const READ_ELEMENT_STATUS: u8 = 0xb8;

/// Human name of an opcode for a sequential-access device.
pub fn tape_opcode_name(op: u8) -> &'static str {
    match op {
        TEST_UNIT_READY => "TEST UNIT READY",
        REWIND => "REWIND",
        REQUEST_SENSE => "REQUEST SENSE",
        FORMAT_MEDIUM => "FORMAT MEDIUM",
        READ_BLOCK_LIMITS => "READ BLOCK LIMITS",
        READ_6 => "READ(6)",
        WRITE_6 => "WRITE(6)",
        WRITE_FILEMARKS_6 => "WRITE FILEMARKS(6)",
        SPACE_6 => "SPACE(6)",
        INQUIRY => "INQUIRY",
        MODE_SELECT_6 => "MODE SELECT(6)",
        ERASE_6 => "ERASE(6)",
        MODE_SENSE_6 => "MODE SENSE(6)",
        LOAD_UNLOAD => "LOAD/UNLOAD",
        PREVENT_ALLOW_MEDIUM_REMOVAL => "PREVENT/ALLOW MEDIUM REMOVAL",
        LOCATE_10 => "LOCATE(10)",
        READ_POSITION => "READ POSITION",
        REPORT_DENSITY_SUPPORT => "REPORT DENSITY SUPPORT",
        LOG_SELECT => "LOG SELECT",
        LOG_SENSE => "LOG SENSE",
        MODE_SELECT_10 => "MODE SELECT(10)",
        MODE_SENSE_10 => "MODE SENSE(10)",
        READ_ATTRIBUTE => "READ ATTRIBUTE",
        WRITE_ATTRIBUTE => "WRITE ATTRIBUTE",
        WRITE_FILEMARKS_16 => "WRITE FILEMARKS(16)",
        SPACE_16 => "SPACE(16)",
        LOCATE_16 => "LOCATE(16)",
        REPORT_LUNS => "REPORT LUNS",
        MAINTENANCE_IN => "MAINTENANCE IN",
        _ => "unknown command",
    }
}

/// Peripheral device types (INQUIRY byte 0, bits 0-4).
pub const TYPE_DISK: u8 = 0x00;
pub const TYPE_TAPE: u8 = 0x01;
pub const TYPE_MEDIUM_CHANGER: u8 = 0x08;
