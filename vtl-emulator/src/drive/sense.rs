//! Sense conditions the drive reports, built from the SPC/SSC tables.
//!
//! Handlers return `Err(Fail)`; the dispatcher turns it into CHECK CONDITION
//! with fixed-format sense bytes ([`Sense::encode_fixed`]).

use reel_drivers::scsi::sense::{Sense, SenseKey, SenseKeySpecific};

/// A command that ends in CHECK CONDITION, with the data it moved first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub sense: Sense,
    /// Bytes placed in the data-in buffer before the condition (READ with a
    /// short block or a filemark still returns data).
    pub data_in_len: usize,
}

impl From<Sense> for Fail {
    fn from(sense: Sense) -> Fail {
        Fail {
            sense,
            data_in_len: 0,
        }
    }
}

impl Fail {
    pub fn with_data(mut self, n: usize) -> Fail {
        self.data_in_len = n;
        self
    }
}

pub type HResult = Result<usize, Fail>;

pub fn sense(key: SenseKey, asc: u8, ascq: u8) -> Sense {
    Sense::new(key, asc, ascq)
}

/// ILLEGAL REQUEST 20/00: invalid command operation code.
pub fn invalid_opcode() -> Fail {
    sense(SenseKey::IllegalRequest, 0x20, 0x00).into()
}

fn field(asc: u8, in_cdb: bool, byte: usize, bit: Option<u8>) -> Fail {
    let mut s = sense(SenseKey::IllegalRequest, asc, 0x00);
    s.key_specific = Some(SenseKeySpecific::FieldPointer {
        in_cdb,
        bit,
        byte: u16::try_from(byte).unwrap_or(u16::MAX),
    });
    s.into()
}

/// ILLEGAL REQUEST 24/00 with the field pointer at CDB `byte` (and `bit`,
/// the most significant bit of the offending field).
pub fn invalid_cdb_field(byte: usize, bit: Option<u8>) -> Fail {
    field(0x24, true, byte, bit)
}

/// ILLEGAL REQUEST 26/00 with the field pointer into the parameter data.
pub fn invalid_param_field(byte: usize, bit: Option<u8>) -> Fail {
    field(0x26, false, byte, bit)
}

/// ILLEGAL REQUEST 1A/00: parameter list length error.
pub fn param_list_length() -> Fail {
    sense(SenseKey::IllegalRequest, 0x1a, 0x00).into()
}

/// ILLEGAL REQUEST 39/00: saving parameters not supported.
pub fn saving_not_supported() -> Fail {
    sense(SenseKey::IllegalRequest, 0x39, 0x00).into()
}

pub fn not_ready(asc: u8, ascq: u8) -> Fail {
    sense(SenseKey::NotReady, asc, ascq).into()
}

/// NOT READY 3A/00: medium not present.
pub fn no_medium() -> Fail {
    not_ready(0x3a, 0x00)
}

pub fn data_protect(asc: u8, ascq: u8) -> Fail {
    sense(SenseKey::DataProtect, asc, ascq).into()
}

/// A sense with the INFORMATION field (residue or block number).
pub fn with_info(mut s: Sense, info: i64) -> Sense {
    // The fixed format carries 32 bits; negative residues (overlength
    // blocks) are two's complement in those 32 bits.
    s.information = Some(u64::from(info as i32 as u32));
    s
}

/// Sets the INFORMATION field for an unsigned value (saturating at 32 bits).
pub fn with_info_u(mut s: Sense, info: u64) -> Sense {
    s.information = Some(info.min(u64::from(u32::MAX)));
    s
}
