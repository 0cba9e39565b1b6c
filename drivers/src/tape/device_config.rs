//! Tape mode parameters (SSC-5 8.3): block size and density through the
//! block descriptor, buffered mode in the mode header, the data compression
//! page (0Fh) and the device configuration page (10h). Pure views over
//! [`ModeData`]; the commands live in the driver.

use crate::scsi::bytes;
use crate::scsi::error::DecodeError;
use crate::scsi::mode::{BlockDescriptor, ModeData, ModePage};

pub const PAGE_DATA_COMPRESSION: u8 = 0x0f;
pub const PAGE_DEVICE_CONFIGURATION: u8 = 0x10;

/// Data compression mode page (0Fh), 14 bytes after the page header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DataCompression {
    /// DCE: compress data written.
    pub enabled: bool,
    /// DCC: the drive is capable of compression.
    pub capable: bool,
    /// DDE: decompress data read.
    pub decompression: bool,
    /// RED: report exception on decompression (0..3).
    pub red: u8,
    pub compression_algorithm: u32,
    pub decompression_algorithm: u32,
}

const DC_LEN: usize = 14;

impl DataCompression {
    pub fn parse(page: &ModePage) -> Result<DataCompression, DecodeError> {
        let d = bytes::need("data compression page", &page.data, DC_LEN)?;
        Ok(DataCompression {
            enabled: d[0] & 0x80 != 0,
            capable: d[0] & 0x40 != 0,
            decompression: d[1] & 0x80 != 0,
            red: (d[1] >> 5) & 0x03,
            compression_algorithm: u32::from_be_bytes([d[2], d[3], d[4], d[5]]),
            decompression_algorithm: u32::from_be_bytes([d[6], d[7], d[8], d[9]]),
        })
    }

    /// The page with DCE (and DDE) set or cleared, everything else as the
    /// drive reported it (DCC is not changeable and is left alone).
    pub fn with_enabled(page: &ModePage, on: bool) -> Result<ModePage, DecodeError> {
        DataCompression::parse(page)?;
        let mut p = ModePage::new(page.page, page.subpage, page.data.clone());
        if on {
            p.data[0] |= 0x80;
            p.data[1] |= 0x80;
        } else {
            p.data[0] &= !0x80;
        }
        Ok(p)
    }
}

/// Device configuration mode page (10h), the fields a driver acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DeviceConfiguration {
    pub active_format: u8,
    pub active_partition: u8,
    /// Write delay time, 100 ms units.
    pub write_delay: u16,
    /// REW: report early warning on read.
    pub report_early_warning: bool,
    /// EOD DEFINED (3 bits).
    pub eod_defined: u8,
    /// SEW: synchronise at early warning.
    pub sync_at_early_warning: bool,
    /// Object buffer size at early warning.
    pub buffer_size_at_ew: u32,
    /// SELECT DATA COMPRESSION ALGORITHM (0 none, 1 default).
    pub compression_algorithm: u8,
}

const DCFG_LEN: usize = 14;

impl DeviceConfiguration {
    pub fn parse(page: &ModePage) -> Result<DeviceConfiguration, DecodeError> {
        let d = bytes::need("device configuration page", &page.data, DCFG_LEN)?;
        // Page byte n is data[n - 2].
        Ok(DeviceConfiguration {
            active_format: d[0] & 0x1f,
            active_partition: d[1],
            write_delay: u16::from_be_bytes([d[4], d[5]]),
            report_early_warning: d[6] & 0x01 != 0,
            eod_defined: d[8] >> 5,
            sync_at_early_warning: d[8] & 0x08 != 0,
            buffer_size_at_ew: u32::from_be_bytes([0, d[9], d[10], d[11]]),
            compression_algorithm: d[12],
        })
    }
}

/// What the mode header and block descriptor say about the medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MediumSettings {
    pub density_code: u8,
    /// 0 = variable-length records.
    pub block_size: u32,
    pub write_protected: bool,
    pub buffered_mode: u8,
    pub medium_type: u8,
}

impl MediumSettings {
    /// From MODE SENSE data. Without a block descriptor (drive answered with
    /// DBD) the density and block size are unknown (`None`).
    pub fn from_mode(m: &ModeData) -> (Option<BlockDescriptor>, MediumSettings) {
        let bd = m.block_descriptors.first().copied();
        (
            bd,
            MediumSettings {
                density_code: bd.map_or(0, |b| b.density),
                block_size: bd.map_or(0, |b| b.block_length),
                write_protected: m.write_protected(),
                buffered_mode: m.buffered_mode(),
                medium_type: m.medium_type,
            },
        )
    }
}

/// MODE SELECT parameter data that sets the block size, keeping the current
/// density code and buffered mode (WP is ignored by MODE SELECT and cleared).
pub fn block_size_select(current: &ModeData, block_size: u32) -> ModeData {
    let density = current.block_descriptors.first().map_or(0, |b| b.density);
    ModeData {
        medium_type: 0,
        device_specific: current.device_specific & 0x70,
        block_descriptors: vec![BlockDescriptor {
            density,
            blocks: 0,
            block_length: block_size,
        }],
        pages: Vec::new(),
    }
}

/// MODE SELECT parameter data that sets the buffered mode (0 or 1).
pub fn buffered_mode_select(current: &ModeData, buffered: bool) -> ModeData {
    ModeData {
        medium_type: 0,
        device_specific: (current.device_specific & 0x0f) | (u8::from(buffered) << 4),
        block_descriptors: Vec::new(),
        pages: Vec::new(),
    }
}

/// MODE SELECT parameter data carrying one page (no block descriptor).
pub fn page_select(current: &ModeData, page: ModePage) -> ModeData {
    ModeData {
        medium_type: 0,
        device_specific: current.device_specific & 0x7f,
        block_descriptors: Vec::new(),
        pages: vec![page],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc_page() -> ModePage {
        // After header 0F 0E: DCE|DCC, DDE, compression alg 0x00000001,
        // decompression alg 0x00000001, 4 reserved.
        ModePage {
            page: 0x0f,
            subpage: 0,
            ps: true,
            data: vec![0xc0, 0x80, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0],
        }
    }

    #[test]
    fn data_compression_decode() {
        let c = DataCompression::parse(&dc_page()).unwrap();
        assert!(c.enabled && c.capable && c.decompression);
        assert_eq!((c.compression_algorithm, c.decompression_algorithm), (1, 1));
        let off = DataCompression::with_enabled(&dc_page(), false).unwrap();
        assert_eq!(off.data[0], 0x40);
        assert!(!off.ps);
        let on = DataCompression::with_enabled(&off, true).unwrap();
        assert_eq!(on.data[..2], [0xc0, 0x80]);
        let short = ModePage::new(0x0f, 0, vec![0; 13]);
        assert!(DataCompression::parse(&short).is_err());
    }

    #[test]
    fn select_data_through_the_mode_encoder() {
        // Current: MODE SENSE(6) answer with WP and buffered mode 1, LTO-9
        // density, variable blocks.
        let sense6 = [
            0x0b, 0x00, 0x90, 0x08, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let cur = ModeData::parse6(&sense6).unwrap();
        let (_, s) = MediumSettings::from_mode(&cur);
        assert_eq!(s.density_code, 0x60);
        assert!(s.write_protected);
        assert_eq!((s.block_size, s.buffered_mode), (0, 1));
        // MODE SELECT(6) data for a 64 KiB block size: header 00 00 10 08,
        // descriptor 60 000000 00 010000.
        assert_eq!(
            block_size_select(&cur, 0x1_0000).encode6(),
            vec![
                0x00, 0x00, 0x10, 0x08, 0x60, 0, 0, 0, 0x00, 0x01, 0x00, 0x00
            ]
        );
        assert_eq!(
            buffered_mode_select(&cur, false).encode6(),
            vec![0, 0, 0x00, 0]
        );
        // Page select (10): 8-byte header without descriptors, then the page.
        let p = DataCompression::with_enabled(&dc_page(), false).unwrap();
        let mut want = vec![0, 0, 0, 0x10, 0, 0, 0, 0, 0x0f, 0x0e, 0x40, 0x80];
        want.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(page_select(&cur, p).encode10(), want);
    }

    #[test]
    fn device_configuration_decode() {
        let mut d = vec![0u8; 14];
        d[0] = 0x00;
        d[1] = 1; // active partition
        d[4..6].copy_from_slice(&[0x00, 0x64]);
        d[6] = 0x01; // REW
        d[8] = 0x08 | 0x20; // SEW, EOD defined 1
        d[9..12].copy_from_slice(&[0, 0x10, 0]);
        d[12] = 1;
        let c = DeviceConfiguration::parse(&ModePage::new(0x10, 0, d)).unwrap();
        assert_eq!(c.active_partition, 1);
        assert_eq!(c.write_delay, 100);
        assert!(c.report_early_warning && c.sync_at_early_warning);
        assert_eq!(c.eod_defined, 1);
        assert_eq!(c.buffer_size_at_ew, 0x1000);
        assert_eq!(c.compression_algorithm, 1);
        assert!(DeviceConfiguration::parse(&ModePage::new(0x10, 0, vec![0; 3])).is_err());
    }
}
