//! Per-command timeouts: generous defaults per command class, replaced by
//! the drive's own recommended timeouts (REPORT SUPPORTED OPERATION CODES
//! with RCTD) when it reports them (field note A10).

use std::collections::HashMap;
use std::time::Duration;

use crate::scsi::opcodes as op;

const MIN: u64 = 60;
const HOUR: u64 = 3600;

/// Broad kinds of command with similar worst-case durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandClass {
    /// INQUIRY, TEST UNIT READY, REQUEST SENSE, READ POSITION, READ BLOCK
    /// LIMITS, REPORT DENSITY SUPPORT, REPORT LUNS/RSOC.
    Quick,
    /// MODE SENSE/SELECT, PREVENT ALLOW.
    Config,
    /// LOG SENSE/SELECT, READ/WRITE ATTRIBUTE: can exceed 60 s on LTO-9.
    Metadata,
    /// READ, WRITE, WRITE FILEMARKS (which may flush the whole buffer).
    DataTransfer,
    /// LOCATE, SPACE: may cross a full cartridge.
    Positioning,
    /// REWIND.
    Rewind,
    /// LOAD/UNLOAD, FORMAT MEDIUM: an LTO-9 first load runs media
    /// optimization for up to two hours.
    LoadFormat,
    /// ERASE (long erase of a full LTO-9 cartridge takes many hours).
    Erase,
    Other,
}

impl CommandClass {
    pub fn of(opcode: u8) -> CommandClass {
        match opcode {
            op::INQUIRY
            | op::TEST_UNIT_READY
            | op::REQUEST_SENSE
            | op::READ_POSITION
            | op::READ_BLOCK_LIMITS
            | op::REPORT_DENSITY_SUPPORT
            | op::REPORT_LUNS
            | op::MAINTENANCE_IN => CommandClass::Quick,
            op::MODE_SENSE_6
            | op::MODE_SENSE_10
            | op::MODE_SELECT_6
            | op::MODE_SELECT_10
            | op::PREVENT_ALLOW_MEDIUM_REMOVAL => CommandClass::Config,
            op::LOG_SENSE | op::LOG_SELECT | op::READ_ATTRIBUTE | op::WRITE_ATTRIBUTE => {
                CommandClass::Metadata
            }
            op::READ_6
            | op::WRITE_6
            | op::WRITE_FILEMARKS_6
            | op::WRITE_FILEMARKS_16
            | op::READ_16
            | op::WRITE_16 => CommandClass::DataTransfer,
            op::LOCATE_10 | op::LOCATE_16 | op::SPACE_6 | op::SPACE_16 => CommandClass::Positioning,
            op::REWIND => CommandClass::Rewind,
            op::LOAD_UNLOAD | op::FORMAT_MEDIUM => CommandClass::LoadFormat,
            op::ERASE_6 | op::ERASE_16 => CommandClass::Erase,
            _ => CommandClass::Other,
        }
    }

    /// Default timeout of the class.
    pub fn default_timeout(self) -> Duration {
        Duration::from_secs(match self {
            CommandClass::Quick => 2 * MIN,
            CommandClass::Config => 10 * MIN,
            CommandClass::Metadata => 10 * MIN,
            CommandClass::DataTransfer => 30 * MIN,
            CommandClass::Positioning => 2 * HOUR,
            CommandClass::Rewind => HOUR,
            CommandClass::LoadFormat => 3 * HOUR,
            CommandClass::Erase => 24 * HOUR,
            CommandClass::Other => 10 * MIN,
        })
    }
}

/// Timeouts in force for one drive.
#[derive(Debug, Clone, Default)]
pub struct Timeouts {
    /// From the drive (RSOC with RCTD), keyed by opcode and service action.
    reported: HashMap<(u8, Option<u16>), Duration>,
    /// Set by the user; win over everything.
    overrides: HashMap<u8, Duration>,
}

/// Floor for drive-reported values: a drive reporting 0 or 1 s must not make
/// every command time out.
const REPORTED_FLOOR: Duration = Duration::from_secs(10);

impl Timeouts {
    pub fn new() -> Timeouts {
        Timeouts::default()
    }

    /// Timeout for a command.
    pub fn for_command(&self, opcode: u8, service_action: Option<u16>) -> Duration {
        if let Some(d) = self.overrides.get(&opcode) {
            return *d;
        }
        self.reported
            .get(&(opcode, service_action))
            .or_else(|| self.reported.get(&(opcode, None)))
            .copied()
            .unwrap_or_else(|| CommandClass::of(opcode).default_timeout())
    }

    /// Timeout for a CDB (service action read from byte 1 for the opcodes
    /// that carry one).
    pub fn for_cdb(&self, cdb: &[u8]) -> Duration {
        let Some(&opcode) = cdb.first() else {
            return CommandClass::Other.default_timeout();
        };
        let sa = match opcode {
            op::MAINTENANCE_IN | op::SERVICE_ACTION_IN_16 | op::READ_POSITION => {
                cdb.get(1).map(|b| u16::from(b & 0x1f))
            }
            _ => None,
        };
        self.for_command(opcode, sa)
    }

    /// Records the drive's recommended timeouts: `(opcode, service action,
    /// recommended seconds)`. Zero means "not specified" and is skipped.
    pub fn apply_reported(&mut self, entries: impl IntoIterator<Item = (u8, Option<u16>, u32)>) {
        for (opcode, sa, secs) in entries {
            if secs == 0 {
                continue;
            }
            let d = Duration::from_secs(u64::from(secs)).max(REPORTED_FLOOR);
            self.reported.insert((opcode, sa), d);
        }
    }

    /// Forces a timeout for an opcode (user configuration).
    pub fn set_override(&mut self, opcode: u8, timeout: Duration) {
        self.overrides.insert(opcode, timeout);
    }

    /// Number of commands with a drive-reported timeout.
    pub fn reported_count(&self) -> usize {
        self.reported.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_generous() {
        let t = Timeouts::new();
        assert!(t.for_command(op::LOAD_UNLOAD, None) >= Duration::from_secs(2 * HOUR));
        assert!(t.for_command(op::FORMAT_MEDIUM, None) >= Duration::from_secs(2 * HOUR));
        assert!(t.for_command(op::READ_ATTRIBUTE, None) > Duration::from_secs(60));
        assert!(t.for_command(op::LOG_SENSE, None) > Duration::from_secs(60));
        assert!(t.for_command(op::LOCATE_16, None) >= Duration::from_secs(HOUR));
        assert!(t.for_command(op::ERASE_6, None) >= Duration::from_secs(8 * HOUR));
        assert_eq!(
            t.for_cdb(&[op::TEST_UNIT_READY, 0, 0, 0, 0, 0]),
            CommandClass::Quick.default_timeout()
        );
        assert_eq!(t.for_cdb(&[]), CommandClass::Other.default_timeout());
    }

    #[test]
    fn reported_values_override_defaults() {
        let mut t = Timeouts::new();
        t.apply_reported([
            (op::LOCATE_16, None, 900),
            (op::READ_POSITION, Some(6), 30),
            (op::REWIND, None, 0),
            (op::INQUIRY, None, 1),
        ]);
        assert_eq!(t.reported_count(), 3);
        assert_eq!(t.for_command(op::LOCATE_16, None), Duration::from_secs(900));
        assert_eq!(
            t.for_cdb(&[op::READ_POSITION, 0x06, 0, 0, 0, 0, 0, 0, 0, 0]),
            Duration::from_secs(30)
        );
        // Service action 0 not reported: class default.
        assert_eq!(
            t.for_cdb(&[op::READ_POSITION, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]),
            CommandClass::Quick.default_timeout()
        );
        assert_eq!(
            t.for_command(op::REWIND, None),
            CommandClass::Rewind.default_timeout()
        );
        assert_eq!(t.for_command(op::INQUIRY, None), REPORTED_FLOOR);
        t.set_override(op::LOCATE_16, Duration::from_secs(5));
        assert_eq!(t.for_command(op::LOCATE_16, None), Duration::from_secs(5));
    }
}
