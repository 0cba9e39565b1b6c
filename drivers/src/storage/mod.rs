//! The disk storage device: a directory of backup containers, the disk
//! counterpart of a tape cartridge ([`DiskStorage`]), and the container
//! format it stores.
//!
//! # Container format (version 1)
//!
//! All integers little-endian. CRCs are CRC32C (Castagnoli).
//!
//! ```text
//! header  (64 bytes, offset 0)
//!   0   8  magic "REELCTNR"
//!   8   2  version = 1
//!  10   2  header length = 64
//!  12   4  flags: bit 0 = records may be zstd-compressed; others 0
//!  16  16  media id of the storage device
//!  32   8  creation time, ns since the Unix epoch
//!  40  20  reserved, 0
//!  60   4  CRC32C of bytes 0..60
//!
//! record  (32-byte header + stored payload), repeated
//!   0   4  magic "RREC"
//!   4   1  kind: 1 = data, 2 = file mark
//!   5   1  flags: bit 0 = payload is one zstd frame
//!   6   2  reserved, 0
//!   8   4  stored length (payload bytes that follow; 0 for a mark)
//!  12   4  plain length (after decompression; = stored when plain)
//!  16   4  CRC32C of the stored payload
//!  20   4  CRC32C of the plain payload (= the stored CRC when plain)
//!  24   4  sequence number: 0, 1, 2 ... over all records, marks included
//!  28   4  CRC32C of bytes 0..28
//!  32   n  payload (n = stored length, at most 16 MiB)
//!
//! trailer (32 + 32 * files + 4 bytes, after the last record)
//!   0   4  magic "RTRL"
//!   4   4  number of files (marks)
//!   8   8  number of records, marks included
//!  16   8  plain bytes
//!  24   8  stored payload bytes
//!  32  32  per file: offset of its first record (its mark if empty),
//!          data records, plain bytes, offset of its file mark
//!   …   4  CRC32C of all trailer bytes before it
//!
//! footer  (32 bytes, the last bytes of the file)
//!   0   8  magic "REELEND1"
//!   8   8  trailer offset
//!  16   4  trailer length
//!  20   4  number of files
//!  24   4  reserved, 0
//!  28   4  CRC32C of bytes 0..28
//! ```
//!
//! Like a tape, a container holds files (streams) separated by file marks;
//! file N is the data records between mark N-1 and mark N. Every file ends
//! with a mark.
//!
//! The record CRC covers the *stored* bytes, so a container can be checked
//! without decompressing; the second CRC covers the plain bytes and checks
//! the decompressor's output. The sequence number makes a stale record
//! from an earlier, longer write impossible to take for a current one.
//!
//! Writing goes to `.NAME.reel.partial`; trailer and footer are written,
//! the file is fdatasync'ed and renamed to `NAME.reel` (never replacing an
//! existing name), then the directory is fsync'ed. A crash leaves either
//! no `NAME.reel` or a complete one; `recover` turns a leftover partial
//! file into a container holding every valid record.

pub mod codec;
pub mod device;
pub mod error;
pub mod format;
pub mod reader;
pub mod writer;

pub use codec::{CodecStats, Compression};
pub use device::{
    ContainerInfo, DeviceConfig, DeviceInfo, DiskSource, DiskStorage, RecoverReport, Space,
    SpaceState, Thresholds,
};
pub use error::DiskStorageError;
pub use format::IndexEntry;
pub use reader::{ContainerReader, MemSource, Source, VerifyReport};
pub use writer::{ContainerWriter, WriteOptions, WriteSummary};

#[cfg(test)]
mod tests;
