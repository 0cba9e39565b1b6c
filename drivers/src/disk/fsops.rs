//! Plain file system calls of the driver: open with the O_DIRECT fallback,
//! preallocation, durability of names.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::{FallocateFlags, FcntlArg, OFlag, fcntl};

use super::{DEFAULT_ALIGN, DiskError, OpenMode};

/// Opens `path`; with `direct`, switches the descriptor to O_DIRECT
/// afterwards so that a filesystem refusing it (EINVAL) never leaves a file
/// created by a failed first attempt. Returns whether O_DIRECT is on.
pub(crate) fn open(path: &Path, mode: OpenMode, direct: bool) -> Result<(File, bool), DiskError> {
    let mut o = OpenOptions::new();
    o.read(true).mode(0o644).custom_flags(libc::O_CLOEXEC);
    match mode {
        OpenMode::Read => {}
        OpenMode::ReadWrite => {
            o.write(true);
        }
        OpenMode::Create => {
            o.write(true).create(true).truncate(true);
        }
        OpenMode::CreateNew => {
            o.write(true).create_new(true);
        }
    }
    let file = o.open(path).map_err(|e| DiskError::op(path, "open", e))?;
    if !direct {
        return Ok((file, false));
    }
    let flags = fcntl(&file, FcntlArg::F_GETFL)
        .map_err(|e| DiskError::op(path, "fcntl(F_GETFL)", e.into()))?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_DIRECT;
    match fcntl(&file, FcntlArg::F_SETFL(flags)) {
        Ok(_) => Ok((file, true)),
        Err(nix::errno::Errno::EINVAL) => Ok((file, false)),
        Err(e) => Err(DiskError::op(path, "fcntl(O_DIRECT)", e.into())),
    }
}

/// The alignment O_DIRECT needs on `file`: the logical block size of the
/// block device holding it (from sysfs), at least 4 KiB (which satisfies
/// 512-byte devices too). Filesystems without a block device (tmpfs) get
/// 4 KiB.
pub(crate) fn alignment(file: &File) -> usize {
    let Ok(m) = file.metadata() else {
        return DEFAULT_ALIGN;
    };
    let dev = if m.file_type().is_block_device() {
        m.rdev()
    } else {
        m.dev()
    };
    let (major, minor) = split_dev(dev);
    let base = format!("/sys/dev/block/{major}:{minor}");
    // A partition has no queue/ of its own; its disk's is one level up.
    for p in [
        format!("{base}/queue/logical_block_size"),
        format!("{base}/../queue/logical_block_size"),
    ] {
        if let Some(n) = std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|n| n.is_power_of_two() && *n <= 1 << 16)
        {
            return n.max(DEFAULT_ALIGN);
        }
    }
    DEFAULT_ALIGN
}

/// glibc's encoding of dev_t into major and minor numbers.
pub(crate) fn split_dev(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & 0xffff_f000);
    let minor = (dev & 0xff) | ((dev >> 12) & 0xffff_ff00);
    (major, minor)
}

/// fallocate(KEEP_SIZE): reserves blocks without changing the length.
pub(crate) fn allocate(file: &File, path: &Path, offset: u64, len: u64) -> Result<(), DiskError> {
    if len == 0 {
        return Ok(());
    }
    let (Ok(off), Ok(l)) = (i64::try_from(offset), i64::try_from(len)) else {
        return Err(DiskError::op(
            path,
            "fallocate",
            std::io::Error::from_raw_os_error(libc::EFBIG),
        ));
    };
    loop {
        match nix::fcntl::fallocate(file, FallocateFlags::FALLOC_FL_KEEP_SIZE, off, l) {
            Ok(()) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::ENOSPC) | Err(nix::errno::Errno::EDQUOT) => {
                return Err(DiskError::NoSpace {
                    path: path.to_path_buf(),
                    offset,
                });
            }
            Err(e) => return Err(DiskError::op(path, "fallocate", e.into())),
        }
    }
}

/// Frees blocks reserved beyond `from` (preallocation past the end).
pub(crate) fn release_beyond(file: &File, from: u64, to: u64) {
    let (Ok(off), Ok(l)) = (i64::try_from(from), i64::try_from(to.saturating_sub(from))) else {
        return;
    };
    if l == 0 {
        return;
    }
    let flags = FallocateFlags::FALLOC_FL_PUNCH_HOLE | FallocateFlags::FALLOC_FL_KEEP_SIZE;
    // Best effort: a filesystem without hole punching keeps the blocks until
    // the file is truncated or removed; nothing is lost either way.
    if let Err(e) = nix::fcntl::fallocate(file, flags, off, l) {
        tracing::debug!(error = %e, "releasing preallocated blocks");
    }
}

/// fsync a directory (after rename, so the new name is durable).
pub fn sync_dir(dir: &Path) -> Result<(), DiskError> {
    let d = File::open(dir).map_err(|e| DiskError::op(dir, "open directory", e))?;
    d.sync_all()
        .map_err(|e| DiskError::op(dir, "fsync directory", e))
}

/// rename(from, to) then sync_dir(parent).
pub fn rename_durable(from: &Path, to: &Path) -> Result<(), DiskError> {
    std::fs::rename(from, to).map_err(|e| DiskError::op(from, "rename", e))?;
    let parent = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_dir(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_numbers() {
        assert_eq!(split_dev(0xfd01), (253, 1));
        assert_eq!(split_dev(0x0801), (8, 1));
        // major 259, minor 65536 (NVMe partitions get large minors).
        assert_eq!(split_dev(0x1001_0300), (259, 65536));
        assert_eq!(split_dev(0x0000_1000_0000_0000), (0x1000, 0));
    }

    #[test]
    fn alignment_is_a_power_of_two_of_at_least_4k() {
        let f = tempfile::tempfile().unwrap();
        let a = alignment(&f);
        assert!(a.is_power_of_two() && a >= DEFAULT_ALIGN, "{a}");
    }
}
