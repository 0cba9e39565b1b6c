//! TapeAlert (SSC-5 annex; TapeAlert specification v3): the 64 flags, their
//! names and severities, and decoding of the two log pages that carry them.
//!
//! Page 12h (TapeAlert response) carries all 64 flags in one 8-byte
//! parameter and reading it does NOT clear them, so reel reads it by
//! default. Page 2Eh (one parameter per flag) clears the flags on read on
//! most drives; it is read only when the caller asks.

use crate::scsi::bytes;
use crate::scsi::error::DecodeError;

/// TapeAlert response log page.
pub const PAGE_RESPONSE: u8 = 0x12;
/// TapeAlert log page (read clears on most drives).
pub const PAGE_TAPE_ALERT: u8 = 0x2e;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Severity {
    Information,
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Information => "information",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

use Severity::{Critical as C, Information as I, Warning as W};

/// Flags 01h..40h: name and severity. Index = flag number - 1.
static FLAGS: [(&str, Severity); 64] = [
    ("Read warning", W),                               // 01
    ("Write warning", W),                              // 02
    ("Hard error", W),                                 // 03
    ("Media", C),                                      // 04
    ("Read failure", C),                               // 05
    ("Write failure", C),                              // 06
    ("Media life", W),                                 // 07
    ("Not data grade", W),                             // 08
    ("Write protect", C),                              // 09
    ("No removal", I),                                 // 0A
    ("Cleaning media", I),                             // 0B
    ("Unsupported format", I),                         // 0C
    ("Recoverable mechanical cartridge failure", C),   // 0D
    ("Unrecoverable mechanical cartridge failure", C), // 0E
    ("Memory chip in cartridge failure", W),           // 0F
    ("Forced eject", C),                               // 10
    ("Read only format", W),                           // 11
    ("Tape directory corrupted on load", W),           // 12
    ("Nearing media life", I),                         // 13
    ("Cleaning required", C),                          // 14
    ("Cleaning requested", W),                         // 15
    ("Expired cleaning media", C),                     // 16
    ("Invalid cleaning tape", C),                      // 17
    ("Retension requested", W),                        // 18
    ("Dual-port interface error", W),                  // 19
    ("Cooling fan failure", W),                        // 1A
    ("Power supply failure", W),                       // 1B
    ("Power consumption", W),                          // 1C
    ("Drive maintenance", W),                          // 1D
    ("Hardware A", C),                                 // 1E
    ("Hardware B", C),                                 // 1F
    ("Interface", W),                                  // 20
    ("Eject media", C),                                // 21
    ("Microcode update fail", W),                      // 22
    ("Drive humidity", W),                             // 23
    ("Drive temperature", W),                          // 24
    ("Drive voltage", W),                              // 25
    ("Predictive failure", C),                         // 26
    ("Diagnostics required", W),                       // 27
    ("Loader hardware A (obsolete)", C),               // 28
    ("Loader stray tape (obsolete)", C),               // 29
    ("Loader hardware B (obsolete)", W),               // 2A
    ("Loader door (obsolete)", C),                     // 2B
    ("Loader hardware C (obsolete)", C),               // 2C
    ("Loader magazine (obsolete)", C),                 // 2D
    ("Loader predictive failure (obsolete)", W),       // 2E
    (
        "External data encryption control - communications failure",
        W,
    ), // 2F
    (
        "External data encryption control - key manager returned an error",
        W,
    ), // 30
    ("Diminished native capacity", W),                 // 31
    ("Lost statistics", W),                            // 32
    ("Tape directory invalid at unload", W),           // 33
    ("Tape system area write failure", C),             // 34
    ("Tape system area read failure", C),              // 35
    ("No start of data", C),                           // 36
    ("Loading or threading failure", C),               // 37
    ("Unrecoverable unload failure", C),               // 38
    ("Automation interface failure", C),               // 39
    ("Microcode failure", W),                          // 3A
    ("WORM medium - integrity check failed", W),       // 3B
    ("WORM medium - overwrite attempted", W),          // 3C
    ("Encryption policy violation", W),                // 3D
    ("Reserved (3Eh)", I),                             // 3E
    ("Reserved (3Fh)", I),                             // 3F
    ("Reserved (40h)", I),                             // 40
];

/// Flag numbers with a meaning callers commonly act on.
pub const CLEANING_REQUIRED: u8 = 0x14;
pub const CLEANING_REQUESTED: u8 = 0x15;
pub const CLEANING_MEDIA: u8 = 0x0b;
pub const WRITE_PROTECT: u8 = 0x09;

/// One set flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TapeAlertFlag {
    /// 1..=64.
    pub number: u8,
    pub name: &'static str,
    pub severity: Severity,
}

impl TapeAlertFlag {
    /// Describes flag `number` (1..=64); `None` outside that range.
    pub fn describe(number: u8) -> Option<TapeAlertFlag> {
        let (name, severity) = *FLAGS.get(usize::from(number).checked_sub(1)?)?;
        Some(TapeAlertFlag {
            number,
            name,
            severity,
        })
    }
}

/// The 64 flags as a set: bit (n - 1) is flag n.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TapeAlerts(pub u64);

impl TapeAlerts {
    pub fn is_set(&self, flag: u8) -> bool {
        (1..=64).contains(&flag) && self.0 & (1u64 << (flag - 1)) != 0
    }

    pub fn set(&mut self, flag: u8) {
        if (1..=64).contains(&flag) {
            self.0 |= 1u64 << (flag - 1);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Set flags in number order.
    pub fn active(&self) -> Vec<TapeAlertFlag> {
        (1..=64u8)
            .filter(|&n| self.is_set(n))
            .filter_map(TapeAlertFlag::describe)
            .collect()
    }

    /// Highest severity among the set flags.
    pub fn worst(&self) -> Option<Severity> {
        self.active().iter().map(|f| f.severity).max()
    }

    /// The drive asks for a cleaning cartridge.
    pub fn cleaning_needed(&self) -> bool {
        self.is_set(CLEANING_REQUIRED) || self.is_set(CLEANING_REQUESTED)
    }

    /// Decodes the value of parameter 0000h of page 12h: 8 bytes, flag 01h
    /// in bit 7 of the first byte, flag 40h in bit 0 of the last.
    pub fn from_response_value(v: &[u8]) -> Result<TapeAlerts, DecodeError> {
        let v = bytes::need("TapeAlert response parameter", v, 8)?;
        // Big-endian u64 puts flag 01h at bit 63; reverse so flag n is bit n-1.
        Ok(TapeAlerts(bytes::be_uint(v).reverse_bits()))
    }

    /// Decodes the parameters of page 2Eh: parameter code n (1..=64) with a
    /// one-byte value whose bit 0 is the flag. Other codes are ignored.
    pub fn from_flag_params<'a>(params: impl IntoIterator<Item = (u16, &'a [u8])>) -> TapeAlerts {
        let mut t = TapeAlerts::default();
        for (code, value) in params {
            if let (Ok(n @ 1..=64), Some(b)) = (u8::try_from(code), value.first())
                && b & 1 != 0
            {
                t.set(n);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_severities() {
        let f = TapeAlertFlag::describe(0x14).unwrap();
        assert_eq!(
            (f.name, f.severity),
            ("Cleaning required", Severity::Critical)
        );
        assert_eq!(TapeAlertFlag::describe(1).unwrap().name, "Read warning");
        assert_eq!(
            TapeAlertFlag::describe(0x3c).unwrap().name,
            "WORM medium - overwrite attempted"
        );
        // Flags defined after SSC-3's first table (IBM/HPE LTO references).
        assert_eq!(
            TapeAlertFlag::describe(0x31).unwrap().name,
            "Diminished native capacity"
        );
        assert!(
            TapeAlertFlag::describe(0x2f)
                .unwrap()
                .name
                .starts_with("External data encryption")
        );
        assert_eq!(
            TapeAlertFlag::describe(0x3d).unwrap().name,
            "Encryption policy violation"
        );
        assert_eq!(TapeAlertFlag::describe(64).unwrap().number, 64);
        assert!(TapeAlertFlag::describe(0).is_none());
        assert!(TapeAlertFlag::describe(65).is_none());
    }

    #[test]
    fn response_page_bit_order() {
        // Flag 01h (byte 0 bit 7), flag 14h (= 20: byte 2 bit 4), flag 40h
        // (byte 7 bit 0).
        let v = [0x80, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x01];
        let t = TapeAlerts::from_response_value(&v).unwrap();
        assert!(t.is_set(1) && t.is_set(0x14) && t.is_set(0x40));
        assert_eq!(t.active().len(), 3);
        assert!(t.cleaning_needed());
        assert_eq!(t.worst(), Some(Severity::Critical));
        assert!(TapeAlerts::from_response_value(&v[..7]).is_err());
    }

    #[test]
    fn flag_page_params() {
        let on = [0x01u8];
        let off = [0x00u8];
        let t = TapeAlerts::from_flag_params([
            (0x0001, &on[..]),
            (0x0002, &off[..]),
            (0x0015, &on[..]),
            (0x0041, &on[..]), // out of range: ignored
            (0x0003, &[][..]), // empty value: ignored
        ]);
        assert_eq!(
            t.active().iter().map(|f| f.number).collect::<Vec<_>>(),
            vec![1, 0x15]
        );
        assert!(t.cleaning_needed());
        assert!(TapeAlerts::default().worst().is_none());
    }
}
