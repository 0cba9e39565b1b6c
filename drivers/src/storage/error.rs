//! The disk storage device's error type.

use std::path::PathBuf;

use crate::disk::DiskError;
use crate::scsi::error::ErrorClass;

use super::format::FormatError;

/// A failed operation on a disk storage device or container. Every variant
/// names the container or directory; data errors name the offset too.
#[derive(Debug, thiserror::Error)]
pub enum DiskStorageError {
    /// Damaged bytes (CRC mismatch, impossible field): the disk counterpart
    /// of a tape's MEDIUM ERROR.
    #[error("medium error: {container}: {detail} at offset {offset}")]
    Medium {
        container: PathBuf,
        offset: u64,
        detail: FormatError,
    },
    #[error("{container}: not a reel container ({detail})")]
    NotAContainer { container: PathBuf, detail: String },
    /// No valid footer/trailer: truncated, or a write that never finished.
    #[error(
        "{container}: container is truncated or incomplete ({detail}); \
         `reelctl disk recover` rebuilds an interrupted write"
    )]
    Incomplete { container: PathBuf, detail: String },
    #[error("{container}: no file {file} (the container holds {files} files)")]
    NoSuchFile {
        container: PathBuf,
        file: u64,
        files: u64,
    },
    #[error("{dir}: not a disk storage device (no {config}; run `reelctl disk init`)")]
    NotInitialized { dir: PathBuf, config: &'static str },
    #[error("{dir}: already a disk storage device")]
    AlreadyInitialized { dir: PathBuf },
    #[error("{dir}: bad device configuration: {detail}")]
    Config { dir: PathBuf, detail: String },
    #[error("{dir}: no container named {name}")]
    NotFound { dir: PathBuf, name: String },
    #[error("{dir}: no interrupted write of {name} to recover")]
    NoPartial { dir: PathBuf, name: String },
    #[error("{dir}: a container named {name} exists; containers are never overwritten")]
    Exists { dir: PathBuf, name: String },
    #[error(
        "{dir}: an interrupted write of {name} left {partial}; \
         `reelctl disk recover` or `reelctl disk delete` it first"
    )]
    PartialExists {
        dir: PathBuf,
        name: String,
        partial: PathBuf,
    },
    #[error("{dir}: container {name} is write-protected")]
    Protected { dir: PathBuf, name: String },
    #[error("invalid container name {name:?}: {why}")]
    BadName { name: String, why: &'static str },
    /// The configured capacity or the filesystem has no room left for the
    /// next record (like a tape's end of medium).
    #[error(
        "{dir}: disk storage is full: {needed} more bytes needed, {available} available \
         (capacity {capacity})"
    )]
    Full {
        dir: PathBuf,
        needed: u64,
        available: u64,
        capacity: u64,
    },
    #[error("{dir}: read-only file system or directory; nothing was written")]
    ReadOnly {
        dir: PathBuf,
        #[source]
        source: DiskError,
    },
    #[error("{path}: too many files in one container (limit {limit})")]
    TooManyFiles { path: PathBuf, limit: u32 },
    #[error("{path}: {op}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Writing the data read back to its destination failed.
    #[error("writing output")]
    Output(#[source] std::io::Error),
    #[error(transparent)]
    Disk(#[from] DiskError),
}

impl DiskStorageError {
    /// What kind of failure, in the classes tape errors use.
    pub fn class(&self) -> ErrorClass {
        use DiskStorageError as E;
        match self {
            E::Medium { .. } | E::NotAContainer { .. } | E::Incomplete { .. } => {
                ErrorClass::MediumError
            }
            E::Full { .. } => ErrorClass::VolumeOverflow,
            E::Disk(e) if e.is_no_space() => ErrorClass::VolumeOverflow,
            E::Protected { .. } | E::ReadOnly { .. } => ErrorClass::DataProtect,
            E::NoSuchFile { .. } => ErrorClass::BlankCheck,
            E::Disk(_) | E::Io { .. } => ErrorClass::HardwareError,
            _ => ErrorClass::IllegalRequest,
        }
    }

    /// True for "no room": the configured capacity or ENOSPC.
    pub fn is_full(&self) -> bool {
        self.class() == ErrorClass::VolumeOverflow
    }
}

/// The errno under a disk or I/O error, if any.
pub(crate) fn os_error(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.raw_os_error();
        }
        cur = err.source();
    }
    None
}

/// True when the error says the file system or directory refuses writes.
pub(crate) fn is_read_only(e: &DiskError) -> bool {
    matches!(os_error(e), Some(libc::EROFS | libc::EACCES | libc::EPERM))
}
