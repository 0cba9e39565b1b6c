//! Sequential-access device log page (0Ch, SSC-5 8.2.x): byte counters.

use crate::scsi::log::LogPage;

pub const PAGE: u8 = 0x0c;

/// Counters of page 0Ch; `None` when the drive does not report one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SequentialAccessCounters {
    /// 0000h: bytes received from the application (before compression).
    pub host_bytes_written: Option<u64>,
    /// 0001h: bytes written to the medium (after compression).
    pub medium_bytes_written: Option<u64>,
    /// 0002h: bytes read from the medium.
    pub medium_bytes_read: Option<u64>,
    /// 0003h: bytes transferred to the application.
    pub host_bytes_read: Option<u64>,
    /// 0004h: native capacity BOP to EOD, MB.
    pub capacity_bop_to_eod_mb: Option<u64>,
    /// 0005h: native capacity BOP to EW of the current partition, MB.
    pub capacity_bop_to_ew_mb: Option<u64>,
    /// 0006h: minimum native capacity EW to EOP, MB.
    pub capacity_ew_to_eop_mb: Option<u64>,
    /// 0007h: native capacity BOP to the current position, MB.
    pub capacity_bop_to_current_mb: Option<u64>,
    /// 0008h: maximum native capacity in the object buffer, MB.
    pub buffer_capacity_mb: Option<u64>,
    /// 0100h: cleaning required (non-zero).
    pub cleaning_required: Option<bool>,
}

impl SequentialAccessCounters {
    pub fn from_page(p: &LogPage) -> SequentialAccessCounters {
        let v = |code: u16| p.param(code).and_then(|x| x.as_u64());
        SequentialAccessCounters {
            host_bytes_written: v(0x0000),
            medium_bytes_written: v(0x0001),
            medium_bytes_read: v(0x0002),
            host_bytes_read: v(0x0003),
            capacity_bop_to_eod_mb: v(0x0004),
            capacity_bop_to_ew_mb: v(0x0005),
            capacity_ew_to_eop_mb: v(0x0006),
            capacity_bop_to_current_mb: v(0x0007),
            buffer_capacity_mb: v(0x0008),
            cleaning_required: v(0x0100).map(|x| x != 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_page() {
        // Page 0C, length 0x19: 0000h (8 bytes) = 0x1000, 0001h (4 bytes) =
        // 0x800, 0100h (1 byte) = 1.
        let b = [
            0x0c, 0x00, 0x00, 0x19, //
            0x00, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0x10, 0x00, //
            0x00, 0x01, 0x00, 0x04, 0, 0, 0x08, 0x00, //
            0x01, 0x00, 0x00, 0x01, 0x01,
        ];
        let p = LogPage::parse(&b).unwrap();
        let c = SequentialAccessCounters::from_page(&p);
        assert_eq!(c.host_bytes_written, Some(0x1000));
        assert_eq!(c.medium_bytes_written, Some(0x800));
        assert_eq!(c.host_bytes_read, None);
        assert_eq!(c.cleaning_required, Some(true));
    }
}
