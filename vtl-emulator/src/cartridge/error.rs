//! Errors of the cartridge store.

use std::path::PathBuf;

/// Everything that can go wrong with a virtual cartridge.
#[derive(Debug, thiserror::Error)]
pub enum CartridgeError {
    /// A system call on one of the cartridge's files failed.
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
    /// A file holds bytes that are not a valid cartridge structure.
    #[error("{path} at offset {offset}: corrupt cartridge: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// The write does not fit before the physical end of the partition.
    #[error("volume overflow: the write does not fit before the end of the partition")]
    VolumeOverflow,
    /// The cartridge's write-protect tab is set.
    #[error("cartridge is write protected")]
    WriteProtected,
    /// WORM media refuses to overwrite or erase existing data.
    #[error("WORM cartridge: overwriting or erasing existing data is refused")]
    WormOverwrite,
    /// The stored CRC32C of a record does not match its data.
    #[error("CRC32C mismatch in block {block}")]
    CrcMismatch { block: u64 },
    /// The partition does not exist on this cartridge.
    #[error("no such partition {partition}")]
    NoSuchPartition { partition: u8 },
    /// A position request the cartridge cannot satisfy.
    #[error("bad position request: {0}")]
    BadPosition(String),
    /// A record larger than the store accepts.
    #[error("record of {len} bytes is larger than the maximum {max}")]
    RecordTooLarge { len: usize, max: u32 },
    /// The specification passed to `create` is not valid.
    #[error("invalid cartridge spec: {0}")]
    InvalidSpec(String),
    /// `create` found an existing cartridge at the path.
    #[error("{0}: a cartridge already exists there")]
    AlreadyExists(PathBuf),
}
