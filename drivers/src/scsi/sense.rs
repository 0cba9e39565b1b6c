//! Sense data: decoding of fixed (70h/71h) and descriptor (72h/73h) formats,
//! and encoding of the fixed format (used by device models such as the VTL).
//!
//! SPC-5 4.4. Decoding never panics: short or malformed input yields
//! [`SenseParseError`].

use std::fmt;

use super::asc;
use super::error::ErrorClass;

/// Sense key (SPC-5 table 54).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum SenseKey {
    NoSense,
    RecoveredError,
    NotReady,
    MediumError,
    HardwareError,
    IllegalRequest,
    UnitAttention,
    DataProtect,
    BlankCheck,
    VendorSpecific,
    CopyAborted,
    AbortedCommand,
    Reserved0C,
    VolumeOverflow,
    Miscompare,
    Completed,
}

impl SenseKey {
    pub fn from_u8(v: u8) -> SenseKey {
        use SenseKey::*;
        [
            NoSense,
            RecoveredError,
            NotReady,
            MediumError,
            HardwareError,
            IllegalRequest,
            UnitAttention,
            DataProtect,
            BlankCheck,
            VendorSpecific,
            CopyAborted,
            AbortedCommand,
            Reserved0C,
            VolumeOverflow,
            Miscompare,
            Completed,
        ][(v & 0x0f) as usize]
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        use SenseKey::*;
        match self {
            NoSense => "NO SENSE",
            RecoveredError => "RECOVERED ERROR",
            NotReady => "NOT READY",
            MediumError => "MEDIUM ERROR",
            HardwareError => "HARDWARE ERROR",
            IllegalRequest => "ILLEGAL REQUEST",
            UnitAttention => "UNIT ATTENTION",
            DataProtect => "DATA PROTECT",
            BlankCheck => "BLANK CHECK",
            VendorSpecific => "VENDOR SPECIFIC",
            CopyAborted => "COPY ABORTED",
            AbortedCommand => "ABORTED COMMAND",
            Reserved0C => "RESERVED (0Ch)",
            VolumeOverflow => "VOLUME OVERFLOW",
            Miscompare => "MISCOMPARE",
            Completed => "COMPLETED",
        }
    }
}

impl fmt::Display for SenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Sense-key-specific information (SPC-5 4.4.2.4), decoded by sense key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SenseKeySpecific {
    /// ILLEGAL REQUEST: which byte (and bit) of the CDB (`in_cdb`) or of the
    /// parameter data was wrong.
    FieldPointer {
        in_cdb: bool,
        bit: Option<u8>,
        byte: u16,
    },
    /// NOT READY / NO SENSE: progress of a long operation, 0..=65535 of 65536.
    Progress(u16),
    /// RECOVERED/MEDIUM/HARDWARE ERROR: retries the device made.
    RetryCount(u16),
    /// COPY ABORTED: segment pointer.
    Segment { byte: u16 },
    /// UNIT ATTENTION: the UA queue overflowed.
    UnitAttentionOverflow,
    /// Other keys: the three raw bytes (SKSV bit cleared).
    Raw([u8; 3]),
}

impl SenseKeySpecific {
    /// Decodes the 3 bytes following SKSV for sense key `key`. Returns `None`
    /// when the SKSV bit is clear.
    pub fn decode(key: SenseKey, b: [u8; 3]) -> Option<SenseKeySpecific> {
        if b[0] & 0x80 == 0 {
            return None;
        }
        let v = u16::from_be_bytes([b[1], b[2]]);
        Some(match key {
            SenseKey::IllegalRequest => SenseKeySpecific::FieldPointer {
                in_cdb: b[0] & 0x40 != 0,
                bit: (b[0] & 0x08 != 0).then_some(b[0] & 0x07),
                byte: v,
            },
            SenseKey::NotReady | SenseKey::NoSense => SenseKeySpecific::Progress(v),
            SenseKey::RecoveredError | SenseKey::MediumError | SenseKey::HardwareError => {
                SenseKeySpecific::RetryCount(v)
            }
            SenseKey::CopyAborted => SenseKeySpecific::Segment { byte: v },
            SenseKey::UnitAttention => SenseKeySpecific::UnitAttentionOverflow,
            _ => SenseKeySpecific::Raw([b[0] & 0x7f, b[1], b[2]]),
        })
    }

    /// The three bytes with SKSV set, for encoding.
    pub fn encode(&self) -> [u8; 3] {
        match *self {
            SenseKeySpecific::FieldPointer { in_cdb, bit, byte } => {
                let mut b0 = 0x80;
                if in_cdb {
                    b0 |= 0x40;
                }
                if let Some(bit) = bit {
                    b0 |= 0x08 | (bit & 0x07);
                }
                let v = byte.to_be_bytes();
                [b0, v[0], v[1]]
            }
            SenseKeySpecific::Progress(v)
            | SenseKeySpecific::RetryCount(v)
            | SenseKeySpecific::Segment { byte: v } => {
                let v = v.to_be_bytes();
                [0x80, v[0], v[1]]
            }
            SenseKeySpecific::UnitAttentionOverflow => [0x81, 0, 0],
            SenseKeySpecific::Raw(b) => [0x80 | b[0], b[1], b[2]],
        }
    }
}

/// Decoded sense data, format-independent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sense {
    /// 0x70..=0x73.
    pub response_code: u8,
    /// 0x71/0x73: the error belongs to an earlier command (e.g. a buffered
    /// write that failed after GOOD status was returned).
    pub deferred: bool,
    /// Fixed format only: descriptor format carries the bits in descriptors.
    pub descriptor_format: bool,
    pub key: SenseKey,
    pub asc: u8,
    pub ascq: u8,
    pub filemark: bool,
    pub eom: bool,
    pub ili: bool,
    /// INFORMATION field when valid: for READ/WRITE/SPACE the residue
    /// (requested minus actual, in bytes or blocks).
    pub information: Option<u64>,
    pub command_specific: Option<u64>,
    pub key_specific: Option<SenseKeySpecific>,
    pub fru: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SenseParseError {
    #[error("no sense data")]
    Empty,
    #[error("sense data too short: {0} bytes")]
    TooShort(usize),
    #[error("unknown sense response code 0x{0:02x}")]
    UnknownResponseCode(u8),
}

impl Sense {
    /// A current-error sense with just key and ASC/ASCQ (for device models).
    pub fn new(key: SenseKey, asc: u8, ascq: u8) -> Sense {
        Sense {
            response_code: 0x70,
            deferred: false,
            descriptor_format: false,
            key,
            asc,
            ascq,
            filemark: false,
            eom: false,
            ili: false,
            information: None,
            command_specific: None,
            key_specific: None,
            fru: 0,
        }
    }

    /// Decodes fixed or descriptor sense data.
    pub fn parse(bytes: &[u8]) -> Result<Sense, SenseParseError> {
        let first = *bytes.first().ok_or(SenseParseError::Empty)?;
        let code = first & 0x7f;
        match code {
            0x70 | 0x71 => Self::parse_fixed(bytes, code),
            0x72 | 0x73 => Self::parse_descriptor(bytes, code),
            _ => Err(SenseParseError::UnknownResponseCode(code)),
        }
    }

    fn parse_fixed(b: &[u8], code: u8) -> Result<Sense, SenseParseError> {
        // Byte 2 holds the key and stream bits; anything shorter is useless.
        if b.len() < 3 {
            return Err(SenseParseError::TooShort(b.len()));
        }
        // Honour the additional sense length, but never read past the buffer
        // (devices and HBAs truncate sense data).
        let declared = b.get(7).map_or(b.len(), |&n| 8 + n as usize);
        let b = &b[..declared.min(b.len())];
        let key = SenseKey::from_u8(b[2]);
        let at = |i: usize| b.get(i).copied().unwrap_or(0);
        let be32 = |i: usize| -> Option<u32> {
            b.get(i..i + 4)
                .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        };
        let information = if b[0] & 0x80 != 0 {
            be32(3).map(u64::from)
        } else {
            None
        };
        let command_specific = be32(8).filter(|&v| v != 0).map(u64::from);
        let key_specific = b
            .get(15..18)
            .and_then(|s| SenseKeySpecific::decode(key, [s[0], s[1], s[2]]));
        Ok(Sense {
            response_code: code,
            deferred: code == 0x71,
            descriptor_format: false,
            key,
            asc: at(12),
            ascq: at(13),
            filemark: b[2] & 0x80 != 0,
            eom: b[2] & 0x40 != 0,
            ili: b[2] & 0x20 != 0,
            information,
            command_specific,
            key_specific,
            fru: at(14),
        })
    }

    fn parse_descriptor(b: &[u8], code: u8) -> Result<Sense, SenseParseError> {
        if b.len() < 4 {
            return Err(SenseParseError::TooShort(b.len()));
        }
        let key = SenseKey::from_u8(b[1]);
        let mut s = Sense::new(key, b[2], b[3]);
        s.response_code = code;
        s.deferred = code == 0x73;
        s.descriptor_format = true;
        let declared = b.get(7).map_or(b.len(), |&n| 8 + n as usize);
        let mut rest = b.get(8..declared.min(b.len())).unwrap_or(&[]);
        // Progress from an "another progress indication" descriptor (0Ah).
        let mut another_progress = None;
        // Each descriptor: type, additional length, then that many bytes.
        while rest.len() >= 2 {
            let (ty, len) = (rest[0], rest[1] as usize);
            let Some(body) = rest.get(2..2 + len) else {
                break;
            };
            match ty {
                0x00 | 0x01 if len >= 10 => {
                    let v = u64::from_be_bytes(body[2..10].try_into().unwrap_or([0; 8]));
                    if ty == 0x00 {
                        if body[0] & 0x80 != 0 {
                            s.information = Some(v);
                        }
                    } else {
                        s.command_specific = Some(v);
                    }
                }
                // Sense key specific: two reserved bytes, then SKSV and the
                // three bytes of the fixed format's bytes 15-17.
                0x02 if len >= 6 => {
                    s.key_specific = SenseKeySpecific::decode(key, [body[2], body[3], body[4]]);
                }
                0x03 if len >= 2 => s.fru = body[1],
                0x04 if len >= 2 => {
                    s.filemark = body[1] & 0x80 != 0;
                    s.eom = body[1] & 0x40 != 0;
                    s.ili = body[1] & 0x20 != 0;
                }
                0x05 if len >= 2 => s.ili = body[1] & 0x20 != 0,
                // Another progress indication (SPC-4): sense key, ASC and
                // ASCQ of the operation in progress, a reserved byte, then
                // the 16-bit progress.
                0x0a if len >= 6 => {
                    another_progress = Some(u16::from_be_bytes([body[4], body[5]]));
                }
                _ => {}
            }
            rest = &rest[2 + len..];
        }
        // As sg3_utils does, the sense-key-specific descriptor wins; the 0Ah
        // descriptor reports the progress when it is absent (the key and
        // ASC/ASCQ of the other operation are not kept).
        if s.key_specific.is_none() {
            s.key_specific = another_progress.map(SenseKeySpecific::Progress);
        }
        Ok(s)
    }

    /// Encodes as fixed-format sense data (18 bytes), as a device returns it.
    pub fn encode_fixed(&self) -> Vec<u8> {
        let mut b = vec![0u8; 18];
        b[0] = if self.deferred { 0x71 } else { 0x70 };
        if let Some(info) = self.information {
            b[0] |= 0x80;
            // The fixed format holds 32 bits; larger values saturate.
            b[3..7].copy_from_slice(&u32::try_from(info).unwrap_or(u32::MAX).to_be_bytes());
        }
        b[2] = self.key.code()
            | if self.filemark { 0x80 } else { 0 }
            | if self.eom { 0x40 } else { 0 }
            | if self.ili { 0x20 } else { 0 };
        b[7] = 10;
        if let Some(cs) = self.command_specific {
            b[8..12].copy_from_slice(&u32::try_from(cs).unwrap_or(u32::MAX).to_be_bytes());
        }
        b[12] = self.asc;
        b[13] = self.ascq;
        b[14] = self.fru;
        if let Some(ks) = &self.key_specific {
            b[15..18].copy_from_slice(&ks.encode());
        }
        b
    }

    /// True for this ASC/ASCQ pair.
    pub fn is_asc(&self, asc: u8, ascq: u8) -> bool {
        self.asc == asc && self.ascq == ascq
    }

    /// UNIT ATTENTION for a medium change (28h) or a reset (29h): whatever
    /// the initiator knew about the position no longer holds.
    pub fn is_medium_change_or_reset(&self) -> bool {
        self.key == SenseKey::UnitAttention && matches!(self.asc, 0x28 | 0x29)
    }

    /// Text of the additional sense code (e.g. "Medium not present").
    pub fn asc_text(&self) -> String {
        asc::describe(self.asc, self.ascq)
    }

    /// The error class this sense maps to (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        ErrorClass::from_sense(self)
    }
}

impl fmt::Display for Sense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key)?;
        if self.deferred {
            f.write_str(" (deferred)")?;
        }
        write!(
            f,
            ", {} ({:02X}/{:02X})",
            self.asc_text(),
            self.asc,
            self.ascq
        )?;
        for (on, name) in [
            (self.filemark, "FILEMARK"),
            (self.eom, "EOM"),
            (self.ili, "ILI"),
        ] {
            if on {
                write!(f, " {name}")?;
            }
        }
        if let Some(info) = self.information {
            write!(f, ", information {info}")?;
        }
        match self.key_specific {
            Some(SenseKeySpecific::FieldPointer { in_cdb, bit, byte }) => {
                let what = if in_cdb { "CDB" } else { "parameter data" };
                write!(f, ", invalid field in {what} byte {byte}")?;
                if let Some(bit) = bit {
                    write!(f, " bit {bit}")?;
                }
            }
            Some(SenseKeySpecific::Progress(p)) => {
                write!(f, ", progress {:.1}%", f64::from(p) * 100.0 / 65536.0)?
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Fixed format, 18 bytes, with the given byte 0/2, INFORMATION,
    /// ASC/ASCQ and sense-key-specific bytes.
    fn fixed(b0: u8, b2: u8, info: [u8; 4], asc: u8, ascq: u8, sks: [u8; 3]) -> Vec<u8> {
        let mut b = vec![b0, 0, b2];
        b.extend_from_slice(&info);
        b.push(0x0a);
        b.extend_from_slice(&[0, 0, 0, 0, asc, ascq, 0]);
        b.extend_from_slice(&sks);
        b
    }

    #[test]
    fn fixed_filemark_with_residue() {
        // READ(6) of 1 block hit a filemark: NO SENSE, FILEMARK, VALID,
        // INFORMATION = 1 (blocks not read), 00/01.
        let b = fixed(0xf0, 0x80, [0, 0, 0, 1], 0x00, 0x01, [0; 3]);
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.response_code, 0x70);
        assert!(!s.deferred && !s.descriptor_format);
        assert_eq!(s.key, SenseKey::NoSense);
        assert!(s.filemark && !s.eom && !s.ili);
        assert_eq!(s.information, Some(1));
        assert_eq!((s.asc, s.ascq), (0x00, 0x01));
        assert_eq!(s.key_specific, None);
        assert_eq!(s.command_specific, None);
        assert_eq!(
            s.to_string(),
            "NO SENSE, Filemark detected (00/01) FILEMARK, information 1"
        );
    }

    #[test]
    fn fixed_ili_short_and_long_block() {
        // Variable-block READ of 64 KiB returned a 4 KiB record: ILI,
        // INFORMATION = requested - actual = 61440.
        let b = fixed(0xf0, 0x20, [0, 0, 0xf0, 0x00], 0, 0, [0; 3]);
        let s = Sense::parse(&b).unwrap();
        assert!(s.ili && !s.filemark);
        assert_eq!(s.information, Some(61440));
        // Record longer than the buffer: the residue is negative, carried as
        // the raw 32-bit two's complement (callers reinterpret as i32).
        let b = fixed(0xf0, 0x20, [0xff, 0xff, 0xf0, 0x00], 0, 0, [0; 3]);
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.information, Some(0xffff_f000));
        assert_eq!(s.information.map(|v| v as u32 as i32), Some(-4096));
    }

    #[test]
    fn fixed_eom_volume_overflow_and_valid_clear() {
        // WRITE past the end: VOLUME OVERFLOW with EOM, 00/02.
        let b = fixed(0xf0, 0x4d, [0, 0, 0, 3], 0x00, 0x02, [0; 3]);
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.key, SenseKey::VolumeOverflow);
        assert!(s.eom && !s.filemark && !s.ili);
        assert_eq!(s.information, Some(3));
        assert_eq!(s.class(), ErrorClass::VolumeOverflow);
        // Early warning on write: NO SENSE + EOM, VALID clear -> no information.
        let b = fixed(0x70, 0x40, [0, 0, 0, 9], 0x00, 0x02, [0; 3]);
        let s = Sense::parse(&b).unwrap();
        assert!(s.eom);
        assert_eq!(s.information, None);
        assert_eq!(
            s.to_string(),
            "NO SENSE, End-of-partition/medium detected (00/02) EOM"
        );
    }

    #[test]
    fn fixed_field_pointer_in_cdb_with_bit() {
        // ILLEGAL REQUEST 24/00, SKSV + C/D + BPV, bit 3 of CDB byte 1.
        let b = fixed(0x70, 0x05, [0; 4], 0x24, 0x00, [0xcb, 0x00, 0x01]);
        let s = Sense::parse(&b).unwrap();
        assert_eq!(
            s.key_specific,
            Some(SenseKeySpecific::FieldPointer {
                in_cdb: true,
                bit: Some(3),
                byte: 1
            })
        );
        assert_eq!(s.class(), ErrorClass::IllegalRequest);
        assert_eq!(
            s.to_string(),
            "ILLEGAL REQUEST, Invalid field in CDB (24/00), invalid field in CDB byte 1 bit 3"
        );
    }

    #[test]
    fn fixed_field_pointer_in_parameter_data() {
        // 26/00 in byte 266 of the parameter list, no bit pointer.
        let b = fixed(0x70, 0x05, [0; 4], 0x26, 0x00, [0x80, 0x01, 0x0a]);
        let s = Sense::parse(&b).unwrap();
        assert_eq!(
            s.key_specific,
            Some(SenseKeySpecific::FieldPointer {
                in_cdb: false,
                bit: None,
                byte: 266
            })
        );
        assert!(s.to_string().ends_with(
            "Invalid field in parameter list (26/00), invalid field in parameter data byte 266"
        ));
        // SKSV clear: no key-specific data at all.
        let b = fixed(0x70, 0x05, [0; 4], 0x26, 0x00, [0x40, 0x01, 0x0a]);
        assert_eq!(Sense::parse(&b).unwrap().key_specific, None);
    }

    #[test]
    fn fixed_progress_indication() {
        // NOT READY 04/07 with progress 8000h of 10000h.
        let b = fixed(0x70, 0x02, [0; 4], 0x04, 0x07, [0x80, 0x80, 0x00]);
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.key_specific, Some(SenseKeySpecific::Progress(0x8000)));
        assert_eq!(
            s.to_string(),
            "NOT READY, Logical unit not ready, operation in progress (04/07), progress 50.0%"
        );
        // NO SENSE 00/16 (operation in progress, e.g. immediate REWIND).
        let b = fixed(0x70, 0x00, [0; 4], 0x00, 0x16, [0x80, 0x40, 0x00]);
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.key_specific, Some(SenseKeySpecific::Progress(0x4000)));
        assert!(s.to_string().ends_with("progress 25.0%"), "{s}");
    }

    #[test]
    fn fixed_other_key_specific() {
        let b = fixed(0x70, 0x03, [0; 4], 0x11, 0x00, [0x80, 0x00, 0x07]);
        assert_eq!(
            Sense::parse(&b).unwrap().key_specific,
            Some(SenseKeySpecific::RetryCount(7))
        );
        let b = fixed(0x70, 0x06, [0; 4], 0x29, 0x00, [0x81, 0x00, 0x00]);
        assert_eq!(
            Sense::parse(&b).unwrap().key_specific,
            Some(SenseKeySpecific::UnitAttentionOverflow)
        );
        let b = fixed(0x70, 0x07, [0; 4], 0x27, 0x00, [0x85, 0x01, 0x02]);
        assert_eq!(
            Sense::parse(&b).unwrap().key_specific,
            Some(SenseKeySpecific::Raw([0x05, 0x01, 0x02]))
        );
    }

    #[test]
    fn fixed_deferred_error() {
        // A buffered write failed after GOOD: 71h, MEDIUM ERROR 0C/00.
        let b = fixed(0x71, 0x03, [0; 4], 0x0c, 0x00, [0; 3]);
        let s = Sense::parse(&b).unwrap();
        assert!(s.deferred);
        assert_eq!(s.response_code, 0x71);
        assert_eq!(s.key, SenseKey::MediumError);
        assert_eq!(s.class(), ErrorClass::MediumError);
        assert_eq!(
            s.to_string(),
            "MEDIUM ERROR (deferred), Write error (0C/00)"
        );
    }

    #[test]
    fn fixed_command_specific_and_fru() {
        let mut b = fixed(0x70, 0x04, [0; 4], 0x44, 0x00, [0; 3]);
        b[8..12].copy_from_slice(&[0x00, 0x00, 0x01, 0x00]);
        b[14] = 0x42;
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.command_specific, Some(256));
        assert_eq!(s.fru, 0x42);
        assert_eq!(s.class(), ErrorClass::HardwareError);
    }

    #[test]
    fn fixed_honours_additional_length() {
        // Additional length 6: bytes 14.. are not sense data even if present.
        let mut b = fixed(0x70, 0x05, [0; 4], 0x24, 0x00, [0xc0, 0x00, 0x01]);
        b[7] = 6;
        b[14] = 0x99;
        let s = Sense::parse(&b).unwrap();
        assert_eq!((s.asc, s.ascq), (0x24, 0x00));
        assert_eq!(s.fru, 0);
        assert_eq!(s.key_specific, None);
        // Additional length larger than the data: read what is there.
        let b = [0xf0, 0x00, 0x80, 0x00, 0x00, 0x00, 0x02, 0xf4];
        let s = Sense::parse(&b).unwrap();
        assert!(s.filemark);
        assert_eq!(s.information, Some(2));
        assert_eq!((s.asc, s.ascq), (0, 0));
    }

    #[test]
    fn fixed_truncated() {
        assert_eq!(Sense::parse(&[]), Err(SenseParseError::Empty));
        assert_eq!(Sense::parse(&[0x70]), Err(SenseParseError::TooShort(1)));
        assert_eq!(Sense::parse(&[0x70, 0]), Err(SenseParseError::TooShort(2)));
        // 3 bytes: the key is there, nothing else.
        let s = Sense::parse(&[0x70, 0x00, 0x06]).unwrap();
        assert_eq!(s.key, SenseKey::UnitAttention);
        assert_eq!((s.asc, s.ascq, s.information), (0, 0, None));
        // VALID set but INFORMATION cut.
        let s = Sense::parse(&[0xf0, 0x00, 0x00, 0x00, 0x01]).unwrap();
        assert_eq!(s.information, None);
    }

    #[test]
    fn garbage_response_codes() {
        for b0 in [0x00u8, 0x01, 0x6f, 0x74, 0x7f, 0xff] {
            assert_eq!(
                Sense::parse(&[b0, 0, 0, 0, 0, 0, 0, 0]),
                Err(SenseParseError::UnknownResponseCode(b0 & 0x7f))
            );
        }
    }

    /// Descriptor format 72h: information (00h), sense key specific (02h),
    /// stream commands (04h).
    fn descriptor_bytes(b0: u8) -> Vec<u8> {
        let mut b = vec![b0, 0x05, 0x24, 0x00, 0, 0, 0, 24];
        b.extend_from_slice(&[0x00, 0x0a, 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0x10, 0x00]);
        b.extend_from_slice(&[0x02, 0x06, 0, 0, 0xcf, 0x00, 0x04, 0]);
        b.extend_from_slice(&[0x04, 0x02, 0x00, 0xe0]);
        b
    }

    #[test]
    fn descriptor_format() {
        let s = Sense::parse(&descriptor_bytes(0x72)).unwrap();
        assert!(s.descriptor_format && !s.deferred);
        assert_eq!(s.response_code, 0x72);
        assert_eq!(s.key, SenseKey::IllegalRequest);
        assert_eq!((s.asc, s.ascq), (0x24, 0x00));
        assert_eq!(s.information, Some(0x1000));
        assert_eq!(
            s.key_specific,
            Some(SenseKeySpecific::FieldPointer {
                in_cdb: true,
                bit: Some(7),
                byte: 4
            })
        );
        assert!(s.filemark && s.eom && s.ili);
        let d = Sense::parse(&descriptor_bytes(0x73)).unwrap();
        assert!(d.deferred && d.descriptor_format);
        assert_eq!(d.response_code, 0x73);
    }

    #[test]
    fn descriptor_another_progress_indication() {
        // UNIT ATTENTION 29/00 while a format (NOT READY 04/04) is 25 %
        // done: descriptor 0Ah, length 06h, key 02h, 04h/04h, reserved,
        // progress 4000h.
        let b = [
            0x72, 0x06, 0x29, 0x00, 0, 0, 0, 8, 0x0a, 0x06, 0x02, 0x04, 0x04, 0x00, 0x40, 0x00,
        ];
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.key, SenseKey::UnitAttention);
        assert_eq!(s.key_specific, Some(SenseKeySpecific::Progress(0x4000)));
        assert!(s.to_string().ends_with("progress 25.0%"), "{s}");
        // A sense-key-specific descriptor (02h) wins, in either order.
        let b = [
            0x72, 0x02, 0x04, 0x07, 0, 0, 0, 16, 0x0a, 0x06, 0x02, 0x04, 0x04, 0x00, 0x40, 0x00,
            0x02, 0x06, 0x00, 0x00, 0x80, 0x80, 0x00, 0x00,
        ];
        assert_eq!(
            Sense::parse(&b).unwrap().key_specific,
            Some(SenseKeySpecific::Progress(0x8000))
        );
        // A 0Ah descriptor too short for the progress field is ignored.
        let b = [
            0x72, 0x02, 0x04, 0x07, 0, 0, 0, 7, 0x0a, 0x05, 0x02, 0x04, 0x04, 0x00, 0x40,
        ];
        assert_eq!(Sense::parse(&b).unwrap().key_specific, None);
    }

    #[test]
    fn descriptor_information_valid_clear_and_64_bit() {
        let mut b = vec![0x72, 0x03, 0x11, 0x00, 0, 0, 0, 12];
        b.extend_from_slice(&[0x00, 0x0a, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(Sense::parse(&b).unwrap().information, None);
        b[10] = 0x80;
        b[12..20].copy_from_slice(&0x1_0000_0005u64.to_be_bytes());
        assert_eq!(Sense::parse(&b).unwrap().information, Some(0x1_0000_0005));
    }

    #[test]
    fn descriptor_command_specific_fru_block_and_unknown() {
        let mut b = vec![0x72, 0x04, 0x44, 0x00, 0, 0, 0, 0];
        b.extend_from_slice(&[0x01, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00]); // cmd specific
        b.extend_from_slice(&[0x03, 0x02, 0x00, 0x33]); // FRU
        b.extend_from_slice(&[0x80, 0x02, 0xaa, 0xbb]); // vendor descriptor, skipped
        b.extend_from_slice(&[0x05, 0x02, 0x00, 0x20]); // block commands: ILI
        b[7] = (b.len() - 8) as u8;
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.command_specific, Some(256));
        assert_eq!(s.fru, 0x33);
        assert!(s.ili && !s.filemark);
    }

    #[test]
    fn descriptor_truncated_and_lying() {
        assert_eq!(
            Sense::parse(&[0x72, 0x02, 0x3a]),
            Err(SenseParseError::TooShort(3))
        );
        // Header only, no additional length byte: key and ASC still decoded.
        let s = Sense::parse(&[0x72, 0x02, 0x3a, 0x00]).unwrap();
        assert_eq!((s.key, s.asc), (SenseKey::NotReady, 0x3a));
        // Additional length claims 32 bytes; the information descriptor is cut.
        let b = [
            0x72, 0x03, 0x11, 0x00, 0, 0, 0, 0x20, 0x00, 0x0a, 0x80, 0x00, 0, 0,
        ];
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.information, None);
        // A descriptor claiming a length too small for its type is ignored.
        let b = [0x72, 0x03, 0x11, 0x00, 0, 0, 0, 4, 0x00, 0x02, 0x80, 0x00];
        assert_eq!(Sense::parse(&b).unwrap().information, None);
        // Additional length shorter than the descriptors: the rest is ignored.
        let mut b = descriptor_bytes(0x72);
        b[7] = 12;
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.information, Some(0x1000));
        assert_eq!(s.key_specific, None);
        assert!(!s.filemark);
    }

    #[test]
    fn encode_fixed_bytes() {
        let mut s = Sense::new(SenseKey::IllegalRequest, 0x24, 0x00);
        s.key_specific = Some(SenseKeySpecific::FieldPointer {
            in_cdb: true,
            bit: Some(3),
            byte: 1,
        });
        assert_eq!(
            s.encode_fixed(),
            vec![
                0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0x00, 0, 0xcb, 0x00, 0x01
            ]
        );
        let mut s = Sense::new(SenseKey::NoSense, 0x00, 0x01);
        s.filemark = true;
        s.information = Some(1);
        assert_eq!(
            s.encode_fixed(),
            vec![
                0xf0, 0, 0x80, 0, 0, 0, 1, 0x0a, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0
            ]
        );
        let mut s = Sense::new(SenseKey::MediumError, 0x0c, 0x00);
        s.deferred = true;
        s.information = Some(u64::MAX);
        let b = s.encode_fixed();
        assert_eq!(b[0], 0xf1);
        assert_eq!(&b[3..7], &[0xff; 4]);
    }

    #[test]
    fn encode_fixed_round_trip() {
        let cases = [
            {
                let mut s = Sense::new(SenseKey::BlankCheck, 0x00, 0x05);
                s.eom = true;
                s.information = Some(7);
                s
            },
            {
                let mut s = Sense::new(SenseKey::NotReady, 0x04, 0x01);
                s.key_specific = Some(SenseKeySpecific::Progress(1234));
                s
            },
            {
                let mut s = Sense::new(SenseKey::IllegalRequest, 0x26, 0x02);
                s.key_specific = Some(SenseKeySpecific::FieldPointer {
                    in_cdb: false,
                    bit: None,
                    byte: 300,
                });
                s.command_specific = Some(9);
                s.fru = 4;
                s
            },
            {
                let mut s = Sense::new(SenseKey::MediumError, 0x11, 0x00);
                s.deferred = true;
                s.response_code = 0x71;
                s.ili = true;
                s
            },
        ];
        for s in cases {
            assert_eq!(Sense::parse(&s.encode_fixed()).unwrap(), s);
        }
    }

    #[test]
    fn display_unknown_and_vendor_codes() {
        let s = Sense::new(SenseKey::HardwareError, 0x82, 0x82);
        assert_eq!(
            s.to_string(),
            "HARDWARE ERROR, Vendor specific ASC/ASCQ 82/82 (82/82)"
        );
        assert_eq!(
            Sense::new(SenseKey::UnitAttention, 0x28, 0x00).to_string(),
            "UNIT ATTENTION, Not ready to ready change, medium may have changed (28/00)"
        );
    }

    #[test]
    fn sense_key_codes() {
        for v in 0u8..16 {
            assert_eq!(SenseKey::from_u8(v).code(), v);
            // Upper bits (FILEMARK, EOM, ILI) do not leak into the key.
            assert_eq!(SenseKey::from_u8(v | 0xe0).code(), v);
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Sense::parse(&b).map(|s| s.to_string());
        }

        #[test]
        fn descriptor_parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..250)) {
            let mut b = vec![0x72, 0x05, 0x24, 0x00, 0, 0, 0, body.len() as u8];
            b.extend_from_slice(&body);
            let _ = Sense::parse(&b).map(|s| s.to_string());
        }
    }
}
