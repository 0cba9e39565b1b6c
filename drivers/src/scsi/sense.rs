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
                0x02 if len >= 3 => {
                    s.key_specific = SenseKeySpecific::decode(key, [body[0], body[1], body[2]]);
                }
                0x03 if len >= 2 => s.fru = body[1],
                0x04 if len >= 2 => {
                    s.filemark = body[1] & 0x80 != 0;
                    s.eom = body[1] & 0x40 != 0;
                    s.ili = body[1] & 0x20 != 0;
                }
                0x05 if len >= 2 => s.ili = body[1] & 0x20 != 0,
                _ => {}
            }
            rest = &rest[2 + len..];
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
