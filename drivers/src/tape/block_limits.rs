//! READ BLOCK LIMITS (SSC-5 7.5): the record sizes the drive accepts.

use crate::scsi::bytes;
use crate::scsi::error::DecodeError;
use crate::scsi::opcodes;

/// READ BLOCK LIMITS. With `mloi` the drive returns the 20-byte form holding
/// the maximum logical object identifier instead.
pub fn read_block_limits_cdb(mloi: bool) -> [u8; 6] {
    [opcodes::READ_BLOCK_LIMITS, u8::from(mloi), 0, 0, 0, 0]
}

/// Bytes returned without MLOI.
pub const BLOCK_LIMITS_LEN: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BlockLimits {
    /// Fixed block sizes must be a multiple of 2^granularity.
    pub granularity: u8,
    /// Largest record in bytes (0: no limit stated).
    pub max: u32,
    /// Smallest record in bytes.
    pub min: u16,
}

impl BlockLimits {
    /// Decodes the 6-byte answer.
    pub fn parse(b: &[u8]) -> Result<BlockLimits, DecodeError> {
        let b = bytes::need("READ BLOCK LIMITS data", b, BLOCK_LIMITS_LEN)?;
        Ok(BlockLimits {
            granularity: b[0] & 0x1f,
            max: u32::from_be_bytes([0, b[1], b[2], b[3]]),
            min: u16::from_be_bytes([b[4], b[5]]),
        })
    }

    /// True when `size` is a valid fixed block size for this drive (0 means
    /// variable mode and is always accepted).
    pub fn accepts_fixed(&self, size: u32) -> bool {
        if size == 0 {
            return true;
        }
        let granule = 1u64 << self.granularity.min(31);
        size >= u32::from(self.min)
            && (self.max == 0 || size <= self.max)
            && u64::from(size) % granule == 0
    }
}

/// Decodes the 20-byte MLOI answer: the maximum logical object identifier.
pub fn parse_max_logical_object(b: &[u8]) -> Result<u64, DecodeError> {
    let b = bytes::need("READ BLOCK LIMITS (MLOI) data", b, 20)?;
    Ok(bytes::be_uint(&b[12..20]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdb_bytes() {
        assert_eq!(read_block_limits_cdb(false), [0x05, 0, 0, 0, 0, 0]);
        assert_eq!(read_block_limits_cdb(true), [0x05, 0x01, 0, 0, 0, 0]);
    }

    #[test]
    fn parse_typical_lto() {
        // Granularity 0, max 0x800000 (8 MiB), min 1.
        let l = BlockLimits::parse(&[0x00, 0x80, 0x00, 0x00, 0x00, 0x01]).unwrap();
        assert_eq!(
            l,
            BlockLimits {
                granularity: 0,
                max: 0x80_0000,
                min: 1
            }
        );
        assert!(l.accepts_fixed(0) && l.accepts_fixed(512) && !l.accepts_fixed(0x80_0001));
        // Granularity 2 (multiples of 4), reserved bits above ignored.
        let l = BlockLimits::parse(&[0xe2, 0x00, 0x10, 0x00, 0x00, 0x04]).unwrap();
        assert_eq!(l.granularity, 2);
        assert_eq!((l.max, l.min), (0x1000, 4));
        assert!(l.accepts_fixed(8) && !l.accepts_fixed(6) && !l.accepts_fixed(0x1004));
        assert!(BlockLimits::parse(&[0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn parse_mloi() {
        let mut b = [0u8; 20];
        b[12..20].copy_from_slice(&[0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
        assert_eq!(parse_max_logical_object(&b).unwrap(), 0x1234_5678);
        assert!(parse_max_logical_object(&b[..19]).is_err());
    }
}
