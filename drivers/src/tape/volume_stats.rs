//! Volume statistics log page (17h, SSC-5 8.2.x): per-cartridge history.
//! Vendors differ here (field note A12), so every field is optional and
//! unknown parameters are ignored.

use crate::scsi::log::LogPage;

pub const PAGE: u8 = 0x17;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VolumeStatistics {
    /// 0000h: the page is valid (data read from the cartridge memory).
    pub page_valid: Option<bool>,
    /// 0001h: thread count (volume mounts).
    pub mounts: Option<u64>,
    /// 0002h: total data sets written.
    pub datasets_written: Option<u64>,
    /// 0003h: total write retries.
    pub write_retries: Option<u64>,
    /// 0004h: total unrecovered write errors.
    pub unrecovered_write_errors: Option<u64>,
    /// 0007h: total data sets read.
    pub datasets_read: Option<u64>,
    /// 0008h: total read retries.
    pub read_retries: Option<u64>,
    /// 0009h: total unrecovered read errors.
    pub unrecovered_read_errors: Option<u64>,
    /// 000Eh / 000Fh: MB written / read during the last mount.
    pub last_mount_mb_written: Option<u64>,
    pub last_mount_mb_read: Option<u64>,
    /// 0010h / 0011h: lifetime MB written / read.
    pub lifetime_mb_written: Option<u64>,
    pub lifetime_mb_read: Option<u64>,
    /// 0016h: total native capacity, MB.
    pub native_capacity_mb: Option<u64>,
    /// 0017h: total used native capacity, MB.
    pub used_native_capacity_mb: Option<u64>,
    /// 0040h: volume serial number (ASCII).
    pub volume_serial: Option<String>,
    /// 0080h: write protect; 0081h: WORM.
    pub write_protect: Option<bool>,
    pub worm: Option<bool>,
    /// 0101h: beginning-of-medium passes; 0102h: middle-of-tape passes.
    pub bom_passes: Option<u64>,
    pub mot_passes: Option<u64>,
}

impl VolumeStatistics {
    pub fn from_page(p: &LogPage) -> VolumeStatistics {
        let v = |code: u16| p.param(code).and_then(|x| x.as_u64());
        let flag = |code: u16| {
            p.param(code)
                .and_then(|x| x.value.first())
                .map(|b| b & 1 != 0)
        };
        let text = |code: u16| {
            p.param(code).map(|x| {
                String::from_utf8_lossy(&x.value)
                    .trim_end_matches([' ', '\0'])
                    .to_string()
            })
        };
        VolumeStatistics {
            page_valid: flag(0x0000),
            mounts: v(0x0001),
            datasets_written: v(0x0002),
            write_retries: v(0x0003),
            unrecovered_write_errors: v(0x0004),
            datasets_read: v(0x0007),
            read_retries: v(0x0008),
            unrecovered_read_errors: v(0x0009),
            last_mount_mb_written: v(0x000e),
            last_mount_mb_read: v(0x000f),
            lifetime_mb_written: v(0x0010),
            lifetime_mb_read: v(0x0011),
            native_capacity_mb: v(0x0016),
            used_native_capacity_mb: v(0x0017),
            volume_serial: text(0x0040),
            write_protect: flag(0x0080),
            worm: flag(0x0081),
            bom_passes: v(0x0101),
            mot_passes: v(0x0102),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_page() {
        let b = [
            0x17, 0x00, 0x00, 0x1c, //
            0x00, 0x00, 0x03, 0x01, 0x01, // page valid
            0x00, 0x01, 0x03, 0x02, 0x00, 0x2a, // 42 mounts
            0x00, 0x40, 0x03, 0x08, b'A', b'B', b'C', b'1', b'2', b'3', b' ', b' ', // serial
            0x00, 0x81, 0x03, 0x01, 0x01, // WORM
        ];
        let p = LogPage::parse(&b).unwrap();
        let s = VolumeStatistics::from_page(&p);
        assert_eq!(s.page_valid, Some(true));
        assert_eq!(s.mounts, Some(42));
        assert_eq!(s.volume_serial.as_deref(), Some("ABC123"));
        assert_eq!(s.worm, Some(true));
        assert_eq!(s.write_protect, None);
    }
}
