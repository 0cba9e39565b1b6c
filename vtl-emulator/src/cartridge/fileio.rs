//! Positional file I/O with the file's path attached to every error, and
//! the durability primitives (fdatasync, directory fsync, atomic replace).

use std::fs::File;
use std::io::{IoSlice, IoSliceMut};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::error::CartridgeError;

pub(crate) fn io_err(path: &Path, op: &'static str, source: std::io::Error) -> CartridgeError {
    CartridgeError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

pub(crate) fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> CartridgeError {
    CartridgeError::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason: reason.into(),
    }
}

fn to_off(path: &Path, offset: u64) -> Result<i64, CartridgeError> {
    i64::try_from(offset).map_err(|_| corrupt(path, offset, "offset beyond off_t range"))
}

/// Writes all slices at `offset` with as few syscalls as the kernel allows
/// (normally one `pwritev`).
pub(crate) fn pwrite_all(
    file: &File,
    path: &Path,
    slices: &[&[u8]],
    offset: u64,
) -> Result<(), CartridgeError> {
    let total: usize = slices.iter().map(|s| s.len()).sum();
    let iov: Vec<IoSlice<'_>> = slices.iter().map(|s| IoSlice::new(s)).collect();
    let mut done = nix::sys::uio::pwritev(file, &iov, to_off(path, offset)?)
        .map_err(|e| io_err(path, "pwritev", e.into()))?;
    // Short write (disk full, signal): finish slice by slice.
    let mut at = 0usize;
    for s in slices {
        let end = at + s.len();
        if done < end {
            let skip = done.saturating_sub(at);
            file.write_all_at(&s[skip..], offset + (at + skip) as u64)
                .map_err(|e| io_err(path, "pwrite", e))?;
            done = end;
        }
        at = end;
    }
    debug_assert_eq!(done, total);
    Ok(())
}

/// Reads into all slices from `offset`; returns how many bytes were read
/// (less than the total only at end of file).
pub(crate) fn pread_into(
    file: &File,
    path: &Path,
    slices: &mut [&mut [u8]],
    offset: u64,
) -> Result<usize, CartridgeError> {
    let total: usize = slices.iter().map(|s| s.len()).sum();
    let n = {
        let mut iov: Vec<IoSliceMut<'_>> = slices.iter_mut().map(|s| IoSliceMut::new(s)).collect();
        nix::sys::uio::preadv(file, &mut iov, to_off(path, offset)?)
            .map_err(|e| io_err(path, "preadv", e.into()))?
    };
    if n == total || n == 0 {
        return Ok(n);
    }
    // Short read: continue slice by slice until EOF.
    let mut done = n;
    let mut at = 0usize;
    for s in slices.iter_mut() {
        let end = at + s.len();
        while done < end {
            let skip = done - at;
            let got = file
                .read_at(&mut s[skip..], offset + done as u64)
                .map_err(|e| io_err(path, "pread", e))?;
            if got == 0 {
                return Ok(done);
            }
            done += got;
        }
        at = end;
    }
    Ok(done)
}

/// Reads exactly `buf.len()` bytes or reports where the file ended.
pub(crate) fn pread_exact(
    file: &File,
    path: &Path,
    buf: &mut [u8],
    offset: u64,
) -> Result<(), CartridgeError> {
    let want = buf.len();
    let got = pread_into(file, path, &mut [buf], offset)?;
    if got < want {
        return Err(corrupt(
            path,
            offset,
            format!("file ends after {got} of {want} bytes"),
        ));
    }
    Ok(())
}

pub(crate) fn fdatasync(file: &File, path: &Path) -> Result<(), CartridgeError> {
    file.sync_data().map_err(|e| io_err(path, "fdatasync", e))
}

pub(crate) fn fsync_dir(dir: &Path) -> Result<(), CartridgeError> {
    let d = File::open(dir).map_err(|e| io_err(dir, "open directory", e))?;
    d.sync_all().map_err(|e| io_err(dir, "fsync directory", e))
}

/// Replaces `path` with `bytes` atomically and durably: write a temporary
/// file, fsync it, rename it over `path`, fsync the directory.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), CartridgeError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let f = File::create(&tmp).map_err(|e| io_err(&tmp, "create", e))?;
        f.write_all_at(bytes, 0)
            .map_err(|e| io_err(&tmp, "write", e))?;
        f.sync_all().map_err(|e| io_err(&tmp, "fsync", e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, "rename", e))?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => fsync_dir(dir),
        _ => fsync_dir(Path::new(".")),
    }
}
