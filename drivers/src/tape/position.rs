//! Positioning (SSC-5): READ POSITION in its short, long and extended forms,
//! LOCATE(10)/(16), SPACE(6)/(16) and REWIND. Builders and decoders only.

use crate::scsi::bytes::{self, be_uint};
use crate::scsi::error::{DecodeError, ScsiError};
use crate::scsi::opcodes;

/// READ POSITION service actions (SSC-5 table "READ POSITION service action").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionForm {
    /// 00h: 20 bytes, 32-bit logical object identifiers.
    Short,
    /// 06h: 32 bytes, 64-bit logical object number and logical file identifier.
    Long,
    /// 08h: 32 bytes, 64-bit identifiers and buffer counts.
    Extended,
}

impl PositionForm {
    pub fn service_action(self) -> u8 {
        match self {
            PositionForm::Short => 0x00,
            PositionForm::Long => 0x06,
            PositionForm::Extended => 0x08,
        }
    }

    /// Bytes the drive returns for this form.
    pub fn length(self) -> usize {
        match self {
            PositionForm::Short => 20,
            PositionForm::Long | PositionForm::Extended => 32,
        }
    }
}

/// READ POSITION (SSC-5 7.7). The allocation length is only defined for the
/// extended form and must be zero otherwise.
pub fn read_position_cdb(form: PositionForm) -> [u8; 10] {
    let mut c = [0u8; 10];
    c[0] = opcodes::READ_POSITION;
    c[1] = form.service_action();
    if form == PositionForm::Extended {
        c[7..9].copy_from_slice(&32u16.to_be_bytes());
    }
    c
}

/// A decoded READ POSITION answer, whatever the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub partition: u32,
    /// Logical object number (blocks and filemarks from BOP). `None` when
    /// the drive flags it unknown (LOCU/LONU).
    pub block: Option<u64>,
    /// Logical file identifier (filemarks before the position): long form only.
    pub file: Option<u64>,
    /// Beginning of partition.
    pub bop: bool,
    /// End of partition (EW region or beyond).
    pub eop: bool,
    /// Between programmable early warning and EOP.
    pub bpew: bool,
    /// Objects and bytes still in the drive's buffer (short/extended form).
    pub buffered_objects: Option<u64>,
    pub buffered_bytes: Option<u64>,
}

/// Decodes a READ POSITION answer of the given form.
pub fn parse_position(form: PositionForm, b: &[u8]) -> Result<Position, DecodeError> {
    const WHAT: &str = "READ POSITION data";
    let b = bytes::need(WHAT, b, form.length())?;
    let flags = b[0];
    let bop = flags & 0x80 != 0;
    let eop = flags & 0x40 != 0;
    let bpew = flags & 0x01 != 0;
    Ok(match form {
        PositionForm::Short => {
            let locu = flags & 0x20 != 0;
            let bycu = flags & 0x10 != 0;
            let lolu = flags & 0x04 != 0;
            Position {
                partition: u32::from(b[1]),
                block: (!locu).then(|| be_uint(&b[4..8])),
                file: None,
                bop,
                eop,
                bpew,
                buffered_objects: (!lolu).then(|| be_uint(&b[13..16])),
                buffered_bytes: (!bycu).then(|| be_uint(&b[16..20])),
            }
        }
        PositionForm::Long => {
            // MPU: partition unknown; LONU: object number and file unknown.
            let mpu = flags & 0x08 != 0;
            let lonu = flags & 0x04 != 0;
            if mpu {
                return Err(DecodeError::new(
                    WHAT,
                    "drive reports the partition unknown",
                ));
            }
            Position {
                partition: be_uint(&b[4..8]) as u32,
                block: (!lonu).then(|| be_uint(&b[8..16])),
                file: (!lonu).then(|| be_uint(&b[16..24])),
                bop,
                eop,
                bpew,
                buffered_objects: None,
                buffered_bytes: None,
            }
        }
        PositionForm::Extended => {
            let locu = flags & 0x20 != 0;
            let bycu = flags & 0x10 != 0;
            let lolu = flags & 0x04 != 0;
            let additional = u16::from_be_bytes([b[2], b[3]]);
            if additional < 0x1c {
                return Err(DecodeError::new(
                    WHAT,
                    format!("extended form ADDITIONAL LENGTH {additional} < 28"),
                ));
            }
            Position {
                partition: u32::from(b[1]),
                block: (!locu).then(|| be_uint(&b[8..16])),
                file: None,
                bop,
                eop,
                bpew,
                buffered_objects: (!lolu).then(|| be_uint(&b[5..8])),
                buffered_bytes: (!bycu).then(|| be_uint(&b[24..32])),
            }
        }
    })
}

/// LOCATE(10) (SSC-5 7.3): to a logical object identifier, optionally
/// changing partition (CP). BT stays zero (SCSI logical block addresses).
pub fn locate10_cdb(block: u32, partition: Option<u8>, immediate: bool) -> [u8; 10] {
    let mut c = [0u8; 10];
    c[0] = opcodes::LOCATE_10;
    c[1] = if partition.is_some() { 0x02 } else { 0 } | u8::from(immediate);
    c[3..7].copy_from_slice(&block.to_be_bytes());
    c[8] = partition.unwrap_or(0);
    c
}

/// LOCATE(16) destination types (SSC-5 table "DEST_TYPE").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocateDest {
    /// 000b: logical object identifier.
    Object,
    /// 001b: logical file identifier.
    File,
    /// 011b: end of data.
    EndOfData,
}

/// LOCATE(16) (SSC-5 7.4).
pub fn locate16_cdb(
    dest: LocateDest,
    identifier: u64,
    partition: Option<u8>,
    immediate: bool,
) -> [u8; 16] {
    let dest_type: u8 = match dest {
        LocateDest::Object => 0,
        LocateDest::File => 1,
        LocateDest::EndOfData => 3,
    };
    let mut c = [0u8; 16];
    c[0] = opcodes::LOCATE_16;
    c[1] = dest_type << 3 | if partition.is_some() { 0x02 } else { 0 } | u8::from(immediate);
    c[3] = partition.unwrap_or(0);
    c[4..12].copy_from_slice(&identifier.to_be_bytes());
    c
}

/// SPACE codes (SSC-5 table "CODE field").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SpaceKind {
    Blocks,
    Filemarks,
    /// Sequential filemarks (setmarks are obsolete).
    SequentialFilemarks,
    EndOfData,
}

impl SpaceKind {
    pub fn code(self) -> u8 {
        match self {
            SpaceKind::Blocks => 0,
            SpaceKind::Filemarks => 1,
            SpaceKind::SequentialFilemarks => 2,
            SpaceKind::EndOfData => 3,
        }
    }
}

/// Range of a 24-bit two's complement count.
pub const SPACE6_MIN: i64 = -(1 << 23);
pub const SPACE6_MAX: i64 = (1 << 23) - 1;

/// SPACE(6) (SSC-5 7.9). The count is a 24-bit two's complement number;
/// negative counts move toward BOP. Counts outside the range are refused
/// (use SPACE(16)).
pub fn space6_cdb(kind: SpaceKind, count: i64) -> Result<[u8; 6], ScsiError> {
    if !(SPACE6_MIN..=SPACE6_MAX).contains(&count) {
        return Err(ScsiError::Invalid {
            op: "SPACE(6)",
            detail: format!("count {count} does not fit 24 bits; use SPACE(16)"),
        });
    }
    // In range, so the low 24 bits of the i32 are the two's complement count.
    let [a, b, c] = bytes::u24_be(count as i32 as u32);
    Ok([opcodes::SPACE_6, kind.code(), a, b, c, 0])
}

/// SPACE(16) (SSC-5 7.10): 64-bit signed count, no parameter data.
pub fn space16_cdb(kind: SpaceKind, count: i64) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = opcodes::SPACE_16;
    c[1] = kind.code();
    c[4..12].copy_from_slice(&count.to_be_bytes());
    c
}

/// REWIND (SSC-5 7.8).
pub fn rewind_cdb(immediate: bool) -> [u8; 6] {
    [opcodes::REWIND, u8::from(immediate), 0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_position_cdbs() {
        assert_eq!(
            read_position_cdb(PositionForm::Short),
            [0x34, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            read_position_cdb(PositionForm::Long),
            [0x34, 0x06, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            read_position_cdb(PositionForm::Extended),
            [0x34, 0x08, 0, 0, 0, 0, 0, 0x00, 0x20, 0]
        );
    }

    #[test]
    fn short_form() {
        // BOP set, partition 1, first object 0x00010203, 2 objects and
        // 0x1000 bytes buffered.
        let b = [
            0x80, 0x01, 0, 0, 0x00, 0x01, 0x02, 0x03, 0, 0, 0, 0, 0, 0x00, 0x00, 0x02, 0x00, 0x00,
            0x10, 0x00,
        ];
        let p = parse_position(PositionForm::Short, &b).unwrap();
        assert_eq!(p.partition, 1);
        assert_eq!(p.block, Some(0x0001_0203));
        assert!(p.bop && !p.eop && !p.bpew);
        assert_eq!(p.buffered_objects, Some(2));
        assert_eq!(p.buffered_bytes, Some(0x1000));
        assert_eq!(p.file, None);
        // LOCU (20h) and EOP (40h) and BPEW (01h).
        let mut u = b;
        u[0] = 0x61;
        let p = parse_position(PositionForm::Short, &u).unwrap();
        assert_eq!(p.block, None);
        assert!(p.eop && p.bpew && !p.bop);
        assert!(parse_position(PositionForm::Short, &b[..19]).is_err());
    }

    #[test]
    fn long_form() {
        let mut b = [0u8; 32];
        b[0] = 0x01; // BPEW
        b[4..8].copy_from_slice(&[0, 0, 0, 2]);
        b[8..16].copy_from_slice(&[0, 0, 0, 1, 0, 0, 0, 5]);
        b[16..24].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]);
        let p = parse_position(PositionForm::Long, &b).unwrap();
        assert_eq!(p.partition, 2);
        assert_eq!(p.block, Some(0x1_0000_0005));
        assert_eq!(p.file, Some(7));
        assert!(p.bpew);
        // LONU.
        b[0] = 0x04;
        let p = parse_position(PositionForm::Long, &b).unwrap();
        assert_eq!((p.block, p.file), (None, None));
        // MPU.
        b[0] = 0x08;
        assert!(parse_position(PositionForm::Long, &b).is_err());
        assert!(parse_position(PositionForm::Long, &b[..31]).is_err());
    }

    #[test]
    fn extended_form() {
        let mut b = [0u8; 32];
        b[0] = 0x80;
        b[1] = 3;
        b[2..4].copy_from_slice(&[0x00, 0x1c]);
        b[5..8].copy_from_slice(&[0, 0, 9]);
        b[8..16].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0x01, 0x00]);
        b[24..32].copy_from_slice(&[0, 0, 0, 0, 0, 0x10, 0, 0]);
        let p = parse_position(PositionForm::Extended, &b).unwrap();
        assert_eq!(p.partition, 3);
        assert_eq!(p.block, Some(256));
        assert_eq!(p.buffered_objects, Some(9));
        assert_eq!(p.buffered_bytes, Some(0x10_0000));
        b[3] = 0x10;
        assert!(parse_position(PositionForm::Extended, &b).is_err());
    }

    #[test]
    fn locate_cdbs() {
        assert_eq!(
            locate10_cdb(0x0102_0304, None, false),
            [0x2b, 0x00, 0, 0x01, 0x02, 0x03, 0x04, 0, 0x00, 0]
        );
        assert_eq!(
            locate10_cdb(5, Some(1), true),
            [0x2b, 0x03, 0, 0, 0, 0, 5, 0, 0x01, 0]
        );
        assert_eq!(
            locate16_cdb(LocateDest::Object, 0x0000_0001_0000_0000, Some(2), false),
            [0x92, 0x02, 0, 0x02, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            locate16_cdb(LocateDest::File, 3, None, true),
            [0x92, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0]
        );
        assert_eq!(
            locate16_cdb(LocateDest::EndOfData, 0, None, false),
            [0x92, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn space_cdbs() {
        assert_eq!(
            space6_cdb(SpaceKind::Filemarks, 1).unwrap(),
            [0x11, 0x01, 0x00, 0x00, 0x01, 0x00]
        );
        // -1 block: FF FF FF.
        assert_eq!(
            space6_cdb(SpaceKind::Blocks, -1).unwrap(),
            [0x11, 0x00, 0xff, 0xff, 0xff, 0x00]
        );
        // -2 filemarks: FF FF FE.
        assert_eq!(
            space6_cdb(SpaceKind::Filemarks, -2).unwrap(),
            [0x11, 0x01, 0xff, 0xff, 0xfe, 0x00]
        );
        assert_eq!(
            space6_cdb(SpaceKind::EndOfData, 0).unwrap(),
            [0x11, 0x03, 0, 0, 0, 0]
        );
        assert_eq!(
            space6_cdb(SpaceKind::Blocks, SPACE6_MIN).unwrap(),
            [0x11, 0x00, 0x80, 0x00, 0x00, 0x00]
        );
        assert_eq!(
            space6_cdb(SpaceKind::Blocks, SPACE6_MAX).unwrap(),
            [0x11, 0x00, 0x7f, 0xff, 0xff, 0x00]
        );
        assert!(space6_cdb(SpaceKind::Blocks, SPACE6_MAX + 1).is_err());
        assert!(space6_cdb(SpaceKind::Blocks, SPACE6_MIN - 1).is_err());
        assert_eq!(
            space16_cdb(SpaceKind::Blocks, -3),
            [
                0x91, 0x00, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0, 0, 0, 0
            ]
        );
        assert_eq!(
            space16_cdb(SpaceKind::SequentialFilemarks, 0x1_0000_0000),
            [0x91, 0x02, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn rewind_cdb_bytes() {
        assert_eq!(rewind_cdb(false), [0x01, 0, 0, 0, 0, 0]);
        assert_eq!(rewind_cdb(true), [0x01, 0x01, 0, 0, 0, 0]);
    }

    proptest::proptest! {
        #[test]
        fn position_decoders_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            for f in [PositionForm::Short, PositionForm::Long, PositionForm::Extended] {
                let _ = parse_position(f, &b);
            }
        }
    }
}
