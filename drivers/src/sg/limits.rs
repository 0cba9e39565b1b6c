//! The largest transfer the path to an sg device accepts (field note A9:
//! the HBA sets it, e.g. 1 MiB on smartpqi, 512 KiB on some ATTO cards).
//!
//! Source of truth is BLKSECTGET on the sg file descriptor: drivers/scsi/sg.c
//! answers it with `max_sectors_bytes()`, i.e. the request queue's
//! `max_sectors` already multiplied by 512 and capped at `INT_MAX` — bytes,
//! not sectors (block devices answer the same ioctl in sectors). The
//! sysfs `queue/max_sectors_kb` of a block device on the same SCSI device
//! is a fallback (tapes and changers have no block queue in sysfs, so in
//! practice it only exists for disks).

use std::path::Path;

/// Where [`SgLimits::max_transfer`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitSource {
    /// BLKSECTGET on the sg descriptor.
    Blksectget,
    /// `queue/max_sectors_kb` in sysfs.
    Sysfs,
    /// Neither was available; the kernel will reject oversized transfers.
    Unknown,
}

/// Transfer limits of one sg device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SgLimits {
    /// Largest data phase in bytes (`usize::MAX` when unknown).
    pub max_transfer: usize,
    pub source: LimitSource,
    /// SG_GET_RESERVED_SIZE: the sg reserve buffer. Informational only:
    /// SG_IO allocates more when a command needs it.
    pub reserved_size: Option<usize>,
    /// SG_GET_SG_TABLESIZE: scatter-gather segments the adapter takes.
    pub max_segments: Option<usize>,
}

impl SgLimits {
    pub fn unknown() -> SgLimits {
        SgLimits {
            max_transfer: usize::MAX,
            source: LimitSource::Unknown,
            reserved_size: None,
            max_segments: None,
        }
    }
}

/// Chooses the maximum transfer from the BLKSECTGET answer (bytes on sg)
/// and the sysfs `max_sectors_kb`, when either is known.
///
/// A kernel patch once proposed answering in sectors on sg too. If the
/// ioctl value times 512 equals the sysfs limit exactly, it was sectors;
/// otherwise it is taken as bytes, as every released kernel reports it.
pub fn choose_max_transfer(
    blksectget: Option<i32>,
    sysfs_max_sectors_kb: Option<u64>,
) -> (usize, LimitSource) {
    let sysfs_bytes = sysfs_max_sectors_kb
        .filter(|&kb| kb > 0)
        .and_then(|kb| kb.checked_mul(1024))
        .and_then(|b| usize::try_from(b).ok());
    match blksectget.filter(|&v| v > 0) {
        Some(v) => {
            let v = v as usize; // positive i32
            match sysfs_bytes {
                Some(s) if v <= 0xffff && v * 512 == s => (s, LimitSource::Blksectget),
                _ => (v, LimitSource::Blksectget),
            }
        }
        None => match sysfs_bytes {
            Some(s) => (s, LimitSource::Sysfs),
            None => (usize::MAX, LimitSource::Unknown),
        },
    }
}

/// `queue/max_sectors_kb` of a block device under the SCSI device
/// directory (`<hctl>/block/<name>/queue/max_sectors_kb`), if any.
pub fn sysfs_max_sectors_kb(scsi_device_dir: &Path) -> Option<u64> {
    let block = scsi_device_dir.join("block");
    let mut entries: Vec<_> = std::fs::read_dir(&block)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries.into_iter().find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("queue/max_sectors_kb")).ok()?;
        text.trim().parse::<u64>().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blksectget_is_bytes() {
        // smartpqi: 1 MiB.
        assert_eq!(
            choose_max_transfer(Some(1 << 20), None),
            (1 << 20, LimitSource::Blksectget)
        );
        // Agrees with sysfs (1024 KiB).
        assert_eq!(
            choose_max_transfer(Some(1 << 20), Some(1024)),
            (1 << 20, LimitSource::Blksectget)
        );
        // A different sysfs value does not override the ioctl.
        assert_eq!(
            choose_max_transfer(Some(524_288), Some(4096)),
            (524_288, LimitSource::Blksectget)
        );
    }

    #[test]
    fn blksectget_in_sectors_detected_by_sysfs() {
        // 2048 sectors = 1 MiB = 1024 KiB.
        assert_eq!(
            choose_max_transfer(Some(2048), Some(1024)),
            (1 << 20, LimitSource::Blksectget)
        );
    }

    #[test]
    fn fallbacks() {
        assert_eq!(
            choose_max_transfer(None, Some(512)),
            (524_288, LimitSource::Sysfs)
        );
        assert_eq!(
            choose_max_transfer(Some(0), Some(512)),
            (524_288, LimitSource::Sysfs)
        );
        assert_eq!(
            choose_max_transfer(Some(-1), None),
            (usize::MAX, LimitSource::Unknown)
        );
        assert_eq!(
            choose_max_transfer(None, Some(0)),
            (usize::MAX, LimitSource::Unknown)
        );
        assert_eq!(
            choose_max_transfer(None, Some(u64::MAX)),
            (usize::MAX, LimitSource::Unknown)
        );
    }

    #[test]
    fn sysfs_block_queue() {
        let tmp = tempfile::tempdir().unwrap();
        let dev = tmp.path().join("0:0:0:0");
        assert_eq!(sysfs_max_sectors_kb(&dev), None);
        let q = dev.join("block/sda/queue");
        std::fs::create_dir_all(&q).unwrap();
        assert_eq!(sysfs_max_sectors_kb(&dev), None);
        std::fs::write(q.join("max_sectors_kb"), "1280\n").unwrap();
        assert_eq!(sysfs_max_sectors_kb(&dev), Some(1280));
        std::fs::write(q.join("max_sectors_kb"), "garbage\n").unwrap();
        assert_eq!(sysfs_max_sectors_kb(&dev), None);
    }
}
