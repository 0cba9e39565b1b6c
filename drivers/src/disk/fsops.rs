//! Plain file system calls of the driver: open with the O_DIRECT fallback,
//! preallocation, durability of names.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::fcntl::{FallocateFlags, FcntlArg, OFlag, fcntl};

use super::{DiskError, OpenMode};

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
