//! The disk driver's error type: every I/O error names the file and offset.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("{path}: no space left on device at offset {offset}")]
    NoSpace { path: PathBuf, offset: u64 },
    #[error("{path}: I/O error at offset {offset}")]
    Io {
        path: PathBuf,
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {op}")]
    Op {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{path}: unexpected end of file at offset {offset}")]
    UnexpectedEof { path: PathBuf, offset: u64 },
    #[error("disk driver thread has stopped")]
    Stopped,
    #[error(
        "{path}: request at offset {offset} of {len} bytes is not aligned to {align} bytes for O_DIRECT"
    )]
    Unaligned {
        path: PathBuf,
        offset: u64,
        len: usize,
        align: usize,
    },
    #[error("{path}: writer stopped after an earlier error")]
    WriterFailed { path: PathBuf },
    #[error("cannot start the disk driver: {0}")]
    Setup(#[source] io::Error),
}

impl DiskError {
    /// The filesystem (or quota) is full.
    pub fn is_no_space(&self) -> bool {
        matches!(self, DiskError::NoSpace { .. })
    }

    /// Maps an error of a read or write at `offset`: ENOSPC and EDQUOT are
    /// "no space", everything else an I/O error, both naming file and offset.
    pub(crate) fn at(path: &Path, offset: u64, source: io::Error) -> DiskError {
        match source.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => DiskError::NoSpace {
                path: path.to_path_buf(),
                offset,
            },
            _ => DiskError::Io {
                path: path.to_path_buf(),
                offset,
                source,
            },
        }
    }

    pub(crate) fn op(path: &Path, op: &'static str, source: io::Error) -> DiskError {
        DiskError::Op {
            path: path.to_path_buf(),
            op,
            source,
        }
    }
}

impl From<DiskError> for io::Error {
    fn from(e: DiskError) -> io::Error {
        let kind = match &e {
            DiskError::NoSpace { .. } => io::ErrorKind::StorageFull,
            DiskError::UnexpectedEof { .. } => io::ErrorKind::UnexpectedEof,
            DiskError::Io { source, .. } | DiskError::Op { source, .. } => source.kind(),
            DiskError::Unaligned { .. } => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}
